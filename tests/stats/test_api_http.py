"""HTTP behaviour of the read API: caching, conditional requests, rate limits, CORS,
the OpenAPI description and its docs, and a fuzz run over the observation filters."""

# The fixtures come from test_api (imported below), so their names as arguments are not
# redefinitions.
# ruff: noqa: F811

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from publications.demo.loader import demo_load
from publications.services import release_create, release_publish
from stats.models import Indicator
from stats.renderers import ROWS_PER_CHUNK
from tests.stats.helpers import admin_change, import_rows
from tests.stats.test_api import OBSERVATIONS, published  # noqa: F401

pytestmark = pytest.mark.usefixtures("clear_cache")

THROTTLED = {
    "DEFAULT_THROTTLE_RATES": {"api_anon": "3/minute", "api_user": "6/minute"},
}


def rest_framework_settings(**overrides):
    from django.conf import settings as django_settings

    return {**django_settings.REST_FRAMEWORK, **overrides}


# --- caching ---


def test_responses_carry_validators_tied_to_the_last_publication(client, published):
    response = client.get(OBSERVATIONS)
    assert response["ETag"].startswith('W/"')
    assert response["Last-Modified"] == "Sat, 15 Feb 2025 03:00:00 GMT"
    assert response["Cache-Control"] == "public, max-age=0, s-maxage=60"
    assert "Accept" in response["Vary"]


def test_a_matching_etag_is_answered_304(client, published):
    etag = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})["ETag"]
    response = client.get(
        OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"}, HTTP_IF_NONE_MATCH=etag
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_an_etag_of_another_query_is_not_a_match(client, published):
    etag = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})["ETag"]
    response = client.get(
        OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT"}, HTTP_IF_NONE_MATCH=etag
    )
    assert response.status_code == 200


def test_if_modified_since_the_last_publication_is_answered_304(client, published):
    response = client.get(OBSERVATIONS, HTTP_IF_MODIFIED_SINCE="Sat, 15 Feb 2025 03:00:00 GMT")
    assert response.status_code == 304
    older = client.get(OBSERVATIONS, HTTP_IF_MODIFIED_SINCE="Sat, 15 Feb 2025 02:59:59 GMT")
    assert older.status_code == 200


def test_a_publication_changes_the_etag_and_the_cached_answer(client, published):
    before = client.get(OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT"})
    release = release_create(slug="koreksi", title_id="Koreksi", title_en="Correction")
    import_rows(release, [("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2023", "686500000000000")])
    release_publish(release=release)
    after = client.get(
        OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT"}, HTTP_IF_NONE_MATCH=before["ETag"]
    )
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    values = {row["value"] for row in after.json()["results"]}
    assert "686500000000000" in values
    assert "686000000000000" not in values


def test_a_repeated_request_is_served_from_the_response_cache(client, published):
    with CaptureQueriesContext(connection) as computed:
        first = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})
    with CaptureQueriesContext(connection) as cached:
        again = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})
    assert again.json() == first.json()
    # Only the parameter checks and the version (last publication) are read again.
    assert not any("stats_observation" in query["sql"] for query in cached.captured_queries)
    assert any("stats_observation" in query["sql"] for query in computed.captured_queries)


def test_a_cache_hit_performs_no_query(client, published, django_assert_num_queries):
    first = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})
    with django_assert_num_queries(0):
        again = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})
    assert again.content == first.content
    for header in ("ETag", "Last-Modified", "Cache-Control", "Content-Type", "Vary"):
        assert again[header] == first[header]
    assert again["Content-Language"] == first["Content-Language"]
    assert again["Access-Control-Allow-Origin"] == "*"


def test_a_cached_answer_is_answered_304_without_a_query(
    client, published, django_assert_num_queries
):
    first = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})
    with django_assert_num_queries(0):
        by_tag = client.get(
            OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"}, HTTP_IF_NONE_MATCH=first["ETag"]
        )
        by_date = client.get(
            OBSERVATIONS,
            {"indicator": "ACTIVE_PARTICIPANTS"},
            HTTP_IF_MODIFIED_SINCE=first["Last-Modified"],
        )
    for response in (by_tag, by_date):
        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == first["ETag"]


def test_the_cache_keys_on_language_and_host(client, published):
    indonesian = client.get(OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT"})
    english = client.get(
        OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.json()["results"][0]["indicator_name"] == "Funds under management"
    assert indonesian.json()["results"][0]["indicator_name"] != "Funds under management"
    first = client.get(OBSERVATIONS, {"page_size": 2}, HTTP_HOST="localhost")
    other = client.get(OBSERVATIONS, {"page_size": 2}, HTTP_HOST="127.0.0.1")
    assert first.json()["next"].startswith("http://localhost/")
    assert other.json()["next"].startswith("http://127.0.0.1/")


def test_a_token_request_reads_what_an_anonymous_one_cached(
    client, published, django_assert_max_num_queries
):
    user = get_user_model().objects.create_user(username="pembaca", password="x" * 12)
    token = Token.objects.create(user=user)
    anonymous = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})
    with CaptureQueriesContext(connection) as queries:
        by_token = client.get(
            OBSERVATIONS,
            {"indicator": "ACTIVE_PARTICIPANTS"},
            HTTP_AUTHORIZATION=f"Token {token.key}",
        )
    assert by_token.content == anonymous.content
    assert by_token["ETag"] == anonymous["ETag"]
    assert not any("stats_observation" in query["sql"] for query in queries.captured_queries)


def test_a_publication_that_comes_due_replaces_the_cached_answer(client, published, monkeypatch):
    """A release published a few seconds ahead (the clock tolerance) shows from its instant."""
    from django.utils import timezone

    import stats.events

    params = {"indicator": "FUNDS_UNDER_MANAGEMENT", "program": "_T"}
    release = release_create(slug="sebentar-lagi", title_id="Segera", title_en="Soon")
    import_rows(release, [("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2024", "700000000000000")])
    start = timezone.now()
    release_publish(release=release, at=start + dt.timedelta(seconds=3))
    before = client.get(OBSERVATIONS, params)
    assert [row["period"] for row in before.json()["results"]] == ["2023"]
    assert client.get(OBSERVATIONS, params).content == before.content
    later = start + dt.timedelta(seconds=4)
    monkeypatch.setattr(timezone, "now", lambda: later)
    monkeypatch.setattr(stats.events.time, "time", later.timestamp)
    after = client.get(OBSERVATIONS, params)
    assert [row["period"] for row in after.json()["results"]] == ["2023", "2024"]
    assert after["ETag"] != before["ETag"]


def test_an_indicator_saved_in_the_admin_replaces_the_cached_catalogue(
    client, published, staff_user
):
    before = client.get("/api/v1/indicators/ACTIVE_PARTICIPANTS/", {"lang": "en"})
    editor = Client()
    editor.force_login(staff_user)
    indicator = Indicator.objects.get(code="ACTIVE_PARTICIPANTS")
    admin_change(editor, indicator, name_en="Active members")
    after = client.get("/api/v1/indicators/ACTIVE_PARTICIPANTS/", {"lang": "en"})
    assert before.json()["name"] != "Active members"
    assert after.json()["name"] == "Active members"
    rows = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", "lang": "en"}).json()
    assert {row["indicator_name"] for row in rows["results"]} == {"Active members"}


def test_a_publication_starts_a_new_generation_at_once_and_again_after_commit(
    published, django_capture_on_commit_callbacks
):
    """A token made while the publication's transaction is open (it would file answers
    computed from the data before the commit) is not used once the transaction commits;
    one after-commit callback per transaction, however many rows it saved."""
    from stats.events import bump_after_commit, generation

    release = release_create(slug="koreksi-lagi", title_id="Koreksi", title_en="Correction")
    import_rows(release, [("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2023", "686600000000000")])
    before = generation()
    with django_capture_on_commit_callbacks():
        release_publish(release=release)
        during = generation()
    assert during != before
    pending = [entry[1] for entry in connection.run_on_commit]
    assert pending.count(bump_after_commit) == 1
    bump_after_commit()  # what the commit runs (the test's transaction never commits)
    assert generation() not in {before, during}


def test_a_closed_answer_is_not_kept_by_its_view(client, published, monkeypatch):
    """A DRF view and its request refer to each other, a cycle only Python's cyclic
    collector frees, and rarely: through view.response each worker thread kept tens of MB
    of past answers. The view lets go of the response when the server closes it."""
    from stats.api.base import PublicReadMixin

    views = []
    release = PublicReadMixin._response_release

    def recorded(view):
        views.append(view)
        release(view)

    monkeypatch.setattr(PublicReadMixin, "_response_release", recorded)
    response = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})
    assert response.status_code == 200 and response.closed
    [view] = views
    assert "response" not in vars(view)


def test_a_cache_that_cannot_be_reached_does_not_stop_a_publication(published, monkeypatch, caplog):
    from django.core.cache import cache

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "delete", unreachable)
    release = release_create(slug="tanpa-cache", title_id="Tanpa", title_en="Without")
    import_rows(release, [("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2024", "700000000000000")])
    assert release_publish(release=release).is_published
    assert "could not start a new cache generation" in caplog.text


def test_an_uncached_page_reads_the_catalogue_once_per_generation(
    client, published, django_assert_max_num_queries
):
    client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"})
    # Another query, same generation: the catalogue and the last publication are known;
    # the page is one query (and one for series not seen yet).
    with django_assert_max_num_queries(2):
        response = client.get(OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT"})
    assert len(response.json()["results"]) == 2


# --- rate limits ---


def test_anonymous_requests_past_the_limit_get_429_with_retry_after(client, published):
    with override_settings(REST_FRAMEWORK=rest_framework_settings(**THROTTLED)):
        statuses = [client.get("/api/v1/codelists/").status_code for _ in range(4)]
        response = client.get("/api/v1/codelists/")
    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["detail"]


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(client, published):
    with override_settings(REST_FRAMEWORK=rest_framework_settings(**THROTTLED)):
        statuses = [
            client.get("/api/v1/codelists/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
            for n in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


def test_behind_one_proxy_the_limit_follows_the_address_it_forwards(client, published):
    throttled = rest_framework_settings(**THROTTLED, NUM_PROXIES=1)
    with override_settings(REST_FRAMEWORK=throttled):
        # Each client's own (forged) entry comes first; the proxy appends the real one.
        first = [
            client.get(
                "/api/v1/codelists/", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.7"
            ).status_code
            for n in range(4)
        ]
        other = client.get("/api/v1/codelists/", HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert first == [200, 200, 200, 429]
    assert other.status_code == 200


def test_an_api_token_raises_the_limit(client, published):
    user = get_user_model().objects.create_user(username="jurnalis", password="x" * 12)
    token = Token.objects.create(user=user)
    with override_settings(REST_FRAMEWORK=rest_framework_settings(**THROTTLED)):
        statuses = [
            client.get("/api/v1/codelists/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code
            for _ in range(7)
        ]
    assert statuses == [200] * 6 + [429]


def test_a_wrong_token_is_refused(client, published):
    response = client.get("/api/v1/codelists/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401


# --- CORS ---


def test_the_api_is_open_to_any_origin(client, published):
    response = client.get(OBSERVATIONS, HTTP_ORIGIN="https://newsroom.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]


def test_a_preflight_request_is_answered(client, published):
    response = client.options(
        OBSERVATIONS,
        HTTP_ORIGIN="https://newsroom.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response["Access-Control-Allow-Headers"]


def test_cors_is_not_added_outside_the_api(client, db):
    assert "Access-Control-Allow-Origin" not in client.get("/healthz")


# --- OpenAPI and docs ---


def test_the_schema_documents_every_observation_filter(client, catalogue_public):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/observations/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {
        "indicator",
        "region",
        "segment",
        "program",
        "period_start",
        "period_end",
        "frequency",
        "status",
        "release",
        "as_of",
        "updated_since",
        "vintage",
        "realtime_start",
        "realtime_end",
        "ordering",
        "layout",
        "units",
        "aggregate_to",
        "format",
        "lang",
        "cursor",
        "page_size",
    }
    assert all(parameter.get("description") for parameter in operation["parameters"])
    assert "text/csv" in operation["responses"]["200"]["content"]
    for path in (
        "/api/v1/indicators/",
        "/api/v1/series/",
        "/api/v1/releases/",
        "/api/v1/news/",
        "/api/v1/calendar/",
    ):
        assert path in schema["paths"]


def test_interactive_docs_are_served_from_the_site(client, db):
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url).content.decode()
        assert "/static/drf_spectacular_sidecar/" in page
        assert "cdn" not in page.lower()
    assert "/api/schema/" in client.get("/api/redoc/").content.decode()
    # Swagger UI's set-up is a script of its own (no inline script: the CSP forbids it).
    assert "/api/schema/" in client.get("/api/docs/", {"script": ""}).content.decode()


# The fuzzing of every route, parameter and answer is tests/test_openapi.py (schemathesis).


def test_an_as_of_of_today_is_accepted(client, published):
    today = dt.date.today().isoformat()
    assert client.get(OBSERVATIONS, {"as_of": today}).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/indicators/",
        "/api/v1/series/",
        "/api/v1/codelists/",
        "/api/v1/releases/",
        "/api/v1/news/",
        "/api/v1/calendar/",
    ],
)
def test_every_list_offers_csv(client, published, url):
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(response.streaming_content).count(b"\r\n") >= 1


def test_an_options_request_does_not_poison_the_response_cache(client, published):
    assert client.options(OBSERVATIONS).status_code == 200
    response = client.get(OBSERVATIONS)
    assert len(response.json()["results"]) == 10


@pytest.mark.parametrize("ordering", ["series", "period"])
def test_a_large_csv_is_sent_in_chunks_as_it_is_read(client, db, ordering):
    from stats.models import Observation

    demo_load()
    response = client.get(OBSERVATIONS, {"format": "csv", "ordering": ordering})
    chunks = list(response.streaming_content)
    rows = b"".join(chunks).decode().splitlines()
    assert len(rows) - 1 > ROWS_PER_CHUNK
    lines = [chunk.count(b"\r\n") for chunk in chunks]
    if ordering == "series":
        # Sorted by series: one chunk per series (the first with the header).
        sizes = Counter(Observation.objects.current().values_list("series_id", flat=True))
        assert len(chunks) == len(sizes)
        assert max(lines) <= max(sizes.values()) + 1
    else:
        # Otherwise chunks of ROWS_PER_CHUNK lines.
        assert len(chunks) == -(-(len(rows) - 1) // ROWS_PER_CHUNK)
        assert max(lines) <= ROWS_PER_CHUNK + 1
