"""Stored free texts in the reader's language: observation notes and sources, an
indicator's or a release's source.

They are written once, in one language, on rows that never change (published
observations are immutable); ``stats.models.TextTranslation`` holds their words in both
languages, keyed by the stored text. The table is small and read once per worker and
data generation (an admin edit raises ``public_data_changed``): a page pays no query.
A text without a translation is shown as stored.
"""

from __future__ import annotations

from .events import generation, generation_memo
from .models import TextTranslation


def _translations() -> dict[str, tuple[str, str]]:
    return {
        text: (text_id, text_en)
        for text, text_id, text_en in TextTranslation.objects.values_list(
            "text", "text_id", "text_en"
        )
    }


def text_translations() -> dict[str, tuple[str, str]]:
    """Every stored text with its (Indonesian, English) words."""
    return generation_memo(generation(), "text-translations", _translations)


def text_localized(text: str, *, language: str) -> str:
    """``text`` in ``language`` ("id" or "en"), or as stored where it has no translation."""
    if not text:
        return text
    found = text_translations().get(text)
    if found is None:
        return text
    text_id, text_en = found
    return (text_en if language == "en" else text_id) or text
