"""gunicorn's threaded worker (gthread), with keep-alive connections spread over the workers.

A gunicorn worker is one process, and the GIL keeps its Python on one core at a time: the
site uses both cores only when both workers have requests. gthread accepts a connection
in whichever worker's loop wakes first, so a burst of keep-alive clients (a proxy opening
its pool of upstream connections, a load test, a journalist's script with a session) can
settle mostly on one worker, which then queues requests on one core while the other core
idles, and makes the requests it holds wait longer than the other worker's.

Here the workers publish how many connections each holds and how many it has accepted
(a small table in memory shared by the master and the workers it forks). A worker that
holds more than another live worker waits ``ACCEPT_DEFER`` seconds before it accepts, so
that the worker holding fewer takes the connection first; after the wait it leaves the
connection to the others if they accepted meanwhile and one still holds fewer (in a
burst, more connections wait in the listen queue: its loop comes back for the next), and
accepts it otherwise. A worker holding no more than any other accepts at once. A wait
blocks the worker's loop (the requests it already queued keep running in its threads),
so it is kept to the worker that is ahead, once per connection: in a burst of many
connections the workers take turns instead of each waiting on every accept, and a
connection the others do not take is accepted after one wait, never refused.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import time

from gunicorn.workers.gthread import ThreadWorker

# Worker slots of the shared table: far above any worker count this site runs with.
SLOTS = 64


class ConnectionTable:
    """Per worker process, its pid and the connections it holds, in memory the master
    creates before it forks the workers (so every worker sees the same table)."""

    def __init__(self, slots: int = SLOTS):
        self.pids = multiprocessing.RawArray(ctypes.c_int, slots)
        self.counts = multiprocessing.RawArray(ctypes.c_int, slots)
        self.accepted = multiprocessing.RawArray(ctypes.c_long, slots)
        self.lock = multiprocessing.Lock()

    def claim(self, pid: int) -> int | None:
        """A free slot for ``pid`` (or the one of a worker that died without freeing its
        own); None when the table is full, or its lock stays taken (by a worker killed
        while it held it): the worker then accepts as stock gthread does."""
        if not self.lock.acquire(timeout=1):
            return None
        try:
            for slot, holder in enumerate(self.pids):
                if holder == 0 or holder == pid or not _alive(holder):
                    self.pids[slot] = pid
                    self.counts[slot] = 0
                    self.accepted[slot] = 0
                    return slot
        finally:
            self.lock.release()
        return None

    def release(self, slot: int) -> None:
        self.pids[slot] = 0
        self.counts[slot] = 0
        self.accepted[slot] = 0

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections another live worker holds (None when there is none).
        A worker killed without freeing its slot does not count."""
        fewest = None
        for other, holder in enumerate(self.pids):
            if other != slot and holder != 0 and _alive(holder):
                count = self.counts[other]
                fewest = count if fewest is None else min(fewest, count)
        return fewest

    def accepted_elsewhere(self, slot: int) -> int:
        """Connections the other workers have accepted so far (a running total)."""
        return sum(count for other, count in enumerate(self.accepted) if other != slot)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Created when gunicorn's master loads this worker class, before any worker is forked.
TABLE = ConnectionTable()


class BalancedThreadWorker(ThreadWorker):
    ACCEPT_DEFER = 0.005
    table = TABLE
    slot: int | None = None

    def init_process(self):
        self.slot = self.table.claim(os.getpid())
        try:
            super().init_process()
        finally:
            if self.slot is not None:
                self.table.release(self.slot)

    def publish(self) -> None:
        if self.slot is not None:
            self.table.counts[self.slot] = self.nr_conns

    def ahead(self) -> bool:
        """Whether another live worker holds fewer connections than this one."""
        fewest = self.table.fewest_elsewhere(self.slot)
        return fewest is not None and self.nr_conns > fewest

    def accept(self, server, listener):
        if self.slot is None:
            super().accept(server, listener)
            return
        self.publish()
        if self.ahead():
            before = self.table.accepted_elsewhere(self.slot)
            # Another worker's loop, woken by the same connection, accepts it meanwhile;
            # then ours finds nothing to accept (EAGAIN, ignored by gthread).
            time.sleep(self.ACCEPT_DEFER)
            if self.table.accepted_elsewhere(self.slot) > before and self.ahead():
                return
        before = self.nr_conns
        super().accept(server, listener)
        self.table.accepted[self.slot] += self.nr_conns - before
        self.publish()

    def finish_request(self, fs):
        super().finish_request(fs)
        # Runs in the thread that served the request, as soon as it is done: a connection
        # closed here leaves the count at once. Published only by the loop, it would stay
        # counted while the loop sleeps in an accept wait, and the other workers would
        # balance against a connection this one no longer holds.
        self.publish()

    def murder_keepalived(self):
        # Run once per turn of the worker's loop: keep-alive connections that timed out
        # close here.
        super().murder_keepalived()
        self.publish()
