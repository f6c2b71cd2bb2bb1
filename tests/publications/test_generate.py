"""Synthetic data at scale (generate_data): one new published release of exactly N values."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from publications.choices import ReleaseStatus
from publications.models import Release
from publications.services import release_create
from stats.choices import Unit
from stats.models import Code, Observation, Series, series_key


@pytest.fixture
def generated(db, capsys):
    call_command("generate_data", "--observations", "3000", "--seed", "7")
    return Release.objects.get(slug="synthetic-data"), capsys.readouterr().out


def test_generate_data_creates_exactly_n_published_observations_in_one_release(generated):
    release, output = generated
    assert release.status == ReleaseStatus.PUBLISHED
    assert release.published_at is not None
    assert "synthetic" in release.source.lower()
    observations = Observation.objects.filter(release=release)
    assert observations.count() == 3000
    assert Observation.objects.count() == 3000
    assert observations.current().count() == 3000
    assert set(observations.values_list("valid_from", flat=True)) == {release.published_at}
    assert set(observations.values_list("status", flat=True)) == {"normal"}
    assert "3,000 observations" in output
    assert "rows/s" in output


def test_generated_series_are_monthly_synthetic_indicators_with_valid_keys(generated):
    series = list(Series.objects.select_related("indicator").prefetch_related("codes"))
    assert len(series) == 10  # 3000 observations at 312 months each, the last one shorter
    codes = set(Code.objects.values_list("codelist_id", "code"))
    for one in series:
        assert one.indicator.code.startswith("SYN_")
        assert "sintetis" in one.indicator.name_id and "synthetic" in one.indicator.name_en
        assert one.frequency == "M" and one.indicator.frequencies == "M"
        assert set(one.dimensions) == {"region", "segment", "program"}
        assert one.key == series_key(one.dimensions, ["region", "segment", "program"])
        assert set(one.dimensions.items()) <= codes
        assert {(c.codelist_id, c.code) for c in one.codes.all()} == set(one.dimensions.items())
    months = sorted(Observation.objects.filter(series=series[0]).values_list("period", flat=True))
    assert months[0] == "2000-01" and months[-1] == "2025-12" and len(months) == 312


def test_generated_values_are_exact_and_respect_the_unit(generated):
    units = set()
    for value, unit, allowed in Observation.objects.values_list(
        "value", "series__indicator__unit", "series__indicator__negative_allowed"
    ):
        units.add(unit)
        assert isinstance(value, Decimal)
        if not allowed and not Unit.allows_negative(unit):
            assert value >= 0
        if unit == Unit.PERCENT:
            assert 0 <= value <= 100
    # A small run still covers counts, amounts and rates.
    assert {Unit.PERSONS, Unit.PERCENT} <= units


def test_persons_are_plausible_national_counts(generated):
    national = Observation.objects.filter(
        series__indicator__code="SYN_ACTIVE_PARTICIPANTS",
        series__key="region=ID,segment=_T,program=_T",
    ).order_by("period_start")
    first, last = national.first().value, national.last().value
    assert 5_000_000 < first < last < 100_000_000  # millions, growing


def test_a_second_run_is_refused_once_the_synthetic_series_hold_data(db):
    call_command("generate_data", "--observations", "700", "--seed", "3", stdout=io.StringIO())
    assert Observation.objects.count() == 700
    with pytest.raises(CommandError, match="--release: the synthetic series already hold data"):
        call_command("generate_data", "--observations", "700", "--release", "another")
    assert Observation.objects.count() == 700


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--observations", "0"], "--observations: must be at least 1"),
        (["--observations", "-5"], "--observations: must be at least 1"),
        (["--observations", "5000001"], "--observations: at most 5,000,000"),
        (["--observations", "10", "--release", "not a slug!"], "--release: 'not a slug!'"),
    ],
)
def test_bad_options_name_the_option_and_write_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_data", *args)
    assert Observation.objects.count() == 0
    assert not Release.objects.exists()


def test_an_existing_release_slug_is_refused(catalogue):
    release_create(slug="synthetic-data", title_id="Ada", title_en="Exists")
    with pytest.raises(CommandError, match="--release: a release with slug 'synthetic-data'"):
        call_command("generate_data", "--observations", "10")
    assert Observation.objects.count() == 0


def test_missing_observations_option_is_an_error(db):
    with pytest.raises(CommandError, match="--observations"):
        call_command("generate_data")
