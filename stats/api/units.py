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

from stats.derived.sql import half_even

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


_X, _P, _Y, _N = "t.value", "t.previous", "t.year_before", "t.per_year"


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
    "the same series as published at the same instant. Not with layout=wide. The "
    "response names what was applied in the X-Units header (and X-Units-Rounding)."
)

# Periods a year, and the start of the period before, by frequency.
_PER_YEAR = "CASE s.frequency WHEN 'A' THEN 1 WHEN 'S' THEN 2 WHEN 'Q' THEN 4 ELSE 12 END"
_PREVIOUS_FRAME = {"M": "1 month", "Q": "3 months", "S": "6 months", "A": "1 year"}


def _frame(offset: str) -> str:
    return (
        "(PARTITION BY o.series_id ORDER BY o.period_start "
        f"RANGE BETWEEN INTERVAL '{offset}' PRECEDING AND INTERVAL '{offset}' PRECEDING)"
    )


def units_source_sql(units: Units, *, source: str, where: list[str]) -> str:
    """A sub-query of the columns ``SOURCE_FIELDS`` giving the transformed values of the
    observations of ``source`` (a table or sub-query, aliased ``o``, kept by ``where``):
    only the rows that have a value."""
    previous = "CASE s.frequency " + " ".join(
        f"WHEN '{frequency}' THEN first_value(o.value) OVER {_frame(offset)}"
        for frequency, offset in _PREVIOUS_FRAME.items()
    )
    conditions = f" WHERE {' AND '.join(where)}" if where else ""
    windowed = (
        f"SELECT {', '.join(f'o.{field}' for field in SOURCE_FIELDS)}, "
        f"{previous} END AS previous, "
        f"first_value(o.value) OVER {_frame('1 year')} AS year_before, "
        f"{_PER_YEAR} AS per_year "
        f"FROM {source} o JOIN stats_series s ON s.id = o.series_id{conditions}"
    )
    raw = f"SELECT t.*, {units.sql} AS q FROM ({windowed}) t"
    value = half_even("r.q") if units.rounded else "r.q"
    fields = ", ".join(
        f"{value} AS value" if field == "value" else f"r.{field}" for field in SOURCE_FIELDS
    )
    return f"(SELECT {fields} FROM ({raw}) r WHERE r.q IS NOT NULL)"
