"""Varnish in front (deploy/varnish/angka.vcl): a publication shows through the cache at
once, nothing under embargo is ever cached, concurrent misses make one origin request, a
lost purge is bounded by max-age, the admin and visitors with cookies are never served
from the cache, and text answers are gzipped for the clients that accept it."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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

from .conftest import VCL, Origin, Varnish, needs_varnish, vcl_compile

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
# What a browser sends.
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


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
        # The keys and the lifetime of the purged cache are for it, not for the visitor.
        assert not {"surrogate-key", "xkey", "surrogate-control"} & set(second.headers)
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


@pytest.mark.django_db(transaction=True)
def test_at_a_release_instant_the_cache_serves_the_figures_of_before_until_the_purge(
    published, varnish, origin, clerk, reviewer
):
    # Between the scheduled instant and the publication's commit the figures of before
    # are still the public ones: the cache keeps serving them (Surrogate-Control), so
    # that the clients of release day do not all go to the origin just then.
    release = _release_2024(user=clerk)
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)
    # Soon: every answer is kept for MAX_AGE (4 s) from here, the instant included.
    instant = timezone.now() + dt.timedelta(seconds=2)
    release_schedule(release=release, user=reviewer, scheduled_for=instant)
    for path in WATCHED:
        varnish.get(path)
        cached = varnish.get(path)
        assert cached.headers["x-cache"] == "hit", path
        # Other shared caches (not purged by the origin) still end it at the instant.
        shared = int(re.search(r"s-maxage=(\d+)", cached.headers["cache-control"]).group(1))
        assert shared <= 3
    requested = origin.requests_for_each(WATCHED)
    time.sleep(max(0.0, (instant - timezone.now()).total_seconds()) + 0.5)
    for path, text in WATCHED.items():
        answer = varnish.get(path)
        assert answer.headers["x-cache"] == "hit", path
        assert text not in answer.body, path
    assert origin.requests_for_each(WATCHED) == requested
    assert [r.slug for r in releases_publish_due()] == ["rilis-2024"]
    seen = _poll_until_current(varnish, WATCHED, limit=5)
    assert set(seen) == set(WATCHED)
    assert max(seen.values()) < 2, seen


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


@pytest.mark.django_db(transaction=True)
def test_text_answers_are_gzipped_for_clients_that_accept_it_and_plain_for_the_others(
    published, varnish, origin
):
    for path in WATCHED:
        before = origin.requests_for(path)
        zipped = varnish.get(path, headers=GZIP)
        plain = varnish.get(path)
        assert (zipped.status, plain.status) == (200, 200)
        assert zipped.headers.get("content-encoding") == "gzip", path
        assert "content-encoding" not in plain.headers, path
        assert gzip.decompress(zipped.raw).decode("utf-8") == plain.body
        assert len(zipped.raw) < len(plain.raw), path
        assert "accept-encoding" in zipped.headers["vary"].lower()
        # Varnish compressed it: the origin's ETag, weakened, for both.
        assert zipped.headers["etag"].startswith('W/"'), path
        assert plain.headers["etag"] == zipped.headers["etag"]
        assert origin.requests_for(path) == before + 1, path
    # A client that does not accept gzip names it in vain.
    refused = varnish.get(API, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers


@pytest.mark.django_db(transaction=True)
def test_a_gzipped_answer_is_revalidated_with_its_etag(published, varnish):
    for path in WATCHED:
        etag = varnish.get(path, headers=GZIP).headers["etag"]
        # The weak ETag the client got, or the origin's strong one it had before: If-None-Match
        # compares weakly, for a gzip client and a plain one.
        for headers in (
            {**GZIP, "If-None-Match": etag},
            {"If-None-Match": etag},
            {**GZIP, "If-None-Match": etag.removeprefix("W/")},
        ):
            answer = varnish.get(path, headers=headers)
            assert (answer.status, answer.raw) == (304, b""), (path, headers)
        assert varnish.get(path, headers={**GZIP, "If-None-Match": '"other"'}).status == 200


@pytest.mark.django_db(transaction=True)
def test_an_expired_gzipped_answer_is_revalidated_with_the_origin(published, varnish, origin):
    before = origin.statuses_for(API)
    first = varnish.get(API, headers=GZIP)
    max_age = int(re.search(r"s-maxage=(\d+)", first.headers["cache-control"]).group(1))
    time.sleep(max_age + 1)
    varnish.get(API, headers=GZIP)  # stale within the grace; refetched in the background
    # The weak ETag went to the origin, which confirmed the copy (304).
    assert origin.statuses_for(API)[len(before) :] == [200, 304]
    again = varnish.get(API, headers=GZIP)
    assert again.headers["x-cache"] == "hit"
    assert again.headers.get("content-encoding") == "gzip"
    assert again.text == first.text
    assert again.headers["etag"] == first.headers["etag"]
    assert varnish.get(API).body == first.text
    assert varnish.get(API, headers={"If-None-Match": first.headers["etag"]}).status == 304


@pytest.mark.django_db(transaction=True)
def test_a_publication_purges_the_gzipped_and_the_plain_answers(published, varnish):
    for path, text in WATCHED.items():
        for headers in (GZIP, {}):
            varnish.get(path, headers=headers)
            cached = varnish.get(path, headers=headers)
            assert cached.headers["x-cache"] == "hit"
            assert text not in cached.text
    release_publish(release=_release_2024())
    started = time.monotonic()
    waiting = {(path, kind) for path in WATCHED for kind in ("gzip", "plain")}
    seen: dict[tuple[str, str], float] = {}
    while waiting - set(seen) and time.monotonic() - started < 5:
        for path, kind in waiting - set(seen):
            answer = varnish.get(path, headers=GZIP if kind == "gzip" else {})
            assert (answer.headers.get("content-encoding") == "gzip") == (kind == "gzip")
            if WATCHED[path] in answer.text:
                seen[path, kind] = time.monotonic() - started
        time.sleep(0.05)
    assert set(seen) == waiting
    assert max(seen.values()) < 2, seen


class SlowHealthOrigin(BaseHTTPRequestHandler):
    """An origin whose /healthz waits behind busy threads, as gunicorn's does on
    release day, and whose one page a shared cache may keep."""

    protocol_version = "HTTP/1.1"
    HEALTH_SECONDS = 1.5

    def do_GET(self):
        if self.path == "/healthz":
            time.sleep(self.HEALTH_SECONDS)
        body = b"ok"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Cache-Control", "public, max-age=0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a probe that gave up

    def log_message(self, *args):
        pass


def test_a_slow_origin_is_not_taken_out_by_the_probe(tmp_path):
    # With one backend, "sick" means a 503 for every miss: a probe that gives up after
    # 1 s made that of an origin answering its probe in 1.5 s within about 6 s.
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHealthOrigin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    access_log = tmp_path / "access.log"
    access_log.touch()
    origin = Origin(port=server.server_address[1], access_log=Path(access_log), cache_port=0)
    varnish = Varnish(origin=origin)
    try:
        varnish.start()
        deadline = time.monotonic() + 12  # four probes, 3 s apart
        statuses = set()
        while time.monotonic() < deadline:
            statuses.add(varnish.get("/page").status)  # max-age=0: a miss every time
            time.sleep(0.5)
        assert statuses == {200}
    finally:
        varnish.stop()
        shutil.rmtree(varnish.workdir, ignore_errors=True)
        server.shutdown()
        server.server_close()
