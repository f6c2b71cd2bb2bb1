"""What publishing adds to the statistics site (registered in ``PublicationsConfig.ready``).

Stats knows nothing of releases and news releases; through this extension its caches
also follow what is published, scheduled or edited here, and its indicator page links
each value to its release and lists the news releases on the indicator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Max, Min, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from stats.extensions import ScheduledRelease

from .choices import ReleaseStatus
from .models import NewsRelease, Release
from .selectors import news_public_in_language, release_next_for_indicator, releases_public

# News releases listed on an indicator page.
INDICATOR_NEWS_SHOWN = 5


class PublishingExtension:
    def last_change_at(self, *, now: dt.datetime) -> dt.datetime | None:
        release = Release.objects.filter(
            status=ReleaseStatus.PUBLISHED, published_at__lte=now
        ).aggregate(latest=Max("published_at"))["latest"]
        news = NewsRelease.objects.filter(published_at__lte=now).aggregate(
            latest=Max("published_at")
        )["latest"]
        candidates = [instant for instant in (release, news) if instant is not None]
        return max(candidates) if candidates else None

    def next_change_at(self, *, now: dt.datetime) -> dt.datetime | None:
        releases = Release.objects.aggregate(
            published=Min(
                "published_at", filter=Q(status=ReleaseStatus.PUBLISHED, published_at__gt=now)
            ),
            scheduled=Min(
                "scheduled_for", filter=Q(status=ReleaseStatus.SCHEDULED, scheduled_for__gt=now)
            ),
        )
        news = NewsRelease.objects.filter(published_at__gt=now).aggregate(first=Min("published_at"))
        instants = [i for i in (*releases.values(), news["first"]) if i is not None]
        return min(instants) if instants else None

    def releases_public(self, *, now: dt.datetime) -> dict[str, int]:
        return dict(releases_public(now=now).order_by().values_list("slug", "id"))

    def release_links(self, *, release_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        return {
            release.pk: (reverse("publications:release", args=[release.slug]), release.title)
            for release in Release.objects.filter(pk__in=list(release_ids))
        }

    def next_release(self, *, indicator_id: int) -> ScheduledRelease | None:
        release = release_next_for_indicator(indicator_id=indicator_id)
        if release is None or release.scheduled_for is None:
            return None
        return ScheduledRelease(
            slug=release.slug,
            scheduled_for=release.scheduled_for,
            path=reverse("publications:release", args=[release.slug]),
            title_id=release.title_id,
            title_en=release.title_en,
            calendar_path=reverse("publications:calendar") + f"#release-{release.pk}",
        )

    def indicator_sections(self, *, indicator, request) -> list[str]:
        language = "en" if (translation.get_language() or "id")[:2] == "en" else "id"
        news = list(
            news_public_in_language(language=language).filter(indicators=indicator)[
                :INDICATOR_NEWS_SHOWN
            ]
        )
        html = render_to_string("publications/_indicator_news.html", {"news": news}, request)
        return [html]


publishing_extension = PublishingExtension()
