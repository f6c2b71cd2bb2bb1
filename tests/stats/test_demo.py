"""The demo data set carries every figure of the 2023 release and loads idempotently."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from publications.models import Release
from stats.demo.loader import DATA, demo_load, figures_2023
from stats.models import Code, Indicator, Observation, Series, Target
from stats.periods import parse_period


@pytest.fixture
def demo(db):
    demo_load()


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


def test_illustrative_series_are_labelled_and_add_up(demo):
    illustrative = Observation.objects.filter(release__slug="ilustrasi-bulanan-provinsi")
    assert illustrative.exists()
    assert set(illustrative.values_list("status", flat=True)) == {"estimate"}
    assert all("Ilustratif" in source for source in illustrative.values_list("source", flat=True))
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


def counts():
    return (
        Observation.objects.count(),
        Series.objects.count(),
        Release.objects.count(),
        Target.objects.count(),
        Code.objects.count(),
        Indicator.objects.count(),
    )


def test_loading_the_demo_twice_duplicates_nothing(db, capsys):
    call_command("load_demo", "--with-staff")
    first = counts()
    call_command("load_demo", "--with-staff")
    assert counts() == first
    output = capsys.readouterr().out
    assert "0 release(s) published now" in output and "password unchanged" in output


def test_demo_data_is_the_projects_own_copy():
    here = Path(DATA)
    assert (here / "figures-2023.csv").exists()
    assert "shared" not in str(here.resolve().relative_to(Path(__file__).resolve().parents[2]))
