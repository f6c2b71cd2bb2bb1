"""Fault tests against real processes: a private Redis that the test kills and restarts,
Celery worker and beat as subprocesses on the test database.

What must hold: the worker and beat outlive a broker outage, even one that comes while a
task runs; a release due during the outage is published, with its derived values, once
the broker is back, without anybody acting; a recompute whose worker is killed with
SIGKILL is finished by the next worker. Beat runs its jobs every BEAT_INTERVAL seconds
here (every minute in production) so that each recovery takes seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from celery import current_app
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from config.dbrole import database_owner
from publications.choices import RecomputeStatus, ReleaseStatus
from publications.models import RecomputeRequest, Release
from publications.services import (
    recompute_request_enqueue,
    release_approve,
    release_create,
    release_publish,
    release_schedule,
    release_submit,
)
from stats.models import Observation
from stats.opendata.bulk import BULK_TASK
from stats.opendata.models import BulkDownload, OpenDataSettings
from tests.processes import Beat, RedisServer, Worker, broker_at, subprocess_env
from tests.stats.helpers import import_rows

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# This suite's private Redis servers live on these ports (other suites use others).
REDIS_PORTS = range(6400, 6420)
BEAT_INTERVAL = "2"
UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens there
# What the issue promises: published within two minutes of the broker's return.
RECOVERY_SECONDS = 120


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer(REDIS_PORTS)
    server.start()
    yield server
    server.close()


@pytest.fixture
def on_private_redis(private_redis):
    """This process's producers send to the private Redis, as the web process of the
    deployment would: what it enqueues is lost with that server."""
    with broker_at(private_redis.url):
        yield private_redis


@pytest.fixture
def processes(on_private_redis):
    """Start workers and beat on the private Redis; all are stopped at the end."""
    started: list = []
    env = subprocess_env(on_private_redis.url, BEAT_INTERVAL=BEAT_INTERVAL)

    def start(kind, **options):
        started.append(Beat(env=env) if kind == "beat" else Worker(env=env, **options))
        return started[-1]

    yield start
    for process in reversed(started):
        process.stop()


def _draft_2023(slug: str) -> Release:
    release = release_create(slug=slug, title_id=slug, title_en=slug)
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000")])
    return release


def _derived_2023() -> Decimal | None:
    row = (
        Observation.objects.current()
        .filter(series__indicator__code="PARTICIPANT_CHANGE", period="2023")
        .first()
    )
    return row.value if row else None


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _status(request_id: int) -> str:
    return RecomputeRequest.objects.get(pk=request_id).status


def _someone_waits_on_a_lock() -> bool:
    # As the owner: the application role sees no other login's wait events.
    with database_owner(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@contextlib.contextmanager
def observations_locked() -> Iterator[threading.Event]:
    """Hold a lock on the observation table that lets reads through and stops writes: a
    recompute started now computes, then waits in the middle, at its first write. Set
    the event it yields to let go before the end of the block."""
    with table_locked(Observation._meta.db_table, "SHARE ROW EXCLUSIVE") as unlock:
        yield unlock


@contextlib.contextmanager
def table_locked(table: str, mode: str) -> Iterator[threading.Event]:
    """Hold a lock of ``mode`` on ``table`` from another connection for the block (or
    until the event it yields is set)."""
    locked, unlock = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN {mode} MODE")
            locked.set()
            unlock.wait(60)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        yield unlock
    finally:
        unlock.set()
        holder.join()


def _publish_without_worker(slug: str) -> RecomputeRequest:
    """Publish a 2023 value whose derived value only the recompute task writes (no
    precompute), while no worker takes the task."""
    release = release_publish(release=_draft_2023(slug))
    return RecomputeRequest.objects.get(release=release)


def _wait_until_blocked_inside(request: RecomputeRequest, worker: Worker) -> None:
    """Wait until a worker has claimed ``request`` and waits inside its recompute, at the
    first write that ``observations_locked`` holds back."""
    assert _wait(
        lambda: _status(request.pk) == RecomputeStatus.RUNNING and _someone_waits_on_a_lock(), 30
    ), "no worker reached the middle of the recompute: " + worker.log_tail()


def test_the_worker_and_beat_outlive_a_broker_outage_that_comes_in_the_middle_of_a_task(
    growth_definition, processes, on_private_redis
):
    # The worker of the production recipe: prefork pool of two, late acknowledgement.
    worker = processes("worker", pool="prefork", concurrency=2)
    beat = processes("beat")
    with broker_at(UNREACHABLE):  # the recompute's message is lost
        request = _publish_without_worker("2023")
    with observations_locked() as unlock:
        recompute_request_enqueue(request_id=request.pk)  # as the sweeper would
        _wait_until_blocked_inside(request, worker)
        on_private_redis.kill()
        time.sleep(3)  # the worker has seen the connection drop and is reconnecting
        unlock.set()
    time.sleep(2)
    assert worker.alive(), worker.log_tail()
    assert beat.alive(), beat.log_tail()

    on_private_redis.start()
    assert _wait(worker.answers_ping, 60), worker.log_tail()
    # The task cut short by the outage is done again (its message died with the server:
    # the sweeper, run by beat, enqueues it).
    assert _wait(lambda: _status(request.pk) == RecomputeStatus.DONE, RECOVERY_SECONDS), (
        RecomputeRequest.objects.values().get(pk=request.pk),
        worker.log_tail(),
    )
    assert _derived_2023() == Decimal(6260000)
    assert worker.alive() and beat.alive()


def test_a_release_due_while_the_broker_is_down_is_published_once_it_returns(
    growth_definition, processes, on_private_redis, make_user
):
    from publications.models import ROLE_DATA_ENTRY, ROLE_REVIEWER

    clerk, reviewer = make_user("entri", ROLE_DATA_ENTRY), make_user("peninjau", ROLE_REVIEWER)
    worker = processes("worker", pool="prefork", concurrency=2)
    beat = processes("beat")
    release = _draft_2023("2023")
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)

    on_private_redis.kill()
    when = timezone.now() + dt.timedelta(seconds=3)
    # The task for the release time cannot be queued: the schedule stands all the same.
    release_schedule(release=release, user=reviewer, scheduled_for=when)
    time.sleep(max((when - timezone.now()).total_seconds(), 0) + 3)
    release.refresh_from_db()
    assert release.status == ReleaseStatus.SCHEDULED  # nothing could run it
    assert _derived_2023() is None  # nor show its derived value

    on_private_redis.start()
    back = time.monotonic()

    def published() -> bool:
        release.refresh_from_db()
        return release.status == ReleaseStatus.PUBLISHED

    assert _wait(published, RECOVERY_SECONDS), worker.log_tail() + beat.log_tail()
    assert time.monotonic() - back < RECOVERY_SECONDS
    assert release.published_at >= when
    # Its derived value is public with it, and the confirmation that follows publication
    # is done.
    assert _derived_2023() == Decimal(6260000)
    request = RecomputeRequest.objects.get(release=release)
    assert _wait(lambda: _status(request.pk) == RecomputeStatus.DONE, RECOVERY_SECONDS)
    assert worker.alive() and beat.alive()


def test_a_release_is_published_at_its_time_while_the_general_worker_is_busy_with_a_long_task(
    growth_definition, processes, make_user
):
    from publications.models import ROLE_DATA_ENTRY, ROLE_REVIEWER

    clerk, reviewer = make_user("entri", ROLE_DATA_ENTRY), make_user("peninjau", ROLE_REVIEWER)
    # The recipe of deploy/: the general worker (one pool slot here, as in
    # bench-release-day) and the publishing worker on its own queue.
    general = processes("worker", pool="prefork", concurrency=1, queues="celery")
    publisher = processes(
        "worker", pool="prefork", concurrency=1, queues=settings.ANGKA_PUBLISH_QUEUE
    )
    release = _draft_2023("2023")
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)

    # The long task: a rebuild of the bulk download, held at its first read of the
    # open-data settings (which publishing never reads) for as long as the test wants.
    with table_locked(OpenDataSettings._meta.db_table, "ACCESS EXCLUSIVE"):
        current_app.tasks[BULK_TASK].apply_async()
        assert _wait(_someone_waits_on_a_lock, 30), general.log_tail()
        when = timezone.now() + dt.timedelta(seconds=3)
        release_schedule(release=release, user=reviewer, scheduled_for=when)

        def published() -> bool:
            release.refresh_from_db()
            return release.status == ReleaseStatus.PUBLISHED

        # On one worker whose only slot is taken, the release would wait for the lock.
        assert _wait(published, 30), publisher.log_tail() + general.log_tail()
        # ... while the long task still runs on the general worker: it waits on the lock,
        # and no bulk download has been built.
        assert _someone_waits_on_a_lock()
        assert not BulkDownload.objects.exists()
    assert release.published_at >= when
    assert _wait(BulkDownload.objects.exists, 60), general.log_tail()  # then it ends


def test_a_recompute_whose_worker_is_killed_in_the_middle_is_finished_by_the_next(
    growth_definition, processes
):
    request = _publish_without_worker("2023")
    processes("beat")
    with observations_locked():
        # A solo worker runs the task in its own process: SIGKILL ends the task with it.
        # Busy inside a task, it answers no ping: the database shows where it is.
        first = processes("worker", wait_until_ready=False)
        _wait_until_blocked_inside(request, first)
        first.kill()
    # The database ends the dead worker's session (and frees what it held) once the
    # statement it waited on is done; its transaction never commits.
    time.sleep(1)
    state = RecomputeRequest.objects.get(pk=request.pk)
    assert state.status == RecomputeStatus.RUNNING and state.attempts == 1
    assert _derived_2023() is None

    processes("worker")
    assert _wait(lambda: _status(request.pk) == RecomputeStatus.DONE, RECOVERY_SECONDS)
    assert _derived_2023() == Decimal(6260000)
    assert RecomputeRequest.objects.get(pk=request.pk).attempts == 2
