"""Outages degrade, never break: with Redis unreachable the site answers from PostgreSQL,
uncached, and publishing still works; with PostgreSQL's connections cut the requests in
flight get a 503 with Retry-After and the next ones succeed."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from publications.choices import ReleaseStatus
from publications.models import Release
from publications.services import release_create, release_publish
from tests.stats.helpers import import_rows

# Nothing listens there: connections are refused at once.
DEAD_REDIS = "redis://127.0.0.1:6399/0"

CRAWL = [
    "/id/",
    "/en/",
    "/id/indikator/ACTIVE_PARTICIPANTS/",
    "/api/v1/indicators/",
    "/api/v1/indicators/ACTIVE_PARTICIPANTS/",
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=ID",
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&format=csv",
    "/api/v1/series/?indicator=FUNDS_UNDER_MANAGEMENT",
    "/api/v1/releases/",
]


def dead_redis(**options):
    return override_settings(
        CACHES={
            "default": {
                **settings.CACHES["default"],
                "LOCATION": DEAD_REDIS,
                "OPTIONS": {**settings.CACHES["default"].get("OPTIONS", {}), **options},
            }
        }
    )


@pytest.fixture
def redis_down():
    with dead_redis():
        yield


@pytest.mark.parametrize("url", CRAWL)
def test_pages_and_the_api_answer_uncached_with_redis_down(client, demo, redis_down, url):
    first = client.get(url)
    second = client.get(url)
    assert first.status_code == 200, first.content[:300]
    assert second.status_code == 200
    # Served from PostgreSQL both times: the page cache never says it hit.
    assert second.get("X-Page-Cache") != "hit"


def test_the_answers_with_redis_down_are_the_answers_with_redis_up(client, demo):
    url = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=ID"
    cache.clear()
    up = client.get(url).json()
    with dead_redis():
        down = client.get(url).json()
    assert down["results"] == up["results"]


def test_the_rate_limit_fails_open_with_redis_down(client, demo, redis_down):
    with override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"api_anon": "2/minute", "api_user": "2/minute"},
        }
    ):
        statuses = {client.get("/api/v1/indicators/").status_code for _ in range(4)}
    assert statuses == {200}


def test_an_outage_is_logged_once_not_per_request(client, demo, caplog):
    with dead_redis(unavailable_pause=60), caplog.at_level(logging.WARNING, "config.cache"):
        for _ in range(5):
            assert client.get("/api/v1/indicators/").status_code == 200
    warnings = [r for r in caplog.records if r.name == "config.cache"]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage()
    assert "6399" in warnings[0].getMessage()


def test_the_breaker_skips_redis_while_open_and_tries_again_after(demo):
    with dead_redis(unavailable_pause=60):
        assert cache.get("anything", "default") == "default"
        assert cache.available() is False
        cache.breaker.open_until = 0.0  # the pause is over
        assert cache.available() is True
        assert cache.add("lock", "1", 10) is False
        assert cache.available() is False


def test_a_log_of_the_outage_does_not_show_the_password():
    from config.cache import without_password

    assert without_password("redis://:s3cret@cache.internal:6380/2") == (
        "redis://cache.internal:6380/2"
    )
    assert without_password("redis://user:pw@[::1]:6379/0") == "redis://[::1]:6379/0"


def test_the_cache_is_used_again_once_redis_is_back(demo):
    with dead_redis(unavailable_pause=60):
        cache.get("x")
    # The same server location under normal settings: a breaker of its own, closed.
    cache.set("angka-test-back", 1, 10)
    assert cache.get("angka-test-back") == 1


def test_publishing_works_with_redis_down(catalogue, django_capture_on_commit_callbacks):
    release = release_create(slug="saat-redis-mati", title_id="Uji", title_en="Test")
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000")])
    with dead_redis(), django_capture_on_commit_callbacks(execute=False) as callbacks:
        published = release_publish(release=release)
        # The generation's after-commit bump meets a dead cache too: logged, not raised.
        for callback in callbacks:
            if getattr(callback, "__name__", "") == "bump_after_commit":
                callback()
    assert published.status == ReleaseStatus.PUBLISHED
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.PUBLISHED
