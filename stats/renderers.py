"""CSV for the read API: one header row, UTF-8, exact values, streamed.

Lists are not rendered through ``CSVRenderer.render`` (that would build the whole
file in memory): the views hand a row iterator to ``csv_streaming_response``, which
writes a few hundred rows per chunk while the database cursor is read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

CSV_MEDIA_TYPE = "text/csv"
ROWS_PER_CHUNK = 500


class CSVRenderer(BaseRenderer):
    """Selected by ``?format=csv`` or ``Accept: text/csv``.

    ``render`` serves the rare non-streamed case (a list already in memory): a list
    of flat dicts, columns in the order of the first row.
    """

    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if not data:
            return b""
        rows = data if isinstance(data, list) else [data]
        header = list(rows[0])
        return b"".join(csv_chunks(header, ([row.get(c) for c in header] for row in rows)))


def csv_cell(value) -> str:
    if value is None:
        return ""
    return str(value)


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """Encode ``rows`` as CSV, ``ROWS_PER_CHUNK`` rows per yielded chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if count >= ROWS_PER_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            count = 0
    tail = buffer.getvalue()
    if tail:
        yield tail.encode("utf-8")


def csv_streaming_response(
    *, header: Sequence[str], rows: Iterable[Sequence], filename: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_chunks(header, rows), content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8"
    )
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
