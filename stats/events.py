"""One event, "what the public sees may have changed", and the one cache generation it ends.

Every cache of public answers is filed under the current *generation*, an opaque token
kept in the cache (Redis in production): the read API's responses (``stats.api.cache``),
the public pages (``stats.pagecache``), and what a worker process keeps in memory for
the current data (``generation_memo``: the catalogue the filters validate against, the
last publication instant). Reading it costs one cache read, no SQL. It is replaced:

- when ``public_data_changed()`` is raised: by the publishing services (every change of
  a release's or news release's state, which is audited: ``publications.services``),
  by the admin's edits of the catalogue (``stats.admin.PublicDataAdmin``: indicators,
  topics, code lists, codes, series, targets, derived definitions) and by the synthetic
  data generator. It ends the generation at once and again after the transaction
  commits (one callback per transaction), so an answer computed from the data before
  the commit and filed under a token made in between is never served after it;
- when an instant it depends on is reached: a release or news release published with an
  instant still ahead (the publication clock tolerance) or the next scheduled release
  time (the calendar); the token records that instant and is not used past it;
- at the latest after ``API_MAX_AGE`` seconds (what a proxy may keep anyway), which
  bounds what an edit made outside these ways (SQL, the shell) can leave stale.

A public read reads under one generation, taken before its first read of the database
(without replicas: when first asked, or just before that read) and pinned for the whole
request (``generation_pinned``: ``config.middleware.ReadReplicaMiddleware``),
while its reads see one snapshot (``config.middleware.ReadSnapshotMiddleware``): what it
files under the generation is never older than the commit that began it. With read
replicas (``config.replicas``), a generation also records the primary's WAL position when
it began (``generation_current``), and a replica answers a request only if it has
replayed that position.

Work that follows a change of public data subscribes to the event
(``public_data_changed_subscribe``): it runs once the change is committed, as the bulk
download's rebuild request does (``stats.opendata.bulk``, subscribed in
``StatsConfig.ready``), and the HTTP cache's purge (``stats.httpcache``). The raiser may
say what changed, as the HTTP cache's surrogate keys (an indicator, a release, the
public lists); a raise that does not say means anything may have changed.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from config.replicas import primary_reads, primary_wal_lsn, replica_aliases

from .selectors import next_publication_at

logger = logging.getLogger(__name__)

GENERATION_KEY = "angka-generation"
# The keys a transaction's raises named so far, on its connection (None: anything).
PENDING_ATTRIBUTE = "angka_public_data_changed_keys"


class Generation(NamedTuple):
    token: str
    # The primary's WAL position (bytes) when the generation began; None without replicas
    # (or unknown: the primary answers).
    lsn: int | None
    # The instant (POSIX time) it ends at, if known (the next scheduled publication).
    until: float | None = None


class Pin:
    """The generation a request reads under: ``token``, or (None) the current one at the
    block's first ``generation()``, then kept."""

    def __init__(self, token: str | None = None):
        self.token = token


_pinned: contextvars.ContextVar[Pin | None] = contextvars.ContextVar(
    "angka_generation_pinned", default=None
)


def generation() -> str:
    """The current generation token (made, with one SQL query on the primary, two with
    replicas, when there is none); in a block of ``generation_pinned``, the token pinned
    there."""
    pinned = _pinned.get()
    if pinned is None:
        return generation_current().token
    if pinned.token is None:
        pinned.token = generation_current().token
    return pinned.token


def generation_state() -> tuple[str, float | None]:
    """The current generation token and the instant (POSIX time) it ends at, if an
    instant it depends on (the next scheduled publication) is known: what an HTTP cache
    may not keep an answer beyond."""
    current = generation_current()
    return current.token, current.until


def generation_current() -> Generation:
    """The current generation, the WAL position it began at and when it ends."""
    entry = cache.get(GENERATION_KEY)
    if entry is not None:
        token, until, *rest = entry
        if until is None or time.time() < until:
            return Generation(token, rest[0] if rest else None, until)
        cache.delete(GENERATION_KEY)
    return _generation_new()


@contextmanager
def generation_pinned(token: str | Pin) -> Iterator[None]:
    """``generation()`` is ``token`` in the block (a ``Pin``: the one it holds, or the
    current one at the first ``generation()``): a request reads under one generation,
    even when the current one ends while it runs."""
    reset = _pinned.set(token if isinstance(token, Pin) else Pin(token))
    try:
        yield
    finally:
        _pinned.reset(reset)


def generation_peek() -> str | None:
    """The current generation token if there is one; never makes one (no SQL)."""
    entry = cache.get(GENERATION_KEY)
    if entry is None or (entry[1] is not None and time.time() >= entry[1]):
        return None
    return entry[0]


def _generation_new() -> Generation:
    now = time.time()
    seconds = max(1, settings.ANGKA_API_MAX_AGE)
    until = None
    # From the primary: a replica behind would not know a release scheduled a moment ago,
    # nor can it tell the primary's position.
    with primary_reads():
        upcoming = next_publication_at()
        lsn = primary_wal_lsn() if replica_aliases() else None
    if upcoming is not None:
        until = upcoming.timestamp()
        seconds = max(1, min(seconds, int(until - now) + 1))
    token = uuid.uuid4().hex
    if cache.add(GENERATION_KEY, (token, until, lsn), seconds):
        return Generation(token, lsn, until)
    entry = cache.get(GENERATION_KEY)
    if entry is None:
        return Generation(token, lsn, until)
    return Generation(entry[0], entry[2] if len(entry) > 2 else None, entry[1])


@dataclass(frozen=True)
class PublicDataChange:
    """What a committed change touched, as surrogate keys (``stats.httpcache``); None:
    anything public may have changed."""

    keys: frozenset[str] | None


def public_data_changed(*, keys: Iterable[str] | None = None) -> None:
    """Raise the event: start a new generation now and again when the current
    transaction commits.

    ``keys`` say what changed (surrogate keys, ``stats.httpcache``); without them,
    anything may have. A transaction's raises add up: its subscribers see the keys of
    them all (or "anything" if one did not say).

    A publication saves many rows in one transaction: the after-commit bump is queued
    once per transaction. A cache that cannot be reached is logged, never raised: a
    publication or an edit must not fail for it (the generation then ends by its own
    time limit).
    """
    _bump()
    connection = transaction.get_connection()
    changed = frozenset(keys) if keys is not None else None
    if not connection.in_atomic_block:
        # Committed already (autocommit).
        _react(PublicDataChange(keys=changed))
        return
    # Kept on the connection until its commit. Without the after-commit step queued in
    # this transaction, what is kept is a rolled-back transaction's: dropped.
    queued = any(entry[1] is bump_after_commit for entry in connection.run_on_commit)
    pending: frozenset[str] | None = (
        getattr(connection, PENDING_ATTRIBUTE, frozenset()) if queued else frozenset()
    )
    merged = None if pending is None or changed is None else pending | changed
    setattr(connection, PENDING_ATTRIBUTE, merged)
    if not queued:
        transaction.on_commit(bump_after_commit)


def bump_after_commit() -> None:
    """The second bump of ``public_data_changed``, run once its transaction has committed,
    and the subscribers' reactions."""
    _bump()
    connection = transaction.get_connection()
    keys = getattr(connection, PENDING_ATTRIBUTE, None)
    setattr(connection, PENDING_ATTRIBUTE, frozenset())
    _react(PublicDataChange(keys=keys))


_subscribers: list[Callable[[PublicDataChange], None]] = []


def public_data_changed_subscribe(reaction: Callable[[PublicDataChange], None]) -> None:
    """Run ``reaction(change)`` after each committed change of public data (once per
    transaction). It should be quick (enqueue work, do not do it)."""
    if reaction not in _subscribers:
        _subscribers.append(reaction)


def public_data_changed_unsubscribe(reaction: Callable[[PublicDataChange], None]) -> None:
    """Stop running ``reaction`` (a process that runs Celery eagerly and must not do a
    worker's long job in its own time: bench-recompute and the bulk download)."""
    if reaction in _subscribers:
        _subscribers.remove(reaction)


def _react(change: PublicDataChange) -> None:
    for reaction in _subscribers:
        try:
            reaction(change)
        except Exception:  # a reaction's failure must not fail the publication
            logger.exception("reaction to a change of public data failed: %r", reaction)


def _bump() -> None:
    _memo_reset()
    try:
        cache.delete(GENERATION_KEY)
    except Exception:  # the cache backend's own errors (redis.ConnectionError, ...)
        logger.exception("could not start a new cache generation")


# --- what a worker keeps for the current generation ---

_memo: tuple[str, dict] = ("", {})


def _memo_reset() -> None:
    global _memo
    _memo = ("", {})


# The memos being computed, by (generation, name); another thread asking for one waits
# for it instead of computing it too.
_computing: dict[tuple[str, str], threading.Event] = {}
_computing_guard = threading.Lock()
# How long a thread waits for another's computation before making its own (a bound, so
# that two memos computed inside each other in two threads cannot wait for ever).
MEMO_WAIT_SECONDS = 10.0


def generation_memo(token: str, name: str, compute):
    """``compute()``, computed once per process and generation ``token``.

    Once: right after a publication every thread of a worker process asks for the same
    memos at once (the catalogue the filters check against holds every series), and
    computing them in each thread would multiply that work while those requests wait.
    """
    global _memo
    memo_token, values = _memo
    if memo_token != token:
        values = {}
        _memo = (token, values)
    if name in values:
        return values[name]
    key = (token, name)
    with _computing_guard:
        computing = _computing.get(key)
        if computing is None:
            computing = _computing[key] = threading.Event()
            mine = True
        else:
            mine = False
    if not mine:
        computing.wait(MEMO_WAIT_SECONDS)
        if name in values:
            return values[name]
        return compute()  # the other thread failed, or took too long
    try:
        values[name] = compute()
        return values[name]
    finally:
        with _computing_guard:
            del _computing[key]
        computing.set()
