"""A table of observations as an XLSX workbook: a "data" sheet and a "metadata" sheet.

openpyxl in write-only mode (rows are streamed to the file, never held as cells). A
spreadsheet stores numbers as binary floating point, which cannot hold every exact
value (a 17-digit rupiah amount, 0.1): the ``value`` column is a number for
calculation, and ``value_exact`` beside it is the exact value as text, as in the CSV.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from stats.models import exact_text

EXACT_COLUMN = "value_exact"


def workbook(
    *,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    metadata: Sequence[tuple[str, str]],
    value_column: str = "value",
) -> bytes:
    """The workbook's bytes: ``rows`` in ``header`` order, with the exact text of
    ``value_column`` after it; ``metadata`` as (field, text) lines on their own sheet."""
    book = Workbook(write_only=True)
    data = book.create_sheet("data")
    at = list(header).index(value_column)
    bold = Font(bold=True)

    def heading(texts: Sequence[str]) -> list:
        cells = []
        for text in texts:
            cell = WriteOnlyCell(data, value=text)
            cell.font = bold
            cells.append(cell)
        return cells

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
