"""A reference for the set-based engine: the kinds it computes (changes, multiples,
ratios, shares, per-unit values, differences, sums, progress to a target), worked value
by value in Python with Decimal arithmetic, and written the way the engine writes.

Not production code: the tests run a recompute both ways and compare every row,
provenance and gap (``same_on_both_engines`` in test_derived.py). The kinds the Python
engine computes in production (``stats.derived.python``) are taken from there.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from django.db import transaction

from publications.derived import (
    RECOMPUTE_ALL_NAMES,
    confirm_release_names,
    derived_confirm,
    derived_recompute_all,
    publish_differences,
)
from stats.choices import DerivedKind
from stats.derived import RecomputeSummary, derived_precompute
from stats.derived.inputs import (
    SeriesIndex,
    codelist_order_refresh,
    output_series,
    period_shift,
    steps_back,
)
from stats.derived.kinds import (
    BINARY_KINDS,
    CONTEXT,
    ONE_HUNDRED,
    PYTHON_KINDS,
    SHIFT_SQL_KINDS,
    stored_value,
)
from stats.derived.python import ComputedValue, InputReader, Result, compute, derived_compute
from stats.derived.writer import Texts, copy_rows, current_values
from stats.models import VALUE_DECIMAL_PLACES, DerivedGap, Observation, exact_text
from stats.periods import parse_period

ENGINES = ("oracle", "sql")


_SCALE = 10**VALUE_DECIMAL_PLACES


def quotient(numerator: Decimal, denominator: Decimal) -> Decimal:
    """numerator / denominator rounded once, half to even, to the stored 10 decimals.

    Exact: the rational quotient is rounded, not a 50-digit approximation of it, which
    is what the set-based engine's statements round too.

    Progress to a target was computed by the Python engine as (x / target at 50
    significant digits) * 100, then rounded to 10 decimals; that gives these digits too.
    With x = X / 10^10 and target = T / 10^10 (integers, |X|, |T| < 10^30), the exact
    q = 100 X / T is either a tie at the 11th decimal (then q has 11 decimals and at most
    43 digits: the 50-digit quotient is exact, and * 100 only shifts it) or at least
    10^-10 / (2 |T|) away from one. The 50-digit quotient is off by at most half a unit
    of its 50th digit, 0.5e-49 * |q| < 0.5e-49 * 100 * 10^30 / |T| = 0.5e-17 / |T|: far
    less than that distance, so it rounds to the same 10 decimals as the exact q.
    """
    units = round(Fraction(numerator) * _SCALE / Fraction(denominator))
    return Decimal(units).scaleb(-VALUE_DECIMAL_PLACES, context=CONTEXT)


def oracle_compute(definition, output, period: str, values) -> Result:
    """One derived value of any kind, or no value and the reason."""
    kind = definition.kind
    if kind in PYTHON_KINDS:
        return compute(definition, output, period, values)
    read = InputReader(output, period, values)
    used, c, fmt = read.used, CONTEXT, exact_text
    if kind in SHIFT_SQL_KINDS:
        earlier = period_shift(period, -steps_back(definition, parse_period(period).frequency))
        x_now, x_then = read("x", period), read("x", earlier)
        if x_now is None:
            return read.missing("x", period)
        if x_then is None:
            return read.missing("x", earlier)
        if kind == DerivedKind.CHANGE:
            return Result(
                c.subtract(x_now, x_then), text=f"{fmt(x_now)} - {fmt(x_then)}", used=used
            )
        if x_then == 0:
            return Result(None, f"the value for {earlier} is zero", used=used)
        if kind == DerivedKind.PERCENT_CHANGE:
            value = quotient(c.multiply(c.subtract(x_now, x_then), ONE_HUNDRED), x_then)
            return Result(value, text=f"({fmt(x_now)} / {fmt(x_then)} - 1) × 100", used=used)
        return Result(quotient(x_now, x_then), text=f"{fmt(x_now)} / {fmt(x_then)}", used=used)
    if kind == DerivedKind.SUM:
        total = Decimal(0)
        parts = []
        # In the order of the role names: term0, term1, term10, term2, ...
        for role in sorted(r for r in output.inputs if r.startswith("term")):
            term = read(role, period)
            if term is None:
                return read.missing(role, period)
            total = c.add(total, term)
            parts.append(fmt(term))
        return Result(total, text=" + ".join(parts), used=used)
    if kind == DerivedKind.PROGRESS_TO_TARGET:
        # derived_compute gives the outputs of a target kind their target, and computes
        # only those that have one.
        target = output.target
        x_now = read("x", period)
        if x_now is None:
            return read.missing("x", period)
        if target.value == 0:
            return Result(None, "the target is zero", used=used)
        return Result(
            quotient(c.multiply(x_now, ONE_HUNDRED), target.value),
            text=f"{fmt(x_now)} / {fmt(target.value)} (target {target.period}) × 100",
            used=used,
        )
    assert kind in BINARY_KINDS, kind
    a, b = read("a", period), read("b", period)
    if a is None:
        return read.missing("a", period)
    if b is None:
        return read.missing("b", period)
    if kind == DerivedKind.DIFFERENCE:
        return Result(c.subtract(a, b), text=f"{fmt(a)} - {fmt(b)}", used=used)
    if b == 0:
        return Result(None, f"the denominator for {period} is zero", used=used)
    if kind == DerivedKind.PER_UNIT:
        return Result(quotient(a, b), text=f"{fmt(a)} / {fmt(b)}", used=used)
    scale = ONE_HUNDRED if kind == DerivedKind.SHARE else definition.scale
    text = f"{fmt(a)} / {fmt(b)}" + ("" if scale == 1 else f" × {fmt(scale)}")
    return Result(quotient(c.multiply(a, scale), b), text=text, used=used)


def oracle_compute_output(definition, output, periods, values):
    for period in periods:
        result = oracle_compute(definition, output, period, values)
        if result.expected:
            yield period, result


def oracle_derived_compute(**kwargs) -> list[ComputedValue]:
    return derived_compute(compute_output=oracle_compute_output, **kwargs)


@transaction.atomic
def oracle_write(*, computed: list[ComputedValue], release=None, new_release=None):
    """Write the computed values that differ from what is published now as drafts of
    ``release`` (or of ``new_release()``); record a gap for each value not computed."""
    summary = RecomputeSummary()
    codelist_order_refresh()
    series_index = None
    by_series: dict[int, list[ComputedValue]] = defaultdict(list)
    for item in computed:
        if item.output.series is None:
            if series_index is None:
                series_index = SeriesIndex()
            output_series(item.definition.indicator, item.output, series_index)
        by_series[item.output.series.pk].append(item)
    ids = list(by_series)
    current = current_values(ids, {item.period for item in computed})
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
            value = stored_value(result.value)
            if current.get((series_id, item.period)) == value:
                summary.unchanged += 1
                continue
            new_rows.append((series_id, item.period, value, result.status, item))
    if new_rows:
        if release is None:
            release = new_release()
        copy_rows(new_rows, release.pk, Texts())
    summary.written = len(new_rows)
    summary.release = release
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


def _input_changes(release) -> set[tuple[int, str]]:
    """The (series, period) pairs a release brings that are not derived values."""
    return set(
        Observation.objects.filter(release=release, provenance__isnull=True).values_list(
            "series_id", "period"
        )
    )


def precompute(release, engine: str) -> RecomputeSummary:
    """derived_precompute, or the same worked by the oracle."""
    if engine == "sql":
        return derived_precompute(release=release)
    with transaction.atomic():
        Observation.objects.filter(
            release=release, valid_from__isnull=True, provenance__isnull=False
        ).delete()
        changes = _input_changes(release)
        if not changes:
            return RecomputeSummary()
        computed = oracle_derived_compute(changed=changes, release_id=release.pk)
        return oracle_write(computed=computed, release=release)


def confirm(release, engine: str) -> RecomputeSummary:
    """publications.derived.derived_confirm, or the same worked by the oracle."""
    if engine == "sql":
        return derived_confirm(release=release)
    changes = _input_changes(release)
    if not changes:
        return RecomputeSummary()
    computed = oracle_derived_compute(changed=changes, release_id=None)
    return publish_differences(
        lambda new_release, _at: oracle_write(computed=computed, new_release=new_release),
        **confirm_release_names(release),
    )


def recompute_all(engine: str, only=None) -> RecomputeSummary:
    """publications.derived.derived_recompute_all, or the same worked by the oracle."""
    if engine == "sql":
        return derived_recompute_all(only=only)
    computed = oracle_derived_compute(changed=None, release_id=None, only=only)
    return publish_differences(
        lambda new_release, _at: oracle_write(computed=computed, new_release=new_release),
        **RECOMPUTE_ALL_NAMES,
    )
