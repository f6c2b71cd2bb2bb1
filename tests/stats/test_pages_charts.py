"""Server-side SVG charts: axes cover the data and the target, texts are escaped."""

from decimal import Decimal

import pytest

from stats.charts import PROVINCE_TILES, ChartPoint, line_chart, nice_ticks, sparkline, tile_map


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
        (code, code, f"Provinsi {code}", Decimal(int(code)), f"?region={code}")
        for code in PROVINCE_TILES
    ]
    svg = str(tile_map(tiles, unit="persons", language="id", title="t", description="d"))
    assert len(PROVINCE_TILES) == 38
    assert svg.count("<a href=") == 38
    assert "<title>Provinsi 32: 32</title>" in svg
