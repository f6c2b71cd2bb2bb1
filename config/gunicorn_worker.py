"""gunicorn's threaded worker (gthread), with keep-alive connections spread over the workers.

A gunicorn worker is one process, and the GIL keeps its Python on one core at a time: the
site uses both cores only when both workers have requests. gthread accepts a connection
in whichever worker's loop wakes first, so a burst of keep-alive clients (a proxy opening
its pool of upstream connections, a load test, a journalist's script with a session) can
settle mostly on one worker, which then queues requests on one core while the other core
idles. Measured with wrk's 16 connections on 2 workers of 8 threads: 13 on one worker and
3 on the other, every time, and 20-30% more requests per second once spread 8 and 8.

Here a worker that already holds as many connections as it has threads waits
``ACCEPT_DEFER`` seconds before it accepts one more, so that a worker with an idle thread
takes it first. When every worker is that busy, each still accepts after the wait: no
connection is refused or kept waiting longer than that, once, when it connects.
"""

from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    ACCEPT_DEFER = 0.005

    def accept(self, server, listener):
        if self.nr_conns >= self.cfg.threads:
            # Another worker's loop, woken by the same connection, accepts it meanwhile
            # if it can; then ours finds nothing to accept (EAGAIN, ignored by gthread).
            time.sleep(self.ACCEPT_DEFER)
        super().accept(server, listener)
