"""Small builders shared by the stats tests."""

import csv
import io

from stats.services import observations_import

HEADER = ["indicator", "region", "segment", "program", "period", "value", "status", "note"]


def csv_text(rows, header=HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        row = list(row)
        if header is HEADER:
            row += [""] * (len(HEADER) - len(row))
            if not row[6]:
                row[6] = "normal"
        writer.writerow(row)
    return buffer.getvalue()


def import_rows(release, rows, *, commit=True):
    """Import (indicator, region, segment, program, period, value[, status, note]) rows."""
    report = observations_import(stream=io.StringIO(csv_text(rows)), release=release, commit=commit)
    assert report.ok, report.errors
    return report
