"""Public pages of releases, news releases, the calendar and the feeds (with the embargo)."""

import datetime as dt
import io
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.utils import timezone

from publications.models import NewsRelease, Release
from publications.services import release_create
from stats.models import Indicator
from stats.services import observations_import

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def news(demo):
    """A news release of the 2023 release, citing figures, one revised since."""
    release = Release.objects.get(slug="antara-2023-ikn")
    news_release = NewsRelease.objects.create(
        release=release,
        slug="peserta-2023",
        language="id",
        title="Peserta aktif capai 40 juta",
        lead="Peserta aktif bertambah.",
        body=(
            "## Ringkasan\n\n"
            "Peserta aktif pada 2023 mencapai [[ACTIVE_PARTICIPANTS 2023]]; "
            "peserta BPU [[ACTIVE_PARTICIPANTS 2023 segment=BPU]]. "
            "Dana kelolaan [[FUNDS_UNDER_MANAGEMENT 2023]].\n\n"
            "Rujukan salah: [[NOT_AN_INDICATOR 2023]].\n\n"
            '<script>alert("x")</script>\n\n'
            '<p onclick="steal()">Paragraf</p>\n\n'
            "[tautan](javascript:alert(1)) dan [sumber](https://example.org/rilis)\n\n"
            "<style>body{display:none}</style>\n"
        ),
        published_at=release.published_at,
    )
    news_release.indicators.set(Indicator.objects.filter(code="ACTIVE_PARTICIPANTS"))
    return news_release


@pytest.fixture
def scheduled(demo):
    """A scheduled release with a value and a news release, both under embargo."""
    release = release_create(
        slug="rilis-terjadwal", title_id="Rilis terjadwal 2025", title_en="Scheduled release 2025"
    )
    rows = (
        "indicator,region,segment,program,period,value,status,note,source\n"
        "ACTIVE_PARTICIPANTS,ID,_T,_T,2025,51234567,normal,,test\n"
    )
    assert observations_import(stream=io.StringIO(rows), release=release, commit=True).ok
    when = timezone.now() + dt.timedelta(days=3)
    Release.objects.filter(pk=release.pk).update(status="scheduled", scheduled_for=when)
    NewsRelease.objects.create(
        release=release,
        slug="siaran-embargo",
        title="Siaran embargo",
        lead="Rahasia.",
        body="Isi rahasia.",
    )
    return Release.objects.get(pk=release.pk)


def _html(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def test_release_list_shows_published_releases_newest_first(client, demo):
    html = _html(client, "/id/rilis/")
    assert html.index("Ilustrasi: seri bulanan dan provinsi") < html.index("Angka tahunan 2014")
    html = _html(client, "/en/rilis/")
    assert "Annual figures 2014" in html


def test_release_list_refuses_a_bad_page_number(client, demo):
    html = _html(client, "/id/rilis/?page=abc", status=400)
    assert "page: gunakan bilangan bulat mulai 1" in html
    _html(client, "/id/rilis/?page=99", status=404)


def test_release_detail_lists_what_it_published(client, demo):
    html = _html(client, "/id/rilis/antara-2023-ikn/")
    assert "Rilis BPJAMSOSTEK 2023: peletakan batu pertama gedung di IKN" in html
    assert "686.000.000.000.000" in html
    assert "7.600.000" in html
    # Its 2023 membership was revised by the annual figures later.
    assert "direvisi kemudian" in html


def test_release_detail_shows_revisions_with_the_value_replaced(client, demo):
    html = _html(client, "/id/rilis/dana-kelolaan-2021-audit/")
    section = html[html.index('id="revisions-heading"') :]
    assert "553.500.000.000.000" in section  # the unaudited value it replaced
    assert "554.210.000.000.000" in section
    assert 'href="/id/rilis/angka-tahunan-2021/"' in section


def test_release_detail_shows_derived_values_with_their_formula(client, demo):
    html = _html(client, "/en/rilis/angka-tahunan-2023/")
    assert "Derived values" in html
    assert "41.56 = 41560000 / 100000000 × 100" in html


def test_release_detail_links_its_news_release(client, news):
    html = _html(client, "/id/rilis/antara-2023-ikn/")
    assert 'href="/id/siaran-pers/peserta-2023/"' in html


def test_indicator_page_lists_the_news_releases_on_that_indicator_only(client, news):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")
    section = html[html.index('id="news-heading"') :]
    assert 'href="/id/siaran-pers/peserta-2023/"' in section
    assert "Peserta aktif capai 40 juta" in section
    other = _html(client, "/id/indikator/FUNDS_UNDER_MANAGEMENT/")
    assert "/id/siaran-pers/peserta-2023/" not in other


def test_news_detail_renders_markdown_without_scripts_or_handlers(client, news):
    html = _html(client, "/id/siaran-pers/peserta-2023/")
    body = html[html.index('<div class="prose">') :]
    body = body[: body.index("</article>")]
    assert "<h2>Ringkasan</h2>" in body
    assert "<script" not in body
    assert "alert" not in body
    assert "onclick" not in body
    assert "<style" not in body
    assert "javascript:" not in body
    assert 'href="https://example.org/rilis"' in body


def test_news_detail_shows_figures_as_published_linked_to_their_indicator(client, news):
    html = _html(client, "/id/siaran-pers/peserta-2023/")
    assert (
        '<a class="figure figure-revised" href="/id/indikator/ACTIVE_PARTICIPANTS/'
        '?frequency=A&amp;region=ID&amp;segment=_T&amp;program=_T"'
    ) in html
    assert ">40 juta</a>" in html  # as published, not the 41,6 juta of today
    assert ">7,6 juta</a>" in html  # BPU as published, revised to 9,2 juta since
    assert "(angka tidak tersedia)" in html


def test_news_detail_puts_the_revision_notice_after_the_paragraph(client, news):
    html = _html(client, "/id/siaran-pers/peserta-2023/")
    paragraph_end = html.index("</p>", html.index(">7,6 juta</a>"))
    notice = html.index('<div class="revision-notes" role="note">')
    assert notice == paragraph_end + len("</p>")
    assert '<strong class="revision-label">Direvisi</strong>: nilai kini' in html
    assert '>41,6 juta</a> (rilis <a href="/id/rilis/angka-tahunan-2023/">' in html
    english = _html(client, "/en/siaran-pers/peserta-2023/")
    # An Indonesian-only text keeps its words and notices in Indonesian on the English page.
    assert "no English translation" in english
    assert '>41,6 juta</a> (rilis <a href="/en/rilis/angka-tahunan-2023/">' in english


def test_news_list_filters_by_topic_and_year(client, news):
    html = _html(client, "/id/siaran-pers/?topic=kepesertaan&year=2023")
    assert "Peserta aktif capai 40 juta" in html
    html = _html(client, "/id/siaran-pers/?topic=layanan")
    assert "Peserta aktif capai 40 juta" not in html
    html = _html(client, "/id/siaran-pers/?year=2020")
    assert "Peserta aktif capai 40 juta" not in html


@pytest.mark.parametrize(
    ("query", "message"),
    [("year=20x3", "year: gunakan tahun empat angka"), ("topic=nope", "topic: nope bukan topik")],
)
def test_news_list_bad_filter_gives_400_with_the_reason(client, demo, query, message):
    html = _html(client, f"/id/siaran-pers/?{query}", status=400)
    assert message in html


def test_calendar_lists_upcoming_by_title_and_time_only(client, scheduled):
    html = _html(client, "/id/kalender/")
    upcoming = html[html.index('id="upcoming"') : html.index('id="past"')]
    assert "Rilis terjadwal 2025" in upcoming
    assert "WIB" in upcoming
    assert "rilis-terjadwal" not in html
    assert "Angka tahunan 2024" in html[html.index('id="past"') :]
    english = _html(client, "/en/kalender/")
    assert "Scheduled release 2025" in english


def test_icalendar_feed_has_an_event_per_release(client, scheduled):
    response = client.get("/en/kalender/rilis.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert f"UID:release-{scheduled.pk}@testserver" in text
    start = scheduled.scheduled_for.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTART:{start}" in text
    assert "SUMMARY:Scheduled release 2025" in text
    assert "SUMMARY:Annual figures 2024" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_release_feed_is_atom_with_published_releases(client, scheduled):
    response = client.get("/id/rilis/feed.atom")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    titles = [entry.find(f"{ATOM}title").text for entry in root.iter(f"{ATOM}entry")]
    assert "Angka tahunan 2024" in titles
    assert "Rilis terjadwal 2025" not in titles


def test_news_feed_is_atom_with_published_news(client, news, scheduled):
    root = ET.fromstring(client.get("/id/siaran-pers/feed.atom").content)
    titles = [entry.find(f"{ATOM}title").text for entry in root.iter(f"{ATOM}entry")]
    assert "Peserta aktif capai 40 juta" in titles
    assert "Siaran embargo" not in titles


def test_scheduled_release_and_its_news_are_invisible(client, scheduled):
    _html(client, "/id/rilis/rilis-terjadwal/", status=404)
    _html(client, "/id/siaran-pers/siaran-embargo/", status=404)
    assert "Siaran embargo" not in _html(client, "/id/siaran-pers/")
    assert "Rilis terjadwal 2025" not in _html(client, "/id/rilis/")
    assert "51.234.567" not in _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("/id/rilis/", 6),
        ("/id/rilis/antara-2023-ikn/", 10),
        ("/id/siaran-pers/", 8),
        ("/id/siaran-pers/peserta-2023/", 12),
        ("/id/kalender/", 6),
        ("/id/kalender/rilis.ics", 6),
        ("/id/rilis/feed.atom", 6),
        ("/id/siaran-pers/feed.atom", 6),
    ],
)
def test_every_page_runs_a_bounded_number_of_queries(
    client, news, scheduled, django_assert_max_num_queries, url, limit
):
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200


def test_release_detail_names_series_by_their_codes_and_reads_its_computed_values(client, demo):
    html = _html(client, "/id/rilis/angka-tahunan-2023/")
    assert "region=ID,segment=_T,program=_T</code>" not in html
    assert 'title="region=ID,segment=_T,program=_T">Indonesia, Semua segmen, Semua program<' in html
    assert (
        '<span title="41.56 = 41560000 / 100000000 × 100">41,6 persen = 41,6 juta peserta '
        "aktif / 100 juta pekerja yang layak × 100</span>"
    ) in html
    assert 'title="452.190.000.000.000">Rp452,2 triliun</td>' in html
