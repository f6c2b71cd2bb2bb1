"""What PostgreSQL formats is byte for byte what a reference formatter in Python writes
(tests/stats/oracle.py) from the rows the ORM keeps: the observation CSV (through COPY)
and the JSON pages (rows formatted by the query)."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection

from publications.services import release_create, release_publish
from stats.models import Observation
from stats.services import observations_import
from tests.stats import oracle
from tests.stats.helpers import csv_text
from tests.stats.test_api import OBSERVATIONS, T2, WIB, body, published  # noqa: F401

pytestmark = pytest.mark.usefixtures("clear_cache")

HEADER = ["indicator", "region", "segment", "program", "period", "value", "status", "note"]
AWKWARD_NOTE = 'revised, see "Catatan"\nline two'
UNICODE_NOTE = "tab\there, back\\slash, é, ü, \u2028 and 💡"


@pytest.fixture
def awkward(published):  # noqa: F811
    """Values and notes that test the formatting: quotes, commas, newlines, dates, decimals."""
    release = release_create(slug="rilis-khusus", title_id="Khusus", title_en="Special")
    rows = [
        ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2024", "1001000000000000", "normal", ""),
        ("FUNDS_UNDER_MANAGEMENT_YOY", "ID", "_T", "_T", "2024", "0.0500", "estimate", ""),
        ("ACTIVE_PARTICIPANTS", "31", "_T", "_T", "2024", "4100000", "provisional", "x"),
        ("ACTIVE_PARTICIPANTS", "ID", "BPU", "_T", "2024", "7700000", "normal", "a,b"),
        ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "JHT", "2024", "0.000", "normal", UNICODE_NOTE),
    ]
    # The first row refers to a day; the others have none.
    dates = ["2024-06-30", "", "", "", ""]
    text = csv_text(
        [(*row, day) for row, day in zip(rows, dates, strict=True)],
        header=[*HEADER, "reference_date"],
    )
    report = observations_import(stream=io.StringIO(text), release=release, commit=True)
    assert report.ok, report.errors
    # A note with a line break cannot come in through the import (one row per line) but
    # can be stored (an edit of the draft): the downloads must carry it exactly.
    Observation.objects.filter(release=release, note="x").update(note=AWKWARD_NOTE)
    # Published at an instant with microseconds, as a live publication is.
    release_publish(release=release, at=T2 + dt.timedelta(days=30, microseconds=123456))
    return release


def csv_both_ways(client, monkeypatch, **params) -> tuple[bytes, bytes]:
    """The API's CSV (lines formatted by PostgreSQL) and the reference's."""
    params = {"format": "csv", **params}
    by_copy = client.get(OBSERVATIONS, params)
    assert by_copy.status_code == 200
    assert by_copy.streaming
    assert by_copy["Content-Type"] == "text/csv; charset=utf-8"
    indicator = params.get("indicator", "")
    name = indicator.lower().replace(",", "-") if indicator else "observations"
    assert by_copy["Content-Disposition"] == f'inline; filename="{name}.csv"'
    return body(by_copy), oracle.csv_body(params)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lang": "en"},
        {"ordering": "-value"},
        {"ordering": "-published_at", "region": "ID,31"},
        {"indicator": "FUNDS_UNDER_MANAGEMENT,FUNDS_UNDER_MANAGEMENT_YOY"},
        {"as_of": "2024-12-31"},
        {"status": "provisional"},
    ],
)
def test_copy_csv_is_the_python_csv(client, awkward, monkeypatch, params):
    by_copy, by_python = csv_both_ways(client, monkeypatch, **params)
    assert by_copy == by_python
    assert by_copy.count(b"\r\n") >= 2


def test_copy_csv_writes_exact_values_dates_and_quotes(client, awkward, monkeypatch):
    by_copy, by_python = csv_both_ways(client, monkeypatch, lang="en")
    assert by_copy == by_python
    text = by_copy.decode("utf-8")
    assert text.startswith("indicator,indicator_name,frequency,series_key,region,region_name,")
    assert ",1001000000000000,rupiah," in text
    assert ",12.9," in text and ",0.05," in text
    assert ",2024-06-30,rilis-khusus," in text
    assert '"revised, see ""Catatan""\nline two"' in text
    assert '"a,b"' in text
    # Its superseded_at, formula and inputs, empty: it is current and not derived.
    assert "2025-03-17T10:00:00.123456+07:00,,,\r\n" in text
    assert "2024-02-15T10:00:00+07:00,,,\r\n" in text
    # The draft stays hidden in both.
    assert "777" not in text and "rilis-draf" not in text


def test_copy_csv_of_nothing_is_the_header(client, awkward, monkeypatch):
    by_copy, by_python = csv_both_ways(client, monkeypatch, period_start="2030")
    assert by_copy == by_python
    assert by_copy.count(b"\r\n") == 1


def test_copy_csv_leaves_the_session_time_zone_alone(client, awkward, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("SHOW TimeZone")
        before = cursor.fetchone()[0]
    csv_both_ways(client, monkeypatch)
    with connection.cursor() as cursor:
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == before


def json_both_ways(client, monkeypatch, **params) -> tuple[list, list]:
    """Every page of a cursor walk, rows formatted by PostgreSQL, and what each must be
    (the reference's rows, from the ORM's, with the page's links)."""
    from django.core.cache import cache

    cache.clear()
    pages, query = [], {"page_size": 2, **params}
    response = client.get(OBSERVATIONS, query)
    while True:
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json"
        pages.append(response)
        following = response.json()["next"]
        if following is None:
            break
        response = client.get(following)
    return pages, oracle.json_pages(pages, query)


def _without_cursor(content: bytes) -> bytes:
    # The cursor pins the instant of its first page: the two walks differ in that only.
    import re

    return re.sub(rb"cursor=[A-Za-z0-9_-]+", b"cursor=", content)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lang": "en"},
        {"ordering": "-value"},
        {"ordering": "value", "lang": "en"},
        {"ordering": "period"},
        {"ordering": "-period", "region": "ID,31"},
        {"ordering": "published_at"},
        {"ordering": "-published_at", "segment": "_T", "program": "_T"},
        {"as_of": "2024-12-31"},
        {"indicator": "FUNDS_UNDER_MANAGEMENT", "program": "JHT,_T"},
    ],
)
def test_sql_json_pages_are_the_serializer_pages(client, awkward, monkeypatch, params):
    by_sql, by_python = json_both_ways(client, monkeypatch, **params)
    assert len(by_sql) == len(by_python) > 1
    for ours, theirs in zip(by_sql, by_python, strict=True):
        assert _without_cursor(ours.content) == _without_cursor(theirs.content)


def test_sql_json_keeps_awkward_text_exact(client, awkward, monkeypatch):
    response = client.get(
        OBSERVATIONS, {"indicator": "FUNDS_UNDER_MANAGEMENT", "period_start": "2024"}
    )
    (row,) = [row for row in response.json()["results"] if row["note"]]
    assert row["note"] == UNICODE_NOTE
    assert row["value"] == "0"
    # As DRF writes it: UTF-8, and U+2028 escaped so the JSON is a JavaScript literal too.
    assert "é".encode() in response.content and b"\\u2028" in response.content


def _rows(pages) -> list[dict]:
    return [row for page in pages for row in page.json()["results"]]


@pytest.mark.parametrize(
    "params",
    [
        {"indicator": "ACTIVE_PARTICIPANTS", "period_start": "2023", "period_end": "2023"},
        {"indicator": "ACTIVE_PARTICIPANTS", "period_start": "2023-S1", "ordering": "-period"},
        {"region": "ID", "period_end": "2023-06"},
        {"segment": "_T", "status": "provisional,estimate"},
        {"program": "_T,JHT", "release": "rilis-khusus", "ordering": "value"},
        {"region": "ID,31", "updated_since": "2025-01-01"},
        {"frequency": "A", "segment": "_T", "as_of": "2024-12-31", "lang": "en"},
        {"indicator": "FUNDS_UNDER_MANAGEMENT", "status": "normal", "ordering": "-published_at"},
        # No filter on the series: the page reads the ORM's statement as its source.
        {"period_start": "2024", "status": "normal,provisional"},
        {"release": "rilis-2023", "ordering": "period"},
    ],
)
def test_sql_json_filters_keep_the_rows_the_orm_filters_keep(client, awkward, monkeypatch, params):
    by_sql, by_python = json_both_ways(client, monkeypatch, **params)
    assert [_without_cursor(page.content) for page in by_sql] == [
        _without_cursor(page.content) for page in by_python
    ]
    kept = _rows(by_sql)
    # Each case keeps some rows and leaves others: the filter was applied, not ignored.
    everything = _rows(json_both_ways(client, monkeypatch, **{"lang": params.get("lang", "id")})[0])
    assert 0 < len(kept) < len(everything)


def test_sql_json_without_the_series_index_reads_the_same_pages(client, awkward, monkeypatch):
    import stats.filtersets

    params = {"region": "ID", "segment": "_T", "period_start": "2023", "ordering": "-value"}
    indexed, _by_python = json_both_ways(client, monkeypatch, **params)
    monkeypatch.setattr(stats.filtersets, "SERIES_INDEX_MAX", 0)
    joined, _by_python = json_both_ways(client, monkeypatch, **params)
    assert _rows(indexed) == _rows(joined) != []


def test_page_statement_is_one_text_for_every_request_of_one_shape(client, awkward, monkeypatch):
    """Lists are array parameters: PostgreSQL prepares the statement once per shape."""
    import config.db

    texts = []
    execute = config.db.PreparedCursor.execute

    def recording(cursor, query, params=None, **kwargs):
        texts.append(query)
        return execute(cursor, query, params, **kwargs)

    monkeypatch.setattr(config.db.PreparedCursor, "execute", recording)
    for region in ("ID", "31", "ID,31"):
        response = client.get(OBSERVATIONS, {"region": region, "status": "normal"})
        assert response.status_code == 200
        assert response.json()["results"]
    assert len(texts) == 3 and len(set(texts)) == 1
    assert "ANY(" in texts[0]


@pytest.mark.parametrize("ordering", ["series", "-period", "-published_at", "value"])
def test_sql_json_walks_back_over_the_pages_it_walked_forward(
    client, awkward, monkeypatch, ordering
):
    pages = [
        client.get(OBSERVATIONS, {"region": "ID,31", "page_size": 2, "ordering": ordering}).json()
    ]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    assert len(pages) > 2
    back = [pages[-1]]
    while back[-1]["previous"]:
        back.append(client.get(back[-1]["previous"]).json())
    assert [page["results"] for page in back] == [page["results"] for page in reversed(pages)]


def test_sql_json_names_dates_and_instants_before_2000_and_notes_with_spaces(
    client,
    published,  # noqa: F811
    monkeypatch,
):
    """The page statement names dates by days and instants by microseconds from
    2000-01-01 (negative before it), and a note with spaces follows them."""
    release = release_create(slug="rilis-lama", title_id="Lama", title_en="Old")
    rows = [
        ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "1998", "100", "estimate", "two  spaces", ""),
        ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "1998-02", "90", "normal", "", "1998-02-14"),
        ("ACTIVE_PARTICIPANTS", "31", "_T", "_T", "1999-12", "7", "normal", "a b  c", ""),
    ]
    text = csv_text(rows, header=[*HEADER, "reference_date"])
    report = observations_import(stream=io.StringIO(text), release=release, commit=True)
    assert report.ok, report.errors
    release_publish(release=release, at=dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=WIB))
    by_sql, by_python = json_both_ways(client, monkeypatch, release="rilis-lama")
    assert [_without_cursor(page.content) for page in by_sql] == [
        _without_cursor(page.content) for page in by_python
    ]
    assert sorted(row["period"] for row in _rows(by_sql)) == ["1998", "1998-02", "1999-12"]
    notes = sorted(row["note"] for row in _rows(by_sql))
    assert notes == ["", "a b  c", "two  spaces"]
    (february,) = [row for row in _rows(by_sql) if row["period"] == "1998-02"]
    assert (february["period_start"], february["period_end"]) == ("1998-02-01", "1998-02-28")
    assert february["reference_date"] == "1998-02-14"
    assert february["published_at"] == "1999-12-31T23:59:59.999999+07:00"


# -- formulas: text a spreadsheet would run is disarmed in every CSV, never a value ----------


@pytest.fixture
def formulas(published):  # noqa: F811
    """Notes a spreadsheet would run as formulas (stored as edits of the draft: the import
    refuses them), a negative value and a note that is a plain negative number."""
    release = release_create(slug="rumus", title_id="Rumus", title_en="Formulas")
    rows = [
        ("FUNDS_UNDER_MANAGEMENT_YOY", "ID", "_T", "_T", "2026", "-5.25", "normal", "n1"),
        ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2026", "1", "normal", "n2"),
        ("ACTIVE_PARTICIPANTS", "31", "_T", "_T", "2026", "2", "normal", "n3"),
        ("ACTIVE_PARTICIPANTS", "32", "_T", "_T", "2026", "3", "normal", "n4"),
    ]
    report = observations_import(stream=io.StringIO(csv_text(rows)), release=release, commit=True)
    assert report.ok, report.errors
    notes = {"n1": '=HYPERLINK("http://x","y")', "n2": "+1+1", "n3": "@SUM(A1)", "n4": "-12.5"}
    for placeholder, note in notes.items():
        Observation.objects.filter(release=release, note=placeholder).update(note=note)
    release_publish(release=release, at=T2 + dt.timedelta(days=400))
    return notes


def test_csv_disarms_text_a_spreadsheet_would_run_and_leaves_values_and_numbers(
    client, formulas, monkeypatch
):
    by_copy, reference = csv_both_ways(client, monkeypatch, period_start="2026")
    assert by_copy == reference
    rows = list(csv.DictReader(io.StringIO(by_copy.decode())))
    notes = {
        row["region"]: row["note"] for row in rows if row["indicator"] == "ACTIVE_PARTICIPANTS"
    }
    assert notes == {"ID": "'+1+1", "31": "'@SUM(A1)", "32": "-12.5"}
    funds = next(row for row in rows if row["indicator"] == "FUNDS_UNDER_MANAGEMENT_YOY")
    assert funds["note"] == '\'=HYPERLINK("http://x","y")'
    assert funds["value"] == "-5.25"
    # JSON is data, not a spreadsheet: the text stays as stored.
    page = client.get(
        OBSERVATIONS, {"period_start": "2026", "indicator": "FUNDS_UNDER_MANAGEMENT_YOY"}
    )
    assert page.json()["results"][0]["note"] == formulas["n1"]


def test_metadata_csv_disarms_text_too(client, published):  # noqa: F811
    from stats.models import Indicator

    Indicator.objects.filter(code="ACTIVE_PARTICIPANTS").update(name_id="=cmd|' /C calc'!A0")
    response = client.get("/api/v1/indicators/", {"format": "csv", "lang": "id"})
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(body(response).decode()))}
    assert rows["ACTIVE_PARTICIPANTS"]["name"] == "'=cmd|' /C calc'!A0"


def test_every_row_names_its_source_in_json_and_csv(client, demo):
    """An estimate's source ("illustrative") travels with it: it must never pass for a
    reported figure in a download."""
    query = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=31&frequency=A"
    rows = client.get(query).json()["results"]
    assert rows and all(row["status"] == "estimate" for row in rows)
    assert {row["source"] for row in rows} == {
        "Illustrative: generated from annual figures, not official data"
    }
    text = b"".join(client.get(query + "&format=csv").streaming_content).decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["source"] for line in lines] == [row["source"] for row in rows]
