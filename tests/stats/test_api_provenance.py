"""A derived value's formula and exact inputs in the API's observation rows (JSON and
CSV), for each derived kind of the demo; null for every other value."""

import csv
import io
import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from config.dbrole import database_owner
from stats.derived.provenance import formula_text, provenance_render
from stats.models import Observation
from tests.stats.test_api import body

OBSERVATIONS = "/api/v1/observations/"
NATIONAL = "region=ID,segment=_T,program=_T"
BPU = "region=ID,segment=BPU,program=_T"

pytestmark = pytest.mark.usefixtures("clear_cache")


def _input(role, indicator, key, period, value, release):
    return {
        "role": role,
        "indicator": indicator,
        "series_key": key,
        "period": period,
        "value": value,
        "release": release,
    }


# (indicator, series key, period): (formula, inputs), as the demo computes them.
EXPECTED = {
    # percent change (year on year)
    ("ACTIVE_PARTICIPANTS_YOY", NATIONAL, "2024"): (
        "8.7584215592 = (45200000 / 41560000 - 1) × 100",
        [
            _input("x", "ACTIVE_PARTICIPANTS", NATIONAL, "2024", "45200000", "angka-tahunan-2024"),
            _input("x", "ACTIVE_PARTICIPANTS", NATIONAL, "2023", "41560000", "angka-tahunan-2023"),
        ],
    ),
    # compound annual growth
    ("BPU_PARTICIPANTS_CAGR_3Y", BPU, "2023"): (
        "54.3328943175 = ((9190000 / 2500000) ^ (1/3) - 1) × 100",
        [
            _input("x", "ACTIVE_PARTICIPANTS", BPU, "2023", "9190000", "angka-tahunan-2023"),
            _input("x", "ACTIVE_PARTICIPANTS", BPU, "2020", "2500000", "antara-2023-ikn"),
        ],
    ),
    # multiple over n years
    ("BPU_PARTICIPANTS_MULTIPLE_3Y", BPU, "2023"): (
        "3.676 = 9190000 / 2500000",
        [
            _input("x", "ACTIVE_PARTICIPANTS", BPU, "2023", "9190000", "angka-tahunan-2023"),
            _input("x", "ACTIVE_PARTICIPANTS", BPU, "2020", "2500000", "antara-2023-ikn"),
        ],
    ),
    # ratio
    ("ACTIVE_COVERAGE_ELIGIBLE", NATIONAL, "2024"): (
        "44.4007858546 = 45200000 / 101800000 × 100",
        [
            _input("a", "ACTIVE_PARTICIPANTS", NATIONAL, "2024", "45200000", "angka-tahunan-2024"),
            _input("b", "ELIGIBLE_WORKERS", NATIONAL, "2024", "101800000", "angka-tahunan-2024"),
        ],
    ),
    # share of total
    ("ACTIVE_PARTICIPANTS_SEGMENT_SHARE", BPU, "2024"): (
        "21.9026548673 = 9900000 / 45200000 × 100",
        [
            _input("a", "ACTIVE_PARTICIPANTS", BPU, "2024", "9900000", "angka-tahunan-2024"),
            _input("b", "ACTIVE_PARTICIPANTS", NATIONAL, "2024", "45200000", "angka-tahunan-2024"),
        ],
    ),
    # per unit
    ("BENEFITS_PER_BENEFICIARY", NATIONAL, "2023"): (
        "15505882.3529411765 = 52720000000000 / 3400000",
        [
            _input("a", "BENEFITS_PAID", NATIONAL, "2023", "52720000000000", "angka-tahunan-2023"),
            _input("b", "BENEFICIARIES", NATIONAL, "2023", "3400000", "antara-2023-ikn"),
        ],
    ),
    # progress to target
    ("FUNDS_TARGET_PROGRESS", NATIONAL, "2023"): (
        "71.1588411588 = 712300000000000 / 1001000000000000 (target 2026) × 100",
        [
            _input(
                "x",
                "FUNDS_UNDER_MANAGEMENT",
                NATIONAL,
                "2023",
                "712300000000000",
                "angka-tahunan-2023",
            )
        ],
    ),
    # required growth to the target
    ("FUNDS_REQUIRED_GROWTH", NATIONAL, "2023"): (
        "12.0100637421 = ((1001000000000000 / 712300000000000) ^ (1/3) - 1) × 100",
        [
            _input(
                "x",
                "FUNDS_UNDER_MANAGEMENT",
                NATIONAL,
                "2023",
                "712300000000000",
                "angka-tahunan-2023",
            )
        ],
    ),
}


def _compact(inputs: list[dict]) -> str:
    return "; ".join(
        f"{i['role']}: {i['indicator']} {i['series_key']} {i['period']} {i['value']} {i['release']}"
        for i in inputs
    )


def _rows(client, **params) -> list[dict]:
    response = client.get(OBSERVATIONS, {"page_size": 10000, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.parametrize("wanted", list(EXPECTED), ids=[key[0] for key in EXPECTED])
def test_a_derived_row_gives_its_formula_and_exact_inputs_in_json(client, demo, wanted):
    code, key, period = wanted
    (row,) = [
        row
        for row in _rows(client, indicator=code, period_start=period, period_end=period)
        if row["series_key"] == key and row["period"] == period
    ]
    formula, inputs = EXPECTED[wanted]
    assert row["formula"] == formula
    assert row["inputs"] == inputs


@pytest.mark.parametrize("wanted", list(EXPECTED), ids=[key[0] for key in EXPECTED])
def test_a_derived_row_gives_its_formula_and_inputs_as_text_in_csv(client, demo, wanted):
    code, key, period = wanted
    response = client.get(
        OBSERVATIONS,
        {"indicator": code, "period_start": period, "period_end": period, "format": "csv"},
    )
    rows = list(csv.DictReader(io.StringIO(body(response).decode("utf-8"))))
    (row,) = [row for row in rows if row["series_key"] == key and row["period"] == period]
    formula, inputs = EXPECTED[wanted]
    assert row["formula"] == formula
    assert row["inputs"] == _compact(inputs)


def test_a_value_that_is_not_derived_has_null_formula_and_inputs(client, demo):
    rows = _rows(client, indicator="ACTIVE_PARTICIPANTS,FUNDS_UNDER_MANAGEMENT")
    assert rows
    assert {(row["formula"], row["inputs"]) for row in rows} == {(None, None)}
    response = client.get(
        OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS,FUNDS_UNDER_MANAGEMENT", "format": "csv"}
    )
    lines = list(csv.DictReader(io.StringIO(body(response).decode("utf-8"))))
    assert {(line["formula"], line["inputs"]) for line in lines} == {("", "")}


def test_every_derived_formula_in_the_api_is_the_one_function_s_neutral_text(client, demo):
    """The statement reads the formula in SQL (``rendered_sql``); ``formula_text`` gives the
    same text in Python: the two are one rule."""
    derived = list(
        Observation.objects.current().exclude(provenance=None).select_related("series__indicator")
    )
    provenance_render(derived)
    stored = {
        (o.series.indicator.code, o.series.key, o.period): formula_text(o.provenance)
        for o in derived
    }
    codes = sorted({code for code, _key, _period in stored})
    rows = _rows(client, indicator=",".join(codes))
    given = {(r["indicator"], r["series_key"], r["period"]): r["formula"] for r in rows}
    assert len(given) == len(stored) > 100
    assert given == stored


def test_a_transformed_derived_value_has_no_formula(client, demo):
    rows = _rows(client, indicator="ACTIVE_COVERAGE_ELIGIBLE", units="chg")
    assert rows
    assert {(row["formula"], row["inputs"]) for row in rows} == {(None, None)}


def test_a_page_of_derived_values_costs_the_queries_of_a_page_of_base_values(client, demo):
    def queries(**params) -> int:
        # Each first request of its own: nothing cached, same catalogue reads.
        client.get(OBSERVATIONS, {"indicator": "CLAIM_CASES"})
        with CaptureQueriesContext(connection) as captured:
            assert len(_rows(client, **params)) > 10
        return len(captured.captured_queries)

    base = queries(indicator="FUNDS_UNDER_MANAGEMENT")
    derived = queries(indicator="FUNDS_UNDER_MANAGEMENT_GROWTH")
    assert derived == base


def test_values_written_compactly_read_as_the_full_json_written_before_0011(client, demo):
    """Since stats 0011 the SQL engine stores a derived value's provenance compactly (its
    head's id and the input observations' ids). Rewritten as the full JSON that rows
    written before 0011 keep, every derived value of the demo reads the same in JSON, CSV
    and XLSX and on its indicator's page. (That the rendered JSON is what the engine
    wrote before 0011: test_derived.py's tests of both engines, against the oracle.)"""
    derived = list(Observation.objects.exclude(provenance=None).select_related("series__indicator"))
    compact = [o for o in derived if "head" in o.provenance]
    assert compact
    codes = ",".join(sorted({o.series.indicator.code for o in compact}))
    page = f"/en/indikator/{compact[0].series.indicator.code}/"

    def read():
        cache.clear()
        files = []
        for form in ("csv", "xlsx"):
            response = client.get(OBSERVATIONS, {"indicator": codes, "format": form})
            assert response.status_code == 200, response.content
            files.append(body(response))
        book = load_workbook(io.BytesIO(files[1]), read_only=True)
        sheet = [list(row) for row in book["data"].iter_rows(values_only=True)]
        html = client.get(page)
        assert html.status_code == 200
        return _rows(client, indicator=codes), files[0], sheet, html.content

    compact_read = read()
    provenance_render(compact)
    # Published rows are never updated: the guard and the vintage triggers are off for
    # this rewrite, which only the tables' owner may do.
    with database_owner(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE stats_observation DISABLE TRIGGER USER")
        for observation in compact:
            cursor.execute(
                "UPDATE stats_observation SET provenance = %s::jsonb WHERE id = %s",
                [json.dumps(observation.provenance), observation.pk],
            )
        cursor.execute("ALTER TABLE stats_observation ENABLE TRIGGER USER")
    assert not Observation.objects.filter(provenance__has_key="head").exists()
    assert read() == compact_read
