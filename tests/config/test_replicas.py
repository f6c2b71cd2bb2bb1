"""Read replicas (config/replicas.py): public reads go to a streaming replica that has
replayed the generation they read under, everything else to the primary; a publication
is never shown as old data under the new generation, nor a replica's lag as an error.

The tests below the first ones run against a real streaming replica: a throwaway primary
(initdb) is the site's database for this module, and its copy made with
``pg_basebackup -R`` replays it, on purpose late (``recovery_min_apply_delay``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connections, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from config import health
from config.middleware import public_read
from config.replicas import (
    PRIMARY,
    REPLAY_LSN_SQL,
    ReplicaRouter,
    RequestReads,
    lsn_text,
    primary_wal_lsn,
    read_alias,
    replica_for,
    replica_states_reset,
    replicas_wait,
)
from config.settings import replica_settings
from publications.models import Release
from publications.services import release_create, release_publish
from stats.demo.loader import codelists_load, indicators_load
from stats.events import GENERATION_KEY, generation_current
from stats.models import Indicator, Observation
from tests.postgres_cluster import Server, StreamingPair, postgres_bin_dir, streaming_pair
from tests.stats.helpers import import_rows

ALIAS = "replica_test"
# The replica applies each commit this long after the primary made it.
REPLAY_DELAY = 3.0

# --- the rules, without a replica ---


def test_writes_go_to_the_primary_and_reads_where_the_request_reads():
    router = ReplicaRouter()
    assert router.db_for_write(Indicator) == PRIMARY
    # Outside a request of public reads: Django's default, the primary.
    assert router.db_for_read(Indicator) is None
    with RequestReads(lsn=None, alias=ALIAS).active():
        assert router.db_for_read(Indicator) == ALIAS
        assert read_alias() == ALIAS
        assert router.db_for_write(Indicator) == PRIMARY
        # Accounts are read where they are written.
        assert router.db_for_read(get_user_model()) == PRIMARY
    assert read_alias() == PRIMARY


def test_migrations_run_on_the_primary_only():
    router = ReplicaRouter()
    assert router.allow_migrate(PRIMARY, "stats") is True
    assert router.allow_migrate(ALIAS, "stats") is False


def test_without_a_known_position_or_replica_the_primary_answers(settings):
    settings.ANGKA_REPLICA_ALIASES = []
    assert replica_for(123) == PRIMARY
    settings.ANGKA_REPLICA_ALIASES = [ALIAS]
    assert replica_for(None) == PRIMARY


@pytest.mark.parametrize(
    ("method", "path", "cookies", "expected"),
    [
        ("get", "/api/v1/observations/", {}, True),
        ("head", "/id/", {}, True),
        ("get", "/sdmx/data/ACTIVE_PARTICIPANTS", {}, True),
        ("post", "/api/v1/observations/", {}, False),
        ("get", "/admin/publications/release/", {}, False),
        ("get", "/readyz", {}, False),
        ("get", "/static/css/site.css", {}, False),
        ("get", "/id/", {"sessionid": "staff"}, False),
    ],
)
def test_which_requests_are_public_reads(rf, method, path, cookies, expected):
    request = getattr(rf, method)(path)
    request.COOKIES.update(cookies)
    assert public_read(request) is expected


def test_a_replica_url_has_a_short_connect_timeout_and_no_test_database_of_its_own():
    replica = replica_settings("postgres://angka_app@replica.internal:5432/angka")
    assert replica["HOST"] == "replica.internal"
    assert replica["OPTIONS"]["connect_timeout"] == 2
    assert replica["TEST"] == {"MIRROR": "default"}
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URLS"):
        replica_settings("sqlite:///angka.db")


def test_positions_are_written_as_postgresql_writes_them():
    assert lsn_text(0x16_B374D848) == "16/B374D848"
    assert lsn_text(0) == "0/0"


# --- one snapshot per answer ---


@contextlib.contextmanager
def published_after_the_first_read_of(table: str, release: Release) -> Iterator[list[str]]:
    """Inside the block, this thread's first query that reads ``table`` is followed, before
    the next query, by the publication of ``release``, committed by another connection (a
    publication that commits while a page renders). Yields the queries run."""
    run: list[str] = []
    published = threading.Event()

    def publish() -> None:
        try:
            release_publish(release=Release.objects.get(pk=release.pk))
            published.set()
        finally:
            connections.close_all()

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        run.append(sql)
        if table in sql and not published.is_set():
            publisher = threading.Thread(target=publish)
            publisher.start()
            publisher.join(30)
            assert published.is_set(), "the publication did not commit"
        return result

    with connections[PRIMARY].execute_wrapper(wrapper):
        yield run


@pytest.mark.django_db(transaction=True)
def test_a_page_rendered_while_a_release_is_published_shows_all_old_or_all_new(client, published):
    url = "/id/indikator/ACTIVE_PARTICIPANTS/"
    release = release_create(slug="2024", title_id="2024", title_en="2024")
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45000000")])
    cache.clear()
    old = client.get(url).content.decode()
    assert "2024" not in old

    cache.clear()
    with published_after_the_first_read_of(Observation._meta.db_table, release) as run:
        during = client.get(url).content.decode()
    cache.clear()
    new = client.get(url).content.decode()
    # The publication committed after the page's first read of the observations, with
    # more of them to come: each of those would have shown the new year.
    reads = [sql for sql in run if Observation._meta.db_table in sql]
    assert len(reads) > 1
    assert new.count("2024") > 0
    # Every query of the page saw the data as at its first: none of the new year.
    assert during.count("2024") == 0
    assert during == old


# --- against a real streaming replica ---


@contextlib.contextmanager
def default_database_at(server: Server, name: str) -> Iterator[None]:
    """The site's database is ``name`` on ``server`` inside the block."""
    connection = connections[PRIMARY]
    connection.close()
    keys = ("NAME", "USER", "PASSWORD", "HOST", "PORT")
    saved = {key: connection.settings_dict[key] for key in keys}
    connection.settings_dict.update(
        NAME=name, USER="postgres", PASSWORD="", HOST="127.0.0.1", PORT=str(server.port)
    )
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
        # Cached per alias, by id: the ids of the throwaway database are not the suite's.
        ContentType.objects.clear_cache()


@contextlib.contextmanager
def replica_alias(server: Server, name: str) -> Iterator[str]:
    """``ALIAS``, a database alias of ``name`` on ``server``, made as settings make one of
    ``DATABASE_REPLICA_URLS``, and the only replica of the settings."""
    configured = connections.configure_settings(
        {PRIMARY: connections.settings[PRIMARY], ALIAS: replica_settings(server.url(name))}
    )
    connections.settings[ALIAS] = configured[ALIAS]
    replica_states_reset()
    try:
        with override_settings(
            ANGKA_REPLICA_ALIASES=[ALIAS],
            ANGKA_REPLICA_CHECK_SECONDS=0.05,
            ANGKA_REPLICA_RETRY_SECONDS=0.5,
        ):
            yield ALIAS
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]
        replica_states_reset()


@pytest.fixture(scope="module")
def streaming(django_db_blocker) -> Iterator[StreamingPair]:
    """A primary with the site's schema and a public release (active participants 2022),
    and its streaming replica (``ALIAS``), caught up."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's initdb, pg_ctl and pg_basebackup are needed in CI")
        pytest.skip("PostgreSQL's server binaries (initdb, pg_basebackup) are not installed")
    with streaming_pair(bin_dir) as pair, django_db_blocker.unblock():
        pair.primary.execute("CREATE DATABASE angka")
        cache.clear()
        with default_database_at(pair.primary, "angka"):
            call_command("migrate", verbosity=0)
            codelists_load()
            indicators_load()
            first = release_create(slug="2022", title_id="2022", title_en="2022")
            import_rows(first, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "35300000")])
            release_publish(release=first)
            pair.replica_start()
            with replica_alias(pair.replica, "angka"):
                assert replicas_wait(primary_wal_lsn(), timeout=30)
                yield pair
        cache.clear()


@pytest.fixture
def fresh_cache(streaming):
    cache.clear()
    replica_states_reset()
    yield
    cache.clear()


def test_a_read_inside_a_transaction_on_the_primary_stays_on_the_primary(streaming):
    router = ReplicaRouter()
    with RequestReads(lsn=None, alias=ALIAS).active(), transaction.atomic():
        assert router.db_for_read(Indicator) == PRIMARY


def _observations(variant: int = 0) -> str:
    # The same data under distinct URLs: each variant is a cache miss of its own.
    return f"/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=ID&page_size={50 + variant}"


URLS = [
    _observations(),
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=ID&format=csv",
    "/api/v1/indicators/ACTIVE_PARTICIPANTS/",
    "/sdmx/data/ACTIVE_PARTICIPANTS/A.ID._T._T",
    "/id/indikator/ACTIVE_PARTICIPANTS/",
]


# What an SDMX message says of itself (its id, when it was prepared), not of the data.
SDMX_HEADER = re.compile(rb"<message:(ID|Prepared)>[^<]*</message:(ID|Prepared)>")


def _answer(client: Client, url: str) -> tuple[int, str | None, bytes]:
    """Status, ETag and body (the data: an SDMX message's own id and time left out)."""
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, response.get("ETag"), SDMX_HEADER.sub(b"", body)


@contextlib.contextmanager
def queries_on(alias: str) -> Iterator[list[str]]:
    """The statements run on ``alias`` in the block, listed when it ends (Django's capture
    reads its connection's log lazily, which later requests reset)."""
    statements: list[str] = []
    with CaptureQueriesContext(connections[alias]) as captured:
        yield statements
    statements.extend(query["sql"] for query in captured.captured_queries)


def _replayed(pair: StreamingPair) -> int:
    return int(pair.replica.execute("SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint")[0][0])


@pytest.fixture
def replay_delayed(streaming):
    streaming.replay_delay(REPLAY_DELAY)
    yield
    streaming.replay_delay(0)
    assert replicas_wait(primary_wal_lsn(), timeout=30)


def test_a_public_read_is_answered_by_a_replica_that_has_replayed_its_generation(
    streaming, fresh_cache
):
    client = Client()
    with queries_on(ALIAS) as on_replica:
        status, _etag, body = _answer(client, _observations(1))
    assert status == 200
    assert b'"2022"' in body
    assert len(on_replica) > 0
    # Once the generation exists, a request reads one database only: nothing on the primary.
    with queries_on(PRIMARY) as on_primary, queries_on(ALIAS) as on_replica:
        for url in URLS:
            assert _answer(client, url)[0] == 200
    assert len(on_primary) == 0
    assert len(on_replica) > 0
    # On the replica too, the application works as its role (config/dbrole.py).
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT current_user, pg_is_in_recovery()")
        assert cursor.fetchone() == (settings.DATABASE_APP_ROLE, True)


def test_the_release_instant_is_atomic_per_reader_while_the_replica_lags(
    streaming, fresh_cache, replay_delayed
):
    """While the replica has not replayed the publication, every answer is the old data
    with the old ETag or the new data with the new ETag, never a mix; the new generation
    is answered by the primary; once the replica has replayed, it answers again."""
    client = Client()
    old = {url: _answer(client, url) for url in URLS}
    assert all(status == 200 for status, _etag, _body in old.values())
    assert b'"2023"' not in old[_observations()][2]
    with override_settings(ANGKA_API_CACHE_SECONDS=0):
        old_uncached = _answer(client, _observations(2))
    before = cache.get(GENERATION_KEY)

    release = release_create(slug="2023", title_id="2023", title_en="2023")
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000")])
    release_publish(release=release)
    published_at = time.monotonic()
    publication_lsn = primary_wal_lsn()
    assert _replayed(streaming) < publication_lsn, "the replica must lag for this test"

    # During the delay: the new generation (answered, and cached, from the primary).
    lagging = []
    with queries_on(ALIAS) as on_replica_lagging:
        for _round in range(2):
            for url in URLS:
                lagging.append((url, _answer(client, url)))
        generation = generation_current()
    lag = client.get("/readyz").json()["replicas"][ALIAS]
    # A request that read the generation before the publication (a node that had not seen
    # the change yet) may be answered from the replica: the old data, with the old ETag.
    cache.set(GENERATION_KEY, before, 60)
    with queries_on(ALIAS) as on_replica_pinned, override_settings(ANGKA_API_CACHE_SECONDS=0):
        old_pinned = _answer(client, _observations(2))
    cache.delete(GENERATION_KEY)
    # What waits behind a publication (the HTTP cache's purge) is told it is not replayed.
    waited = replicas_wait(publication_lsn, timeout=0.2)
    assert _replayed(streaming) < publication_lsn, "the requests took longer than the delay"

    # The replica replays the publication after the delay.
    assert replicas_wait(publication_lsn, timeout=REPLAY_DELAY + 10)
    assert time.monotonic() - published_at >= REPLAY_DELAY - 0.5
    cache.clear()  # a new generation, begun after the replica has replayed
    with queries_on(PRIMARY) as on_primary:
        _answer(client, "/id/")  # the first request makes the generation (on the primary)
    assert len(on_primary) > 0
    with queries_on(ALIAS) as on_replica, queries_on(PRIMARY) as on_primary:
        new = {url: _answer(client, url) for url in URLS}
    assert b'"2023"' in new[_observations()][2]

    old_etags = {etag for _status, etag, _body in old.values()}
    for url, (status, etag, body) in lagging:
        assert status == 200
        # The new data (as the replica gives it once it has replayed), never under an old
        # ETag. Some ETags name the generation too (an indicator names its next release),
        # so the new ones need not be those of the later generation.
        assert body == new[url][2], f"{url} during the lag is not the new data"
        assert etag is None or etag not in old_etags, f"{url}: new data under an old ETag"
    for url in URLS:
        assert old[url][2] != new[url][2], f"{url}: the publication changed nothing?"
    assert old_pinned == old_uncached
    assert waited is False

    # Which database answered: the primary while the replica lagged (the replica was only
    # asked its replay position), the replica for the old generation and once replayed.
    assert generation.lsn is not None and generation.lsn >= publication_lsn
    assert set(on_replica_lagging) <= {REPLAY_LSN_SQL}
    assert len(on_replica_pinned) > 0
    assert len(on_replica) > 0
    assert len(on_primary) == 0
    assert Release.objects.filter(slug="2023", status="published").exists()
    # /readyz saw the replica behind (the WAL of the publication not replayed).
    assert lag["status"] == "ok" and lag["lag_bytes"] > 0
    assert lag["lag_seconds"] is None or lag["lag_seconds"] > 0


def test_a_replica_that_goes_down_leaves_its_reads_to_the_primary(
    streaming, fresh_cache, caplog, client
):
    assert _answer(client, _observations(4))[0] == 200  # the replica's connection is open
    streaming.replica.stop("immediate")
    try:
        caplog.set_level(logging.WARNING, logger="config.replicas")
        with queries_on(PRIMARY) as on_primary:
            answers = [_answer(client, url) for url in [*URLS, _observations(5)]]
        assert [status for status, _etag, _body in answers] == [200] * len(answers)
        assert len(on_primary) > 0
        warnings = [r.getMessage() for r in caplog.records if "does not answer" in r.getMessage()]
        assert warnings == [
            f"read replica {ALIAS} does not answer (OperationalError): its reads go to the primary"
        ]

        health.worker_beat()
        health.beat_ran()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ok"
        assert ready.json()["replicas"] == {ALIAS: {"status": "down", "error": "OperationalError"}}
    finally:
        streaming.replica.start()
    assert replicas_wait(primary_wal_lsn(), timeout=30)
    time.sleep(settings.ANGKA_REPLICA_RETRY_SECONDS)
    with queries_on(ALIAS) as on_replica:
        assert _answer(client, _observations(6))[0] == 200
    assert len(on_replica) > 0
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_readyz_reports_how_far_behind_each_replica_is(streaming, fresh_cache, client):
    health.worker_beat()
    health.beat_ran()
    assert replicas_wait(primary_wal_lsn(), timeout=30)
    report = client.get("/readyz").json()
    replica = report["replicas"][ALIAS]
    assert replica["status"] == "ok"
    assert isinstance(replica["lag_bytes"], int) and replica["lag_bytes"] >= 0
    assert replica["lag_seconds"] is None or replica["lag_seconds"] >= 0
    assert "/" in replica["replayed_lsn"]
    assert "127.0.0.1" not in str(report)
