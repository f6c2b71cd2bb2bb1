"""Every write of the publishing domain.

For now a release is drafted and published; review, four eyes and the embargo
schedule build on ``release_publish`` without changing what it does to the data.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from stats.models import Observation

from .choices import ReleaseStatus
from .models import Release


class ReleaseError(Exception):
    """A release cannot make the asked-for move; the message says why."""


def release_create(
    *,
    slug: str,
    title_id: str,
    title_en: str,
    source: str = "",
    summary_id: str = "",
    summary_en: str = "",
    user=None,
    corrects: Release | None = None,
    correction_reason: str = "",
) -> Release:
    if corrects is not None and not correction_reason.strip():
        raise ReleaseError("a correction must give its reason")
    return Release.objects.create(
        slug=slug,
        title_id=title_id,
        title_en=title_en,
        source=source,
        summary_id=summary_id,
        summary_en=summary_en,
        created_by=user,
        corrects=corrects,
        correction_reason=correction_reason,
    )


def release_publish(*, release: Release, user=None, at: dt.datetime | None = None) -> Release:
    """Make the observations of ``release`` public at ``at`` (default: now), all at once.

    Values it revises stay in the database, closed at the same instant: as-of reads
    before ``at`` still see them. Publishing an already published release changes
    nothing, so a retried task is harmless.
    """
    at = at or timezone.now()
    with transaction.atomic():
        claimed = Release.objects.filter(
            pk=release.pk, status__in=[ReleaseStatus.DRAFT, ReleaseStatus.SCHEDULED]
        ).update(status=ReleaseStatus.PUBLISHED, published_at=at)
        if not claimed:
            release.refresh_from_db()
            if release.status == ReleaseStatus.PUBLISHED:
                return release
            raise ReleaseError(f"release {release.slug} is {release.get_status_display()}")
        # A revision must come after what it revises, or the vintages would overlap.
        latest = (
            Observation.objects.current()
            .filter(_revised_by(release.pk))
            .aggregate(latest=Max("valid_from"))["latest"]
        )
        if latest is not None and latest >= at:
            raise ReleaseError(
                f"release {release.slug} revises values published at {latest.isoformat()}; "
                f"it cannot be published earlier ({at.isoformat()})"
            )
        _close_revised(release_id=release.pk, at=at)
        Observation.objects.filter(release=release, valid_from__isnull=True).update(valid_from=at)
    release.refresh_from_db()
    return release


def _revised_by(release_id: int):
    return Exists(
        Observation.objects.filter(
            release_id=release_id,
            series_id=OuterRef("series_id"),
            period=OuterRef("period"),
            valid_from__isnull=True,
        )
    )


def _close_revised(*, release_id: int, at: dt.datetime) -> None:
    """Close the current vintage of every (series, period) the release brings anew."""
    Observation.objects.current().filter(_revised_by(release_id)).update(valid_to=at)
