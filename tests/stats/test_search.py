"""The site search over indicators, places and codes (``stats.selectors.indicators_search``,
``codes_search``): names, codes, alternative codes and search terms, in both languages,
whatever the case and accents; base indicators before computed ones; only what is public."""

import datetime as dt
import io

import pytest
from django.utils import timezone

from publications.models import Release
from publications.services import release_create, release_publish
from stats.models import Code, Indicator, Topic
from stats.selectors import (
    codes_search,
    codes_search_with_measure,
    indicators_search,
    search_text,
    search_words,
)
from stats.services import observations_import

LIMIT = 20


def _codes(query: str) -> list[tuple[str, str]]:
    return [
        (found.code.codelist_id, found.code.code)
        for found in codes_search(query=query, limit=LIMIT)
    ]


def _indicators(query: str) -> list[str]:
    return [indicator.code for indicator in indicators_search(query=query)]


# (query, the first code found) — places by name, abbreviation, English name, BPS and ISO
# code; codes by code, name and synonym, in either language.
CODE_QUERIES = [
    ("jawa barat", ("region", "32")),
    ("Jawa Barat", ("region", "32")),
    ("JAWA  BARAT", ("region", "32")),
    ("jabar", ("region", "32")),
    ("Jabar", ("region", "32")),
    ("west java", ("region", "32")),
    ("provinsi jawa barat", ("region", "32")),
    ("ID-JB", ("region", "32")),
    ("id-jb", ("region", "32")),
    ("32", ("region", "32")),
    ("Yogyakárta", ("region", "34")),
    ("jogja", ("region", "34")),
    ("jatim", ("region", "35")),
    ("nasional", ("region", "ID")),
    ("ID", ("region", "ID")),
    ("BPU", ("segment", "BPU")),
    ("bpu", ("segment", "BPU")),
    ("bukan penerima upah", ("segment", "BPU")),
    ("informal sector", ("segment", "BPU")),
    ("pekerja informal", ("segment", "BPU")),
    ("JHT", ("program", "JHT")),
    ("jaminan hari tua", ("program", "JHT")),
    ("old-age savings", ("program", "JHT")),
    ("provident fund", ("program", "JHT")),
    ("pensiun", ("program", "JP")),
    ("kecelakaan kerja", ("program", "JKK")),
]


@pytest.mark.parametrize(("query", "first"), CODE_QUERIES)
def test_a_place_or_code_is_found_by_its_names_codes_and_synonyms(demo, query, first):
    found = codes_search(query=query, limit=LIMIT)
    assert found, query
    assert (found[0].code.codelist_id, found[0].code.code) == first
    assert found[0].exact or len(search_words(query)) > 0


@pytest.mark.parametrize(
    ("query", "exact"),
    [("32", True), ("ID-JB", True), ("jabar", True), ("Jawa Barat", True), ("jawa", False)],
)
def test_a_code_named_whole_is_an_exact_match(demo, query, exact):
    found = codes_search(query=query, limit=LIMIT)
    assert found[0].code.code == "32" or not exact
    assert found[0].exact is exact


@pytest.mark.parametrize("query", ["_T", "_t", "T", "semua"])
def test_the_reserved_total_codes_are_not_found(demo, query):
    assert all(not code.startswith("_") for _list, code in _codes(query))


def test_the_words_of_a_code_list_narrow_but_do_not_find_by_themselves(demo):
    assert _codes("peserta") == []  # the segments' code list says "kategori peserta"
    assert _codes("provinsi") == []
    assert _codes("provinsi jabar") == [("region", "32")]


def test_a_place_lists_the_public_indicators_with_values_for_it(demo):
    (found,) = codes_search(query="jawa barat", limit=LIMIT)
    codes = [indicator.code for indicator in found.indicators]
    assert "ACTIVE_PARTICIPANTS" in codes
    national = codes_search(query="ID", limit=LIMIT)[0]
    assert len(national.indicators) > len(found.indicators)
    # what was reported before what is computed
    computed = [indicator.computed for indicator in national.indicators]
    assert computed == sorted(computed)


# (query, the first indicator found): names, descriptions and search terms in both
# languages; the one a query names exactly first, then reported before computed.
INDICATOR_QUERIES = [
    ("peserta", "ACTIVE_PARTICIPANTS"),
    ("participants", "ACTIVE_PARTICIPANTS"),
    ("members", "ACTIVE_PARTICIPANTS"),
    ("anggota", "ACTIVE_PARTICIPANTS"),
    ("peserta aktif", "ACTIVE_PARTICIPANTS"),
    ("Active participants", "ACTIVE_PARTICIPANTS"),
    ("active_participants", "ACTIVE_PARTICIPANTS"),
    ("dana kelolaan", "FUNDS_UNDER_MANAGEMENT"),
    ("Dana Kelolaan", "FUNDS_UNDER_MANAGEMENT"),
    ("funds under management", "FUNDS_UNDER_MANAGEMENT"),
    ("AUM", "FUNDS_UNDER_MANAGEMENT"),
    ("DJS", "FUNDS_UNDER_MANAGEMENT"),
    ("dana jaminan sosial", "FUNDS_UNDER_MANAGEMENT"),
    ("beasiswa", "SCHOLARSHIP_PAID"),
    ("scholarships", "SCHOLARSHIP_PAID"),
    ("Sakernas", "EMPLOYED_POPULATION"),
    ("imbal hasil", "INVESTMENT_YIELD"),
    ("return on investment", "INVESTMENT_YIELD"),
    ("tiga kali lipat", "BPU_PARTICIPANTS_MULTIPLE_3Y"),
    ("tripled", "BPU_PARTICIPANTS_MULTIPLE_3Y"),
    ("JMO", "CLAIM_PROCESSING_TIME"),
]


@pytest.mark.parametrize(("query", "first"), INDICATOR_QUERIES)
def test_an_indicator_is_found_by_its_names_and_synonyms_in_either_language(demo, query, first):
    assert _indicators(query)[:1] == [first]


@pytest.mark.parametrize("query", ["peserta", "participants", "dana kelolaan", "AUM", "BPU"])
def test_reported_indicators_come_before_computed_ones(demo, query):
    found = list(indicators_search(query=query))
    computed = [indicator.computed for indicator in found if not indicator.exact]
    assert computed == sorted(computed)


def test_an_indicator_named_by_its_code_comes_first_even_when_computed(demo):
    assert _indicators("ACTIVE_PARTICIPANTS_YOY")[0] == "ACTIVE_PARTICIPANTS_YOY"
    assert _indicators("funds_under_management_growth")[0] == "FUNDS_UNDER_MANAGEMENT_GROWTH"


def test_the_query_text_is_compared_without_accents_case_or_extra_space():
    assert search_text("  Jáwa   BARAT ") == "jawa barat"
    assert search_words("ID-JB") == ["id", "jb"]
    assert search_words("_T") == []  # a one-letter word begins too many words
    assert search_words("a:* & !b | c'") == []  # nothing of tsquery's syntax gets through


def test_accented_text_in_the_catalogue_is_found_by_plain_letters(demo):
    Indicator.objects.filter(code="CLAIM_CASES").update(search_terms_en="Pérez índex")
    assert _indicators("perez index") == ["CLAIM_CASES"]
    assert _indicators("PÉREZ") == ["CLAIM_CASES"]


def test_search_terms_are_data_edited_like_any_field(demo):
    assert _codes("bandung raya") == []
    Code.objects.filter(codelist_id="region", code="32").update(search_terms_id="Bandung Raya")
    assert _codes("bandung raya") == [("region", "32")]


# --- Embargo: nothing only an unpublished release uses is found. ---


@pytest.fixture
def scheduled_only(demo):
    """A new indicator whose only values, and the only values of segment PMI for it, are
    in a release scheduled for next week."""
    Indicator.objects.create(
        code="PMI_CLAIMS_SECRET",
        name_id="Klaim rahasia pekerja migran",
        name_en="Secret migrant claims",
        search_terms_id="rahasiaku",
        search_terms_en="undisclosedterm",
        unit="cases",
        measure_kind="flow",
        frequencies="A",
        topic=Topic.objects.get(code="manfaat"),
    ).dimensions.set(["region", "segment", "program"])
    release = release_create(slug="pmi-rahasia", title_id="PMI rahasia", title_en="PMI secret")
    header = "indicator,region,segment,program,period,value,status,note,source\n"
    rows = "PMI_CLAIMS_SECRET,ID,PMI,_T,2024,123,normal,,test\n"
    report = observations_import(stream=io.StringIO(header + rows), release=release, commit=True)
    assert report.ok, report.errors
    Release.objects.filter(pk=release.pk).update(
        status="scheduled", scheduled_for=timezone.now() + dt.timedelta(days=7)
    )
    return release


@pytest.mark.parametrize(
    "query", ["PMI", "pekerja migran", "TKI", "migrant workers", "PMI_CLAIMS_SECRET"]
)
def test_a_code_only_an_unpublished_release_uses_is_not_found(scheduled_only, query):
    assert ("segment", "PMI") not in _codes(query)
    assert "PMI_CLAIMS_SECRET" not in _indicators(query)


@pytest.mark.parametrize("query", ["rahasiaku", "undisclosedterm", "klaim rahasia"])
def test_an_indicator_only_an_unpublished_release_uses_is_not_found(scheduled_only, query):
    assert _indicators(query) == []


def test_what_the_release_brings_is_found_once_it_is_published(scheduled_only):
    release_publish(release=Release.objects.get(pk=scheduled_only.pk))
    assert _indicators("rahasiaku") == ["PMI_CLAIMS_SECRET"]
    (found,) = codes_search(query="TKI", limit=LIMIT)
    assert found.code.code == "PMI"
    assert [indicator.code for indicator in found.indicators] == ["PMI_CLAIMS_SECRET"]


# --- Query counts: bounded whatever is found. ---


@pytest.mark.parametrize("query", ["ID", "jawa barat", "peserta", "_T", "barat"])
def test_a_search_costs_a_bounded_number_of_queries(demo, django_assert_max_num_queries, query):
    with django_assert_max_num_queries(4):
        found = codes_search(query=query, limit=LIMIT)
        names = [item.code.codelist.name for item in found]
        names += [indicator.name for item in found for indicator in item.indicators]
        names += [indicator.topic.name for indicator in indicators_search(query=query)[:LIMIT]]
    assert all(names)


# --- A measure and a place in one query. ---

MEASURE_AND_PLACE = [
    # (query, its measure words, the code found)
    ("peserta jawa barat", "peserta", ("region", "32")),
    ("jabar peserta aktif", "peserta aktif", ("region", "32")),
    ("active participants West Java", "active participants", ("region", "32")),
    ("peserta aktif jatim", "peserta aktif", ("region", "35")),
    ("dana kelolaan JHT", "dana kelolaan", ("program", "JHT")),
]


@pytest.mark.parametrize(("query", "measure", "code"), MEASURE_AND_PLACE)
def test_a_measure_and_a_place_together_find_the_place_with_that_measure(
    demo, query, measure, code
):
    assert _codes(query) == [] and _indicators(query) == []  # the whole query: nothing
    found = codes_search_with_measure(query=query, limit=LIMIT)
    assert [(item.code.codelist_id, item.code.code) for item in found] == [code]
    # Listed: the indicators the measure words find that have values for the code.
    with_values = {
        indicator.code
        for item in codes_search(query=code[1], limit=LIMIT)
        if (item.code.codelist_id, item.code.code) == code
        for indicator in item.indicators
    }
    expected = [c for c in _indicators(measure) if c in with_values]
    listed = [indicator.code for indicator in found[0].indicators]
    assert listed and sorted(listed) == sorted(expected)


@pytest.mark.parametrize("query", ["jawa barat", "peserta", "barat peserta", "zzz jawa barat"])
def test_a_query_that_is_not_a_measure_and_a_place_finds_nothing_this_way(demo, query):
    assert codes_search_with_measure(query=query, limit=LIMIT) == []


def test_a_measure_and_a_place_costs_a_bounded_number_of_queries(
    demo, django_assert_max_num_queries
):
    # Three words: four splits at most, one query each, and four for the one that finds.
    with django_assert_max_num_queries(4 + 4):
        found = codes_search_with_measure(query="peserta jawa barat", limit=LIMIT)
        assert [indicator.name for item in found for indicator in item.indicators]


def test_the_search_page_offers_the_place_with_the_measure(client, demo):
    response = client.get("/id/cari/", {"q": "peserta jawa barat"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Jawa Barat" in body
    assert "/id/indikator/ACTIVE_PARTICIPANTS/?region=32" in body
