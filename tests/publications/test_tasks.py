"""Publication on time: the task set for the release time, the beat job, a real worker."""

import datetime as dt
import time
from unittest import mock

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection
from django.utils import timezone

from config.celery import app
from publications import tasks
from publications.choices import ReleaseStatus
from publications.models import AuditAction, AuditEntry, Release
from publications.selectors import news_public
from publications.services import release_approve, release_schedule, release_submit
from stats.events import bump_after_commit
from stats.models import Observation
from tests.publications.conftest import in_future
from tests.publications.factories import NewsReleaseFactory


def schedule(release, clerk, reviewer, *, when):
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)
    return release_schedule(release=release, user=reviewer, scheduled_for=when)


@pytest.fixture
def embargoed(draft, clerk, reviewer):
    with mock.patch.object(tasks.release_publish_scheduled, "apply_async"):
        return schedule(draft, clerk, reviewer, when=in_future(30))


def time_passes(release):
    Release.objects.filter(pk=release.pk).update(
        scheduled_for=timezone.now() - dt.timedelta(seconds=1)
    )


@pytest.fixture
def no_lock():
    cache.delete(tasks.PUBLISH_DUE_LOCK)
    yield
    cache.delete(tasks.PUBLISH_DUE_LOCK)


def test_the_scheduled_task_does_nothing_before_the_release_time(embargoed):
    assert tasks.release_publish_scheduled.apply(args=[embargoed.pk]).get() == "not due"
    embargoed.refresh_from_db()
    assert embargoed.status == ReleaseStatus.SCHEDULED


def test_the_scheduled_task_publishes_when_the_time_has_come(embargoed):
    time_passes(embargoed)
    assert tasks.release_publish_scheduled.apply(args=[embargoed.pk]).get() == "published"
    embargoed.refresh_from_db()
    assert embargoed.status == ReleaseStatus.PUBLISHED
    entry = AuditEntry.objects.get(release=embargoed, action=AuditAction.PUBLISHED)
    assert (entry.actor, entry.reason) == (None, "release time reached")


def test_the_scheduled_task_of_a_release_moved_later_does_nothing(embargoed, reviewer):
    with mock.patch.object(tasks.release_publish_scheduled, "apply_async"):
        release_schedule(release=embargoed, user=reviewer, scheduled_for=in_future(90))
    assert tasks.release_publish_scheduled.apply(args=[embargoed.pk]).get() == "not due"


def test_the_scheduled_task_of_a_deleted_release_does_nothing(db):
    assert tasks.release_publish_scheduled.apply(args=[987654]).get() == "not due"


def test_the_beat_job_publishes_a_release_whose_task_was_lost(
    draft, clerk, reviewer, no_lock, django_capture_on_commit_callbacks
):
    # The callback that would queue the task is captured and never run: the task is lost.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        schedule(draft, clerk, reviewer, when=in_future(30))
    assert len([c for c in callbacks if c is not bump_after_commit]) == 1  # the task's
    time_passes(draft)
    assert tasks.releases_publish_due.apply().get() == "published 1"
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.PUBLISHED
    assert Observation.objects.filter(release=draft, valid_from=draft.published_at).count() == 1


def test_the_beat_job_and_the_task_together_publish_once(embargoed, no_lock):
    time_passes(embargoed)
    assert tasks.releases_publish_due.apply().get() == "published 1"
    # The task queued for the release time arrives late: it finds nothing to do.
    assert tasks.release_publish_scheduled.apply(args=[embargoed.pk]).get() == "not due"
    assert AuditEntry.objects.filter(release=embargoed, action=AuditAction.PUBLISHED).count() == 1
    assert Observation.objects.published().count() == 1


def test_the_beat_job_waits_while_another_run_holds_the_lock(embargoed, no_lock):
    time_passes(embargoed)
    cache.add(tasks.PUBLISH_DUE_LOCK, "other-run", timeout=30)
    assert tasks.releases_publish_due.apply().get() == "locked"
    embargoed.refresh_from_db()
    assert embargoed.status == ReleaseStatus.SCHEDULED
    cache.delete(tasks.PUBLISH_DUE_LOCK)
    assert tasks.releases_publish_due.apply().get() == "published 1"


def test_the_beat_job_releases_its_lock(embargoed, no_lock):
    tasks.releases_publish_due.apply().get()
    assert cache.get(tasks.PUBLISH_DUE_LOCK) is None


def test_a_transient_database_error_is_retried(embargoed):
    time_passes(embargoed)
    real = tasks.services.release_publish_if_due
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    with mock.patch.object(tasks.services, "release_publish_if_due", side_effect=flaky):
        # throw=False: run the retry eagerly, as a worker would after the backoff.
        result = tasks.release_publish_scheduled.apply(args=[embargoed.pk], throw=False)
    assert len(calls) == 2
    assert result.get() == "published"
    embargoed.refresh_from_db()
    assert embargoed.status == ReleaseStatus.PUBLISHED


def test_any_other_error_is_not_retried(embargoed):
    with mock.patch.object(
        tasks.services, "release_publish_if_due", side_effect=ValueError("bug")
    ) as publish:
        result = tasks.release_publish_scheduled.apply(args=[embargoed.pk], throw=False)
    assert publish.call_count == 1
    assert isinstance(result.result, ValueError)


def test_the_tasks_ack_late_and_have_time_limits():
    for task in (tasks.release_publish_scheduled, tasks.releases_publish_due):
        assert task.acks_late is True
        assert 0 < task.soft_time_limit < task.time_limit
        assert OperationalError in task.autoretry_for
    # The beat job must end before the next one starts.
    assert tasks.releases_publish_due.time_limit < 60


def test_the_beat_schedule_publishes_due_releases_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["publish-due-releases"]
    assert entry["task"] == tasks.releases_publish_due.name
    assert entry["schedule"] == 60.0
    assert entry["task"] in app.tasks


# --- a real worker on Redis -------------------------------------------------------------


@pytest.fixture
def worker():
    """Celery's test worker in a thread, on the Redis broker of REDIS_URL."""
    assert not app.conf.task_always_eager, "a real worker needs tasks sent to the broker"
    app.control.purge()  # leftovers of earlier runs name releases that do not exist

    def close_connection(**kwargs):
        connection.close()  # the worker thread's own connection, before the test DB goes

    task_postrun.connect(close_connection, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        task_postrun.disconnect(close_connection)


def wait_for(predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_publishes_a_scheduled_release_at_its_time(draft, clerk, reviewer, worker):
    NewsReleaseFactory(release=draft, slug="siaran-tepat-waktu")
    when = timezone.now() + dt.timedelta(seconds=3)
    schedule(draft, clerk, reviewer, when=when)  # committed: the task goes to Redis with eta

    time.sleep(1)
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.SCHEDULED  # not before its time
    assert not news_public().exists()

    def published():
        draft.refresh_from_db()
        return draft.status == ReleaseStatus.PUBLISHED

    assert wait_for(published), "the worker did not publish the release"
    assert draft.published_at >= when
    assert draft.published_at - when < dt.timedelta(seconds=20)
    assert [n.slug for n in news_public()] == ["siaran-tepat-waktu"]
    assert Observation.objects.current().filter(release=draft).count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_beat_job_for_a_lost_task(draft, clerk, reviewer, worker, no_lock):
    with mock.patch.object(tasks.release_publish_scheduled, "apply_async"):  # lost
        schedule(draft, clerk, reviewer, when=in_future(30))
    time_passes(draft)
    tasks.releases_publish_due.delay()

    def published():
        draft.refresh_from_db()
        return draft.status == ReleaseStatus.PUBLISHED

    assert wait_for(published), "the beat job did not publish the release"
