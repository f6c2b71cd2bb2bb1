"""The indicator page's reader's tools in a real browser, at desktop and phone widths:
a time range and three provinces on one chart, the tile map's key and the next release.
Everything works without script; the page stays readable (text at least 12 px at 360 px),
tappable (targets at least 24 px) and within the screen (no sideways scroll at 320 px),
and axe-core finds no serious or critical problem. Screenshots at both widths are saved
for a person to look at."""

import os

import pytest

from .conftest import BROWSER_MISSING, CHROMIUM
from .test_phone import AXE, SVG_TEXT_SIZES, _context

pytestmark = pytest.mark.skipif(
    BROWSER_MISSING, reason=f"{CHROMIUM} is missing (run `make install-browser`); CI runs these"
)

TOOLS = "/id/indikator/ACTIVE_PARTICIPANTS/?region=32&region=ID-JT&region=35&range=5y"
# What a reader taps among the tools: time ranges, taking a line off, adding a province.
TAPPABLE = ".range-choice a, .line-remove, .compare-link, .next-release a"
# The font size of visible HTML text of the tools, as drawn.
HTML_TEXT_SIZES = """(selector) => [...document.querySelectorAll(selector)]
    .filter((e) => e.getClientRects().length > 0)
    .map((e) => parseFloat(getComputedStyle(e).fontSize))"""


@pytest.mark.parametrize("width", [1366, 360])
def test_range_and_three_provinces_read_and_tap_well_at_each_width(
    site, browser, screenshot, width
):
    context, page = _context(browser, width)
    page.goto(site.url + TOOLS)
    whole = screenshot(page, f"screen-indicator-tools-{width}")
    for part, selector in (("chart", ".chart-section"), ("map", ".tile-figure")):
        page.locator(selector).screenshot(
            path=str(whole.with_name(f"screen-indicator-tools-{part}-{width}.png"))
        )
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The chosen range is marked, and the chart shows only its five years.
    assert page.locator('.range-choice a[aria-current="true"]').inner_text() == "5 tahun"
    chart = page.locator("svg.chart:visible")
    assert chart.count() == 1
    assert chart.locator("text.line-number").count() == 3
    keys = chart.locator("text.line-key").all_text_contents()
    assert keys == ["1 Jawa Barat", "2 Jawa Tengah", "3 Jawa Timur"]
    years = [t for t in chart.locator("text").all_text_contents() if t.isdigit() and len(t) == 4]
    assert min(years) == "2020" and "2019" not in years
    # The comparison table and the map's key with its bounds.
    assert page.locator("#comparison-table thead th").count() == 4
    legend = page.locator("figcaption.map-legend").inner_text()
    assert "1,4 juta – 7,9 juta" in legend and "* estimasi" in legend
    assert "Rilis berikutnya" in page.locator(".next-release").inner_text()
    # Readable: every text of the chart and the map as drawn, and of the tools' HTML.
    sizes = page.evaluate(SVG_TEXT_SIZES, "svg.chart text, svg.tile-map text")
    assert min(sizes) >= 12, sorted(sizes)[:5]
    html_sizes = page.evaluate(
        HTML_TEXT_SIZES, ".range-choice a, .line-key li, .map-legend li, .compare-link"
    )
    assert min(html_sizes) >= 12, sorted(html_sizes)[:5]
    small = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((e) => e.getClientRects().length > 0)
            .map((e) => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
            .filter(([, box]) => box.height < 24 || box.width < 24)
            .map(([html, box]) => `${html} ${box.width}x${box.height}`)""",
        TAPPABLE,
    )
    assert small == []
    context.close()


def test_the_tools_work_by_links_alone(site, browser):
    """Choosing a range and adding a province are plain links: no script needed."""
    context, page = _context(browser, 360, java_script_enabled=False)
    page.goto(site.url + "/id/indikator/ACTIVE_PARTICIPANTS/?region=32")
    page.locator(".range-choice a", has_text="10 tahun").click()
    assert "range=10y" in page.url
    page.locator("a.compare-link").first.click()
    assert page.url.count("region=") == 2
    assert page.locator("svg.chart:visible text.line-number").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


def test_the_tools_do_not_scroll_sideways_at_320_px(site, browser):
    context, page = _context(browser, 320)
    page.goto(site.url + TOOLS)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    sizes = page.evaluate(SVG_TEXT_SIZES, "svg.chart text")
    assert all(size >= 12 for size in sizes), sorted(sizes)[:5]
    context.close()


@pytest.mark.skipif(
    not AXE.exists() and os.environ.get("CI") != "true",
    reason="axe-core is missing (run `make install-browser`); CI runs this",
)
@pytest.mark.parametrize("width", [1366, 360])
def test_axe_finds_no_serious_or_critical_violation_with_the_tools(site, browser, width):
    context, page = _context(browser, width, bypass_csp=True)
    page.goto(site.url + TOOLS)
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (violation["id"], [node["target"] for node in violation["nodes"]][:3])
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == []
    context.close()
