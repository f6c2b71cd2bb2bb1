"""What the origin tells the HTTP cache in front (stats.httpcache): surrogate keys, a
max-age within the data generation, private and uncacheable answers; and the purge a
change of public data sends after its commit."""

from __future__ import annotations

import http.server
import re
import threading
import time

import pytest
from celery import current_app
from django.core.cache import cache
from django.db import transaction

from publications.services import release_create, release_publish
from stats import httpcache
from stats.events import GENERATION_KEY, bump_after_commit, public_data_changed
from stats.httpcache import PURGE_TASK
from tests.stats.helpers import import_rows

pytestmark = pytest.mark.usefixtures("clear_cache")

ROW_2024 = ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45200000")


@pytest.mark.parametrize(
    ("url", "keys"),
    [
        ("/id/", "all kind:home public"),
        ("/id/kalender/", "all kind:calendar public"),
        ("/id/siaran-pers/", "all kind:news public"),
        ("/id/rilis/feed.atom", "all kind:feeds public"),
        ("/sitemap.xml", "all kind:sitemap public"),
        ("/id/indikator/ACTIVE_PARTICIPANTS/", "all kind:indicator indicator:ACTIVE_PARTICIPANTS"),
        (
            "/en/indikator/ACTIVE_PARTICIPANTS/grafik.svg",
            "all kind:indicator indicator:ACTIVE_PARTICIPANTS",
        ),
        ("/id/rilis/awal/", "all kind:releases release:awal public"),
        ("/api/v1/indicators/", "all kind:api public"),
        ("/api/v1/indicators/ACTIVE_PARTICIPANTS/", "all kind:api indicator:ACTIVE_PARTICIPANTS"),
        (
            "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=ID",
            "all kind:api indicator:ACTIVE_PARTICIPANTS",
        ),
        ("/api/v1/observations/?region=ID", "all kind:api public"),
        ("/api/v1/releases/awal/", "all kind:api release:awal public"),
    ],
)
def test_a_public_answer_names_what_it_shows_in_its_surrogate_keys(client, published, url, keys):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Surrogate-Key"] == keys
    # Kept by shared caches (which the purge reaches), revalidated by browsers.
    assert re.fullmatch(r"public, max-age=0, s-maxage=\d+", response["Cache-Control"])


def test_a_page_is_public_with_an_etag_of_its_body_and_answers_304_to_it(client, published):
    first = client.get("/id/")
    assert first["Cache-Control"] == "public, max-age=0, s-maxage=60"
    second = client.get("/id/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 304
    assert second["ETag"] == first["ETag"]


def test_a_page_rendered_again_to_the_same_bytes_answers_304_to_its_etag(client, published):
    first = client.get("/id/")
    cache.delete(GENERATION_KEY)  # a new generation: the page is rendered again
    again = client.get("/id/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["X-Page-Cache"] == "miss"


def test_a_browser_revalidates_every_answer_while_a_shared_cache_keeps_it(client, published):
    # A browser's copy is out of the purge's reach: it must ask again each time (a 304
    # while nothing changed), or it would show old figures for a minute after a release.
    for url in ("/id/indikator/ACTIVE_PARTICIPANTS/", "/api/v1/observations/?region=ID"):
        first = client.get(url)
        assert first["Cache-Control"] == "public, max-age=0, s-maxage=60"
        assert "stale-while-revalidate" not in first["Cache-Control"]  # browsers read it
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304
        assert again["Cache-Control"] == first["Cache-Control"]


def test_a_signed_in_visitor_s_page_is_private_and_carries_no_keys(staff_client, published):
    response = staff_client.get("/id/")
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]
    assert not response.has_header("Surrogate-Key")


@pytest.mark.parametrize("url", ["/healthz", "/admin/login/", "/api/v1/observations/?bad=1"])
def test_what_a_shared_cache_must_not_keep_carries_no_keys(client, published, url):
    response = client.get(url)
    assert not response.has_header("Surrogate-Key")
    assert "public" not in response.get("Cache-Control", "")


def test_no_cache_keeps_an_answer_past_the_end_of_its_generation(client, published):
    client.get("/id/")  # a generation exists
    token, *_ = cache.get(GENERATION_KEY)
    cache.set(GENERATION_KEY, (token, time.time() + 5), 5)
    for url in ("/id/", "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS"):
        control = client.get(url)["Cache-Control"]
        shared = int(control.removeprefix("public, max-age=0, s-maxage="))
        assert shared <= 5


def test_the_caches_the_origin_purges_keep_an_answer_across_the_instant_until_the_purge(
    client, published, settings
):
    client.get("/id/")  # a generation exists
    token, *_ = cache.get(GENERATION_KEY)
    cache.set(GENERATION_KEY, (token, time.time() + 5), 5)
    url = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS"
    settings.HTTP_CACHE_PURGE_URLS = []
    assert not client.get(url).has_header("Surrogate-Control")  # no purge: no exception
    settings.HTTP_CACHE_PURGE_URLS = ["http://127.0.0.1:9/"]
    response = client.get(url)
    # Other shared caches end it at the instant; the purged one at its own lifetime.
    assert int(response["Cache-Control"].removeprefix("public, max-age=0, s-maxage=")) <= 5
    assert response["Surrogate-Control"] == "max-age=60"


def test_an_answer_built_across_a_change_of_public_data_is_not_kept(
    client, published, monkeypatch, settings
):
    from stats import httpcache

    settings.HTTP_CACHE_PURGE_URLS = ["http://127.0.0.1:9/"]  # not even the purged cache

    real = httpcache.generation_state
    # The change commits while the answer is built: the generation at its end differs.
    monkeypatch.setattr(httpcache, "generation_state", lambda: ("after-the-change", None))
    response = client.get("/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS")
    monkeypatch.setattr(httpcache, "generation_state", real)
    assert response["Cache-Control"] == "public, max-age=0"
    assert not response.has_header("Surrogate-Control")
    # Its ETag was computed under the old generation: it may not name this body.
    assert not response.has_header("ETag")


class PurgeRecorder(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, str | None]] = []

    def do_PURGE(self):
        self.received.append((self.command, self.path, self.headers.get("xkey-purge")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def purge_server(settings):
    PurgeRecorder.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PurgeRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.HTTP_CACHE_PURGE_URLS = [f"http://127.0.0.1:{server.server_port}/"]
    settings.HTTP_CACHE_PURGE_REPEAT_SECONDS = 0
    yield PurgeRecorder.received
    server.shutdown()


def test_a_publication_purges_its_release_its_indicators_and_the_lists_after_commit(
    published, purge_server
):
    release = release_create(slug="rilis-2024", title_id="2024", title_en="2024")
    import_rows(release, [ROW_2024])
    purge_server.clear()
    release_publish(release=release)
    assert purge_server == []  # nothing before the commit
    bump_after_commit()  # what the commit runs (the test's transaction never commits)
    [(method, path, keys)] = purge_server
    assert (method, path) == ("PURGE", "/")
    assert set(keys.split()) >= {"indicator:ACTIVE_PARTICIPANTS", "public", "release:rilis-2024"}
    assert "all" not in keys.split()


def test_a_change_that_does_not_say_what_it_touched_purges_everything(db, purge_server):
    public_data_changed(keys=["indicator:A"])
    public_data_changed()
    bump_after_commit()
    assert [keys for _method, _path, keys in purge_server] == ["all"]


def test_the_keys_of_one_transaction_go_in_one_purge(db, purge_server):
    public_data_changed(keys=["indicator:A", "public"])
    public_data_changed(keys=["indicator:B"])
    bump_after_commit()
    assert [keys for _method, _path, keys in purge_server] == ["indicator:A indicator:B public"]


def test_a_purge_that_fails_is_logged_handed_to_the_worker_and_never_raised(
    db, settings, monkeypatch, caplog
):
    settings.HTTP_CACHE_PURGE_URLS = ["http://127.0.0.1:9/"]  # nothing listens there
    queued = []
    monkeypatch.setattr(
        current_app.tasks[PURGE_TASK],
        "apply_async",
        lambda args, countdown: queued.append((args, countdown)),
    )
    public_data_changed(keys=["public"])
    bump_after_commit()
    assert queued == [(("http://127.0.0.1:9/", ["public"]), 1)]
    assert "HTTP cache purge of public at http://127.0.0.1:9/ failed" in caplog.text


def test_a_purge_is_sent_again_after_the_answers_in_flight(db, purge_server, settings, monkeypatch):
    settings.HTTP_CACHE_PURGE_REPEAT_SECONDS = 5
    queued = []
    monkeypatch.setattr(
        current_app.tasks[PURGE_TASK],
        "apply_async",
        lambda args, countdown: queued.append((args, countdown)),
    )
    public_data_changed(keys=["public"])
    bump_after_commit()
    assert len(purge_server) == 1
    assert queued == [((settings.HTTP_CACHE_PURGE_URLS[0], ["public"]), 5)]


def test_no_purge_url_means_no_purge(db, settings, monkeypatch):
    settings.HTTP_CACHE_PURGE_URLS = []
    queued = []
    monkeypatch.setattr(
        current_app.tasks[PURGE_TASK],
        "apply_async",
        lambda args, countdown: queued.append((args, countdown)),
    )
    public_data_changed(keys=["public"])
    bump_after_commit()
    assert queued == []


def test_the_retry_task_raises_to_be_retried_while_the_cache_is_down(db, settings):
    from stats.tasks import HttpCachePurgeFailed, http_cache_purge

    with pytest.raises(HttpCachePurgeFailed):
        http_cache_purge.run("http://127.0.0.1:9/", ["public"])


def test_the_keys_of_a_rolled_back_transaction_are_not_purged_with_the_next(
    transactional_db, purge_server
):
    with pytest.raises(RuntimeError), transaction.atomic():
        public_data_changed(keys=["indicator:ROLLED_BACK"])
        raise RuntimeError("rolled back")
    with transaction.atomic():
        public_data_changed(keys=["indicator:B"])
    assert [keys for _method, _path, keys in purge_server] == ["indicator:B"]


def test_with_replicas_the_purge_waits_until_they_have_replayed_the_change(
    db, purge_server, settings, monkeypatch
):
    # The real replica's replay is tested in tests/config/test_replicas.py (replicas_wait);
    # here: the purge is sent only after the wait for the primary's position returned.
    settings.HTTP_CACHE_PURGE_REPLICA_WAIT = 1.5
    events = []
    monkeypatch.setattr(httpcache, "replica_aliases", lambda: ["replica1"])
    monkeypatch.setattr(httpcache, "primary_wal_lsn", lambda: 4242)

    def wait(lsn, timeout):
        events.append(("wait", lsn, timeout, len(purge_server)))
        return True

    monkeypatch.setattr(httpcache, "replicas_wait", wait)
    public_data_changed(keys=["indicator:A"])
    bump_after_commit()
    assert events == [("wait", 4242, 1.5, 0)]  # nothing purged while waiting
    assert [keys for _method, _path, keys in purge_server] == ["indicator:A"]


def test_without_replicas_the_purge_reads_no_wal_position(db, purge_server, monkeypatch):
    monkeypatch.setattr(httpcache, "primary_wal_lsn", lambda: pytest.fail("no replicas"))
    public_data_changed(keys=["indicator:A"])
    bump_after_commit()
    assert [keys for _method, _path, keys in purge_server] == ["indicator:A"]
