"""Read replicas: which database a read goes to, and when a replica may answer it.

Public reads (pages, the read API, feeds, downloads, SDMX, the open-data files) may be
answered by PostgreSQL streaming replicas (``DATABASE_REPLICA_URLS``, the aliases
``replica1``, ``replica2``, ... of ``settings.ANGKA_REPLICA_ALIASES``). Everything else
works on the primary (``default``): writes, the admin, the publishing services, Celery
tasks, management commands, any read inside a transaction on the primary, and the
account tables (``PRIMARY_APPS``).

**Per request, not per query.** ``config.middleware.ReadReplicaMiddleware`` opens a
``RequestReads`` around each public read; the router (``ReplicaRouter``) and the raw SQL
of the read paths (``read_connection``: the API's prepared page statement, the streamed
CSV) ask it for their database. The database is chosen at the request's first read and
kept for the rest of it, a streamed body included, so one response is never built from
two databases; a request that is answered from a cache chooses none (no SQL).

**The embargo lift stays atomic per reader.** Each cache generation (``stats.events``)
records the primary's WAL position when it began (``primary_wal_lsn``), which is after
the commit of the publication that ended the previous one. A request reads under one
generation, pinned for the whole request, and a replica may answer it only if it has
replayed that position (``pg_last_wal_replay_lsn() >= lsn``: ``replica_for``); if none
has, the primary answers. So whatever is filed or labelled under a generation (the
response and page caches, the ETags, the per-process memos) is built from data at least
as new as the primary's when the generation began: a publication is never hidden under
the generation that follows it, while a replica lags the primary answers. The replay
position a replica reported is kept per process (it only moves forward) and asked again
once it is ``ANGKA_REPLICA_CHECK_SECONDS`` old: a fraction of a second, so a process
asks each replica a few times a second at most, whatever the traffic.

**A replica that does not answer** is left out for ``ANGKA_REPLICA_RETRY_SECONDS``
(its reads go to the primary; one warning when it goes, one line when it is back): no
request fails for it, and ``/readyz`` reports it (``replicas_report``) without failing
the node.

**One snapshot per answer.** The reads that build one answer (a page renders a dozen
queries: the indicator, its series, the latest values, the releases) run in one
``REPEATABLE READ READ ONLY`` transaction on the request's database, begun at its first
read after ``RequestReads.snapshot_begin`` (asked by
``config.middleware.ReadSnapshotMiddleware`` for every public read no cache answered,
replicas or not) and ended once the answer is built: a publication that commits while a
page is rendered is in all of it or none of it. The isolation level is set on the
driver's connection (psycopg sends it with its ``BEGIN``), so it costs no statement of
its own, and an answer served from a cache opens nothing. A read inside a transaction
already open (the caller's) keeps that transaction. The snapshot ends before
``stats.httpcache`` reads the generation again (a generation made then reads the
release calendar, which must be current), and before a streamed body is read (in the
transaction of its own query).

``replicas_wait(lsn, timeout)`` returns once every reachable replica has replayed
``lsn``: what the HTTP cache's purge waits for after a publication, so that the first
request after the purge can already be answered by a replica.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import IsolationLevel

logger = logging.getLogger(__name__)

PRIMARY = "default"
# Users, groups, permissions, sessions, API tokens, the admin's log: written when someone
# logs in, is given a token or edits, and read back by the next request. They are no public
# data (no answer shows them), so they are read where they are written.
PRIMARY_APPS = frozenset({"auth", "authtoken", "sessions", "admin", "contenttypes"})
# Seconds between two looks at a replica's position while replicas_wait() waits.
WAIT_STEP = 0.05

# The statements, as byte positions (pg_lsn minus 0/0 is a number of bytes).
PRIMARY_LSN_SQL = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
REPLAY_LSN_SQL = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"


def replica_aliases() -> list[str]:
    """The database aliases of the read replicas (empty: everything on the primary)."""
    return list(settings.ANGKA_REPLICA_ALIASES)


def lsn_text(lsn: int) -> str:
    """A WAL position as PostgreSQL writes it (``16/B374D848``)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def primary_wal_lsn() -> int:
    """The primary's current WAL position, in bytes. Read after a commit, it is at or past
    that commit's record (a commit waits for its WAL to be written)."""
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute(PRIMARY_LSN_SQL)
        return int(cursor.fetchone()[0])


def replay_lsn(connection: BaseDatabaseWrapper) -> int | None:
    """The position a replica has replayed up to (None: the server is not a standby)."""
    with connection.cursor() as cursor:
        cursor.execute(REPLAY_LSN_SQL)
        found = cursor.fetchone()[0]
    return None if found is None else int(found)


# --- what each replica was seen to do, per process ---


@dataclass
class ReplicaState:
    replayed: int = -1  # the last replay position seen
    checked_at: float = float("-inf")  # when it was seen (time.monotonic)
    down: bool = False
    retry_at: float = 0.0  # a replica down is not tried before this (time.monotonic)


_states: dict[str, ReplicaState] = {}
_states_lock = threading.Lock()
# Which replica a request tries first: in turn, so that reads spread over all of them.
_turn = itertools.count()


def replica_state(alias: str) -> ReplicaState:
    with _states_lock:
        return _states.setdefault(alias, ReplicaState())


def replica_states_reset() -> None:
    """Forget what was seen of every replica (a test's fresh start)."""
    with _states_lock:
        _states.clear()


def _replica_down(alias: str, state: ReplicaState, error: Exception) -> None:
    with _states_lock:
        first = not state.down
        state.down = True
        state.retry_at = time.monotonic() + settings.ANGKA_REPLICA_RETRY_SECONDS
    if first:
        logger.warning(
            "read replica %s does not answer (%s): its reads go to the primary",
            alias,
            type(error).__name__,
        )


def _replica_up(alias: str, state: ReplicaState) -> None:
    if not state.down:
        return
    with _states_lock:
        was_down, state.down = state.down, False
    if was_down:
        logger.warning("read replica %s answers again", alias)


def _replica_seen(state: ReplicaState, replayed: int) -> None:
    with _states_lock:
        state.replayed = max(state.replayed, replayed)
        state.checked_at = time.monotonic()


def replica_ready(alias: str, lsn: int) -> bool:
    """Whether replica ``alias`` answers and has replayed ``lsn``.

    Its replay position is asked again once it is ``ANGKA_REPLICA_CHECK_SECONDS`` old,
    which also finds a replica gone away, as does Django's health check of a persistent
    connection (run here rather than by the request's first query): either way before
    the request uses it, not by a failing query."""
    state = replica_state(alias)
    now = time.monotonic()
    if state.down and now < state.retry_at:
        return False
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        if now - state.checked_at >= settings.ANGKA_REPLICA_CHECK_SECONDS:
            replayed = replay_lsn(connection)
            if replayed is None:
                raise DatabaseError("the server is not a standby")
            _replica_seen(state, replayed)
        else:
            connection.ensure_connection()
    except DatabaseError as error:
        connection.close()
        _replica_down(alias, state, error)
        return False
    _replica_up(alias, state)
    return state.replayed >= lsn


def replica_for(lsn: int | None) -> str:
    """A replica that answers and has replayed ``lsn``, else the primary (``lsn`` None:
    the position is unknown, the primary)."""
    aliases = replica_aliases()
    if lsn is None or not aliases:
        return PRIMARY
    first = next(_turn) % len(aliases)
    for alias in aliases[first:] + aliases[:first]:
        if replica_ready(alias, lsn):
            return alias
    return PRIMARY


def replicas_wait(lsn: int, timeout: float) -> bool:
    """Wait until every replica that answers has replayed ``lsn``; False if one has not
    after ``timeout`` seconds. A replica that does not answer is not waited for: it
    serves nothing until it has replayed the position of the generation it is asked
    under (``replica_for``)."""
    deadline = time.monotonic() + timeout
    waiting = replica_aliases()
    while True:
        behind = []
        for alias in waiting:
            state = replica_state(alias)
            connection = connections[alias]
            try:
                replayed = replay_lsn(connection)
            except DatabaseError as error:
                connection.close()
                _replica_down(alias, state, error)
                continue
            if replayed is None or replayed < lsn:
                behind.append(alias)
            else:
                _replica_seen(state, replayed)
                _replica_up(alias, state)
        waiting = behind
        if not waiting:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(WAIT_STEP, max(0.0, deadline - time.monotonic())))


def replicas_report() -> dict[str, dict[str, Any]]:
    """Each replica's state for /readyz: how far behind the primary it is, in bytes of WAL
    and in seconds (0 when it has replayed all it received), or that it does not answer.
    Names no host and holds no error's text."""
    try:
        primary_lsn: int | None = primary_wal_lsn()
    except DatabaseError:
        primary_lsn = None
    report: dict[str, dict[str, Any]] = {}
    for alias in replica_aliases():
        state = replica_state(alias)
        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, "
                    "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                    "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
                )
                replayed, seconds = cursor.fetchone()
        except DatabaseError as error:
            connection.close()
            _replica_down(alias, state, error)
            report[alias] = {"status": "down", "error": type(error).__name__}
            continue
        if replayed is None:
            report[alias] = {"status": "down", "error": "not a standby"}
            continue
        _replica_seen(state, int(replayed))
        _replica_up(alias, state)
        report[alias] = {
            "status": "ok",
            "replayed_lsn": lsn_text(int(replayed)),
            "lag_bytes": None if primary_lsn is None else max(0, primary_lsn - int(replayed)),
            "lag_seconds": None if seconds is None else round(max(0.0, float(seconds)), 3),
        }
    return report


# --- the request's database ---


class Snapshot:
    """A ``REPEATABLE READ READ ONLY`` transaction on ``alias``, begun by Django (so that
    the router and nested ``atomic`` blocks see it) with the level set on the psycopg
    connection: its first query's ``BEGIN`` carries it. ``end`` restores the connection's
    own level, for the next user of a persistent connection."""

    def __init__(self, alias: str):
        self.alias = alias
        connection = connections[alias]
        # Django checks a persistent connection before a cursor uses it; a transaction
        # begun on a dead one would fail the request instead of reconnecting.
        connection.close_if_health_check_failed()
        self.block = transaction.atomic(using=alias)
        self.block.__enter__()
        try:
            raw = connection.connection
            self.saved = (raw.isolation_level, raw.read_only)
            raw.isolation_level = IsolationLevel.REPEATABLE_READ
            raw.read_only = True
        except BaseException as error:
            self.block.__exit__(type(error), error, error.__traceback__)
            raise

    def end(self, error: BaseException | None = None) -> None:
        connection = connections[self.alias]
        try:
            # Read only: a commit and a rollback are the same; an error rolls back.
            self.block.__exit__(type(error) if error else None, error, None)
        finally:
            raw = connection.connection
            if raw is not None and not raw.closed:
                raw.isolation_level, raw.read_only = self.saved


class RequestReads:
    """Where the reads of one request go: the database is chosen at its first read (a
    replica that has replayed ``lsn``, else the primary) and kept for the rest of it.
    After ``snapshot_begin``, the next read begins the answer's ``Snapshot`` there (unless
    a transaction is open there already); ``snapshot_end`` ends it."""

    def __init__(self, *, lsn: int | None, alias: str | None = None):
        self.lsn = lsn
        self.alias = alias
        self.snapshot = False
        self.before_snapshot: Callable[[], object] | None = None
        self.open_snapshot: Snapshot | None = None

    def database(self) -> str:
        if self.alias is None:
            self.alias = replica_for(self.lsn)
        if self.snapshot:
            self.snapshot = False  # once: a later read outside it stays outside
            if not connections[self.alias].in_atomic_block:
                if self.before_snapshot is not None:
                    self.before_snapshot()
                self.open_snapshot = Snapshot(self.alias)
        return self.alias

    def snapshot_begin(self, *, before: Callable[[], object] | None = None) -> None:
        """The reads from now on, until ``snapshot_end``, see one snapshot; ``before`` is
        called just before it begins (outside it)."""
        self.snapshot = True
        self.before_snapshot = before

    def snapshot_end(self, error: BaseException | None = None) -> None:
        """End the answer's snapshot, if one began; reads after it begin none."""
        self.snapshot = False
        snapshot, self.open_snapshot = self.open_snapshot, None
        if snapshot is not None:
            snapshot.end(error)

    @contextmanager
    def active(self) -> Iterator[RequestReads]:
        """Reads in the block go where this request's reads go."""
        token = _reads.set(self)
        try:
            yield self
        finally:
            _reads.reset(token)


_reads: contextvars.ContextVar[RequestReads | None] = contextvars.ContextVar(
    "angka_request_reads", default=None
)


def request_reads() -> RequestReads | None:
    """The reads of the current public read (None outside one)."""
    return _reads.get()


def primary_reads():
    """A block whose reads go to the primary, even inside a request of public reads."""
    return RequestReads(lsn=None, alias=PRIMARY).active()


def read_alias() -> str:
    """The database of the current request's reads (the primary outside one)."""
    reads = _reads.get()
    return PRIMARY if reads is None else reads.database()


def read_connection() -> BaseDatabaseWrapper:
    """The connection raw SQL of a public read runs on (``read_alias``)."""
    return connections[read_alias()]


class ReplicaRouter:
    """``DATABASE_ROUTERS``: writes to the primary; reads where the request's reads go."""

    def db_for_read(self, model, **hints) -> str | None:
        reads = _reads.get()
        if reads is None:
            return None  # not a public read: Django's default, the primary
        if model._meta.app_label in PRIMARY_APPS or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return reads.database()

    def db_for_write(self, model, **hints) -> str:
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Every alias holds the same data: a row read on a replica may refer to one of the
        # primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY
