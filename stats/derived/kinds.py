"""What each derived kind means: its inputs, its default formula text, and which engine
computes it.

The set-based engine (``sql.py``) computes every kind whose value is exact in
PostgreSQL's numeric arithmetic, rounded once, half to even, to the stored decimals:
changes, percent changes, multiples, ratios, shares, per-unit values, differences,
sums and progress to a target. The Python engine (``python.py``) computes the rest,
inside the same run: compound annual growth and required growth. Both need a
non-integer power; Python's Decimal computes it at a stated precision (50 digits),
while PostgreSQL's ``power(numeric, numeric)`` chooses its own precision, so the stored
digits could differ.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from ..choices import DerivedKind
from ..models import VALUE_DECIMAL_PLACES

ONE_HUNDRED = Decimal(100)
QUANTUM = Decimal(1).scaleb(-VALUE_DECIMAL_PLACES)
# Enough digits that rounding to the stored 10 decimal places is the only rounding.
CONTEXT = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN)

SHIFT_KINDS = {DerivedKind.CHANGE, DerivedKind.PERCENT_CHANGE}
YEAR_KINDS = {DerivedKind.CAGR, DerivedKind.MULTIPLE}
TARGET_KINDS = {DerivedKind.PROGRESS_TO_TARGET, DerivedKind.REQUIRED_GROWTH}
UNARY_KINDS = SHIFT_KINDS | YEAR_KINDS | TARGET_KINDS
BINARY_KINDS = {
    DerivedKind.RATIO,
    DerivedKind.SHARE,
    DerivedKind.PER_UNIT,
    DerivedKind.DIFFERENCE,
}

# The engine of each kind (see the module docstring for why).
SHIFT_SQL_KINDS = SHIFT_KINDS | {DerivedKind.MULTIPLE}
BINARY_SQL_KINDS = BINARY_KINDS
SQL_KINDS = SHIFT_SQL_KINDS | BINARY_SQL_KINDS | {DerivedKind.SUM, DerivedKind.PROGRESS_TO_TARGET}
PYTHON_KINDS = set(DerivedKind) - SQL_KINDS

DEFAULT_FORMULAS: dict[str, str] = {
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


def stored_value(value: Decimal) -> Decimal:
    """``value`` as the database stores it: rounded, half to even, to 10 decimals."""
    return value.quantize(QUANTUM, context=CONTEXT)
