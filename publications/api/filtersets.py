"""FilterSets of the publishing resources of the read API (strict, like stats')."""

from __future__ import annotations

from publications.choices import Language
from publications.models import NewsRelease, Release
from stats.filtersets import ChoiceListFilter, IndicatorFilter, ReleaseFilter, StrictFilterSet


class ReleaseFilterSet(StrictFilterSet):
    indicator = IndicatorFilter(
        field_name="observations__series__indicator_id",
        distinct=True,
        help_text="Releases that published values of this indicator (comma list allowed).",
    )

    class Meta:
        model = Release
        fields: list[str] = []


class NewsFilterSet(StrictFilterSet):
    language = ChoiceListFilter(
        field_name="language",
        allowed=Language.values,
        help_text="id (Indonesian) or en (English).",
    )
    release = ReleaseFilter(
        field_name="release_id", help_text="Slug of the published release it accompanies."
    )
    indicator = IndicatorFilter(
        field_name="indicators",
        distinct=True,
        help_text="News releases about this indicator (comma list allowed).",
    )

    class Meta:
        model = NewsRelease
        fields: list[str] = []
