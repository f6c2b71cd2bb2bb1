"""Periods in the site's syntax: ``2023``, ``2023-S1``, ``2023-Q3``, ``2023-09``.

A period knows its frequency and its first and last day, so observations can be
sorted and filtered by date whatever their frequency.
"""

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from .choices import Frequency

# ASCII digits only: Python's \d also matches other scripts' digits, which int() reads.
_PATTERN = re.compile(
    r"^(?P<year>[0-9]{4})(?:-(?:(?P<half>S[12])|(?P<quarter>Q[1-4])|(?P<month>[0-9]{2})))?$"
)
MIN_YEAR, MAX_YEAR = 1900, 2100
# The periods parse_period accepts, as a regular expression in JSON Schema's dialect (the
# API's description of its period parameters).
PERIOD_PATTERN = r"(?:19[0-9]{2}|20[0-9]{2}|2100)(?:-S[12]|-Q[1-4]|-(?:0[1-9]|1[0-2]))?"


class PeriodError(ValueError):
    """A period string that is not in the site's syntax."""


@dataclass(frozen=True, slots=True)
class Period:
    code: str
    frequency: str
    year: int
    index: int  # 1 for annual; half, quarter or month number otherwise
    start: dt.date
    end: dt.date

    def shift(self, steps: int) -> "Period":
        """The period ``steps`` periods later (earlier when negative), same frequency."""
        per_year = PERIODS_PER_YEAR[self.frequency]
        ordinal = self.year * per_year + (self.index - 1) + steps
        year, index0 = divmod(ordinal, per_year)
        return period_from_parts(self.frequency, year, index0 + 1)


PERIODS_PER_YEAR: dict[str, int] = {
    Frequency.ANNUAL: 1,
    Frequency.SEMIANNUAL: 2,
    Frequency.QUARTERLY: 4,
    Frequency.MONTHLY: 12,
}
MONTHS_PER_PERIOD: dict[str, int] = {
    Frequency.ANNUAL: 12,
    Frequency.SEMIANNUAL: 6,
    Frequency.QUARTERLY: 3,
    Frequency.MONTHLY: 1,
}


def period_from_parts(frequency: str, year: int, index: int) -> Period:
    if frequency == Frequency.ANNUAL:
        code = f"{year:04d}"
    elif frequency == Frequency.SEMIANNUAL:
        code = f"{year:04d}-S{index}"
    elif frequency == Frequency.QUARTERLY:
        code = f"{year:04d}-Q{index}"
    else:
        code = f"{year:04d}-{index:02d}"
    months = MONTHS_PER_PERIOD[frequency]
    first_month = (index - 1) * months + 1
    last_month = first_month + months - 1
    start = dt.date(year, first_month, 1)
    end = dt.date(year, last_month, calendar.monthrange(year, last_month)[1])
    return Period(code, str(frequency), year, index, start, end)


@lru_cache(maxsize=65536)
def parse_period(text: str) -> Period:
    """Parse a period string; raise PeriodError with a reason a user can act on."""
    match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise PeriodError(f"{text!r} is not a period; use 2023, 2023-S1, 2023-Q3 or 2023-09")
    year = int(match["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"year {year} is outside {MIN_YEAR}-{MAX_YEAR}")
    if match["half"]:
        return period_from_parts(Frequency.SEMIANNUAL, year, int(match["half"][1]))
    if match["quarter"]:
        return period_from_parts(Frequency.QUARTERLY, year, int(match["quarter"][1]))
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"{text!r}: month {month:02d} does not exist")
        return period_from_parts(Frequency.MONTHLY, year, month)
    return period_from_parts(Frequency.ANNUAL, year, 1)
