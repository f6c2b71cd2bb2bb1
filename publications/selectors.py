"""Public reads of the publishing domain: what anyone without staff rights may see.

The embargo lives here for releases and news releases, as it lives in
``Observation.objects.current()`` for values: a scheduled release shows only its
title and time in the calendar; its news release stays hidden until the release is
published, when ``release_publish`` sets both in one transaction.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from stats.derived.provenance import with_full_provenance
from stats.models import Observation, Series
from stats.selectors import indicators_public

from .choices import ReleaseStatus
from .models import NewsRelease, Release

# What the calendar may tell of a release under embargo (and which indicators it will
# update, of those already public: ``calendar_indicators_public``).
CALENDAR_FIELDS = ("slug", "title_id", "title_en", "scheduled_for")


def releases_public(*, now: dt.datetime | None = None) -> QuerySet[Release]:
    """Published releases, newest first."""
    now = now or timezone.now()
    return Release.objects.filter(
        status=ReleaseStatus.PUBLISHED, published_at__isnull=False, published_at__lte=now
    ).order_by("-published_at", "-pk")


def news_public(
    *, language: str | None = None, now: dt.datetime | None = None
) -> QuerySet[NewsRelease]:
    """Published news releases, newest first.

    One that goes with a release is public only once that release is published.
    """
    now = now or timezone.now()
    queryset = NewsRelease.objects.filter(published_at__isnull=False, published_at__lte=now).filter(
        Q(release__isnull=True) | Q(release__status=ReleaseStatus.PUBLISHED)
    )
    if language:
        queryset = queryset.filter(language=language)
    return queryset.order_by("-published_at", "-pk")


def news_public_in_language(
    *, language: str, now: dt.datetime | None = None
) -> QuerySet[NewsRelease]:
    """Published news releases as a page in ``language`` lists them, newest first.

    A news release in two languages is one news release: it is listed once, in
    ``language``; one with no translation in ``language`` is listed in its own.
    """
    public = news_public(now=now)
    translation_in_language = public.filter(language=language).filter(
        Q(translation_of=OuterRef("pk"))
        | Q(pk=OuterRef("translation_of"))
        | Q(translation_of=OuterRef("translation_of"))
    )
    return public.filter(Q(language=language) | ~Exists(translation_in_language))


def news_translations_public(
    *, news_release: NewsRelease, now: dt.datetime | None = None
) -> dict[str, NewsRelease]:
    """The published translations of one news release by language, itself included."""
    group = news_release.translation_group_id
    translations = news_public(now=now).filter(Q(pk=group) | Q(translation_of=group))
    found = {translation.language: translation for translation in translations}
    found.setdefault(news_release.language, news_release)
    return found


def calendar_upcoming() -> QuerySet:
    """Scheduled releases, soonest first: their slug, title and release time only (dicts).

    A release whose time has just passed stays listed until the scheduler has
    published it (within a minute), so it never vanishes from both lists at once.
    """
    return (
        Release.objects.filter(status=ReleaseStatus.SCHEDULED, scheduled_for__isnull=False)
        .order_by("scheduled_for", "pk")
        .values("pk", *CALENDAR_FIELDS)
    )


def calendar_indicators_public() -> dict[int, list[dict]]:
    """For each scheduled release (by id), the indicators it will update that
    are public already (``indicators_public``), by code, as {"code", "name_id",
    "name_en"}: an indicator that only releases under embargo have values of is not
    named before its values are. One query."""
    scheduled = Release.objects.filter(status=ReleaseStatus.SCHEDULED)
    rows = (
        Observation.objects.filter(
            release_id__in=scheduled.values("pk"),
            valid_from__isnull=True,
            series__indicator__in=indicators_public().values("pk"),
        )
        .order_by("release_id", "series__indicator__code")
        .values_list(
            "release_id",
            "series__indicator__code",
            "series__indicator__name_id",
            "series__indicator__name_en",
        )
        .distinct()
    )
    found: dict[int, list[dict]] = {}
    for release_id, code, name_id, name_en in rows:
        found.setdefault(release_id, []).append(
            {"code": code, "name_id": name_id, "name_en": name_en}
        )
    return found


def release_next_for_indicator(*, indicator_id: int) -> Release | None:
    """The soonest scheduled release with values of the indicator ``indicator_id``."""
    # Asked per series of the indicator, one probe each of the unique (release, series,
    # period) index: joining the values to the series instead made PostgreSQL read every
    # value of the release, or every period of every series looking for drafts.
    with_values = Series.objects.filter(indicator_id=indicator_id).filter(
        Exists(
            Observation.objects.filter(
                release_id=OuterRef(OuterRef("pk")), series_id=OuterRef("pk")
            )
        )
    )
    return (
        Release.objects.filter(status=ReleaseStatus.SCHEDULED, scheduled_for__isnull=False)
        .filter(Exists(with_values))
        .order_by("scheduled_for", "pk")
        .only(*CALENDAR_FIELDS)
        .first()
    )


# --- Reads for the public website. ---


def release_public_get(*, slug: str, now: dt.datetime | None = None) -> Release | None:
    """One published release by slug, or None (a scheduled or draft one does not exist here)."""
    return releases_public(now=now).filter(slug=slug).first()


def release_observations_public(*, release: Release) -> QuerySet:
    """What a published release published, each value with the one it revised (if any).

    ``previous_value`` / ``previous_release_title_*`` describe the vintage this value
    replaced; ``valid_to`` set means a later release revised it in turn.
    """
    previous = (
        Observation.objects.filter(
            series=OuterRef("series"),
            period=OuterRef("period"),
            valid_from__isnull=False,
            valid_from__lt=OuterRef("valid_from"),
        )
        .exclude(release=OuterRef("release"))
        .order_by("-valid_from")
    )
    return with_full_provenance(
        Observation.objects.filter(release=release, valid_from__isnull=False)
        .select_related("series", "series__indicator")
        .annotate(
            previous_value=Subquery(previous.values("value")[:1]),
            previous_release_slug=Subquery(previous.values("release__slug")[:1]),
            previous_release_title_id=Subquery(previous.values("release__title_id")[:1]),
            previous_release_title_en=Subquery(previous.values("release__title_en")[:1]),
        )
        .order_by(
            "series__indicator__topic__order",
            "series__indicator__code",
            "series__key",
            "period_start",
        )
    )


def calendar_entries_public(*, now: dt.datetime | None = None, past: int = 50) -> dict:
    """The calendar: upcoming releases (title and time only, with a stable id) and past ones."""
    published = list(releases_public(now=now)[:past])
    return {"upcoming": list(calendar_upcoming()), "past": published}


def news_public_filtered(
    *,
    language: str,
    topic: str | None = None,
    year: int | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[NewsRelease]:
    """Published news releases listed in ``language`` (each once), optionally of one topic
    (by its indicators) and one year."""
    queryset = news_public_in_language(language=language, now=now).select_related("release")
    if topic:
        queryset = queryset.filter(indicators__topic__code=topic).distinct()
    if year:
        queryset = queryset.filter(published_at__year=year)
    return queryset


def news_years_public(*, now: dt.datetime | None = None) -> list[int]:
    """The years that have a published news release, newest first (the year filter)."""
    instants = news_public(now=now).values_list("published_at", flat=True)
    # Published news releases all have the instant; the column is nullable for drafts.
    return sorted({instant.year for instant in instants if instant is not None}, reverse=True)


def releases_search(*, query: str) -> QuerySet[Release]:
    """Published releases whose title or summary matches ``query``, newest first."""
    queryset = releases_public()
    vector = SearchVector("title_id", "summary_id", config="simple") + SearchVector(
        "title_en", "summary_en", config="english"
    )
    search = SearchQuery(query, config="simple", search_type="websearch") | SearchQuery(
        query, config="english", search_type="websearch"
    )
    return queryset.annotate(document=vector).filter(
        Q(document=search) | Q(title_id__icontains=query) | Q(title_en__icontains=query)
    )


def news_search(*, query: str, language: str) -> QuerySet[NewsRelease]:
    """Published news releases whose title, lead or body matches ``query``, newest first.

    A match in either translation finds the news release, listed once, as a page in
    ``language`` lists it.
    """
    vector = SearchVector("title", "lead", "body", config="simple")
    search = SearchQuery(query, config="simple", search_type="websearch") | SearchQuery(
        query, config="english", search_type="websearch"
    )
    matching_groups = (
        news_public()
        .annotate(document=vector)
        .filter(Q(document=search) | Q(title__icontains=query))
        .annotate(group=Coalesce("translation_of", "pk"))
        .values("group")
    )
    return news_public_in_language(language=language).filter(
        Q(pk__in=matching_groups) | Q(translation_of__in=matching_groups)
    )
