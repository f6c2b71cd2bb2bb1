"""The derived-indicator engine: definitions as data, computed in dependency order.

A definition (``DerivedDefinition``) names a kind, its inputs and parameters. The
engine reads the input values (the published ones, optionally overlaid with the draft
values of a release about to be published), computes every affected output value with
Decimal arithmetic and records the formula and the exact inputs used with each value.
A missing input or a zero denominator gives no value and a ``DerivedGap`` with the
reason, never an exception and never a wrong number.

Derived values are observations like any other: written as drafts into the release
whose data caused them, they become public in the same transaction as that release's
inputs, and follow the same vintages.

Two engines give the same rows: this module's (``derived_compute`` + ``derived_write``),
the reference and the one on SQLite, and the set-based one on PostgreSQL
(``derived_run_sql``, statements in ``stats/derived_sql.py``), the default there. The
public entry points (``derived_precompute``, ``derived_confirm``,
``derived_recompute_all``) choose by database; ``engine=`` forces one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from .choices import DerivedKind, InputRole, RecomputeStatus
from .models import (
    VALUE_DECIMAL_PLACES,
    Code,
    CodeList,
    DerivedDefinition,
    DerivedGap,
    DerivedInput,
    Indicator,
    Observation,
    RecomputeRequest,
    Series,
    Target,
    exact_text,
)
from .periods import PERIODS_PER_YEAR, parse_period

logger = logging.getLogger(__name__)
ONE_HUNDRED = Decimal(100)
_QUANTUM = Decimal(1).scaleb(-VALUE_DECIMAL_PLACES)
# Enough digits that rounding to the stored 10 decimal places is the only rounding.
_CONTEXT = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN)

SHIFT_KINDS = {DerivedKind.CHANGE, DerivedKind.PERCENT_CHANGE}
YEAR_KINDS = {DerivedKind.CAGR, DerivedKind.MULTIPLE}
UNARY_KINDS = (
    SHIFT_KINDS
    | YEAR_KINDS
    | {
        DerivedKind.PROGRESS_TO_TARGET,
        DerivedKind.REQUIRED_GROWTH,
    }
)
BINARY_KINDS = {
    DerivedKind.RATIO,
    DerivedKind.SHARE,
    DerivedKind.PER_UNIT,
    DerivedKind.DIFFERENCE,
}
DEFAULT_FORMULAS = {
    DerivedKind.CHANGE: "x[t] - x[t-k]",
    DerivedKind.PERCENT_CHANGE: "(x[t] / x[t-k] - 1) × 100",
    DerivedKind.CAGR: "((x[t] / x[t-n years]) ^ (1/n) - 1) × 100",
    DerivedKind.MULTIPLE: "x[t] / x[t-n years]",
    DerivedKind.RATIO: "a / b × scale",
    DerivedKind.SHARE: "a / b × 100",
    DerivedKind.PER_UNIT: "a / b",
    DerivedKind.DIFFERENCE: "a - b",
    DerivedKind.SUM: "Σ terms",
    DerivedKind.PROGRESS_TO_TARGET: "x[t] / target × 100",
    DerivedKind.REQUIRED_GROWTH: "((target / x[t]) ^ (1 / years to target) - 1) × 100",
}


class DefinitionError(ValidationError):
    """A definition that cannot be computed as declared (cycle, wrong inputs)."""


# -- the graph ------------------------------------------------------------------------


def _graph() -> dict[int, set[int]]:
    """Derived indicator id -> ids of the indicators it reads."""
    edges: dict[int, set[int]] = defaultdict(set)
    for definition_indicator, input_indicator in DerivedInput.objects.filter(
        definition__is_active=True
    ).values_list("definition__indicator_id", "indicator_id"):
        edges[definition_indicator].add(input_indicator)
    for indicator_id in DerivedDefinition.objects.filter(is_active=True).values_list(
        "indicator_id", flat=True
    ):
        edges.setdefault(indicator_id, set())
    return edges


def definition_check_acyclic(*, indicator_id: int, input_indicator_ids: Iterable[int]) -> None:
    """Refuse a definition whose inputs depend, directly or not, on its own output."""
    edges = _graph()
    edges[indicator_id] = set(input_indicator_ids)
    stack, seen = list(edges[indicator_id]), set()
    while stack:
        current = stack.pop()
        if current == indicator_id:
            code = Indicator.objects.filter(pk=indicator_id).values_list("code", flat=True).first()
            raise DefinitionError(
                f"the inputs of {code} depend on {code} itself: a cycle is not allowed"
            )
        if current in seen:
            continue
        seen.add(current)
        stack.extend(edges.get(current, ()))


def definitions_in_order() -> list[DerivedDefinition]:
    """Active definitions, each after every definition whose output it reads."""
    edges = _graph()
    order: list[int] = []
    state: dict[int, int] = {}

    def visit(node: int) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise DefinitionError("the derived definitions contain a cycle")
        state[node] = 1
        for upstream in edges.get(node, ()):
            if upstream in edges:
                visit(upstream)
        state[node] = 2
        order.append(node)

    for node in sorted(edges):
        visit(node)
    definitions = {
        d.indicator_id: d
        for d in DerivedDefinition.objects.filter(is_active=True)
        .select_related("indicator")
        .prefetch_related("inputs__indicator")
    }
    return [definitions[node] for node in order if node in definitions]


def definition_validate(*, definition: DerivedDefinition, inputs: list[DerivedInput]) -> None:
    """The roles a kind needs, and no cycle. Raises DefinitionError naming the problem."""
    roles = [i.role for i in inputs]
    kind = definition.kind
    if kind in UNARY_KINDS and roles != [InputRole.X]:
        raise DefinitionError(f"{kind} needs exactly one input with role x")
    if kind in BINARY_KINDS and sorted(roles) != [InputRole.A, InputRole.B]:
        raise DefinitionError(f"{kind} needs one input with role a and one with role b")
    if kind == DerivedKind.SUM and (len(roles) < 2 or set(roles) != {InputRole.TERM}):
        raise DefinitionError("sum needs two or more inputs with role term")
    output_dimensions = set(definition.indicator.dimensions.values_list("id", flat=True))
    for item in inputs:
        input_dimensions = set(item.indicator.dimensions.values_list("id", flat=True))
        if input_dimensions != output_dimensions:
            raise DefinitionError(
                f"input {item.indicator.code} has dimensions {sorted(input_dimensions)}, "
                f"the output has {sorted(output_dimensions)}"
            )
        unknown = set(item.codes) - input_dimensions
        if unknown:
            raise DefinitionError(f"input {item.indicator.code}: no dimension {sorted(unknown)}")
    definition_check_acyclic(
        indicator_id=definition.indicator_id, input_indicator_ids=[i.indicator_id for i in inputs]
    )


# -- reading inputs -----------------------------------------------------------------

# (value, observation id, status) of one input value
_Found = tuple[Decimal, int, str]
_LOAD_CHUNK = 2000


@dataclass
class _Values:
    """Input values: series id -> period -> (value, observation id, status).

    Two ways of loading, one per run: every period of a series (a full recompute), or
    only the (series, period) pairs a change needs (``_load_pairs``). Values computed in
    this run (``put``) take precedence over the stored ones, as they would once written.
    """

    by_series: dict[int, dict[str, _Found]] = field(default_factory=lambda: defaultdict(dict))
    complete: set[int] = field(default_factory=set)
    loaded: set[tuple[int, str]] = field(default_factory=set)
    pending: dict[int, dict[str, _Found]] = field(default_factory=lambda: defaultdict(dict))
    partial: bool = False  # loaded by pairs (a change), not by whole series

    def get(self, series_id: int | None, period: str) -> _Found | None:
        if series_id is None:
            return None
        return self.by_series.get(series_id, {}).get(period)

    def put(self, series_id: int, period: str, found: _Found) -> None:
        """A value computed in this run, for the definitions that read it."""
        if self.partial or series_id in self.complete:
            self.by_series[series_id][period] = found
        else:
            # Applied over the stored values when (if) the series is loaded.
            self.pending[series_id][period] = found
        self.loaded.add((series_id, period))


def _rows(queryset, *fields):
    """values_list rows of a queryset, fetched in one go (no server-side cursor)."""
    return queryset.values_list(*fields)


def _load_values(series_ids: set[int], release_id: int | None, values: _Values) -> None:
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
            by_series[series_id][period] = (value, obs_id, status)
        if release_id is not None:
            drafts = Observation.objects.filter(
                release_id=release_id, valid_from__isnull=True, series_id__in=chunk
            )
            for series_id, period, value, obs_id, status in _rows(
                drafts, "series_id", "period", "value", "id", "status"
            ):
                by_series[series_id][period] = (value, obs_id, status)
        for series_id in chunk:
            data = by_series[series_id]
            overlay = values.pending.pop(series_id, None)
            if overlay:
                data.update(overlay)
            values.complete.add(series_id)


def _load_pairs(needed: dict[int, set[str]], release_id: int | None, values: _Values) -> None:
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
        fetched: dict[tuple[int, str], _Found] = {}
        rows = Observation.objects.current().filter(series_id__in=chunk, period__in=periods)
        for series_id, period, value, obs_id, status in _rows(
            rows, "series_id", "period", "value", "id", "status"
        ):
            fetched[(series_id, period)] = (value, obs_id, status)
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
                fetched[(series_id, period)] = (value, obs_id, status)
        # Every pair of chunk x periods is now known (found or absent), except those
        # loaded or computed before, which stay as they are.
        for (series_id, period), found in fetched.items():
            if (series_id, period) not in loaded:
                by_series[series_id][period] = found
        for series_id in chunk:
            by_series.setdefault(series_id, {})
            loaded.update((series_id, p) for p in periods)


@dataclass(slots=True)
class _IndexedSeries:
    """What the engine reads of a series (the attributes of a Series it uses)."""

    pk: int
    indicator_id: int
    indicator: Indicator
    frequency: str
    key: str
    dimensions: dict[str, str]


class _SeriesIndex:
    """Every series (or those of ``indicator_ids``), by (indicator, frequency, key) and by
    indicator (in that order)."""

    def __init__(self, indicator_ids: Iterable[int] | None = None):
        self.by_key: dict[tuple[int, str, str], Series] = {}
        self.by_indicator: dict[int, list[Series]] = defaultdict(list)
        indicators = Indicator.objects.all()
        sql = (
            "SELECT id, indicator_id, frequency, key, dimensions FROM stats_series "
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
            if connection.vendor == "postgresql":
                sql = sql.replace("dimensions FROM", "dimensions::text FROM")
            else:
                sql = sql.replace(
                    "IN (SELECT unnest(%s::bigint[]))", "IN (SELECT value FROM json_each(%s))"
                )
                params = [json.dumps(p) for p in params]
            cursor.execute(sql, params)
            for pk, indicator_id, frequency, key, dimensions in cursor.fetchall():
                if isinstance(dimensions, str):
                    dimensions = json.loads(dimensions)
                self.add(
                    _IndexedSeries(
                        pk, indicator_id, by_pk[indicator_id], frequency, key, dimensions
                    )
                )

    def add(self, series: Series) -> None:
        self.by_key[(series.indicator_id, series.frequency, series.key)] = series
        self.by_indicator[series.indicator_id].append(series)

    def get(self, key: tuple[int, str, str]) -> Series | None:
        return self.by_key.get(key)


def _series_index(indicator_ids: Iterable[int] | None = None) -> _SeriesIndex:
    return _SeriesIndex(indicator_ids)


def _matches(dimensions: dict[str, str], codes: dict[str, str], totals: set[tuple[str, str]]):
    for codelist, wanted in codes.items():
        have = dimensions.get(codelist)
        if wanted == "*":
            if (codelist, have) in totals:
                return False
        elif have != wanted:
            return False
    return True


_CODELIST_ORDER: list[str] = []


def _key(dimensions: dict[str, str]) -> str:
    """The series key text, in code-list order (JSON storage does not keep key order)."""
    return ",".join(f"{c}={dimensions[c]}" for c in _CODELIST_ORDER if c in dimensions)


def _refresh_codelist_order() -> None:
    _CODELIST_ORDER[:] = CodeList.objects.order_by("order", "id").values_list("id", flat=True)


@dataclass(slots=True)
class _Output:
    frequency: str
    dimensions: dict[str, str]
    inputs: dict[str, Series | None]  # role (or term#i) -> series
    target: Target | None = None
    wanted: dict[str, str] = field(default_factory=dict)  # role -> "CODE key" it looked for
    key: str = ""  # the output series key
    series: Series | None = None  # the output series, once known


def _outputs(definition: DerivedDefinition, series_index: _SeriesIndex, totals) -> list[_Output]:
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
        roles: dict[str, Series | None] = {driver_role: series}
        wanted: dict[str, str] = {}
        for position, other in enumerate(others, start=1):
            dimensions = dict(series.dimensions)
            dimensions.update({k: v for k, v in other.codes.items() if v != "*"})
            name = f"term{position}" if other.role == InputRole.TERM else other.role
            key = _key(dimensions)
            roles[name] = series_index.get((other.indicator_id, frequency, key))
            wanted[name] = f"{other.indicator.code} {key}"
        dimensions = dict(series.dimensions)
        outputs.append(_Output(frequency, dimensions, roles, wanted=wanted, key=_key(dimensions)))
    return outputs


# -- arithmetic -----------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    value: Decimal | None
    reason: str = ""
    # False when the series that drives the output has no value for the period: then
    # no value is expected and none is reported missing.
    expected: bool = True
    text: str = ""
    used: list[tuple[str, Series, str, Decimal, int, str]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The weakest status of the inputs: an estimate in, an estimate out."""
        for used in self.used:
            if used[5] != "normal":
                break
        else:
            return "normal"
        statuses = {u[5] for u in self.used}
        for weakest in ("break", "estimate", "provisional"):
            if weakest in statuses:
                return "estimate" if weakest == "break" else weakest
        return "normal"


def _fmt(value: Decimal) -> str:
    return exact_text(value)


_SCALE = 10**VALUE_DECIMAL_PLACES


def _quotient(numerator: Decimal, denominator: Decimal) -> Decimal:
    """numerator / denominator rounded once, half to even, to the stored 10 decimals.

    Exact: the rational quotient is rounded, not a 50-digit approximation of it, so the
    set-based engine on PostgreSQL (stats/derived_sql.py) gives the same digits.
    """
    units = round(Fraction(numerator) * _SCALE / Fraction(denominator))
    return Decimal(units).scaleb(-VALUE_DECIMAL_PLACES, context=_CONTEXT)


@lru_cache(maxsize=65536)
def _shift(period: str, steps: int) -> str:
    """The code of the period ``steps`` periods after ``period`` (before when negative)."""
    return parse_period(period).shift(steps).code


def _root(base: Decimal, n: Decimal) -> Decimal:
    """base ** (1/n) in Decimal arithmetic (base > 0)."""
    return _CONTEXT.power(base, _CONTEXT.divide(Decimal(1), n))


def _missing(output: _Output, role: str, at: str, period: str) -> Result:
    series = output.inputs.get(role)
    if series is None:
        return Result(None, f"there is no series {output.wanted.get(role, role)}")
    driver = role in ("x", "a", "term0") and at == period
    return Result(
        None, f"no value of {series.indicator.code} {series.key} for {at}", expected=not driver
    )


def compute(definition: DerivedDefinition, output: _Output, period: str, values: _Values) -> Result:
    """One derived value, or no value and the reason."""
    kind = definition.kind
    used: list[tuple[str, Series, str, Decimal, int, str]] = []

    def read(role: str, at: str) -> Decimal | None:
        series = output.inputs.get(role)
        found = values.get(series.pk if series else None, at)
        if found is None:
            return None
        used.append((role, series, at, *found))
        return found[0]

    def missing(role: str, at: str) -> Result:
        return _missing(output, role, at, period)

    c = _CONTEXT
    if kind in SHIFT_KINDS or kind in YEAR_KINDS:
        steps = _steps(definition, parse_period(period).frequency)
        earlier = _shift(period, -steps)
        x_now, x_then = read("x", period), read("x", earlier)
        if x_now is None:
            return missing("x", period)
        if x_then is None:
            return missing("x", earlier)
        if kind == DerivedKind.CHANGE:
            return Result(
                c.subtract(x_now, x_then), text=f"{_fmt(x_now)} - {_fmt(x_then)}", used=used
            )
        if x_then == 0:
            return Result(None, f"the value for {earlier} is zero", used=used)
        if kind == DerivedKind.PERCENT_CHANGE:
            value = _quotient(c.multiply(c.subtract(x_now, x_then), ONE_HUNDRED), x_then)
            return Result(value, text=f"({_fmt(x_now)} / {_fmt(x_then)} - 1) × 100", used=used)
        if kind == DerivedKind.MULTIPLE:
            return Result(
                _quotient(x_now, x_then), text=f"{_fmt(x_now)} / {_fmt(x_then)}", used=used
            )
        ratio = c.divide(x_now, x_then)
        if ratio < 0:
            return Result(None, "growth of a value that changed sign is undefined", used=used)
        value = c.multiply(c.subtract(_root(ratio, Decimal(definition.years)), 1), ONE_HUNDRED)
        return Result(
            value,
            text=f"(({_fmt(x_now)} / {_fmt(x_then)}) ^ (1/{definition.years}) - 1) × 100",
            used=used,
        )
    if kind in BINARY_KINDS:
        a, b = read("a", period), read("b", period)
        if a is None:
            return missing("a", period)
        if b is None:
            return missing("b", period)
        if kind == DerivedKind.DIFFERENCE:
            return Result(c.subtract(a, b), text=f"{_fmt(a)} - {_fmt(b)}", used=used)
        if b == 0:
            return Result(None, f"the denominator for {period} is zero", used=used)
        if kind == DerivedKind.PER_UNIT:
            return Result(_quotient(a, b), text=f"{_fmt(a)} / {_fmt(b)}", used=used)
        scale = ONE_HUNDRED if kind == DerivedKind.SHARE else definition.scale
        text = f"{_fmt(a)} / {_fmt(b)}" + ("" if scale == 1 else f" × {_fmt(scale)}")
        return Result(_quotient(c.multiply(a, scale), b), text=text, used=used)
    if kind == DerivedKind.SUM:
        total = Decimal(0)
        parts = []
        for role in sorted(r for r in output.inputs if r.startswith("term")):
            term = read(role, period)
            if term is None:
                return missing(role, period)
            total = c.add(total, term)
            parts.append(_fmt(term))
        return Result(total, text=" + ".join(parts), used=used)
    # Progress and required growth read the series' target.
    target = output.target
    if target is None:
        return Result(None, "the series has no target")
    x_now = read("x", period)
    if x_now is None:
        return missing("x", period)
    if kind == DerivedKind.PROGRESS_TO_TARGET:
        if target.value == 0:
            return Result(None, "the target is zero", used=used)
        value = c.multiply(c.divide(x_now, target.value), ONE_HUNDRED)
        return Result(
            value,
            text=f"{_fmt(x_now)} / {_fmt(target.value)} (target {target.period}) × 100",
            used=used,
        )
    years = parse_period(target.period).year - parse_period(period).year
    if years <= 0:
        return Result(None, f"the target year {target.period} is not after {period}", used=used)
    if x_now <= 0:
        return Result(None, f"the value for {period} is not positive", used=used)
    value = c.multiply(
        c.subtract(_root(c.divide(target.value, x_now), Decimal(years)), 1), ONE_HUNDRED
    )
    return Result(
        value,
        text=f"(({_fmt(target.value)} / {_fmt(x_now)}) ^ (1/{years}) - 1) × 100",
        used=used,
    )


class _Texts(dict):
    """exact_text of values, each formatted once per run (it depends on the value only)."""

    def __missing__(self, value: Decimal) -> str:
        text = self[value] = exact_text(value)
        return text


def _compute_shift(definition, output, periods, values, texts) -> Iterable[tuple[str, Result]]:
    """compute() for change, percent change and multiple, one output series at a time."""
    kind = definition.kind
    series = output.inputs["x"]
    data = values.by_series.get(series.pk, {})
    subtract, multiply = _CONTEXT.subtract, _CONTEXT.multiply
    for period in periods:
        now = data.get(period)
        if now is None:
            continue  # the driver has no value: none expected
        earlier = _shift(period, -_steps(definition, parse_period(period).frequency))
        then = data.get(earlier)
        if then is None:
            yield period, _missing(output, "x", earlier, period)
            continue
        x_now, x_then = now[0], then[0]
        used = [("x", series, period, *now), ("x", series, earlier, *then)]
        if kind == DerivedKind.CHANGE:
            text = f"{texts[x_now]} - {texts[x_then]}"
            yield period, Result(subtract(x_now, x_then), text=text, used=used)
        elif x_then == 0:
            yield period, Result(None, f"the value for {earlier} is zero", used=used)
        elif kind == DerivedKind.PERCENT_CHANGE:
            value = _quotient(multiply(subtract(x_now, x_then), ONE_HUNDRED), x_then)
            text = f"({texts[x_now]} / {texts[x_then]} - 1) × 100"
            yield period, Result(value, text=text, used=used)
        else:  # multiple
            text = f"{texts[x_now]} / {texts[x_then]}"
            yield period, Result(_quotient(x_now, x_then), text=text, used=used)


def _compute_binary(definition, output, periods, values, texts) -> Iterable[tuple[str, Result]]:
    """compute() for ratio, share, per unit and difference, one output series at a time."""
    kind = definition.kind
    a_series, b_series = output.inputs["a"], output.inputs.get("b")
    a_data = values.by_series.get(a_series.pk, {})
    b_data = values.by_series.get(b_series.pk, {}) if b_series is not None else {}
    subtract, multiply = _CONTEXT.subtract, _CONTEXT.multiply
    scale = ONE_HUNDRED if kind == DerivedKind.SHARE else definition.scale
    scale_text = "" if scale == 1 else f" × {_fmt(scale)}"
    for period in periods:
        a_found = a_data.get(period)
        if a_found is None:
            continue  # the driver has no value: none expected
        b_found = b_data.get(period)
        if b_found is None:
            yield period, _missing(output, "b", period, period)
            continue
        a, b = a_found[0], b_found[0]
        used = [("a", a_series, period, *a_found), ("b", b_series, period, *b_found)]
        if kind == DerivedKind.DIFFERENCE:
            text = f"{texts[a]} - {texts[b]}"
            yield period, Result(subtract(a, b), text=text, used=used)
        elif b == 0:
            yield period, Result(None, f"the denominator for {period} is zero", used=used)
        elif kind == DerivedKind.PER_UNIT:
            yield period, Result(_quotient(a, b), text=f"{texts[a]} / {texts[b]}", used=used)
        else:
            text = f"{texts[a]} / {texts[b]}{scale_text}"
            yield period, Result(_quotient(multiply(a, scale), b), text=text, used=used)


def _compute_output(definition, output, periods, values, texts) -> Iterable[tuple[str, Result]]:
    """(period, result) for each period a value is expected, in the order of ``periods``."""
    kind = definition.kind
    if kind in SHIFT_KINDS or kind == DerivedKind.MULTIPLE:
        yield from _compute_shift(definition, output, periods, values, texts)
        return
    if kind in BINARY_KINDS:
        yield from _compute_binary(definition, output, periods, values, texts)
        return
    for period in periods:
        result = compute(definition, output, period, values)
        if result.expected:
            yield period, result


def _steps(definition: DerivedDefinition, frequency: str) -> int:
    """How many periods back: k for changes (0 means one year), n years otherwise."""
    if definition.kind in SHIFT_KINDS and definition.periods:
        return definition.periods
    return definition.years * PERIODS_PER_YEAR[frequency]


def _periods_for(
    definition: DerivedDefinition,
    output: _Output,
    values: _Values,
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
            _shift(period, _steps(definition, parse_period(period).frequency)) for period in periods
        }
    return periods


def _periods_read(definition: DerivedDefinition, output: _Output, periods: set[str]) -> set[str]:
    """The input periods computing ``periods`` of ``output`` reads."""
    if definition.kind in SHIFT_KINDS or definition.kind in YEAR_KINDS:
        return periods | {
            _shift(period, -_steps(definition, parse_period(period).frequency))
            for period in periods
        }
    return periods


# -- the run ----------------------------------------------------------------------------


@dataclass(slots=True)
class ComputedValue:
    definition: DerivedDefinition
    output: _Output
    period: str
    result: Result


@dataclass
class RecomputeSummary:
    computed: int = 0
    written: int = 0
    unchanged: int = 0
    gaps: int = 0
    definitions: list[str] = field(default_factory=list)
    release: object = None
    # Of ``written``: rows written directly as published (``derived_run_sql`` with
    # ``publish_at``), and the current rows they revised, closed at that instant.
    published: int = 0
    revised: int = 0
    published_at: dt.datetime | None = None


@dataclass
class _Context:
    """What every definition of a run needs: series, totals, targets, definitions."""

    series_index: _SeriesIndex
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


def _context(changed_indicators: set[int] | None = None) -> _Context:
    """The run's context; with ``changed_indicators``, only the series it can touch."""
    _refresh_codelist_order()
    definitions = definitions_in_order()
    used = None
    if changed_indicators is not None:
        used = _downstream(definitions, changed_indicators)
    return _Context(
        series_index=_series_index(used),
        totals=set(Code.objects.filter(is_total=True).values_list("codelist_id", "code")),
        targets={t.series_id: t for t in Target.objects.order_by("period_start")},
        definitions=definitions,
    )


def derived_compute(
    *,
    changed: set[tuple[int, str]] | None,
    release_id: int | None,
    only: Iterable[int] | None = None,
    overlay: Iterable[tuple[int, str, Decimal, str]] = (),
    context: _Context | None = None,
) -> list[ComputedValue]:
    """Compute the derived values downstream of ``changed`` (None: everything).

    ``release_id`` overlays that release's draft values on the published ones, so a
    scheduled release's consequences can be computed before it is public. ``overlay``
    (series, period, value, status) takes precedence over both: values computed earlier
    in the same run by the set-based engine.
    """
    if context is None:
        context = _context()
    else:
        _refresh_codelist_order()
    series_index, totals, targets = context.series_index, context.totals, context.targets
    values = _Values(partial=changed is not None)
    for series_id, period, value, status in overlay:
        values.put(series_id, period, (value, 0, status))
    texts = _Texts()
    computed: list[ComputedValue] = []
    # Changed periods by series, extended with what each definition produces.
    changes: dict[int, set[str]] | None = None
    changed_indicators: set[int] | None = None
    if changed is not None:
        changes = defaultdict(set)
        for series_id, period in changed:
            changes[series_id].add(period)
        changed_indicators = set(
            Series.objects.filter(pk__in=list(changes)).values_list("indicator_id", flat=True)
        )
    wanted = set(only) if only is not None else None
    definitions = context.definitions
    # Indicators some definition reads: only their computed values are kept as inputs.
    read_by_some = {i.indicator_id for d in definitions for i in d.inputs.all()}
    for definition in definitions:
        if wanted is not None and definition.indicator_id not in wanted:
            continue
        input_indicators = {i.indicator_id for i in definition.inputs.all()}
        if changed_indicators is not None and not input_indicators & changed_indicators:
            continue
        outputs = _outputs(definition, series_index, totals)
        if definition.kind in (DerivedKind.PROGRESS_TO_TARGET, DerivedKind.REQUIRED_GROWTH):
            for output in outputs:
                output.target = targets.get(output.inputs["x"].pk)
            outputs = [output for output in outputs if output.target is not None]
        if changes is None:
            needed = {s.pk for o in outputs for s in o.inputs.values() if s is not None}
            _load_values(needed, release_id, values)
            plan = [(output, _periods_for(definition, output, values, None)) for output in outputs]
        else:
            plan, reads = [], defaultdict(set)
            for output in outputs:
                periods = _periods_for(definition, output, values, changes)
                if not periods:
                    continue
                plan.append((output, periods))
                read = _periods_read(definition, output, periods)
                for series in output.inputs.values():
                    if series is not None:
                        reads[series.pk] |= read
            _load_pairs(reads, release_id, values)
        produced: list[tuple[_Output, list[tuple[str, Result]]]] = []
        for output, periods in plan:
            results = list(_compute_output(definition, output, sorted(periods), values, texts))
            if results:
                computed.extend(ComputedValue(definition, output, p, r) for p, r in results)
                produced.append((output, results))
        _outputs_series(definition.indicator, [output for output, _ in produced], series_index)
        if definition.indicator_id not in read_by_some:
            continue
        # What this definition produced is an input of the ones after it.
        for output, results in produced:
            series_id = output.series.pk
            for period, result in results:
                if result.value is not None:
                    values.put(series_id, period, (_stored(result.value), 0, result.status))
                    if changes is not None:
                        changes[series_id].add(period)
        if changed_indicators is not None and produced:
            changed_indicators.add(definition.indicator_id)
    return computed


def _stored(value: Decimal) -> Decimal:
    return value.quantize(_QUANTUM, context=_CONTEXT)


_SQLITE_DIGITS = decimal.Context(prec=15)


def _same_as_stored(stored: Decimal | None, value: Decimal) -> bool:
    """Whether ``value`` is what the database already holds.

    PostgreSQL keeps the exact Decimal. SQLite (the embedded default) keeps a float, 15
    significant digits, so the comparison is made at that precision there; otherwise
    every confirmation would "revise" a value it had just written.
    """
    if stored is None:
        return False
    if connection.vendor == "sqlite":
        return _SQLITE_DIGITS.plus(stored) == _SQLITE_DIGITS.plus(value)
    return stored == value


def _outputs_series(
    indicator: Indicator, outputs: list[_Output], series_index: _SeriesIndex
) -> None:
    """Set ``output.series`` of each output, creating the series that do not exist yet."""
    from .services import _series_bulk_create

    missing: dict[tuple[int, str, str], dict[str, str]] = {}
    for output in outputs:
        if output.series is not None:
            continue
        ref = (indicator.pk, output.frequency, output.key)
        output.series = series_index.get(ref)
        if output.series is None:
            # The key's code-list order, as series_get_or_create stores it.
            missing[ref] = {
                c: output.dimensions[c] for c in _CODELIST_ORDER if c in output.dimensions
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
        ids = _series_bulk_create(list(missing), missing, code_ids)
        for start in range(0, len(ids), _LOAD_CHUNK):
            chunk = list(ids.values())[start : start + _LOAD_CHUNK]
            for series in Series.objects.filter(pk__in=chunk).select_related("indicator"):
                series_index.add(series)
        for output in outputs:
            if output.series is None:
                output.series = series_index.get((indicator.pk, output.frequency, output.key))


def _output_series(indicator: Indicator, output: _Output, series_index: _SeriesIndex) -> Series:
    if output.series is None:
        _outputs_series(indicator, [output], series_index)
    return output.series


def _formula_prefix(definition: DerivedDefinition) -> dict:
    return {
        "kind": definition.kind,
        "formula": definition.formula_en or DEFAULT_FORMULAS[definition.kind],
        "formula_id": definition.formula_id or DEFAULT_FORMULAS[definition.kind],
    }


def _provenance(computed: ComputedValue) -> dict:
    definition, result = computed.definition, computed.result
    return {
        **_formula_prefix(definition),
        "expression": f"{exact_text(_stored(result.value))} = {result.text}",
        "inputs": [
            {
                "role": role,
                "indicator": series.indicator.code,
                "series_key": series.key,
                "period": period,
                "value": exact_text(value),
                "observation": obs_id or None,
            }
            for role, series, period, value, obs_id, _ in result.used
        ],
    }


def _json(value) -> str:
    # Non-ASCII (the × of a formula) as UTF-8: then a backslash is the only character
    # of the text that COPY needs escaped (JSON escapes control characters itself).
    return json.dumps(value, ensure_ascii=False)


class _ProvenanceText:
    """_provenance() as JSON text, the constant parts encoded once per definition/series."""

    def __init__(self, texts: _Texts):
        self.texts = texts
        self.heads: dict[int, str] = {}
        self.inputs: dict[tuple[str, int], str] = {}

    def __call__(self, computed: ComputedValue, stored: Decimal) -> str:
        definition, result = computed.definition, computed.result
        head = self.heads.get(definition.pk)
        if head is None:
            head = self.heads[definition.pk] = _json(_formula_prefix(definition))[:-1]
        texts, inputs = self.texts, self.inputs
        parts = []
        for role, series, period, value, obs_id, _ in result.used:
            start = inputs.get((role, series.pk))
            if start is None:
                start = inputs[(role, series.pk)] = _json(
                    {"role": role, "indicator": series.indicator.code, "series_key": series.key}
                )[:-1]
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
_DERIVED_SOURCE = "angka: derived"


def _copy_rows(rows: list[tuple], release_id: int, texts: _Texts) -> int:
    """COPY derived rows (series id, period, value, status, computed) into stats_observation.

    The text is formatted while a worker thread sends it (psycopg's QueuedLibpqWriter); the
    two foreign keys are checked during the COPY instead of all at once at commit.
    """
    from psycopg import sql as pg_sql
    from psycopg.copy import QueuedLibpqWriter

    from .services import _COPY_NULL, _copy_field

    provenance = _ProvenanceText(texts)
    tail = f"\t\t{_copy_field(_DERIVED_SOURCE)}\t{_COPY_NULL}\t"
    created = f"\t{_COPY_NULL}\t{timezone.now().isoformat()}\n"
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
                        f"{release}{_copy_field(period)}\t{parsed.start.isoformat()}\t"
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


def _current_values(
    series_ids: list[int], periods: set[str] | None
) -> dict[tuple[int, str], Decimal]:
    current: dict[tuple[int, str], Decimal] = {}
    for start in range(0, len(series_ids), _LOAD_CHUNK):
        rows = Observation.objects.current().filter(
            series_id__in=series_ids[start : start + _LOAD_CHUNK]
        )
        if periods is not None:
            rows = rows.filter(period__in=periods)
        for series_id, period, value in _rows(rows, "series_id", "period", "value"):
            current[(series_id, period)] = value
    return current


# Compare with the stored values of only the computed periods when there are few.
_FEW_PERIODS = 100


@transaction.atomic
def derived_write(
    *,
    computed: list[ComputedValue],
    release=None,
    new_release=None,
) -> RecomputeSummary:
    """Write the computed values that differ from what is published now as drafts of
    ``release`` (or of ``new_release()``, called only if there is anything to write);
    record a gap for each value that could not be computed."""
    summary = RecomputeSummary()
    _refresh_codelist_order()
    series_index = None
    by_series: dict[int, list[ComputedValue]] = defaultdict(list)
    for item in computed:
        output = item.output
        if output.series is None:
            if series_index is None:
                series_index = _series_index()
            _output_series(item.definition.indicator, output, series_index)
        by_series[output.series.pk].append(item)
    ids = list(by_series)
    periods = {item.period for item in computed}
    current = _current_values(ids, periods if len(periods) <= _FEW_PERIODS else None)
    if release is not None:
        Observation.objects.filter(
            release=release, valid_from__isnull=True, series_id__in=ids
        ).delete()
    new_rows, gaps = [], {}
    for series_id, items in by_series.items():
        for item in items:
            summary.computed += 1
            result = item.result
            if result.value is None:
                summary.gaps += 1
                gaps[(item.definition.pk, item.output.key, item.period)] = (
                    item.definition,
                    result.reason,
                )
                continue
            value = _stored(result.value)
            if _same_as_stored(current.get((series_id, item.period)), value):
                summary.unchanged += 1
                continue
            new_rows.append((series_id, item.period, value, result.status, item))
    texts = _Texts()
    if new_rows:
        if release is None:
            release = new_release()
        if connection.vendor == "postgresql":
            _copy_rows(new_rows, release.pk, texts)
        else:
            Observation.objects.bulk_create(
                (
                    Observation(
                        series_id=series_id,
                        release=release,
                        period=period,
                        period_start=parse_period(period).start,
                        period_end=parse_period(period).end,
                        value=value,
                        status=status,
                        provenance=_provenance(item),
                        note="",
                        source=_DERIVED_SOURCE,
                    )
                    for series_id, period, value, status, item in new_rows
                ),
                batch_size=2000,
            )
    summary.written = len(new_rows)
    summary.release = release
    # Gaps are diagnostics of the latest computation: replace those of what was computed.
    computed_keys: dict[int, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for item in computed:
        keys, item_periods = computed_keys[item.definition.pk]
        keys.add(item.output.key)
        item_periods.add(item.period)
    for definition_id, (keys, item_periods) in computed_keys.items():
        DerivedGap.objects.filter(
            definition_id=definition_id, series_key__in=keys, period__in=item_periods
        ).delete()
    DerivedGap.objects.bulk_create(
        [
            DerivedGap(
                definition=definition,
                series_key=series_key,
                period=period,
                reason=reason[:255],
                release=release,
            )
            for (_, series_key, period), (definition, reason) in gaps.items()
        ],
        batch_size=5000,
        update_conflicts=True,
        unique_fields=["definition", "series_key", "period"],
        update_fields=["reason", "release", "computed_at"],
    )
    summary.definitions = sorted({item.definition.indicator.code for item in computed})
    return summary


def derived_engine(engine: str | None = None) -> str:
    """The engine of a run: "sql" (set-based, PostgreSQL) or "python" (the reference)."""
    if engine is None:
        return "sql" if connection.vendor == "postgresql" else "python"
    if engine not in ("sql", "python"):
        raise ValueError(f"engine: {engine!r} is neither 'sql' nor 'python'")
    if engine == "sql" and connection.vendor != "postgresql":
        raise ValueError("engine: the set-based engine needs PostgreSQL")
    return engine


@transaction.atomic
def derived_run_sql(
    *,
    changed: set[tuple[int, str]] | None = None,
    changed_release_id: int | None = None,
    release_id: int | None = None,
    only: Iterable[int] | None = None,
    release=None,
    new_release=None,
    publish_at: dt.datetime | None = None,
) -> RecomputeSummary:
    """derived_compute + derived_write, set-based: the same rows, computed in PostgreSQL.

    The changes are ``changed`` pairs, or the input values of ``changed_release_id``, or
    (both None) everything. ``release_id``, ``release`` and ``new_release`` mean what
    they mean for derived_compute and derived_write.

    ``publish_at`` (with ``new_release``, the new release to be published at once by
    ``derived_release_publish``): the values are written as rows of the new release
    already published at that instant, the current rows they revise closed at it, as
    ``release_publish`` would do with drafts, but each row written once. A definition of
    a full run with nothing stored yet inserts its values straight from its statement.
    Values of the kinds the Python engine computes stay drafts, for ``release_publish``.
    """
    from . import derived_sql as q

    if publish_at is not None and (release is not None or new_release is None):
        raise ValueError("publish_at: only values of a new release are published directly")
    scoped = changed is not None or changed_release_id is not None
    q.temp_tables_create()
    if changed is not None:
        q.scope_load_pairs(changed)
    elif changed_release_id is not None:
        q.scope_load_release(changed_release_id)
    summary = RecomputeSummary(release=release)
    changed_indicators = q.scope_indicators() if scoped else None
    if scoped and not changed_indicators:
        return summary
    context = _context(changed_indicators)
    # The series with changed values (grown with what each definition produces): a
    # scoped run maps only the outputs that read one of them.
    scope_series = q.scope_series_ids() if scoped else set()
    wanted = set(only) if only is not None else None
    read_by_some = {i.indicator_id for d in context.definitions for i in d.inputs.all()}
    overlay_series: set[int] = set()
    output_series: set[int] = set()
    python_items: list[ComputedValue] = []
    codes: set[str] = set()
    candidates = published = 0
    for definition in context.definitions:
        if wanted is not None and definition.indicator_id not in wanted:
            continue
        input_indicators = {i.indicator_id for i in definition.inputs.all()}
        if changed_indicators is not None and not input_indicators & changed_indicators:
            continue
        feeds = definition.indicator_id in read_by_some
        if definition.kind in q.SQL_KINDS:
            outputs = _outputs(definition, context.series_index, context.totals)
            if scoped:
                outputs = [
                    o
                    for o in outputs
                    if any(s is not None and s.pk in scope_series for s in o.inputs.values())
                ]
            if not outputs:
                continue
            for output in outputs:
                output.series = context.series_index.get(
                    (definition.indicator_id, output.frequency, output.key)
                )
            inputs = {s.pk for o in outputs for s in o.inputs.values() if s is not None}
            overlay = bool(inputs & overlay_series)
            rows = q.map_load(definition, outputs, _steps)
            if any(o.series is None for o in outputs):
                missing = q.outputs_without_series(
                    definition, scoped=scoped, release_id=release_id, overlay=overlay
                )
                if missing:
                    _outputs_series(
                        definition.indicator,
                        [rows[i].output for i in sorted(missing)],
                        context.series_index,
                    )
                    q.map_copy(rows)
            run = {
                "backs": sorted({(row.back, row.output.frequency) for row in rows}),
                "scoped": scoped,
                "release_id": release_id,
                "overlay": overlay,
                "feeds_others": feeds,
            }
            direct = (
                publish_at is not None
                and not scoped
                and release_id is None
                and not overlay
                and not q.outputs_stored()
            )
            if direct:
                result, release = _definition_publish(
                    definition, run, release, new_release, publish_at
                )
                summary.published += result.published
                published += result.published
            else:
                result = q.definition_run(definition, **run)
            if not result.computed:
                continue
            summary.computed += result.computed
            summary.gaps += result.gaps
            candidates += result.candidates
            produced = {o.series.pk for o in outputs if o.series is not None}
        else:
            inputs = {
                s.pk
                for o in _outputs(definition, context.series_index, context.totals)
                for s in o.inputs.values()
                if s is not None
            }
            pairs = None
            if scoped:
                pairs = {(s, p) for s, ps in q.scope_series(sorted(inputs)).items() for p in ps}
                if not pairs:
                    continue
            overlay_values = q.overlay_rows(sorted(inputs & overlay_series))
            items = derived_compute(
                changed=pairs,
                release_id=release_id,
                only=[definition.indicator_id],
                overlay=overlay_values,
                context=context,
            )
            if not items:
                continue
            q.python_results_add(definition.pk, items, _stored, feeds_others=feeds, scoped=scoped)
            python_items.extend(items)
            summary.computed += len(items)
            summary.gaps += sum(1 for item in items if item.result.value is None)
            produced = {item.output.series.pk for item in items}
        codes.add(definition.indicator.code)
        output_series |= produced
        if feeds:
            overlay_series |= produced
            scope_series |= produced
        if changed_indicators is not None:
            changed_indicators.add(definition.indicator_id)
    # What the Python engine computed: written where it differs from the stored value.
    python_rows = []
    if python_items:
        ids = sorted({item.output.series.pk for item in python_items})
        periods = {item.period for item in python_items}
        current = _current_values(ids, periods if len(periods) <= _FEW_PERIODS else None)
        for item in python_items:
            if item.result.value is None:
                continue
            value = _stored(item.result.value)
            series_id = item.output.series.pk
            if not _same_as_stored(current.get((series_id, item.period)), value):
                python_rows.append((series_id, item.period, value, item.result.status, item))
    if publish_at is None and release is not None and output_series:
        q.release_drafts_delete(release.pk, sorted(output_series))
    if candidates or python_rows:
        if release is None:
            release = new_release()
        if candidates and publish_at is not None:
            inserted, closed, latest = q.values_publish(release.pk, publish_at)
            if inserted != candidates:
                _revision_refuse(release, latest, publish_at)
            summary.published += inserted
            summary.revised += closed
        elif candidates:
            q.values_write(release.pk)
        if python_rows:
            _copy_rows(python_rows, release.pk, _Texts())
    if codes:
        q.gaps_write(release.pk if release is not None else None)
    summary.written = published + candidates + len(python_rows)
    summary.unchanged = summary.computed - summary.gaps - summary.written
    summary.release = release
    summary.definitions = sorted(codes)
    if summary.published:
        summary.published_at = publish_at
    return summary


def _definition_publish(definition, run: dict, release, new_release, at: dt.datetime):
    """A definition of a full run with nothing stored: its values inserted as published
    rows of the new release (created now if it is not yet). Returns (result, release).

    The release is created only if the statement writes a value: when it finds gaps
    only, the release and the statement are undone and the definition runs as usual."""
    from . import derived_sql as q

    if release is not None:
        return q.definition_run(definition, publish=(release.pk, at), **run), release
    point = transaction.savepoint()
    release = new_release()
    result = q.definition_run(definition, publish=(release.pk, at), **run)
    if result.published:
        transaction.savepoint_commit(point)
        return result, release
    transaction.savepoint_rollback(point)
    return q.definition_run(definition, **run), None


def _revision_refuse(release, latest: dt.datetime | None, at: dt.datetime) -> None:
    """release_publish's rule: a revision comes after what it revises."""
    from publications.services import ReleaseError

    raise ReleaseError(
        f"release {release.slug} revises values published at "
        f"{latest.isoformat() if latest else None}; it cannot be published earlier "
        f"({at.isoformat()})"
    )


def release_input_changes(*, release) -> set[tuple[int, str]]:
    """The (series, period) pairs a release brings that are not derived values."""
    return set(
        Observation.objects.filter(release=release, provenance__isnull=True).values_list(
            "series_id", "period"
        )
    )


def derived_precompute(*, release, engine: str | None = None) -> RecomputeSummary:
    """Compute, as drafts of ``release``, the derived values its data will cause."""
    with transaction.atomic():
        Observation.objects.filter(
            release=release, valid_from__isnull=True, provenance__isnull=False
        ).delete()
        if derived_engine(engine) == "sql":
            return derived_run_sql(
                changed_release_id=release.pk, release_id=release.pk, release=release
            )
        changes = release_input_changes(release=release)
        if not changes:
            return RecomputeSummary()
        computed = derived_compute(changed=changes, release_id=release.pk)
        return derived_write(computed=computed, release=release)


def _system_release(*, slug_base: str, title_id: str, title_en: str):
    from publications.services import release_create

    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    return release_create(
        slug=f"{slug_base}-{stamp}"[:120],
        title_id=title_id,
        title_en=title_en,
        source="angka: derived indicators",
    )


def _publish_differences(
    compute, *, slug_base: str, title_id: str, title_en: str
) -> RecomputeSummary:
    """Write what differs from the published derived values into a new release, published now.

    ``compute(new_release, at)`` computes and writes (derived_run_sql, which writes the
    values as published at ``at`` already, or derived_compute and derived_write, which
    write drafts); the new release is created only if there is anything to write.

    The instant is taken when the run starts. If a publication commits meanwhile a newer
    vintage of a value this run revises, the values cannot be published at that instant
    (a revision comes after what it revises): the run is undone and made again as
    drafts (``at`` None), published when they are written, as ``release_publish`` does.
    """
    from publications.services import ReleaseError

    def new_release():
        return _system_release(slug_base=slug_base, title_id=title_id, title_en=title_en)

    with transaction.atomic():
        try:
            with transaction.atomic():
                summary = compute(new_release, timezone.now())
        except ReleaseError:
            logger.info("a publication came between; the recompute is written as drafts")
            summary = compute(new_release, None)
        derived_release_publish(summary=summary)
    return summary


def derived_release_publish(*, summary: RecomputeSummary) -> None:
    """Publish the new release of a recompute, if it wrote anything: its drafts, and the
    rows written as published already (``summary.published``, at ``published_at``),
    counted in the publication's audit entry with the vintages they closed."""
    from publications.services import release_publish

    if not summary.written:
        return
    if summary.published:
        release_publish(
            release=summary.release,
            at=summary.published_at,
            published_directly=summary.published,
            revised_directly=summary.revised,
        )
    else:
        release_publish(release=summary.release)


def derived_confirm(*, release, engine: str | None = None) -> RecomputeSummary:
    """After ``release`` is public, recompute what it affects from the published data.

    Normally this finds nothing to change (the values were computed with the release);
    if other data were published in between, the new values are published as a
    derived-values release. Running it twice leaves the same rows.
    """
    names = {
        "slug_base": f"derived-{release.slug}"[:90],
        "title_id": f"Nilai turunan: {release.title_id}"[:255],
        "title_en": f"Derived values: {release.title_en}"[:255],
    }
    if derived_engine(engine) == "sql":
        return _publish_differences(
            lambda new_release, at: derived_run_sql(
                changed_release_id=release.pk, new_release=new_release, publish_at=at
            ),
            **names,
        )
    changes = release_input_changes(release=release)
    if not changes:
        return RecomputeSummary()
    computed = derived_compute(changed=changes, release_id=None)
    return _publish_differences(
        lambda new_release, _at: derived_write(computed=computed, new_release=new_release),
        **names,
    )


def derived_recompute_all(
    *, only: Iterable[int] | None = None, engine: str | None = None
) -> RecomputeSummary:
    """Recompute every derived value from the published data; publish what differs."""
    names = {
        "slug_base": "derived-full-recompute",
        "title_id": "Penghitungan ulang nilai turunan",
        "title_en": "Full recompute of derived values",
    }
    if derived_engine(engine) == "sql":
        return _publish_differences(
            lambda new_release, at: derived_run_sql(
                only=only, new_release=new_release, publish_at=at
            ),
            **names,
        )
    computed = derived_compute(changed=None, release_id=None, only=only)
    return _publish_differences(
        lambda new_release, _at: derived_write(computed=computed, new_release=new_release),
        **names,
    )


# -- the outbox ---------------------------------------------------------------------------

STALE_AFTER = dt.timedelta(minutes=5)


def recompute_request_create(*, release) -> RecomputeRequest:
    """Record, inside the publishing transaction, that ``release`` needs its derived
    values confirmed; the task is enqueued only once that transaction commits."""
    request = RecomputeRequest.objects.create(release=release)
    transaction.on_commit(lambda: _enqueue(request.pk))
    return request


def _enqueue(request_id: int) -> None:
    from .tasks import derived_recompute_request

    try:
        derived_recompute_request.delay(request_id)
    except (KombuOperationalError, OSError) as exc:
        # A broker outage must not fail the publication. The request stays pending in
        # the database; the beat sweeper enqueues it again.
        logger.warning("could not enqueue recompute request %s: %s", request_id, exc)


def recompute_request_run(*, request_id: int) -> RecomputeRequest | None:
    """Claim a pending (or stale running) request, confirm the derived values, mark it done.

    Safe to run twice or concurrently: the claim is a conditional update, and the
    recompute itself writes nothing when the values are already right.
    """
    now = timezone.now()
    claimed = RecomputeRequest.objects.filter(
        Q(status=RecomputeStatus.PENDING)
        | Q(status=RecomputeStatus.RUNNING, started_at__lt=now - STALE_AFTER)
        | Q(status=RecomputeStatus.FAILED),
        pk=request_id,
    ).update(status=RecomputeStatus.RUNNING, started_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    request = RecomputeRequest.objects.select_related("release").get(pk=request_id)
    try:
        summary = derived_confirm(release=request.release)
    except OperationalError:
        RecomputeRequest.objects.filter(pk=request_id).update(status=RecomputeStatus.PENDING)
        raise
    except Exception as exc:
        RecomputeRequest.objects.filter(pk=request_id).update(
            status=RecomputeStatus.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
        )
        raise
    RecomputeRequest.objects.filter(pk=request_id).update(
        status=RecomputeStatus.DONE,
        finished_at=timezone.now(),
        error="",
        result={
            "computed": summary.computed,
            "written": summary.written,
            "unchanged": summary.unchanged,
            "gaps": summary.gaps,
        },
    )
    request.refresh_from_db()
    return request


def recompute_requests_sweep(*, older_than: dt.timedelta = dt.timedelta(minutes=1)) -> list[int]:
    """Enqueue again every request not finished: lost messages, killed workers."""
    now = timezone.now()
    ids = list(
        RecomputeRequest.objects.filter(
            Q(status=RecomputeStatus.PENDING, created_at__lt=now - older_than)
            | Q(status=RecomputeStatus.RUNNING, started_at__lt=now - STALE_AFTER)
        ).values_list("pk", flat=True)
    )
    for request_id in ids:
        _enqueue(request_id)
    return ids
