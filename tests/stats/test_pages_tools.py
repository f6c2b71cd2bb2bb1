"""The reader's tools of the indicator page, all in the query string (no script): the
time range, several provinces on one chart, the tile map's key with its class bounds and
the indicator's next release from the calendar."""

import io
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from openpyxl import load_workbook

from stats.charts import ChartPoint, line_chart, tile_classes, tile_levels

PAGE = "/{language}/indikator/ACTIVE_PARTICIPANTS/"
THREE = "region=32&region=ID-JT&region=35"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _html(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def _table_periods(html: str, table_id: str) -> list[str]:
    table = re.search(rf'id="{table_id}".*?</table>', html, re.S).group(0)
    return re.findall(r'<tr[^>]*>\s*<th scope="row">([^<]+)</th>', table)


# --- Time range ---


@pytest.mark.parametrize(
    ("language", "labels"),
    [
        ("id", ["1 tahun", "5 tahun", "10 tahun", "Semua"]),
        ("en", ["1 year", "5 years", "10 years", "All"]),
    ],
)
def test_the_time_range_choices_are_links_in_the_pages_language(client, demo, language, labels):
    html = _html(client, PAGE.format(language=language) + "?range=5y")
    nav = re.search(r'<nav class="range-choice".*?</nav>', html, re.S).group(0)
    assert re.findall(r'<a href="[^"]+"(?: aria-current="true")?>([^<]+)</a>', nav) == labels
    assert re.search(r'range=5y" aria-current="true">', nav)
    # "All" is the default: its link has no range at all.
    assert re.search(
        rf'<a href="\?frequency=A&amp;region=ID&amp;segment=_T&amp;program=_T">{labels[3]}</a>', nav
    )


def test_a_time_range_shows_only_its_years_in_the_table_chart_and_downloads(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?range=5y")
    assert _table_periods(html, "data-table") == ["2024", "2023", "2022", "2021", "2020"]
    whole = _table_periods(_html(client, "/id/indikator/ACTIVE_PARTICIPANTS/"), "data-table")
    assert "2014" in whole and len(whole) > 5
    # The downloads, the embed and the API call name the same range.
    assert "grafik.svg?frequency=A&amp;region=ID&amp;segment=_T&amp;program=_T&amp;range=5y" in html
    assert "period_start=2020" in html
    svg = client.get("/id/indikator/ACTIVE_PARTICIPANTS/grafik.svg?range=1y").content.decode()
    assert ">2024</text>" in svg and ">2023</text>" not in svg


def test_the_xlsx_download_holds_the_chosen_range(client, demo):
    response = client.get("/id/indikator/ACTIVE_PARTICIPANTS/data.xlsx?range=5y")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True)["data"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    period = rows[0].index("period")
    assert [row[period] for row in rows[1:]] == ["2020", "2021", "2022", "2023", "2024"]


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("id", "2y bukan rentang waktu; gunakan salah satu dari 1y, 5y, 10y, all"),
        ("en", "2y is not a time range; use one of 1y, 5y, 10y, all"),
    ],
)
def test_a_bad_time_range_is_a_400_that_says_why(client, demo, language, message):
    html = _html(client, PAGE.format(language=language) + "?range=2y", status=400)
    assert "<code>range</code>: " + message in html
    download = client.get(PAGE.format(language=language) + "grafik.svg?range=2y")
    assert download.status_code == 400
    assert message in download.content.decode()


# --- Several provinces on one chart ---


def test_three_provinces_are_three_numbered_lines_with_their_names_in_the_key(client, demo):
    html = _html(client, f"/id/indikator/ACTIVE_PARTICIPANTS/?{THREE}&range=5y")
    chart = re.search(r'<div class="chart-wide">(.*?)</div>', html, re.S).group(1)
    for number, name, colour in [
        (1, "Jawa Barat", "#0b5394"),
        (2, "Jawa Tengah", "#b35900"),
        (3, "Jawa Timur", "#2e7d32"),
    ]:
        assert f'class="line-key">{number} {name}</text>' in chart
        assert f'stroke="{colour}" stroke-width="2.5"' in chart
    assert chart.count('class="line-number"') == 3
    assert "<title>Jawa Tengah, 2024: 5,4 juta (estimasi)</title>" in chart
    # The ISO code (ID-JT) is read as the BPS code it names, and links keep the three.
    assert "grafik.svg?frequency=A&amp;region=32&amp;region=33&amp;region=35&amp;" in html
    assert "region=32%2C33%2C35" in html  # the API's comma list
    table = re.search(r'id="comparison-table".*?</table>', html, re.S).group(0)
    assert '<th scope="col" class="num">2 Jawa Tengah</th>' in table
    assert '<span title="5.414.506">5,4 juta</span>' in table
    assert _table_periods(html, "comparison-table")[0] == "2024"


def test_the_compared_provinces_are_named_in_english_on_the_english_page(client, demo):
    html = _html(client, "/en/indikator/ACTIVE_PARTICIPANTS/?region=ID&region=32")
    assert 'class="line-key">1 Indonesia</text>' in html
    assert "<title>Jawa Barat, 2024: 7.9 million (estimate)</title>" in html
    assert "Compared on the same axes: Indonesia, Jawa Barat." in html
    assert 'remove<span class="visually-hidden"> Jawa Barat</span>' in html


def test_the_embedded_chart_and_the_svg_download_draw_the_compared_provinces(client, demo):
    for path in ("embed/", "grafik.svg"):
        body = client.get(f"/en/indikator/ACTIVE_PARTICIPANTS/{path}?{THREE}").content.decode()
        assert 'class="line-key">2 Jawa Tengah</text>' in body
        assert body.count('class="line-number"') == 3


def test_each_province_line_can_be_taken_off_the_chart(client, demo):
    html = _html(client, f"/id/indikator/ACTIVE_PARTICIPANTS/?{THREE}")
    assert (
        '<a href="?frequency=A&amp;region=32&amp;region=35&amp;segment=_T&amp;program=_T" '
        'class="line-remove">hapus<span class="visually-hidden"> Jawa Tengah</span></a>'
    ) in html


def test_the_province_table_adds_a_province_to_the_chart(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?region=32")
    assert (
        '<a href="?frequency=A&amp;region=32&amp;region=11&amp;segment=_T&amp;program=_T" '
        'class="compare-link">+ bandingkan<span class="visually-hidden">: tambahkan Aceh ke '
        "grafik</span></a>"
    ) in html
    # Jawa Barat is on the chart already: no link adds it again.
    assert "tambahkan Jawa Barat ke grafik" not in html


def test_more_provinces_than_fit_are_left_off_with_a_message(client, demo):
    regions = "&".join(
        f"region={code}" for code in ["31", "32", "33", "34", "35", "36", "51", "52"]
    )
    html = _html(client, f"/id/indikator/ACTIVE_PARTICIPANTS/?{regions}")
    assert (
        "Paling banyak 6 provinsi dalam satu grafik; tidak ditampilkan: Bali, Nusa Tenggara Barat."
        in html
    )
    assert html.count('class="line-number"') == 12  # six lines, in the wide and narrow charts
    assert 'class="compare-link"' not in html  # the chart is full
    html = _html(client, f"/en/indikator/ACTIVE_PARTICIPANTS/?{regions}")
    assert "At most 6 provinces fit on one chart; left off: Bali, Nusa Tenggara Barat." in html


@pytest.mark.parametrize(
    ("query", "field"),
    [("region=32&region=XX", "region"), ("region=32&segment=PU&segment=BPU", "segment")],
)
def test_a_bad_province_or_a_repeated_code_is_a_400_naming_the_field(client, demo, query, field):
    html = _html(client, f"/id/indikator/ACTIVE_PARTICIPANTS/?{query}", status=400)
    assert f"<code>{field}</code>: " in html


def test_the_page_with_a_range_and_three_provinces_runs_a_bounded_number_of_queries(
    client, demo, django_assert_max_num_queries
):
    # As many as the page with one series, one for the compared ones' values, and one for
    # the catalogue's other names of codes (ID-JT, an ISO code).
    with django_assert_max_num_queries(28):
        response = client.get(f"/id/indikator/ACTIVE_PARTICIPANTS/?{THREE}&range=5y")
    assert response.status_code == 200


def test_a_compared_chart_draws_every_line_on_one_axis():
    first = [ChartPoint("2022", Decimal(10)), ChartPoint("2023", Decimal(20))]
    second = [ChartPoint("2022", Decimal(40)), ChartPoint("2023", Decimal(50), "provisional")]
    svg = str(
        line_chart(
            first,
            unit="persons",
            language="en",
            title="t",
            description="d",
            name="A",
            compared=[("B", second)],
        )
    )
    assert 'class="line-key">1 A</text>' in svg and 'class="line-key">2 B</text>' in svg
    assert '<circle cx="696.0" cy="' in svg  # B's 2023 at the right edge
    assert 'stroke="#b35900" stroke-width="2" class="mark-provisional"><title>B, 2023: 50' in svg


# --- The tile map's key ---


def test_tile_classes_give_each_class_its_bounds_and_ties_share_a_class():
    values = [Decimal(v) for v in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)]
    assert [(c.level, c.low, c.high, c.count) for c in tile_classes(values)] == [
        (0, 1, 2, 2),
        (1, 3, 4, 2),
        (2, 5, 6, 2),
        (3, 7, 8, 2),
        (4, 9, 10, 2),
    ]
    assert tile_levels([Decimal(5), Decimal(5), Decimal(1)]) == [1, 1, 0]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "id",
            [
                "Keterangan (orang)",
                '74.171 – 178.011 <span class="muted">(9 provinsi)</span>',
                "712.045 – 1,3 juta",
                '1,4 juta – 7,9 juta <span class="muted">(7 provinsi)</span>',
                "* estimasi</li>",
            ],
        ),
        (
            "en",
            [
                "Legend (people)",
                '74,171 – 178,011 <span class="muted">(9 provinces)</span>',
                "712,045 – 1.3 million",
                '1.4 million – 7.9 million <span class="muted">(7 provinces)</span>',
                "* estimate</li>",
            ],
        ),
    ],
)
def test_the_tile_map_has_a_key_with_class_bounds_and_status_marks(
    client, demo, language, expected
):
    html = _html(client, PAGE.format(language=language))
    legend = re.search(r'<figcaption class="map-legend">.*?</figcaption>', html, re.S).group(0)
    for text in expected:
        assert text in legend
    assert legend.count('class="swatch swatch-') == 6  # five classes and the hatching


# --- Next release ---


@pytest.mark.parametrize(
    ("language", "pattern"),
    [
        (
            "id",
            r'Rilis berikutnya: <time datetime="[^"]+\+07:00">\d{1,2} [A-Z][a-z]+ \d{4}, '
            r'\d\d\.\d\d WIB</time> · <a href="/id/kalender/'
            r'#release-\d+">'
            r"Ilustrasi: angka sementara 2025</a>",
        ),
        (
            "en",
            r'Next release: <time datetime="[^"]+\+07:00">\d{1,2} [A-Z][a-z]+ \d{4}, '
            r'\d\d:\d\d WIB</time> · <a href="/en/kalender/'
            r'#release-\d+">'
            r"Illustrative: provisional figures 2025</a>",
        ),
    ],
)
def test_the_next_release_shows_its_time_in_wib_and_links_to_the_calendar(
    client, demo, language, pattern
):
    html = _html(client, PAGE.format(language=language))
    assert re.search(pattern, html), re.search(r'<p class="next-release">.*?</p>', html, re.S)
    anchor = re.search(r'kalender/#(release-\d+)"', html).group(1)
    calendar = _html(client, f"/{language}/kalender/")
    entry = re.search(rf'<tr id="{anchor}">.*?</tr>', calendar, re.S).group(0)
    assert ("Ilustrasi: angka sementara 2025" if language == "id" else "Illustrative") in entry


def test_an_indicator_with_nothing_scheduled_shows_no_next_release(client, demo):
    html = _html(client, "/id/indikator/FUNDS_UNDER_MANAGEMENT/")
    assert 'class="next-release"' not in html
    assert "Rilis berikutnya" not in html


def test_a_page_as_of_a_past_instant_shows_no_next_release(client, demo):
    html = _html(client, "/id/indikator/ACTIVE_PARTICIPANTS/?as_of=2025-01-01")
    assert 'class="next-release"' not in html
