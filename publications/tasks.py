"""Celery tasks of the publishing domain: thin, they take ids and call one service.

Two paths publish a scheduled release on time: the task queued for its release time
when it is scheduled, and the beat job ``publish-due-releases`` every minute, which
catches a task that was lost (broker outage, restarted worker, clock skew). Both may
run for the same release: publishing claims the row with a conditional update, so
the second does nothing.
"""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from . import services

logger = logging.getLogger(__name__)

# Database hiccups (failover, a dropped connection) are worth a retry; anything else is a
# bug or a refusal whose message is logged, and retrying would not change it.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
PUBLISH_DUE_LOCK = "publications:publish-due-releases:lock"
PUBLISH_DUE_TIME_LIMIT = 55  # seconds: shorter than the one-minute beat period


@shared_task(
    name="publications.release_publish_scheduled",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=120,
    time_limit=150,
    ignore_result=True,
)
def release_publish_scheduled(release_id: int) -> str:
    """Publish the scheduled release ``release_id`` if it is due (queued with eta=its time)."""
    release = services.release_publish_if_due(release_id=release_id)
    return "published" if release is not None else "not due"


@shared_task(
    name="publications.releases_publish_due",
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=20,
    max_retries=3,
    soft_time_limit=PUBLISH_DUE_TIME_LIMIT - 5,
    time_limit=PUBLISH_DUE_TIME_LIMIT,
    ignore_result=True,
)
def releases_publish_due() -> str:
    """The beat job: publish every scheduled release whose time has passed.

    A lock in the cache (Redis in production) keeps two runs from working at once; it
    expires after the task's hard time limit, so a killed run cannot hold it for ever.
    """
    token = uuid.uuid4().hex
    if not cache.add(PUBLISH_DUE_LOCK, token, timeout=PUBLISH_DUE_TIME_LIMIT):
        logger.info("publish-due-releases: another run holds the lock")
        return "locked"
    try:
        published = services.releases_publish_due()
    finally:
        if cache.get(PUBLISH_DUE_LOCK) == token:
            cache.delete(PUBLISH_DUE_LOCK)
    return f"published {len(published)}"
