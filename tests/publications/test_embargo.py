"""End to end: a scheduled release, its derived values and its news release stay invisible
through the whole public API until the release time, then appear at once."""

import csv
import datetime as dt
import io
import re
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from publications.derived import derived_confirm
from publications.models import NewsRelease, Release
from publications.services import (
    news_release_publish,
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
    "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&period_start=2024",
    "/api/v1/indicators/ACTIVE_PARTICIPANTS/",
    "/api/v1/indicators/",
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
    # Its slug and time are public, as in the calendar: an indicator names its next
    # release; nothing else of it shows.
    body = re.sub(
        r'"next_release":\{"slug":"rilis-2024","scheduled_for":"[^"]+","url":"[^"]+"\}', "", body
    )
    assert SECRET_PROGRESS not in body and "rilis-2024" not in body
    assert "siaran-2024" not in body and "Rahasia" not in body


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/observations/?indicator={}",
        "/api/v1/series/?indicator={}",
        "/api/v1/indicators/{}/",
    ],
)
def test_an_indicator_only_a_scheduled_release_has_values_of_is_unknown_before_its_time(
    client, scheduled, url
):
    """Its progress to target has values in the scheduled release only: until its time it
    is answered as an indicator that does not exist."""
    embargoed = client.get(url.format("ACTIVE_PARTICIPANTS_TARGET_PROGRESS"))
    missing = client.get(url.format("NO_SUCH_INDICATOR"))
    assert embargoed.status_code == missing.status_code != 200
    assert _text(embargoed) == _text(missing).replace(
        "NO_SUCH_INDICATOR", "ACTIVE_PARTICIPANTS_TARGET_PROGRESS"
    )


def test_the_calendar_gives_only_its_entry_before_the_release(client, scheduled):
    response = client.get("/api/v1/calendar/")
    entries = response.json()["results"]
    assert [sorted(entry) for entry in entries] == [
        ["indicators", "page", "scheduled_for", "slug", "title", "url"]
    ]
    # It names the public indicators it will update, never one new with it, nor a value.
    codes = [indicator["code"] for indicator in entries[0]["indicators"]]
    assert "ACTIVE_PARTICIPANTS_TARGET_PROGRESS" not in codes
    text = _text(response)
    assert SECRET_VALUE not in text and SECRET_PROGRESS not in text


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


# --- derived values published with the release that causes them, whatever came between ---

COVERAGE = "ACTIVE_COVERAGE_ELIGIBLE"  # active participants / eligible workers x 100


def _published(slug: str, rows) -> object:
    """A release of ``rows`` published by the system now."""
    release = release_create(slug=slug, title_id=slug, title_en=slug)
    import_rows(release, rows)
    return release_publish(release=release)


def _eligible(period: str, value: str) -> tuple:
    return ("ELIGIBLE_WORKERS", "ID", "_T", "_T", period, value)


def _scheduled_2024(clerk, reviewer):
    """Release A, 45.2 million active participants in 2024, scheduled (and precomputed)."""
    derived_definitions_load()
    release = release_create(slug="rilis-a", title_id="A", title_en="A", user=clerk)
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", SECRET_VALUE)])
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)
    return release_schedule(
        release=release, user=reviewer, scheduled_for=timezone.now() + dt.timedelta(hours=1)
    )


def _coverage_2024():
    return Observation.objects.filter(series__indicator__code=COVERAGE, period="2024")


def _assert_caused_by(release, observation):
    assert observation.release_id == release.pk
    assert observation.valid_from == release.published_at


def test_a_derived_value_whose_input_was_revised_after_scheduling_is_never_published_stale(
    catalogue, clerk, reviewer
):
    _published("dasar", [ROW, _eligible("2023", "100000000"), _eligible("2024", "100000000")])
    release = _scheduled_2024(clerk, reviewer)
    precomputed = _coverage_2024().get(release=release)
    assert precomputed.value == Decimal("45.2") and precomputed.valid_from is None
    # Another release revises the other input before A's time; its own confirmation
    # (the task after its commit) finds nothing to compute without A's value.
    revision = _published("revisi", [_eligible("2024", "113000000")])
    assert derived_confirm(release=revision).written == 0

    release_publish(release=release, user=reviewer)

    release.refresh_from_db()
    history = list(_coverage_2024().filter(valid_from__isnull=False))
    # One vintage, right from the start (45.2 million / 113 million), and it is A's.
    assert [(o.value, o.valid_to) for o in history] == [(Decimal("40"), None)]
    _assert_caused_by(release, history[0])
    # The safety net after the commit finds nothing left to correct.
    assert derived_confirm(release=release).written == 0
    assert not Release.objects.filter(slug__startswith="derived-").exists()


def test_a_derived_value_computable_only_since_scheduling_comes_with_the_release(
    catalogue, clerk, reviewer
):
    _published("dasar", [ROW, _eligible("2023", "100000000")])
    release = _scheduled_2024(clerk, reviewer)
    assert not _coverage_2024().exists()  # no eligible workers for 2024 yet: a gap
    revision = _published("susulan", [_eligible("2024", "113000000")])
    assert derived_confirm(release=revision).written == 0

    release_publish(release=release, user=reviewer)

    release.refresh_from_db()
    coverage = _coverage_2024().get()
    assert coverage.value == Decimal("40")
    _assert_caused_by(release, coverage)
    # Every value the release causes carries its instant.
    instants = set(Observation.objects.filter(release=release).values_list("valid_from", flat=True))
    assert instants == {release.published_at}
    assert derived_confirm(release=release).written == 0


def test_precomputed_values_are_kept_when_nothing_was_published_since_scheduling(
    catalogue, clerk, reviewer
):
    _published("dasar", [ROW, _eligible("2023", "100000000"), _eligible("2024", "100000000")])
    release = _scheduled_2024(clerk, reviewer)
    precomputed = set(
        Observation.objects.filter(release=release, provenance__isnull=False).values_list(
            "pk", flat=True
        )
    )
    assert precomputed

    release_publish(release=release, user=reviewer)

    # The rows written at scheduling are the ones published: not computed again.
    published = set(
        Observation.objects.filter(release=release, provenance__isnull=False).values_list(
            "pk", flat=True
        )
    )
    assert published == precomputed
    assert _coverage_2024().get().value == Decimal("45.2")


# --- the catalogue: what only an unpublished release uses is invisible everywhere ---

SECRET_NAMES = ("SECRET_CLAIMS", "Klaim Rahasia", "Secret claims", "Provinsi Rahasia", "ZRH")
SECRET_TEXTS = (*SECRET_NAMES, "Topik Rahasia", "topik-rahasia", "Dokumen Rahasia")
CATALOGUE_URLS = [
    "/api/v1/indicators/",
    "/api/v1/indicators/?format=csv",
    "/api/v1/indicators/?q=rahasia",
    "/api/v1/indicators/ACTIVE_PARTICIPANTS/",
    "/api/v1/codelists/",
    "/api/v1/codelists/?format=csv",
    "/api/v1/codelists/region/",
    "/api/v1/series/",
    "/api/v1/series/?format=csv",
    "/api/v1/observations/?format=csv",
    "/api/v1/observations/?layout=wide&indicator=ACTIVE_PARTICIPANTS",
    "/api/schema/",
    "/id/",
    "/en/",
    "/id/indikator/",
    "/id/indikator/ACTIVE_PARTICIPANTS/",
    "/id/metodologi/",
    "/id/metodologi/kepesertaan/",
    "/id/cari/?q=rahasia",
    "/id/rilis/feed.atom",
    "/id/siaran-pers/siaran-dasar/",
    "/api/v1/news/",
    "/api/v1/news/siaran-dasar/",
    "/id/kalender/",
    "/sitemap.xml",
]


@pytest.fixture
def new_in_scheduled(catalogue, clerk, reviewer, editor):
    """2023 published; scheduled an hour from now: a release with the first values of a
    new indicator (in a new topic, with a target, named by a published news release)
    and of a new province."""
    from stats.models import Code, Indicator, Series, Target, Topic

    earlier = _published("dasar", [ROW])
    topic = Topic.objects.create(code="topik-rahasia", name_id="Topik Rahasia", name_en="Topic")
    indicator = Indicator.objects.create(
        code="SECRET_CLAIMS",
        name_id="Klaim Rahasia",
        name_en="Secret claims",
        unit="cases",
        measure_kind="flow",
        topic=topic,
    )
    indicator.dimensions.set(Indicator.objects.get(code="ACTIVE_PARTICIPANTS").dimensions.all())
    Code.objects.create(codelist_id="region", code="ZRH", name_id="Provinsi Rahasia", name_en="X")
    release = release_create(slug="rilis-baru", title_id="Rilis", title_en="Release", user=clerk)
    import_rows(
        release,
        [
            ("SECRET_CLAIMS", "ID", "_T", "_T", "2024", "123"),
            ("ACTIVE_PARTICIPANTS", "ZRH", "_T", "_T", "2024", "456"),
        ],
    )
    Target.objects.create(
        series=Series.objects.get(indicator=indicator),
        period="2026",
        period_start=dt.date(2026, 1, 1),
        value=1000,
        document="Dokumen Rahasia",
    )
    news = news_release_save(
        news_release=NewsRelease(
            release=earlier, slug="siaran-dasar", title="Peserta", lead="-", body="Peserta."
        ),
        user=editor,
        indicators=Indicator.objects.filter(code__in=["ACTIVE_PARTICIPANTS", "SECRET_CLAIMS"]),
    )
    news_release_publish(news_release=news, user=editor)
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)
    return release_schedule(
        release=release, user=reviewer, scheduled_for=timezone.now() + dt.timedelta(hours=1)
    )


def test_what_only_a_scheduled_release_uses_shows_nowhere_before_its_time(client, new_in_scheduled):
    for url in CATALOGUE_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        body = _text(response)
        assert not [text for text in SECRET_TEXTS if text in body], url
    for url in ("/api/v1/indicators/SECRET_CLAIMS/", "/id/indikator/SECRET_CLAIMS/"):
        assert client.get(url).status_code == 404, url
    assert client.get("/id/metodologi/topik-rahasia/").status_code == 404
    for query in ({"indicator": "SECRET_CLAIMS"}, {"region": "ZRH"}, {"topic": "topik-rahasia"}):
        path = "/api/v1/indicators/" if "topic" in query else "/api/v1/observations/"
        response = client.get(path, query)
        assert response.status_code == 400 and "unknown" in _text(response), query


def test_what_a_release_brings_to_the_catalogue_shows_once_it_is_published(
    client, new_in_scheduled, reviewer
):
    release_publish(release=new_in_scheduled, user=reviewer)
    indicators = client.get("/api/v1/indicators/", {"page_size": 100}).json()["results"]
    assert "SECRET_CLAIMS" in {row["code"] for row in indicators}
    detail = client.get("/api/v1/indicators/SECRET_CLAIMS/").json()
    assert [target["document"] for target in detail["targets"]] == ["Dokumen Rahasia"]
    codes = client.get("/api/v1/codelists/region/").json()["codes"]
    assert "Provinsi Rahasia" in {code["name_id"] for code in codes}
    assert client.get("/api/v1/observations/", {"region": "ZRH"}).status_code == 200
    assert "Topik Rahasia" in _text(client.get("/id/metodologi/"))
    assert client.get("/id/indikator/SECRET_CLAIMS/").status_code == 200
    news = client.get("/api/v1/news/siaran-dasar/").json()
    assert set(news["indicators"]) == {"ACTIVE_PARTICIPANTS", "SECRET_CLAIMS"}
    assert "Klaim Rahasia" in _text(client.get("/id/siaran-pers/siaran-dasar/"))
