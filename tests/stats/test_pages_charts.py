"""Server-side charts: SVG axes cover the data and the target, texts are escaped; the PNG
download is the same SVG rasterised, honours the filters, is cached and hides embargoed data."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from publications.models import Release
from publications.services import release_create, release_publish
from stats import charts
from stats.charts import PROVINCE_TILES, ChartPoint, line_chart, nice_ticks, sparkline, tile_map
from stats.services import observations_import


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 70_000_000, [0, 20_000_000, 40_000_000, 60_000_000, 80_000_000]),
        (0, 45.2, [0, 20, 40, 60]),
        (0, 1, [0, 0.25, 0.5, 0.75, 1]),
    ],
)
def test_nice_ticks_cover_the_range_with_round_steps(low, high, expected):
    assert nice_ticks(low, high) == expected


def _points():
    return [ChartPoint("2022", Decimal(35_300_000)), ChartPoint("2024", Decimal(45_200_000))]


def test_line_chart_has_text_alternative_and_the_target():
    svg = str(
        line_chart(
            _points(),
            unit="persons",
            language="id",
            title="Peserta aktif <b>",
            description="Grafik garis",
            target=ChartPoint("2026", Decimal(70_000_000)),
        )
    )
    assert 'role="img"' in svg
    assert '<title id="chart-title">Peserta aktif &lt;b&gt;</title>' in svg
    assert '<desc id="chart-desc">Grafik garis</desc>' in svg
    assert 'class="target-line"' in svg
    assert "Target 2026: 70 juta" in svg
    assert ">2026</text>" in svg  # the axis runs to the target's period
    assert ">45,2 juta</text>" in svg


def test_line_chart_without_values_still_renders():
    svg = str(line_chart([], unit="persons", language="en", title="t", description="d"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_sparkline_needs_two_values():
    assert str(sparkline([Decimal(1)])) == ""
    assert 'aria-hidden="true"' in str(sparkline([Decimal(1), Decimal(2)]))


def test_tile_map_draws_every_province_as_a_link():
    tiles = [
        (code, code, f"Provinsi {code}", Decimal(int(code)), f"?region={code}", "normal")
        for code in PROVINCE_TILES
    ]
    svg = str(tile_map(tiles, unit="persons", language="id", title="t", description="d"))
    assert len(PROVINCE_TILES) == 38
    assert svg.count("<a href=") == 38
    assert "<title>Provinsi 32: 32</title>" in svg
    # A group, not an image: an image's content (the links) is hidden from screen readers.
    assert 'role="group" aria-labelledby="tiles-title tiles-desc"' in svg


# --- PNG: the same SVG rasterised on the server. ---

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (the first chunk, right after the signature)."""
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _chart_svg() -> str:
    return str(
        line_chart(
            _points(),
            unit="persons",
            language="id",
            title="Peserta aktif",
            description="Grafik garis",
            target=ChartPoint("2026", Decimal(70_000_000)),
        )
    )


def test_png_is_the_svg_at_twice_its_size():
    png = charts.png(_chart_svg())
    assert _png_size(png) == (720 * charts.PNG_ZOOM, 320 * charts.PNG_ZOOM)
    assert _png_size(charts.png(_chart_svg(), zoom=1)) == (720, 320)


def test_png_draws_the_texts_of_the_chart():
    svg = _chart_svg()
    without_texts = re.sub(r"<text\b.*?</text>", "", svg)
    assert without_texts != svg
    # With no font found, resvg would drop the texts and both pictures would be the same.
    assert charts.png(svg) != charts.png(without_texts)


@pytest.fixture
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.usefixtures("_empty_cache")
def test_chart_downloads_as_png_of_the_same_svg(client, demo):
    url = "/en/indikator/ACTIVE_PARTICIPANTS/grafik"
    response = client.get(f"{url}.png?segment=BPU")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert 'filename="active_participants-a.png"' in response["Content-Disposition"]
    svg = client.get(f"{url}.svg?segment=BPU").content.decode()
    # The chart and, below it, what the download is (title, source, licence, date, link).
    height = int(re.search(r'viewBox="0 0 720 (\d+)"', svg).group(1))
    assert height > 320
    assert _png_size(response.content) == (1440, 2 * height)
    assert "9.9 million" in svg
    assert response.content == charts.png(svg)
    # Another selection is another picture.
    assert client.get(f"{url}.png?segment=PU").content != response.content


@pytest.mark.usefixtures("_empty_cache")
def test_png_follows_the_language_and_frequency(client, demo):
    indonesian = client.get("/id/indikator/ACTIVE_PARTICIPANTS/grafik.png?frequency=M")
    english = client.get("/en/indikator/ACTIVE_PARTICIPANTS/grafik.png?frequency=M")
    assert indonesian.status_code == english.status_code == 200
    assert 'filename="active_participants-m.png"' in english["Content-Disposition"]
    assert indonesian.content != english.content
    svg = client.get("/id/indikator/ACTIVE_PARTICIPANTS/grafik.svg?frequency=M").content
    assert indonesian.content == charts.png(svg.decode())


@pytest.mark.usefixtures("_empty_cache")
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("frequency=Q", "frequency"),
        ("frequency=", "frequency"),
        ("segment=NOPE", "segment"),
        ("region=99", "region"),
        ("program=%3Cscript%3E", "program"),
    ],
)
def test_png_with_a_bad_filter_is_a_400_naming_the_field(client, demo, query, field):
    response = client.get(f"/id/indikator/ACTIVE_PARTICIPANTS/grafik.png?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith(f"{field}: ")


@pytest.mark.usefixtures("_empty_cache")
def test_png_of_an_unknown_indicator_is_404(client, demo):
    assert client.get("/id/indikator/NOT_AN_INDICATOR/grafik.png").status_code == 404


@pytest.mark.usefixtures("_empty_cache")
def test_png_is_cached_and_costs_bounded_queries(client, demo, django_assert_max_num_queries):
    url = "/id/indikator/ACTIVE_PARTICIPANTS/grafik.png"
    # With the translations of sources, read once per data generation (stats.texts).
    with django_assert_max_num_queries(11):
        first = client.get(url)
    assert first["X-Page-Cache"] == "miss"
    with django_assert_max_num_queries(3):
        second = client.get(url)
    assert second["X-Page-Cache"] == "hit"
    assert second["Content-Type"] == "image/png"
    assert second["Content-Disposition"] == first["Content-Disposition"]
    assert second.content == first.content


def _release_with(slug: str, value: str) -> Release:
    release = release_create(slug=slug, title_id=f"Rilis {slug}", title_en=f"Release {slug}")
    header = "indicator,region,segment,program,period,value,status,note,source\n"
    row = f"ACTIVE_PARTICIPANTS,ID,_T,_T,2025,{value},normal,,test\n"
    report = observations_import(stream=io.StringIO(header + row), release=release, commit=True)
    assert report.ok, report.errors
    return release


@pytest.mark.usefixtures("_empty_cache")
def test_png_leaves_out_embargoed_values_until_they_are_published(client, demo):
    url = "/id/indikator/ACTIVE_PARTICIPANTS/grafik"
    published_png = client.get(f"{url}.png").content
    published_svg = client.get(f"{url}.svg").content
    release = _release_with("angka-embargo-png-2025", "51234567")
    Release.objects.filter(pk=release.pk).update(
        status="scheduled", scheduled_for=timezone.now() + dt.timedelta(days=7)
    )
    cache.clear()
    embargoed_svg = client.get(f"{url}.svg").content
    assert b"51,2 juta" not in embargoed_svg
    assert embargoed_svg == published_svg
    # Byte for byte the picture of the published data: no pixel of the scheduled value.
    assert client.get(f"{url}.png").content == published_png
    release_publish(release=Release.objects.get(pk=release.pk))
    after = client.get(f"{url}.png")
    assert after["X-Page-Cache"] == "miss"
    assert after.content != published_png
    assert b"51,2 juta" in client.get(f"{url}.svg").content


def _marks(svg: str) -> dict[str, int]:
    statuses = ("provisional", "estimate", "break")
    return {status: svg.count(f'class="mark-{status}"') for status in statuses}


def test_each_status_has_its_own_mark_and_a_key_in_both_languages():
    points = [
        ChartPoint("2020", Decimal(1)),
        ChartPoint("2021", Decimal(2), "break"),
        ChartPoint("2022", Decimal(3), "estimate"),
        ChartPoint("2023", Decimal(4), "provisional"),
    ]
    svg = str(line_chart(points, unit="persons", language="id", title="t", description="d"))
    assert _marks(svg) == {"provisional": 1, "estimate": 1, "break": 1}
    for word in (">sementara<", ">estimasi<", ">Patahan seri<"):
        assert word in svg
    assert "2023: 4 (sementara)" in svg
    english = str(line_chart(points, unit="persons", language="en", title="t", description="d"))
    assert ">provisional<" in english and ">estimate<" in english


def test_final_values_only_need_no_key():
    svg = str(line_chart(_points(), unit="persons", language="id", title="t", description="d"))
    assert _marks(svg) == {"provisional": 0, "estimate": 0, "break": 0}
    assert "sementara" not in svg


def _segments(svg: str) -> tuple[list[str], list[str]]:
    solid, dashed = [], []
    for d, rest in re.findall(r'<path d="([^"]+)"[^>]*class="series-line"([^>]*)>', svg):
        (dashed if "dasharray" in rest else solid).extend(re.findall(r"M[^M]+", d))
    return solid, dashed


def test_gaps_and_breaks_are_not_bridged_and_tentative_values_are_dashed():
    points = [
        ChartPoint("2018", Decimal(1)),
        ChartPoint("2019", Decimal(2)),
        # 2020 missing: a gap
        ChartPoint("2021", Decimal(3)),
        ChartPoint("2022", Decimal(4), "break"),
        ChartPoint("2023", Decimal(5)),
        ChartPoint("2024", Decimal(6), "estimate"),
    ]
    svg = str(line_chart(points, unit="persons", language="en", title="t", description="d"))
    solid, dashed = _segments(svg)
    # 2018-2019 and 2022-2023 solid; 2023-2024 dashed; nothing across 2019-2021 or 2021-2022.
    assert (len(solid), len(dashed)) == (2, 1)


def test_tiles_that_are_not_final_are_hatched_and_starred():
    tiles = [
        (code, code, f"Provinsi {code}", Decimal(int(code)), f"?region={code}", status)
        for code, status in zip(
            list(PROVINCE_TILES)[:3], ("normal", "estimate", "provisional"), strict=True
        )
    ]
    svg = str(tile_map(tiles, unit="persons", language="id", title="t", description="d"))
    assert svg.count('fill="url(#tiles-hatch)"') == 2
    assert svg.count("*</text>") == 2  # the page's key to the map says what * means
    assert "(estimasi)</title>" in svg


def _ticks(svg: str) -> list[str]:
    tick = r'<text x="[\d.]+" y="[\d.]+" text-anchor="end" fill="[^"]+">([^<]+)</text>'
    return re.findall(tick, svg)


def test_every_axis_names_its_unit_in_the_pages_language():
    svg = str(line_chart(_points(), unit="persons", language="id", title="t", description="d"))
    assert 'class="axis-unit">orang</text>' in svg
    svg = str(line_chart(_points(), unit="percent", language="en", title="t", description="d"))
    assert 'class="axis-unit">percent</text>' in svg


def test_a_duration_axis_steps_in_round_days_not_thousands_of_minutes():
    points = [ChartPoint("2020", Decimal(7200)), ChartPoint("2023", Decimal(15), "provisional")]
    svg = str(line_chart(points, unit="minutes", language="id", title="t", description="d"))
    assert _ticks(svg)[:4] == ["0 hari", "2 hari", "4 hari", "6 hari"]
    assert "axis-unit" not in svg  # each tick says it


def test_the_narrow_chart_for_phones_has_larger_text_fewer_labels_and_a_key_that_fits():
    points = [ChartPoint(f"{year}", Decimal(year - 2000)) for year in range(2010, 2024)]
    points += [
        ChartPoint("2024", Decimal(25), "break"),
        ChartPoint("2025", Decimal(26), "estimate"),
    ]
    points += [ChartPoint("2026", Decimal(27), "provisional")]
    wide = str(line_chart(points, unit="persons", language="id", title="t", description="d"))
    narrow = str(
        line_chart(
            points, unit="persons", language="id", title="t", description="d", **charts.NARROW_CHART
        )
    )
    width = charts.NARROW_CHART["width"]
    assert f'viewBox="0 0 {width} ' in narrow and 'font-size="14"' in narrow
    years = re.compile(r'text-anchor="middle" fill="[^"]+">(20\d\d)</text>')
    assert len(years.findall(narrow)) <= charts.NARROW_CHART["period_labels"]
    assert len(years.findall(wide)) > len(years.findall(narrow))
    # The key's three entries do not fit on one line of the narrow chart: they wrap, and
    # every text of the chart starts inside it.
    key_rows = {
        y for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)" fill="#57606a">[a-zP]', narrow)
    }
    assert len(key_rows) >= 2
    for x in re.findall(r'<text x="([\d.-]+)"', narrow):
        assert 0 <= float(x) <= width
    assert _marks(narrow) == _marks(wide)
