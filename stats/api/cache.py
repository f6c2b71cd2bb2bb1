"""The read API's response cache and its generation: a hit costs two cache reads, no SQL.

The *generation* is an opaque token kept in the cache (Redis in production). Every
cached response, and what a worker process keeps in memory for the current data (the
catalogue the filters validate against, the last publication instant), is filed under
it. It is replaced:

- when anything public may have changed: a save or delete of a release, news release,
  audit entry (every transition and publication writes one), indicator, topic, code
  list, code, target, derived definition or recompute request (``generation_bump``,
  wired in ``StatsConfig.ready``), at once and again after the transaction commits (one
  callback per transaction), so an answer computed from the data before the commit and
  filed under a token made in between is never served after it;
- when an instant it depends on is reached: a release or news release published with
  an instant still ahead (the publication clock tolerance) or the next scheduled release
  time (the calendar); the token records that instant and is not used past it;
- at the latest after ``API_MAX_AGE`` seconds (what a proxy may keep anyway), which
  bounds what an edit made outside the ORM, or in another process on a per-process
  cache, can leave stale.

Cached responses are keyed by the generation, the scheme, host, full path, language and
the ``Accept`` header: everything a valid request's answer depends on. Only answers the
views mark as cacheable (valid JSON, 200) are stored, by ``ApiResponseCacheMiddleware``,
with their headers; it serves them before sessions, authentication and DRF.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import translation

logger = logging.getLogger(__name__)

GENERATION_KEY = "api-generation"
RESPONSE_PREFIX = "api-response"


def generation() -> str:
    """The current generation token (made, with one SQL query, when there is none)."""
    entry = cache.get(GENERATION_KEY)
    if entry is not None:
        token, until = entry
        if until is None or time.time() < until:
            return token
        cache.delete(GENERATION_KEY)
    return _generation_new()


def _generation_new() -> str:
    from stats.selectors import next_publication_at

    now = time.time()
    seconds = max(1, settings.ANGKA_API_MAX_AGE)
    until = None
    upcoming = next_publication_at()
    if upcoming is not None:
        until = upcoming.timestamp()
        seconds = max(1, min(seconds, int(until - now) + 1))
    token = uuid.uuid4().hex
    if cache.add(GENERATION_KEY, (token, until), seconds):
        return token
    entry = cache.get(GENERATION_KEY)
    return entry[0] if entry is not None else token


def generation_bump(**_kwargs) -> None:
    """Start a new generation now and again when the current transaction commits
    (a signal receiver: see ``StatsConfig.ready``).

    A publication saves many rows in one transaction: the after-commit bump is queued
    once per transaction. A cache that cannot be reached is logged, never raised: a
    publication must not fail for it (the generation then ends by its own time limit).
    """
    _bump()
    connection = transaction.get_connection()
    if connection.in_atomic_block and not any(
        entry[1] is bump_after_commit for entry in connection.run_on_commit
    ):
        transaction.on_commit(bump_after_commit)


def bump_after_commit() -> None:
    """The second bump of ``generation_bump``, run once its transaction has committed."""
    _bump()


def _bump() -> None:
    _memo_reset()
    try:
        cache.delete(GENERATION_KEY)
    except Exception:  # the cache backend's own errors (redis.ConnectionError, ...)
        logger.exception("could not start a new API cache generation")


# --- what a worker keeps for the current generation ---

_memo: tuple[str, dict] = ("", {})


def _memo_reset() -> None:
    global _memo
    _memo = ("", {})


def generation_memo(token: str, name: str, compute):
    """``compute()``, computed once per process and generation ``token``."""
    global _memo
    memo_token, values = _memo
    if memo_token != token:
        values = {}
        _memo = (token, values)
    if name not in values:
        values[name] = compute()
    return values[name]


def request_generation(request) -> str:
    """The generation a request reads under: the one its response would be filed under."""
    django_request = getattr(request, "_request", request)
    token = getattr(django_request, "api_generation", None)
    if token is None:
        token = generation()
        django_request.api_generation = token
    return token


# --- keys ---


def response_cache_on() -> bool:
    """API_CACHE_SECONDS=0 turns the response cache off (ETags and 304s stay)."""
    return settings.ANGKA_API_CACHE_SECONDS > 0


def response_cache_key(request, token: str) -> str:
    """The key of a request's answer: generation, scheme, host, path and query, language,
    Accept. ``request.get_host()`` must have been checked (it raises for a bad host)."""
    parts = [
        token,
        request.scheme,
        request.get_host(),
        request.get_full_path(),
        request_language(request),
        request.META.get("HTTP_ACCEPT", ""),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]
    return f"{RESPONSE_PREFIX}:{digest}"


def request_language(request) -> str:
    """The language of the answer before ``?lang=`` (which is part of the path)."""
    code = getattr(request, "LANGUAGE_CODE", None)
    if code is None:
        code = translation.get_language_from_request(request)
    return code or settings.LANGUAGE_CODE
