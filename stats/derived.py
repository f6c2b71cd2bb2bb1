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
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
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


@dataclass
class _Values:
    """Input values: series id -> period -> (value, observation id)."""

    by_series: dict[int, dict[str, tuple[Decimal, int, str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def get(self, series_id: int | None, period: str) -> tuple[Decimal, int, str] | None:
        if series_id is None:
            return None
        return self.by_series.get(series_id, {}).get(period)


def _load_values(series_ids: set[int], release_id: int | None, values: _Values) -> None:
    missing = [s for s in series_ids if s not in values.by_series]
    if not missing:
        return
    for start in range(0, len(missing), 2000):
        chunk = missing[start : start + 2000]
        rows = Observation.objects.current().filter(series_id__in=chunk)
        for series_id, period, value, obs_id, status in rows.values_list(
            "series_id", "period", "value", "id", "status"
        ).iterator(chunk_size=10000):
            values.by_series[series_id][period] = (value, obs_id, status)
        if release_id is not None:
            drafts = Observation.objects.filter(
                release_id=release_id, valid_from__isnull=True, series_id__in=chunk
            )
            for series_id, period, value, obs_id, status in drafts.values_list(
                "series_id", "period", "value", "id", "status"
            ):
                values.by_series[series_id][period] = (value, obs_id, status)
        for series_id in chunk:
            values.by_series.setdefault(series_id, {})


def _series_index() -> dict[tuple[int, str, str], Series]:
    return {(s.indicator_id, s.frequency, s.key): s for s in Series.objects.all()}


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


@dataclass
class _Output:
    frequency: str
    dimensions: dict[str, str]
    inputs: dict[str, Series | None]  # role (or term#i) -> series
    target: Target | None = None
    wanted: dict[str, str] = field(default_factory=dict)  # role -> "CODE key" it looked for


def _outputs(definition: DerivedDefinition, series_index, totals) -> list[_Output]:
    """Every output series of a definition and the input series each one reads."""
    inputs = list(definition.inputs.all())
    driver = next(i for i in inputs if i.role in (InputRole.X, InputRole.A, InputRole.TERM))
    others = [i for i in inputs if i is not driver]
    outputs = []
    for (indicator_id, frequency, _), series in series_index.items():
        if indicator_id != driver.indicator_id:
            continue
        if not _matches(series.dimensions, driver.codes, totals):
            continue
        roles: dict[str, Series | None] = {
            "term0" if driver.role == InputRole.TERM else driver.role: series
        }
        wanted: dict[str, str] = {}
        for position, other in enumerate(others, start=1):
            dimensions = dict(series.dimensions)
            dimensions.update({k: v for k, v in other.codes.items() if v != "*"})
            name = f"term{position}" if other.role == InputRole.TERM else other.role
            roles[name] = series_index.get((other.indicator_id, frequency, _key(dimensions)))
            wanted[name] = f"{other.indicator.code} {_key(dimensions)}"
        outputs.append(_Output(frequency, dict(series.dimensions), roles, wanted=wanted))
    return outputs


# -- arithmetic -----------------------------------------------------------------------


@dataclass
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
        statuses = {u[5] for u in self.used}
        for weakest in ("break", "estimate", "provisional"):
            if weakest in statuses:
                return "estimate" if weakest == "break" else weakest
        return "normal"


def _fmt(value: Decimal) -> str:
    return exact_text(value)


def _root(base: Decimal, n: Decimal) -> Decimal:
    """base ** (1/n) in Decimal arithmetic (base > 0)."""
    return _CONTEXT.power(base, _CONTEXT.divide(Decimal(1), n))


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
        series = output.inputs.get(role)
        if series is None:
            return Result(None, f"there is no series {output.wanted.get(role, role)}")
        driver = role in ("x", "a", "term0") and at == period
        return Result(
            None, f"no value of {series.indicator.code} {series.key} for {at}", expected=not driver
        )

    current = parse_period(period)
    c = _CONTEXT
    if kind in SHIFT_KINDS or kind in YEAR_KINDS:
        steps = _steps(definition, current.frequency)
        earlier = current.shift(-steps).code
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
            value = c.multiply(c.subtract(c.divide(x_now, x_then), 1), ONE_HUNDRED)
            return Result(value, text=f"({_fmt(x_now)} / {_fmt(x_then)} - 1) × 100", used=used)
        if kind == DerivedKind.MULTIPLE:
            return Result(
                c.divide(x_now, x_then), text=f"{_fmt(x_now)} / {_fmt(x_then)}", used=used
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
            return Result(c.divide(a, b), text=f"{_fmt(a)} / {_fmt(b)}", used=used)
        scale = ONE_HUNDRED if kind == DerivedKind.SHARE else definition.scale
        text = f"{_fmt(a)} / {_fmt(b)}" + ("" if scale == 1 else f" × {_fmt(scale)}")
        return Result(c.multiply(c.divide(a, b), scale), text=text, used=used)
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
    years = parse_period(target.period).year - current.year
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


def _steps(definition: DerivedDefinition, frequency: str) -> int:
    """How many periods back: k for changes (0 means one year), n years otherwise."""
    if definition.kind in SHIFT_KINDS and definition.periods:
        return definition.periods
    return definition.years * PERIODS_PER_YEAR[frequency]


def _periods_for(
    definition: DerivedDefinition,
    output: _Output,
    values: _Values,
    changed: set[tuple[int, str]] | None,
) -> set[str]:
    """The output periods to (re)compute: all, or those an input change affects."""
    kind = definition.kind
    series_ids = {s.pk for s in output.inputs.values() if s is not None}
    if changed is None:
        driver = output.inputs.get("x") or output.inputs.get("a") or output.inputs.get("term0")
        periods = set(values.by_series.get(driver.pk, {})) if driver else set()
    else:
        periods = {p for s, p in changed if s in series_ids}
    if kind in SHIFT_KINDS or kind in YEAR_KINDS:
        shifted = set()
        for period in periods:
            parsed = parse_period(period)
            steps = _steps(definition, parsed.frequency)
            shifted.add(parsed.shift(steps).code)
        if changed is None:
            return periods
        periods |= shifted
    return periods


# -- the run ----------------------------------------------------------------------------


@dataclass
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


def derived_compute(
    *,
    changed: set[tuple[int, str]] | None,
    release_id: int | None,
    only: Iterable[int] | None = None,
) -> list[ComputedValue]:
    """Compute the derived values downstream of ``changed`` (None: everything).

    ``release_id`` overlays that release's draft values on the published ones, so a
    scheduled release's consequences can be computed before it is public.
    """
    _refresh_codelist_order()
    series_index = _series_index()
    totals = set(Code.objects.filter(is_total=True).values_list("codelist_id", "code"))
    targets = {t.series_id: t for t in Target.objects.order_by("period_start")}
    values = _Values()
    computed: list[ComputedValue] = []
    changed_indicators = (
        None
        if changed is None
        else {
            series.indicator_id for series in Series.objects.filter(pk__in={s for s, _ in changed})
        }
    )
    wanted = set(only) if only is not None else None
    changed = set(changed) if changed is not None else None
    for definition in definitions_in_order():
        if wanted is not None and definition.indicator_id not in wanted:
            continue
        input_indicators = {i.indicator_id for i in definition.inputs.all()}
        if changed_indicators is not None and not input_indicators & changed_indicators:
            continue
        outputs = _outputs(definition, series_index, totals)
        needed = {s.pk for o in outputs for s in o.inputs.values() if s is not None}
        _load_values(needed, release_id, values)
        produced: list[tuple[_Output, str, Result]] = []
        for output in outputs:
            if definition.kind in (DerivedKind.PROGRESS_TO_TARGET, DerivedKind.REQUIRED_GROWTH):
                output.target = targets.get(output.inputs["x"].pk)
                if output.target is None:
                    continue
            for period in sorted(_periods_for(definition, output, values, changed)):
                result = compute(definition, output, period, values)
                if not result.expected:
                    continue
                computed.append(ComputedValue(definition, output, period, result))
                produced.append((output, period, result))
        # What this definition produced is an input of the ones after it.
        out_index = {}
        for output, period, result in produced:
            key = (definition.indicator_id, output.frequency, _key(output.dimensions))
            series = series_index.get(key)
            if series is None:
                series = _output_series(definition.indicator, output, series_index)
            out_index[key] = series
            _load_values({series.pk}, release_id, values)
            if result.value is not None:
                values.by_series[series.pk][period] = (_stored(result.value), 0, result.status)
                if changed is not None:
                    changed.add((series.pk, period))
        if changed_indicators is not None and produced:
            changed_indicators.add(definition.indicator_id)
    return computed


def _stored(value: Decimal) -> Decimal:
    return value.quantize(_QUANTUM, context=_CONTEXT)


def _output_series(indicator: Indicator, output: _Output, series_index) -> Series:
    from .services import series_get_or_create

    series = series_get_or_create(
        indicator=indicator, frequency=output.frequency, dimensions=output.dimensions
    )
    series_index[(indicator.pk, output.frequency, series.key)] = series
    return series


def _provenance(computed: ComputedValue) -> dict:
    definition, result = computed.definition, computed.result
    return {
        "kind": definition.kind,
        "formula": definition.formula_en or DEFAULT_FORMULAS[definition.kind],
        "formula_id": definition.formula_id or DEFAULT_FORMULAS[definition.kind],
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
    series_index = _series_index()
    by_series: dict[int, list[tuple[str, ComputedValue]]] = defaultdict(list)
    for item in computed:
        key = (item.definition.indicator_id, item.output.frequency, _key(item.output.dimensions))
        series = series_index.get(key) or _output_series(
            item.definition.indicator, item.output, series_index
        )
        by_series[series.pk].append((item.period, item))
    current: dict[tuple[int, str], Decimal] = {}
    ids = list(by_series)
    for start in range(0, len(ids), 2000):
        for series_id, period, value in (
            Observation.objects.current()
            .filter(series_id__in=ids[start : start + 2000])
            .values_list("series_id", "period", "value")
        ):
            current[(series_id, period)] = value
    if release is not None:
        Observation.objects.filter(
            release=release, valid_from__isnull=True, series_id__in=ids
        ).delete()
    new_rows, gap_keys = [], []
    for series_id, items in by_series.items():
        for period, item in items:
            summary.computed += 1
            definition = item.definition
            series_key = _key(item.output.dimensions)
            if item.result.value is None:
                summary.gaps += 1
                gap_keys.append((definition, series_key, period, item.result.reason))
                continue
            value = _stored(item.result.value)
            if current.get((series_id, period)) == value:
                summary.unchanged += 1
                continue
            parsed = parse_period(period)
            new_rows.append(
                Observation(
                    series_id=series_id,
                    period=period,
                    period_start=parsed.start,
                    period_end=parsed.end,
                    value=value,
                    status=item.result.status,
                    provenance=_provenance(item),
                    note="",
                    source="angka: derived",
                )
            )
    if new_rows:
        if release is None:
            release = new_release()
        for row in new_rows:
            row.release = release
        Observation.objects.bulk_create(new_rows, batch_size=2000)
    summary.written = len(new_rows)
    summary.release = release
    # Gaps are diagnostics of the latest computation: replace those of what was computed.
    computed_keys: dict[int, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for item in computed:
        keys, periods = computed_keys[item.definition.pk]
        keys.add(_key(item.output.dimensions))
        periods.add(item.period)
    for definition_id, (keys, periods) in computed_keys.items():
        DerivedGap.objects.filter(
            definition_id=definition_id, series_key__in=keys, period__in=periods
        ).delete()
    for definition, series_key, period, reason in gap_keys:
        DerivedGap.objects.update_or_create(
            definition=definition,
            series_key=series_key,
            period=period,
            defaults={"reason": reason[:255], "release": release},
        )
    summary.definitions = sorted({item.definition.indicator.code for item in computed})
    return summary


def release_input_changes(*, release) -> set[tuple[int, str]]:
    """The (series, period) pairs a release brings that are not derived values."""
    return set(
        Observation.objects.filter(release=release, provenance__isnull=True).values_list(
            "series_id", "period"
        )
    )


def derived_precompute(*, release) -> RecomputeSummary:
    """Compute, as drafts of ``release``, the derived values its data will cause."""
    with transaction.atomic():
        Observation.objects.filter(
            release=release, valid_from__isnull=True, provenance__isnull=False
        ).delete()
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
    computed: list[ComputedValue], *, slug_base: str, title_id: str, title_en: str
) -> RecomputeSummary:
    """Write what differs from the published derived values into a new release, published now."""
    from publications.services import release_publish

    with transaction.atomic():
        summary = derived_write(
            computed=computed,
            new_release=lambda: _system_release(
                slug_base=slug_base, title_id=title_id, title_en=title_en
            ),
        )
        if summary.written:
            release_publish(release=summary.release)
    return summary


def derived_confirm(*, release) -> RecomputeSummary:
    """After ``release`` is public, recompute what it affects from the published data.

    Normally this finds nothing to change (the values were computed with the release);
    if other data were published in between, the new values are published as a
    derived-values release. Running it twice leaves the same rows.
    """
    changes = release_input_changes(release=release)
    if not changes:
        return RecomputeSummary()
    computed = derived_compute(changed=changes, release_id=None)
    return _publish_differences(
        computed,
        slug_base=f"derived-{release.slug}"[:90],
        title_id=f"Nilai turunan: {release.title_id}"[:255],
        title_en=f"Derived values: {release.title_en}"[:255],
    )


def derived_recompute_all(*, only: Iterable[int] | None = None) -> RecomputeSummary:
    """Recompute every derived value from the published data; publish what differs."""
    computed = derived_compute(changed=None, release_id=None, only=only)
    return _publish_differences(
        computed,
        slug_base="derived-full-recompute",
        title_id="Penghitungan ulang nilai turunan",
        title_en="Full recompute of derived values",
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
