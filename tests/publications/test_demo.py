"""The demo's releases and news releases: the load_demo command loads idempotently, and
each news release is published with its release and cites figures that exist."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from publications.models import NewsRelease, Release
from publications.news_markup import FIGURE_PATTERN
from stats.models import Code, Indicator, Observation, Series, Target

WIB = ZoneInfo("Asia/Jakarta")
SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "observations.csv"


def counts():
    return (
        Observation.objects.count(),
        Series.objects.count(),
        Release.objects.count(),
        Target.objects.count(),
        Code.objects.count(),
        Indicator.objects.count(),
    )


def test_loading_the_demo_twice_duplicates_nothing(db, capsys):
    call_command("load_demo", "--with-staff")
    first = counts()
    call_command("load_demo", "--with-staff")
    assert counts() == first
    output = capsys.readouterr().out
    assert "0 release(s) published now" in output and "password unchanged" in output


def test_demo_news_releases_are_published_with_their_release_and_cite_real_figures(demo):
    news = NewsRelease.objects.select_related("release").order_by("slug")
    assert {n.language for n in news} == {"id", "en"}
    for item in news:
        assert item.published_at == item.release.published_at
        cited = list(FIGURE_PATTERN.finditer(item.body))
        assert cited, item.slug
        for match in cited:
            codes = {"region": "ID", "segment": "_T", "program": "_T"}
            codes.update(dict(pair.split("=") for pair in match["codes"].split()))
            key = ",".join(f"{k}={codes[k]}" for k in ("region", "segment", "program"))
            assert (
                Observation.objects.published()
                .filter(
                    series__indicator__code=match["indicator"],
                    series__key=key,
                    period=match["period"],
                )
                .exists()
            ), match.group(0)


def test_demo_has_a_scheduled_release_two_weeks_ahead_with_its_values_embargoed(demo, client):
    from publications.demo.loader import UPCOMING_SLUG

    release = Release.objects.get(slug=UPCOMING_SLUG)
    assert release.status == "scheduled"
    assert release.approved_by_id is not None and release.submitted_by_id is not None
    assert release.approved_by_id != release.submitted_by_id
    local = timezone.localtime(release.scheduled_for, WIB)
    assert local.date() == timezone.localdate(timezone.now(), WIB) + dt.timedelta(days=14)
    assert (local.hour, local.minute) == (10, 0)
    assert Observation.objects.filter(release=release).exists()
    assert not Observation.objects.published().filter(release=release).exists()
    calendar = client.get("/id/kalender/").content.decode()
    assert "Ilustrasi: angka sementara 2025" in calendar
    page = client.get("/id/indikator/ACTIVE_PARTICIPANTS/").content.decode()
    assert 'data-period="2024"' in page and 'data-period="2025"' not in page


def test_demo_has_a_published_correction_and_a_draft_for_the_sample_import(demo):
    from publications.demo.loader import DRAFT_SLUG
    from stats.services import observations_import

    correction = Release.objects.get(slug="ilustrasi-koreksi-provinsi")
    assert correction.status == "published"
    assert correction.corrects.slug == "ilustrasi-bulanan-provinsi"
    assert correction.correction_reason
    draft = Release.objects.get(slug=DRAFT_SLUG)
    assert draft.status == "draft"
    with SAMPLE.open(encoding="utf-8", newline="") as sample:
        report = observations_import(stream=sample, release=draft, commit=False)
    assert report.ok, report.errors
    assert not Observation.objects.filter(release=draft).exists()  # a dry run writes nothing


def test_the_admin_import_page_links_the_sample_csv(demo, staff_client):
    html = staff_client.get(reverse("admin:stats_observation_import")).content.decode()
    assert 'href="/static/samples/observations.csv"' in html
