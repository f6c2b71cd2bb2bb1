"""Varnish in front (deploy/varnish/angka.vcl): a publication shows through the cache at
once, nothing under embargo is ever cached, concurrent misses make one origin request, a
lost purge is bounded by max-age, and the admin and visitors with cookies are never
served from the cache."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from celery import current_app
from django.utils import timezone

from publications.services import (
    release_approve,
    release_create,
    release_publish,
    release_schedule,
    release_submit,
    releases_publish_due,
)
from stats.httpcache import PURGE_TASK
from stats.tasks import http_cache_purge
from tests.stats.helpers import import_rows

from .conftest import VCL, needs_varnish, vcl_compile

pytestmark = [needs_varnish, pytest.mark.slow]

NEW_VALUE = "45200000"
ROW_2024 = ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", NEW_VALUE)
API = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=ID"
# What a visitor and a journalist ask for on release day, and the text of the new value
# in each.
WATCHED = {
    API: NEW_VALUE,
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&format=csv": NEW_VALUE,
    "/id/indikator/ACTIVE_PARTICIPANTS/": "45.200.000",
    "/en/indikator/ACTIVE_PARTICIPANTS/": "45,200,000",
}


def _release_2024(**options):
    release = release_create(slug="rilis-2024", title_id="Rilis 2024", title_en="2024", **options)
    import_rows(release, [ROW_2024])
    return release


def _poll_until_current(varnish, paths: dict[str, str], *, limit: float) -> dict[str, float]:
    """Seconds until each path's answer through the cache shows its new text."""
    started = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < len(paths) and time.monotonic() - started < limit:
        for path, text in paths.items():
            if path not in seen and text in varnish.get(path).body:
                seen[path] = time.monotonic() - started
        time.sleep(0.05)
    return seen


def test_the_shipped_vcl_compiles():
    compiled = vcl_compile(VCL)
    assert compiled.returncode == 0, compiled.stderr


@pytest.mark.django_db(transaction=True)
def test_public_answers_are_cached_and_tagged_for_the_purge(published, varnish, origin):
    for path in WATCHED:
        before = origin.requests_for(path)
        first, second = varnish.get(path), varnish.get(path)
        assert (first.status, second.status) == (200, 200)
        assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit"), path
        assert second.body == first.body
        # The keys are for the cache, not for the visitor.
        assert "surrogate-key" not in second.headers and "xkey" not in second.headers
        assert origin.requests_for(path) == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_browser_revalidates_with_the_cache_which_answers_304_from_its_copy(
    published, varnish, origin
):
    for path in WATCHED:
        first = varnish.get(path)
        # Kept by Varnish (s-maxage), not by the browser (max-age=0): after a release the
        # purge reaches every copy a visitor can be shown.
        control = first.headers["cache-control"]
        assert re.fullmatch(r"public, max-age=0, s-maxage=\d+", control), control
        before = origin.requests_for(path)
        again = varnish.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status == 304, path
        assert again.headers["x-cache"] == "hit"
        assert origin.requests_for(path) == before


@pytest.mark.django_db(transaction=True)
def test_a_published_release_is_visible_through_the_cache_within_two_seconds(published, varnish):
    for path, text in WATCHED.items():
        varnish.get(path)
        cached = varnish.get(path)
        assert cached.headers["x-cache"] == "hit"
        assert text not in cached.body
    release_publish(release=_release_2024())
    seen = _poll_until_current(varnish, WATCHED, limit=5)
    assert set(seen) == set(WATCHED)
    assert max(seen.values()) < 2, seen


@pytest.mark.django_db(transaction=True)
def test_nothing_of_a_scheduled_release_is_ever_cached(published, varnish, clerk, reviewer):
    release = _release_2024(user=clerk)
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)
    instant = timezone.now() + dt.timedelta(seconds=3)
    release_schedule(release=release, user=reviewer, scheduled_for=instant)
    before = []
    while timezone.now() < instant - dt.timedelta(milliseconds=300):
        for path in WATCHED:
            before.append((path, timezone.now(), varnish.get(path)))
        time.sleep(0.1)
    time.sleep(max(0.0, (instant - timezone.now()).total_seconds()) + 0.1)
    assert [r.slug for r in releases_publish_due()] == ["rilis-2024"]
    seen = _poll_until_current(varnish, WATCHED, limit=5)
    assert set(seen) == set(WATCHED)
    assert max(seen.values()) < 2, seen
    assert {answer.headers["x-cache"] for _path, _at, answer in before} >= {"hit"}
    for path, at, answer in before:
        assert answer.status == 200
        assert WATCHED[path] not in answer.body, path
        # No cache may keep it past the release's instant (a browser keeps it not at all).
        control = answer.headers["cache-control"]
        assert re.search(r"(^|[ ,])max-age=0([ ,]|$)", control), control
        shared = int(re.search(r"s-maxage=(\d+)", control).group(1))
        assert shared - int(answer.headers["age"]) <= (instant - at).total_seconds() + 1


def _concurrently(varnish, path: str, clients: int) -> list:
    barrier = threading.Barrier(clients)
    answers = []

    def fetch():
        barrier.wait()
        answers.append(varnish.get(path))

    threads = [threading.Thread(target=fetch) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.django_db(transaction=True)
def test_concurrent_misses_for_one_url_make_one_origin_request(published, varnish, origin):
    path = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&period_start=2022"
    before = origin.requests_for(path)
    answers = _concurrently(varnish, path, 24)
    assert [answer.status for answer in answers] == [200] * 24
    assert len({answer.body for answer in answers}) == 1
    assert origin.requests_for(path) == before + 1
    # The release-day case: right after the purge of a publication.
    release_publish(release=_release_2024())
    answers = _concurrently(varnish, path, 24)
    assert all(NEW_VALUE in answer.body for answer in answers)
    assert origin.requests_for(path) == before + 2


@pytest.mark.django_db(transaction=True)
def test_a_purge_is_not_lost_when_varnish_restarts(published, varnish, monkeypatch, caplog):
    varnish.get(API)
    assert varnish.get(API).headers["x-cache"] == "hit"
    varnish.stop()
    queued = []
    monkeypatch.setattr(
        current_app.tasks[PURGE_TASK],
        "apply_async",
        lambda args, countdown: queued.append((args, countdown)),
    )
    release_publish(release=_release_2024())  # the purge fails: Varnish is down
    # Each purge (the draft's creation, the publication) is logged and handed to a worker.
    assert {(url, countdown) for (url, _keys), countdown in queued} == {(varnish.purge_url, 1)}
    url, keys = queued[-1][0]
    assert "indicator:ACTIVE_PARTICIPANTS" in keys
    assert "HTTP cache purge of" in caplog.text
    varnish.start()
    assert NEW_VALUE in varnish.get(API).body
    # The retry finds the cache back and succeeds (a failure would raise, to be retried).
    http_cache_purge.run(url, keys)


@pytest.mark.django_db(transaction=True)
def test_a_lost_purge_leaves_an_answer_behind_by_at_most_max_age_and_grace(
    published, varnish, settings
):
    varnish.get(API)
    cached = varnish.get(API)
    max_age = int(re.search(r"s-maxage=(\d+)", cached.headers["cache-control"]).group(1))
    settings.HTTP_CACHE_PURGE_URLS = []  # the purge is lost
    release_publish(release=_release_2024())
    published_at = time.monotonic()
    assert NEW_VALUE not in varnish.get(API).body  # the cache kept it, as it may
    seen = _poll_until_current(varnish, {API: NEW_VALUE}, limit=max_age + 15)
    # max-age, then the grace of 10 s while the origin is healthy (the VCL).
    assert seen and time.monotonic() - published_at <= max_age + 10 + 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", [API, "/id/"])
def test_an_expired_answer_is_revalidated_with_its_etag(published, varnish, origin, path):
    before = origin.statuses_for(path)
    first = varnish.get(path)
    max_age = int(re.search(r"s-maxage=(\d+)", first.headers["cache-control"]).group(1))
    time.sleep(max_age + 1)
    again = varnish.get(path)  # stale within the grace; refetched in the background
    assert again.body == first.body
    # Nothing was published: the origin confirmed the copy (304), it did not resend it.
    assert origin.statuses_for(path)[len(before) :] == [200, 304]


@pytest.mark.django_db(transaction=True)
def test_the_admin_and_visitors_with_a_session_or_csrf_cookie_are_never_cached(
    published, varnish, origin
):
    cases = [
        ("/admin/login/", {}),
        ("/id/", {"Cookie": "sessionid=abc"}),
        ("/id/kalender/", {"Cookie": "_ga=1; csrftoken=abc"}),
        (API, {"Authorization": "Token abc"}),
        ("/healthz", {}),
    ]
    for path, headers in cases:
        before = origin.requests_for(path)
        answers = [varnish.get(path, headers=headers) for _ in range(3)]
        assert {answer.headers["x-cache"] for answer in answers} == {"pass"}, path
        assert origin.requests_for(path) == before + 3, path
    # What a visitor with a session got was not stored for the others.
    assert varnish.get("/id/").headers["x-cache"] == "miss"
    assert varnish.get("/id/", method="POST").headers["x-cache"] == "pass"


@pytest.mark.django_db(transaction=True)
def test_campaign_parameters_are_dropped_from_pages_only(published, varnish, origin):
    page = "/id/indikator/ACTIVE_PARTICIPANTS/"
    assert varnish.get(page).headers["x-cache"] == "miss"
    assert varnish.get(page + "?utm_source=koran&fbclid=x").headers["x-cache"] == "hit"
    # The API refuses an unknown parameter: the origin still says so.
    assert varnish.get(API + "&utm_source=koran").status == 400
