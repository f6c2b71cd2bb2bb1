"""Every write of the statistics domain: series, observations, the validated import.

The import streams the file once. Each row is checked (indicator, codes, period and
its frequency, value and its sign, status, duplicates inside the file) and compared
with the values published now, so the same pass yields the preview (new, revised,
unchanged) and, when asked to commit, writes the rows inside one transaction that is
rolled back if any row failed: either the whole file lands or nothing does.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import operator
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import DataError
from psycopg import sql as pg_sql

from .choices import Frequency, ObservationStatus
from .models import (
    VALUE_DECIMAL_PLACES,
    VALUE_MAX_DIGITS,
    Code,
    Indicator,
    Observation,
    RevisionOrderError,
    Series,
    SeriesCode,
    series_key,
)
from .periods import PeriodError, parse_period
from .renderers import FORMULA_STARTS

REQUIRED_COLUMNS = ("indicator", "period", "value")
OPTIONAL_COLUMNS = ("status", "note", "source", "reference_date")
# Rows compared and written together; PostgreSQL stores one batch while the next is read.
BATCH_SIZE = 50_000
_LOOKUP_CHUNK = 2000
MAX_REPORTED_ERRORS = 100_000
PREVIEW_SAMPLE = 200
# Series whose codes were checked once, per import (a file has rarely more).
_SERIES_CACHE_SIZE = 200_000
# Distinct texts of a status, note, source or reference date cell remembered as valid.
_KNOWN_TEXTS = 10_000
_STATUSES = frozenset(ObservationStatus.values)
_MAX_INTEGER_DIGITS = VALUE_MAX_DIGITS - VALUE_DECIMAL_PLACES


# Import messages are in English whatever the interface language, so a report reads the
# same in a log, a terminal and the admin.
FREQUENCY_WORDS: dict[str, str] = {
    Frequency.ANNUAL: "annual",
    Frequency.SEMIANNUAL: "semi-annual",
    Frequency.QUARTERLY: "quarterly",
    Frequency.MONTHLY: "monthly",
}


class ImportRefused(Exception):
    """The import cannot start at all (e.g. the release is not a draft)."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass(slots=True)
class ChangePreview:
    line: int
    indicator: str
    series_key: str
    period: str
    new_value: Decimal
    new_status: str
    old_value: Decimal | None = None
    old_status: str | None = None
    change_percent: Decimal | None = None
    warning: bool = False


@dataclass
class ImportReport:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    replaced_drafts: int = 0
    warnings: int = 0
    new_sample: list[ChangePreview] = field(default_factory=list)
    revised_sample: list[ChangePreview] = field(default_factory=list)
    unchanged_sample: list[ChangePreview] = field(default_factory=list)
    written: int = 0
    committed: bool = False

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, line: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(line, column, message))


@dataclass(slots=True)
class _Row:
    line: int
    series_ref: tuple[int, str, str]  # indicator id, frequency, key
    indicator_code: str
    dimensions: dict[str, str]
    period: str
    period_start: dt.date
    period_end: dt.date
    value: Decimal
    status: str
    note: str
    source: str
    reference_date: dt.date | None


@dataclass(frozen=True, slots=True)
class _IndicatorInfo:
    id: int
    code: str
    frequencies: str
    allows_negative: bool
    dimensions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Columns:
    """Positions of the columns in the rows of one file; ``codes`` picks the code cells."""

    indicator: int
    period: int
    value: int
    status: int | None
    note: int | None
    source: int | None
    reference_date: int | None
    codes: Callable[[list[str]], object]


def _no_codes(values: list[str]) -> tuple:
    return ()


def series_get_or_create(
    *, indicator: Indicator, frequency: str, dimensions: dict[str, str]
) -> Series:
    """The series of an indicator at one frequency and combination of codes."""
    order = list(indicator.dimensions.order_by("order", "id").values_list("id", flat=True))
    missing = [codelist for codelist in order if codelist not in dimensions]
    if missing or set(dimensions) - set(order):
        raise ValueError(
            f"{indicator.code} needs codes for exactly {', '.join(order)}; got {sorted(dimensions)}"
        )
    ordered = {codelist: dimensions[codelist] for codelist in order}
    key = series_key(ordered, order)
    existing = Series.objects.filter(indicator=indicator, frequency=frequency, key=key).first()
    if existing:
        return existing
    codes = {
        (code.codelist_id, code.code): code
        for code in Code.objects.filter(codelist_id__in=order, code__in=ordered.values())
    }
    unknown = [f"{k}={v}" for k, v in ordered.items() if (k, v) not in codes]
    if unknown:
        raise ValueError(f"unknown codes: {', '.join(unknown)}")
    with transaction.atomic():
        series = Series.objects.create(
            indicator=indicator, frequency=frequency, key=key, dimensions=ordered
        )
        SeriesCode.objects.bulk_create(
            SeriesCode(series=series, code=codes[(k, v)]) for k, v in ordered.items()
        )
    return series


def series_bulk_create(
    refs: Iterable[tuple[int, str, str]],
    dimensions_by_ref: dict,
    code_ids: dict[tuple[str, str], int],
) -> dict[tuple[int, str, str], int]:
    """Create many series at once; return their ids by (indicator id, frequency, key)."""
    refs = list(refs)
    Series.objects.bulk_create(
        [
            Series(
                indicator_id=ind,
                frequency=freq,
                key=key,
                dimensions=dimensions_by_ref[(ind, freq, key)],
            )
            for ind, freq, key in refs
        ],
        ignore_conflicts=True,
    )
    created = {}
    for chunk_start in range(0, len(refs), 1000):
        chunk = refs[chunk_start : chunk_start + 1000]
        for series_id, ind, freq, key in Series.objects.filter(
            indicator_id__in={r[0] for r in chunk}, key__in={r[2] for r in chunk}
        ).values_list("id", "indicator_id", "frequency", "key"):
            if (ind, freq, key) in dimensions_by_ref:
                created[(ind, freq, key)] = series_id
    SeriesCode.objects.bulk_create(
        [
            SeriesCode(series_id=created[ref], code_id=code_ids[(codelist, code)])
            for ref in refs
            for codelist, code in dimensions_by_ref[ref].items()
        ],
        ignore_conflicts=True,
    )
    return created


# What _parse_value accepts, as one pattern: the common case in one C call. Anything it
# does not match (spaces around, too many digits, not a number) takes the checks below,
# which say what is wrong.
_PLAIN_VALUE = re.compile(
    rf"[+-]?0*[0-9]{{1,{_MAX_INTEGER_DIGITS}}}(?:\.[0-9]{{1,{VALUE_DECIMAL_PLACES}}})?"
)


def _parse_value(text: str) -> tuple[Decimal | None, str | None]:
    """An exact value written as ASCII digits with an optional sign and a dot decimal,
    nothing else: no thousands separator, underscore, exponent or other script's digits
    (which Python's Decimal would all read)."""
    if _PLAIN_VALUE.fullmatch(text):
        return Decimal(text), None
    text = text.strip()
    if not text:
        return None, "a value is required"
    whole, dot, fraction = text.partition(".")
    if whole[:1] in ("-", "+"):
        whole = whole[1:]
    if not (
        whole.isascii()
        and whole.isdigit()
        and (not dot or (fraction.isascii() and fraction.isdigit()))
    ):
        hint = " (use a dot for decimals and no thousands separators)" if "," in text else ""
        return None, (
            f"{text!r} is not a number written as digits 0-9 with an optional sign and a "
            f"dot for decimals{hint}"
        )
    if len(fraction) > VALUE_DECIMAL_PLACES:
        return None, f"{text!r} has more than {VALUE_DECIMAL_PLACES} decimal places"
    if len(whole.lstrip("0")) > _MAX_INTEGER_DIGITS:
        return None, f"{text!r} has more than {_MAX_INTEGER_DIGITS} digits before the decimal point"
    return Decimal(text), None


def _change_percent(old: Decimal, new: Decimal) -> Decimal | None:
    if old == 0:
        return None
    return ((new - old) / abs(old) * 100).quantize(Decimal("0.01"))


class _Importer:
    def __init__(self, *, release, commit: bool):
        self.release = release
        self.commit = commit
        self.report = ImportReport()
        self.warning_percent = Decimal(str(settings.ANGKA_REVISION_WARNING_PERCENT))
        self.indicators = {
            indicator.code: _IndicatorInfo(
                id=indicator.id,
                code=indicator.code,
                frequencies=indicator.frequencies,
                allows_negative=indicator.allows_negative,
                dimensions=tuple(
                    cl.id
                    for cl in sorted(indicator.dimensions.all(), key=lambda c: (c.order, c.id))
                ),
            )
            for indicator in Indicator.objects.prefetch_related("dimensions")
        }
        self.code_ids = {
            (codelist, code): code_id
            for code_id, codelist, code in Code.objects.values_list("id", "codelist_id", "code")
        }
        self.codelists = {codelist for codelist, _ in self.code_ids} | set(
            Indicator.dimensions.through.objects.values_list("codelist_id", flat=True)
        )
        self.series_ids: dict[tuple[int, str, str], int] = {
            (ind, freq, key): series_id
            for series_id, ind, freq, key in Series.objects.values_list(
                "id", "indicator_id", "frequency", "key"
            )
        }
        self.seen: dict[tuple[tuple[int, str, str], str], int] = {}
        self.batch: list[_Row] = []
        self.release_has_rows = Observation.objects.filter(release=release).exists()

    # -- reading -------------------------------------------------------------------
    def run(self, stream: IO[str]) -> ImportReport:
        # strict: a quote that opens a value and is never closed is an error, instead of
        # every row after it being read into that value.
        reader = csv.reader(stream, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            self.report.add_error(1, "-", "the file is empty; expected a header row")
            return self.report
        except (csv.Error, UnicodeDecodeError) as exc:
            self.report.add_error(1, "-", f"cannot read the header: {exc}")
            return self.report
        columns = [name.strip().lower().lstrip("\ufeff") for name in header]
        if not self._check_header(columns):
            return self.report
        position = {name: i for i, name in enumerate(columns)}
        width = len(columns)
        last = 1  # the line the previous record ended on
        try:
            for values in reader:
                line = reader.line_num
                first, last = last + 1, line
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue  # blank line
                self.report.rows += 1
                if line != first:
                    # A record over several lines: a quoted value holds a line break.
                    self._line_break_refuse(first, values, columns)
                    continue
                if len(values) != width:
                    self.report.add_error(
                        line, "-", f"expected {width} columns as in the header, found {len(values)}"
                    )
                    continue
                row = self._validate(line, values, position)
                if row is not None:
                    self.batch.append(row)
                    if len(self.batch) >= BATCH_SIZE:
                        self._flush()
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                self.report.add_error(
                    last + 1,
                    "-",
                    'a quote (") opens a value that is never closed, so every line after it '
                    "would be read into that value; close the quote or remove it",
                )
            else:
                self.report.add_error(last + 1, "-", f"the line cannot be read: {exc}")
        except UnicodeDecodeError as exc:
            self.report.add_error(reader.line_num, "-", f"the file cannot be read further: {exc}")
        self._flush()
        if self.report.rows == 0 and self.report.ok:
            self.report.add_error(2, "-", "the file has a header but no rows")
        return self.report

    def _line_break_refuse(self, line: int, values: list[str], columns: list[str]) -> None:
        for index, value in enumerate(values):
            if "\n" in value or "\r" in value:
                column = columns[index] if index < len(columns) else "-"
                self.report.add_error(
                    line, column, "a line break inside a value is not allowed (one row per line)"
                )
                return

    def _check_header(self, columns: list[str]) -> bool:
        ok = True
        for name in REQUIRED_COLUMNS:
            if name not in columns:
                self.report.add_error(1, name, "required column is missing")
                ok = False
        seen = set()
        for name in columns:
            if name in seen:
                self.report.add_error(1, name, "column appears twice")
                ok = False
            seen.add(name)
            if (
                name not in REQUIRED_COLUMNS
                and name not in OPTIONAL_COLUMNS
                and name not in self.codelists
            ):
                self.report.add_error(
                    1,
                    name or "(empty)",
                    "unknown column: not a code list nor one of "
                    + ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS),
                )
                ok = False
        self.header_codelists = [name for name in columns if name in self.codelists]
        return ok

    def _validate(self, line: int, values: list[str], position: dict[str, int]) -> _Row | None:
        columns = self._columns if self._columns_for is position else self._columns_of(position)
        row = self._validate_known(line, values, columns)
        if row is None:
            row = self._validate_checked(line, values, position, columns)
            if row is None:
                return None
        fingerprint = (row.series_ref, row.period)
        first_line = self.seen.get(fingerprint)
        if first_line is not None:
            self.report.add_error(
                line, "period", f"duplicate of line {first_line}: same series and period"
            )
            return None
        self.seen[fingerprint] = line
        return row

    def _validate_known(self, line: int, values: list[str], columns: _Columns) -> _Row | None:
        """The row, if every cell but the value is a text an earlier row of this file
        passed ``_validate_checked`` with (remembered by ``_remember``); else None, and
        ``_validate_checked`` checks it. The value is checked here as there."""
        head = self._heads.get((values[columns.indicator], values[columns.period]))
        if head is None:
            return None
        code, indicator, period = head
        series = self._series_cache.get((code, period.frequency, columns.codes(values)))
        if series is None:
            return None
        value, _problem = _parse_value(values[columns.value])
        if value is None or (value < 0 and not indicator.allows_negative):
            return None
        known = self._known
        status = known[0].get(values[columns.status]) if columns.status is not None else ""
        note = known[1].get(values[columns.note]) if columns.note is not None else ""
        source = known[2].get(values[columns.source]) if columns.source is not None else ""
        if status is None or note is None or source is None:
            return None
        reference_date = None
        if columns.reference_date is not None:
            reference_date = known[3].get(values[columns.reference_date], False)
            if reference_date is False:
                return None
        ref, dimensions = series
        return _Row(
            line,
            ref,
            code,
            dimensions,
            period.code,
            period.start,
            period.end,
            value,
            status or ObservationStatus.NORMAL,
            note,
            source,
            reference_date,
        )

    def _remember(
        self, values: list[str], columns: _Columns, row: _Row, indicator: _IndicatorInfo, period
    ) -> None:
        """Remember the cells of a row that passed every check, for ``_validate_known``."""
        if len(self._heads) < _SERIES_CACHE_SIZE:
            self._heads[(values[columns.indicator], values[columns.period])] = (
                row.indicator_code,
                indicator,
                period,
            )
        for memo, column, accepted in zip(
            self._known,
            (columns.status, columns.note, columns.source, columns.reference_date),
            (row.status, row.note, row.source, row.reference_date),
            strict=True,
        ):
            if column is not None and len(memo) < _KNOWN_TEXTS:
                memo[values[column]] = accepted

    def _validate_checked(
        self, line: int, values: list[str], position: dict[str, int], columns: _Columns
    ) -> _Row | None:
        """Every check of a row, each error reported with its column; None if any failed."""
        report = self.report
        errors_before = report.error_count
        code = values[columns.indicator].strip()
        indicator = self.indicators.get(code)
        if indicator is None:
            report.add_error(
                line,
                "indicator",
                f"unknown indicator {code!r}" if code else "an indicator is required",
            )
        period_text = values[columns.period].strip()
        try:
            period = parse_period(period_text)
        except PeriodError as exc:
            period = None
            report.add_error(line, "period", str(exc))
        if (
            period is not None
            and indicator is not None
            and period.frequency not in indicator.frequencies
        ):
            report.add_error(
                line,
                "period",
                f"{period_text} is {FREQUENCY_WORDS[period.frequency]}; "
                f"{code} is published at "
                + ", ".join(FREQUENCY_WORDS[f] for f in indicator.frequencies),
            )
        # The codes of a series are checked once: later rows with the same indicator,
        # frequency and code cells reuse the result (and share one key tuple).
        series = None
        if indicator is not None and period is not None:
            series_cache_key = (code, period.frequency, columns.codes(values))
            series = self._series_cache.get(series_cache_key)
        dimensions: dict[str, str]
        if series is not None:
            ref, dimensions = series
        elif indicator is not None:
            dimensions = {}
            errors_before_codes = report.error_count
            for codelist in indicator.dimensions:
                if codelist not in position:
                    report.add_error(line, codelist, f"column is required for indicator {code}")
                    continue
                dim_code = values[position[codelist]].strip()
                if not dim_code:
                    report.add_error(line, codelist, f"a code is required for indicator {code}")
                elif (codelist, dim_code) not in self.code_ids:
                    report.add_error(
                        line, codelist, f"unknown code {dim_code!r} in code list {codelist}"
                    )
                else:
                    dimensions[codelist] = dim_code
            for codelist in self.header_codelists:
                if codelist not in indicator.dimensions and values[position[codelist]].strip():
                    report.add_error(
                        line,
                        codelist,
                        f"indicator {code} has no dimension {codelist}; leave it empty",
                    )
            if period is not None and report.error_count == errors_before_codes:
                ref = (
                    indicator.id,
                    period.frequency,
                    series_key(dimensions, list(indicator.dimensions)),
                )
                if len(self._series_cache) < _SERIES_CACHE_SIZE:
                    self._series_cache[series_cache_key] = (ref, dimensions)
        value, problem = _parse_value(values[columns.value])
        if problem:
            report.add_error(line, "value", problem)
        elif (
            indicator is not None
            and value is not None  # always, without a problem
            and value < 0
            and not indicator.allows_negative
        ):
            report.add_error(line, "value", f"{value} is negative; {code} cannot be negative")
        status = values[columns.status].strip().lower() if columns.status is not None else ""
        status = status or ObservationStatus.NORMAL
        if status not in _STATUSES:
            report.add_error(
                line, "status", f"{status!r} is not one of {', '.join(sorted(_STATUSES))}"
            )
        note = values[columns.note].strip() if columns.note is not None else ""
        if len(note) > 500:
            report.add_error(line, "note", "longer than 500 characters")
        elif "\x00" in note:
            report.add_error(line, "note", "contains a NUL character")
        elif note.startswith(FORMULA_STARTS):
            report.add_error(
                line,
                "note",
                f"begins with {note[0]!r}: a spreadsheet would run it as a formula; "
                "start the note with a letter or a digit",
            )
        source = values[columns.source].strip() if columns.source is not None else ""
        if len(source) > 200:
            report.add_error(line, "source", "longer than 200 characters")
        elif "\x00" in source:
            report.add_error(line, "source", "contains a NUL character")
        reference_date = None
        if columns.reference_date is not None and values[columns.reference_date].strip():
            try:
                reference_date = dt.date.fromisoformat(values[columns.reference_date].strip())
            except ValueError:
                report.add_error(line, "reference_date", "not a date in the form YYYY-MM-DD")
        if report.error_count != errors_before:
            return None
        # Without errors, all were read.
        assert indicator is not None and period is not None and value is not None
        row = _Row(
            line,
            ref,
            code,
            dimensions,
            period.code,
            period.start,
            period.end,
            value,
            status,
            note,
            source,
            reference_date,
        )
        self._remember(values, columns, row, indicator, period)
        return row

    _columns: _Columns
    _columns_for: dict[str, int] | None = None
    _series_cache: dict
    # Cell texts that passed their checks in this file: (indicator, period) cells; and
    # the status, note, source and reference date cells, each to what was stored of it.
    _heads: dict
    _known: tuple[dict, dict, dict, dict]

    def _columns_of(self, position: dict[str, int]) -> _Columns:
        """Where each column is in the rows of this file (looked up once per file)."""
        codes = [position[codelist] for codelist in self.header_codelists]
        self._columns = _Columns(
            indicator=position["indicator"],
            period=position["period"],
            value=position["value"],
            status=position.get("status"),
            note=position.get("note"),
            source=position.get("source"),
            reference_date=position.get("reference_date"),
            codes=operator.itemgetter(*codes) if codes else _no_codes,
        )
        self._columns_for = position
        self._series_cache = {}
        self._heads = {}
        self._known = ({}, {}, {}, {})
        return self._columns

    # -- comparing and writing ---------------------------------------------------------
    def _flush(self) -> None:
        self._copy_wait()
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        series_ids = self.series_ids
        known = {series_ids[row.series_ref] for row in batch if row.series_ref in series_ids}
        current: dict[tuple[int, dt.date], tuple[Decimal, str]] = {}
        drafts: set[tuple[int, str]] = set()
        if known:
            starts = {row.period_start for row in batch}
            known_ids = sorted(known)
            # A few thousand series per query keeps under every database's parameter limit.
            for chunk_start in range(0, len(known_ids), _LOOKUP_CHUNK):
                chunk = known_ids[chunk_start : chunk_start + _LOOKUP_CHUNK]
                for series_id, start, value, status in (
                    Observation.objects.current()
                    .filter(series_id__in=chunk, period_start__in=starts)
                    .values_list("series_id", "period_start", "value", "status")
                ):
                    current[(series_id, start)] = (value, status)
                if self.release_has_rows:
                    drafts.update(
                        Observation.objects.filter(
                            release=self.release, series_id__in=chunk
                        ).values_list("series_id", "period")
                    )
        to_write: list[_Row] = []
        report = self.report
        new = revised = unchanged = 0
        for row in batch:
            series_id = series_ids.get(row.series_ref)
            old = current.get((series_id, row.period_start)) if current and series_id else None
            if drafts and series_id is not None and (series_id, row.period) in drafts:
                report.replaced_drafts += 1
            if old is None:
                new += 1
                if len(report.new_sample) < PREVIEW_SAMPLE:
                    report.new_sample.append(self._preview(row))
                to_write.append(row)
            elif old[0] == row.value and old[1] == row.status:
                unchanged += 1
                if len(report.unchanged_sample) < PREVIEW_SAMPLE:
                    report.unchanged_sample.append(self._preview(row, old))
            else:
                revised += 1
                preview = self._preview(row, old)
                if preview.warning:
                    report.warnings += 1
                if len(report.revised_sample) < PREVIEW_SAMPLE * 5 or preview.warning:
                    report.revised_sample.append(preview)
                to_write.append(row)
        report.new += new
        report.revised += revised
        report.unchanged += unchanged
        if self.commit and report.ok and to_write:
            self._write(to_write, drafts)
            if len(batch) < BATCH_SIZE:
                # A short batch is the last one: all is stored before run() returns.
                self._copy_wait()

    _pending_copy: _ObservationCopy | None = None

    def _copy_wait(self) -> None:
        """Let the batch written in the background finish before the next query."""
        pending, self._pending_copy = self._pending_copy, None
        if pending is not None:
            pending.wait()

    def _preview(self, row: _Row, old: tuple[Decimal, str] | None = None) -> ChangePreview:
        preview = ChangePreview(
            line=row.line,
            indicator=row.indicator_code,
            series_key=row.series_ref[2],
            period=row.period,
            new_value=row.value,
            new_status=row.status,
        )
        if old is not None:
            preview.old_value, preview.old_status = old
            preview.change_percent = _change_percent(old[0], row.value)
            preview.warning = (preview.change_percent is None and old[0] != row.value) or (
                preview.change_percent is not None
                and abs(preview.change_percent) > self.warning_percent
            )
        return preview

    def _write(self, rows: list[_Row], drafts: set[tuple[int, str]]) -> None:
        missing = {
            row.series_ref: row.dimensions for row in rows if row.series_ref not in self.series_ids
        }
        if missing:
            self.series_ids.update(series_bulk_create(missing, missing, self.code_ids))
        series_ids = self.series_ids
        if drafts:
            replace = [
                (series_ids[row.series_ref], row.period)
                for row in rows
                if (series_ids[row.series_ref], row.period) in drafts
            ]
            for series_id, period in replace:
                Observation.objects.filter(
                    release=self.release,
                    series_id=series_id,
                    period=period,
                    valid_from__isnull=True,
                ).delete()
        observation_rows = (
            (
                series_ids[row.series_ref],
                row.period,
                row.period_start,
                row.period_end,
                row.value,
                row.status,
                row.note,
                row.source,
                row.reference_date,
            )
            for row in rows
        )
        # PostgreSQL stores this batch while the next one is read and validated.
        self._pending_copy = _ObservationCopy.start(
            copy_chunks(observation_rows, release_id=self.release.pk, valid_from=None)
        )
        self.report.written += len(rows)


_OBSERVATION_COPY = (
    "COPY stats_observation (series_id, release_id, period, period_start, period_end, value, "
    "status, note, source, reference_date, valid_from, created_at) FROM STDIN"
)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_CHUNK_ROWS = 2000
COPY_NULL = "\\N"


def copy_field(text: str) -> str:
    """A text field in COPY's text format: backslash, tab and line breaks escaped."""
    if "\x00" in text:
        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return text.translate(_COPY_ESCAPES)


def copy_chunks(
    rows: Iterable[tuple], *, release_id: int, valid_from: dt.datetime | None
) -> Iterator[str]:
    """The rows as COPY text, a few thousand lines per chunk (see observations_write)."""
    valid_from_text = COPY_NULL if valid_from is None else valid_from.isoformat()
    tail = f"\t{valid_from_text}\t{timezone.now().isoformat()}\n"
    release = f"\t{release_id}\t"
    # Periods, statuses and dates repeat: format each once.
    dates: dict[dt.date, str] = {}
    texts: dict[str, str] = {}
    lines: list[str] = []
    for series_id, period, start, end, value, status, note, source, ref in rows:
        start_text = dates.get(start) or dates.setdefault(start, start.isoformat())
        end_text = dates.get(end) or dates.setdefault(end, end.isoformat())
        period_text = texts.get(period) or texts.setdefault(period, copy_field(period))
        status_text = texts.get(status) or texts.setdefault(status, copy_field(status))
        lines.append(
            f"{series_id}{release}{period_text}\t{start_text}\t{end_text}\t{value!s}\t"
            f"{status_text}\t{copy_field(note) if note else ''}\t"
            f"{copy_field(source) if source else ''}\t"
            f"{COPY_NULL if ref is None else ref.isoformat()}{tail}"
        )
        if len(lines) >= _COPY_CHUNK_ROWS:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


class _ObservationCopy:
    """One COPY of observation rows into PostgreSQL, sent from a worker thread.

    The caller formats the text (Python work) and hands it over; the thread sends it
    while PostgreSQL inserts the rows and checks their foreign keys (made immediate
    for the COPY, so that work overlaps with the caller's instead of running serially
    at commit). The caller may go on with anything that does not use the database and
    calls ``wait()`` before it does; ``wait()`` re-raises what failed in the thread.
    """

    def __init__(self, chunks: list[str]):
        self._chunks = chunks
        self.rows = 0
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = "
                "'stats_observation'::regclass AND contype = 'f' AND condeferrable"
            )
            names = [name for (name,) in cursor.fetchall()]
        # The psycopg connection of this thread: Django's connection is per thread.
        self._connection = connection.connection
        self._foreign_keys = ", ".join(
            pg_sql.Identifier(name).as_string(self._connection) for name in names
        )

    @classmethod
    def start(cls, chunks: Iterable[str]) -> _ObservationCopy:
        copy = cls(list(chunks))
        copy._constraints("IMMEDIATE")
        copy._thread = threading.Thread(target=copy._send, name="observation-copy", daemon=True)
        copy._thread.start()
        return copy

    def wait(self) -> int:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        self._constraints("DEFERRED")
        return self.rows

    def _constraints(self, mode: str) -> None:
        if self._foreign_keys:
            with connection.cursor() as cursor:
                cursor.execute(f"SET CONSTRAINTS {self._foreign_keys} {mode}")

    def _send(self) -> None:
        try:
            with self._connection.cursor() as cursor:
                with cursor.copy(_OBSERVATION_COPY) as copy:
                    for chunk in self._chunks:
                        copy.write(chunk)
                self.rows = cursor.rowcount
        except BaseException as exc:  # re-raised by wait() in the caller's thread
            self._error = exc
        finally:
            self._chunks = []


def observations_write(
    *, rows: Iterable[tuple], release_id: int, valid_from: dt.datetime | None = None
) -> int:
    """Insert observation rows fast, with PostgreSQL COPY.

    Each row is (series_id, period, period_start, period_end, value, status, note,
    source, reference_date). The caller has validated them. ``valid_from`` is only
    for loading a release that revises nothing (generated data); everything else is
    published by ``release_publish``.
    """
    count = 0
    # A COPY per 100,000 rows keeps the memory flat for any number of rows; each is
    # sent in the background while the next is formatted.
    pending: _ObservationCopy | None = None
    chunks: list[str] = []
    try:
        for chunk in copy_chunks(rows, release_id=release_id, valid_from=valid_from):
            chunks.append(chunk)
            if len(chunks) * _COPY_CHUNK_ROWS >= 100_000:
                if pending is not None:
                    count += pending.wait()
                pending, chunks = _ObservationCopy.start(chunks), []
    finally:
        if pending is not None:
            count += pending.wait()
    if chunks:
        count += _ObservationCopy.start(chunks).wait()
    return count


def observations_import(*, stream: IO[str], release, commit: bool) -> ImportReport:
    """Validate an observation CSV against the data and, if ``commit``, write it as
    drafts of ``release``.

    Nothing is written unless every row is valid. Whether the release may take them
    (a draft, a user with the data-entry role) is the publishing layer's rule: callers
    go through ``publications.services.release_observations_import``.
    """
    importer = _Importer(release=release, commit=commit)
    with _collector_paused():
        if not commit:
            return importer.run(stream)
        with transaction.atomic():
            report = importer.run(stream)
            if report.ok:
                report.committed = True
            else:
                transaction.set_rollback(True)
                report.written = 0
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block.

    An import keeps a batch of rows and one duplicate-check entry per row alive, so the
    collector, run every few hundred allocations, walks an ever larger heap again and
    again (measured in BENCHMARKS.md, "Issue 17, first steps"). Rows hold no reference
    cycles; reference counting frees them as before, and what cycles the block makes
    are collected once the collector is on again. Process-wide: a concurrent import may
    turn it on early, which costs time, not correctness.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def close_revised_sql(revised: str) -> str:
    """The statement that closes, at ``%(at)s``, the current rows a publication revises,
    unless one of them was published at or after that instant; it returns (latest
    valid_from among them, how many were closed). ``revised`` selects the current rows
    as ``c.id, c.valid_from`` (publishing a release's drafts and writing a recompute's
    values as published rows both use it)."""
    return f"""
WITH revised AS MATERIALIZED ({revised}),
latest AS (SELECT max(valid_from) AS latest FROM revised),
closed AS (
    UPDATE stats_observation o SET valid_to = %(at)s FROM revised, latest
    WHERE o.id = revised.id AND (latest.latest IS NULL OR latest.latest < %(at)s)
    RETURNING 1
)
SELECT (SELECT latest FROM latest), (SELECT count(*) FROM closed)
"""


_CLOSE_REVISED_SQL = close_revised_sql(
    "SELECT c.id, c.valid_from FROM stats_observation r "
    "JOIN stats_observation c ON c.series_id = r.series_id AND c.period = r.period "
    "AND c.valid_from IS NOT NULL AND c.valid_to IS NULL "
    "WHERE r.release_id = %(release)s AND r.valid_from IS NULL"
)


def observations_publish(*, release_id: int, at: dt.datetime) -> tuple[int, int]:
    """Make the draft observations of a release the current vintages from ``at``.

    The current vintage of every (series, period) the release brings anew is closed at
    ``at``: as-of reads before ``at`` still see it. One statement finds them, driven by
    the release's own draft rows, so the cost follows the size of the release. Refused
    (``RevisionOrderError``, nothing written) when one of them was published at or
    after ``at``: a revision comes after what it revises. Returns (published, closed).
    """
    with connection.cursor() as cursor:
        cursor.execute(_CLOSE_REVISED_SQL, {"release": release_id, "at": at})
        latest, closed = cursor.fetchone()
    if latest is not None and latest >= at:
        raise RevisionOrderError(
            f"revises values published at {latest.isoformat()}; "
            f"it cannot be published earlier ({at.isoformat()})"
        )
    published = Observation.objects.filter(release_id=release_id, valid_from__isnull=True).update(
        valid_from=at
    )
    return published, closed
