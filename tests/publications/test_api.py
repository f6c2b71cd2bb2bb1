"""Releases, news releases and the calendar in the public read API: published only."""

import datetime as dt
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from publications.choices import ReleaseStatus
from publications.services import (
    release_approve,
    release_create,
    release_publish,
    release_schedule,
    release_submit,
)
from stats.models import Indicator
from tests.publications.factories import NewsReleaseFactory, ReleaseFactory
from tests.stats.helpers import import_rows

pytestmark = pytest.mark.usefixtures("clear_cache")


@pytest.fixture
def releases(catalogue):
    now = timezone.now()
    published = release_create(slug="angka-2023", title_id="Angka 2023", title_en="Figures 2023")
    import_rows(published, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "40000000")])
    release_publish(release=published, at=now - dt.timedelta(days=30))
    correction = release_create(
        slug="koreksi-2023",
        title_id="Koreksi 2023",
        title_en="Correction 2023",
        corrects=published,
        correction_reason="angka audit",
    )
    import_rows(correction, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "40100000")])
    release_publish(release=correction, at=now - dt.timedelta(days=1))
    draft = ReleaseFactory(slug="draf-rahasia", title_id="Draf rahasia", title_en="Secret draft")
    scheduled = ReleaseFactory(
        slug="terjadwal",
        title_id="Angka 2024",
        title_en="Figures 2024",
        summary_id="Ringkasan di bawah embargo",
        status=ReleaseStatus.SCHEDULED,
        scheduled_for=now + dt.timedelta(days=7),
    )
    indicator = Indicator.objects.get(code="ACTIVE_PARTICIPANTS")
    public_news = NewsReleaseFactory(
        slug="siaran-2023", release=published, published_at=now - dt.timedelta(days=30)
    )
    public_news.indicators.add(indicator)
    NewsReleaseFactory(slug="english-news", language="en", published_at=now - dt.timedelta(days=2))
    NewsReleaseFactory(slug="siaran-embargo", release=scheduled, published_at=now)
    NewsReleaseFactory(slug="siaran-nanti", published_at=now + dt.timedelta(hours=1))
    NewsReleaseFactory(slug="siaran-draf", release=draft)
    return {"published": published, "correction": correction, "scheduled": scheduled}


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_releases_list_only_published_releases_newest_first(client, releases):
    slugs = [r["slug"] for r in results(client.get("/api/v1/releases/"))]
    assert slugs == ["koreksi-2023", "angka-2023"]


def test_release_detail_shows_indicators_corrections_and_news(client, releases):
    detail = client.get("/api/v1/releases/angka-2023/", {"lang": "en"}).json()
    assert detail["title"] == "Figures 2023"
    assert detail["indicators"] == ["ACTIVE_PARTICIPANTS"]
    assert detail["corrections"] == ["koreksi-2023"]
    assert detail["news"] == ["siaran-2023"]
    correction = client.get("/api/v1/releases/koreksi-2023/").json()
    assert correction["corrects"] == "angka-2023"
    assert correction["correction_reason"] == "angka audit"


@pytest.mark.parametrize("slug", ["draf-rahasia", "terjadwal", "no-such-release"])
def test_an_unpublished_release_is_404(client, releases, slug):
    assert client.get(f"/api/v1/releases/{slug}/").status_code == 404


def test_release_indicator_filter_narrows_the_list(client, releases):
    release_create(slug="lain", title_id="Lain", title_en="Other")
    funds = release_create(slug="dana-2023", title_id="Dana", title_en="Funds")
    import_rows(funds, [("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2023", "686000000000000")])
    release_publish(release=funds)
    cache.clear()
    slugs = [
        r["slug"]
        for r in results(client.get("/api/v1/releases/", {"indicator": "FUNDS_UNDER_MANAGEMENT"}))
    ]
    assert slugs == ["dana-2023"]


def test_news_lists_only_published_news(client, releases):
    slugs = {n["slug"] for n in results(client.get("/api/v1/news/"))}
    assert slugs == {"siaran-2023", "english-news"}


@pytest.mark.parametrize("slug", ["siaran-embargo", "siaran-nanti", "siaran-draf"])
def test_unpublished_news_is_404(client, releases, slug):
    assert client.get(f"/api/v1/news/{slug}/").status_code == 404


def test_news_detail_has_the_body(client, releases):
    detail = client.get("/api/v1/news/siaran-2023/").json()
    assert detail["body"] == "Isi **siaran pers**."
    assert detail["release"] == "angka-2023"
    assert detail["indicators"] == ["ACTIVE_PARTICIPANTS"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"language": "en"}, {"english-news"}),
        ({"release": "angka-2023"}, {"siaran-2023"}),
        ({"indicator": "ACTIVE_PARTICIPANTS"}, {"siaran-2023"}),
    ],
)
def test_every_news_filter_narrows_the_list(client, releases, params, expected):
    assert {n["slug"] for n in results(client.get("/api/v1/news/", params))} == expected


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"language": "fr"}, "language"),
        ({"release": "terjadwal"}, "release"),
        ({"indicator": "NOPE"}, "indicator"),
        ({"topic": "dana"}, "topic"),
    ],
)
def test_bad_news_filters_are_a_400(client, releases, params, parameter):
    response = client.get("/api/v1/news/", params)
    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_the_calendar_shows_slug_title_time_and_page_of_scheduled_releases(client, releases):
    entries = results(client.get("/api/v1/calendar/", {"lang": "en"}))
    assert entries == [
        {
            "slug": "terjadwal",
            "title": "Figures 2024",
            "scheduled_for": timezone.localtime(releases["scheduled"].scheduled_for).isoformat(),
            "page": "http://testserver/en/rilis/terjadwal/",
            "indicators": [],
            "url": "http://testserver/api/v1/calendar/terjadwal/",
        }
    ]
    assert "Ringkasan" not in client.get("/api/v1/calendar/").content.decode()


@pytest.fixture
def scheduled_with_values(releases):
    """The scheduled release will revise a public indicator and bring a new one."""
    import_rows(
        releases["scheduled"],
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "41000000"),
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2024", "700000000000000"),
        ],
    )
    cache.clear()
    return releases["scheduled"]


def test_a_calendar_entry_names_the_public_indicators_it_will_update(client, scheduled_with_values):
    (entry,) = results(client.get("/api/v1/calendar/", {"lang": "en"}))
    assert entry["indicators"] == [
        {
            "code": "ACTIVE_PARTICIPANTS",
            "name": Indicator.objects.get(code="ACTIVE_PARTICIPANTS").name_en,
            "url": "http://testserver/api/v1/indicators/ACTIVE_PARTICIPANTS/",
        }
    ]


def test_an_indicator_new_with_a_scheduled_release_stays_hidden(client, scheduled_with_values):
    for url, params in [
        ("/api/v1/calendar/", {}),
        ("/api/v1/calendar/", {"format": "csv"}),
        ("/api/v1/calendar/terjadwal/", {}),
        ("/api/v1/indicators/", {}),
    ]:
        response = client.get(url, params)
        text = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        assert "FUNDS_UNDER_MANAGEMENT" not in text, url
        assert "700000000000000" not in text and "41000000" not in text, url
    assert client.get("/api/v1/indicators/FUNDS_UNDER_MANAGEMENT/").status_code == 404


def test_a_calendar_entry_is_addressed_by_its_slug(client, scheduled_with_values):
    entry = client.get("/api/v1/calendar/terjadwal/", {"lang": "en"}).json()
    assert entry["slug"] == "terjadwal"
    assert [indicator["code"] for indicator in entry["indicators"]] == ["ACTIVE_PARTICIPANTS"]


@pytest.mark.parametrize("slug", ["angka-2023", "draf-rahasia", "tidak-ada"])
def test_only_a_scheduled_release_is_a_calendar_entry(client, releases, slug):
    assert client.get(f"/api/v1/calendar/{slug}/").status_code == 404


def test_an_indicator_states_its_next_scheduled_release(client, scheduled_with_values):
    indicator = client.get("/api/v1/indicators/ACTIVE_PARTICIPANTS/").json()
    assert indicator["next_release"] == {
        "slug": "terjadwal",
        "scheduled_for": timezone.localtime(scheduled_with_values.scheduled_for).isoformat(),
        "url": "http://testserver/id/rilis/terjadwal/",
    }


def test_an_indicator_with_nothing_scheduled_has_no_next_release(client, releases):
    indicator = client.get("/api/v1/indicators/ACTIVE_PARTICIPANTS/").json()
    assert indicator["next_release"] is None


def test_the_calendar_costs_a_fixed_number_of_queries(
    client, scheduled_with_values, django_assert_max_num_queries
):
    client.get("/api/v1/calendar/")
    # Another language is another answer: the scheduled releases' aggregate, the page,
    # the indicators of every entry.
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/calendar/", {"lang": "en"}).status_code == 200


def test_the_calendar_changes_when_a_release_is_scheduled(client, releases, clerk, reviewer):
    etag = client.get("/api/v1/calendar/")["ETag"]
    # Scheduled as people do it: through the services, which raise public_data_changed.
    upcoming = release_create(slug="berikutnya", title_id="B", title_en="N", user=clerk)
    import_rows(upcoming, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2025", "42000000")])
    release_submit(release=upcoming, user=clerk)
    release_approve(release=upcoming, user=reviewer)
    with mock.patch("publications.tasks.release_publish_scheduled.apply_async"):
        release_schedule(
            release=upcoming,
            user=reviewer,
            scheduled_for=timezone.now() + dt.timedelta(days=30),
        )
    response = client.get("/api/v1/calendar/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_the_calendar_csv_has_slug_title_time_indicators_and_links_only(
    client, scheduled_with_values
):
    response = client.get("/api/v1/calendar/", {"format": "csv"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "slug,title,scheduled_for,indicators,page,url"
    assert lines[1].startswith("terjadwal,Angka 2024,")
    assert ",ACTIVE_PARTICIPANTS,http://testserver/id/rilis/terjadwal/," in lines[1]
    assert len(lines) == 2
    assert "embargo" not in lines[1].lower()
