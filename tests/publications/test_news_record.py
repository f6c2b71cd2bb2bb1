"""A news release is a record: its figures as they stood when it was published, in its
own language, with a notice beside (never inside) the sentence for a figure revised
since; and a news release in two languages is one news release, linked both ways."""

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.utils import translation

from publications.models import NewsRelease, Release
from publications.news_markup import (
    _block_ends,
    figure_references,
    figures_resolve,
    news_body_html,
)
from publications.services import ReleaseError, news_release_save

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
IKN_ID = "peletakan-batu-pertama-gedung-ikn"
IKN_EN = "groundbreaking-of-the-ikn-building"
ONLY_ID = "peserta-aktif-2024"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _html(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def _body(*, text: str, language: str, published_at, page_language: str = "id") -> str:
    figures = figures_resolve(references=figure_references(text), published_at=published_at)
    with translation.override(page_language):
        return str(news_body_html(body=text, figures=figures, language=language))


def _antara_published_at():
    return Release.objects.get(slug="antara-2023-ikn").published_at


# (reference, language, in the sentence as published, the value now in the notice or None)
FIGURES = [
    ("[[FUNDS_UNDER_MANAGEMENT 2023]]", "id", "Rp686 triliun", "Rp712,3 triliun"),
    ("[[FUNDS_UNDER_MANAGEMENT 2023]]", "en", "Rp686 trillion", "Rp712.3 trillion"),
    ("[[ACTIVE_PARTICIPANTS 2023 segment=BPU]]", "id", "7,6 juta", "9,2 juta"),
    ("[[ACTIVE_PARTICIPANTS 2023 segment=BPU]]", "en", "7.6 million", "9.2 million"),
    ("[[BPU_PARTICIPANTS_MULTIPLE_3Y 2023 segment=BPU]]", "id", "3,04 kali", "3,68 kali"),
    ("[[BPU_PARTICIPANTS_MULTIPLE_3Y 2023 segment=BPU]]", "en", "3.04 times", "3.68 times"),
    ("[[ACTIVE_COVERAGE_ELIGIBLE 2023]]", "id", "40 persen", "41,6 persen"),
    ("[[ACTIVE_COVERAGE_ELIGIBLE 2023]]", "en", "40%", "41.6%"),
    ("[[BENEFITS_PAID 2023]]", "id", "Rp40 triliun", "Rp52,7 triliun"),
    ("[[BENEFITS_PAID 2023]]", "en", "Rp40 trillion", "Rp52.7 trillion"),
    ("[[SCHOLARSHIP_RECIPIENTS 2023]]", "id", "72.000", "82.275"),
    ("[[SCHOLARSHIP_RECIPIENTS 2023]]", "en", "72,000", "82,275"),
    ("[[FUNDS_UNDER_MANAGEMENT_YOY 2023]]", "id", "12,9 persen", None),
    ("[[FUNDS_UNDER_MANAGEMENT_YOY 2023]]", "en", "12.9%", None),
    ("[[BENEFICIARIES 2023]]", "id", "3,4 juta", None),
    ("[[BENEFICIARIES 2023]]", "en", "3.4 million", None),
    ("[[CLAIM_PROCESSING_TIME 2023]]", "id", "15 menit", None),
    ("[[CLAIM_PROCESSING_TIME 2023]]", "en", "15 minutes", None),
]
NOTICE = {
    "id": '<strong class="revision-label">Direvisi</strong>: nilai kini <a href="[^"]+">{}</a> '
    '\\(rilis <a href="/id/rilis/angka-tahunan-2023/">Angka tahunan 2023</a>, '
    "15 Februari 2024\\)",
    "en": '<strong class="revision-label">Revised</strong>: the value now is '
    '<a href="[^"]+">{}</a> '
    '\\(release <a href="/id/rilis/angka-tahunan-2023/">Annual figures 2023</a>, '
    "15 February 2024\\)",
}


@pytest.mark.parametrize(("reference", "language", "as_published", "now"), FIGURES)
def test_a_figure_reads_as_published_and_a_revision_is_noticed_beside_it(
    demo, reference, language, as_published, now
):
    html = _body(
        text=f"Angka: {reference}.", language=language, published_at=_antara_published_at()
    )
    paragraph, _, after = html.partition("</p>")
    assert re.search(f">{re.escape(as_published)}</a>", paragraph), html
    if now is None:
        assert "revision" not in html
        return
    # The sentence keeps its words; the value now is in the notice after the paragraph.
    assert '<sup class="revision-mark"><a href="#revision-1"' in paragraph
    assert now not in paragraph
    assert after.startswith('<div class="revision-notes" role="note">')
    assert re.search(NOTICE[language].format(re.escape(now)), after), after


def test_a_news_release_published_after_the_revision_cites_the_revised_value(demo):
    html = _body(
        text="Dana kelolaan [[FUNDS_UNDER_MANAGEMENT 2023]].",
        language="id",
        published_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    )
    assert ">Rp712,3 triliun</a>" in html
    assert "Rp686" not in html and "revision" not in html


@pytest.mark.parametrize(
    ("language", "missing", "label"),
    [
        ("id", "(angka belum terbit saat siaran pers ini terbit)", "Terbit sesudahnya"),
        ("en", "(figure not yet published when this news release came out)", "Published since"),
    ],
)
def test_a_figure_published_after_the_news_release_is_noticed_not_filled_in(
    demo, language, missing, label
):
    html = _body(
        text="Peserta [[ACTIVE_PARTICIPANTS 2024]].",
        language=language,
        published_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC),
    )
    paragraph, _, after = html.partition("</p>")
    assert missing in paragraph and "45,2" not in paragraph and "45.2" not in paragraph
    assert f'<strong class="revision-label">{label}</strong>' in after


def test_each_revised_figure_gets_one_numbered_notice_after_its_own_paragraph(demo):
    text = (
        "Peserta [[ACTIVE_PARTICIPANTS 2023]].\n\n"
        "- Dana [[FUNDS_UNDER_MANAGEMENT 2023]] dan lagi [[ACTIVE_PARTICIPANTS 2023]]\n"
        "- Tumbuh [[FUNDS_UNDER_MANAGEMENT_YOY 2023]]\n\n"
        "> Manfaat [[BENEFITS_PAID 2023]]\n"
    )
    html = _body(text=text, language="id", published_at=_antara_published_at())
    assert html.count('id="revision-1"') == 1
    assert html.count('href="#revision-1"') == 2  # both mentions point at the one notice
    assert re.search(r"</p><div class=\"revision-notes\"[^>]*><p [^>]*id=\"revision-1\"", html)
    assert re.search(r"</ul><div class=\"revision-notes\"[^>]*><p [^>]*id=\"revision-2\"", html)
    assert re.search(
        r"</blockquote><div class=\"revision-notes\"[^>]*><p [^>]*id=\"revision-3\"", html
    )


@pytest.mark.parametrize(
    ("html", "ends"),
    [
        ("<p>a</p>\n<p>b</p>", [8, 17]),
        ("<ul>\n<li>a<br>b</li>\n</ul>", [26]),
        ("teks <em>x</em>\n<p>b</p>", [16, 24]),
        ("<p>a</p>\nteks <b>x</b> lagi", [8, 27]),
        ("<hr>\n<p>b</p>", [4, 13]),
    ],
)
def test_block_ends_are_the_ends_of_top_level_elements(html, ends):
    assert _block_ends(html) == ends


# --- the page: the record, in its own language ---


def test_the_demo_page_reads_as_the_2023_release_said(client, demo):
    html = _html(client, f"/id/siaran-pers/{IKN_ID}/")
    article = html[html.index('<article class="news" lang="id">') : html.index("</article>")]
    prose = article[article.index('<div class="prose">') :]
    sentences = re.sub(r'<div class="revision-notes".*?</div>', "", prose, flags=re.S)
    for words in (
        ">40 juta</a>",
        ">40 persen</a>",
        ">7,6 juta</a>",
        ">2,5 juta</a>",
        ">3,04 kali</a>",
        ">5 juta</a>",
        ">Rp686 triliun</a>",
        ">12,9 persen</a>",
        ">Rp40 triliun</a>",
        ">3,4 juta</a>",
        ">Rp309 miliar</a>",
        ">72.000</a>",
        ">15 menit</a>",
        ">85 persen</a>",
        "70 juta peserta dan dana kelolaan\nRp1.001 triliun pada 2026",
    ):
        assert words in sentences, words
    for later in ("9,2 juta", "Rp712,3 triliun", "3,68 kali", "Rp52,7 triliun", "41,6 juta"):
        assert later not in sentences and later in prose, later
    # The title and lede say what the body says.
    assert "tiga kali lipat" in article and "7,6 juta" in article.split("</header>")[0]
    assert "Rp686 triliun" in article.split("</header>")[0]


def test_the_demo_year_to_date_figures_are_not_joined_to_full_year_ones(demo):
    news = NewsRelease.objects.get(slug=IKN_ID)
    figures = figures_resolve(
        references=figure_references(news.body), published_at=news.published_at
    )
    notes = {
        reference.indicator: figure.as_published.note
        for reference, figure in figures.items()
        if reference.indicator in ("BENEFITS_PAID", "BENEFICIARIES", "SCHOLARSHIP_RECIPIENTS")
    }
    assert all("year to date" in note for note in notes.values()), notes


def test_the_english_translation_carries_the_same_content(demo):
    original = NewsRelease.objects.get(slug=IKN_ID)
    english = NewsRelease.objects.get(slug=IKN_EN)
    assert english.translation_of == original
    assert figure_references(english.body) == figure_references(original.body)
    assert "70 million" in english.body and "Rp1,001 trillion by 2026" in english.body


@pytest.mark.parametrize(
    ("url", "notice", "figure"),
    [
        (f"/en/siaran-pers/{ONLY_ID}/", "has no English translation", ">45,2 juta</a>"),
        (
            "/id/siaran-pers/hanya-inggris/",
            "tidak memiliki terjemahan bahasa Indonesia",
            ">45.2 million</a>",  # the English text's own number format on an Indonesian page
        ),
    ],
)
def test_a_missing_translation_says_so_and_shows_the_text_as_published(
    client, demo, url, notice, figure
):
    NewsRelease.objects.create(
        slug="hanya-inggris",
        language="en",
        title="English only",
        lead="Only in English.",
        body="Members [[ACTIVE_PARTICIPANTS 2024]].",
        published_at=Release.objects.get(slug="angka-tahunan-2024").published_at,
    )
    html = _html(client, url)
    assert notice in html
    assert figure in html


# --- translations linked ---


def _head_alternates(html: str) -> dict[str, str]:
    head = html[: html.index("</head>")]
    return dict(re.findall(r'<link rel="alternate" hreflang="([\w-]+)" href="([^"]+)">', head))


def test_translations_name_each_other_in_hreflang_and_the_language_switch(client, demo):
    indonesian = _html(client, f"/id/siaran-pers/{IKN_ID}/")
    english = _html(client, f"/en/siaran-pers/{IKN_EN}/")
    expected = {
        "id": f"http://testserver/id/siaran-pers/{IKN_ID}/",
        "en": f"http://testserver/en/siaran-pers/{IKN_EN}/",
        "x-default": f"http://testserver/id/siaran-pers/{IKN_ID}/",
    }
    assert _head_alternates(indonesian) == expected
    assert _head_alternates(english) == expected
    assert f'<a href="/en/siaran-pers/{IKN_EN}/" hreflang="en" lang="en" data-language-switch' in (
        indonesian
    )
    assert f'<a href="/id/siaran-pers/{IKN_ID}/" hreflang="id" lang="id" data-language-switch' in (
        english
    )


def test_a_text_without_translation_names_only_its_own_language(client, demo):
    html = _html(client, f"/en/siaran-pers/{ONLY_ID}/")
    assert _head_alternates(html) == {
        "id": f"http://testserver/id/siaran-pers/{ONLY_ID}/",
        "x-default": f"http://testserver/id/siaran-pers/{ONLY_ID}/",
    }
    assert f'<link rel="canonical" href="http://testserver/id/siaran-pers/{ONLY_ID}/">' in html


@pytest.mark.parametrize(
    ("url", "location"),
    [
        (f"/en/siaran-pers/{IKN_ID}/", f"/en/siaran-pers/{IKN_EN}/"),
        (f"/id/siaran-pers/{IKN_EN}/", f"/id/siaran-pers/{IKN_ID}/"),
    ],
)
def test_the_other_languages_address_opens_its_own_translation(client, demo, url, location):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == location


@pytest.mark.parametrize(
    ("language", "listed", "not_listed"),
    [("id", [IKN_ID, ONLY_ID], [IKN_EN]), ("en", [IKN_EN, ONLY_ID], [IKN_ID])],
)
def test_lists_show_each_news_release_once_per_language(client, demo, language, listed, not_listed):
    pages = ("siaran-pers/", "", "rilis/antara-2023-ikn/")
    for url in (f"/{language}/{page}" for page in pages):
        html = _html(client, url)
        for slug in listed:
            if "rilis" in url and slug == ONLY_ID:
                continue
            assert html.count(f"/siaran-pers/{slug}/") == 1, (url, slug)
        for slug in not_listed:
            assert f"/siaran-pers/{slug}/" not in html, (url, slug)
    search = _html(client, f"/{language}/cari/?q=IKN")
    assert f"/siaran-pers/{listed[0]}/" in search and f"/siaran-pers/{not_listed[0]}/" not in search
    feed = ET.fromstring(client.get(f"/{language}/siaran-pers/feed.atom").content)
    links = [e.find(f"{ATOM}link").get("href") for e in feed.iter(f"{ATOM}entry")]
    assert sorted(link.rsplit("/", 2)[-2] for link in links) == sorted(listed)


def test_the_sitemap_lists_each_translation_once_at_its_own_address(client, demo):
    root = ET.fromstring(client.get("/sitemap.xml").content)
    news = {}
    for url in root.iter(f"{SITEMAP}url"):
        loc = url.find(f"{SITEMAP}loc").text
        if "/siaran-pers/" in loc and not loc.endswith("/siaran-pers/"):
            alternates = {
                link.get("hreflang"): link.get("href") for link in url.iter(f"{XHTML}link")
            }
            assert loc not in news, loc
            news[loc] = alternates
    ikn = {
        "id": f"http://testserver/id/siaran-pers/{IKN_ID}/",
        "en": f"http://testserver/en/siaran-pers/{IKN_EN}/",
    }
    assert news == {
        ikn["id"]: ikn,
        ikn["en"]: ikn,
        f"http://testserver/id/siaran-pers/{ONLY_ID}/": {
            "id": f"http://testserver/id/siaran-pers/{ONLY_ID}/"
        },
    }


# --- linking translations (editors) ---


@pytest.mark.parametrize(
    ("language", "translation_of", "message"),
    [
        ("id", IKN_ID, "is in the same language"),
        ("id", IKN_EN, "is itself a translation"),
        ("en", IKN_ID, "has a translation in this language already"),
    ],
)
def test_a_translation_link_that_breaks_the_rules_is_refused_and_nothing_saved(
    demo, editor, language, translation_of, message
):
    news_release = NewsRelease(
        slug="terjemahan-baru",
        language=language,
        translation_of=NewsRelease.objects.get(slug=translation_of),
        title="Terjemahan",
        lead="Lead.",
        body="Teks.",
    )
    with pytest.raises(ReleaseError, match=f"translation_of: .*{message}"):
        news_release_save(news_release=news_release, user=editor)
    assert not NewsRelease.objects.filter(slug="terjemahan-baru").exists()


def test_a_translation_in_the_other_language_is_linked_and_audited(demo, editor):
    news_release = news_release_save(
        news_release=NewsRelease(
            slug="active-participants-2024",
            language="en",
            translation_of=NewsRelease.objects.get(slug=ONLY_ID),
            title="Active participants reach 45.2 million in 2024",
            lead="Lead.",
            body="Text.",
        ),
        user=editor,
    )
    entry = news_release.audit_entries.get()
    assert entry.changes["translation_of_id"] == [None, news_release.translation_of_id]
