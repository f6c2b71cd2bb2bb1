"""Under the strict Content-Security-Policy the site still renders in a real browser: the
chart, the tile map and the bars, with no violation reported on the public pages, the
admin or the API docs."""

import pytest

from .conftest import BROWSER_MISSING, CHROMIUM

pytestmark = pytest.mark.skipif(
    BROWSER_MISSING, reason=f"{CHROMIUM} is missing (run `make install-browser`); CI runs these"
)

# Injected by the browser driver (not by the page, so the policy does not block it).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.cspViolations")


@pytest.fixture
def watched(page):
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return box


def test_the_indicator_page_renders_its_chart_map_and_bars_under_the_policy(
    site, watched, screenshot
):
    response = watched.goto(site.url + "/id/indikator/ACTIVE_PARTICIPANTS/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    chart = watched.locator("svg.chart").first
    assert _box(chart)["height"] > 100
    assert watched.locator("svg.chart path.series-line").count() >= 1
    tile_map = watched.locator("svg.tile-map").first
    assert _box(tile_map)["width"] > 300
    bars = watched.locator("svg.bar rect")
    assert bars.count() > 3
    # The largest region's bar fills its cell; the others are shorter, not absent.
    widths = [_box(bars.nth(index))["width"] for index in range(bars.count())]
    assert max(widths) > 50
    assert min(widths) < max(widths)
    screenshot(watched, "csp-indicator-page")
    assert _violations(watched) == []


def test_the_home_page_renders_its_progress_bars_under_the_policy(site, watched, screenshot):
    watched.goto(site.url + "/id/")
    progress = watched.locator(".progress rect")
    assert progress.count() >= 1
    assert _box(progress.first)["width"] > 0
    assert watched.locator("link[rel=stylesheet]").count() >= 1
    # The site's stylesheet applied: the headline figures are laid out as cards.
    assert _box(watched.locator("svg.sparkline").first)["height"] > 10
    screenshot(watched, "csp-home")
    assert _violations(watched) == []


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/api/redoc/"])
def test_the_admin_and_the_api_docs_break_no_rule_of_the_policy(site, watched, path):
    watched.goto(site.url + path)
    watched.wait_for_load_state("networkidle")
    if path == "/api/docs/":
        watched.locator(".swagger-ui .opblock").first.wait_for()
    if path == "/api/redoc/":
        watched.locator("redoc h1, redoc h2").first.wait_for()
    # Redoc's footer would fetch its maker's logo from their CDN: refused, as meant (no
    # visitor of the docs is sent to a third party); nothing else is.
    assert [
        violation
        for violation in _violations(watched)
        if violation != "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"
    ] == []
