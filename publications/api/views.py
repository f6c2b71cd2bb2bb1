"""Releases, news releases and the release calendar in the read API.

What is public is decided by publications.selectors (the embargo lives there); the
shared API behaviour (strict parameters, CSV, paging, caching) comes from stats.api.
"""

from __future__ import annotations

from functools import cached_property

from django.db.models import Count, Max, Min, Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from publications.choices import ReleaseStatus
from publications.models import Release
from publications.selectors import (
    calendar_indicators_public,
    calendar_upcoming,
    news_public,
    releases_public,
)
from stats.api.base import PublicDetailMixin
from stats.selectors import indicators_public

from .filtersets import NewsFilterSet, ReleaseFilterSet
from .serializers import (
    CalendarEntrySerializer,
    NewsReleaseDetailSerializer,
    NewsReleaseSerializer,
    ReleaseDetailSerializer,
    ReleaseSerializer,
)

NEWEST_FIRST = [("published_at", True), ("id", True)]


@extend_schema_view(
    list=extend_schema(
        summary="Published releases, newest first",
        description="Each release bundles the values that became public together; a "
        "correction names the release it corrects and why.",
    ),
    retrieve=extend_schema(
        summary="One published release",
        description="With the indicators it published, its corrections and news releases.",
    ),
)
class ReleaseViewSet(PublicDetailMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ReleaseSerializer
    detail_serializer_class = ReleaseDetailSerializer
    filterset_class = ReleaseFilterSet
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    lookup_description = "Release slug, as in the `slug` and `url` of the list."
    ordering_options = {"-published_at": NEWEST_FIRST}
    default_ordering = "-published_at"
    csv_filename = "releases.csv"

    def get_queryset(self):
        return releases_public().select_related("corrects")


@extend_schema_view(
    list=extend_schema(
        summary="Published news releases, newest first",
        description="News releases in Indonesian and English (`language`), each with the "
        "release it accompanies and the indicators it is about.",
    ),
    retrieve=extend_schema(
        summary="One news release",
        description="With its body in Markdown, as it was published.",
    ),
)
class NewsReleaseViewSet(PublicDetailMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = NewsReleaseSerializer
    detail_serializer_class = NewsReleaseDetailSerializer
    filterset_class = NewsFilterSet
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    lookup_description = "News release slug, as in the `slug` and `url` of the list."
    ordering_options = {"-published_at": NEWEST_FIRST}
    default_ordering = "-published_at"
    csv_filename = "news.csv"

    def get_queryset(self):
        # The indicators it names that are public (``indicators_public``): one of a
        # release still under embargo is not named before its values are.
        return (
            news_public()
            .select_related("release")
            .prefetch_related(Prefetch("indicators", queryset=indicators_public()))
        )


@extend_schema_view(
    list=extend_schema(
        summary="Release calendar",
        description="Releases scheduled to come out, soonest first: slug, title, time, "
        "the page they will be published on and the indicators they will update (those "
        "already public; an indicator new with a release is named from its release time). "
        "Nothing else of a release shows before its time.",
    ),
    retrieve=extend_schema(
        summary="One scheduled release",
        description="A calendar entry by its slug, as in the list; 404 once it is "
        "published (it is then a release) or if it is not scheduled.",
    ),
)
class CalendarViewSet(PublicDetailMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CalendarEntrySerializer
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    lookup_description = "Slug of a scheduled release, as in the `slug` of the list."
    ordering_options = {"scheduled_for": [("scheduled_for", False), ("pk", False)]}
    default_ordering = "scheduled_for"
    csv_filename = "calendar.csv"

    def get_queryset(self):
        return calendar_upcoming()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["calendar_indicators"] = calendar_indicators_public()
        return context

    def version_parts(self):
        # Scheduling or moving a release changes the calendar without any publication.
        return [*super().version_parts(), *(str(value) for value in self.scheduled.values())]

    def edited_at(self):
        return self.scheduled["edited"]

    @cached_property
    def scheduled(self) -> dict:
        return Release.objects.filter(status=ReleaseStatus.SCHEDULED).aggregate(
            count=Count("id"), edited=Max("updated_at"), first=Min("scheduled_for")
        )

    def get_csv_columns(self):
        return [
            ("slug", "slug"),
            ("title", "title"),
            ("scheduled_for", "scheduled_for"),
            ("indicators", "indicators[].code"),
            ("page", "page"),
            ("url", "url"),
        ]
