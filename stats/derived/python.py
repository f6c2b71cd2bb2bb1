"""The Python engine: the kinds that the set-based engine leaves to it (``kinds.py``
says which and why), computed with Decimal arithmetic inside the same run.

A missing input or a zero denominator gives no value and the reason, never an exception
and never a wrong number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from ..choices import DerivedKind
from ..models import DerivedDefinition, Series, exact_text
from ..periods import parse_period
from .inputs import (
    Found,
    IndexSeries,
    Output,
    RunContext,
    Values,
    codelist_order_refresh,
    outputs_of,
    outputs_series,
    outputs_with_targets,
    pairs_load,
    period_shift,
    periods_read,
    periods_to_compute,
    run_context,
    steps_back,
    values_load,
)
from .kinds import CONTEXT, ONE_HUNDRED, TARGET_KINDS, stored_value


class InputUsed(NamedTuple):
    """One input value a derived value was computed from (its provenance)."""

    role: str
    series: IndexSeries
    period: str
    value: Decimal
    observation_id: int  # 0: computed earlier in the same run, not stored yet
    status: str


@dataclass(slots=True)
class Result:
    value: Decimal | None
    reason: str = ""
    # False when the series that drives the output has no value for the period: then
    # no value is expected and none is reported missing.
    expected: bool = True
    text: str = ""
    used: list[InputUsed] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The weakest status of the inputs: an estimate in, an estimate out."""
        statuses = {used.status for used in self.used}
        if statuses <= {"normal"}:
            return "normal"
        for weakest in ("break", "estimate", "provisional"):
            if weakest in statuses:
                return "estimate" if weakest == "break" else weakest
        return "normal"


@dataclass(slots=True)
class ComputedValue:
    definition: DerivedDefinition
    output: Output
    period: str
    result: Result


def _root(base: Decimal, n: Decimal) -> Decimal:
    """base ** (1/n) in Decimal arithmetic (base > 0)."""
    return CONTEXT.power(base, CONTEXT.divide(Decimal(1), n))


def missing_input(output: Output, role: str, at: str, period: str) -> Result:
    """No value: the input ``role`` has no series, or no value at ``at``."""
    series = output.inputs.get(role)
    if series is None:
        return Result(None, f"there is no series {output.wanted.get(role, role)}")
    driver = role in ("x", "a", "term0") and at == period
    return Result(
        None, f"no value of {series.indicator.code} {series.key} for {at}", expected=not driver
    )


class InputReader:
    """Reads the input values of one output and period, recording each one used."""

    def __init__(self, output: Output, period: str, values: Values):
        self.output, self.period, self.values = output, period, values
        self.used: list[InputUsed] = []

    def __call__(self, role: str, at: str) -> Decimal | None:
        series = self.output.inputs.get(role)
        if series is None:
            return None
        found = self.values.get(series.pk, at)
        if found is None:
            return None
        self.used.append(InputUsed(role, series, at, *found))
        return found.value

    def missing(self, role: str, at: str) -> Result:
        return missing_input(self.output, role, at, self.period)


def compute(definition: DerivedDefinition, output: Output, period: str, values: Values) -> Result:
    """One derived value of a kind of the Python engine, or no value and the reason."""
    kind = definition.kind
    read = InputReader(output, period, values)
    used = read.used
    c, fmt = CONTEXT, exact_text
    if kind == DerivedKind.CAGR:
        earlier = period_shift(period, -steps_back(definition, parse_period(period).frequency))
        x_now, x_then = read("x", period), read("x", earlier)
        if x_now is None:
            return read.missing("x", period)
        if x_then is None:
            return read.missing("x", earlier)
        if x_then == 0:
            return Result(None, f"the value for {earlier} is zero", used=used)
        ratio = c.divide(x_now, x_then)
        if ratio < 0:
            return Result(None, "growth of a value that changed sign is undefined", used=used)
        value = c.multiply(c.subtract(_root(ratio, Decimal(definition.years)), 1), ONE_HUNDRED)
        return Result(
            value,
            text=f"(({fmt(x_now)} / {fmt(x_then)}) ^ (1/{definition.years}) - 1) × 100",
            used=used,
        )
    if kind != DerivedKind.REQUIRED_GROWTH:
        raise ValueError(f"{kind} is computed by the set-based engine, not the Python one")
    target = output.target
    if target is None:
        return Result(None, "the series has no target")
    x_now = read("x", period)
    if x_now is None:
        return read.missing("x", period)
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
        text=f"(({fmt(target.value)} / {fmt(x_now)}) ^ (1/{years}) - 1) × 100",
        used=used,
    )


ComputeOutput = Callable[
    [DerivedDefinition, Output, list[str], Values], Iterable[tuple[str, Result]]
]


def compute_output(
    definition: DerivedDefinition, output: Output, periods: list[str], values: Values
) -> Iterable[tuple[str, Result]]:
    """(period, result) for each period a value is expected, in the order of ``periods``."""
    for period in periods:
        result = compute(definition, output, period, values)
        if result.expected:
            yield period, result


def derived_compute(
    *,
    changed: set[tuple[int, str]] | None,
    release_id: int | None,
    only: Iterable[int] | None = None,
    overlay: Iterable[tuple[int, str, Decimal, str]] = (),
    context: RunContext | None = None,
    compute_output: ComputeOutput = compute_output,
) -> list[ComputedValue]:
    """Compute the derived values downstream of ``changed`` (None: everything).

    ``release_id`` overlays that release's draft values on the published ones, so a
    scheduled release's consequences can be computed before it is public. ``overlay``
    (series, period, value, status) takes precedence over both: values computed earlier
    in the same run by the set-based engine. ``compute_output`` computes one output's
    periods (the tests pass a reference that knows every kind).
    """
    if context is None:
        context = run_context()
    else:
        codelist_order_refresh()
    series_index, totals, targets = context.series_index, context.totals, context.targets
    values = Values(partial=changed is not None)
    for series_id, period, value, status in overlay:
        values.put(series_id, period, Found(value, 0, status))
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
        outputs = outputs_of(definition, series_index, totals)
        if definition.kind in TARGET_KINDS:
            outputs = outputs_with_targets(outputs, targets)
        if changes is None:
            needed = {s.pk for o in outputs for s in o.inputs.values() if s is not None}
            values_load(needed, release_id, values)
            plan = [
                (output, periods_to_compute(definition, output, values, None)) for output in outputs
            ]
        else:
            plan = []
            reads: dict[int, set[str]] = defaultdict(set)
            for output in outputs:
                periods = periods_to_compute(definition, output, values, changes)
                if not periods:
                    continue
                plan.append((output, periods))
                read = periods_read(definition, output, periods)
                for series in output.inputs.values():
                    if series is not None:
                        reads[series.pk] |= read
            pairs_load(reads, release_id, values)
        produced: list[tuple[Output, list[tuple[str, Result]]]] = []
        for output, periods in plan:
            results = list(compute_output(definition, output, sorted(periods), values))
            if results:
                computed.extend(ComputedValue(definition, output, p, r) for p, r in results)
                produced.append((output, results))
        outputs_series(definition.indicator, [output for output, _ in produced], series_index)
        if definition.indicator_id not in read_by_some:
            continue
        # What this definition produced is an input of the ones after it.
        for output, results in produced:
            # outputs_series gave every produced output its series.
            assert output.series is not None
            series_id = output.series.pk
            for period, result in results:
                if result.value is not None:
                    values.put(
                        series_id, period, Found(stored_value(result.value), 0, result.status)
                    )
                    if changes is not None:
                        changes[series_id].add(period)
        if changed_indicators is not None and produced:
            changed_indicators.add(definition.indicator_id)
    return computed
