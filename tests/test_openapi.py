"""The read API keeps the contract its OpenAPI description states, route by route.

schemathesis reads the schema served at /api/schema/ and, for every operation and
method, sends the schema's examples, its boundary cases (coverage) and generated
requests, valid and invalid, to the WSGI application in this process, against the
demo data in the test database. Every check of schemathesis runs on every answer: no
server error, status codes and content types as documented, bodies and headers valid
against their schemas, valid requests accepted, invalid ones refused, methods the
schema does not list answered 405 with an Allow header.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django import forms
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings

from config.wsgi import application
from stats.filtersets import REALTIME, AsOfFilter, CatalogueLookups, instant_parse
from stats.models import Series
from stats.opendata.xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE
from stats.periods import PeriodError, parse_period
from tests.stats.test_api_http import rest_framework_settings

UNLIMITED = rest_framework_settings(
    DEFAULT_THROTTLE_RATES={"api_anon": "1000000/minute", "api_user": "1000000/minute"}
)


def _beyond_the_schema(query: dict) -> dict:
    """``query`` without what an OpenAPI description cannot state and the API refuses
    (each a documented 400): a cursor the API did not give, an instant in the future, a
    period range that ends before it starts, paging a CSV or XLSX, a conversion of series
    at a lower frequency, and the wide layout without exactly one indicator and one
    frequency, or with paging, ordering, units, a conversion or XLSX, and the first print
    with units or a conversion; a real-time period that starts in the future or after it
    ends, or with as_of, vintage, units, a conversion or the wide layout."""
    query = dict(query)
    query.pop("cursor", None)
    if "as_of" in query and _in_the_future(query["as_of"]):
        del query["as_of"]
    if "realtime_start" in query and _in_the_future(query["realtime_start"]):
        del query["realtime_start"]
    if any(name in query for name in REALTIME):
        for name in ("as_of", "vintage", "aggregate_to"):
            query.pop(name, None)
        query["units"] = "lin"
        query["layout"] = "long"
        if "realtime_start" in query and "realtime_end" in query:
            try:
                start = instant_parse(str(query["realtime_start"])).at
                end = instant_parse(str(query["realtime_end"])).at
            except forms.ValidationError:
                pass
            else:
                # A date as realtime_end is its day's end; as realtime_start, its start.
                if start > end:
                    del query["realtime_end"]
    if "period_start" in query and "period_end" in query:
        try:
            start, end = parse_period(query["period_start"]), parse_period(query["period_end"])
        except PeriodError:
            pass
        else:
            if start.start > end.end:
                del query["period_end"]
    if "aggregate_to" in query:
        # Series at a lower frequency than asked cannot be converted: monthly ones can.
        query["frequency"] = "M"
    if query.get("format") in ("csv", "xlsx"):
        query.pop("page_size", None)
    if str(query.get("vintage", "")).strip() == "first" and (
        str(query.get("units", "lin")).strip() != "lin" or "aggregate_to" in query
    ):
        del query["vintage"]
    if query.get("layout") == "wide":
        single = all(
            len(str(query.get(name, "")).split(",")) == 1 and str(query.get(name, "")).strip()
            for name in ("indicator", "frequency")
        )
        if single:
            for name in ("page_size", "ordering", "units", "aggregate_to"):
                query.pop(name, None)
            if query.get("format") == "xlsx":
                query["format"] = "csv"
        else:
            query["layout"] = "long"
    return query


def _in_the_future(text) -> bool:
    try:
        instant = instant_parse(str(text))
    except forms.ValidationError:
        return False
    try:
        AsOfFilter(field_name="valid_from").resolve(instant, CatalogueLookups())
    except forms.ValidationError:
        return True
    return False


@pytest.fixture
def api_schema(demo, request):
    # schemathesis' lazy loader reports each operation under the test's node id, kept in
    # an attribute pytest 9 no longer sets.
    request.node._nodeid = request.node.nodeid
    # As Django's test client does: the requests run inside the test's transaction, which
    # the end of a request must not close.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    request.addfinalizer(lambda: signals.request_started.connect(close_old_connections))
    request.addfinalizer(lambda: signals.request_finished.connect(close_old_connections))
    cache.clear()
    with override_settings(REST_FRAMEWORK=UNLIMITED):
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

        @schema.hook
        def map_case(context, case):
            if case.meta is not None and case.meta.generation.mode.is_positive and case.query:
                case.query = _beyond_the_schema(case.query)
            return case

        yield schema
    cache.clear()


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_the_contract_of_the_schema(case):
    case.call_and_validate()


# --- the description itself ---


@pytest.fixture
def described(client, demo):
    return client.get("/api/schema/", {"format": "json"}).json()


def _operations(described):
    for path, methods in described["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_public_api_shows_no_security_requirement(described):
    assert "security" not in described
    assert "securitySchemes" not in described.get("components", {})
    assert all("security" not in operation for _p, _m, operation in _operations(described))


def test_every_operation_is_described_for_api_users_in_english(described):
    for path, _method, operation in _operations(described):
        assert operation["summary"] and operation["description"], path
        # No docstring written for this code's readers (reST markup, DRF's wording).
        assert "``" not in operation["description"], path
        assert "GenericViewSet" not in operation["description"], path
    text = json.dumps(described)
    assert "``" not in text
    assert described["components"]["schemas"]["Series"]["description"].startswith("One indicator")
    for indonesian in ("Kode", "Nama (Bahasa", "Pengenal", "Tahunan", "Satuan"):
        assert indonesian not in text


def test_an_item_takes_only_the_parameters_it_accepts(described):
    for path, _method, operation in _operations(described):
        if "{" not in path:
            continue
        query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert set(query) == {"format", "lang"}, path
        assert query["format"]["schema"]["enum"] == ["json"]


def test_items_are_found_by_the_keys_the_api_shows(described, client):
    assert set(described["paths"]) == {
        "/api/v1/",
        "/api/v1/indicators/",
        "/api/v1/indicators/{code}/",
        "/api/v1/codelists/",
        "/api/v1/codelists/{id}/",
        "/api/v1/series/",
        "/api/v1/observations/",
        "/api/v1/releases/",
        "/api/v1/releases/{slug}/",
        "/api/v1/news/",
        "/api/v1/news/{slug}/",
        "/api/v1/calendar/",
        "/api/v1/calendar/{slug}/",
        "/api/v1/series/{indicator}/{frequency}/{series_key}/vintages/",
    }
    # Series and calendar entries had routes by internal id, which the API never shows:
    # they are found by their public identifiers (indicator, frequency, key; slug).
    series_id = Series.objects.values_list("pk", flat=True).first()
    assert client.get(f"/api/v1/series/{series_id}/").status_code == 404
    assert client.get("/api/v1/calendar/1/").status_code == 404


def test_fields_that_can_be_null_are_nullable(described):
    schemas = described["components"]["schemas"]
    assert schemas["Release"]["properties"]["corrects"]["nullable"] is True
    assert schemas["Code"]["properties"]["parent"]["nullable"] is True
    assert schemas["NewsRelease"]["properties"]["release"]["nullable"] is True
    # A value's end of validity: null while it is current.
    assert schemas["Observation"]["properties"]["superseded_at"]["nullable"] is True
    assert "nullable" not in schemas["Observation"]["properties"]["published_at"]


def test_lists_declare_csv_and_every_error(described):
    for path, _method, operation in _operations(described):
        responses = operation["responses"]
        is_root = path == "/api/v1/"
        is_list = "{" not in path and not is_root
        assert ("text/csv" in responses["200"]["content"]) is is_list, path
        assert (XLSX_MEDIA_TYPE in responses["200"]["content"]) is is_list, path
        assert {"304", "400", "406", "429"} <= set(responses), path
        assert ("404" in responses) is not (is_list or is_root), path
        errors = responses["400"]["content"]["application/json"]["schema"]["$ref"]
        assert errors.endswith("/ParameterErrors")
    wide = described["paths"]["/api/v1/observations/"]["get"]["responses"]["200"]
    shapes = wide["content"]["application/json"]["schema"]["oneOf"]
    assert [shape["$ref"].rsplit("/", 1)[1] for shape in shapes] == [
        "PaginatedObservationList",
        "WideTable",
    ]


# --- bugs the fuzzing found ---


@pytest.mark.parametrize("page_size", ["1_0", "\u0661\u0660", "+5"])
def test_a_page_size_is_plain_ascii_digits(client, demo, page_size):
    response = client.get("/api/v1/observations/", {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]


def test_a_period_is_written_with_ascii_digits(client, demo):
    # Arabic-Indic digits: "٢٠٢٣" was read as 2023.
    response = client.get("/api/v1/observations/", {"period_start": "\u0662\u0660\u0662\u0663"})
    assert response.status_code == 400
    assert "period_start" in response.json()["errors"]


@pytest.mark.parametrize(
    ("url", "accept"),
    [("/api/v1/indicators/", "application/xml"), ("/api/v1/codelists/region/", "text/csv")],
)
def test_an_accept_header_it_cannot_satisfy_is_a_documented_406(client, demo, url, accept):
    response = client.get(url, HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}
