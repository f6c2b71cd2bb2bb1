"""End to end: a scheduled release, its derived values and its news release stay invisible
through the whole public API until the release time, then appear at once."""

import csv
import datetime as dt
import io
import time

import pytest
from django.utils import timezone

from publications.models import NewsRelease
from publications.services import (
    news_release_save,
    release_approve,
    release_create,
    release_publish,
    release_schedule,
    release_submit,
    releases_publish_due,
)
from stats.demo.loader import derived_definitions_load, targets_load
from stats.models import Observation
from tests.publications.conftest import ROW
from tests.stats.helpers import import_rows

SECRET_VALUE = "45200000"
SECRET_PROGRESS = "64.5714285714"  # 45,200,000 / 70,000,000 x 100
PUBLIC_URLS = [
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS",
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&format=csv",
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS_TARGET_PROGRESS",
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&period_start=2024",
    "/api/v1/indicators/ACTIVE_PARTICIPANTS/",
    "/api/v1/indicators/ACTIVE_PARTICIPANTS_TARGET_PROGRESS/",
    "/api/v1/series/?indicator=ACTIVE_PARTICIPANTS",
    "/api/v1/releases/",
    "/api/v1/news/",
]


pytestmark = pytest.mark.usefixtures("clear_cache")


def _release_2024(clerk):
    """Targets and derived definitions, 2023 published, and a draft with 2024's 45.2 million."""
    targets_load()
    derived_definitions_load()
    earlier = release_create(slug="rilis-2023", title_id="2023", title_en="2023")
    import_rows(earlier, [ROW])
    release_publish(release=earlier)
    release = release_create(slug="rilis-2024", title_id="Rilis 2024", title_en="2024", user=clerk)
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", SECRET_VALUE)])
    return release


@pytest.fixture
def scheduled(catalogue, clerk, reviewer, editor):
    """2023 published; a release with 2024 (45.2 million) scheduled a moment from now."""
    release = _release_2024(clerk)
    news_release_save(
        news_release=NewsRelease(
            release=release,
            slug="siaran-2024",
            title="Peserta 2024",
            lead="Rahasia.",
            body="Peserta aktif 45,2 juta.",
        ),
        user=editor,
    )
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)
    release_schedule(
        release=release, user=reviewer, scheduled_for=timezone.now() + dt.timedelta(seconds=2)
    )
    return release


def _text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_derived_values_are_ready_but_held_under_the_embargo(scheduled):
    held = Observation.objects.get(
        release=scheduled, series__indicator__code="ACTIVE_PARTICIPANTS_TARGET_PROGRESS"
    )
    assert str(held.value).startswith(SECRET_PROGRESS) and held.valid_from is None


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_nothing_of_a_scheduled_release_shows_before_its_time(client, scheduled, url):
    response = client.get(url)
    assert response.status_code == 200
    body = _text(response)
    assert SECRET_VALUE not in body and "45200000" not in body
    assert SECRET_PROGRESS not in body and "rilis-2024" not in body
    assert "siaran-2024" not in body and "Rahasia" not in body


def test_the_calendar_gives_only_the_title_and_time_before_the_release(client, scheduled):
    entries = client.get("/api/v1/calendar/").json()["results"]
    assert [sorted(entry) for entry in entries] == [["scheduled_for", "title"]]


def test_at_its_time_inputs_derived_values_and_news_appear_together(client, scheduled):
    time.sleep(2.1)
    assert [r.slug for r in releases_publish_due()] == ["rilis-2024"]
    rows = list(
        csv.DictReader(
            io.StringIO(
                _text(
                    client.get(
                        "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS,ACTIVE_PARTICIPANTS_TARGET_PROGRESS"
                        "&period_start=2024&format=csv"
                    )
                )
            )
        )
    )
    values = {row["indicator"]: row["value"] for row in rows}
    assert values["ACTIVE_PARTICIPANTS"] == SECRET_VALUE
    assert values["ACTIVE_PARTICIPANTS_TARGET_PROGRESS"] == SECRET_PROGRESS
    published = Observation.objects.filter(release=scheduled).values_list("valid_from", flat=True)
    assert len(set(published)) == 1  # one instant for inputs and derived values
    news = client.get("/api/v1/news/").json()["results"]
    assert [n["slug"] for n in news] == ["siaran-2024"]


def test_an_approved_release_published_at_once_brings_its_derived_values_with_it(
    catalogue, clerk, reviewer, django_capture_on_commit_callbacks
):
    """Not scheduled, so nothing was precomputed: publishing computes the derived values in
    the same transaction, public at the same instant as the inputs, before any task runs."""
    release = _release_2024(clerk)
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)
    with django_capture_on_commit_callbacks(execute=False):  # the confirming task never runs
        release_publish(release=release, user=reviewer)
    progress = Observation.objects.current().get(
        series__indicator__code="ACTIVE_PARTICIPANTS_TARGET_PROGRESS", period="2024"
    )
    assert str(progress.value).startswith(SECRET_PROGRESS)
    assert progress.release_id == release.pk
    published = Observation.objects.filter(release=release).values_list("valid_from", flat=True)
    assert len(set(published)) == 1  # one instant for inputs and derived values
