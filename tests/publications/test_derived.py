"""The recompute outbox: claims, failures retried with backoff, the sweeper, the admin."""

import datetime as dt
import threading
from unittest import mock

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from publications import derived
from publications.choices import RecomputeStatus
from publications.derived import (
    RETRY_FIRST,
    RETRY_MAX,
    recompute_request_run,
    recompute_requests_retry_now,
    recompute_requests_sweep,
    recompute_retry_delay,
)
from publications.models import RecomputeRequest
from publications.services import release_create
from tests.publications.conftest import PASSWORD


@pytest.fixture
def request_row(db):
    release = release_create(slug="rilis", title_id="Rilis", title_en="Release")
    return RecomputeRequest.objects.create(release=release)


@pytest.fixture
def enqueued():
    with mock.patch.object(derived, "recompute_request_enqueue") as enqueue:
        yield enqueue


def _age(request, **delta):
    RecomputeRequest.objects.filter(pk=request.pk).update(
        created_at=timezone.now() - dt.timedelta(**delta)
    )


def _fail(request, *, attempts=1, next_attempt_in=dt.timedelta(minutes=5)):
    RecomputeRequest.objects.filter(pk=request.pk).update(
        status=RecomputeStatus.FAILED,
        attempts=attempts,
        error="ValueError('boom')",
        next_attempt_at=timezone.now() + next_attempt_in,
    )


# --- backoff -------------------------------------------------------------------------------


def test_the_wait_doubles_after_each_failure_from_one_minute():
    assert [recompute_retry_delay(attempts=n) for n in (1, 2, 3, 4)] == [
        RETRY_FIRST,
        RETRY_FIRST * 2,
        RETRY_FIRST * 4,
        RETRY_FIRST * 8,
    ]


def test_the_wait_is_capped_however_many_failures():
    assert recompute_retry_delay(attempts=7) == RETRY_MAX
    assert recompute_retry_delay(attempts=10_000) == RETRY_MAX


# --- a run ---------------------------------------------------------------------------------


def test_a_failed_run_records_the_error_and_its_next_attempt(request_row):
    before = timezone.now()
    with (
        mock.patch.object(derived, "derived_confirm", side_effect=ValueError("boom")),
        pytest.raises(ValueError),
    ):
        recompute_request_run(request_id=request_row.pk)
    request_row.refresh_from_db()
    assert request_row.status == RecomputeStatus.FAILED
    assert request_row.attempts == 1
    assert "boom" in request_row.error
    assert before + RETRY_FIRST <= request_row.next_attempt_at <= timezone.now() + RETRY_FIRST


def test_the_second_failure_waits_twice_as_long(request_row):
    _fail(request_row, attempts=1, next_attempt_in=-dt.timedelta(seconds=1))
    with (
        mock.patch.object(derived, "derived_confirm", side_effect=ValueError("again")),
        pytest.raises(ValueError),
    ):
        recompute_request_run(request_id=request_row.pk)
    request_row.refresh_from_db()
    assert request_row.attempts == 2
    assert request_row.next_attempt_at - request_row.finished_at == RETRY_FIRST * 2


def test_a_failed_request_is_not_run_before_its_next_attempt(request_row):
    _fail(request_row)
    with mock.patch.object(derived, "derived_confirm") as confirm:
        assert recompute_request_run(request_id=request_row.pk) is None
    confirm.assert_not_called()
    assert RecomputeRequest.objects.get(pk=request_row.pk).attempts == 1


def test_a_due_failed_request_runs_and_is_done(request_row):
    _fail(request_row, next_attempt_in=-dt.timedelta(seconds=1))
    done = recompute_request_run(request_id=request_row.pk)
    assert done is not None
    assert done.status == RecomputeStatus.DONE
    assert done.attempts == 2
    assert done.error == "" and done.next_attempt_at is None


def test_a_transient_error_puts_the_request_back_to_pending(request_row):
    with (
        mock.patch.object(derived, "derived_confirm", side_effect=ConnectionError("cache")),
        pytest.raises(ConnectionError),
    ):
        recompute_request_run(request_id=request_row.pk)
    request_row.refresh_from_db()
    assert request_row.status == RecomputeStatus.PENDING
    assert request_row.next_attempt_at is None


@pytest.mark.django_db(transaction=True)
def test_a_request_another_session_runs_is_left_to_it(request_row):
    # Another worker holds the request's lock: it runs it, even if marked running long ago.
    RecomputeRequest.objects.filter(pk=request_row.pk).update(status=RecomputeStatus.RUNNING)
    held, done = threading.Event(), threading.Event()

    def other_worker():
        with derived._running_lock(request_row.pk) as got:
            assert got
            held.set()
            done.wait(10)
        connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        with mock.patch.object(derived, "derived_confirm") as confirm:
            assert recompute_request_run(request_id=request_row.pk) is None
            confirm.assert_not_called()
        with mock.patch.object(derived, "recompute_request_enqueue"):
            assert request_row.pk not in recompute_requests_sweep()
    finally:
        done.set()
        thread.join()


# --- the sweeper ---------------------------------------------------------------------------


def test_the_sweeper_enqueues_a_pending_request_whose_message_may_be_lost(request_row, enqueued):
    assert recompute_requests_sweep() == []  # just created: its message is on its way
    _age(request_row, minutes=2)
    assert recompute_requests_sweep() == [request_row.pk]
    enqueued.assert_called_once_with(request_id=request_row.pk)


def test_the_sweeper_enqueues_a_running_request_whose_worker_died(request_row, enqueued):
    # Marked running a moment ago, but no session holds its lock: its worker is gone.
    RecomputeRequest.objects.filter(pk=request_row.pk).update(
        status=RecomputeStatus.RUNNING, started_at=timezone.now()
    )
    assert recompute_requests_sweep() == [request_row.pk]


def test_the_sweeper_retries_a_failed_request_only_when_due(request_row, enqueued):
    _fail(request_row)
    assert recompute_requests_sweep() == []
    RecomputeRequest.objects.filter(pk=request_row.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert recompute_requests_sweep() == [request_row.pk]


def test_the_sweeper_retries_a_request_failed_before_backoff_existed(request_row, enqueued):
    _fail(request_row)
    RecomputeRequest.objects.filter(pk=request_row.pk).update(next_attempt_at=None)
    assert recompute_requests_sweep() == [request_row.pk]


def test_the_sweeper_leaves_done_requests(request_row, enqueued):
    _age(request_row, hours=1)
    RecomputeRequest.objects.filter(pk=request_row.pk).update(status=RecomputeStatus.DONE)
    assert recompute_requests_sweep() == []
    enqueued.assert_not_called()


def test_retry_now_makes_only_failed_requests_due_and_enqueues_them(request_row, enqueued):
    other = RecomputeRequest.objects.create(release=request_row.release)
    _fail(request_row)
    assert recompute_requests_retry_now(request_ids=[request_row.pk, other.pk]) == [request_row.pk]
    request_row.refresh_from_db()
    assert request_row.next_attempt_at <= timezone.now()
    assert RecomputeRequest.objects.get(pk=other.pk).status == RecomputeStatus.PENDING
    enqueued.assert_called_once_with(request_id=request_row.pk)


# --- the admin -----------------------------------------------------------------------------


def test_the_admin_lists_failed_recomputes_with_attempts_error_and_next_attempt(
    client, request_row, superuser
):
    _fail(request_row, attempts=3)
    client.login(username=superuser.username, password=PASSWORD)
    response = client.get(
        reverse("admin:publications_recomputerequest_changelist"), {"status__exact": "failed"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "ValueError(&#x27;boom&#x27;)" in page
    assert str(request_row.release) in page
    assert 'class="field-attempts">3<' in page
    assert "field-next_attempt_at" in page


def test_a_reviewer_retries_a_failed_recompute_now_from_the_admin(
    client, request_row, reviewer, enqueued
):
    _fail(request_row)
    client.login(username=reviewer.username, password=PASSWORD)
    response = client.post(
        reverse("admin:publications_recomputerequest_changelist"),
        {"action": "retry_now", "_selected_action": [request_row.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 failed recompute queued again." in response.content.decode()
    enqueued.assert_called_once_with(request_id=request_row.pk)


def test_data_entry_staff_are_not_offered_the_retry(client, request_row, clerk, enqueued):
    _fail(request_row)
    client.login(username=clerk.username, password=PASSWORD)
    response = client.post(
        reverse("admin:publications_recomputerequest_changelist"),
        {"action": "retry_now", "_selected_action": [request_row.pk]},
    )
    assert response.status_code in (302, 403)
    enqueued.assert_not_called()
