"""Celery tasks of the publishing domain: thin, they take ids and call one service.

Two paths publish a scheduled release on time: the task queued for its release time
when it is scheduled, and the beat job ``publish-due-releases`` every minute, which
catches a task that was lost (broker outage, restarted worker, clock skew). Both may
run for the same release: publishing claims the row with a conditional update, so
the second does nothing.

Both go to the queue ``publish`` (``CELERY_TASK_ROUTES``), whose worker runs nothing
else: a worker holds a task whose time has come until a pool slot is free, and the
general worker's slots may be taken for a minute by the bulk download's rebuild.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from config.health import beat_ran
from stats.tasks import exclusive

from . import derived, services

logger = logging.getLogger(__name__)

# Database hiccups (failover, a dropped connection) are worth a retry; anything else is a
# bug or a refusal whose message is logged, and retrying would not change it.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# A recompute also retries when the broker or the cache connection drops under it (the
# request goes back to pending for it); any other failure waits for the sweeper's backoff.
RECOMPUTE_RETRY_ERRORS = derived.TRANSIENT_ERRORS
PUBLISH_DUE_LOCK = "publications:publish-due-releases:lock"
PUBLISH_DUE_TIME_LIMIT = 55  # seconds: shorter than the one-minute beat period
SWEEP_LOCK = "publications:derived-sweep:lock"


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
    Each run is recorded for /readyz (beat schedules, a worker runs).
    """
    beat_ran()
    with exclusive(PUBLISH_DUE_LOCK, timeout=PUBLISH_DUE_TIME_LIMIT) as held:
        if not held:
            logger.info("publish-due-releases: another run holds the lock")
            return "locked"
        published = services.releases_publish_due()
    return f"published {len(published)}"


@shared_task(
    name=services.RECOMPUTE_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RECOMPUTE_RETRY_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    soft_time_limit=540,
    time_limit=600,
)
def derived_recompute_request(self, request_id: int) -> dict:
    """Confirm the derived values of a published release (an outbox row of it)."""
    request = derived.recompute_request_run(request_id=request_id)
    return {"request": request_id, "ran": request is not None}


@shared_task(
    name="publications.derived_sweep_requests", acks_late=True, soft_time_limit=50, time_limit=60
)
def derived_sweep_requests() -> list[int]:
    """The beat job: enqueue again the recomputes not finished (lost task, killed worker)
    and the failed ones whose next attempt is due."""
    # The lock keeps two sweeps from overlapping when a beat tick comes early.
    with exclusive(SWEEP_LOCK, timeout=55) as held:
        return derived.recompute_requests_sweep() if held else []


@shared_task(
    name="publications.derived_recompute_all",
    acks_late=True,
    autoretry_for=RECOMPUTE_RETRY_ERRORS,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=3000,
    time_limit=3600,
)
def derived_recompute_all() -> dict:
    """Recompute every derived value and publish what differs."""
    summary = derived.derived_recompute_all()
    return {"computed": summary.computed, "written": summary.written}
