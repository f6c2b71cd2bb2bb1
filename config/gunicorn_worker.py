"""gunicorn's threaded worker (gthread), with keep-alive connections spread over the workers.

A gunicorn worker is one process, and the GIL keeps its Python on one core at a time: the
site uses both cores only when both workers have requests. gthread accepts a connection
in whichever worker's loop wakes first, so a burst of keep-alive clients (a proxy opening
its pool of upstream connections, a load test, a journalist's script with a session) can
settle mostly on one worker, which then queues requests on one core while the other core
idles (measured: BENCHMARKS.md, "Measured figures behind the settings").

Here a worker that holds as many connections as it has threads, or more, waits
``ACCEPT_DEFER`` seconds before it accepts one more, and that once more for each
connection it holds beyond its threads (at most ``MAX_DEFERS`` times), so that the
worker holding fewer connections takes it first: with 3 threads, a worker of 2
connections accepts at once, one of 3 waits 5 ms, one of 5 waits 15 ms. Every worker
still accepts after its wait: no connection is refused or kept waiting longer than
``ACCEPT_DEFER * MAX_DEFERS``, once, when it connects.
"""

from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    ACCEPT_DEFER = 0.005
    MAX_DEFERS = 8

    def accept(self, server, listener):
        defers = min(max(0, self.nr_conns - self.cfg.threads + 1), self.MAX_DEFERS)
        if defers:
            # Another worker's loop, woken by the same connection, accepts it meanwhile
            # if it holds fewer; then ours finds nothing to accept (EAGAIN, ignored by
            # gthread).
            time.sleep(self.ACCEPT_DEFER * defers)
        super().accept(server, listener)
