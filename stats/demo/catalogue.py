"""The demo data set's catalogue, kept as data in ``catalogue.toml`` beside this module.

Records have named fields (the models' field names), so the loader passes them on
instead of unpacking tuples by position.
"""

import tomllib
from pathlib import Path
from typing import Any

_DATA: dict[str, Any] = tomllib.loads(
    Path(__file__).with_name("catalogue.toml").read_text(encoding="utf-8")
)

TOPICS: list[dict[str, str]] = _DATA["topic"]
CODELISTS: list[dict[str, Any]] = _DATA["codelist"]
# Base and derived indicators; a derived one has a ``derived`` table (kind, parameters, inputs).
INDICATORS: list[dict[str, Any]] = _DATA["indicator"]
SOURCE_NOTE: str = _DATA["source_note"]
SOURCE_NOTE_ID: str = _DATA["source_note_id"]
ILLUSTRATIVE_SOURCE: str = _DATA["illustrative_source"]
ILLUSTRATIVE_SOURCE_ID: str = _DATA["illustrative_source_id"]
PRESS_SOURCE: str = _DATA["press_source"]
# Stored text (English) -> its Indonesian words.
TEXT_TRANSLATIONS: dict[str, str] = _DATA["text_translations"]
# The Indonesian words of the demo database's earlier stored form: kept as they are.
LEGACY_TEXTS = {ILLUSTRATIVE_SOURCE_ID: (ILLUSTRATIVE_SOURCE_ID, ILLUSTRATIVE_SOURCE)}
PROVINCE_WEIGHTS: dict[str, float] = _DATA["province_weights"]
# The region codes' search terms (``search_terms_id``, ``search_terms_en``) by BPS code.
REGION_SEARCH_TERMS: dict[str, dict[str, str]] = _DATA["region_search_terms"]
