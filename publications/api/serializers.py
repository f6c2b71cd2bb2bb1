"""Serializers of releases, news releases and the calendar: explicit fields, public only."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from publications.models import NewsRelease, Release
from publications.selectors import news_public, releases_public
from stats.api.rows import pick
from stats.api.serializers import ResourceUrlField
from stats.models import Indicator


class ReleaseSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    summary = serializers.SerializerMethodField()
    corrects: serializers.SlugRelatedField[Release] = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="Slug of the release this one corrects, or null.",
    )
    url = ResourceUrlField("publications-api:release-detail", lookup_field="slug")

    class Meta:
        model = Release
        fields = [
            "slug",
            "title",
            "title_id",
            "title_en",
            "summary",
            "source",
            "published_at",
            "corrects",
            "correction_reason",
            "url",
        ]

    def get_summary(self, release: Release) -> str:
        return release.localized("summary")


class ReleaseDetailSerializer(ReleaseSerializer):
    summary_id = serializers.CharField(read_only=True)
    summary_en = serializers.CharField(read_only=True)
    indicators = serializers.SerializerMethodField()
    corrections = serializers.SerializerMethodField()
    news = serializers.SerializerMethodField()

    class Meta(ReleaseSerializer.Meta):
        fields = [
            *ReleaseSerializer.Meta.fields,
            "summary_id",
            "summary_en",
            "indicators",
            "corrections",
            "news",
        ]

    def get_indicators(self, release: Release) -> list[str]:
        """Codes of the indicators it published values of."""
        return list(
            Indicator.objects.filter(series__observations__release=release)
            .distinct()
            .order_by("code")
            .values_list("code", flat=True)
        )

    def get_corrections(self, release: Release) -> list[str]:
        """Slugs of the published releases that correct it."""
        return list(releases_public().filter(corrects=release).values_list("slug", flat=True))

    def get_news(self, release: Release) -> list[str]:
        return list(news_public().filter(release=release).values_list("slug", flat=True))


class NewsReleaseSerializer(serializers.ModelSerializer):
    release: serializers.SlugRelatedField[Release] = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="Slug of the release it accompanies, or null.",
    )
    indicators: serializers.SlugRelatedField[Indicator] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    url = ResourceUrlField("publications-api:news-detail", lookup_field="slug")

    class Meta:
        model = NewsRelease
        fields = [
            "slug",
            "language",
            "title",
            "lead",
            "published_at",
            "release",
            "indicators",
            "url",
        ]


class NewsReleaseDetailSerializer(NewsReleaseSerializer):
    class Meta(NewsReleaseSerializer.Meta):
        fields = [*NewsReleaseSerializer.Meta.fields, "body"]


class CalendarIndicatorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Indicator code.")
    name = serializers.CharField()
    url = serializers.URLField(help_text="The indicator in the API.")


class CalendarEntrySerializer(serializers.Serializer):
    """A scheduled release under embargo: its slug, title, time, page and the public
    indicators it will update (``calendar_indicators_public``), nothing more."""

    api_description = (
        "A release scheduled to come out: its title, release time, page and the "
        "indicators it will update (of those already public; a new indicator is named "
        "from its release time)."
    )

    slug = serializers.CharField(help_text="Its slug: its address in the calendar.")
    title = serializers.SerializerMethodField()
    scheduled_for = serializers.DateTimeField()
    page = serializers.SerializerMethodField()
    indicators = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_title(self, entry: dict) -> str:
        return pick(entry["title_id"], entry["title_en"])

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(OpenApiTypes.URI)
    def get_page(self, entry: dict) -> str:
        """Its page on the site, public from its release time."""
        return self._absolute(reverse("publications:release", args=[entry["slug"]]))

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, entry: dict) -> str:
        """This entry in the API."""
        return self._absolute(reverse("publications-api:calendar-detail", args=[entry["slug"]]))

    @extend_schema_field(CalendarIndicatorSerializer(many=True))
    def get_indicators(self, entry: dict) -> list[dict]:
        """The public indicators it will update, by code."""
        found = self.context["calendar_indicators"].get(entry["pk"], [])
        return [
            {
                "code": indicator["code"],
                "name": pick(indicator["name_id"], indicator["name_en"]),
                "url": self._absolute(
                    reverse("stats-api:indicator-detail", args=[indicator["code"]])
                ),
            }
            for indicator in found
        ]
