"""Reuse of an indicator page: the embeddable chart (the one page that may be framed),
chart downloads that say what they are, the XLSX download with its metadata sheet, and
pages and citations pinned to an ``as_of`` instant."""

import datetime as dt
import io
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from publications.services import release_create, release_publish
from tests.stats.helpers import import_rows

pytestmark = pytest.mark.usefixtures("clear_cache")

PAGE = "/id/indikator/ACTIVE_PARTICIPANTS/"
EARLIER = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def revised(catalogue):
    """Active participants 2023 published as 41,560,000 on 1 March 2025, revised to
    41,987,654.321 on 1 June 2025 (with 2024 added)."""
    first = release_create(slug="maret", title_id="Rilis Maret", title_en="March release")
    import_rows(
        first,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "35300000"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000"),
        ],
    )
    release_publish(release=first, at=EARLIER)
    second = release_create(slug="juni", title_id="Rilis Juni", title_en="June release")
    import_rows(
        second,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41987654.321"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45200000"),
        ],
    )
    release_publish(release=second, at=LATER)


def _as_of(instant: dt.datetime) -> str:
    return quote(timezone.localtime(instant).isoformat())


# --- The embeddable chart ---


@pytest.mark.django_db
def test_embed_view_may_be_framed_by_anyone_and_credits_its_source(client, revised):
    response = client.get(f"{PAGE}embed/?frequency=A&region=ID&segment=_T&program=_T")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors *" in policy
    assert "'none'" not in policy.split("frame-ancestors")[1].split(";")[0]
    # Everything else of the policy stays as strict as the site's.
    assert "script-src 'self'" in policy
    html = response.content.decode()
    assert 'role="img"' in html and "<svg" in html
    assert "Peserta aktif" in html
    assert "CC-BY-4.0" in html or "CC BY" in html
    assert 'href="http://testserver/id/indikator/ACTIVE_PARTICIPANTS/?frequency=A' in html
    assert "<script" not in html


@pytest.mark.django_db
def test_embed_view_stays_framable_when_served_from_the_page_cache(client, revised):
    first = client.get(f"{PAGE}embed/")
    second = client.get(f"{PAGE}embed/")
    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    assert "X-Frame-Options" not in second
    assert "frame-ancestors *" in second["Content-Security-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", [PAGE, "/id/indikator/", "/id/", f"{PAGE}grafik.svg"])
def test_every_other_page_refuses_to_be_framed(client, revised, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_indicator_page_offers_the_embed_code_without_script(client, revised):
    html = client.get(PAGE).content.decode()
    assert '<textarea id="embed-code" class="embed-code" readonly' in html
    embed = (
        "http://testserver/id/indikator/ACTIVE_PARTICIPANTS/embed/?frequency=A&amp;amp;region=ID"
    )
    assert f"&lt;iframe src=&quot;{embed}" not in html  # escaped once, not twice
    assert (
        '&lt;iframe src="http://testserver/id/indikator/ACTIVE_PARTICIPANTS/embed/'
        '?frequency=A&amp;region=ID&amp;segment=_T&amp;program=_T"' in html
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"), [("segment=NOPE", "segment"), ("as_of=kemarin", "as_of")]
)
def test_embed_with_a_bad_filter_is_a_400_naming_the_field(client, revised, query, field):
    response = client.get(f"{PAGE}embed/?{query}")
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{field}: ")


# --- Chart downloads say what they are ---


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("id", ["Sumber: ", "Lisensi: ", "Diunduh "]),
        ("en", ["Source: ", "Licence: ", "Retrieved "]),
    ],
)
def test_svg_download_carries_title_unit_source_licence_date_and_url(
    client, revised, language, words
):
    svg = client.get(f"/{language}/indikator/ACTIVE_PARTICIPANTS/grafik.svg").content.decode()
    credits = [
        line.split(">", 1)[1].split("<")[0] for line in svg.split('class="chart-credit"')[1:]
    ]
    assert len(credits) == 4
    title, source, dated, url = credits
    assert "Indonesia" in title and "(" in title  # the selection and its unit
    assert source.startswith(words[0]) and words[1] in source and "CC-BY-4.0" in source
    today = timezone.localdate()
    assert dated.startswith(words[2]) and str(today.year) in dated
    assert url == (
        f"http://testserver/{language}/indikator/ACTIVE_PARTICIPANTS/"
        "?frequency=A&amp;region=ID&amp;segment=_T&amp;program=_T"
    )


@pytest.mark.django_db
def test_svg_download_as_of_names_the_instant_and_keeps_it_in_the_link(client, revised):
    svg = client.get(
        "/en/indikator/ACTIVE_PARTICIPANTS/grafik.svg?as_of=2025-04-01"
    ).content.decode()
    assert "as published on 1 April 2025" in svg
    assert "as_of=2025-04-01T23%3A59%3A59.999999%2B07%3A00" in svg
    assert "42 million" not in svg and "41.6 million" in svg


# --- XLSX with a metadata sheet ---


def _sheets(content: bytes):
    book = load_workbook(io.BytesIO(content), read_only=True)
    data = [list(row) for row in book["data"].iter_rows(values_only=True)]
    metadata = dict(book["metadata"].iter_rows(values_only=True))
    return data, metadata


@pytest.mark.django_db
def test_xlsx_has_exact_values_and_a_metadata_sheet(client, revised):
    response = client.get("/en/indikator/ACTIVE_PARTICIPANTS/data.xlsx?frequency=A")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="active_participants-a.xlsx"' in response["Content-Disposition"]
    data, metadata = _sheets(response.content)
    header = data[0]
    value, exact = header.index("value"), header.index("value_exact")
    assert exact == value + 1
    assert header[:2] == ["indicator", "indicator_name"]
    rows = {row[header.index("period")]: row for row in data[1:]}
    assert sorted(rows) == ["2022", "2023", "2024"]
    assert rows["2023"][exact] == "41987654.321"
    assert rows["2023"][value] == pytest.approx(41987654.321)
    assert rows["2023"][header.index("release")] == "juni"
    assert rows["2022"][header.index("region")] == "ID"
    assert metadata["indicator"] == "ACTIVE_PARTICIPANTS"
    assert metadata["unit"] and metadata["source"] and metadata["licence"]
    assert "CC-BY-4.0" in metadata["licence"]
    assert metadata["url"].startswith("http://testserver/en/indikator/ACTIVE_PARTICIPANTS/?")
    assert metadata["as_of"].startswith("2025-06-01T17:00:00")
    assert "June release" in metadata["citation"]


@pytest.mark.django_db
def test_xlsx_as_of_shows_the_values_as_published_then(client, revised):
    response = client.get(f"/id/indikator/ACTIVE_PARTICIPANTS/data.xlsx?as_of={_as_of(EARLIER)}")
    data, metadata = _sheets(response.content)
    header = data[0]
    rows = {row[header.index("period")]: row for row in data[1:]}
    assert sorted(rows) == ["2022", "2023"]
    assert rows["2023"][header.index("value_exact")] == "41560000"
    assert metadata["as_of"] == timezone.localtime(EARLIER).isoformat()
    assert "as_of=" in metadata["url"]


@pytest.mark.django_db
def test_indicator_page_links_the_xlsx_of_its_selection(client, revised):
    html = client.get(PAGE).content.decode()
    assert 'href="/id/indikator/ACTIVE_PARTICIPANTS/data.xlsx?frequency=A&amp;region=ID' in html


# --- as_of: the page as published then, the citation pinned ---


@pytest.mark.django_db
def test_page_as_of_shows_the_values_then_with_a_banner(client, revised):
    now = client.get(PAGE).content.decode()
    assert "notice-as-of" not in now
    assert "42 juta" in now or "41.987.654" in now
    then = client.get(f"{PAGE}?as_of=2025-04-01").content.decode()
    assert 'class="notice notice-as-of"' in then
    assert "Sebagaimana dipublikasikan pada 1 April 2025" in then
    assert "41.560.000" in then
    assert "41.987.654" not in then and "45,2 juta" not in then
    # The form keeps the instant; the permalink and downloads name it.
    assert 'name="as_of" value="2025-04-01"' in then
    assert (
        "data.xlsx?frequency=A&amp;region=ID&amp;segment=_T&amp;program=_T&amp;as_of=2025-04-01T23"
        in then
    )


@pytest.mark.django_db
def test_page_as_of_before_anything_was_published_is_404(client, revised):
    assert client.get(f"{PAGE}?as_of=2024-01-01").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_of", "reason"),
    [("kemarin", "is not an ISO 8601 date"), ("2999-01-01", "is in the future")],
)
def test_bad_as_of_is_a_400_naming_the_field(client, revised, as_of, reason):
    response = client.get(f"{PAGE}?as_of={as_of}")
    assert response.status_code == 400
    html = response.content.decode()
    assert "as_of" in html and reason in html


@pytest.mark.django_db
def test_page_cache_keeps_each_as_of_apart(client, revised):
    now = client.get(PAGE)
    then = client.get(f"{PAGE}?as_of=2025-04-01")
    again = client.get(f"{PAGE}?as_of=2025-04-01")
    assert (now["X-Page-Cache"], then["X-Page-Cache"]) == ("miss", "miss")
    assert again["X-Page-Cache"] == "hit"
    assert again.content == then.content != now.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "release", "published"),
    [
        ("id", "Rilis: Rilis Juni.", "Sebagaimana dipublikasikan pada 1 Juni 2025, 17.00 WIB."),
        ("en", "Release: June release.", "As published on 1 June 2025, 17:00 WIB."),
    ],
)
def test_citation_is_pinned_to_the_release_and_instant(
    client, revised, language, release, published
):
    html = client.get(f"/{language}/indikator/ACTIVE_PARTICIPANTS/").content.decode()
    citation = html.split('<p class="citation">')[1].split("</p>")[0]
    assert release in citation and published in citation
    assert "Accessed" not in citation and "Diakses" not in citation
    assert "as_of=2025-06-01T17%3A00%3A00%2B07%3A00" in citation


@pytest.mark.django_db
def test_citation_as_of_names_the_earlier_release(client, revised):
    html = client.get(
        f"/en/indikator/ACTIVE_PARTICIPANTS/?as_of={_as_of(EARLIER)}"
    ).content.decode()
    citation = html.split('<p class="citation">')[1].split("</p>")[0]
    assert "Release: March release." in citation
    assert "As published on 1 March 2025, 17:00 WIB." in citation


@pytest.mark.django_db
def test_share_link_is_a_readonly_input_with_the_permalink(client, revised):
    html = client.get(f"{PAGE}?as_of=2025-04-01").content.decode()
    assert '<label for="share-link">' in html
    assert (
        '<input type="text" id="share-link" class="share-link" readonly '
        'value="http://testserver/id/indikator/ACTIVE_PARTICIPANTS/?frequency=A&amp;region=ID'
        '&amp;segment=_T&amp;program=_T&amp;as_of=2025-04-01T23%3A59%3A59.999999%2B07%3A00"' in html
    )


@pytest.mark.django_db
def test_as_of_page_costs_no_more_queries_than_the_current_one(
    client, revised, django_assert_max_num_queries
):
    with django_assert_max_num_queries(40):
        assert client.get(f"{PAGE}?as_of=2025-04-01").status_code == 200


def test_decimal_kept_exact_in_xlsx_text_column():
    from stats.opendata.xlsx import workbook

    content = workbook(
        header=["period", "value", "unit"],
        rows=[["2023", Decimal("1001000000000000.07"), "rupiah"]],
        metadata=[("title", "t")],
    )
    data, metadata = _sheets(content)
    assert data[0] == ["period", "value", "value_exact", "unit"]
    assert data[1][2] == "1001000000000000.07"
    assert metadata == {"title": "t"}
