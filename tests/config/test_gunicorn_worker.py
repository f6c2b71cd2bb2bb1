"""The gunicorn worker spreads keep-alive connections over the workers (a real gunicorn)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent import futures
from pathlib import Path

import pytest

from config.gunicorn_worker import BalancedThreadWorker, ConnectionTable

ROOT = Path(__file__).resolve().parents[2]


class PatientWorker(BalancedThreadWorker):
    # Long enough that the other worker always wins the race, even on a CI machine whose
    # cores are busy with something else: at 0.3 s one CI run saw the other worker's loop
    # not scheduled in time (3 connections on one worker). A full worker waits this long
    # only when it wakes for a connection that the other one then takes.
    ACCEPT_DEFER = 2.0


def pid_app(environ, start_response):
    """Answers with the pid of the worker process that holds the connection."""
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server():
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--threads",
            "2",
            "--worker-class",
            "tests.config.test_gunicorn_worker.PatientWorker",
            "--bind",
            f"127.0.0.1:{port}",
            "--keep-alive",
            "30",
            "tests.config.test_gunicorn_worker:pid_app",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    pids: set[str] = set()
    # Ready when both workers answer (each new connection goes to an idle worker).
    while len(pids) < 2:
        assert process.poll() is None, "gunicorn exited"
        assert time.monotonic() < deadline, "gunicorn did not start both workers"
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/", headers={"Connection": "close"})
            pids.add(connection.getresponse().read().decode())
            connection.close()
        except OSError:
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=30)


def test_keep_alive_connections_are_spread_over_the_workers(server):
    # Six clients connect at once and keep their connections, as a proxy's pool does.
    connections = [http.client.HTTPConnection("127.0.0.1", server, timeout=30) for _ in range(6)]
    for connection in connections:
        connection.connect()
    holders = []
    for connection in connections:
        connection.request("GET", "/")
        holders.append(connection.getresponse().read().decode())
    # Each worker has 2 threads: 2 connections each first, then the worker holding fewer
    # takes the next one; none left queueing on one core.
    assert sorted(Counter(holders).values()) == [3, 3]
    # And they stay where they are: a second round answers from the same workers.
    for connection, holder in zip(connections, holders, strict=True):
        connection.request("GET", "/")
        assert connection.getresponse().read().decode() == holder
        connection.close()


def test_a_fifth_connection_is_still_accepted_when_every_worker_is_full(server):
    connections = [http.client.HTTPConnection("127.0.0.1", server, timeout=10) for _ in range(5)]
    for connection in connections:
        connection.request("GET", "/")
    answers = [connection.getresponse() for connection in connections]
    assert [answer.status for answer in answers] == [200] * 5
    assert len({answer.read() for answer in answers}) == 2
    for connection in connections:
        connection.close()


@pytest.mark.parametrize(
    ("held", "others", "meanwhile", "expected"),
    [
        (0, [], 0, ["accept"]),  # alone: nobody else to take it
        (0, [0], 0, ["accept"]),
        (3, [3], 0, ["accept"]),  # level: both race, no wait
        (2, [5, 9], 0, ["accept"]),
        # Ahead of another: it waits once, for the other to take the connection; if the
        # other took none meanwhile (busy, stuck), it accepts: never refused.
        (4, [3], 0, ["wait", "accept"]),
        (40, [39, 41], 0, ["wait", "accept"]),  # the fewest elsewhere counts
        # The other accepted meanwhile and is now level: this one may take the next.
        (4, [3], 1, ["wait", "accept"]),
        # The other accepted meanwhile and still holds fewer: left to it (in a burst,
        # more connections are queued and this loop comes back for the next one).
        (40, [0], 1, ["wait"]),
    ],
)
def test_a_worker_waits_once_while_another_holds_fewer_connections(
    monkeypatch, held, others, meanwhile, expected
):
    # The policy itself, without the race, on a table of its own.
    table = ConnectionTable(slots=4)
    worker = BalancedThreadWorker.__new__(BalancedThreadWorker)
    worker.table = table
    worker.slot = table.claim(os.getpid())
    slots = []
    for position, count in enumerate(others):
        # Live processes as the other workers: the parent, then init.
        slots.append(table.claim(os.getppid() if position == 0 else 1))
        table.counts[slots[-1]] = count
    events = []

    def sleep(seconds):
        assert seconds == pytest.approx(BalancedThreadWorker.ACCEPT_DEFER)
        events.append("wait")
        if meanwhile:
            table.accepted[slots[0]] += meanwhile
            table.counts[slots[0]] += meanwhile

    def accept(self, server, listener):
        events.append("accept")
        self.nr_conns += 1

    monkeypatch.setattr("config.gunicorn_worker.time.sleep", sleep)
    monkeypatch.setattr("gunicorn.workers.gthread.ThreadWorker.accept", accept)
    worker.nr_conns = held
    worker.accept(("127.0.0.1", 8000), listener=None)
    assert events == expected
    accepted = expected[-1] == "accept"
    # Published for the others: what it holds, and what it accepted.
    assert table.counts[worker.slot] == held + accepted
    assert table.accepted[worker.slot] == accepted


def test_a_closed_connection_leaves_the_published_count_at_once(monkeypatch):
    # The thread that served the last request of a connection (no keep-alive) closes it;
    # the count the other workers see drops then, not at the next turn of this worker's
    # loop, which may be asleep in an accept wait (a CI run saw the other worker take a
    # fourth connection against a count still holding one that had closed).
    table = ConnectionTable(slots=2)
    worker = BalancedThreadWorker.__new__(BalancedThreadWorker)
    worker.table = table
    worker.slot = table.claim(os.getpid())
    worker.nr_conns = 2
    worker.publish()
    closed = []

    class Connection:
        def close(self):
            closed.append(self)

    done = futures.Future()
    done.set_result((False, Connection()))
    worker.finish_request(done)
    assert len(closed) == 1
    assert worker.nr_conns == 1
    assert table.counts[worker.slot] == 1


def test_the_slot_of_a_dead_worker_is_taken_again_and_not_counted():
    table = ConnectionTable(slots=2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    # A worker killed without freeing its slot, holding no connection.
    table.pids[1] = dead.pid
    mine = table.claim(os.getpid())
    assert mine == 0
    # Its 0 connections do not make the live worker wait.
    assert table.fewest_elsewhere(mine) is None
    # A new worker takes its slot: the table never fills up with the dead.
    assert table.claim(os.getppid()) == 1
