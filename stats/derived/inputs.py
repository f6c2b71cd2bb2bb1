"""What a run reads: the series index, the output series of a definition with the
input series each reads, the input values, and the periods a change affects."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import QuerySet

from ..choices import InputRole
from ..models import Code, CodeList, DerivedDefinition, Indicator, Observation, Series, Target
from ..periods import PERIODS_PER_YEAR, parse_period
from ..services import series_bulk_create
from .definitions import definitions_in_order
from .kinds import SHIFT_KINDS, YEAR_KINDS

_LOAD_CHUNK = 2000


class Found(NamedTuple):
    """One input value."""

    value: Decimal
    observation_id: int  # 0: computed earlier in the same run, not stored yet
    status: str


@dataclass
class Values:
    """Input values: series id -> period -> Found (value, observation id, status).

    Two ways of loading, one per run: every period of a series (a full recompute), or
    only the (series, period) pairs a change needs (``pairs_load``). Values computed in
    this run (``put``) take precedence over the stored ones, as they would once written.
    """

    by_series: dict[int, dict[str, Found]] = field(default_factory=lambda: defaultdict(dict))
    complete: set[int] = field(default_factory=set)
    loaded: set[tuple[int, str]] = field(default_factory=set)
    pending: dict[int, dict[str, Found]] = field(default_factory=lambda: defaultdict(dict))
    partial: bool = False  # loaded by pairs (a change), not by whole series

    def get(self, series_id: int | None, period: str) -> Found | None:
        if series_id is None:
            return None
        return self.by_series.get(series_id, {}).get(period)

    def put(self, series_id: int, period: str, found: Found) -> None:
        """A value computed in this run, for the definitions that read it."""
        if self.partial or series_id in self.complete:
            self.by_series[series_id][period] = found
        else:
            # Applied over the stored values when (if) the series is loaded.
            self.pending[series_id][period] = found
        self.loaded.add((series_id, period))


def _rows(queryset: QuerySet[Observation], *fields: str) -> QuerySet[Observation, Any]:
    """values_list rows of a queryset, fetched in one go (no server-side cursor)."""
    return queryset.values_list(*fields)


def values_load(series_ids: set[int], release_id: int | None, values: Values) -> None:
    """Every period of each series not loaded yet (stored, then the release's drafts)."""
    missing = [s for s in series_ids if s not in values.complete]
    if not missing:
        return
    by_series = values.by_series
    for start in range(0, len(missing), _LOAD_CHUNK):
        chunk = missing[start : start + _LOAD_CHUNK]
        rows = Observation.objects.current().filter(series_id__in=chunk)
        for series_id, period, value, obs_id, status in _rows(
            rows, "series_id", "period", "value", "id", "status"
        ):
            by_series[series_id][period] = Found(value, obs_id, status)
        if release_id is not None:
            drafts = Observation.objects.filter(
                release_id=release_id, valid_from__isnull=True, series_id__in=chunk
            )
            for series_id, period, value, obs_id, status in _rows(
                drafts, "series_id", "period", "value", "id", "status"
            ):
                by_series[series_id][period] = Found(value, obs_id, status)
        for series_id in chunk:
            data = by_series[series_id]
            overlay = values.pending.pop(series_id, None)
            if overlay:
                data.update(overlay)
            values.complete.add(series_id)


def pairs_load(needed: dict[int, set[str]], release_id: int | None, values: Values) -> None:
    """Only the (series, period) pairs in ``needed`` that are not loaded yet."""
    wanted: dict[int, set[str]] = {}
    for series_id, periods in needed.items():
        if series_id in values.complete:
            continue
        todo = {p for p in periods if (series_id, p) not in values.loaded}
        if todo:
            wanted[series_id] = todo
    if not wanted:
        return
    by_series, loaded = values.by_series, values.loaded
    ids = list(wanted)
    for start in range(0, len(ids), _LOAD_CHUNK):
        chunk = ids[start : start + _LOAD_CHUNK]
        periods = set().union(*(wanted[s] for s in chunk))
        fetched: dict[tuple[int, str], Found] = {}
        rows = Observation.objects.current().filter(series_id__in=chunk, period__in=periods)
        for series_id, period, value, obs_id, status in _rows(
            rows, "series_id", "period", "value", "id", "status"
        ):
            fetched[(series_id, period)] = Found(value, obs_id, status)
        if release_id is not None:
            drafts = Observation.objects.filter(
                release_id=release_id,
                valid_from__isnull=True,
                series_id__in=chunk,
                period__in=periods,
            )
            for series_id, period, value, obs_id, status in _rows(
                drafts, "series_id", "period", "value", "id", "status"
            ):
                fetched[(series_id, period)] = Found(value, obs_id, status)
        # Every pair of chunk x periods is now known (found or absent), except those
        # loaded or computed before, which stay as they are.
        for (series_id, period), found in fetched.items():
            if (series_id, period) not in loaded:
                by_series[series_id][period] = found
        for series_id in chunk:
            by_series.setdefault(series_id, {})
            loaded.update((series_id, p) for p in periods)


@dataclass(slots=True)
class IndexedSeries:
    """What the engine reads of a series (the attributes of a Series it uses)."""

    pk: int
    indicator_id: int
    indicator: Indicator
    frequency: str
    key: str
    dimensions: dict[str, str]


# A series of the index: read as a plain row, or a model instance created during the run.
IndexSeries = Series | IndexedSeries


class SeriesIndex:
    """Every series (or those of ``indicator_ids``), by (indicator, frequency, key) and by
    indicator (in that order)."""

    def __init__(self, indicator_ids: Iterable[int] | None = None):
        self.by_key: dict[tuple[int, str, str], IndexSeries] = {}
        self.by_indicator: dict[int, list[IndexSeries]] = defaultdict(list)
        indicators = Indicator.objects.all()
        sql = (
            "SELECT id, indicator_id, frequency, key, dimensions::text FROM stats_series "
            "{} ORDER BY indicator_id, frequency, key"
        )
        params: list = []
        if indicator_ids is not None:
            ids = sorted(set(indicator_ids))
            indicators = indicators.filter(pk__in=ids)
            sql = sql.format("WHERE indicator_id IN (SELECT unnest(%s::bigint[]))")
            params = [ids]
        else:
            sql = sql.format("")
        by_pk = {indicator.pk: indicator for indicator in indicators}
        # Plain rows, not model instances: thousands of series in a fraction of the time.
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for pk, indicator_id, frequency, key, dimensions in cursor.fetchall():
                self.add(
                    IndexedSeries(
                        pk,
                        indicator_id,
                        by_pk[indicator_id],
                        frequency,
                        key,
                        json.loads(dimensions),
                    )
                )

    def add(self, series: IndexSeries) -> None:
        self.by_key[(series.indicator_id, series.frequency, series.key)] = series
        self.by_indicator[series.indicator_id].append(series)

    def get(self, key: tuple[int, str, str]) -> IndexSeries | None:
        return self.by_key.get(key)


def _matches(dimensions: dict[str, str], codes: dict[str, str], totals: set[tuple[str, str]]):
    for codelist, wanted in codes.items():
        have = dimensions.get(codelist)
        if wanted == "*":
            if (codelist, have) in totals:
                return False
        elif have != wanted:
            return False
    return True


CODELIST_ORDER: list[str] = []


def series_key_text(dimensions: dict[str, str]) -> str:
    """The series key text, in code-list order (JSON storage does not keep key order)."""
    return ",".join(f"{c}={dimensions[c]}" for c in CODELIST_ORDER if c in dimensions)


def codelist_order_refresh() -> None:
    CODELIST_ORDER[:] = CodeList.objects.order_by("order", "id").values_list("id", flat=True)


@dataclass(slots=True)
class Output:
    frequency: str
    dimensions: dict[str, str]
    inputs: dict[str, IndexSeries | None]  # role (or term#i) -> series
    target: Target | None = None
    wanted: dict[str, str] = field(default_factory=dict)  # role -> "CODE key" it looked for
    key: str = ""  # the output series key
    series: IndexSeries | None = None  # the output series, once known


def outputs_of(definition: DerivedDefinition, series_index: SeriesIndex, totals) -> list[Output]:
    """Every output series of a definition and the input series each one reads."""
    inputs = list(definition.inputs.all())
    driver = next(i for i in inputs if i.role in (InputRole.X, InputRole.A, InputRole.TERM))
    others = [i for i in inputs if i is not driver]
    driver_role = "term0" if driver.role == InputRole.TERM else driver.role
    outputs = []
    for series in list(series_index.by_indicator.get(driver.indicator_id, ())):
        if not _matches(series.dimensions, driver.codes, totals):
            continue
        frequency = series.frequency
        roles: dict[str, IndexSeries | None] = {driver_role: series}
        wanted: dict[str, str] = {}
        for position, other in enumerate(others, start=1):
            dimensions = dict(series.dimensions)
            dimensions.update({k: v for k, v in other.codes.items() if v != "*"})
            name = f"term{position}" if other.role == InputRole.TERM else other.role
            key = series_key_text(dimensions)
            roles[name] = series_index.get((other.indicator_id, frequency, key))
            wanted[name] = f"{other.indicator.code} {key}"
        dimensions = dict(series.dimensions)
        outputs.append(
            Output(frequency, dimensions, roles, wanted=wanted, key=series_key_text(dimensions))
        )
    return outputs


@lru_cache(maxsize=65536)
def period_shift(period: str, steps: int) -> str:
    """The code of the period ``steps`` periods after ``period`` (before when negative)."""
    return parse_period(period).shift(steps).code


def steps_back(definition: DerivedDefinition, frequency: str) -> int:
    """How many periods back: k for changes (0 means one year), n years otherwise."""
    if definition.kind in SHIFT_KINDS and definition.periods:
        return definition.periods
    return definition.years * PERIODS_PER_YEAR[frequency]


def periods_to_compute(
    definition: DerivedDefinition,
    output: Output,
    values: Values,
    changed: dict[int, set[str]] | None,
) -> set[str]:
    """The output periods to (re)compute: all, or those an input change affects.

    ``changed`` maps a series id to its changed periods.
    """
    if changed is None:
        driver = output.inputs.get("x") or output.inputs.get("a") or output.inputs.get("term0")
        return set(values.by_series.get(driver.pk, {})) if driver else set()
    periods: set[str] = set()
    for series in output.inputs.values():
        if series is not None:
            periods.update(changed.get(series.pk, ()))
    kind = definition.kind
    if kind in SHIFT_KINDS or kind in YEAR_KINDS:
        periods |= {
            period_shift(period, steps_back(definition, parse_period(period).frequency))
            for period in periods
        }
    return periods


def periods_read(definition: DerivedDefinition, output: Output, periods: set[str]) -> set[str]:
    """The input periods computing ``periods`` of ``output`` reads."""
    if definition.kind in SHIFT_KINDS or definition.kind in YEAR_KINDS:
        return periods | {
            period_shift(period, -steps_back(definition, parse_period(period).frequency))
            for period in periods
        }
    return periods


@dataclass
class RunContext:
    """What every definition of a run needs: series, totals, targets, definitions."""

    series_index: SeriesIndex
    totals: set[tuple[str, str]]
    targets: dict[int, Target]
    definitions: list[DerivedDefinition]


def _downstream(definitions: list[DerivedDefinition], changed: set[int]) -> set[int]:
    """The indicators a run over ``changed`` indicators reads or writes."""
    reached, used = set(changed), set()
    for definition in definitions:
        inputs = {i.indicator_id for i in definition.inputs.all()}
        if inputs & reached:
            reached.add(definition.indicator_id)
            used |= inputs | {definition.indicator_id}
    return used


def run_context(changed_indicators: set[int] | None = None) -> RunContext:
    """The run's context; with ``changed_indicators``, only the series it can touch."""
    codelist_order_refresh()
    definitions = definitions_in_order()
    used = None
    if changed_indicators is not None:
        used = _downstream(definitions, changed_indicators)
    return RunContext(
        series_index=SeriesIndex(used),
        totals=set(Code.objects.filter(is_total=True).values_list("codelist_id", "code")),
        targets={t.series_id: t for t in Target.objects.order_by("period_start")},
        definitions=definitions,
    )


def outputs_with_targets(outputs: list[Output], targets: dict[int, Target]) -> list[Output]:
    """The outputs of a target kind whose driver series (x) has a target, each given it;
    an output with no target is not computed (no value, no gap)."""
    kept = []
    for output in outputs:
        driver = output.inputs["x"]
        # x drives the target kinds: outputs_of gives each output its driver series.
        assert driver is not None
        output.target = targets.get(driver.pk)
        if output.target is not None:
            kept.append(output)
    return kept


def outputs_series(indicator: Indicator, outputs: list[Output], series_index: SeriesIndex) -> None:
    """Set ``output.series`` of each output, creating the series that do not exist yet."""
    missing: dict[tuple[int, str, str], dict[str, str]] = {}
    for output in outputs:
        if output.series is not None:
            continue
        ref = (indicator.pk, output.frequency, output.key)
        output.series = series_index.get(ref)
        if output.series is None:
            # The key's code-list order, as series_get_or_create stores it.
            missing[ref] = {
                c: output.dimensions[c] for c in CODELIST_ORDER if c in output.dimensions
            }
    if missing:
        code_ids = {
            (codelist, code): code_id
            for code_id, codelist, code in Code.objects.filter(
                codelist_id__in={c for dims in missing.values() for c in dims}
            ).values_list("id", "codelist_id", "code")
        }
        unknown = sorted(
            f"{c}={v}"
            for dims in missing.values()
            for c, v in dims.items()
            if (c, v) not in code_ids
        )
        if unknown:
            raise ValueError(f"unknown codes: {', '.join(unknown[:10])}")
        ids = series_bulk_create(list(missing), missing, code_ids)
        for start in range(0, len(ids), _LOAD_CHUNK):
            chunk = list(ids.values())[start : start + _LOAD_CHUNK]
            for series in Series.objects.filter(pk__in=chunk).select_related("indicator"):
                series_index.add(series)
        for output in outputs:
            if output.series is None:
                output.series = series_index.get((indicator.pk, output.frequency, output.key))


def output_series(indicator: Indicator, output: Output, series_index: SeriesIndex) -> IndexSeries:
    if output.series is None:
        outputs_series(indicator, [output], series_index)
    # outputs_series creates the series that are missing, or raises.
    assert output.series is not None
    return output.series
