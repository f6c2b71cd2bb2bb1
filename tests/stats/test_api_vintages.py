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
