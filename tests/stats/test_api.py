"""The observations, series, indicators and code lists of the public read API."""

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django.utils.http import parse_http_date

from publications.demo.loader import demo_load
from publications.services import release_create, release_publish
from stats.models import DerivedDefinition, Indicator, Observation, Series, Target
from tests.stats.helpers import admin_change, import_rows

WIB = ZoneInfo("Asia/Jakarta")
T1 = dt.datetime(2024, 2, 15, 10, 0, tzinfo=WIB)
T2 = dt.datetime(2025, 2, 15, 10, 0, tzinfo=WIB)
NATIONAL = "region=ID,segment=_T,program=_T"
OBSERVATIONS = "/api/v1/observations/"


pytestmark = pytest.mark.usefixtures("clear_cache")


@pytest.fixture
def published(catalogue):
    """Two published releases (the second revises 2023) and one draft that must stay hidden."""
    first = release_create(slug="rilis-2023", title_id="Rilis 2023", title_en="Release 2023")
    import_rows(
        first,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "35000000"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "40000000", "provisional"),
            ("ACTIVE_PARTICIPANTS", "ID", "BPU", "_T", "2023", "7600000"),
            ("ACTIVE_PARTICIPANTS", "ID", "PU", "_T", "2023", "25000000"),
            ("ACTIVE_PARTICIPANTS", "31", "_T", "_T", "2023", "4000000"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023-06", "39000000", "estimate"),
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2023", "686000000000000"),
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "JHT", "2023", "450000000000000"),
            ("FUNDS_UNDER_MANAGEMENT_YOY", "ID", "_T", "_T", "2023", "12.9"),
        ],
    )
    release_publish(release=first, at=T1)
    second = release_create(slug="rilis-2024", title_id="Rilis 2024", title_en="Release 2024")
    import_rows(
        second,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45000000"),
        ],
    )
    release_publish(release=second, at=T2)
    draft = release_create(slug="rilis-draf", title_id="Draf", title_en="Draft")
    import_rows(
        draft,
        [
            ("ACTIVE_PARTICIPANTS", "32", "_T", "_T", "2024", "999"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "777"),
        ],
    )
    return {"first": first, "second": second, "draft": draft}


def get(client, path=OBSERVATIONS, **params):
    return client.get(path, params)


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response):
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8"))))


def keyed(rows):
    return {(row["indicator"], row["series_key"], row["period"]): row["value"] for row in rows}


# --- observations: what is public ---


def test_observations_list_the_current_published_values(client, published):
    assert keyed(results(get(client, page_size=100))) == {
        ("ACTIVE_PARTICIPANTS", NATIONAL, "2022"): "35000000",
        ("ACTIVE_PARTICIPANTS", NATIONAL, "2023"): "41560000",
        ("ACTIVE_PARTICIPANTS", NATIONAL, "2024"): "45000000",
        ("ACTIVE_PARTICIPANTS", "region=ID,segment=BPU,program=_T", "2023"): "7600000",
        ("ACTIVE_PARTICIPANTS", "region=ID,segment=PU,program=_T", "2023"): "25000000",
        ("ACTIVE_PARTICIPANTS", "region=31,segment=_T,program=_T", "2023"): "4000000",
        ("ACTIVE_PARTICIPANTS", NATIONAL, "2023-06"): "39000000",
        ("FUNDS_UNDER_MANAGEMENT", NATIONAL, "2023"): "686000000000000",
        ("FUNDS_UNDER_MANAGEMENT", "region=ID,segment=_T,program=JHT", "2023"): "450000000000000",
        ("FUNDS_UNDER_MANAGEMENT_YOY", NATIONAL, "2023"): "12.9",
    }


def test_an_observation_row_carries_codes_labels_and_provenance(client, published):
    (row,) = results(get(client, indicator="FUNDS_UNDER_MANAGEMENT", program="JHT", lang="en"))
    assert row == {
        "indicator": "FUNDS_UNDER_MANAGEMENT",
        "indicator_name": "Funds under management",
        "frequency": "A",
        "series_key": "region=ID,segment=_T,program=JHT",
        "dimensions": {
            "region": {"code": "ID", "name": "Indonesia"},
            "segment": {"code": "_T", "name": row["dimensions"]["segment"]["name"]},
            "program": {"code": "JHT", "name": row["dimensions"]["program"]["name"]},
        },
        "period": "2023",
        "period_start": "2023-01-01",
        "period_end": "2023-12-31",
        "value": "450000000000000",
        "unit": "rupiah",
        "status": "normal",
        "note": "",
        "source": "",
        "reference_date": None,
        "release": "rilis-2023",
        "published_at": "2024-02-15T10:00:00+07:00",
        "superseded_at": None,
        # A value that is not derived has no formula and no inputs.
        "formula": None,
        "inputs": None,
    }
    assert row["dimensions"]["program"]["name"] != "JHT"


def test_names_follow_the_language_asked_for(client, published):
    english = results(get(client, indicator="FUNDS_UNDER_MANAGEMENT", program="JHT", lang="en"))
    indonesian = results(
        client.get(
            OBSERVATIONS,
            {"indicator": "FUNDS_UNDER_MANAGEMENT", "program": "JHT"},
            HTTP_ACCEPT_LANGUAGE="id",
        )
    )
    assert english[0]["indicator_name"] == "Funds under management"
    assert indonesian[0]["indicator_name"] == "Dana kelolaan"
    assert english[0]["dimensions"]["program"]["code"] == "JHT"


FILTERS = [
    ({"indicator": "FUNDS_UNDER_MANAGEMENT"}, lambda r: r["indicator"] == "FUNDS_UNDER_MANAGEMENT"),
    (
        {"indicator": "FUNDS_UNDER_MANAGEMENT,FUNDS_UNDER_MANAGEMENT_YOY"},
        lambda r: r["indicator"].startswith("FUNDS_UNDER_MANAGEMENT"),
    ),
    ({"region": "31"}, lambda r: r["dimensions"]["region"]["code"] == "31"),
    ({"segment": "BPU,PU"}, lambda r: r["dimensions"]["segment"]["code"] in {"BPU", "PU"}),
    ({"program": "JHT"}, lambda r: r["dimensions"]["program"]["code"] == "JHT"),
    ({"period_start": "2024"}, lambda r: r["period_start"] >= "2024-01-01"),
    ({"period_end": "2022"}, lambda r: r["period_end"] <= "2022-12-31"),
    ({"period_start": "2023-Q2", "period_end": "2023-S1"}, lambda r: r["period"] == "2023-06"),
    ({"frequency": "M"}, lambda r: r["frequency"] == "M"),
    ({"status": "estimate"}, lambda r: r["status"] == "estimate"),
    ({"release": "rilis-2024"}, lambda r: r["release"] == "rilis-2024"),
    ({"updated_since": "2025-01-01"}, lambda r: r["published_at"] >= "2025-02-15"),
    ({"as_of": "2024-12-31"}, lambda r: r["release"] == "rilis-2023"),
]


@pytest.mark.parametrize(("params", "holds"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_every_observation_filter_narrows_the_result(client, published, params, holds):
    everything = results(get(client, page_size=1000))
    narrowed = results(get(client, page_size=1000, **params))
    assert 0 < len(narrowed) < len(everything)
    assert all(holds(row) for row in narrowed)


def test_as_of_returns_the_earlier_vintage_after_a_revision(client, published):
    params = {"indicator": "ACTIVE_PARTICIPANTS", "region": "ID", "segment": "_T", "frequency": "A"}
    before_revision = keyed(results(get(client, as_of="2024-06-01T00:00:00+07:00", **params)))
    after_revision = keyed(results(get(client, **params)))
    assert before_revision[("ACTIVE_PARTICIPANTS", NATIONAL, "2023")] == "40000000"
    assert after_revision[("ACTIVE_PARTICIPANTS", NATIONAL, "2023")] == "41560000"
    assert ("ACTIVE_PARTICIPANTS", NATIONAL, "2024") not in before_revision


def test_as_of_before_the_first_publication_is_empty(client, published):
    assert results(get(client, as_of="2024-02-15T09:59:59+07:00")) == []
    assert len(results(get(client, as_of="2024-02-15T10:00:00+07:00"))) == 9


def test_as_of_accepts_utc_and_an_unencoded_plus_offset(client, published):
    utc = results(get(client, as_of="2024-02-15T03:00:00Z"))
    # "+07:00" sent unencoded arrives as " 07:00".
    plus = client.get(OBSERVATIONS + "?as_of=2024-02-15T10:00:00+07:00")
    assert len(utc) == 9
    assert len(results(plus)) == 9


DRAFT_URLS = [
    OBSERVATIONS,
    OBSERVATIONS + "?format=csv",
    OBSERVATIONS + "?indicator=ACTIVE_PARTICIPANTS&frequency=A&layout=wide",
    OBSERVATIONS + "?indicator=ACTIVE_PARTICIPANTS&frequency=A&layout=wide&format=csv",
    OBSERVATIONS + "?period_start=2024",
    OBSERVATIONS + "?ordering=-value",
    "/api/v1/series/",
    "/api/v1/series/?format=csv",
    "/api/v1/indicators/ACTIVE_PARTICIPANTS/",
]


@pytest.mark.parametrize("url", DRAFT_URLS)
def test_draft_values_never_appear(client, published, url):
    response = client.get(url)
    content = body(response)
    assert response.status_code == 200
    assert b"45000000" in content or b"ACTIVE_PARTICIPANTS" in content
    assert b"777" not in content
    assert b"999" not in content
    assert b"region=32" not in content


def test_a_draft_only_code_is_an_unknown_filter_value_for_the_public(client, published):
    # Region 32 exists as a code; its only series is under embargo: it is refused as a
    # code that does not exist is, so the answer does not tell that it exists.
    for url in (OBSERVATIONS, "/api/v1/series/"):
        embargoed, missing = get(client, url, region="32"), get(client, url, region="99")
        assert embargoed.status_code == missing.status_code == 400
        assert embargoed.json()["errors"]["region"] == [
            missing.json()["errors"]["region"][0].replace("99", "32")
        ]


def test_release_filter_refuses_a_draft_release(client, published):
    response = get(client, release="rilis-draf")
    assert response.status_code == 400
    assert "rilis-draf" in response.json()["errors"]["release"][0]


# --- strict input ---

BAD_INPUT = [
    ({"colour": "red"}, "colour", "unknown parameter"),
    ({"indicator": "NOT_AN_INDICATOR"}, "indicator", "unknown indicator"),
    ({"indicator": "ACTIVE_PARTICIPANTS,"}, "indicator", "empty"),
    ({"region": "99"}, "region", "unknown region code 99"),
    ({"segment": "BPU,XX"}, "segment", "unknown segment code XX"),
    ({"period_start": "2023-13"}, "period_start", "month 13"),
    ({"period_end": "23"}, "period_end", "not a period"),
    ({"as_of": "2024-02-30"}, "as_of", "not an ISO 8601"),
    ({"as_of": "yesterday"}, "as_of", "not an ISO 8601"),
    ({"as_of": "2999-01-01"}, "as_of", "in the future"),
    ({"as_of": "2999-01-01T00:00:00Z"}, "as_of", "in the future"),
    ({"updated_since": "2024-1-1"}, "updated_since", "not an ISO 8601"),
    ({"period_start": "2024", "period_end": "2023"}, "period_start", "after period_end"),
    ({"page_size": "ten"}, "page_size", "not a whole number"),
    ({"page_size": "0"}, "page_size", "between 1 and 10000"),
    ({"page_size": "10001"}, "page_size", "between 1 and 10000"),
    ({"status": "final"}, "status", "unknown value final"),
    ({"frequency": "W"}, "frequency", "unknown value W"),
    ({"release": "no-such-release"}, "release", "unknown or unpublished release"),
    ({"ordering": "colour"}, "ordering", "use one of"),
    ({"cursor": "not-a-cursor"}, "cursor", "not a cursor"),
    ({"format": "xml"}, "format", "json, csv or xlsx"),
    ({"lang": "fr"}, "lang", "use one of"),
    ({"layout": "tall"}, "layout", "long or wide"),
    ({"layout": "wide"}, "layout", "exactly one indicator"),
    ({"region": ""}, "region", "empty value"),
    ({"format": "csv", "page_size": "10"}, "page_size", "CSV and XLSX are not paged"),
]


@pytest.mark.parametrize(
    ("params", "parameter", "reason"), BAD_INPUT, ids=[str(p) for p, _, _ in BAD_INPUT]
)
def test_bad_input_is_a_400_naming_the_parameter(client, published, params, parameter, reason):
    response = get(client, **params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert parameter in errors
    assert reason in " ".join(errors[parameter])


def test_every_bad_parameter_is_reported_at_once(client, published):
    response = get(client, region="99", period_start="x", page_size="-1", colour="red")
    assert set(response.json()["errors"]) == {"region", "period_start", "page_size", "colour"}


def test_a_repeated_parameter_is_refused(client, published):
    response = client.get(OBSERVATIONS + "?region=31&region=ID")
    assert response.status_code == 400
    assert "more than once" in response.json()["errors"]["region"][0]


def test_layout_wide_needs_one_frequency(client, published):
    response = get(client, indicator="ACTIVE_PARTICIPANTS", layout="wide")
    assert response.status_code == 400
    assert "frequency=A" in response.json()["errors"]["layout"][0]


def test_errors_are_json_even_when_csv_was_asked_for(client, published):
    response = client.get(OBSERVATIONS, {"region": "99"}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response.json()["errors"]["region"]


# --- formats ---


def test_csv_and_json_agree_row_for_row(client, published):
    json_rows = results(get(client, page_size=10000, ordering="period"))
    table = csv_rows(get(client, format="csv", ordering="period"))
    assert len(table) == len(json_rows)
    for record, row in zip(json_rows, table, strict=True):
        assert row["indicator"] == record["indicator"]
        assert row["series_key"] == record["series_key"]
        assert row["period"] == record["period"]
        assert row["value"] == record["value"]
        assert row["status"] == record["status"]
        assert row["release"] == record["release"]
        assert row["published_at"] == record["published_at"]
        for codelist, code in record["dimensions"].items():
            assert row[codelist] == code["code"]
            assert row[f"{codelist}_name"] == code["name"]


def test_csv_has_a_stable_header_and_exact_values(client, published):
    response = get(
        client, format="csv", indicator="FUNDS_UNDER_MANAGEMENT,FUNDS_UNDER_MANAGEMENT_YOY"
    )
    text = body(response).decode("utf-8")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert text.splitlines()[0] == (
        "indicator,indicator_name,frequency,series_key,region,region_name,segment,segment_name,"
        "program,program_name,period,period_start,period_end,value,unit,status,note,source,"
        "reference_date,release,published_at,superseded_at,formula,inputs"
    )
    values = {row["value"] for row in csv.DictReader(io.StringIO(text))}
    assert values == {"686000000000000", "450000000000000", "12.9"}


def test_csv_is_chosen_by_the_accept_header(client, published):
    response = client.get(
        OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT"}, HTTP_ACCEPT="text/csv"
    )
    assert response.streaming
    assert len(csv_rows(response)) == 2


def test_wide_layout_puts_periods_in_rows_and_series_in_columns(client, published):
    response = get(client, indicator="ACTIVE_PARTICIPANTS", frequency="A", layout="wide")
    table = response.json()
    keys = [column["series_key"] for column in table["columns"]]
    assert keys == sorted(keys)
    national = keys.index(NATIONAL)
    jakarta = keys.index("region=31,segment=_T,program=_T")
    by_period = {row["period"]: row["values"] for row in table["rows"]}
    assert list(by_period) == ["2022", "2023", "2024"]
    assert by_period["2023"][national] == "41560000"
    assert by_period["2023"][jakarta] == "4000000"
    assert by_period["2022"][jakarta] is None


def test_wide_csv_matches_wide_json(client, published):
    params = {"indicator": "ACTIVE_PARTICIPANTS", "frequency": "A", "layout": "wide"}
    table = get(client, **params).json()
    rows = csv_rows(get(client, format="csv", **params))
    assert [row["period"] for row in rows] == [row["period"] for row in table["rows"]]
    for row, record in zip(rows, table["rows"], strict=True):
        for index, column in enumerate(table["columns"]):
            assert row[column["series_key"]] == (record["values"][index] or "")


# --- paging ---


def walk(client, first_url):
    seen, url, pages = [], first_url, 0
    while url:
        page = client.get(url).json()
        seen += [(r["series_key"], r["indicator"], r["period"]) for r in page["results"]]
        url = page["next"]
        pages += 1
    return seen, pages


@pytest.mark.parametrize("ordering", ["series", "period", "-period", "published_at", "-value"])
def test_a_cursor_walk_visits_every_row_once(client, published, ordering):
    everything = results(get(client, page_size=1000, ordering=ordering))
    seen, pages = walk(client, f"{OBSERVATIONS}?page_size=3&ordering={ordering}")
    assert seen == [(r["series_key"], r["indicator"], r["period"]) for r in everything]
    assert pages == 4


def test_a_cursor_walk_is_not_shifted_by_a_publication(client, published):
    snapshot = results(get(client, page_size=1000))
    first = client.get(OBSERVATIONS, {"page_size": 4}).json()
    revision = release_create(slug="rilis-2025", title_id="Rilis 2025", title_en="Release 2025")
    import_rows(
        revision,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2021", "30000000"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "46000000"),
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2023", "690000000000000"),
        ],
    )
    release_publish(release=revision)
    seen = [(r["series_key"], r["indicator"], r["period"], r["value"]) for r in first["results"]]
    rest, _pages = [], 0
    url = first["next"]
    while url:
        page = client.get(url).json()
        rest += [
            (r["series_key"], r["indicator"], r["period"], r["value"]) for r in page["results"]
        ]
        url = page["next"]
    assert seen + rest == [
        (r["series_key"], r["indicator"], r["period"], r["value"]) for r in snapshot
    ]
    # A new walk sees the publication.
    assert len(results(get(client, page_size=1000))) == len(snapshot) + 1


def test_previous_link_returns_the_previous_page(client, published):
    first = client.get(OBSERVATIONS, {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    assert first["previous"] is None
    back = client.get(second["previous"]).json()
    assert back["results"] == first["results"]
    assert back["previous"] is None


@pytest.mark.parametrize("url", ["/api/v1/indicators/", "/api/v1/series/", "/api/v1/codelists/"])
def test_a_cursor_walk_over_a_list_of_the_orm_visits_every_row_once_both_ways(
    client, published, url
):
    """The lists read through the ORM are cut by the same cursor condition as the
    observation pages (KeysetPagination.page_sql), here over joined fields too (series)."""
    everything = client.get(url, {"page_size": 1000}).json()["results"]
    pages = [client.get(url, {"page_size": 1}).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    assert len(pages) == len(everything) > 2
    assert [row for page in pages for row in page["results"]] == everything
    back = [pages[-1]]
    while back[-1]["previous"]:
        back.append(client.get(back[-1]["previous"]).json())
    assert [page["results"] for page in back] == [page["results"] for page in reversed(pages)]


def test_a_cursor_of_another_ordering_is_refused(client, published):
    first = client.get(OBSERVATIONS, {"page_size": 3, "ordering": "period"}).json()
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    response = get(client, cursor=cursor, ordering="-period")
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_ordering_sorts_the_rows(client, published):
    newest_first = results(get(client, ordering="-period", page_size=100))
    starts = [row["period_start"] for row in newest_first]
    assert starts == sorted(starts, reverse=True)
    by_value = [float(row["value"]) for row in results(get(client, ordering="-value"))]
    assert by_value == sorted(by_value, reverse=True)


@pytest.mark.parametrize("page_size", [10, 1000])
def test_query_count_does_not_grow_with_the_page(
    client, db, page_size, django_assert_max_num_queries
):
    demo_load()
    cache.clear()
    # A first request of its generation: it also reads the catalogue, the last publication
    # and the open-data licence (stats.opendata.licence), once each.
    with django_assert_max_num_queries(13):
        rows = results(get(client, page_size=page_size, region="ID,31,32,33"))
    visible = (
        Observation.objects.current()
        .filter(series__series_codes__code__codelist_id="region")
        .filter(series__series_codes__code__code__in=["ID", "31", "32", "33"])
        .count()
    )
    assert visible > 10
    assert len(rows) == min(page_size, visible)


def test_csv_streams_from_an_iterator(client, published, django_assert_max_num_queries):
    response = get(client, format="csv")
    assert response.streaming
    with django_assert_max_num_queries(6):
        rows = csv_rows(response)
    assert len(rows) == 10


# --- series ---


def test_series_filters_narrow_the_list(client, published):
    everything = results(get(client, "/api/v1/series/", page_size=100))
    funds = results(get(client, "/api/v1/series/", indicator="FUNDS_UNDER_MANAGEMENT"))
    jakarta = results(get(client, "/api/v1/series/", region="31"))
    monthly = results(get(client, "/api/v1/series/", frequency="M"))
    assert {s["series_key"] for s in funds} == {NATIONAL, "region=ID,segment=_T,program=JHT"}
    assert [s["series_key"] for s in jakarta] == ["region=31,segment=_T,program=_T"]
    assert [(s["indicator"], s["frequency"]) for s in monthly] == [("ACTIVE_PARTICIPANTS", "M")]
    assert len(everything) == 8


def test_series_carry_their_latest_public_value(client, published):
    national = [
        s
        for s in results(
            get(client, "/api/v1/series/", indicator="ACTIVE_PARTICIPANTS", frequency="A")
        )
        if s["series_key"] == NATIONAL
    ]
    assert national[0]["latest"] == {
        "period": "2024",
        "value": "45000000",
        "status": "normal",
        "published_at": "2025-02-15T10:00:00+07:00",
    }


def test_series_reject_unknown_codes(client, published):
    response = get(client, "/api/v1/series/", program="XYZ")
    assert response.status_code == 400
    assert "XYZ" in response.json()["errors"]["program"][0]


# --- a province by its ISO 3166-2 code as by its BPS code ---

# (the ISO form, the BPS form) of the same filter: the same rows, in the same order.
ISO_AND_BPS = [
    ("ID-JK", "31"),
    ("id-jk", "31"),
    ("Id-Jk", "31"),
    ("ID-JK,ID", "31,ID"),
    (" ID-JK , id ", "31,ID"),
    ("31,ID-JK", "31"),
    ("id", "ID"),
]


@pytest.mark.parametrize(("iso", "bps"), ISO_AND_BPS)
@pytest.mark.parametrize("path", [OBSERVATIONS, "/api/v1/series/"])
def test_a_province_is_named_by_its_iso_code_as_by_its_bps_code(client, published, path, iso, bps):
    by_iso = results(get(client, path, region=iso, page_size=100))
    by_bps = results(get(client, path, region=bps, page_size=100))
    assert by_iso == by_bps
    assert by_iso  # and something to compare
    # the rows carry the code itself, not the form it was asked by
    assert all(row["series_key"].startswith(("region=31,", "region=ID,")) for row in by_iso)


def test_a_csv_by_iso_code_is_the_csv_by_bps_code(client, published):
    by_iso = body(get(client, region="ID-JK", format="csv"))
    by_bps = body(get(client, region="31", format="csv"))
    assert by_iso == by_bps
    assert b",31," in by_iso


@pytest.mark.parametrize("region", ["ID-XX", "id-zz", "JK", "ID-", "31-ID"])
def test_an_unknown_iso_code_is_a_400_naming_the_parameter_and_the_value(client, published, region):
    response = get(client, region=region)
    assert response.status_code == 400
    assert response.json()["errors"]["region"] == [
        f"unknown region code {region}; see /api/v1/codelists/region/"
    ]


def test_the_iso_code_of_a_province_only_a_draft_uses_is_unknown_too(client, published):
    # Jawa Barat (32, ID-JB) has values only in the draft release.
    embargoed, missing = get(client, region="ID-JB"), get(client, region="ID-XX")
    assert embargoed.status_code == missing.status_code == 400
    assert embargoed.json()["errors"]["region"] == [
        missing.json()["errors"]["region"][0].replace("ID-XX", "ID-JB")
    ]


def test_the_code_list_gives_each_province_its_iso_code(client, published):
    response = client.get("/api/v1/codelists/region/")
    assert response.status_code == 200
    codes = {code["code"]: code["alt_code"] for code in response.json()["codes"]}
    assert codes["31"] == "ID-JK"
    assert codes["ID"] == "ID"


def test_the_schema_admits_the_iso_codes_in_any_case(client, published):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    parameters = schema["paths"]["/api/v1/observations/"]["get"]["parameters"]
    (region,) = [p for p in parameters if p["name"] == "region"]
    pattern = region["schema"]["pattern"]
    for value in ("31", "ID", "ID-JK", "id-jk", "31,ID-JK", "id"):
        assert re.search(pattern, value), value
    for value in ("ID-XX", "32", "jk"):  # unknown, only in a draft, not a code
        assert not re.search(pattern, value), value


# --- indicators ---


def _searched_text(code: str) -> str:
    """What the search reads of an indicator, in lower case: code, names, descriptions and
    search terms in both languages."""
    fields = ("code", "name_id", "name_en", "description_id", "description_en")
    fields += ("search_terms_id", "search_terms_en")
    return " ".join(Indicator.objects.values_list(*fields).get(code=code)).lower()


INDICATOR_FILTERS = [
    ({"q": "funds"}, lambda r: "fund" in _searched_text(r["code"])),
    ({"q": "AUM"}, lambda r: "aum" in _searched_text(r["code"])),
    ({"q": "dana kelolaan"}, lambda r: "FUNDS" in r["code"]),
    ({"topic": "dana"}, lambda r: r["topic"]["code"] == "dana"),
    ({"frequency": "M"}, lambda r: "M" in r["frequencies"]),
    ({"unit": "rupiah"}, lambda r: r["unit"] == "rupiah"),
    ({"derived": "true"}, lambda r: r["derived"] is True),
    ({"derived": "false"}, lambda r: r["derived"] is False),
]


@pytest.mark.parametrize(
    ("params", "holds"), INDICATOR_FILTERS, ids=[str(p) for p, _ in INDICATOR_FILTERS]
)
def test_every_indicator_filter_narrows_the_list(client, catalogue_public, params, holds):
    DerivedDefinition.objects.get_or_create(
        indicator=Indicator.objects.get(code="FUNDS_UNDER_MANAGEMENT_YOY"),
        defaults={"kind": "percent_change"},
    )
    everything = results(get(client, "/api/v1/indicators/", page_size=1000))
    narrowed = results(get(client, "/api/v1/indicators/", page_size=1000, **params))
    assert 0 < len(narrowed) < len(everything)
    assert all(holds(row) for row in narrowed)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"topic": "cuaca"}, "topic"),
        ({"unit": "furlongs"}, "unit"),
        ({"derived": "maybe"}, "derived"),
        ({"frequency": "D"}, "frequency"),
        ({"q": "x" * 201}, "q"),
        ({"region": "31"}, "region"),
    ],
)
def test_bad_indicator_filters_are_a_400(client, catalogue, params, parameter):
    response = get(client, "/api/v1/indicators/", **params)
    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_indicator_detail_shows_codes_in_use_latest_values_and_targets(client, published):
    series = Series.objects.get(indicator__code="ACTIVE_PARTICIPANTS", frequency="A", key=NATIONAL)
    Target.objects.create(
        series=series,
        period="2026",
        period_start=dt.date(2026, 1, 1),
        value=70_000_000,
        document="Peta jalan 2026",
    )
    detail = get(client, "/api/v1/indicators/ACTIVE_PARTICIPANTS/", lang="en").json()
    regions = next(d for d in detail["dimensions"] if d["id"] == "region")
    assert [code["code"] for code in regions["codes"]] == ["ID", "31"]
    latest = {(s["frequency"], s["series_key"]): s["latest"]["value"] for s in detail["series"]}
    assert latest[("A", NATIONAL)] == "45000000"
    assert latest[("M", NATIONAL)] == "39000000"
    assert detail["targets"] == [
        {
            "series_key": NATIONAL,
            "frequency": "A",
            "period": "2026",
            "value": "70000000",
            "document": "Peta jalan 2026",
            "note": "",
        }
    ]
    assert detail["name"] == "Active participants"
    assert detail["derivation"] is None


def test_derived_indicator_detail_shows_its_definition(client, catalogue_public):
    indicator = Indicator.objects.get(code="FUNDS_UNDER_MANAGEMENT_YOY")
    definition, _created = DerivedDefinition.objects.update_or_create(
        indicator=indicator,
        defaults={"kind": "percent_change", "periods": 1, "formula_en": "(x / x[-1] - 1) x 100"},
    )
    detail = get(client, "/api/v1/indicators/FUNDS_UNDER_MANAGEMENT_YOY/", lang="en").json()
    assert detail["derived"] is True
    assert detail["derivation"]["kind"] == "percent_change"
    assert detail["derivation"]["periods"] == 1
    assert detail["derivation"]["formula"] == definition.formula_en


def test_unknown_resources_are_404(client, catalogue):
    for url in (
        "/api/v1/indicators/NO_SUCH_THING/",
        "/api/v1/codelists/colour/",
        "/api/v1/nothing-here/",
        "/api/v1/observations/123/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["detail"]


def test_detail_refuses_list_parameters(client, catalogue):
    response = get(client, "/api/v1/indicators/ACTIVE_PARTICIPANTS/", topic="dana")
    assert response.status_code == 400
    assert "topic" in response.json()["errors"]


# --- code lists ---


def test_codelists_list_their_names_in_both_languages(client, catalogue_public):
    lists = {c["id"]: c for c in results(get(client, "/api/v1/codelists/"))}
    assert set(lists) == {"region", "segment", "program"}
    assert lists["region"]["code_count"] == 39
    assert lists["segment"]["name_en"] and lists["segment"]["name_id"]


def test_codelist_detail_lists_its_codes(client, catalogue_public):
    detail = get(client, "/api/v1/codelists/segment/", lang="en").json()
    codes = {code["code"]: code for code in detail["codes"]}
    assert set(codes) == {"_T", "PU", "BPU", "JAKON", "PMI"}
    assert codes["_T"]["is_total"] is True
    assert codes["BPU"]["name"] == codes["BPU"]["name_en"]


def test_codelist_csv_links_carry_no_format(client, catalogue_public):
    rows = csv_rows(get(client, "/api/v1/codelists/", format="csv"))
    assert [row["id"] for row in rows] == ["region", "segment", "program"]
    assert all(row["url"].endswith(f"/api/v1/codelists/{row['id']}/") for row in rows)


def test_a_csv_list_streams_in_the_language_asked_for(client, catalogue_public):
    rows = csv_rows(get(client, "/api/v1/indicators/", format="csv", lang="en", q="dana kelolaan"))
    assert "Funds under management" in {row["name"] for row in rows}


def test_the_language_asked_for_does_not_outlive_the_request(client, catalogue):
    before = translation.get_language()
    get(client, "/api/v1/codelists/", lang="en" if before != "en" else "id")
    assert translation.get_language() == before


def test_csv_is_refused_for_a_single_resource(client, catalogue):
    response = get(client, "/api/v1/indicators/ACTIVE_PARTICIPANTS/", format="csv")
    assert response.status_code == 400
    assert "lists only" in response.json()["errors"]["format"][0]


def test_an_indicator_edit_changes_the_validators(client, published, staff_user):
    before = get(client, "/api/v1/indicators/")
    # HTTP dates have whole seconds: the edit comes one second after the last change.
    edited = dt.datetime.fromtimestamp(parse_http_date(before["Last-Modified"]) + 1, tz=dt.UTC)
    # An edit in the admin: that starts a new cache generation.
    indicator = Indicator.objects.get(code="ACTIVE_PARTICIPANTS")
    editor = Client()
    editor.force_login(staff_user)
    admin_change(editor, indicator, name_en="Active members")
    Indicator.objects.filter(pk=indicator.pk).update(updated_at=edited)
    after = client.get(
        "/api/v1/indicators/", {"lang": "en"}, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"]
    )
    assert after.status_code == 200
    assert "Active members" in {row["name"] for row in after.json()["results"]}
    again = client.get("/api/v1/indicators/", HTTP_IF_NONE_MATCH=before["ETag"])
    assert again.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"indicator": "ACTIVE_PARTICIPANTS", "region": "ID", "segment": "_T", "program": "_T"},
        {"indicator": "ACTIVE_PARTICIPANTS,FUNDS_UNDER_MANAGEMENT", "segment": "_T"},
        {"region": "31"},
        {"frequency": "A", "program": "JHT,_T", "period_start": "2023"},
        {"indicator": "ACTIVE_PARTICIPANTS", "segment": "BPU", "as_of": "2024-03-01"},
    ],
)
def test_series_filters_read_the_series_index_without_joining_the_series_table(
    client, published, params, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import stats.filtersets

    with CaptureQueriesContext(connection) as queries:
        indexed = client.get(OBSERVATIONS, params)
    assert indexed.status_code == 200
    rows = indexed.json()["results"]
    assert rows
    # The page statement, written from the filters' SQL conditions, takes nothing from
    # the series table (see json_page_sql).
    (read,) = [query["sql"] for query in queries if "stats_observation o" in query["sql"]]
    assert "o.series_id = ANY(" in read
    assert "stats_series" not in read
    # The same answer from the SQL join that a catalogue too large for the index takes.
    cache.clear()
    monkeypatch.setattr(stats.filtersets, "SERIES_INDEX_MAX", 0)
    with CaptureQueriesContext(connection) as queries:
        joined = client.get(OBSERVATIONS, params)
    assert joined.json()["results"] == rows
    assert any('"stats_series"' in query["sql"] for query in queries)


def test_a_filter_matching_no_series_answers_an_empty_page(client, published):
    response = client.get(OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT", "segment": "BPU"})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_dates_come_from_the_database_in_iso_style(db):
    """The SQL that writes JSON and CSV text casts dates to text (config.settings)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW DateStyle")
        assert cursor.fetchone()[0].startswith("ISO")
        cursor.execute("SELECT DATE '2024-02-29'::text")
        assert cursor.fetchone()[0] == "2024-02-29"


def test_no_statement_is_compiled_by_jit(db):
    """The statements that format rows look costly to the planner and run in
    milliseconds; JIT compilation would add hundreds (config.settings)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


# --- an indicator's methodology and relations, as its pages show them ---


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("id", "Penduduk bekerja menurut Sakernas BPS dikurangi ASN, TNI dan Polri"),
        ("en", "The employed population from the BPS labour force survey (Sakernas) minus"),
    ],
)
def test_an_indicator_gives_its_methodology_in_the_language_asked_for(client, demo, lang, expected):
    response = client.get("/api/v1/indicators/ELIGIBLE_WORKERS/", {"lang": lang})
    assert response.status_code == 200
    indicator = response.json()
    assert indicator["methodology"].startswith(expected)
    assert indicator["methodology_id"].startswith("Penduduk bekerja menurut Sakernas")
    assert indicator["methodology_en"].startswith("The employed population")
    assert indicator["methodology_url"] == (
        f"http://testserver/{lang}/metodologi/kepesertaan/#def-ELIGIBLE_WORKERS"
    )
    # The methodology page shows the same text, at that anchor.
    page = client.get(f"/{lang}/metodologi/kepesertaan/").content.decode()
    assert 'id="def-ELIGIBLE_WORKERS"' in page and expected in page


def test_an_indicator_names_its_lookalike_and_the_indicators_computed_from_it(client, demo):
    growth = client.get("/api/v1/indicators/FUNDS_UNDER_MANAGEMENT_GROWTH/", {"lang": "en"}).json()
    (lookalike,) = growth["compare_with"]
    assert lookalike["indicator"] == "FUNDS_UNDER_MANAGEMENT_YOY"
    assert lookalike["url"] == "http://testserver/api/v1/indicators/FUNDS_UNDER_MANAGEMENT_YOY/"
    assert (lookalike["period"], lookalike["other_value"]) == ("2023", "12.9")
    assert lookalike["note"].startswith("The growth BPJS Ketenagakerjaan reported")
    # The derivation's formula is the kind's default when staff wrote none, as on the page.
    assert growth["derivation"]["formula"] == "(x[t] / x[t-k] - 1) × 100"
    funds = client.get("/api/v1/indicators/FUNDS_UNDER_MANAGEMENT/").json()
    assert funds["compare_with"] == []
    assert funds["used_by"] == [
        "FUNDS_REQUIRED_GROWTH",
        "FUNDS_TARGET_PROGRESS",
        "FUNDS_UNDER_MANAGEMENT_GROWTH",
    ]
    page = client.get("/en/indikator/FUNDS_UNDER_MANAGEMENT/").content.decode()
    for code in funds["used_by"]:
        assert f'href="/en/indikator/{code}/"' in page
