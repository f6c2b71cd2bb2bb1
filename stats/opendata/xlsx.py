"""A table as an XLSX workbook: a "data" sheet and a "metadata" sheet; the one writer of
the indicator page's download and of the API's ``format=xlsx``.

openpyxl in write-only mode (rows are streamed to the file, never held as cells). A
spreadsheet stores numbers as binary floating point, which cannot hold every exact
value (a 17-digit rupiah amount, 0.1): the ``value`` column is a number for
calculation, and ``value_exact`` beside it is the exact value as text, as in the CSV.

Observations come as the CSV's lines (``stats.api.statements.csv_lines_sql``), so a
workbook has the CSV's columns and texts. A workbook is built in memory: at most
``MAX_ROWS`` rows (``TooManyRows`` past it; the CSV streams any size).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from rest_framework.renderers import BaseRenderer

from stats.api.rows import ObservationRows, spreadsheet_values
from stats.models import exact_text
from stats.renderers import lines_csv_chunks

EXACT_COLUMN = "value_exact"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Rows of one workbook, at most: a workbook is written in memory, not streamed.
MAX_ROWS = 100_000


class TooManyRows(ValueError):
    """The table has more rows than a workbook takes (``MAX_ROWS``)."""


class XLSXRenderer(BaseRenderer):
    """Selected by ``?format=xlsx`` or ``Accept`` of the XLSX media type, for lists: the
    views write the workbook themselves (``workbook``, ``observations_workbook``).

    ``render`` serves the rare case of a list already in memory: a list of flat dicts,
    columns in the order of the first row."""

    media_type = MEDIA_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        rows = data if isinstance(data, list) else [data] if data else []
        header = list(rows[0]) if rows else []
        return workbook(
            header=header,
            rows=([row.get(name) for name in header] for row in rows),
            metadata=[],
            value_column=None,
        )


def workbook(
    *,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    metadata: Sequence[tuple[str, str]],
    value_column: str | None = "value",
) -> bytes:
    """The workbook's bytes: ``rows`` in ``header`` order, with the exact text of
    ``value_column`` after it (when one is named); ``metadata`` as (field, text) lines on
    their own sheet."""
    book = Workbook(write_only=True)
    data = book.create_sheet("data")
    at = list(header).index(value_column) if value_column else -1
    bold = Font(bold=True)

    def heading(texts: Sequence[str]) -> list:
        cells = []
        for text in texts:
            cell = WriteOnlyCell(data, value=text)
            cell.font = bold
            cells.append(cell)
        return cells

    if at < 0:
        data.append(heading(header))
        for row in rows:
            data.append(list(row))
    else:
        data.append(heading([*header[: at + 1], EXACT_COLUMN, *header[at + 1 :]]))
        for row in rows:
            value = row[at]
            exact = exact_text(value) if isinstance(value, Decimal) else value
            data.append([*row[: at + 1], exact, *row[at + 1 :]])
    sheet = book.create_sheet("metadata")
    for field, text in metadata:
        sheet.append([field, text])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def observations_workbook(
    *,
    rows: ObservationRows,
    sql: str,
    params: Sequence,
    metadata: Sequence[tuple[str, str]],
) -> bytes:
    """The workbook of the observations whose CSV lines ``sql`` gives (``csv_lines_sql``,
    not per series: it ends with its ORDER BY), in the columns of ``rows.csv_header()``:
    the CSV's texts, exact values also as numbers, dates as dates. ``TooManyRows`` when
    there are more than ``MAX_ROWS``."""
    header = rows.csv_header()
    text = b"".join(
        lines_csv_chunks(
            header, f"{sql} LIMIT %s", [*params, MAX_ROWS + 1], time_zone=settings.TIME_ZONE
        )
    ).decode("utf-8")
    lines = csv.reader(io.StringIO(text, newline=""))
    next(lines)
    kinds = rows.csv_kinds()
    values = [spreadsheet_values(kinds, cells) for cells in lines]
    if len(values) > MAX_ROWS:
        raise TooManyRows(MAX_ROWS)
    return workbook(header=header, rows=values, metadata=metadata)
