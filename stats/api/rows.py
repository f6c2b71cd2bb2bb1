"""The columns of an observation row, declared once, and their text in JSON and CSV.

``COLUMNS`` names every column of an observation row in order, where it comes from (the
observation or its series) and its kind, which fixes its text form: exact values as
text ("12.9", never a float), dates as ISO dates, instants in local time, releases by
slug. The statements that format rows (``stats.api.statements``: the JSON page and
the CSV lines) are generated from it, and so is the Python that turns the JSON page's
cheap texts into JSON (``ObservationRows``). Adding a field to observation rows is one
entry in ``COLUMNS``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone, translation

from stats.filtersets import CatalogueLookups
from stats.models import Series
from stats.texts import text_localized

# Kinds of column, each with one text form.
CODE = "code"  # text without spaces, commas or quotes (a period, a status)
TEXT = "text"  # free text
DATE = "date"
INSTANT = "instant"
EXACT = "exact"  # a decimal written exactly, one per row (never worth keeping)
RELEASE = "release"  # a release id, written as its public slug
DIMENSIONS = "dimensions"  # a series' code per code list (JSON object, CSV column pairs)
# A derived value's formula with the numbers used, and its inputs, from its provenance
# (``stats.derived.provenance``); null for any other value.
FORMULA = "formula"
INPUTS = "inputs"  # a JSON array of objects; a compact text in CSV
# The kinds whose text is free (any character): named after their length in a key text.
FREE_KINDS = (TEXT, FORMULA, INPUTS)

NOT_GIVEN = object()
# The free-text columns given in the language of ``?lang=`` when it is asked.
TRANSLATED = ("note", "source")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    # The observation's field, or (``series``) what the column takes from the series.
    field: str = ""
    series: str = ""
    # The value most rows have: the JSON page's text of a row leaves the columns with
    # their usual value out, so most rows share one text.
    usual: object = NOT_GIVEN
    help_text: str | None = None  # for the schema (``serializers.ObservationSerializer``)
    # An instant shown only once it has passed at the instant the request reads (its
    # ``read_at``): a row read as of a past instant, or by a cursor walk pinned to its
    # first page, shows what was known then, never a later event.
    until_read: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("indicator", CODE, series="indicator_code", help_text="Indicator code."),
    Column("indicator_name", TEXT, series="indicator_name"),
    Column("frequency", CODE, series="frequency", help_text="A, S, Q or M."),
    Column("series_key", TEXT, series="key", help_text="e.g. region=ID,segment=_T,program=_T"),
    Column(
        "dimensions",
        DIMENSIONS,
        series="dimensions",
        help_text="Code and name per code list of the key.",
    ),
    Column("period", CODE, field="period", help_text="2023, 2023-S1, 2023-Q3 or 2023-09."),
    Column("period_start", DATE, field="period_start"),
    Column("period_end", DATE, field="period_end"),
    Column(
        "value",
        EXACT,
        field="value",
        help_text='The exact value as text with a dot decimal: "12.9", "1001000000000000".',
    ),
    Column("unit", TEXT, series="unit"),
    Column(
        "status",
        CODE,
        field="status",
        usual="normal",
        help_text="normal, provisional, estimate or break.",
    ),
    Column(
        "note",
        TEXT,
        field="note",
        usual="",
        help_text="As stored (a stable form, English in the demo); in the language of "
        "`lang` when it is asked.",
    ),
    Column(
        "source",
        TEXT,
        field="source",
        usual="",
        help_text="Where this value was reported, when not the indicator's own source "
        "(estimates name how they were made). As stored, or in the language of `lang`.",
    ),
    Column("reference_date", DATE, field="reference_date", usual=None),
    Column(
        "release", RELEASE, field="release_id", help_text="Slug of the release that published it."
    ),
    Column(
        "published_at",
        INSTANT,
        field="valid_from",
        help_text="When this value became public: the start of its vintage (ALFRED's "
        "realtime_start).",
    ),
    Column(
        "superseded_at",
        INSTANT,
        field="valid_to",
        usual=None,
        until_read=True,
        help_text="When a later release revised this value: the end of its vintage (ALFRED's "
        "realtime_end); null while it is current at the instant read (now, or as_of).",
    ),
    # Last: the columns before keep their places in a CSV.
    Column(
        "formula",
        FORMULA,
        field="provenance",
        usual=None,
        help_text="For a derived value, its formula with the exact numbers used, e.g. "
        '"40 = 40000000 / 100000000 × 100" (dot decimal, no thousands separator); null '
        "for any other value. The general formula is the indicator's `derivation`.",
    ),
    Column(
        "inputs",
        INPUTS,
        field="provenance",
        usual=None,
        help_text="For a derived value, the exact inputs used, in the order of the formula "
        "(role, indicator, series_key, period, value as exact text, release slug); null for "
        'any other value. In CSV one text, "role: indicator series_key period value '
        'release" per input, separated by "; ".',
    ),
)


@dataclass(frozen=True)
class Segment:
    """A run of consecutive columns that a row's text takes from one place: the series
    (``series``), one text of the page statement (``key``: read once per distinct text)
    or one value given as it is (``raw``, an ``EXACT`` column)."""

    source: str
    columns: tuple[Column, ...]


def _segments(columns: tuple[Column, ...]) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    for column in columns:
        source = "series" if column.series else ("raw" if column.kind == EXACT else "key")
        if segments and segments[-1].source == source != "raw":
            segments[-1] = Segment(source, (*segments[-1].columns, column))
        else:
            segments.append(Segment(source, (column,)))
    return tuple(segments)


SEGMENTS = _segments(COLUMNS)
SERIES_SEGMENTS = tuple(s for s in SEGMENTS if s.source == "series")
# The page statement's parts after the series id and the sort keys, in this order.
ROW_PARTS = tuple(s for s in SEGMENTS if s.source != "series")

# PostgreSQL's own epoch: its binary form of a timestamp counts microseconds from it. The
# page statement names dates by days from the same day.
POSTGRES_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
EPOCH_DATE = POSTGRES_EPOCH.date()


def key_order(segment: Segment) -> tuple[list[Column], list[Column]]:
    """The columns of a key segment in the order its text names them: those always named,
    then those named only when one of them is not usual (both with free text last)."""
    free_last = lambda columns: sorted(columns, key=lambda c: c.kind in FREE_KINDS)  # noqa: E731
    always = [c for c in segment.columns if c.usual is NOT_GIVEN]
    optional = [c for c in segment.columns if c.usual is not NOT_GIVEN]
    return free_last(always), free_last(optional)


def json_text(value) -> str:
    """JSON as DRF's JSONRenderer writes it: compact, UTF-8 (not ASCII-escaped)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def english() -> bool:
    return (translation.get_language() or "id")[:2] == "en"


def pick(name_id: str, name_en: str) -> str:
    return (name_en or name_id) if english() else (name_id or name_en)


def instant_text(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def date_text(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _key_values(text: str, segment: Segment) -> dict[str, object]:
    """The values a key text names (see ``statements.key_sql``), by column name."""
    always, optional = key_order(segment)
    values: dict[str, object] = {c.name: c.usual for c in optional}
    position = 0

    def read(column: Column):
        nonlocal position
        if column.kind in FREE_KINDS:
            space = text.find(" ", position)
            if space < 0 or space == position:
                # No length: a null (a formula or inputs of a value that is not derived).
                position = (space if space >= 0 else len(text)) + 1
                return None
            length = int(text[position:space])
            start = space + 1
            position = start + length + 1
            return text[start : start + length]
        end = text.find(" ", position)
        end = len(text) if end < 0 else end
        part = text[position:end]
        position = end + 1
        if column.kind == DATE:
            return EPOCH_DATE + dt.timedelta(days=int(part)) if part else None
        if column.kind == INSTANT:
            micros = int.from_bytes(bytes.fromhex(part), "big", signed=True)
            return POSTGRES_EPOCH + dt.timedelta(microseconds=micros) if part else None
        if column.kind == RELEASE:
            return int(part)
        return part

    for column in always:
        values[column.name] = read(column)
    if position < len(text):
        for column in optional:
            values[column.name] = read(column)
    return values


class ObservationRows:
    """Observation rows as the API writes them, in the language of the request."""

    # Distinct key texts kept per worker and generation, at most: past it, a page
    # formats what it misses for itself (notes make the texts unbounded).
    JSON_PARTS_KEPT = 50_000

    def __init__(
        self,
        lookups: CatalogueLookups,
        *,
        frequency: str | None = None,
        read_at: dt.datetime | None = None,
        texts_language: str | None = None,
    ):
        self.lookups = lookups
        # The instant the request reads (``Column.until_read``): now unless given.
        self.read_at = read_at or timezone.now()
        # The language notes and sources are given in (``?lang=``), or None: as stored,
        # the stable form (``stats.texts``).
        self.texts_language = texts_language
        # The frequency of every row, when converted (``aggregate_to``), not its series'.
        self.frequency = frequency
        self.english = english()
        self.codelists = [codelist_id for codelist_id, _id, _en in lookups.codelists]
        self.code_names = {
            key: (ref.name_en or ref.name_id) if self.english else ref.name_id
            for key, ref in lookups.codes.items()
        }
        self.indicators = lookups.indicators_by_id
        self.releases = lookups.release_slugs
        # What rows take from their series and from each key text, as JSON (``json_rows``).
        self.series_text: dict[int, tuple[str, ...]] = {}
        self.key_texts: list[dict[str, str]] = [{} for s in ROW_PARTS if s.source == "key"]

    def indicator_name(self, indicator_id: int) -> str:
        ref = self.indicators[indicator_id]
        return (ref.name_en or ref.name_id) if self.english else ref.name_id

    def dimensions(self, codes: dict[str, str]) -> dict[str, dict[str, str]]:
        return {
            codelist: {
                "code": codes[codelist],
                "name": self.code_names.get((codelist, codes[codelist]), ""),
            }
            for codelist in self.codelists
            if codelist in codes
        }

    def csv_header(self) -> list[str]:
        header = []
        for column in COLUMNS:
            if column.kind == DIMENSIONS:
                for codelist in self.codelists:
                    header += [codelist, f"{codelist}_name"]
            else:
                header.append(column.name)
        return header

    def csv_kinds(self) -> list[str]:
        """The kind of each column of ``csv_header``."""
        kinds: list[str] = []
        for column in COLUMNS:
            if column.kind == DIMENSIONS:
                kinds += [CODE, TEXT] * len(self.codelists)
            else:
                kinds.append(column.kind)
        return kinds

    # --- JSON: the page statement's parts to JSON text ---

    def json_value(self, column: Column, value) -> str:
        if column.kind == DATE:
            return json_text(date_text(value))
        if column.kind == INSTANT:
            return json_text(instant_text(value))
        if column.kind == RELEASE:
            # Only the public releases have a slug here: a row of any other is not
            # public either (the selectors leave it out), so "" is never shown.
            return json_text(self.releases.get(value, ""))
        if column.kind == INPUTS and value is not None:
            # The statement names each input's release by id (stats.derived.provenance).
            inputs = json.loads(value)
            for item in inputs:
                item["release"] = self.releases.get(item["release"])
            return json_text(inputs)
        if column.name in TRANSLATED and self.texts_language:
            return json_text(text_localized(value, language=self.texts_language))
        return json_text(value)

    def _series_value(self, column: Column, series_row) -> object:
        _id, indicator_id, frequency, key, codes = series_row
        if column.series == "indicator_code":
            return self.indicators[indicator_id].code
        if column.series == "indicator_name":
            return self.indicator_name(indicator_id)
        if column.series == "frequency":
            return self.frequency or frequency
        if column.series == "key":
            return key
        if column.series == "dimensions":
            return self.dimensions(codes)
        if column.series == "unit":
            return self.indicators[indicator_id].unit
        raise ValueError(column.series)

    def json_series_load(self, series_rows) -> None:
        """The JSON text of each series segment of a row, from (id, indicator_id,
        frequency, key, dimensions) rows."""
        for row in series_rows:
            self.series_text[row[0]] = tuple(
                "".join(
                    _json_member(column, json_text(self._series_value(column, row)))
                    for column in segment.columns
                )
                for segment in SERIES_SEGMENTS
            )

    def json_key(self, segment: Segment, text: str) -> str:
        values = _key_values(text, segment)
        return "".join(
            _json_member(column, self.json_value(column, values[column.name]))
            for column in segment.columns
        )

    def json_rows(self, records: list[tuple], width: int, *, before: str, after: str) -> str:
        """The rows' JSON texts, comma-joined, between ``before`` and ``after``, from the
        records of the page statement (``width`` sort-key cells after the series id).
        What a row takes from its series and each key text is formatted once per distinct
        value, and kept (``series_text``, ``key_texts``)."""
        try:
            joined = _row_text(1 + width)(records, self.series_text, self.key_texts)
        except KeyError:
            # A series or key text not met before: format what is missing, then again.
            keys = self._parts_load(records, width)
            joined = _row_text(1 + width)(records, self.series_text, keys)
        # One copy of the page's text (it is most of the response), not one per part.
        if not joined:
            return before + after
        joined[0] = before + joined[0]
        joined[-1] += after
        return ",".join(joined)

    def _parts_load(self, records: list[tuple], width: int) -> list[dict[str, str]]:
        missing = {record[0] for record in records} - self.series_text.keys()
        if missing:
            self.json_series_load(
                Series.objects.filter(pk__in=missing).values_list(
                    "id", "indicator_id", "frequency", "key", "dimensions"
                )
            )
        found, kept = [], sum(len(texts) for texts in self.key_texts)
        new: list[dict[str, str]] = []
        position = 1 + width
        for segment in ROW_PARTS:
            if segment.source == "key":
                texts = self.key_texts[len(new)]
                fresh = {
                    text: self.json_key(segment, text)
                    for text in {record[position] for record in records} - texts.keys()
                }
                new.append(fresh)
                kept += len(fresh)
            position += 1
        if kept > self.JSON_PARTS_KEPT:
            return [{**texts, **fresh} for texts, fresh in zip(self.key_texts, new, strict=True)]
        for texts, fresh in zip(self.key_texts, new, strict=True):
            texts.update(fresh)
            found.append(texts)
        return found


def spreadsheet_values(kinds: list[str], cells: list[str]) -> list:
    """A CSV line's cells (``ObservationRows.csv_kinds``) as a spreadsheet's values:
    exact values as ``Decimal``, dates as dates, empty cells blank, the rest the CSV's
    text as it is (instants in local ISO form: spreadsheets keep no offset; text a
    spreadsheet would run as a formula disarmed as in the CSV)."""
    values: list = []
    for kind, cell in zip(kinds, cells, strict=True):
        if cell == "":
            values.append(None)
        elif kind == EXACT:
            values.append(Decimal(cell))
        elif kind == DATE:
            values.append(dt.date.fromisoformat(cell))
        else:
            values.append(cell)
    return values


def _json_member(column: Column, value_text: str) -> str:
    opening = "{" if column is COLUMNS[0] else ","
    closing = "}" if column is COLUMNS[-1] else ""
    return f'{opening}"{column.name}":{value_text}{closing}'


@functools.cache
def _row_text(at: int):
    """The function that writes the rows of a page whose parts start at ``at``: one
    f-string per row, generated from ``SEGMENTS`` (a loop over the segments of every row
    was most of its cost)."""
    pieces, key_index, part = [], 0, at
    series_index = 0
    for segment in SEGMENTS:
        if segment.source == "series":
            pieces.append(f"{{series[r[0]][{series_index}]}}")
            series_index += 1
        elif segment.source == "key":
            pieces.append(f"{{keys[{key_index}][r[{part}]]}}")
            key_index += 1
            part += 1
        else:
            (column,) = segment.columns
            opening = _json_member(column, '"').replace("{", "{{").replace("}", "}}")
            closing = '"' + ("}}" if column is COLUMNS[-1] else "")
            pieces.append(f"{opening}{{r[{part}]}}{closing}")
            part += 1
    source = f"lambda records, series, keys: [f{''.join(pieces)!r} for r in records]"
    # Generated above from the column declarations only, never from input.
    return eval(source)
