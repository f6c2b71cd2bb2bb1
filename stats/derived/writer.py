"""Writing derived values: their provenance as JSON text (formula and the exact
inputs), COPY into stats_observation, and the stored values they are compared with."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone
from psycopg import sql as pg_sql
from psycopg.copy import QueuedLibpqWriter

from ..models import (
    DerivedDefinition,
    Observation,
    ProvenanceHead,
    ProvenanceInputHead,
    exact_text,
)
from ..periods import parse_period
from ..services import COPY_NULL, copy_field
from .provenance import definition_formula

if TYPE_CHECKING:
    from .python import ComputedValue

_LOAD_CHUNK = 2000


class Texts(dict):
    """exact_text of values, each formatted once per run (it depends on the value only)."""

    def __missing__(self, value: Decimal) -> str:
        text = self[value] = exact_text(value)
        return text


def formula_prefix(definition: DerivedDefinition) -> ProvenanceHead:
    return {
        "kind": definition.kind,
        "formula": definition_formula(definition, language="en"),
        "formula_id": definition_formula(definition, language="id"),
    }


def _json(value: ProvenanceHead | ProvenanceInputHead | str) -> str:
    # Non-ASCII (the × of a formula) as UTF-8: then a backslash is the only character
    # of the text that COPY needs escaped (JSON escapes control characters itself).
    return json.dumps(value, ensure_ascii=False)


class ProvenanceText:
    """The provenance of a computed value as JSON text (formula, expression, the inputs
    used), the constant parts encoded once per definition and input series."""

    def __init__(self, texts: Texts):
        self.texts = texts
        self.heads: dict[int, str] = {}
        self.inputs: dict[tuple[str, int], str] = {}

    def __call__(self, computed: ComputedValue, stored: Decimal) -> str:
        definition, result = computed.definition, computed.result
        head = self.heads.get(definition.pk)
        if head is None:
            head = self.heads[definition.pk] = _json(formula_prefix(definition))[:-1]
        texts, inputs = self.texts, self.inputs
        parts = []
        for role, series, period, value, obs_id, _status in result.used:
            start = inputs.get((role, series.pk))
            if start is None:
                input_head: ProvenanceInputHead = {
                    "role": role,
                    "indicator": series.indicator.code,
                    "series_key": series.key,
                }
                start = inputs[(role, series.pk)] = _json(input_head)[:-1]
            parts.append(
                f'{start}, "period": {json.dumps(period)}, "value": "{texts[value]}", '
                f'"observation": {obs_id or "null"}}}'
            )
        expression = _json(f"{texts[stored]} = {result.text}")
        return f'{head}, "expression": {expression}, "inputs": [{", ".join(parts)}]}}'


_DERIVED_COPY = (
    "COPY stats_observation (series_id, release_id, period, period_start, period_end, value, "
    "status, note, source, reference_date, provenance, valid_from, created_at) FROM STDIN"
)
DERIVED_SOURCE = "angka: derived"


def copy_rows(rows: list[tuple], release_id: int, texts: Texts) -> int:
    """COPY derived rows (series id, period, value, status, computed) into stats_observation.

    The text is formatted while a worker thread sends it (psycopg's QueuedLibpqWriter); the
    two foreign keys are checked during the COPY instead of all at once at commit.
    """
    provenance = ProvenanceText(texts)
    tail = f"\t\t{copy_field(DERIVED_SOURCE)}\t{COPY_NULL}\t"
    created = f"\t{COPY_NULL}\t{timezone.now().isoformat()}\n"
    release = f"\t{release_id}\t"
    periods: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = "
            "'stats_observation'::regclass AND contype = 'f' AND condeferrable"
        )
        names = [name for (name,) in cursor.fetchall()]
        raw = cursor.cursor
        keys = ", ".join(pg_sql.Identifier(n).as_string(raw.connection) for n in names)
        if keys:
            cursor.execute(f"SET CONSTRAINTS {keys} IMMEDIATE")
        with raw.copy(_DERIVED_COPY, writer=QueuedLibpqWriter(raw)) as copy:
            lines = []
            for series_id, period, value, status, item in rows:
                head = periods.get(period)
                if head is None:
                    parsed = parse_period(period)
                    head = periods[period] = (
                        f"{release}{copy_field(period)}\t{parsed.start.isoformat()}\t"
                        f"{parsed.end.isoformat()}\t"
                    )
                json_text = provenance(item, value).replace("\\", "\\\\")
                lines.append(f"{series_id}{head}{value}\t{status}{tail}{json_text}{created}")
                if len(lines) >= 5000:
                    copy.write("".join(lines))
                    lines = []
            if lines:
                copy.write("".join(lines))
        count = raw.rowcount
        if keys:
            cursor.execute(f"SET CONSTRAINTS {keys} DEFERRED")
    return count


# Compare with the stored values of only the computed periods when there are few.
_FEW_PERIODS = 100


def current_values(series_ids: list[int], periods: set[str]) -> dict[tuple[int, str], Decimal]:
    """The current published values of ``series_ids`` (at least those of ``periods``)."""
    wanted = periods if len(periods) <= _FEW_PERIODS else None
    current: dict[tuple[int, str], Decimal] = {}
    for start in range(0, len(series_ids), _LOAD_CHUNK):
        rows = Observation.objects.current().filter(
            series_id__in=series_ids[start : start + _LOAD_CHUNK]
        )
        if wanted is not None:
            rows = rows.filter(period__in=wanted)
        for series_id, period, value in rows.values_list("series_id", "period", "value"):
            current[(series_id, period)] = value
    return current
