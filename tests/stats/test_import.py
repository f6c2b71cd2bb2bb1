"""The validated CSV import: every error kind, all-or-nothing, the preview."""

import csv
import io
from decimal import Decimal

import pytest

from publications.services import release_create, release_observations_import, release_publish
from stats.models import Observation, Series
from stats.services import ImportRefused, observations_import
from tests.stats.helpers import HEADER, csv_text, import_rows


@pytest.fixture
def release(catalogue):
    return release_create(slug="uji", title_id="Uji", title_en="Test")


@pytest.fixture
def published_2022(catalogue):
    """Active participants 2022 = 35,300,000 and 2023 = 41,560,000, published."""
    earlier = release_create(slug="awal", title_id="Awal", title_en="Earlier")
    import_rows(
        earlier,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "35300000"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000"),
        ],
    )
    release_publish(release=earlier)
    return earlier


def run(release, text, commit=True):
    return observations_import(stream=io.StringIO(text), release=release, commit=commit)


GOOD = ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000")


@pytest.mark.parametrize(
    ("bad_row", "column", "reason"),
    [
        (("NO_SUCH_INDICATOR", "ID", "_T", "_T", "2023", "1"), "indicator", "unknown indicator"),
        (("ACTIVE_PARTICIPANTS", "99", "_T", "_T", "2023", "1"), "region", "unknown code '99'"),
        (("ACTIVE_PARTICIPANTS", "ID", "XYZ", "_T", "2023", "1"), "segment", "unknown code"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023-13", "1"), "period", "month 13"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "23", "1"), "period", "is not a period"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023-Q3", "1"), "period", "is quarterly"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "banyak"), "value", "is not a number"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "7,6"), "value", "use a dot"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "-5"), "value", "cannot be negative"),
        (
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1", "final"),
            "status",
            "is not one of",
        ),
        (("ACTIVE_PARTICIPANTS", "ID", "", "_T", "2023", "1"), "segment", "a code is required"),
        (
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1.12345678901"),
            "value",
            "decimal places",
        ),
        (
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1" + "0" * 20),
            "value",
            "digits before",
        ),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1E+25"), "value", "not a number"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "NaN"), "value", "not a number"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1_000"), "value", "not a number"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "\u0661\u0662"), "value", "digits 0-9"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1,5"), "value", "use a dot"),
        (("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1", "normal", "a\x00b"), "note", "NUL"),
        (
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1", "normal", "=1+2"),
            "note",
            "formula",
        ),
        (
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1", "normal", "+1"),
            "note",
            "formula",
        ),
        (
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1", "normal", "-x"),
            "note",
            "formula",
        ),
        (
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1", "normal", "@A1"),
            "note",
            "formula",
        ),
    ],
)
def test_each_error_kind_is_reported_with_line_and_column_and_nothing_is_written(
    release, bad_row, column, reason
):
    other = ("ACTIVE_PARTICIPANTS", "ID", "PU", "_T", "2023", "25000000")
    report = run(release, csv_text([other, bad_row]))
    assert not report.ok
    assert [(e.line, e.column) for e in report.errors] == [(3, column)]
    assert reason in report.errors[0].message
    assert not Observation.objects.exists()
    assert not report.committed


@pytest.mark.parametrize(
    ("cell", "bad"),
    [(5, "-5"), (5, "1,5"), (5, " 1 2"), (5, "1" + "0" * 20), (6, "final"), (7, "=1+2")],
)
def test_a_bad_cell_after_rows_that_share_the_other_cells_gets_the_same_message(release, cell, bad):
    # Cells an earlier row passed are not checked again: a row with a new bad cell
    # among them must still be checked in full, with the message it gets alone.
    good = ["ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000", "normal", "a note"]
    row = list(good)
    row[cell] = bad
    alone = run(release, csv_text([row]))
    after = run(release, csv_text([good, row]))
    assert [(e.line, e.column, e.message) for e in after.errors] == [
        (e.line + 1, e.column, e.message) for e in alone.errors
    ]
    assert len(after.errors) == 1
    assert not Observation.objects.exists()


def test_duplicate_series_and_period_in_the_file_names_the_first_line(release):
    report = run(
        release, csv_text([GOOD, ("ACTIVE_PARTICIPANTS", "ID", "PU", "_T", "2023", "1"), GOOD])
    )
    assert [(e.line, e.column) for e in report.errors] == [(4, "period")]
    assert "duplicate of line 2" in report.errors[0].message
    assert not Observation.objects.exists()


def test_every_failing_row_is_reported_not_only_the_first(release):
    rows = (
        [GOOD]
        + [("NOPE", "ID", "_T", "_T", "2023", "1")] * 3
        + [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2019", "x")]
    )
    report = run(release, csv_text(rows))
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "indicator"),
        (4, "indicator"),
        (5, "indicator"),
        (6, "value"),
    ]
    assert Observation.objects.count() == 0


def test_missing_required_column_is_reported_on_the_header(release):
    header = [c for c in HEADER if c != "value"]
    report = run(
        release, csv_text([("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "normal", "")], header)
    )
    assert [(e.line, e.column) for e in report.errors] == [(1, "value")]
    assert "required column is missing" in report.errors[0].message


def test_missing_dimension_column_is_reported_per_row(release):
    header = ["indicator", "region", "segment", "period", "value"]
    report = run(release, csv_text([("ACTIVE_PARTICIPANTS", "ID", "_T", "2023", "1")], header))
    assert [(e.line, e.column) for e in report.errors] == [(2, "program")]
    assert "column is required" in report.errors[0].message


def test_unknown_column_and_wrong_width_are_reported(release):
    text = (
        "indicator,region,segment,program,period,value,colour\n"
        "ACTIVE_PARTICIPANTS,ID,_T,_T,2023,1,red\n"
    )
    report = run(release, text)
    assert [(e.line, e.column) for e in report.errors] == [(1, "colour")]
    text = "indicator,region,segment,program,period,value\nACTIVE_PARTICIPANTS,ID,_T,_T,2023\n"
    report = run(release, text)
    assert report.errors[0].line == 2 and "expected 6 columns" in report.errors[0].message


def test_empty_file_and_header_only_file_are_errors(release):
    assert not run(release, "").ok
    assert "no rows" in run(release, ",".join(HEADER) + "\n").errors[0].message


def test_a_good_file_imports_every_row_into_the_draft_release(release):
    rows = [
        GOOD,
        ("ACTIVE_PARTICIPANTS", "31", "_T", "_T", "2023", "4000000", "estimate", "ilustrasi"),
        ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2023-06", "686000000000000", "provisional"),
        ("FUNDS_UNDER_MANAGEMENT_YOY", "ID", "_T", "_T", "2023", "-1.5"),
    ]
    report = run(release, csv_text(rows))
    assert report.ok and report.committed
    assert (report.new, report.revised, report.unchanged, report.written) == (4, 0, 0, 4)
    jakarta = Observation.objects.get(series__key="region=31,segment=_T,program=_T")
    assert (jakarta.value, jakarta.status, jakarta.note) == (
        Decimal(4000000),
        "estimate",
        "ilustrasi",
    )
    assert jakarta.valid_from is None  # a draft until its release is published
    monthly = Observation.objects.get(period="2023-06")
    assert monthly.series.frequency == "M" and str(monthly.period_end) == "2023-06-30"


def test_import_creates_missing_series_once(release):
    run(release, csv_text([("ACTIVE_PARTICIPANTS", "32", "PU", "JHT", "2023", "10")]))
    series = Series.objects.get(key="region=32,segment=PU,program=JHT")
    assert sorted(series.codes.values_list("codelist_id", "code")) == [
        ("program", "JHT"),
        ("region", "32"),
        ("segment", "PU"),
    ]


def test_preview_lists_new_revised_and_unchanged_and_writes_nothing(published_2022):
    release = release_create(slug="revisi", title_id="Revisi", title_en="Revision")
    rows = [
        ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "36000000"),  # +1.98 %
        ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000"),  # unchanged
        ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45200000"),  # new
    ]
    report = run(release, csv_text(rows), commit=False)
    assert (report.new, report.revised, report.unchanged) == (1, 1, 1)
    revision = report.revised_sample[0]
    assert (revision.old_value, revision.new_value) == (Decimal(35300000), Decimal(36000000))
    assert revision.change_percent == Decimal("1.98") and not revision.warning
    assert report.unchanged_sample[0].period == "2023"
    assert report.new_sample[0].period == "2024"
    assert not Observation.objects.filter(release=release).exists()


def test_large_revision_is_flagged(published_2022, settings):
    settings.ANGKA_REVISION_WARNING_PERCENT = 10
    release = release_create(slug="besar", title_id="x", title_en="x")
    report = run(
        release, csv_text([("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "40000000")]), False
    )
    assert report.revised_sample[0].change_percent == Decimal("13.31")
    assert report.revised_sample[0].warning and report.warnings == 1


def test_status_change_alone_is_a_revision(published_2022):
    release = release_create(slug="status", title_id="x", title_en="x")
    report = run(
        release,
        csv_text([("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000", "provisional")]),
        commit=False,
    )
    assert (report.revised, report.unchanged) == (1, 0)


def test_unchanged_rows_are_not_written_again(published_2022):
    release = release_create(slug="sama", title_id="x", title_en="x")
    report = run(release, csv_text([GOOD]))
    assert report.ok and report.written == 0
    assert not Observation.objects.filter(release=release).exists()


def test_reimporting_into_the_same_draft_replaces_its_draft_values(release):
    run(release, csv_text([("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1")]))
    report = run(release, csv_text([("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "2")]))
    assert report.replaced_drafts == 1
    assert list(Observation.objects.filter(release=release).values_list("value", flat=True)) == [
        Decimal(2)
    ]


def test_import_into_a_published_release_is_refused(published_2022):
    with pytest.raises(ImportRefused, match="draft"):
        release_observations_import(
            stream=io.StringIO(csv_text([GOOD])), release=published_2022, commit=True
        )


def test_byte_order_mark_and_upper_case_header_are_accepted(release):
    text = "\ufeff" + csv_text([GOOD]).replace("indicator", "Indicator", 1)
    assert run(release, text).ok


def test_a_user_without_the_data_entry_role_cannot_import(release, django_user_model):
    outsider = django_user_model.objects.create_user(username="tamu", password="x", is_staff=True)
    with pytest.raises(ImportRefused, match="edit release"):
        release_observations_import(
            stream=io.StringIO(csv_text([GOOD])), release=release, commit=True, user=outsider
        )
    assert not Observation.objects.exists()


def test_notes_with_tabs_backslashes_quotes_and_commas_are_stored_exactly(catalogue):
    notes = ["tab\there", "back\\slash \\N", 'quote " and, comma']
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


@pytest.mark.parametrize("note", ["two\nlines", "cr\rhere", "crlf\r\nhere"])
def test_a_line_break_inside_a_quoted_value_is_refused_with_its_line_and_column(catalogue, note):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerow(["ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023-01", "1", "normal", "ok"])
    writer.writerow(["ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023-02", "2", "normal", note])
    writer.writerow(["ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023-03", "3", "normal", "ok"])
    buffer.seek(0)
    release = release_create(slug="patah", title_id="Patah", title_en="Broken")
    report = observations_import(stream=buffer, release=release, commit=True)
    assert [(e.line, e.column) for e in report.errors] == [(3, "note")]
    assert "line break" in report.errors[0].message
    assert report.rows == 3
    assert not Observation.objects.filter(release=release).exists()


def test_a_quote_never_closed_is_refused_and_does_not_swallow_the_rows_after_it(catalogue):
    text = (
        "indicator,region,segment,program,period,value,status,note\n"
        "ACTIVE_PARTICIPANTS,ID,_T,_T,2023-01,1,normal,ok\n"
        'ACTIVE_PARTICIPANTS,ID,_T,_T,2023-02,2,normal,"a stray quote\n'
        "ACTIVE_PARTICIPANTS,ID,_T,_T,2023-03,3,normal,ok\n"
        "ACTIVE_PARTICIPANTS,ID,_T,_T,2023-04,4,normal,ok\n"
    )
    release = release_create(slug="kutip", title_id="Kutip", title_en="Quote")
    report = observations_import(stream=io.StringIO(text), release=release, commit=True)
    assert not report.ok
    assert [e.line for e in report.errors] == [3]
    assert "never closed" in report.errors[0].message
    assert not Observation.objects.filter(release=release).exists()
