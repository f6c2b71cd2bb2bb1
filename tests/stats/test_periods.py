import datetime as dt

import pytest

from stats.periods import PeriodError, parse_period


@pytest.mark.parametrize(
    ("text", "frequency", "start", "end"),
    [
        ("2023", "A", dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
        ("2023-S1", "S", dt.date(2023, 1, 1), dt.date(2023, 6, 30)),
        ("2023-S2", "S", dt.date(2023, 7, 1), dt.date(2023, 12, 31)),
        ("2023-Q3", "Q", dt.date(2023, 7, 1), dt.date(2023, 9, 30)),
        ("2024-02", "M", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2023-09", "M", dt.date(2023, 9, 1), dt.date(2023, 9, 30)),
    ],
)
def test_parse_period_gives_frequency_and_dates(text, frequency, start, end):
    period = parse_period(text)
    assert (period.code, period.frequency, period.start, period.end) == (
        text,
        frequency,
        start,
        end,
    )


@pytest.mark.parametrize(
    "text", ["23", "2023-13", "2023-00", "2023-Q5", "2023-S3", "2023/09", "", "x"]
)
def test_malformed_period_is_refused_with_a_reason(text):
    with pytest.raises(PeriodError) as excinfo:
        parse_period(text)
    assert str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "steps", "expected"),
    [
        ("2023", -1, "2022"),
        ("2023-01", -1, "2022-12"),
        ("2023-Q1", -4, "2022-Q1"),
        ("2023-S2", 1, "2024-S1"),
        ("2023-09", -12, "2022-09"),
    ],
)
def test_shift_moves_by_whole_periods(text, steps, expected):
    assert parse_period(text).shift(steps).code == expected
