"""The public statistics pages: home, indicator, methodology, search, sitemap, robots.

The demo data set is loaded once for the module (inside a transaction rolled back at
the end); every test starts with an empty page cache.
"""

import datetime as dt
import io
import re
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.utils import timezone

from publications.models import NewsRelease, Release
from publications.services import release_create, release_publish
from stats.services import observations_import

EMBARGOED_VALUE = "51234567"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _draft_release(slug: str, rows: str, title_id: str, title_en: str) -> Release:
    release = release_create(slug=slug, title_id=title_id, title_en=title_en)
    header = "indicator,region,segment,program,period,value,status,note,source\n"
    report = observations_import(stream=io.StringIO(header + rows), release=release, commit=True)
    assert report.ok, report.errors
    return release


def _scheduled_release(slug: str, rows: str, **titles):
    """A draft release of ``rows``, scheduled a week from now (its values embargoed)."""
    release = _draft_release(slug, rows, **titles)
    Release.objects.filter(pk=release.pk).update(
        status="scheduled", scheduled_for=timezone.now() + dt.timedelta(days=7)
    )
    return release


@pytest.fixture
def embargoed(demo):
    """A scheduled release (values not yet public) with its news release."""
    release = _scheduled_release(
        "angka-embargo-2025",
        f"ACTIVE_PARTICIPANTS,ID,_T,_T,2025,{EMBARGOED_VALUE},normal,,test\n",
        title_id="Angka rahasia 2025",
        title_en="Secret figures 2025",
    )
    NewsRelease.objects.create(
        release=release,
        slug="berita-embargo",
        title="Berita embargo peserta",
        lead="Tidak boleh tampil.",
        body="Peserta [[ACTIVE_PARTICIPANTS 2025]].",
    )
    return Release.objects.get(pk=release.pk)


def _html(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def test_root_leads_to_the_indonesian_home_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/id/"


def test_home_shows_headline_figures_in_indonesian(client, demo):
    html = _html(client, "/id/")
    assert '<html lang="id">' in html
    assert "45,2 juta" in html  # active participants 2024
    assert "naik 8,8 persen" in html  # on 41.56 million in 2023
    assert "Rp1.001 triliun" in html  # the 2026 funds target
    assert "Target 2026: 70 juta" in html
    assert "64,6 persen dari target tercapai" in html
    assert "naik 2,8 poin persentase" in html  # computed coverage, 41.6 -> 44.4 percent
    assert 'class="sparkline"' in html
    assert 'role="progressbar"' in html


def test_home_in_english_writes_numbers_the_english_way(client, demo):
    html = _html(client, "/en/")
    assert '<html lang="en">' in html
    assert "45.2 million" in html
    assert "up 8.8%" in html
    assert "Rp1,001 trillion" in html
    assert "Headline figures" in html


def test_home_links_each_headline_figure_to_its_indicator(client, demo):
    html = _html(client, "/id/")
    assert 'href="/id/indikator/ACTIVE_PARTICIPANTS/" data-headline="ACTIVE_PARTICIPANTS"' in html


def test_every_page_has_hreflang_links_and_a_switcher_keeping_the_page(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?segment=BPU")
    assert (
        'hreflang="en" href="http://testserver/en/indikator/ACTIVE_PARTICIPANTS/?segment=BPU"'
        in (html)
    )
    assert (
        'hreflang="id" href="http://testserver/id/indikator/ACTIVE_PARTICIPANTS/?segment=BPU"'
        in (html)
    )
    assert 'href="/en/indikator/ACTIVE_PARTICIPANTS/?segment=BPU" hreflang="en"' in html


def test_indicator_page_has_chart_target_and_table_with_the_same_numbers(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert 'role="img"' in html
    assert "<desc id=" in html
    assert 'class="target-line"' in html
    assert "Target 2026: 70 juta" in html
    table = html[html.index('id="data-table"') :]
    table = table[: table.index("</table>")]
    assert re.findall(r'data-value="(\d+)"', table)[:3] == ["45200000", "41560000", "35300000"]
    assert "45.200.000" in table
    assert "17.000.000" in table


def test_indicator_page_in_english_uses_english_formats(client, demo):
    html = _html(client, "/en/indikator/ACTIVE_PARTICIPANTS/")
    assert "Active participants" in html
    assert "45,200,000" in html
    assert "Target 2026: 70 million" in html


def test_indicator_page_shows_the_revision_history(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")
    history = html[html.index('id="revision-table"') :]
    history = history[: history.index("</table>")]
    # 2023 was first published as 40 million (Dec 2023), then revised to 41.56 million.
    assert "40.000.000" in history
    assert "41.560.000" in history
    assert "15 Desember 2023" in history
    assert 'class="superseded"' in history


def test_indicator_page_filters_by_segment_and_keeps_them_in_the_permalink(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?segment=BPU")
    assert "9.900.000" in html  # BPU 2024
    assert "7.600.000" in html  # BPU 2023 from the 2023 release... revised to 9.19 million
    assert (
        "http://testserver/id/indikator/ACTIVE_PARTICIPANTS/"
        "?frequency=A&amp;region=ID&amp;segment=BPU&amp;program=_T"
    ) in html


def test_indicator_page_gives_downloads_api_call_pandas_and_citation(client, demo):
    html = _html(client, "/id/indikator/FUNDS_UNDER_MANAGEMENT/")
    api = (
        "http://testserver/api/v1/observations/?indicator=FUNDS_UNDER_MANAGEMENT"
        "&amp;frequency=A&amp;region=ID&amp;segment=_T&amp;program=_T"
    )
    assert f"GET {api}" in html
    assert f'href="{api}&amp;format=csv"' in html
    assert f'href="{api}&amp;format=json"' in html
    assert f"pd.read_csv(&quot;{api}&amp;format=csv&quot;)" in html
    # Pinned to the release and instant it cites, not to when it was read.
    assert "Dana kelolaan (Indonesia), 2016–2023. angka. Rilis: " in html
    assert "Diakses" not in html


@pytest.mark.parametrize(
    ("language", "svg_label", "png_label"),
    [("id", "Grafik (SVG)", "Grafik (PNG)"), ("en", "Chart (SVG)", "Chart (PNG)")],
)
def test_indicator_page_offers_the_chart_as_svg_and_png_with_the_filters(
    client, demo, language, svg_label, png_label
):
    html = _html(client, f"/{language}/indikator/ACTIVE_PARTICIPANTS/?segment=BPU")
    query = "frequency=A&amp;region=ID&amp;segment=BPU&amp;program=_T"
    base = f"/{language}/indikator/ACTIVE_PARTICIPANTS/grafik"
    assert f'<a href="{base}.svg?{query}" download data-download="svg">{svg_label}</a>' in html
    assert f'<a href="{base}.png?{query}" download data-download="png">{png_label}</a>' in html
    assert client.get(f"{base}.png?{query.replace('&amp;', '&')}").status_code == 200


def test_monthly_frequency_shows_month_names(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?frequency=M")
    assert "Desember 2024" in html
    html = _html(client, "/en/indikator/ACTIVE_PARTICIPANTS/?frequency=M")
    assert "December 2024" in html


def test_indicator_page_breaks_down_by_province_segment_and_program(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")
    assert "Menurut Wilayah, 2024" in html
    assert "Jawa Barat" in html
    assert 'class="tile-map"' in html
    # The tile keeps the page's other choices (segment, program).
    tile = '<a href="?frequency=A&amp;region=32&amp;segment=_T&amp;program=_T"><title>Jawa Barat: '
    assert tile in html
    assert "Menurut Segmen kepesertaan, 2024" in html
    assert "Penerima Upah" in html
    assert "Menurut Program, 2023" in html
    assert "Jaminan Hari Tua" in html


def test_derived_indicator_shows_its_formula_and_inputs(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_COVERAGE_ELIGIBLE/")
    # Each computed value: its exact expression (on hover) and the same in words.
    assert (
        '<span title="41.56 = 41560000 / 100000000 × 100">41,6 persen = 41,6 juta peserta '
        "aktif / 100 juta pekerja yang layak × 100</span>"
    ) in html
    assert "Masukan nilai terbaru" in html
    assert 'href="/id/indikator/ELIGIBLE_WORKERS/"' in html


def test_inputs_link_to_the_indicators_derived_from_them(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")
    assert "Indikator turunan yang dihitung dari indikator ini" in html
    assert 'href="/id/indikator/ACTIVE_COVERAGE_ELIGIBLE/"' in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("frequency=Q", "frequency"),
        ("frequency=", "frequency"),
        ("frequency=AM", "frequency"),
        ("segment=NOPE", "segment"),
        ("region=99", "region"),
        ("region=ID-XX", "region"),
    ],
)
def test_a_bad_filter_gives_400_naming_the_field(client, demo, query, field):
    html = _html(client, f"/id/indikator/ACTIVE_PARTICIPANTS/?{query}", status=400)
    assert f"<code>{field}</code>" in html


def test_an_iso_code_without_data_for_the_indicator_is_named_as_asked(client, demo):
    html = _html(client, "/id/indikator/FUNDS_UNDER_MANAGEMENT/?region=id-jb", status=400)
    assert "<code>region</code>" in html
    assert "id-jb bukan kode yang memiliki data untuk indikator ini" in html


@pytest.mark.parametrize("region", ["ID-JB", "id-jb"])
def test_the_indicator_page_takes_a_province_by_its_iso_code(client, demo, region):
    by_iso = _html(client, f"/id/indikator/ACTIVE_PARTICIPANTS/?region={region}")
    by_bps = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?region=32")
    assert '<option value="32" selected>Jawa Barat</option>' in by_iso
    table = by_bps.split('id="data-table"')[1].split("</table>")[0]
    assert table == by_iso.split('id="data-table"')[1].split("</table>")[0]
    # what it links to names the province by its code, as the rest of the site does
    assert "region=32" in by_iso and f"region={region}" not in by_iso.split("</header>", 1)[1]
    svg = client.get(f"/id/indikator/ACTIVE_PARTICIPANTS/grafik.svg?region={region}")
    assert svg.status_code == 200
    assert (
        svg.content == client.get("/id/indikator/ACTIVE_PARTICIPANTS/grafik.svg?region=32").content
    )


def test_an_unknown_indicator_is_404(client, demo):
    _html(client, "/id/indikator/NOT_AN_INDICATOR/", status=404)


def test_chart_downloads_as_svg(client, demo):
    response = client.get("/en/indikator/ACTIVE_PARTICIPANTS/grafik.svg?segment=BPU")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "active_participants-a.svg" in response["Content-Disposition"]
    assert b"9.9 million" in response.content


def test_indicator_list_groups_by_topic(client, demo):
    html = _html(client, "/en/indikator/")
    assert 'id="topic-kepesertaan"' in html
    assert "Funds under management" in html


def test_methodology_explains_both_coverage_denominators_in_both_languages(client, demo):
    html = _html(client, "/id/metodologi/")
    assert "Pekerja yang layak" in html
    assert "Sakernas" in html
    assert "Kebijakan revisi" in html
    html = _html(client, "/en/metodologi/kepesertaan/")
    assert "Eligible workers" in html
    assert "Release policy" in html
    assert "Coverage of eligible workers" in html


def test_methodology_gives_each_derived_indicator_its_formula_and_methodology(client, demo):
    html = _html(client, "/en/metodologi/dana/")
    # No formula written by staff: the kind's, as the indicator page and the API give it.
    assert "<code>(x[t] / x[t-k] - 1) × 100</code>" in html
    assert "from the monthly, semi-annual and annual financial statements" in html
    html = _html(client, "/id/metodologi/dana/")
    assert "dari laporan keuangan bulanan, semesteran dan tahunan" in html


def test_unknown_methodology_topic_is_404(client, demo):
    _html(client, "/id/metodologi/nope/", status=404)


def test_search_finds_indicators_releases_in_both_languages(client, demo):
    html = _html(client, "/id/cari/?q=peserta")
    assert 'href="/id/indikator/ACTIVE_PARTICIPANTS/"' in html
    html = _html(client, "/en/cari/?q=funds")
    assert 'href="/en/indikator/FUNDS_UNDER_MANAGEMENT/"' in html
    assert 'href="/en/rilis/dana-kelolaan-2021-audit/"' in html


# (page language, query, the first result's link): places, codes and synonyms.
SEARCH_FIRST = [
    ("id", "jawa barat", "/id/indikator/ACTIVE_PARTICIPANTS/?region=32"),
    ("en", "Jawa Barat", "/en/indikator/ACTIVE_PARTICIPANTS/?region=32"),
    ("id", "jabar", "/id/indikator/ACTIVE_PARTICIPANTS/?region=32"),
    ("en", "west java", "/en/indikator/ACTIVE_PARTICIPANTS/?region=32"),
    ("id", "ID-JB", "/id/indikator/ACTIVE_PARTICIPANTS/?region=32"),
    ("en", "32", "/en/indikator/ACTIVE_PARTICIPANTS/?region=32"),
    ("id", "JHT", "/id/indikator/ACTIVE_PARTICIPANTS/?program=JHT"),
    ("en", "jaminan hari tua", "/en/indikator/ACTIVE_PARTICIPANTS/?program=JHT"),
    ("id", "BPU", "/id/indikator/ACTIVE_PARTICIPANTS/?segment=BPU"),
    ("id", "peserta", "/id/indikator/ACTIVE_PARTICIPANTS/"),
    ("en", "participants", "/en/indikator/ACTIVE_PARTICIPANTS/"),
    ("id", "funds under management", "/id/indikator/FUNDS_UNDER_MANAGEMENT/"),
    ("en", "dana kelolaan", "/en/indikator/FUNDS_UNDER_MANAGEMENT/"),
]


@pytest.mark.parametrize(("language", "query", "first"), SEARCH_FIRST)
def test_search_finds_places_codes_and_synonyms_first(client, demo, language, query, first):
    html = _html(client, f"/{language}/cari/?{urlencode({'q': query})}")
    results = html.split('role="status"', 1)[1]
    links = re.findall(r'href="(/(?:id|en)/indikator/[^"]+)"', results)
    assert links[0] == first.replace("&", "&amp;")


def test_a_place_found_names_its_code_list_and_codes(client, demo):
    html = _html(client, "/id/cari/?q=jabar")
    assert "Wilayah dan kategori" in html
    assert "Jawa Barat" in html and "ID-JB" in html
    assert "Indikator yang memiliki data untuk Jawa Barat:" in html
    html = _html(client, "/en/cari/?q=jabar")
    assert "Places and categories" in html
    assert "Indicators with values for Jawa Barat:" in html


def test_search_lists_a_place_it_only_mentions_after_the_indicators(client, demo):
    html = _html(client, "/en/cari/?q=pekerja")
    assert html.index('id="r-indicators"') < html.index('id="r-codes"')
    html = _html(client, "/en/cari/?q=BPU")
    assert html.index('id="r-codes"') < html.index('id="r-indicators"')


def test_search_marks_computed_indicators(client, demo):
    html = _html(client, "/id/cari/?q=dana+kelolaan")
    indicators = html.split('id="r-indicators"')[1].split("</section>")[0]
    assert '<span class="badge">dihitung</span>' in indicators
    assert indicators.index("FUNDS_UNDER_MANAGEMENT/") < indicators.index("dihitung")


def test_search_never_finds_the_reserved_total_code(client, demo):
    html = _html(client, "/en/cari/?q=_T")
    assert 'id="r-codes"' not in html


def test_search_with_too_short_a_query_says_why(client, demo):
    html = _html(client, "/en/cari/?q=a", status=400)
    assert "q: type at least 2 characters" in html


def test_sitemap_lists_pages_in_both_languages(client, demo):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    xml = response.content.decode()
    assert "<loc>http://testserver/id/indikator/ACTIVE_PARTICIPANTS/</loc>" in xml
    assert "<loc>http://testserver/en/indikator/ACTIVE_PARTICIPANTS/</loc>" in xml
    assert 'hreflang="en" href="http://testserver/en/rilis/antara-2023-ikn/"' in xml


def test_robots_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Disallow: /admin/" in text
    assert "Sitemap: http://testserver/sitemap.xml" in text


# --- Embargo: nothing scheduled shows anywhere. ---


def test_embargoed_values_are_not_on_the_indicator_page_or_chart(client, embargoed):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")
    assert "51.234.567" not in html
    assert "51,2 juta" not in html
    assert "2025" not in html.split('id="data-table"')[1].split("</table>")[0]
    svg = client.get("/id/indikator/ACTIVE_PARTICIPANTS/grafik.svg").content.decode()
    assert "51,2 juta" not in svg


def test_embargoed_values_are_not_on_the_home_page(client, embargoed):
    html = _html(client, "/id/")
    assert "45,2 juta" in html
    assert "51,2 juta" not in html
    assert "Berita embargo" not in html
    # The calendar may tell its title and time only.
    assert "Angka rahasia 2025" in html
    assert "angka-embargo-2025" not in html


def test_embargoed_release_is_not_in_search_or_sitemap(client, embargoed):
    html = _html(client, "/id/cari/?q=rahasia")
    assert "angka-embargo-2025" not in html
    assert "0 hasil" in html
    html = _html(client, "/id/cari/?q=embargo")
    assert "berita-embargo" not in html
    xml = client.get("/sitemap.xml").content.decode()
    assert "angka-embargo-2025" not in xml
    assert "berita-embargo" not in xml


def test_embargoed_series_is_not_searchable_as_an_indicator(client, embargoed):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?frequency=A")
    assert EMBARGOED_VALUE not in html


def test_a_code_only_in_an_embargoed_series_is_not_offered_until_published(client, demo):
    """Migrant workers (PMI) have no public ACTIVE_PARTICIPANTS series in the demo."""
    release = _scheduled_release(
        "angka-pmi-2024",
        f"ACTIVE_PARTICIPANTS,ID,PMI,_T,2024,{EMBARGOED_VALUE},normal,,test\n",
        title_id="Angka PMI 2024",
        title_en="PMI figures 2024",
    )
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")
    assert 'value="PMI"' not in html  # not in the segment filter
    assert "segment=PMI" not in html  # nor in the breakdown by segment
    assert "51.234.567" not in html
    _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?segment=PMI", status=400)
    assert client.get("/id/indikator/ACTIVE_PARTICIPANTS/grafik.png?segment=PMI").status_code == 400

    release_publish(release=Release.objects.get(pk=release.pk))
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/")
    assert 'value="PMI"' in html
    assert "segment=PMI" in html
    assert "51.234.567" in _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?segment=PMI")


# --- Caching and query counts. ---


def test_pages_are_cached_until_something_is_published(client, demo):
    first = client.get("/id/")
    assert first["X-Page-Cache"] == "miss"
    second = client.get("/id/")
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content
    release = _draft_release(
        "angka-tahunan-2025",
        "ACTIVE_PARTICIPANTS,ID,_T,_T,2025,50000000,normal,,test\n",
        title_id="Angka tahunan 2025",
        title_en="Annual figures 2025",
    )
    release_publish(release=release)
    third = client.get("/id/")
    assert third["X-Page-Cache"] == "miss"
    html = third.content.decode()
    assert "50 juta" in html
    assert "naik 10,6 persen" in html


def test_cached_pages_stay_per_language(client, demo):
    assert "45,2 juta" in _html(client, "/id/")
    assert "45.2 million" in _html(client, "/en/")
    assert "45,2 juta" in _html(client, "/id/")


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("/id/", 12),
        ("/en/indikator/", 6),
        # The indicator pages: one more for their next release in the calendar, one for
        # the translations of notes and sources (read once per data generation).
        ("/id/indikator/ACTIVE_PARTICIPANTS/", 26),
        ("/id/indikator/ACTIVE_PARTICIPANTS/?frequency=M", 24),
        ("/id/indikator/ACTIVE_COVERAGE_ELIGIBLE/", 26),
        ("/id/metodologi/", 6),
        ("/id/metodologi/kepesertaan/", 10),
        ("/id/cari/?q=peserta", 8),
        ("/id/cari/?q=jawa+barat", 10),
        ("/en/cari/?q=ID", 10),
        # One more than with its BPS code: the catalogue's other names of codes.
        ("/id/indikator/ACTIVE_PARTICIPANTS/?region=ID-JK", 27),
        ("/sitemap.xml", 10),
    ],
)
def test_every_page_runs_a_bounded_number_of_queries(
    client, demo, django_assert_max_num_queries, url, limit
):
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200


def test_a_cached_page_costs_only_the_version_queries(client, demo, django_assert_max_num_queries):
    client.get("/id/indikator/ACTIVE_PARTICIPANTS/")
    with django_assert_max_num_queries(3):
        response = client.get("/id/indikator/ACTIVE_PARTICIPANTS/")
    assert response["X-Page-Cache"] == "hit"


def test_an_unknown_page_says_so_in_the_site_language(client, demo):
    html = _html(client, "/id/tidak-ada/", status=404)
    assert "Halaman tidak ditemukan" in html
    assert "Page not found" in _html(client, "/en/nothing-here/", status=404)


def _selected(html: str) -> dict[str, str]:
    """The value each select of the page's filter form shows: its selected option, else
    its first (what a browser shows)."""
    shown = {}
    for name, body in re.findall(r'<select id="f-[^"]+" name="([^"]+)">(.*?)</select>', html, re.S):
        values = re.findall(r'<option value="([^"]*)"( selected)?', body)
        shown[name] = next((value for value, selected in values if selected), values[0][0])
    return shown


def test_no_indicator_page_opens_empty_and_the_form_shows_what_is_shown(client, demo):
    from stats.selectors import indicators_public

    codes = list(indicators_public().values_list("code", flat=True))
    assert len(codes) >= 20
    for code in codes:
        response = client.get(f"/id/indikator/{code}/")
        html = response.content.decode()
        assert response.status_code == 200, code
        assert "Tidak ada nilai yang diterbitkan" not in html, code
        assert 'id="chart-heading"' in html, code
        # The permalink names the selection; the form shows the same codes.
        permalink = re.search(r'href="(http[^"]*/id/indikator/[^"?]+/\?[^"]+)"', html).group(1)
        query = dict(
            pair.split("=", 1)
            for pair in permalink.split("?", 1)[1].replace("&amp;", "&").split("&")
        )
        assert _selected(html) == query, code


def test_indicators_without_an_all_segments_series_open_on_one_that_has_values(client, demo):
    response = client.get("/id/indikator/BPU_PARTICIPANTS_MULTIPLE_3Y/")
    html = response.content.decode()
    assert 'id="chart-heading"' in html
    assert _selected(html)["segment"] == "BPU"


def test_a_combination_without_values_shows_what_was_asked_and_offers_series_that_have(
    client, demo
):
    response = client.get("/id/indikator/BPU_PARTICIPANTS_MULTIPLE_3Y/?segment=_T")
    html = response.content.decode()
    assert response.status_code == 200
    assert _selected(html)["segment"] == "_T"
    assert "Tidak ada nilai yang diterbitkan untuk kombinasi ini" in html
    offered = re.findall(r'<ul class="alternatives">(.*?)</ul>', html, re.S)[0]
    assert "segment=BPU" in offered


def test_illustrative_values_are_labelled_where_they_are_shown(client, demo):
    html = client.get("/id/indikator/ACTIVE_PARTICIPANTS/").content.decode()
    notice = re.search(r'<div class="notice notice-sources".*?</div>', html, re.S).group(0)
    assert "Sebagian nilai di halaman ini adalah estimasi" in notice
    assert "Ilustratif" in notice
    # The province table and map mark each estimated value.
    assert 'class="status status-estimate">estimasi</span>' in html
    assert 'fill="url(#tiles-hatch)"' in html


def test_a_page_without_estimates_has_no_estimates_notice(client, demo):
    html = client.get("/id/indikator/FUNDS_UNDER_MANAGEMENT/").content.decode()
    assert "notice-sources" not in html


def test_a_computed_value_reads_in_words_and_keeps_its_exact_expression(client, demo):
    html = client.get("/id/indikator/ACTIVE_COVERAGE_ELIGIBLE/").content.decode()
    assert "44,4 persen = 45,2 juta peserta aktif / 101,8 juta pekerja yang layak × 100" in html
    assert 'title="44.4007858546 = 45200000 / 101800000 × 100"' in html
    # Inputs by name, their series by the names of its codes, values in the reader's units.
    assert ">Indonesia, Semua segmen, Semua program</td>" in html
    assert 'title="45200000">45,2 juta</td>' in html
    english = client.get("/en/indikator/ACTIVE_COVERAGE_ELIGIBLE/").content.decode()
    assert "44.4% = 45.2 million active participants" in english


def test_tables_write_large_amounts_in_the_readers_units_with_the_exact_value_on_hover(
    client, demo
):
    html = client.get("/id/indikator/FUNDS_UNDER_MANAGEMENT/").content.decode()
    table = re.search(r'<table class="data-table" id="data-table">.*?</table>', html, re.S).group(0)
    assert 'title="712.300.000.000.000">Rp712,3 triliun</td>' in table
    assert "712.300.000.000.000</td>" not in table


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "/id/indikator/FUNDS_UNDER_MANAGEMENT_YOY/",
            "Untuk 2023: Pertumbuhan dana kelolaan (yoy) 12,9 persen, "
            '<a href="/id/indikator/FUNDS_UNDER_MANAGEMENT_GROWTH/">Pertumbuhan dana kelolaan '
            "(yoy, dihitung)</a> 13,5 persen.",
        ),
        (
            "/id/indikator/FUNDS_UNDER_MANAGEMENT_GROWTH/",
            "Untuk 2023: Pertumbuhan dana kelolaan (yoy, dihitung) 13,5 persen, "
            '<a href="/id/indikator/FUNDS_UNDER_MANAGEMENT_YOY/">Pertumbuhan dana kelolaan '
            "(yoy)</a> 12,9 persen.",
        ),
        (
            "/en/indikator/ACTIVE_COVERAGE_ELIGIBLE/",
            "For 2023: Coverage of eligible workers (computed) 41.6%, "
            '<a href="/en/indikator/COVERAGE_ELIGIBLE/">Coverage of eligible workers</a> 40%.',
        ),
    ],
)
def test_look_alike_indicators_show_both_values_and_why_they_differ_on_both_pages(
    client, demo, url, expected
):
    html = client.get(url).content.decode()
    aside = re.search(r'<aside class="notice lookalike".*?</aside>', html, re.S).group(0)
    assert expected in " ".join(aside.split())
    assert ("pertengahan" in aside) or ("mid-year" in aside)


def test_the_indicator_list_and_search_put_reported_indicators_before_computed_ones(client, demo):
    html = client.get("/id/indikator/").content.decode()
    dana = re.search(r'id="topic-dana".*?</ul>', html, re.S).group(0)
    names = re.findall(r'href="/id/indikator/([A-Z_0-9]+)/"', dana)
    computed = [n for n in names if n.endswith("_GROWTH")]
    assert computed and names.index("FUNDS_UNDER_MANAGEMENT_YOY") < names.index(computed[0])
    assert '<span class="badge">dihitung</span>' in dana
    from stats.selectors import indicators_search

    found = [i.code for i in indicators_search(query="dana kelolaan")]
    first_computed = next(i for i, code in enumerate(found) if code.endswith("_GROWTH"))
    assert "FUNDS_UNDER_MANAGEMENT" in found[:first_computed]
