"""The import benchmark's CSV file of synthetic values (stats.generate's value model);
generate_data itself: tests/publications/test_generate.py."""

import csv
import io
from decimal import Decimal

import pytest

from bench.bench_import import COLUMNS, observation_rows, write_observations_csv
from publications.services import release_create
from stats import services
from stats.models import Observation, Series
from stats.services import observations_import
from tests.stats.helpers import HEADER

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


def test_notes_with_tabs_backslashes_and_line_breaks_are_stored_exactly(catalogue):
    notes = ["tab\there", "back\\slash \\N", "two\nlines", "cr\rhere", 'quote " and, comma']
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(HEADER)
    for month, note in enumerate(notes, start=1):
        writer.writerow(
            ["ACTIVE_PARTICIPANTS", "ID", "_T", "_T", f"2023-{month:02d}", "1.5", "normal", note]
        )
    buffer.seek(0)
    release = release_create(slug="notes", title_id="Catatan", title_en="Notes")
    report = observations_import(stream=buffer, release=release, commit=True)
    assert report.ok, report.errors
    stored = dict(Observation.objects.filter(release=release).values_list("period", "note"))
    assert stored == {f"2023-{month:02d}": note for month, note in enumerate(notes, start=1)}
    assert set(Observation.objects.values_list("value", flat=True)) == {Decimal("1.5")}
