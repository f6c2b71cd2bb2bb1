"""Derived values survive a broker outage and a killed worker: the outbox and the sweeper.

These tests run a real Celery worker as a subprocess on the Redis of REDIS_URL, against
the test database (committed data: transactional tests).
"""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from config.celery import app
from config.dbrole import database_owner
from publications.derived import recompute_requests_sweep
from publications.models import RecomputeRequest
from publications.services import release_create, release_publish
from stats.models import Observation
from tests.processes import Worker, broker_at
from tests.stats.helpers import import_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_factory():
    app.control.purge()
    workers = []

    def start(**options):
        workers.append(Worker(**options))
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()


def _publish_without_precompute(slug: str, value: str):
    """Publish a 2023 value with no precompute: the derived value must come from the
    recompute task that the publication enqueues."""
    release = release_create(slug=slug, title_id=slug, title_en=slug)
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", value)])
    return release_publish(release=release)


def broker_down():
    """Make the broker unreachable for this process's producers (nothing listens there)."""
    return broker_at("redis://127.0.0.1:1/0")


def _someone_waits_on_a_lock() -> bool:
    # What other sessions wait for is shown to their own login (the owner), not to the
    # application role (config/dbrole.py).
    with database_owner(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _wait(predicate, seconds=90.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _derived_2023():
    row = (
        Observation.objects.current()
        .filter(series__indicator__code="PARTICIPANT_CHANGE", period="2023")
        .first()
    )
    return row.value if row else None


def test_publishing_enqueues_a_recompute_that_a_real_worker_finishes(
    growth_definition, worker_factory
):
    worker = worker_factory()
    release = _publish_without_precompute("2023", "41560000")
    request = RecomputeRequest.objects.get(release=release)
    done = _wait(lambda: RecomputeRequest.objects.get(pk=request.pk).status == "done")
    assert done, (RecomputeRequest.objects.values().get(pk=request.pk), worker.log_tail())
    assert _derived_2023() == Decimal(6260000)


def test_a_broker_outage_at_publication_only_delays_the_derived_values(
    growth_definition, worker_factory
):
    with broker_down():
        release = _publish_without_precompute("2023", "41560000")
    request = RecomputeRequest.objects.get(release=release)
    assert request.status == "pending"  # the publication committed; the work is recorded
    worker_factory()
    assert request.pk in recompute_requests_sweep(older_than=dt.timedelta(0))
    assert _wait(lambda: RecomputeRequest.objects.get(pk=request.pk).status == "done")
    assert _derived_2023() == Decimal(6260000)


def test_a_worker_killed_mid_task_loses_no_recompute(growth_definition, worker_factory):
    # The publication enqueues the recompute while no worker runs. A thread then holds a
    # lock on the outbox row, so the worker that takes the task blocks inside it; the
    # worker is killed there, mid-task, and a new one must still finish the work.
    release = _publish_without_precompute("2023", "41560000")
    request = RecomputeRequest.objects.get(release=release)
    locked, unlock = threading.Event(), threading.Event()

    def hold_lock():
        from django.db import connections

        with transaction.atomic():
            RecomputeRequest.objects.select_for_update().get(pk=request.pk)
            locked.set()
            unlock.wait(60)
        connections.close_all()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(10)
    # A solo worker busy with a task answers no ping: watch the database instead.
    first = worker_factory(wait_until_ready=False)
    assert _wait(_someone_waits_on_a_lock), "the worker never reached the locked row"
    first.kill()
    unlock.set()
    holder.join()
    time.sleep(1)
    # Killed inside the task: the claim may or may not have reached the database (the
    # server finishes a statement whose client died), but the work was not done.
    state = RecomputeRequest.objects.get(pk=request.pk)
    assert state.status in ("pending", "running")
    assert _derived_2023() is None
    # Time passes beyond the sweeper's staleness limit.
    RecomputeRequest.objects.filter(pk=request.pk).update(
        created_at=state.created_at - dt.timedelta(minutes=10),
        started_at=state.started_at and state.started_at - dt.timedelta(minutes=10),
    )
    worker_factory()
    assert request.pk in recompute_requests_sweep()
    assert _wait(lambda: RecomputeRequest.objects.get(pk=request.pk).status == "done")
    assert _derived_2023() == Decimal(6260000)
