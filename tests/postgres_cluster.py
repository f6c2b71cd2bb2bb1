"""Throwaway PostgreSQL clusters for the tests that need a server of their own: a primary
made with ``initdb`` in a temporary directory and a streaming replica of it made with
``pg_basebackup -R`` and a replication slot, configured with the snippets an operator
installs (deploy/replica/primary.conf, replica.conf: deploy/replica/README.md).

PostgreSQL refuses to run as root: as root the servers run as the ``postgres`` system
user (the Debian package's), which then owns the directory. The binaries are the
system's (``/usr/lib/postgresql/<version>/bin``, or ``pg_config --bindir``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

START_TIMEOUT = 30
DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "replica"
# After the operator's snippets: this machine's addresses, small and not durable (a test's
# data). The replica copies these and adds its own port.
LOCAL_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
max_connections = 40
shared_buffers = 32MB
fsync = off
full_page_writes = off
"""
# A replication entry for the standby, and the test's own connections.
PG_HBA = """
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
"""


def postgres_bin_dir() -> Path | None:
    """The directory of the system's initdb, pg_ctl and pg_basebackup (newest version)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    config = shutil.which("pg_config")
    if config:
        found = subprocess.run([config, "--bindir"], capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip():
            candidates.append(Path(found.stdout.strip()))
    for directory in candidates:
        if all((directory / name).exists() for name in ("initdb", "pg_ctl", "pg_basebackup")):
            return directory
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One PostgreSQL server of a data directory, on 127.0.0.1:``port``."""

    def __init__(self, *, bin_dir: Path, data_dir: Path, port: int, user: str | None):
        self.bin_dir = bin_dir
        self.data_dir = data_dir
        self.port = port
        self.user = user  # the system user the server runs as (None: this process's)
        self.log = data_dir.parent / f"{data_dir.name}.log"

    def run(self, program: str, *args: str) -> None:
        completed = subprocess.run(
            [str(self.bin_dir / program), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT * 2,
            check=False,
        )
        if completed.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{program} {' '.join(args)} failed ({completed.returncode}): "
                f"{completed.stdout}{completed.stderr}{log}"
            )

    def conf_append(self, text: str) -> None:
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(text)

    def start(self) -> None:
        self.run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log), "-w",
            "-t", str(START_TIMEOUT), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def reload(self) -> None:
        self.run("pg_ctl", "-D", str(self.data_dir), "reload")

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        """``sql`` on a connection of its own (autocommit), outside Django."""
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []


class StreamingPair:
    """A primary and a streaming replica of it in ``root``: ``start()`` makes and starts
    the primary; ``replica_start()`` copies it with pg_basebackup -R and starts the copy
    as a hot standby; ``close()`` stops both and removes the directory."""

    def __init__(self, bin_dir: Path, *, settings: str = ""):
        self.bin_dir = bin_dir
        # postgresql.conf lines after LOCAL_CONF (bench-release-day: room for its load);
        # the replica's base backup copies them.
        self.settings = settings
        self.root = Path(tempfile.mkdtemp(prefix="angka-replica-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.primary = Server(
            bin_dir=bin_dir, data_dir=self.root / "primary", port=free_port(), user=self.user
        )
        self.replica = Server(
            bin_dir=bin_dir, data_dir=self.root / "replica", port=free_port(), user=self.user
        )

    def start(self) -> None:
        primary = self.primary
        primary.run(
            "initdb", "-D", str(primary.data_dir), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        primary.conf_append((DEPLOY / "primary.conf").read_text())
        primary.conf_append(LOCAL_CONF.format(port=primary.port, sockets=self.root))
        primary.conf_append(self.settings)
        (primary.data_dir / "pg_hba.conf").write_text(PG_HBA)
        primary.start()

    def replica_start(self) -> None:
        """The replica: a base backup of the primary with ``-R`` (standby.signal and
        primary_conninfo written) and a slot of its own, as deploy/replica/basebackup.sh
        makes one, on its own port."""
        primary, replica = self.primary, self.replica
        primary.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(replica.data_dir), "--write-recovery-conf", "--create-slot",
            "--slot=angka_test", "--wal-method=stream", "--checkpoint=fast", "--no-sync",
        )  # fmt: skip
        replica.conf_append((DEPLOY / "replica.conf").read_text())
        replica.conf_append(f"\nport = {replica.port}\n")
        replica.start()

    def replay_delay(self, seconds: float) -> None:
        """Make the replica apply each commit ``seconds`` after it was made
        (``recovery_min_apply_delay``, read again on reload)."""
        self.replica.conf_append(f"\nrecovery_min_apply_delay = '{int(seconds * 1000)}ms'\n")
        self.replica.reload()

    def close(self) -> None:
        for server in (self.replica, self.primary):
            if server.running():
                with contextlib.suppress(RuntimeError):
                    server.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def streaming_pair(bin_dir: Path, *, settings: str = "") -> Iterator[StreamingPair]:
    pair = StreamingPair(bin_dir, settings=settings)
    try:
        pair.start()
        yield pair
    finally:
        pair.close()
