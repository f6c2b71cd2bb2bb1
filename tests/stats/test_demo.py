"""The demo data set carries every figure of the 2023 release, its history, targets and
provinces, and the derived values the release claims (loading: tests/publications/test_demo.py)."""

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest

from publications.models import Release
from stats.demo import catalogue
from stats.demo.loader import DATA, figures_2023
from stats.derived.provenance import provenance_render
from stats.models import Code, Indicator, Observation, Target
from stats.periods import parse_period


def _observation(row):
    key = f"region={row['region']},segment={row['segment']},program={row['program']}"
    return Observation.objects.published().filter(
        series__indicator__code=row["indicator"],
        series__key=key,
        period=row["period"],
        series__frequency=parse_period(row["period"]).frequency,
        value=Decimal(row["value"]),
    )


def test_demo_contains_every_figure_of_the_2023_release(demo):
    rows = figures_2023()
    assert len(rows) == 14
    for row in rows:
        match = _observation(row).filter(release__slug="antara-2023-ikn")
        assert match.count() == 1, row
        observation = match.get()
        assert observation.status == row["status"], row
        assert observation.source == row["source"]
        assert observation.note == row["note"]


def test_demo_contains_every_history_row_with_its_source(demo):
    with open(DATA / "history.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        match = _observation(row)
        assert match.exists(), row
        assert row["source"] in set(match.values_list("source", flat=True)), row


def test_demo_keeps_the_2023_release_figures_as_vintages_under_later_year_end_figures(demo):
    funds = (
        Observation.objects.published()
        .filter(
            series__indicator__code="FUNDS_UNDER_MANAGEMENT",
            series__key="region=ID,segment=_T,program=_T",
            period="2023",
        )
        .order_by("valid_from")
    )
    assert [o.value for o in funds] == [Decimal("686000000000000"), Decimal("712300000000000")]
    assert funds[0].valid_to == funds[1].valid_from


def test_demo_targets_are_loaded(demo):
    targets = {
        (t.series.indicator.code, t.period): t.value
        for t in Target.objects.select_related("series__indicator")
    }
    assert targets == {
        ("ACTIVE_PARTICIPANTS", "2026"): Decimal(70000000),
        ("FUNDS_UNDER_MANAGEMENT", "2026"): Decimal("1001000000000000"),
    }


def test_demo_has_the_38_provinces_with_bps_and_iso_codes(demo):
    provinces = Code.objects.filter(codelist_id="region").exclude(code="ID")
    assert provinces.count() == 38
    assert provinces.get(code="31").alt_code == "ID-JK"
    assert provinces.get(code="97").name_id == "Papua Pegunungan"
    iso = [province.alt_code for province in provinces]
    assert all(re.fullmatch(r"ID-[A-Z]{2}", code) for code in iso), iso
    assert len(set(iso)) == 38
    assert Code.objects.get(codelist_id="region", code="ID").alt_code == "ID"


def test_demo_fills_the_search_terms(demo):
    regions = set(Code.objects.filter(codelist_id="region").values_list("code", flat=True))
    assert set(catalogue.REGION_SEARCH_TERMS) <= regions
    for codelist in catalogue.CODELISTS:
        for code in codelist.get("codes", []):
            stored = Code.objects.get(codelist_id=codelist["id"], code=code["code"])
            assert stored.search_terms_id == code.get("search_terms_id", "")
    assert Code.objects.get(codelist_id="region", code="32").search_terms_id == "Jabar"
    assert "old age" in Code.objects.get(codelist_id="program", code="JHT").search_terms_en
    funds = Indicator.objects.get(code="FUNDS_UNDER_MANAGEMENT")
    assert "dana jaminan sosial" in funds.search_terms_id
    assert "assets under management" in funds.search_terms_en
    assert not Indicator.objects.filter(search_terms_id="").exists()


def test_illustrative_series_are_labelled_and_add_up(demo):
    illustrative = Observation.objects.filter(
        release__slug="ilustrasi-bulanan-provinsi", provenance__isnull=True
    )
    assert illustrative.exists()
    assert set(illustrative.values_list("status", flat=True)) == {"estimate"}
    # Stored in English, the API's language-neutral form (pages translate it).
    assert all("Illustrative" in source for source in illustrative.values_list("source", flat=True))
    provinces_2023 = illustrative.filter(period="2023", series__frequency="A")
    assert provinces_2023.count() == 38
    assert sum(o.value for o in provinces_2023) == Decimal(41560000)
    december = illustrative.get(
        series__indicator__code="ACTIVE_PARTICIPANTS",
        period="2023-12",
        series__key__startswith="region=ID,",
    )
    assert december.value == Decimal(41560000)


def test_every_indicator_of_the_demo_has_data(demo):
    empty = Indicator.objects.exclude(series__observations__valid_from__isnull=False)
    assert list(empty.values_list("code", flat=True)) == []


def test_demo_data_is_the_projects_own_copy():
    here = Path(DATA)
    assert (here / "figures-2023.csv").exists()
    assert "shared" not in str(here.resolve().relative_to(Path(__file__).resolve().parents[2]))


def assert_exact(stored: Decimal, expected: Decimal) -> None:
    assert stored == expected


def _derived_as_of_the_2023_release(code, segment="_T"):
    from stats.selectors import observations_as_of

    at = Release.objects.get(slug="antara-2023-ikn").published_at
    return observations_as_of(at=at).get(
        series__indicator__code=code,
        period="2023",
        series__key=f"region=ID,segment={segment},program=_T",
    )


@pytest.mark.parametrize(
    ("code", "segment", "expected", "expression"),
    [
        ("BPU_PARTICIPANTS_MULTIPLE_3Y", "BPU", "3.04", "3.04 = 7600000 / 2500000"),
        ("BPU_PARTICIPANTS_CAGR_3Y", "BPU", "44.8631288688", None),
        ("ACTIVE_COVERAGE_ELIGIBLE", "_T", "40", "40 = 40000000 / 100000000 × 100"),
        ("ACTIVE_PARTICIPANTS_SEGMENT_SHARE", "BPU", "19", "19 = 7600000 / 40000000 × 100"),
        ("ACTIVE_PARTICIPANTS_TARGET_PROGRESS", "_T", "57.1428571429", None),
        ("FUNDS_TARGET_PROGRESS", "_T", "68.5314685315", None),
        ("ACTIVE_PARTICIPANTS_REQUIRED_GROWTH", "_T", "20.5071132088", None),
        ("FUNDS_REQUIRED_GROWTH", "_T", "13.423572098", None),
        ("BENEFITS_PER_BENEFICIARY", "_T", "11764705.8823529412", None),
        (
            "SCHOLARSHIP_PER_CHILD",
            "_T",
            "4291666.6666666667",
            "4291666.6666666667 = 309000000000 / 72000",
        ),
        ("ACTIVE_PARTICIPANTS_YOY", "_T", "13.3144475921", None),
        ("FUNDS_UNDER_MANAGEMENT_GROWTH", "_T", "9.2896174863", None),
    ],
)
def test_demo_derived_values_reproduce_the_2023_release(demo, code, segment, expected, expression):
    observation = _derived_as_of_the_2023_release(code, segment)
    assert_exact(observation.value, Decimal(expected))
    assert observation.release.slug == "antara-2023-ikn"
    if expression:
        provenance_render([observation])
        assert observation.provenance["expression"] == expression
