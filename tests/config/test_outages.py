"""Outages degrade, never break: with Redis unreachable the site answers from PostgreSQL,
uncached, and publishing still works; with PostgreSQL's connections cut the requests in
flight get a 503 with Retry-After and the next ones succeed."""

from __future__ import annotations

import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.test import Client, override_settings

from publications.choices import ReleaseStatus
from publications.models import Release
from publications.services import release_create, release_publish
from tests.stats.helpers import import_rows

ROOT = Path(__file__).resolve().parents[2]
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


def _database_url() -> str:
    database = connection.settings_dict
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_process_whose_redis_is_down_still_publishes(catalogue):
    """Cache and broker both unreachable (one REDIS_URL): the release is published, the
    recompute it requests stays in the outbox for the sweeper."""
    from publications.models import RecomputeRequest

    release = release_create(slug="tanpa-redis", title_id="Uji", title_en="Test")
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000")])
    script = (
        "from publications.models import Release\n"
        "from publications.services import release_publish\n"
        "release = release_publish(release=Release.objects.get(slug='tanpa-redis'))\n"
        "print(release.status)\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": DEAD_REDIS},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith(ReleaseStatus.PUBLISHED)
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.PUBLISHED
    assert RecomputeRequest.objects.filter(release=release, finished_at=None).exists()


# --- PostgreSQL restarted under load ---


def terminate_backends(pid: int | None = None) -> int:
    """From a connection of its own, end the server process of the application's
    connection ``pid`` (or of every connection to the test database but the test's)."""
    own = connection.get_new_connection(connection.get_connection_params())
    own.autocommit = True
    try:
        if pid is not None:
            rows = own.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchall()
        else:
            connection.ensure_connection()
            rows = own.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)",
                [connection.connection.info.backend_pid],
            ).fetchall()
    finally:
        own.close()
    return sum(1 for (ended,) in rows if ended)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "url",
    # A page (the error comes from the view) and the API (from its cache middleware).
    ["/id/indikator/ACTIVE_PARTICIPANTS/", "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS"],
)
def test_a_request_in_flight_when_the_database_drops_is_a_503_and_the_next_succeeds(
    celery_eager, published, url
):
    client = Client(raise_request_exception=False)
    assert client.get(url).status_code == 200
    assert terminate_backends(connection.connection.info.backend_pid) == 1
    cache.clear()  # a cached answer would need no database
    response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    if url.startswith("/api/"):
        assert "database is unavailable" in response.json()["detail"]
    # What Django does when a request ends: the broken connection is closed.
    close_old_connections()
    assert client.get(url).status_code == 200


def test_any_other_error_is_still_a_500(client, db):
    from config.middleware import server_error

    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(client.get("/healthz").wsgi_request)
    assert response.status_code == 500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(child) for child in text.split()}


@pytest.fixture
def gunicorn_on_test_database():
    """The production gunicorn (config/gunicorn.conf.py, one worker) on the test database."""
    port = _free_port()
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "false",
        "SECRET_KEY": "test-only-secret-key-for-a-subprocess-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        # Every request reaches the database: no cached answers, no rate limit.
        "API_CACHE_SECONDS": "0",
        "API_ANON_RATE": "off",
    }
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("GUNICORN_TEST_LOG", os.devnull), "w"),  # noqa: SIM115
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "gunicorn exited"
        assert time.monotonic() < deadline, "gunicorn did not start"
        try:
            if _get(port, "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    try:
        yield process, port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _get(port: int, path: str) -> tuple[int, str | None]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", path)
        response = client.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")
    finally:
        client.close()


# JSON answers: a CSV download cut in the middle of its stream, after its 200, can only
# end short (its last chunk missing), which the client sees as an incomplete body.
LOAD = [
    "/api/v1/indicators/",
    "/api/v1/indicators/ACTIVE_PARTICIPANTS/",
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS",
    "/api/v1/releases/",
]


@pytest.mark.django_db(transaction=True)
def test_postgresql_connections_cut_under_load_fail_cleanly_and_no_worker_dies(
    celery_eager, published, gunicorn_on_test_database
):
    process, port = gunicorn_on_test_database
    workers = _children(process.pid)
    assert len(workers) == 1
    outcomes: Counter = Counter()
    missing_retry_after = []
    stop = threading.Event()

    def load(offset: int) -> None:
        count = offset
        while not stop.is_set():
            path = LOAD[count % len(LOAD)]
            status, retry_after = _get(port, path)
            outcomes[status] += 1
            if status == 503 and retry_after is None:
                missing_retry_after.append(path)
            count += 8

    threads = [threading.Thread(target=load, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    ended = 0
    try:
        for _ in range(10):
            time.sleep(0.3)
            ended += terminate_backends()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert ended > 0  # the worker's connections were really cut
    assert set(outcomes) <= {200, 503}, outcomes
    assert outcomes[200] > 0
    assert missing_retry_after == []
    # The next requests succeed, on the same worker process.
    for path in LOAD:
        assert _get(port, path)[0] == 200
    assert _children(process.pid) == workers
