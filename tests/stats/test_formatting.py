"""Numbers, amounts, percentages and periods are written the Indonesian or English way."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from stats import formatting
from stats.formatting import (
    change_percent,
    change_text,
    date_label,
    number_full,
    number_short,
    percent,
    period_label,
    period_short,
    rupiah,
    value_short,
)

WIB = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (Decimal("7600000"), "id", "7,6 juta"),
        (Decimal("7600000"), "en", "7.6 million"),
        (Decimal("40000000"), "id", "40 juta"),
        (Decimal("41560000"), "id", "41,6 juta"),
        (Decimal("41560000"), "en", "41.6 million"),
        (Decimal("3400000"), "en", "3.4 million"),
        (Decimal("309000000000"), "id", "309 miliar"),
        (Decimal("309000000000"), "en", "309 billion"),
        (Decimal("686000000000000"), "id", "686 triliun"),
        (Decimal("686000000000000"), "en", "686 trillion"),
        (Decimal("1001000000000000"), "id", "1.001 triliun"),
        (Decimal("1001000000000000"), "en", "1,001 trillion"),
        (Decimal("72000"), "id", "72.000"),
        (Decimal("72000"), "en", "72,000"),
        (Decimal("-5000000"), "id", "-5 juta"),
        (Decimal("999"), "en", "999"),
    ],
)
def test_number_short_uses_the_scale_words_of_each_language(value, language, expected):
    assert number_short(value, language=language) == expected


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (Decimal("72000"), "id", "72 ribu"),
        (Decimal("72000"), "en", "72 thousand"),
        (Decimal("1500"), "id", "1,5 ribu"),
    ],
)
def test_number_short_writes_thousands_when_asked(value, language, expected):
    assert number_short(value, language=language, smallest_scale=Decimal(1000)) == expected


@pytest.mark.parametrize(
    ("value", "language", "decimals", "expected"),
    [
        (Decimal("40000000"), "id", 0, "40.000.000"),
        (Decimal("40000000"), "en", 0, "40,000,000"),
        (Decimal("686000000000000"), "id", 0, "686.000.000.000.000"),
        (Decimal("12.9"), "id", 1, "12,9"),
        (Decimal("12.9"), "en", 1, "12.9"),
        (Decimal("12.9"), "id", 2, "12,90"),
        (Decimal("1234.5678"), "en", 2, "1,234.57"),
        (Decimal("1234.5678"), "id", 2, "1.234,57"),
        (Decimal("0.05"), "en", 1, "0.1"),
        (Decimal("-1500"), "id", 0, "-1.500"),
        (Decimal("2.5"), "en", 0, "3"),
    ],
)
def test_number_full_groups_thousands_per_language(value, language, decimals, expected):
    assert number_full(value, language=language, decimals=decimals) == expected


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (Decimal("686000000000000"), "id", "Rp686 triliun"),
        (Decimal("686000000000000"), "en", "Rp686 trillion"),
        (Decimal("1001000000000000"), "id", "Rp1.001 triliun"),
        (Decimal("1001000000000000"), "en", "Rp1,001 trillion"),
        (Decimal("554210000000000"), "id", "Rp554,2 triliun"),
        (Decimal("40000000000000"), "en", "Rp40 trillion"),
        (Decimal("309000000000"), "id", "Rp309 miliar"),
    ],
)
def test_rupiah_amounts(value, language, expected):
    assert rupiah(value, language=language) == expected


def test_rupiah_in_full():
    assert rupiah(Decimal("309000000000"), language="id", short=False) == "Rp309.000.000.000"


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (Decimal("12.9"), "id", "12,9 persen"),
        (Decimal("12.9"), "en", "12.9%"),
        (Decimal("40"), "id", "40 persen"),
        (Decimal("40.0"), "en", "40%"),
        (Decimal("85"), "en", "85%"),
    ],
)
def test_percent(value, language, expected):
    assert percent(value, language=language) == expected


@pytest.mark.parametrize(
    ("period", "language", "expected"),
    [
        ("2023", "id", "2023"),
        ("2023", "en", "2023"),
        ("2023-Q3", "id", "Triwulan III 2023"),
        ("2023-Q3", "en", "Q3 2023"),
        ("2023-Q4", "id", "Triwulan IV 2023"),
        ("2024-08", "id", "Agustus 2024"),
        ("2024-08", "en", "August 2024"),
        ("2024-05", "id", "Mei 2024"),
        ("2023-S1", "id", "Semester I 2023"),
        ("2023-S2", "id", "Semester II 2023"),
        ("2023-S1", "en", "H1 2023"),
    ],
)
def test_period_label(period, language, expected):
    assert period_label(period, language=language) == expected


def test_period_short_abbreviates_months():
    assert period_short("2024-08", language="id") == "Agu 2024"
    assert period_short("2024-08", language="en") == "Aug 2024"
    assert period_short("2023-Q3", language="en") == "Q3 2023"


@pytest.mark.parametrize(
    ("value", "unit", "language", "expected"),
    [
        (Decimal("7600000"), "persons", "id", "7,6 juta"),
        (Decimal("7600000"), "persons", "en", "7.6 million"),
        (Decimal("686000000000000"), "rupiah", "id", "Rp686 triliun"),
        (Decimal("12.9"), "percent", "id", "12,9 persen"),
        (Decimal("12.9"), "percent", "en", "12.9%"),
        (Decimal("15"), "minutes", "id", "15 menit"),
        (Decimal("3.04"), "ratio", "en", "3 times"),
        (Decimal("3.5"), "ratio", "id", "3,5 kali"),
        (None, "persons", "en", "–"),
    ],
)
def test_value_short_follows_the_unit(value, unit, language, expected):
    assert value_short(value, unit=unit, language=language) == expected


@pytest.mark.parametrize(
    ("current", "previous", "language", "points", "expected"),
    [
        (Decimal("45200000"), Decimal("41560000"), "id", False, "naik 8,8 persen"),
        (Decimal("45200000"), Decimal("41560000"), "en", False, "up 8.8%"),
        (Decimal("29980000"), Decimal("34170000"), "id", False, "turun 12,3 persen"),
        (Decimal("29980000"), Decimal("34170000"), "en", False, "down 12.3%"),
        (Decimal("100"), Decimal("100"), "en", False, "unchanged"),
    ],
)
def test_change_on_a_year_earlier(current, previous, language, points, expected):
    change = change_percent(current, previous)
    assert change_text(change, language=language, points=points) == expected


@pytest.mark.parametrize(
    ("change", "language", "expected"),
    [
        (Decimal("2.84"), "id", "naik 2,8 poin persentase"),
        (Decimal("2.84"), "en", "up 2.8 percentage points"),
        (Decimal("-0.5"), "en", "down 0.5 percentage points"),
    ],
)
def test_a_change_of_a_rate_is_in_percentage_points(change, language, expected):
    assert change_text(change, language=language, points=True) == expected


def test_change_cannot_be_computed_from_zero_or_missing():
    assert change_percent(Decimal(5), Decimal(0)) is None
    assert change_percent(Decimal(5), None) is None
    assert change_text(None, language="id") == ""


def test_dates_with_and_without_time():
    instant = dt.datetime(2023, 12, 15, 10, 0, tzinfo=WIB)
    assert date_label(instant, language="id") == "15 Desember 2023"
    assert date_label(instant, language="en", time=True) == "15 December 2023, 10:00 WIB"
    assert date_label(instant, language="id", time=True) == "15 Desember 2023, 10.00 WIB"
    assert date_label(dt.date(2024, 8, 1), language="en") == "1 August 2024"


def test_an_unknown_language_is_refused_with_its_name():
    with pytest.raises(ValueError, match="language"):
        number_short(Decimal(1), language="fr")


def test_a_value_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError, match="value: not a number"):
        number_full("abc", language="id")


PARTICIPANTS = ("45200000", "persons", "Peserta aktif")
ELIGIBLE = ("101800000", "persons", "Pekerja yang layak")


@pytest.mark.parametrize(
    ("expression", "inputs", "unit", "language", "expected"),
    [
        (
            "44.4007858546 = 45200000 / 101800000 × 100",
            [PARTICIPANTS, ELIGIBLE],
            "percent",
            "id",
            "44,4 persen = 45,2 juta peserta aktif / 101,8 juta pekerja yang layak × 100",
        ),
        (
            "44.4007858546 = 45200000 / 101800000 × 100",
            [("45200000", "persons", "Active participants"), ("101800000", "persons", "Eligible")],
            "percent",
            "en",
            "44.4% = 45.2 million active participants / 101.8 million eligible × 100",
        ),
        (
            "13.4831460674 = (712300000000000 / 627700000000000 - 1) × 100",
            [
                ("712300000000000", "rupiah", "Dana kelolaan"),
                ("627700000000000", "rupiah", "Dana kelolaan"),
            ],
            "percent",
            "id",
            "13,5 persen = (Rp712,3 triliun dana kelolaan / Rp627,7 triliun dana kelolaan - 1)"
            " × 100",
        ),
        (
            "3.68 = 9200000 / 2500000",
            [("9200000", "persons", "BPU participants"), ("2500000", "persons", "BPU")],
            "ratio",
            "en",
            "3.7 times = 9.2 million BPU participants / 2.5 million BPU",
        ),
        (
            "15.2 = ((70000000 / 45200000) ^ (1/3) - 1) × 100",
            [("45200000", "persons", "Peserta aktif")],
            "percent",
            "id",
            # The target (70 juta) is named in the expression but is not an input.
            "15,2 persen = ((70 juta / 45,2 juta peserta aktif) ^ (1/3) - 1) × 100",
        ),
    ],
)
def test_a_derived_values_expression_reads_in_the_pages_number_format(
    expression, inputs, unit, language, expected
):
    assert (
        formatting.expression_text(expression, inputs=inputs, unit=unit, language=language)
        == expected
    )


@pytest.mark.parametrize(
    ("minutes", "language", "expected"),
    [
        (Decimal(7200), "id", "5 hari"),
        (Decimal(7200), "en", "5 days"),
        (Decimal(90), "id", "1,5 jam"),
        (Decimal(15), "id", "15 menit"),
        (Decimal(15), "en", "15 minutes"),
        (Decimal(2880 + 720), "en", "2.5 days"),
    ],
)
def test_durations_read_in_the_largest_unit_they_fill(minutes, language, expected):
    assert formatting.value_short(minutes, unit="minutes", language=language) == expected


@pytest.mark.parametrize(
    ("value", "unit", "language", "expected"),
    [
        (Decimal("712300000000000"), "rupiah", "id", "Rp712,3 triliun"),
        (Decimal("712300000000000"), "rupiah", "en", "Rp712.3 trillion"),
        (Decimal(45200000), "persons", "id", "45,2 juta"),
        (Decimal(45200000), "persons", "en", "45.2 million"),
        (Decimal(72000), "persons", "id", "72.000"),
        (Decimal("12.9"), "percent", "id", "12,9"),
    ],
)
def test_table_cells_use_the_readers_units_from_a_million(value, unit, language, expected):
    decimals = 1 if unit == "percent" else 0
    assert (
        formatting.value_table(value, unit=unit, language=language, decimals=decimals) == expected
    )
