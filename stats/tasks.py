"""Celery tasks of the statistics domain: thin, each calls one service.

``exclusive`` is the cache lock of every job that must not run twice at once (the
periodic jobs of publications use it too).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from . import httpcache
from .opendata import bulk

logger = logging.getLogger(__name__)

BULK_LOCK = "stats:opendata-bulk:lock"
BULK_TIME_LIMIT = 1800  # seconds


@contextmanager
def exclusive(key: str, *, timeout: int) -> Iterator[bool]:
    """A lock in the cache (Redis in production): yields whether this run holds it. It
    expires after ``timeout`` seconds, so a killed run cannot hold it for ever, and a run
    releases only its own lock (not one taken after its own expired)."""
    token = uuid.uuid4().hex
    if not cache.add(key, token, timeout=timeout):
        yield False
        return
    try:
        yield True
    finally:
        if cache.get(key) == token:
            cache.delete(key)


@shared_task(
    name=bulk.BULK_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=BULK_TIME_LIMIT - 60,
    time_limit=BULK_TIME_LIMIT,
    ignore_result=True,
)
def opendata_bulk_build() -> str:
    """Rebuild the bulk download from the public data (``bulk.bulk_build``)."""
    bulk.bulk_rebuild_started()
    with exclusive(BULK_LOCK, timeout=BULK_TIME_LIMIT) as held:
        if not held:
            # A build is running; it may have started before the change that asked for
            # this one: ask again, for after it.
            bulk.bulk_rebuild_request()
            return "another build is running"
        record = bulk.bulk_build()
    return record.etag


class HttpCachePurgeFailed(Exception):
    """A cache did not take a purge (unreachable, refused): retried with backoff."""


@shared_task(
    name=httpcache.PURGE_TASK,
    acks_late=True,
    autoretry_for=(HttpCachePurgeFailed,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=False,
    max_retries=12,
    ignore_result=True,
)
def http_cache_purge(url: str, keys: list[str]) -> None:
    """Purge ``keys`` from the cache at ``url`` (``httpcache.http_cache_purge``); the
    delay doubles from 2 s to 5 min between attempts, about half an hour in all: a cache
    down longer restarts empty, and needs no purge."""
    if httpcache.http_cache_purge(keys=keys, urls=[url]):
        raise HttpCachePurgeFailed(url)
