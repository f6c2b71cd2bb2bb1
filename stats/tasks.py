"""Celery tasks of the statistics domain: thin, each calls one service."""

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from . import derived

TRANSIENT = (OperationalError, ConnectionError, TimeoutError)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    soft_time_limit=540,
    time_limit=600,
)
def derived_recompute_request(self, request_id: int) -> dict:
    request = derived.recompute_request_run(request_id=request_id)
    return {"request": request_id, "ran": request is not None}


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def derived_sweep_requests() -> list[int]:
    # The lock keeps two sweeps from overlapping when a beat tick comes early.
    if not cache.add("lock:derived-sweep", "1", timeout=55):
        return []
    try:
        return derived.recompute_requests_sweep()
    finally:
        cache.delete("lock:derived-sweep")


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=3000,
    time_limit=3600,
)
def derived_recompute_all() -> dict:
    summary = derived.derived_recompute_all()
    return {"computed": summary.computed, "written": summary.written}
