"""The embargo: nothing of a scheduled release is public before its time, all of it after."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from publications.choices import Language, ReleaseStatus
from publications.models import Release
from publications.selectors import calendar_upcoming, news_public, releases_public
from publications.services import (
    release_approve,
    release_cancel,
    release_publish,
    release_schedule,
    release_submit,
    releases_publish_due,
)
from stats.models import Observation, Series
from stats.selectors import observations_latest, series_with_latest_public
from tests.publications.conftest import in_future
from tests.publications.factories import NewsReleaseFactory, ReleaseFactory


@pytest.fixture
def embargoed(draft, clerk, reviewer):
    """The draft with a news release, approved and scheduled in 30 minutes."""
    NewsReleaseFactory(release=draft, slug="siaran-2023", title="Peserta aktif 40 juta")
    release_submit(release=draft, user=clerk)
    release_approve(release=draft, user=reviewer)
    with mock.patch("publications.tasks.release_publish_scheduled.apply_async"):
        release_schedule(release=draft, user=reviewer, scheduled_for=in_future(30))
    draft.refresh_from_db()
    return draft


def time_passes(release):
    """Move the release time into the past, as if the clock had reached it."""
    Release.objects.filter(pk=release.pk).update(
        scheduled_for=timezone.now() - dt.timedelta(seconds=1)
    )


def test_a_scheduled_release_is_invisible_before_its_time(embargoed):
    assert not Observation.objects.current().exists()
    assert not observations_latest().exists()
    assert (
        series_with_latest_public(queryset=Series.objects.all())
        .filter(latest_value__isnull=False)
        .count()
        == 0
    )
    assert embargoed not in releases_public()
    assert not news_public().exists()


def test_the_calendar_shows_only_slug_title_and_time_of_a_scheduled_release(embargoed):
    # The id is for joining its public indicators (calendar_indicators_public), not shown.
    assert list(calendar_upcoming()) == [
        {
            "pk": embargoed.pk,
            "slug": embargoed.slug,
            "title_id": embargoed.title_id,
            "title_en": embargoed.title_en,
            "scheduled_for": embargoed.scheduled_for,
        }
    ]


def test_at_its_time_everything_of_the_release_is_public_at_once(embargoed):
    time_passes(embargoed)
    [published] = releases_publish_due()
    assert published.pk == embargoed.pk
    assert list(releases_public()) == [published]
    assert list(observations_latest().values_list("value", "valid_from")) == [
        (Decimal(40000000), published.published_at)
    ]
    [news] = news_public()
    assert (news.slug, news.published_at) == ("siaran-2023", published.published_at)
    assert list(calendar_upcoming()) == []


def test_the_scheduler_leaves_a_release_alone_before_its_time(embargoed):
    assert releases_publish_due() == []
    embargoed.refresh_from_db()
    assert embargoed.status == ReleaseStatus.SCHEDULED


def test_a_news_release_of_an_unpublished_release_stays_hidden_even_with_a_date(draft):
    # A date typed in by hand (or left over) does not lift the embargo of its release.
    NewsReleaseFactory(release=draft, published_at=timezone.now() - dt.timedelta(hours=1))
    assert not news_public().exists()


def test_a_news_release_dated_in_the_future_is_not_public_yet(db):
    NewsReleaseFactory(published_at=timezone.now() + dt.timedelta(hours=1))
    assert not news_public().exists()


def test_news_can_be_read_in_one_language(db):
    earlier = timezone.now() - dt.timedelta(hours=2)
    NewsReleaseFactory(slug="id-1", language=Language.INDONESIAN, published_at=earlier)
    NewsReleaseFactory(slug="en-1", language=Language.ENGLISH, published_at=earlier)
    assert [n.slug for n in news_public(language="en")] == ["en-1"]
    assert {n.slug for n in news_public()} == {"id-1", "en-1"}


def test_the_calendar_lists_scheduled_releases_only_soonest_first(db, reviewer):
    soon, later = in_future(10), in_future(100)
    ReleaseFactory(slug="nanti", status=ReleaseStatus.SCHEDULED, scheduled_for=later)
    ReleaseFactory(slug="segera", status=ReleaseStatus.SCHEDULED, scheduled_for=soon)
    ReleaseFactory(slug="draf", scheduled_for=soon)
    ReleaseFactory(slug="batal", status=ReleaseStatus.CANCELLED, scheduled_for=soon)
    assert [row["scheduled_for"] for row in calendar_upcoming()] == [soon, later]


def test_a_cancelled_release_never_becomes_public(embargoed, reviewer):
    release_cancel(release=embargoed, user=reviewer, reason="ditunda")
    time_passes(embargoed)
    assert releases_publish_due() == []
    assert not observations_latest().exists()
    assert not news_public().exists()
    assert list(calendar_upcoming()) == []


def test_published_releases_are_listed_newest_first(catalogue):
    old = ReleaseFactory(slug="lama")
    new = ReleaseFactory(slug="baru")
    release_publish(release=old, at=timezone.now() - dt.timedelta(days=2))
    release_publish(release=new, at=timezone.now() - dt.timedelta(days=1))
    ReleaseFactory(slug="draf")
    assert [r.slug for r in releases_public()] == ["baru", "lama"]
