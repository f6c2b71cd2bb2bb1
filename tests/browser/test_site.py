"""A visitor and a journalist use the public site in a real browser."""

import csv
import io
import re
from pathlib import Path

import pytest

from .conftest import BROWSER_MISSING, CHROMIUM, SCREENSHOTS

pytestmark = pytest.mark.skipif(
    BROWSER_MISSING, reason=f"{CHROMIUM} is missing (run `make install-browser`); CI runs these"
)


def _table_values(page) -> dict[str, tuple[str, str]]:
    """Period label -> (value as the page's data table writes it, the exact value its
    cell gives on hover)."""
    rows = page.locator("#data-table tbody tr")
    values = {}
    for index in range(rows.count()):
        cell = rows.nth(index).locator("td.num")
        values[rows.nth(index).get_attribute("data-period")] = (
            cell.inner_text().strip(),
            cell.get_attribute("title"),
        )
    return values


def test_visitor_follows_a_headline_figure_switches_to_english_and_downloads_csv(
    site, page, screenshot
):
    page.goto(site.url + "/")
    assert page.url == site.url + "/id/"
    assert page.locator("html").get_attribute("lang") == "id"
    headline = page.locator('[data-headline="ACTIVE_PARTICIPANTS"]')
    assert headline.inner_text() == "Peserta aktif"
    assert "45,2 juta" in page.locator(".figure-card").first.inner_text()
    screenshot(page, "home")

    headline.click()
    page.wait_for_url(re.compile(r"/id/indikator/ACTIVE_PARTICIPANTS/$"))
    assert page.locator("h1").inner_text() == "Peserta aktif"
    assert page.locator("svg.chart:visible").count() == 1  # of the wide and the phone one

    page.locator('[data-language-switch="en"]').click()
    page.wait_for_url(re.compile(r"/en/indikator/ACTIVE_PARTICIPANTS/$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Active participants"
    table = _table_values(page)
    assert table["2024"] == ("45.2 million", "45,200,000")
    screenshot(page, "indicator")

    with page.expect_download() as download_info:
        page.locator('[data-download="csv"]').click()
    download = download_info.value
    content = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(content)))
    from_csv = {row["period"]: row["value"] for row in rows}
    from_table = {period: exact.replace(",", "") for period, (_text, exact) in table.items()}
    assert from_csv == from_table
    assert len(from_csv) == 10  # 2014 and 2016-2024

    with page.expect_download() as download_info:
        page.locator('[data-download="png"]').click()
    png = download_info.value
    assert png.suggested_filename == "active_participants-a.png"
    assert Path(png.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _correction_publish(clerk, reviewer, *, corrects: str, value: int) -> None:
    """A correction of ``corrects`` revising active participants in 2024, through the
    services and by two people (four eyes): created and submitted by the clerk, approved
    and published by the reviewer."""
    from publications.models import Release
    from publications.services import (
        release_approve,
        release_create,
        release_observations_import,
        release_publish,
        release_submit,
    )

    correction = release_create(
        slug=f"{corrects}-koreksi",
        title_id="Koreksi angka tahunan 2024",
        title_en="Correction of the annual figures 2024",
        corrects=Release.objects.get(slug=corrects),
        correction_reason="Data terlambat dari kantor cabang",
        user=clerk,
    )
    rows = (
        "indicator,region,segment,program,period,value,status,note\n"
        f"ACTIVE_PARTICIPANTS,ID,_T,_T,2024,{value},normal,Data kantor cabang\n"
    )
    report = release_observations_import(
        stream=io.StringIO(rows), release=correction, commit=True, user=clerk
    )
    assert report.ok, report.errors
    release_submit(release=correction, user=clerk)
    release_approve(release=correction, user=reviewer)
    release_publish(release=correction, user=reviewer)


def test_journalist_finds_the_next_release_and_opens_a_news_release(
    site, page, screenshot, clerk_and_reviewer
):
    page.goto(site.url + "/id/")
    page.get_by_role("link", name="Kalender rilis", exact=True).first.click()
    page.wait_for_url(re.compile(r"/id/kalender/$"))
    upcoming = page.locator("#upcoming").inner_text()
    assert "Angka tahunan 2025" in upcoming
    assert "WIB" in upcoming

    page.locator("#past").get_by_role("link", name="Angka tahunan 2024").click()
    page.wait_for_url(re.compile(r"/id/rilis/angka-tahunan-2024/$"))
    page.locator("#news-heading + ul").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/id/siaran-pers/peserta-aktif-2024/$"))
    figures = page.locator(".prose a.figure")
    cited = [figures.nth(i).inner_text() for i in range(figures.count())]
    assert cited[0] == "45,2 juta"  # [[ACTIVE_PARTICIPANTS 2024]], as published
    assert "29,3 juta" in cited  # wage earners
    assert "9,9 juta" in cited  # informal sector
    screenshot(page, "news")
    assert (SCREENSHOTS / "news.png").stat().st_size > 0

    assert page.locator(".revision-notes").count() == 0
    news_url = page.url

    figures.first.click()
    page.wait_for_url(re.compile(r"/id/indikator/ACTIVE_PARTICIPANTS/\?frequency=A"))
    assert page.locator("h1").inner_text() == "Peserta aktif"

    # Later a correction revises the figure the news release cites: the news release is
    # a record, so its sentence still says what it said; a notice after the paragraph
    # gives the value now and the release that revised it.
    _correction_publish(*clerk_and_reviewer, corrects="angka-tahunan-2024", value=45_612_345)
    # The page was served "public, max-age=0, s-maxage=60": the browser asks the site
    # again (with the copy's ETag) whenever it shows it; the reload does too.
    page.goto(news_url)
    page.reload()
    figures = page.locator(".prose a.figure")
    assert figures.first.inner_text() == "45,2 juta"
    notes = page.locator(".prose .revision-note")
    # One notice per revised figure: participants, their growth, progress, required growth
    # (the derived figures moved with their input, in the same publication).
    assert notes.count() == 4
    assert notes.first.inner_text().startswith(
        "1Direvisi: nilai kini 45,6 juta (rilis Koreksi angka tahunan 2024, "
    )
    # Progress to the 70 million target is now 45,612,345 / 70,000,000 = 65.2%.
    assert "nilai kini 65,2 persen" in " ".join(notes.all_inner_texts())
    assert notes.first.is_visible()
    screenshot(page, "news-revised")
    assert (SCREENSHOTS / "news-revised.png").stat().st_size > 0

    # It has no English translation: the English page says so and shows it as published.
    page.locator('[data-language-switch="en"]').click()
    page.wait_for_url(re.compile(r"/en/siaran-pers/peserta-aktif-2024/$"))
    assert "has no English translation" in page.locator(".translation-missing").inner_text()
    assert page.locator(".prose a.figure").first.inner_text() == "45,2 juta"


def test_pages_work_on_a_phone_screen(site, browser, screenshot):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(site.url + "/id/indikator/ACTIVE_PARTICIPANTS/")
    # Nothing wider than the screen except inside the scrollable table regions.
    overflow = phone.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 390
    screenshot(phone, "indicator-phone")
    context.close()
