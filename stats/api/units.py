"""Transformations of observation values on the fly (``units``), in FRED's vocabulary.

A transformation reads, for each value x[t] of a series, the value of the period just
before it (x[t-1]: the period that ends the day before this one starts) and the value a
year before (x[t-n]: the period that starts one year earlier), n being the periods a year
of the series' frequency (A 1, S 2, Q 4, M 12). Both are looked up by date, in window
frames over the same published values the request reads, so a gap in a series gives no
value rather than a wrong one. The values of a period without the earlier value it needs
(its first period, a gap, a zero divisor, a logarithm of a value that is not positive)
are left out of the result.

Arithmetic is PostgreSQL's exact numeric: differences are exact; quotients are taken at
60 decimals, logarithms and powers at 60 decimals, and the result is rounded once, half
to even, to the 10 decimals values are stored with, by the derived engine's rule
(``stats.derived.sql.half_even``).
"""

from __future__ import annotations

from dataclasses import dataclass

from stats.choices import Frequency, MeasureKind
from stats.derived.sql import half_even, status_of_group

from .statements import SOURCE_FIELDS

LEVELS = "lin"
ROUNDING = "half to even, 10 decimals"


@dataclass(frozen=True)
class Units:
    code: str
    name: str
    formula: str
    # SQL of the raw value from x (this value), p (previous period), y (a year before)
    # and n (periods a year); NULL where it has none.
    sql: str
    rounded: bool  # a quotient, logarithm or power: rounded half to even


# Filled in by units_source_sql.
_X, _P, _Y, _N = "{x}", "{p}", "{y}", "{n}"


def _ln(value: str) -> str:
    return f"ln(round({value}, 60))"


UNITS: dict[str, Units] = {
    units.code: units
    for units in (
        Units(LEVELS, "Levels", "x[t]", _X, False),
        Units("chg", "Change", "x[t] - x[t-1]", f"{_X} - {_P}", False),
        Units("ch1", "Change from a year ago", "x[t] - x[t-n]", f"{_X} - {_Y}", False),
        Units(
            "pch",
            "Percent change",
            "(x[t] / x[t-1] - 1) × 100",
            f"round(({_X} - {_P}) * 100, 60) / NULLIF({_P}, 0)",
            True,
        ),
        Units(
            "pc1",
            "Percent change from a year ago",
            "(x[t] / x[t-n] - 1) × 100",
            f"round(({_X} - {_Y}) * 100, 60) / NULLIF({_Y}, 0)",
            True,
        ),
        Units(
            "pca",
            "Compounded annual rate of change",
            "((x[t] / x[t-1]) ^ n - 1) × 100",
            f"(power(round({_X}, 60) / NULLIF({_P}, 0), {_N}) - 1) * 100",
            True,
        ),
        Units(
            "cch",
            "Continuously compounded rate of change",
            "(ln(x[t]) - ln(x[t-1])) × 100",
            f"CASE WHEN {_X} > 0 AND {_P} > 0 THEN ({_ln(_X)} - {_ln(_P)}) * 100 END",
            True,
        ),
        Units(
            "cca",
            "Continuously compounded annual rate of change",
            "(ln(x[t]) - ln(x[t-1])) × 100 × n",
            f"CASE WHEN {_X} > 0 AND {_P} > 0 THEN ({_ln(_X)} - {_ln(_P)}) * 100 * {_N} END",
            True,
        ),
        Units("log", "Natural log", "ln(x[t])", f"CASE WHEN {_X} > 0 THEN {_ln(_X)} END", True),
    )
}

UNITS_DESCRIPTION = (
    "Transformation of the values, as FRED names them (default lin): "
    + "; ".join(f"{u.code}: {u.name}, {u.formula}" for u in UNITS.values())
    + ". x[t-1] is the value of the period just before, x[t-n] the value a year before "
    "(n periods a year: A 1, S 2, Q 4, M 12). Periods without the earlier value needed "
    "(the first of a series, after a gap, a zero divisor, the logarithm of a value that "
    "is not positive) are left out. Exact decimal arithmetic; quotients, logarithms and "
    "powers rounded once, half to even, to 10 decimals. Filters on period, status, "
    "release and publication select the transformed rows; the earlier values come from "
    "the same series as published at the same instant. Transformed rows have no "
    "formula or inputs. Not with layout=wide. The "
    "response names what was applied in the X-Units header (and X-Units-Rounding)."
)

PER_YEAR = {Frequency.ANNUAL: 1, Frequency.SEMIANNUAL: 2, Frequency.QUARTERLY: 4, "M": 12}


def _per_year(frequency: str) -> str:
    return (
        f"CASE {frequency} "
        + " ".join(f"WHEN '{code}' THEN {n}" for code, n in PER_YEAR.items())
        + " END"
    )


def _frame(offset: str) -> str:
    return (
        "(PARTITION BY o.series_id ORDER BY o.period_start "
        f"RANGE BETWEEN INTERVAL '{offset}' PRECEDING AND INTERVAL '{offset}' PRECEDING)"
    )


def units_source_sql(units: Units, *, source: str, where: list[str]) -> str:
    """A sub-query of the columns ``SOURCE_FIELDS`` giving the transformed values of the
    observations of ``source`` (a table or sub-query, aliased ``o``, kept by ``where``):
    only the rows that have a value. The previous value is that of the row just before
    when its period ends the day before this one starts; the value a year before is
    found by date; the periods a year from the period's length in months."""
    conditions = f" WHERE {' AND '.join(where)}" if where else ""
    window = "(PARTITION BY o.series_id ORDER BY o.period_start)"
    months = "age(o.period_end + 1, o.period_start)"
    # The value is computed where the window functions are (a sub-query PostgreSQL
    # keeps as it is), so once per row: half_even reads it several times.
    raw = units.sql.format(
        x="o.value",
        p=f"(CASE WHEN lag(o.period_end) OVER {window} = o.period_start - 1 "
        f"THEN lag(o.value) OVER {window} END)",
        y=f"first_value(o.value) OVER {_frame('1 year')}",
        n=f"(12 / (extract(year FROM {months}) * 12 + extract(month FROM {months})))",
    )
    windowed = (
        f"SELECT {', '.join(f'o.{field}' for field in SOURCE_FIELDS)}, {raw} AS q "
        f"FROM {source} o{conditions}"
    )
    value = half_even("r.q") if units.rounded else "r.q"
    # A transformed value is not the derived value its provenance explains.
    replaced = {"value": f"{value} AS value", "provenance": "NULL::jsonb AS provenance"}
    fields = ", ".join(replaced.get(field, f"r.{field}") for field in SOURCE_FIELDS)
    return f"(SELECT {fields} FROM ({windowed}) r WHERE r.q IS NOT NULL)"


# --- frequency conversion (aggregate_to) ---

# How the values of a period are made from those of its parts, by kind of measure.
AGGREGATIONS = {
    MeasureKind.STOCK: "end of period (the value of its last part)",
    MeasureKind.FLOW: "sum of its parts",
    MeasureKind.YTD_FLOW: "last (the year-to-date value at its end)",
    MeasureKind.RATE: "average of its parts",
}
AGGREGATE_TO = ("A", "S", "Q")
AGGREGATE_DESCRIPTION = (
    "Convert the series to a lower frequency: A, S or Q. Each period's value is made "
    "from its parts by the indicator's kind of measure: "
    + "; ".join(f"{kind.value}: {how}" for kind, how in AGGREGATIONS.items())
    + ". Only complete periods are given (all their parts published, e.g. 12 months for "
    "a year); series already at that frequency are given as they are. A series at a "
    "lower frequency cannot be converted: give `frequency` to leave it out (400 "
    "otherwise). A converted period's status is normal when all its parts are, else "
    "estimate when one is an estimate or a break, else provisional; its release and "
    "publication time are those of its latest published part; it has no note, source, "
    "reference date, formula or inputs. The period filters and the others on rows select among the "
    "converted periods; `units` transforms them. Averages are rounded half to even to 10 "
    "decimals. The response names the frequency in the X-Aggregate-To header, and each "
    "row's `frequency` is the converted one."
)


def lower_frequencies(target: str) -> list[str]:
    """The frequencies that cannot be converted to ``target``."""
    return [code for code, n in PER_YEAR.items() if n < PER_YEAR[target]]


def _period_start(target: str) -> str:
    if target == "A":
        return "date_trunc('year', o.period_start)::date"
    if target == "Q":
        return "date_trunc('quarter', o.period_start)::date"
    return (
        "make_date(extract(year FROM o.period_start)::int, "
        "CASE WHEN extract(month FROM o.period_start) <= 6 THEN 1 ELSE 7 END, 1)"
    )


def _period_code(target: str) -> str:
    if target == "A":
        return "to_char(g.period_start, 'YYYY')"
    if target == "Q":
        return "to_char(g.period_start, 'YYYY-\"Q\"Q')"
    return (
        "to_char(g.period_start, 'YYYY') || "
        "CASE WHEN extract(month FROM g.period_start) = 1 THEN '-S1' ELSE '-S2' END"
    )


def aggregate_source_sql(target: str, *, source: str, where: list[str]) -> str:
    """A sub-query of the columns ``SOURCE_FIELDS``: the observations of ``source``
    (aliased ``o``, kept by ``where``; series of ``target``'s frequency or higher)
    converted to the periods of ``target``, complete periods only."""
    n = PER_YEAR[target]
    conditions = f" WHERE {' AND '.join(where)}" if where else ""
    grouped = (
        f"SELECT o.series_id, {_period_start(target)} AS period_start, "
        "i.measure_kind AS kind, count(*) AS parts, "
        f"{_per_year('s.frequency')} / {n} AS needed, sum(o.value) AS total, "
        "(array_agg(o.value ORDER BY o.period_start DESC))[1] AS last, "
        f"round(sum(o.value), 60) / count(*) AS mean, {status_of_group('o.status')} AS status, "
        "(array_agg(o.release_id ORDER BY o.valid_from DESC, o.release_id DESC))[1] "
        "AS release_id, max(o.valid_from) AS valid_from, min(o.valid_to) AS valid_to "
        f"FROM {source} o JOIN stats_series s ON s.id = o.series_id "
        f"JOIN stats_indicator i ON i.id = s.indicator_id{conditions} "
        "GROUP BY o.series_id, 2, i.measure_kind, s.frequency"
    )
    value = (
        f"CASE g.kind WHEN '{MeasureKind.FLOW.value}' THEN g.total "
        f"WHEN '{MeasureKind.RATE.value}' THEN {half_even('g.mean')} ELSE g.last END"
    )
    columns = {
        "series_id": "g.series_id",
        "period": _period_code(target),
        "period_start": "g.period_start",
        "period_end": f"(g.period_start + INTERVAL '{12 // n} months' - INTERVAL '1 day')::date",
        "value": value,
        "status": "g.status",
        "note": "''",
        "source": "''",
        "reference_date": "NULL::date",
        # A converted period is not any derived value its parts' provenance explains.
        "provenance": "NULL::jsonb",
        "release_id": "g.release_id",
        "valid_from": "g.valid_from",
        # Its first part revised ends it (shown only up to the instant read: all its
        # parts are current then).
        "valid_to": "g.valid_to",
    }
    fields = ", ".join(f"{columns[field]} AS {field}" for field in SOURCE_FIELDS)
    return f"(SELECT {fields} FROM ({grouped}) g WHERE g.parts = g.needed)"
