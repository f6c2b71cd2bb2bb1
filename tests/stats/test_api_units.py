"""Transformations of observation values on the fly (``units``, stats/api/units.py).

The expected values are worked out independently of the code under test: differences
by hand, the rest with Python's Decimal at 80 digits (ln, integer powers), rounded half
to even to 10 decimals; written here as literal text."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from publications.services import (
    release_approve,
    release_create,
    release_publish,
    release_schedule,
    release_submit,
)
from tests.publications.conftest import clerk, make_user, reviewer, roles  # noqa: F401
from tests.stats.helpers import import_rows

WIB = ZoneInfo("Asia/Jakarta")
T1 = dt.datetime(2024, 3, 15, 10, 0, tzinfo=WIB)
OBSERVATIONS = "/api/v1/observations/"
MONTHLY = {"indicator": "ACTIVE_PARTICIPANTS", "frequency": "M"}

pytestmark = pytest.mark.usefixtures("clear_cache")

# Monthly values: 2023-04 and 2023-06..12 missing (gaps), 2024 a year after 2023.
LEVELS = {
    "2023-01": "100",
    "2023-02": "110",
    "2023-03": "99",
    "2023-05": "120",
    "2024-01": "125",
    "2024-02": "121",
}

# units -> {period: value}; periods without the earlier value needed are absent.
EXPECTED = {
    "lin": LEVELS,
    "chg": {"2023-02": "10", "2023-03": "-11", "2024-02": "-4"},
    "ch1": {"2024-01": "25", "2024-02": "11"},
    "pch": {"2023-02": "10", "2023-03": "-10", "2024-02": "-3.2"},
    "pc1": {"2024-01": "25", "2024-02": "10"},
    # (x[t] / x[t-1]) ^ 12: 1.1^12 = 3.138428376721, 0.9^12 = 0.282429536481.
    "pca": {"2023-02": "213.8428376721", "2023-03": "-71.7570463519", "2024-02": "-32.3131524529"},
    "cch": {"2023-02": "9.5310179804", "2023-03": "-10.5360515658", "2024-02": "-3.2523191706"},
    "cca": {"2023-02": "114.3722157652", "2023-03": "-126.4326187894", "2024-02": "-39.0278300467"},
    "log": {
        "2023-01": "4.605170186",  # trailing zero trimmed, as every value
        "2023-02": "4.7004803658",
        "2023-03": "4.5951198501",
        "2023-05": "4.7874917428",
        "2024-01": "4.8283137373",
        "2024-02": "4.7957905456",
    },
}


@pytest.fixture
def monthly(catalogue):
    release = release_create(slug="rilis-units", title_id="Rilis", title_en="Release")
    import_rows(
        release,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", period, value)
            for period, value in LEVELS.items()
        ]
        + [
            # Annual: a zero divisor, then a tie at the 11th decimal (pch 0.00000000005).
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2020", "0"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2021", "200"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "200.0000000001"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "200.0000000004"),
        ],
    )
    release_publish(release=release, at=T1)
    return release


def values(response) -> dict[str, str]:
    assert response.status_code == 200, response.content
    return {row["period"]: row["value"] for row in response.json()["results"]}


@pytest.mark.parametrize("units", list(EXPECTED))
def test_every_transformation_against_values_worked_by_hand(client, monthly, units):
    response = client.get(OBSERVATIONS, {**MONTHLY, "units": units})
    assert values(response) == EXPECTED[units]
    assert response["X-Units"] == units
    if units in ("pch", "pc1", "pca", "cch", "cca", "log"):
        assert response["X-Units-Rounding"] == "half to even, 10 decimals"
    else:
        assert "X-Units-Rounding" not in response


def test_csv_gives_the_same_transformed_values(client, monthly):
    response = client.get(OBSERVATIONS, {**MONTHLY, "units": "pca", "format": "csv"})
    assert response.status_code == 200
    assert response["X-Units"] == "pca"
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["period"]: row["value"] for row in rows} == EXPECTED["pca"]


def test_annual_zero_divisor_left_out_and_ties_rounded_half_to_even(client, monthly):
    params = {"indicator": "ACTIVE_PARTICIPANTS", "frequency": "A"}
    # 2021 after 0: no percent change; 2022: 0.00000000005 rounds to 0 (even), 2023:
    # 0.00000000015 (0.0000000003 / 200.0000000001 * 100, not a tie) rounds up.
    found = values(client.get(OBSERVATIONS, {**params, "units": "pch"}))
    assert set(found) == {"2022", "2023"}
    assert found["2022"] == "0"
    assert values(client.get(OBSERVATIONS, {**params, "units": "chg"})) == {
        "2021": "200",
        "2022": "0.0000000001",
        "2023": "0.0000000003",
    }
    # ln(0) has no value.
    assert "2020" not in values(client.get(OBSERVATIONS, {**params, "units": "log"}))


def test_period_filter_selects_transformed_rows_reading_earlier_values(client, monthly):
    # 2024-01's year-ago value is before period_start: it is still read.
    response = client.get(OBSERVATIONS, {**MONTHLY, "units": "pc1", "period_start": "2024-01"})
    assert values(response) == {"2024-01": "25", "2024-02": "10"}
    response = client.get(
        OBSERVATIONS, {**MONTHLY, "units": "chg", "period_end": "2023-03", "ordering": "-period"}
    )
    assert list(values(response).items()) == [("2023-03", "-11"), ("2023-02", "10")]


def test_paging_walks_the_transformed_rows(client, monthly):
    first = client.get(OBSERVATIONS, {**MONTHLY, "units": "log", "page_size": 4}).json()
    assert [row["period"] for row in first["results"]] == list(LEVELS)[:4]
    second = client.get(first["next"]).json()
    assert [row["value"] for row in second["results"]] == ["4.8283137373", "4.7957905456"]


def test_without_a_series_filter_the_orm_source_gives_the_same(client, monthly):
    # No indicator: the series are not listed from the index; same values.
    response = client.get(OBSERVATIONS, {"frequency": "M", "units": "ch1"})
    assert values(response) == EXPECTED["ch1"]


def test_embargo_holds(client, monthly, clerk, reviewer):  # noqa: F811
    later = release_create(slug="rilis-nanti", title_id="Nanti", title_en="Later", user=clerk)
    # A revision of 2024-01 and a new month, both embargoed.
    import_rows(
        later,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024-01", "1"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024-03", "242"),
        ],
    )
    release_submit(release=later, user=clerk)
    release_approve(release=later, user=reviewer)
    release_schedule(
        release=later, user=reviewer, scheduled_for=timezone.now() + dt.timedelta(days=5)
    )
    # Neither its rows nor their use as earlier values show.
    for units in ("chg", "pch", "ch1"):
        found = values(client.get(OBSERVATIONS, {**MONTHLY, "units": units}))
        assert found == EXPECTED[units]
    # As of before the first publication: nothing at all.
    response = client.get(OBSERVATIONS, {**MONTHLY, "units": "pch", "as_of": "2024-03-01"})
    assert values(response) == {}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"units": "pct"}, "use one of lin, chg, ch1, pch, pc1, pca, cch, cca, log"),
        ({"units": "pch", "layout": "wide"}, "not used with layout=wide; use the long layout"),
        ({"units": ""}, "empty value"),
    ],
)
def test_bad_units_are_400_naming_the_parameter(client, monthly, params, message):
    response = client.get(OBSERVATIONS, {**MONTHLY, **params})
    assert response.status_code == 400
    assert response.json()["errors"]["units"] == [message]


def test_levels_header_on_the_plain_path(client, monthly):
    response = client.get(OBSERVATIONS, MONTHLY)
    assert response["X-Units"] == "lin"
    assert values(response) == LEVELS


# --- frequency conversion (aggregate_to) ---


@pytest.fixture
def kinds(catalogue):
    """Monthly and quarterly series of each kind of measure (the demo's are annual)."""
    from stats.models import Indicator

    Indicator.objects.filter(code="BENEFITS_PAID").update(frequencies="AM")  # flow
    Indicator.objects.filter(code="INVESTMENT_YIELD").update(frequencies="AQM")  # rate
    Indicator.objects.filter(code="CLAIM_CASES").update(frequencies="AM", measure_kind="ytd_flow")
    release = release_create(slug="rilis-kinds", title_id="Rilis", title_en="Release")
    national = ("ID", "_T", "_T")
    import_rows(
        release,
        [("BENEFITS_PAID", *national, f"2023-{m:02}", str(10 * m)) for m in range(1, 13)]
        + [
            ("INVESTMENT_YIELD", *national, period, value)
            for period, value in (
                ("2023-Q1", "5.10"),
                ("2023-Q2", "5.20"),
                ("2023-Q3", "5.30"),
                ("2023-Q4", "5.25"),
                ("2024-01", "1"),
                ("2024-02", "1"),
                ("2024-03", "2"),
            )
        ]
        + [
            ("CLAIM_CASES", *national, "2023-01", "5"),
            ("CLAIM_CASES", *national, "2023-02", "12", "provisional"),
            ("CLAIM_CASES", *national, "2023-03", "20"),
            ("CLAIM_CASES", *national, "2023-04", "26"),
        ],
    )
    release_publish(release=release, at=T1)
    return release


# (indicator, frequency filter, aggregate_to, units) -> {period: value}, worked by hand.
CONVERSIONS = [
    # flow: sum. Months 10, 20, ..., 120.
    ("BENEFITS_PAID", "M", "A", "lin", {"2023": "780"}),
    ("BENEFITS_PAID", "M", "S", "lin", {"2023-S1": "210", "2023-S2": "570"}),
    (
        "BENEFITS_PAID",
        "M",
        "Q",
        "lin",
        {"2023-Q1": "60", "2023-Q2": "150", "2023-Q3": "240", "2023-Q4": "330"},
    ),
    # Then transformed: 150 / 60 - 1 = 150 %, 240 / 150 - 1 = 60 %, 330 / 240 - 1 = 37.5 %.
    ("BENEFITS_PAID", "M", "Q", "pch", {"2023-Q2": "150", "2023-Q3": "60", "2023-Q4": "37.5"}),
    ("BENEFITS_PAID", "M", "Q", "chg", {"2023-Q2": "90", "2023-Q3": "90", "2023-Q4": "90"}),
    # rate: average. (5.10 + 5.20 + 5.30 + 5.25) / 4; (5.10 + 5.20) / 2; (5.30 + 5.25) / 2.
    ("INVESTMENT_YIELD", "Q", "A", "lin", {"2023": "5.2125"}),
    ("INVESTMENT_YIELD", "Q", "S", "lin", {"2023-S1": "5.15", "2023-S2": "5.275"}),
    # (1 + 1 + 2) / 3 = 1.333..., rounded half to even to 10 decimals.
    ("INVESTMENT_YIELD", "M", "Q", "lin", {"2024-Q1": "1.3333333333"}),
    # ytd flow: the last month's; Q2 lacks May and June.
    ("CLAIM_CASES", "M", "Q", "lin", {"2023-Q1": "20"}),
]


@pytest.mark.parametrize(("indicator", "frequency", "target", "units", "expected"), CONVERSIONS)
def test_every_conversion_against_values_worked_by_hand(
    client, kinds, indicator, frequency, target, units, expected
):
    params = {"indicator": indicator, "frequency": frequency, "aggregate_to": target}
    response = client.get(OBSERVATIONS, {**params, "units": units})
    assert values(response) == expected
    assert response["X-Aggregate-To"] == target
    assert response["X-Units"] == units
    assert {row["frequency"] for row in response.json()["results"]} == {target}


def test_stock_takes_the_end_of_complete_periods_only(client, monthly):
    # 2023-Q1: January, February, March (end: 99); Q2 lacks April; 2024-Q1 lacks March.
    for target, expected in (("Q", {"2023-Q1": "99"}), ("S", {}), ("A", {})):
        found = values(client.get(OBSERVATIONS, {**MONTHLY, "aggregate_to": target}))
        assert found == expected


def test_series_already_at_the_frequency_pass_through(client, monthly):
    # The annual series as they are; the monthly one has no complete year.
    response = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", "aggregate_to": "A"})
    assert values(response) == {
        "2020": "0",
        "2021": "200",
        "2022": "200.0000000001",
        "2023": "200.0000000004",
    }


def test_converted_row_status_release_and_publication(client, kinds):
    params = {"indicator": "CLAIM_CASES", "frequency": "M", "aggregate_to": "Q"}
    (row,) = client.get(OBSERVATIONS, params).json()["results"]
    # One part provisional: the quarter is.
    assert row["status"] == "provisional"
    assert row["period_start"] == "2023-01-01"
    assert row["period_end"] == "2023-03-31"
    assert row["release"] == "rilis-kinds"
    assert row["published_at"] == T1.isoformat()


def test_conversion_in_csv(client, kinds):
    params = {"indicator": "BENEFITS_PAID", "frequency": "M", "aggregate_to": "S"}
    response = client.get(OBSERVATIONS, {**params, "format": "csv"})
    assert response.status_code == 200
    assert response["X-Aggregate-To"] == "S"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["frequency"], r["period"], r["value"]) for r in rows] == [
        ("S", "2023-S1", "210"),
        ("S", "2023-S2", "570"),
    ]


def test_conversion_embargo_holds(client, kinds, clerk, reviewer):  # noqa: F811
    later = release_create(slug="rilis-nanti", title_id="Nanti", title_en="Later", user=clerk)
    import_rows(later, [("BENEFITS_PAID", "ID", "_T", "_T", "2023-12", "1000")])
    release_submit(release=later, user=clerk)
    release_approve(release=later, user=reviewer)
    release_schedule(
        release=later, user=reviewer, scheduled_for=timezone.now() + dt.timedelta(days=5)
    )
    params = {"indicator": "BENEFITS_PAID", "frequency": "M", "aggregate_to": "A"}
    assert values(client.get(OBSERVATIONS, params)) == {"2023": "780"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"aggregate_to": "M"}, "use one of A, S, Q (M is the highest frequency)"),
        (
            {"frequency": "A", "aggregate_to": "Q"},
            "frequency A is lower than Q: a series cannot be converted to a higher frequency",
        ),
        (
            {"aggregate_to": "Q"},
            "series at A match, a lower frequency than Q; add frequency=M,Q to leave them out",
        ),
        (
            {"aggregate_to": "A", "layout": "wide"},
            "not used with layout=wide; use the long layout",
        ),
    ],
)
def test_bad_conversions_are_400_naming_the_parameter(client, monthly, params, message):
    response = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", **params})
    assert response.status_code == 400
    assert response.json()["errors"]["aggregate_to"] == [message]


def test_the_first_print_is_not_transformed_or_converted(client, monthly):
    for extra in ({"units": "pc1"}, {"aggregate_to": "A", "frequency": "M"}):
        response = client.get(
            "/api/v1/observations/",
            {"indicator": "ACTIVE_PARTICIPANTS", "vintage": "first", **extra},
        )
        assert response.status_code == 400
        assert response.json()["errors"]["vintage"] == [
            "vintage=first is not used with units or aggregate_to"
        ]
