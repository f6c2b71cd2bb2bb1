"""ALFRED's vintages in the read API: the vintage dates of a series, the values of a
real-time window, the first and the latest print; nothing of an embargoed release."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from publications.choices import ReleaseStatus
from publications.models import Release
from publications.services import release_create, release_publish
from tests.publications.factories import ReleaseFactory
from tests.stats.helpers import import_rows

pytestmark = pytest.mark.usefixtures("clear_cache")

SERIES = "ACTIVE_PARTICIPANTS/A/region=ID,segment=_T,program=_T"
VINTAGES_URL = f"/api/v1/series/{SERIES}/vintages/"
NATIONAL = ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T")


def _release(slug: str, rows, at: dt.datetime):
    release = release_create(slug=slug, title_id=slug, title_en=slug)
    import_rows(release, [(*NATIONAL, period, value) for period, value in rows])
    if at > timezone.now():
        # A release for a future instant: the database refuses to publish ahead of its
        # clock (stats/migrations/0008), so it waits scheduled, its values drafts under
        # embargo until then.
        Release.objects.filter(pk=release.pk).update(
            status=ReleaseStatus.SCHEDULED, scheduled_for=at
        )
        return release
    release_publish(release=release, at=at)
    return release


@pytest.fixture
def revised_twice(catalogue):
    """2023 published, revised, revised again; 2024 added by the first revision; a
    revision published ahead of its time and a scheduled release still under embargo."""
    now = timezone.now()
    instants = {
        "first": now - dt.timedelta(days=30),
        "second": now - dt.timedelta(days=20),
        "third": now - dt.timedelta(days=10),
        "ahead": now + dt.timedelta(days=1),
    }
    _release("rilis-awal", [("2023", "100")], instants["first"])
    _release("revisi-satu", [("2023", "101"), ("2024", "110")], instants["second"])
    _release("revisi-dua", [("2023", "102")], instants["third"])
    _release("revisi-nanti", [("2023", "999"), ("2024", "999")], instants["ahead"])
    scheduled = ReleaseFactory(
        slug="terjadwal", status=ReleaseStatus.SCHEDULED, scheduled_for=now + dt.timedelta(days=2)
    )
    import_rows(scheduled, [(*NATIONAL, "2025", "888")])
    return instants


def local(instant: dt.datetime) -> str:
    return timezone.localtime(instant).isoformat()


def test_the_vintage_dates_of_a_series_revised_twice(client, revised_twice):
    response = client.get(VINTAGES_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["indicator"] == "ACTIVE_PARTICIPANTS"
    assert body["frequency"] == "A"
    assert body["series_key"] == "region=ID,segment=_T,program=_T"
    assert body["vintages"] == [
        {"published_at": local(revised_twice["first"]), "release": "rilis-awal"},
        {"published_at": local(revised_twice["second"]), "release": "revisi-satu"},
        {"published_at": local(revised_twice["third"]), "release": "revisi-dua"},
    ]


def test_the_vintage_dates_never_show_an_embargoed_instant(client, revised_twice):
    text = client.get(VINTAGES_URL).content.decode()
    assert "revisi-nanti" not in text
    assert "terjadwal" not in text
    assert local(revised_twice["ahead"]) not in text


def test_the_vintages_link_reads_every_vintage_of_the_series(client, revised_twice):
    link = client.get(VINTAGES_URL).json()["observations"]
    assert link.startswith("http://testserver/api/v1/observations/?")
    assert "indicator=ACTIVE_PARTICIPANTS" in link
    assert "region=ID" in link


def test_the_vintages_of_a_series_cost_few_queries(
    client, revised_twice, django_assert_max_num_queries
):
    # The catalogue and the last publication are read once per data generation; another
    # language is another answer (not the cached one): the series, then its vintages.
    client.get(VINTAGES_URL)
    with django_assert_max_num_queries(2):
        assert client.get(VINTAGES_URL, {"lang": "en"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "ACTIVE_PARTICIPANTS/A/region=ID,segment=_T,program=JHT",  # no such series
        "ACTIVE_PARTICIPANTS/M/region=ID,segment=_T,program=_T",  # another frequency
        "NO_SUCH/A/region=ID,segment=_T,program=_T",
        "ACTIVE_PARTICIPANTS/A/region=ID",
        "ACTIVE_PARTICIPANTS/A/region=ID-XX,segment=_T,program=_T",  # no such code
    ],
)
def test_an_unknown_series_has_no_vintages(client, revised_twice, path):
    response = client.get(f"/api/v1/series/{path}/vintages/")
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("region", ["id", "Id"])
def test_a_series_key_may_name_a_region_by_its_alternative_code(client, revised_twice, region):
    by_code = client.get(VINTAGES_URL)
    by_alias = client.get(VINTAGES_URL.replace("region=ID", f"region={region}"))
    assert by_alias.status_code == 200
    assert by_alias.json() == by_code.json()
    assert by_alias.json()["series_key"] == "region=ID,segment=_T,program=_T"


def test_a_series_only_an_embargoed_release_has_is_not_found(client, catalogue):
    now = timezone.now()
    _release("nanti", [("2023", "5")], now + dt.timedelta(days=1))
    assert client.get(VINTAGES_URL).status_code == 404


def test_the_vintages_refuse_parameters_they_do_not_take(client, revised_twice):
    response = client.get(VINTAGES_URL, {"as_of": "2024-01-01"})
    assert response.status_code == 400
    assert "as_of" in response.json()["errors"]


# --- the first and the latest print ---

OBSERVATIONS = "/api/v1/observations/"


def values(client, **params) -> list[tuple[str, str, str]]:
    response = client.get(OBSERVATIONS, params)
    assert response.status_code == 200, response.content
    return [(row["period"], row["value"], row["release"]) for row in response.json()["results"]]


@pytest.mark.parametrize(
    "series_filter",
    [
        # The page statement (the series filters give a list of series) ...
        {"indicator": "ACTIVE_PARTICIPANTS", "region": "ID"},
        # ... and the ORM (no series filter).
        {},
    ],
)
def test_the_first_print_of_each_value_is_its_initial_release(client, revised_twice, series_filter):
    assert values(client, vintage="first", **series_filter) == [
        ("2023", "100", "rilis-awal"),
        ("2024", "110", "revisi-satu"),
    ]


@pytest.mark.parametrize("params", [{"vintage": "latest"}, {}])
def test_the_latest_print_is_each_value_as_revised_since(client, revised_twice, params):
    assert values(client, indicator="ACTIVE_PARTICIPANTS", **params) == [
        ("2023", "102", "revisi-dua"),
        ("2024", "110", "revisi-satu"),
    ]


def test_the_first_print_as_of_a_past_instant(client, revised_twice):
    between = revised_twice["first"] + dt.timedelta(days=1)
    assert values(client, vintage="first", as_of=between.isoformat()) == [
        ("2023", "100", "rilis-awal")
    ]
    assert values(client, vintage="latest", as_of=between.isoformat()) == [
        ("2023", "100", "rilis-awal")
    ]


def test_the_first_print_csv_matches_its_json(client, revised_twice):
    response = client.get(OBSERVATIONS, {"vintage": "first", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["period"], row["value"]) for row in rows] == [("2023", "100"), ("2024", "110")]


@pytest.mark.parametrize("vintage", ["first", "latest"])
def test_no_print_shows_an_embargoed_value(client, revised_twice, vintage):
    for params in ({}, {"indicator": "ACTIVE_PARTICIPANTS"}):
        response = client.get(OBSERVATIONS, {"vintage": vintage, **params})
        rows = response.json()["results"]
        assert rows and not {row["value"] for row in rows} & {"999", "888"}
        text = response.content.decode()
        assert "revisi-nanti" not in text and "terjadwal" not in text


@pytest.mark.parametrize("bad", ["all", "First", "1"])
def test_an_unknown_vintage_is_a_400(client, revised_twice, bad):
    response = client.get(OBSERVATIONS, {"vintage": bad})
    assert response.status_code == 400
    assert "vintage" in response.json()["errors"]


def test_a_page_of_first_prints_is_one_query(client, revised_twice, django_assert_max_num_queries):
    client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", "vintage": "first"})
    # Another page size is another answer (not the cached one); the catalogue and the
    # series' texts are read once per data generation and language.
    with django_assert_max_num_queries(1):
        response = client.get(
            OBSERVATIONS,
            {"indicator": "ACTIVE_PARTICIPANTS", "vintage": "first", "page_size": "50"},
        )
    assert len(response.json()["results"]) == 2


# --- superseded_at: the end of each vintage ---


def intervals(client, **params) -> list[tuple]:
    response = client.get(OBSERVATIONS, params)
    assert response.status_code == 200, response.content
    return [
        (row["period"], row["value"], row["release"], row["published_at"], row["superseded_at"])
        for row in response.json()["results"]
    ]


def test_a_current_value_is_not_superseded(client, revised_twice):
    rows = intervals(client, indicator="ACTIVE_PARTICIPANTS")
    assert rows == [
        ("2023", "102", "revisi-dua", local(revised_twice["third"]), None),
        ("2024", "110", "revisi-satu", local(revised_twice["second"]), None),
    ]


def test_a_first_print_revised_since_shows_when_it_was_superseded(client, revised_twice):
    rows = intervals(client, indicator="ACTIVE_PARTICIPANTS", vintage="first")
    assert rows == [
        (
            "2023",
            "100",
            "rilis-awal",
            local(revised_twice["first"]),
            local(revised_twice["second"]),
        ),
        ("2024", "110", "revisi-satu", local(revised_twice["second"]), None),
    ]


@pytest.mark.parametrize("vintage", ["first", "latest"])
def test_a_value_read_as_of_a_past_instant_shows_no_later_revision(client, revised_twice, vintage):
    # As the site showed it then: the revision published after as_of is not known yet.
    between = (revised_twice["first"] + dt.timedelta(days=1)).isoformat()
    assert intervals(client, indicator="ACTIVE_PARTICIPANTS", vintage=vintage, as_of=between) == [
        ("2023", "100", "rilis-awal", local(revised_twice["first"]), None)
    ]


# --- real-time periods (ALFRED's realtime_start / realtime_end) ---

SERIES_FILTERS = pytest.mark.parametrize(
    "series_filter",
    [
        # The page statement (the series filters give a list of series) ...
        {"indicator": "ACTIVE_PARTICIPANTS", "region": "ID"},
        # ... and the ORM (no series filter).
        {},
    ],
)


def every_vintage(instants) -> list[tuple]:
    first, second, third = (local(instants[name]) for name in ("first", "second", "third"))
    return [
        ("2023", "100", "rilis-awal", first, second),
        ("2023", "101", "revisi-satu", second, third),
        ("2023", "102", "revisi-dua", third, None),
        ("2024", "110", "revisi-satu", second, None),
    ]


@SERIES_FILTERS
def test_a_window_spanning_both_revisions_gives_all_three_vintages(
    client, revised_twice, series_filter
):
    rows = intervals(
        client,
        realtime_start=(revised_twice["first"] + dt.timedelta(hours=1)).isoformat(),
        realtime_end=(revised_twice["third"] + dt.timedelta(hours=1)).isoformat(),
        **series_filter,
    )
    assert rows == every_vintage(revised_twice)


@SERIES_FILTERS
def test_a_window_before_the_first_publication_is_empty(client, revised_twice, series_filter):
    before = revised_twice["first"] - dt.timedelta(days=1)
    params = {
        "realtime_start": (before - dt.timedelta(days=365)).isoformat(),
        "realtime_end": before.isoformat(),
        **series_filter,
    }
    assert intervals(client, **params) == []


@SERIES_FILTERS
def test_a_window_between_revisions_gives_the_vintages_valid_in_it(
    client, revised_twice, series_filter
):
    # From just before the second release to just before the third: the first print of
    # 2023 (until the second), its first revision, and 2024 (from the second).
    start = revised_twice["second"] - dt.timedelta(hours=1)
    end = revised_twice["third"] - dt.timedelta(hours=1)
    rows = intervals(
        client, realtime_start=start.isoformat(), realtime_end=end.isoformat(), **series_filter
    )
    vintages = every_vintage(revised_twice)
    assert rows == [vintages[0], vintages[1], vintages[3]]


def test_a_window_of_one_instant_gives_the_values_as_of_it(client, revised_twice):
    at = (revised_twice["second"] + dt.timedelta(hours=1)).isoformat()
    window = intervals(client, realtime_start=at, realtime_end=at)
    assert [row[:4] for row in window] == [
        row[:4] for row in intervals(client, as_of=at, indicator="ACTIVE_PARTICIPANTS")
    ]
    # As known now: the value read was revised later (the window reads today's knowledge).
    assert window[0][4] == local(revised_twice["third"])


def test_a_window_defaults_to_every_vintage_up_to_now(client, revised_twice):
    assert intervals(client, realtime_end=dt.date.today().isoformat()) == every_vintage(
        revised_twice
    )
    start = (revised_twice["third"] - dt.timedelta(hours=1)).isoformat()
    vintages = every_vintage(revised_twice)
    assert intervals(client, realtime_start=start) == [vintages[1], vintages[2], vintages[3]]


def test_a_window_date_covers_the_whole_day(client, revised_twice):
    day = timezone.localtime(revised_twice["second"]).date().isoformat()
    rows = intervals(client, realtime_start=day, realtime_end=day)
    vintages = every_vintage(revised_twice)
    # That day the first print of 2023 was replaced by the first revision, which added 2024.
    assert rows == [vintages[0], vintages[1], vintages[3]]


@pytest.mark.parametrize("ordering", ["series", "period", "-period", "published_at", "-value"])
def test_paging_through_a_window_by_one_gives_every_row_once(client, revised_twice, ordering):
    params = {"realtime_start": revised_twice["first"].isoformat(), "page_size": "1"}
    params["ordering"] = ordering
    seen, url, pages = [], OBSERVATIONS, 0
    while url:
        response = client.get(url, params if url == OBSERVATIONS else None)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [(row["period"], row["value"]) for row in body["results"]]
        url, pages = body["next"], pages + 1
        assert pages <= 10
    assert sorted(seen) == sorted(row[:2] for row in every_vintage(revised_twice))
    assert len(seen) == 4 and pages == 4


def test_paging_back_through_a_window_gives_the_same_rows(client, revised_twice):
    params = {"realtime_start": revised_twice["first"].isoformat(), "page_size": "1"}
    forward, url = [], OBSERVATIONS
    while True:
        body = client.get(url, params if url == OBSERVATIONS else None).json()
        forward.append(body)
        if not body["next"]:
            break
        url = body["next"]
    backward = [forward[-1]["results"]]
    url = forward[-1]["previous"]
    while url:
        body = client.get(url).json()
        backward.append(body["results"])
        url = body["previous"]
    assert list(reversed(backward)) == [page["results"] for page in forward]


def test_a_window_never_shows_an_embargoed_revision(client, revised_twice):
    # A window that reaches past the embargoed release's time: read up to now, so the
    # revision waiting for its time does not show, nor does it close the current value.
    end = (revised_twice["ahead"] + dt.timedelta(days=5)).isoformat()
    response = client.get(
        OBSERVATIONS, {"realtime_start": revised_twice["first"].isoformat(), "realtime_end": end}
    )
    assert response.status_code == 200
    rows = [
        (row["period"], row["value"], row["release"], row["published_at"], row["superseded_at"])
        for row in response.json()["results"]
    ]
    assert rows == every_vintage(revised_twice)
    text = response.content.decode()
    assert "revisi-nanti" not in text and "terjadwal" not in text
    assert local(revised_twice["ahead"]) not in text


def test_a_scheduled_revision_does_not_close_the_current_value(client, revised_twice):
    # Both ways of writing a row: the page statement and the CSV statement.
    (current,) = [
        row
        for row in client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"}).json()["results"]
        if row["period"] == "2023"
    ]
    assert (current["value"], current["superseded_at"]) == ("102", None)
    response = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", "format": "csv"})
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["period"], row["value"], row["superseded_at"]) for row in lines] == [
        ("2023", "102", ""),
        ("2024", "110", ""),
    ]


@pytest.mark.parametrize(
    "params",
    [{"indicator": "ACTIVE_PARTICIPANTS"}, {}, {"indicator": "ACTIVE_PARTICIPANTS", "lang": "en"}],
)
def test_the_csv_of_a_window_has_the_columns_and_values_of_its_json(client, revised_twice, params):
    window = {"realtime_start": revised_twice["first"].isoformat(), **params}
    rows = client.get(OBSERVATIONS, window).json()["results"]
    response = client.get(OBSERVATIONS, {**window, "format": "csv"})
    assert response.status_code == 200
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    flat = []
    for row in rows:
        cells = {}
        for name, value in row.items():
            if name == "dimensions":
                for codelist, code in value.items():
                    cells[codelist], cells[f"{codelist}_name"] = code["code"], code["name"]
            else:
                cells[name] = "" if value is None else str(value)
        flat.append(cells)
    assert lines == flat
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"realtime_start": "yesterday"}, "realtime_start", "not an ISO 8601"),
        ({"realtime_end": "2024-13-01"}, "realtime_end", "not an ISO 8601"),
        ({"realtime_start": "2999-01-01"}, "realtime_start", "in the future"),
        (
            {"realtime_start": "2024-03-02", "realtime_end": "2024-03-01"},
            "realtime_start",
            "after realtime_end",
        ),
        ({"realtime_start": "2024-01-01", "as_of": "2024-02-01"}, "as_of", "realtime_start"),
        ({"realtime_end": "2024-01-01", "vintage": "first"}, "vintage", "realtime_end"),
        ({"realtime_end": "2024-01-01", "vintage": "latest"}, "vintage", "real-time period"),
        (
            {"realtime_start": "2024-01-01", "layout": "wide", "indicator": "ACTIVE_PARTICIPANTS"},
            "layout",
            "one cell per period and series",
        ),
        ({"realtime_start": "2024-01-01", "units": "pch"}, "units", "one instant"),
        ({"realtime_start": "2024-01-01", "aggregate_to": "A"}, "aggregate_to", "one instant"),
        ({"realtime_start": ""}, "realtime_start", "empty"),
    ],
)
def test_a_bad_window_is_a_400_naming_the_parameter(client, revised_twice, params, field, reason):
    response = client.get(OBSERVATIONS, params)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert reason in " ".join(errors[field]), errors


def test_a_cursor_of_a_list_without_a_window_is_refused_with_one(client, revised_twice):
    page = client.get(OBSERVATIONS, {"page_size": "1"}).json()
    cursor = page["next"].split("cursor=")[1].split("&")[0]
    response = client.get(
        OBSERVATIONS,
        {"page_size": "1", "cursor": cursor, "realtime_start": revised_twice["first"].isoformat()},
    )
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_a_revision_not_yet_public_by_the_clock_read_does_not_close_a_value(
    client, revised_twice, monkeypatch
):
    # An application server whose clock runs behind the database's (the database takes a
    # publication up to its leeway ahead of the server's clock): the revision's instant
    # is still to come for this server, so no row shows it, not even as the end of the
    # value it revises.
    published = timezone.now()
    _release("revisi-tiga", [("2023", "103")], published)
    behind = published - dt.timedelta(seconds=30)
    monkeypatch.setattr(timezone, "now", lambda: behind)
    for params in (
        {"indicator": "ACTIVE_PARTICIPANTS"},
        {"realtime_start": revised_twice["first"].isoformat()},
        {"indicator": "ACTIVE_PARTICIPANTS", "vintage": "first"},
    ):
        response = client.get(OBSERVATIONS, params)
        assert response.status_code == 200, response.content
        text = response.content.decode()
        assert "revisi-tiga" not in text and local(published) not in text, params
        csv_response = client.get(OBSERVATIONS, {**params, "format": "csv"})
        csv_text = b"".join(csv_response.streaming_content).decode()
        assert "revisi-tiga" not in csv_text and local(published) not in csv_text, params
    current = intervals(client, indicator="ACTIVE_PARTICIPANTS")
    assert current[0] == ("2023", "102", "revisi-dua", local(revised_twice["third"]), None)
