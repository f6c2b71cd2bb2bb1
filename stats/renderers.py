"""CSV for the read API: one header row, UTF-8, exact values, streamed.

Lists are not rendered through ``CSVRenderer.render`` (that would build the whole
file in memory): the views hand a row iterator to ``csv_streaming_response``, which
writes a few hundred rows per chunk while the database cursor is read. The observations
are formatted by PostgreSQL itself (``stats.api.statements``), so Python handles lines,
not cells: whole lines read from a server-side cursor (``csv_lines_response``), or,
sorted by series, the lines of each series as one value of a binary COPY
(``csv_series_response``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence

from django.conf import settings
from django.db import transaction
from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from config.replicas import read_connection

CSV_MEDIA_TYPE = "text/csv"
# A spreadsheet reads a cell that begins with one of these as a formula. A text cell that
# does, unless it is a plain number, is written with a leading apostrophe (OWASP's advice
# against CSV injection); the statements of stats/api/statements.py follow the same rule.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def csv_text(value):
    """A cell as written to CSV: text that a spreadsheet would run as a formula, disarmed."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


ROWS_PER_CHUNK = 500
# Chunks read from the database at a time by ``lines_csv_chunks``.
FETCH_CHUNKS = 4


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


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """Encode ``rows`` as CSV, ``ROWS_PER_CHUNK`` rows per yielded chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([csv_text(cell) for cell in row])
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
    return _csv_response(csv_chunks(header, rows), filename)


def _csv_response(chunks: Iterable[bytes], filename: str) -> StreamingHttpResponse:
    """The streamed CSV download of ``chunks`` (every CSV answer goes through here)."""
    # The connection is checked (CONN_HEALTH_CHECKS) before the 200 is promised: one the
    # database dropped while idle is replaced here, not found dead inside the stream's
    # transaction, where the server could only answer with a 500 or a cut download.
    read_connection().close_if_health_check_failed()
    response = StreamingHttpResponse(chunks, content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def csv_header_bytes(header: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(header)
    return buffer.getvalue().encode("utf-8")


def lines_csv_chunks(
    header: Sequence[str], sql: str, params: Sequence, *, time_zone: str
) -> Iterator[bytes]:
    """The header and the lines that ``sql`` gives (one text column: a whole CSV line,
    CRLF included), in chunks of ``ROWS_PER_CHUNK`` lines as ``csv_chunks`` sends them.

    The query runs on a server-side cursor in one transaction on the database of the
    request's reads (so rows are read as they are sent, never all at once), fetching
    ``FETCH_CHUNKS`` chunks at a time; its session time zone is ``time_zone``, so
    instants can be formatted in local time. One text value per line keeps the Python
    side to a join per chunk, where COPY's rows come from psycopg one read at a time.
    """
    head = csv_header_bytes(header)
    connection = read_connection()
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)",
                [time_zone],
            )
            session_zone = cursor.fetchone()[0]
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(ROWS_PER_CHUNK * FETCH_CHUNKS):
                for start in range(0, len(rows), ROWS_PER_CHUNK):
                    lines = rows[start : start + ROWS_PER_CHUNK]
                    yield head + "".join([line for (line,) in lines]).encode("utf-8")
                    head = b""
        if head:
            yield head
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [session_zone])


BINARY_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00"


def series_csv_chunks(
    header: Sequence[str], sql: str, params: Sequence, *, time_zone: str
) -> Iterator[bytes]:
    """The header and the values of ``sql`` (one text column: the CSV lines of one
    series each, see ``stats.api.statements.csv_lines_sql(per_series=True)``), one chunk per
    series, streamed by ``COPY (sql) TO STDOUT (FORMAT binary)``.

    PostgreSQL sends while the chunks go out, and Python handles a few hundred values, not
    a few hundred thousand rows; the binary format carries the text as it is (no
    escaping). Same transaction and time zone as ``lines_csv_chunks``.
    """
    head = csv_header_bytes(header)
    connection = read_connection()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)", [time_zone]
        )
        session_zone = cursor.fetchone()[0]
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
            for value in _binary_copy_values(copy):
                yield head + value
                head = b""
        if head:
            yield head
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [session_zone])


def _binary_copy_values(blocks: Iterable) -> Iterator[bytes]:
    """The values of a one-column binary COPY, from its data blocks as they come."""
    buffer = bytearray()
    started = ended = False
    for block in blocks:
        # Read to the end even after the trailer: the COPY must finish.
        if ended:
            continue
        buffer += block
        position = 0
        if not started:
            if len(buffer) < 19:
                continue
            if bytes(buffer[:11]) != BINARY_COPY_HEADER:
                raise ValueError("not a binary COPY stream")
            extension = int.from_bytes(buffer[15:19], "big")
            position = 19 + extension
            started = True
        while len(buffer) - position >= 2:
            fields = int.from_bytes(buffer[position : position + 2], "big", signed=True)
            if fields == -1:
                ended = True
                break
            if len(buffer) - position < 6:
                break
            size = int.from_bytes(buffer[position + 2 : position + 6], "big", signed=True)
            if size < 0:
                position += 6
                continue
            if len(buffer) - position < 6 + size:
                break
            yield bytes(buffer[position + 6 : position + 6 + size])
            position += 6 + size
        del buffer[:position]


def csv_series_response(
    *, header: Sequence[str], sql: str, params: Sequence, filename: str
) -> StreamingHttpResponse:
    """Like ``csv_lines_response``, one chunk per series (binary COPY)."""
    return _csv_response(
        series_csv_chunks(header, sql, params, time_zone=settings.TIME_ZONE), filename
    )


def csv_lines_response(
    *, header: Sequence[str], sql: str, params: Sequence, filename: str
) -> StreamingHttpResponse:
    """Like ``csv_streaming_response``, each line formatted by PostgreSQL."""
    return _csv_response(
        lines_csv_chunks(header, sql, params, time_zone=settings.TIME_ZONE), filename
    )
