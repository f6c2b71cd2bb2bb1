"""Synthetic data at scale (bench.generate): one new published release of exactly N values;
the import benchmark's CSV file of synthetic values (bench.generate's value model)."""

import io
from decimal import Decimal

import pytest

from bench.bench_import import COLUMNS, observation_rows, write_observations_csv
from bench.generate import main
from publications.choices import ReleaseStatus
from publications.models import Release
from publications.services import release_create
from stats import services
from stats.choices import Unit
from stats.models import Code, Observation, Series, series_key
from stats.services import observations_import


@pytest.fixture
def generated(db, capsys):
    main(["--observations", "3000", "--seed", "7"])
    return Release.objects.get(slug="synthetic-data"), capsys.readouterr().out


def test_generate_creates_exactly_n_published_observations_in_one_release(generated):
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
    main(["--observations", "700", "--seed", "3"])
    assert Observation.objects.count() == 700
    with pytest.raises(SystemExit, match="--release: the synthetic series already hold data"):
        main(["--observations", "700", "--release", "another"])
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
    with pytest.raises(SystemExit, match=message):
        main(args)
    assert Observation.objects.count() == 0
    assert not Release.objects.exists()


def test_an_existing_release_slug_is_refused(catalogue):
    release_create(slug="synthetic-data", title_id="Ada", title_en="Exists")
    with pytest.raises(SystemExit, match="--release: a release with slug 'synthetic-data'"):
        main(["--observations", "10"])
    assert Observation.objects.count() == 0


def test_missing_observations_option_is_an_error(db, capsys):
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "required: --observations" in capsys.readouterr().err


# -- the benchmark's CSV -----------------------------------------------------------------


def test_bench_csv_rows_are_accepted_by_the_importer(catalogue):
    buffer = io.StringIO()
    written, series = write_observations_csv(buffer, rows=1200, seed=5)
    assert written == 1200
    header = buffer.getvalue().splitlines()[0]
    assert header == ",".join(COLUMNS)
    release = release_create(slug="bench", title_id="Uji", title_en="Bench")
    buffer.seek(0)
    report = observations_import(stream=buffer, release=release, commit=True)
    assert report.ok, report.errors[:5]
    assert report.rows == 1200 and report.written == 1200
    assert Observation.objects.filter(release=release).count() == 1200
    assert Series.objects.count() == series
    stored = Observation.objects.filter(release=release, status="provisional").first()
    assert stored.note == "provisional, to be revised with the audited figures"


def test_bench_rows_cover_every_region_segment_and_programme(catalogue):
    rows = list(observation_rows(rows=3 * 39 * 5 * 6, seed=1))
    assert {row[0] for row in rows} == {
        "ACTIVE_PARTICIPANTS",
        "EMPLOYED_POPULATION",
        "FUNDS_UNDER_MANAGEMENT",
    }
    assert len({tuple(row[:4]) for row in rows}) == 3 * 39 * 5 * 6
    assert all(Decimal(row[5]) >= 0 for row in rows)


# -- the optimised write path keeps what it writes exact ----------------------------------


@pytest.mark.parametrize("rows", [1000, 1057])  # an exact multiple of the batch, and not
def test_a_file_of_many_batches_is_written_completely(catalogue, monkeypatch, rows):
    monkeypatch.setattr(services, "BATCH_SIZE", 100)
    buffer = io.StringIO()
    write_observations_csv(buffer, rows=rows, seed=9)
    buffer.seek(0)
    release = release_create(slug="batches", title_id="Batch", title_en="Batches")
    report = observations_import(stream=buffer, release=release, commit=True)
    assert report.ok and report.written == rows
    assert Observation.objects.filter(release=release).count() == rows
