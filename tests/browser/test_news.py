"""A news release in a real browser, at a desktop and a phone width: its figures as
published in 2023, the notices of what was revised since beside the paragraphs, and the
language switch opening its English translation."""

import re

import pytest

from .conftest import BROWSER_MISSING, CHROMIUM, SCREENSHOTS

pytestmark = pytest.mark.skipif(
    BROWSER_MISSING, reason=f"{CHROMIUM} is missing (run `make install-browser`); CI runs these"
)

NEWS = "/id/siaran-pers/peletakan-batu-pertama-gedung-ikn/"


@pytest.mark.parametrize("width", [1366, 360])
def test_a_news_release_reads_as_published_with_revision_notices(site, browser, screenshot, width):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, is_mobile=width < 600, has_touch=width < 600
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(site.url + NEWS)

    figures = page.locator(".prose a.figure").all_inner_texts()
    # What the 2023 release said, as it said it.
    assert figures[:5] == ["40 juta", "40 persen", "7,6 juta", "2,5 juta", "3,04 kali"]
    assert "Rp686 triliun" in figures and "12,9 persen" in figures
    assert "Rp40 triliun" in figures and "3,4 juta" in figures  # both year to date
    prose = page.locator(".prose")
    sentences = prose.locator("p:not(.revision-note)").all_inner_texts()
    assert not any("712,3" in s or "9,2 juta" in s for s in sentences)

    # The revised figure is marked; its notice follows the paragraph, visible, in the page.
    mark = page.locator(".revision-mark a").first
    assert mark.inner_text() == "1"
    notice = page.locator("#revision-1")
    assert notice.is_visible()
    assert notice.inner_text().startswith("1Direvisi: nilai kini 41,6 juta (rilis Angka tahunan")
    funds = page.locator(".revision-note", has_text="Rp712,3 triliun")
    assert funds.count() == 1 and funds.is_visible()
    box = mark.bounding_box()
    assert box is not None and box["width"] >= 24 and box["height"] >= 24  # a touch target

    # Nothing wider than the screen; the notices fit in it.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    notice_box = notice.bounding_box()
    assert notice_box is not None and notice_box["x"] + notice_box["width"] <= width
    screenshot(page, f"news-record-{width}")
    assert (SCREENSHOTS / f"news-record-{width}.png").stat().st_size > 0
    # And the screen a reader sees at the first notice, at its real size.
    page.locator(".revision-notes").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"news-record-{width}-notice.png"))

    # The other language opens the English translation, its figures as published there.
    page.locator('[data-language-switch="en"]').click()
    page.wait_for_url(re.compile(r"/en/siaran-pers/groundbreaking-of-the-ikn-building/$"))
    assert page.locator("article").get_attribute("lang") == "en"
    english = page.locator(".prose a.figure").all_inner_texts()
    assert english[:5] == ["40 million", "40%", "7.6 million", "2.5 million", "3.04 times"]
    assert "Revised: the value now is Rp712.3 trillion" in page.locator(".prose").inner_text()
    assert "Rp1,001 trillion by 2026" in page.locator(".prose").inner_text()
    screenshot(page, f"news-record-en-{width}")
    page.locator('[data-language-switch="id"]').click()
    page.wait_for_url(re.compile(re.escape(NEWS) + "$"))
    context.close()
