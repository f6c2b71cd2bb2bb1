"""/healthz is liveness (cheap); /readyz reports the database, Redis, the worker's
heartbeat and beat's last run, each with its state, and is a 503 when any is down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from config import health
from tests.config.test_outages import dead_redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh():
    """A worker heartbeat and a beat run recorded just now."""
    health.worker_beat()
    health.beat_ran()
    yield
    cache.delete_many([health.WORKER_KEY, health.BEAT_KEY])


def _ready(client):
    response = client.get("/readyz")
    assert response["Cache-Control"] == "no-store"
    return response.status_code, response.json()


def test_healthz_asks_nothing_of_the_database_or_redis(client):
    # No database fixture: a query would raise. The cache points nowhere.
    with dead_redis():
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_everything_is_up(client, db, fresh):
    status, report = _ready(client)
    assert status == 200
    assert report["status"] == "ok"
    assert {name: check["status"] for name, check in report["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "worker": "ok",
        "beat": "ok",
    }
    assert report["checks"]["worker"]["age_seconds"] < 60


def test_a_stale_worker_heartbeat_is_a_503(client, db, fresh, settings):
    cache.set(health.WORKER_KEY, time.time() - settings.ANGKA_READY_WORKER_MAX_AGE - 5, None)
    status, report = _ready(client)
    assert status == 503
    assert report["status"] == "unavailable"
    assert report["checks"]["worker"]["status"] == "down"
    assert report["checks"]["worker"]["age_seconds"] > settings.ANGKA_READY_WORKER_MAX_AGE
    assert report["checks"]["beat"]["status"] == "ok"


def test_beat_that_never_ran_is_a_503(client, db, fresh):
    cache.delete(health.BEAT_KEY)
    status, report = _ready(client)
    assert status == 503
    assert report["checks"]["beat"] == {"status": "down", "error": "never recorded"}
    assert report["checks"]["worker"]["status"] == "ok"


def test_a_stale_beat_run_is_a_503(client, db, fresh, settings):
    cache.set(health.BEAT_KEY, time.time() - settings.ANGKA_READY_BEAT_MAX_AGE - 5, None)
    status, report = _ready(client)
    assert status == 503
    assert report["checks"]["beat"]["status"] == "down"


def test_redis_down_is_a_503_and_the_heartbeats_unknown(client, db, fresh):
    with dead_redis():
        status, report = _ready(client)
    assert status == 503
    checks = report["checks"]
    assert checks["redis"] == {"status": "down", "error": "ConnectionError"}
    assert checks["database"]["status"] == "ok"
    assert checks["worker"]["status"] == "unknown"
    assert checks["beat"]["status"] == "unknown"


def test_the_database_down_is_a_503(client, db, fresh, monkeypatch):
    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refused)
        status, report = _ready(client)
    assert status == 503
    assert report["checks"]["database"] == {"status": "down", "error": "OperationalError"}
    assert report["checks"]["redis"]["status"] == "ok"


def test_the_publish_due_job_records_its_run(db):
    from publications.tasks import releases_publish_due

    cache.delete(health.BEAT_KEY)
    before = time.time()
    releases_publish_due()
    assert cache.get(health.BEAT_KEY) >= before


def test_a_running_worker_records_its_heartbeat(transactional_db):
    """A real worker (on a queue of its own, so it takes no other test's tasks)."""
    cache.delete(health.WORKER_KEY)
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--queues=angka-test-heartbeat",
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while cache.get(health.WORKER_KEY) is None:
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "no heartbeat within a minute"
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    assert time.time() - cache.get(health.WORKER_KEY) < 60
    cache.delete(health.WORKER_KEY)
