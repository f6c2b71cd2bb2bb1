"""Stored notes and sources in the reader's language (stats.texts): the rows keep the
text as written (the API's language-neutral form), the pages show their translation."""

import csv
import io
import re

import pytest
from django.core.cache import cache

from stats.demo import catalogue
from stats.models import Observation, TextTranslation
from stats.texts import text_localized


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_stored_text_reads_in_each_language_and_an_unknown_one_as_stored(db):
    TextTranslation.objects.create(text="year end", text_id="akhir tahun", text_en="year end")
    assert text_localized("year end", language="id") == "akhir tahun"
    assert text_localized("year end", language="en") == "year end"
    assert text_localized("Kontan", language="id") == "Kontan"
    assert text_localized("", language="id") == ""


def test_the_source_angka_writes_on_derived_values_has_both_languages(db):
    # Added by the migration that made the table (stats 0009).
    assert text_localized("angka: derived", language="id") == "angka: dihitung dari angka terbitan"
    assert text_localized("angka: derived", language="en") == "angka: derived"


def test_every_demo_note_and_estimate_source_has_its_indonesian_words(demo):
    notes = set(Observation.objects.exclude(note="").values_list("note", flat=True))
    sources = set(Observation.objects.filter(status="estimate").values_list("source", flat=True))
    known = set(TextTranslation.objects.values_list("text", flat=True))
    assert notes <= known, notes - known
    assert sources <= known, sources - known
    assert set(catalogue.TEXT_TRANSLATIONS) <= known


@pytest.mark.parametrize(
    ("language", "note", "source", "credit"),
    [
        (
            "id",
            "dilaporkan untuk Februari 2023; keyakinan rendah (laporan sekunder)",
            "Ilustratif: dibangkitkan dari angka tahunan, bukan data resmi (38 nilai)",
            "Sumber: BPJS Ketenagakerjaan (pemberitaan pers).",
        ),
        (
            "en",
            "reported for February 2023; low confidence (secondary report)",
            "Illustrative: generated from annual figures, not official data (38 values)",
            "Source: BPJS Ketenagakerjaan (press reports).",
        ),
    ],
)
def test_the_indicator_page_gives_notes_and_sources_in_its_language(
    client, demo, language, note, source, credit
):
    html = client.get(f"/{language}/indikator/ACTIVE_PARTICIPANTS/").content.decode()
    assert f'<td class="muted">{note}</td>' in html
    notice = re.search(r'<div class="notice notice-sources".*?</div>', html, re.S).group(0)
    assert f"<li>{source}</li>" in notice
    assert credit in html


def test_the_release_page_gives_notes_in_its_language(client, demo):
    html = client.get("/id/rilis/ilustrasi-koreksi-provinsi/").content.decode()
    assert "koreksi ilustratif atas salah ketik" in html
    html = client.get("/en/rilis/ilustrasi-koreksi-provinsi/").content.decode()
    assert "illustrative correction of a keying error" in html


def test_the_api_keeps_the_stored_language_neutral_text(client, demo):
    query = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=32&frequency=A"
    rows = client.get(query).json()["results"]
    assert {row["source"] for row in rows} == {catalogue.ILLUSTRATIVE_SOURCE}
    assert {row["note"] for row in rows} == {
        "illustrative: national figure split by workforce weights"
    }


@pytest.mark.parametrize(
    ("lang", "source", "note"),
    [
        (
            "",
            catalogue.ILLUSTRATIVE_SOURCE,
            "illustrative: national figure split by workforce weights",
        ),
        (
            "id",
            "Ilustratif: dibangkitkan dari angka tahunan, bukan data resmi",
            "ilustratif: angka nasional dibagi menurut bobot angkatan kerja",
        ),
        (
            "en",
            catalogue.ILLUSTRATIVE_SOURCE,
            "illustrative: national figure split by workforce weights",
        ),
    ],
)
def test_the_api_gives_notes_and_sources_in_the_language_asked_in_json_and_csv(
    client, demo, lang, source, note
):
    query = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&region=32&frequency=A"
    if lang:
        query += f"&lang={lang}"
    rows = client.get(query).json()["results"]
    assert {(row["source"], row["note"]) for row in rows} == {(source, note)}
    text = b"".join(client.get(query + "&format=csv").streaming_content).decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    assert {(line["source"], line["note"]) for line in lines} == {(source, note)}
