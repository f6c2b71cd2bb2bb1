"""Liveness and readiness.

``/healthz`` is liveness: the process answers HTTP (no database, no Redis), so a
supervisor restarts only a process that is stuck, never one whose dependency is down.

``/readyz`` is readiness: each part the site needs, with its state, and 503 when any is
down: PostgreSQL (a query), Redis (a ping, whatever the cache's breaker says), the Celery
worker (the heartbeat it records while it is connected to its broker, ``worker_beat``)
and Celery beat (the last run of ``publish-due-releases``, recorded by the job: it shows
that beat schedules and a worker runs what it schedules, which a scheduled release needs).
The two timestamps live in Redis: with Redis down they cannot be read, and Redis is
reported down anyway. Nothing in the answer names a host or holds an error's text.

With read replicas, ``replicas`` reports each one (by its alias: how far behind the
primary it is, or that it does not answer, ``config.replicas.replicas_report``). A replica
down does not make the node unready: its reads go to the primary.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from redis.exceptions import RedisError

from config.replicas import replica_aliases, replicas_report

WORKER_KEY = "angka:health:worker"
BEAT_KEY = "angka:health:publish-due-releases"
# Seconds between two heartbeats of a worker.
WORKER_INTERVAL = 15.0


def heartbeat_record(key: str) -> None:
    """Record that the process behind ``key`` ran now (a cache that is down: nothing)."""
    cache.set(key, time.time(), timeout=None)


def worker_beat() -> None:
    heartbeat_record(WORKER_KEY)


def beat_ran() -> None:
    heartbeat_record(BEAT_KEY)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def database_check() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return {"status": "down", "error": type(error).__name__}
    return {"status": "ok"}


def redis_check() -> dict[str, Any]:
    try:
        cache.ping()  # type: ignore[attr-defined]  # config.cache.RedisCache
    except RedisError as error:
        return {"status": "down", "error": type(error).__name__}
    return {"status": "ok"}


def timestamp_check(key: str, max_age: float, *, redis_ok: bool) -> dict[str, Any]:
    """ "ok" if ``key`` was recorded less than ``max_age`` seconds ago."""
    if not redis_ok:
        return {"status": "unknown", "error": "redis is down"}
    recorded = cache.get(key)
    if recorded is None:
        return {"status": "down", "error": "never recorded"}
    age = max(0.0, time.time() - float(recorded))
    state = "ok" if age <= max_age else "down"
    return {"status": state, "age_seconds": round(age, 1), "max_age_seconds": max_age}


def readiness() -> dict[str, Any]:
    checks = {"database": database_check(), "redis": redis_check()}
    redis_ok = checks["redis"]["status"] == "ok"
    checks["worker"] = timestamp_check(
        WORKER_KEY, settings.ANGKA_READY_WORKER_MAX_AGE, redis_ok=redis_ok
    )
    checks["beat"] = timestamp_check(BEAT_KEY, settings.ANGKA_READY_BEAT_MAX_AGE, redis_ok=redis_ok)
    ready = all(check["status"] == "ok" for check in checks.values())
    report: dict[str, Any] = {"status": "ok" if ready else "unavailable", "checks": checks}
    if replica_aliases():
        report["replicas"] = replicas_report()
    return report


def readyz(request: HttpRequest) -> JsonResponse:
    report = readiness()
    response = JsonResponse(report, status=200 if report["status"] == "ok" else 503)
    response["Cache-Control"] = "no-store"
    return response
