"""The "recompute, then publish what changed" workflow: derived values computed with a
release (precompute, at scheduling), confirmed after it is public by a task fed from an
outbox (``RecomputeRequest``, swept by beat when a message is lost), and full
recomputes published as releases of their own."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from stats.derived import RecomputeSummary, RevisionOrderError, derived_run

from .choices import RecomputeStatus
from .models import RecomputeRequest, Release
from .services import (
    publication_lock,
    recompute_request_enqueue,
    release_create,
    release_publish,
)

logger = logging.getLogger(__name__)


def recompute_release_create(*, slug_base: str, title_id: str, title_en: str) -> Release:
    """A new draft release for the values a recompute writes (the system acts)."""
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    return release_create(
        slug=f"{slug_base}-{stamp}"[:120],
        title_id=title_id,
        title_en=title_en,
        source="angka: derived indicators",
    )


def publish_differences(
    compute, *, slug_base: str, title_id: str, title_en: str
) -> RecomputeSummary:
    """Write what differs from the published derived values into a new release, published now.

    ``compute(new_release, at)`` computes and writes (``derived_run``, which writes the
    values as published at ``at`` already, or as drafts when ``at`` is None); the new
    release is created only if there is anything to write.

    The instant is taken when the run starts. If a publication commits meanwhile a newer
    vintage of a value this run revises, the values cannot be published at that instant
    (a revision comes after what it revises): the run is undone and made again as
    drafts (``at`` None), published when they are written, as ``release_publish`` does.
    """

    def new_release():
        return recompute_release_create(slug_base=slug_base, title_id=title_id, title_en=title_en)

    with transaction.atomic():
        # In the order of publications: taken before the run reads the published values
        # and writes, so that no publication changes them under it (and no two wait on
        # each other's rows and lock).
        publication_lock()
        try:
            with transaction.atomic():
                summary = compute(new_release, timezone.now())
        except RevisionOrderError:
            logger.info("a publication came between; the recompute is written as drafts")
            summary = compute(new_release, None)
        recompute_release_publish(summary=summary)
    return summary


def recompute_release_publish(*, summary: RecomputeSummary) -> None:
    """Publish the new release of a recompute, if it wrote anything: its drafts, and the
    rows written as published already (``summary.published``, at ``published_at``),
    counted in the publication's audit entry with the vintages they closed."""
    if not summary.written:
        return
    # A run that wrote made its release with this layer's new_release.
    release = summary.release
    assert isinstance(release, Release)
    if summary.published:
        release_publish(
            release=release,
            at=summary.published_at,
            published_directly=summary.published,
            revised_directly=summary.revised,
        )
    else:
        release_publish(release=release)


def confirm_release_names(release: Release) -> dict[str, str]:
    """Slug base and titles of the release a confirmation of ``release`` publishes."""
    return {
        "slug_base": f"derived-{release.slug}"[:90],
        "title_id": f"Nilai turunan: {release.title_id}"[:255],
        "title_en": f"Derived values: {release.title_en}"[:255],
    }


RECOMPUTE_ALL_NAMES = {
    "slug_base": "derived-full-recompute",
    "title_id": "Penghitungan ulang nilai turunan",
    "title_en": "Full recompute of derived values",
}


def derived_confirm(*, release: Release) -> RecomputeSummary:
    """After ``release`` is public, recompute what it affects from the published data.

    Normally this finds nothing to change (the values were computed with the release);
    if other data were published in between, the new values are published as a
    derived-values release. Running it twice leaves the same rows.
    """
    return publish_differences(
        lambda new_release, at: derived_run(
            changed_release_id=release.pk, new_release=new_release, publish_at=at
        ),
        **confirm_release_names(release),
    )


def derived_recompute_all(*, only: Iterable[int] | None = None) -> RecomputeSummary:
    """Recompute every derived value from the published data; publish what differs."""
    return publish_differences(
        lambda new_release, at: derived_run(only=only, new_release=new_release, publish_at=at),
        **RECOMPUTE_ALL_NAMES,
    )


# -- the outbox ---------------------------------------------------------------------------

STALE_AFTER = dt.timedelta(minutes=5)


def recompute_request_run(*, request_id: int) -> RecomputeRequest | None:
    """Claim a pending (or stale running) request, confirm the derived values, mark it done.

    Safe to run twice or concurrently: the claim is a conditional update, and the
    recompute itself writes nothing when the values are already right.
    """
    now = timezone.now()
    claimed = RecomputeRequest.objects.filter(
        Q(status=RecomputeStatus.PENDING)
        | Q(status=RecomputeStatus.RUNNING, started_at__lt=now - STALE_AFTER)
        | Q(status=RecomputeStatus.FAILED),
        pk=request_id,
    ).update(status=RecomputeStatus.RUNNING, started_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    request = RecomputeRequest.objects.select_related("release").get(pk=request_id)
    try:
        summary = derived_confirm(release=request.release)
    except OperationalError:
        RecomputeRequest.objects.filter(pk=request_id).update(status=RecomputeStatus.PENDING)
        raise
    except Exception as exc:
        RecomputeRequest.objects.filter(pk=request_id).update(
            status=RecomputeStatus.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
        )
        raise
    RecomputeRequest.objects.filter(pk=request_id).update(
        status=RecomputeStatus.DONE,
        finished_at=timezone.now(),
        error="",
        result={
            "computed": summary.computed,
            "written": summary.written,
            "unchanged": summary.unchanged,
            "gaps": summary.gaps,
        },
    )
    request.refresh_from_db()
    return request


def recompute_requests_sweep(*, older_than: dt.timedelta = dt.timedelta(minutes=1)) -> list[int]:
    """Enqueue again every request not finished: lost messages, killed workers."""
    now = timezone.now()
    ids = list(
        RecomputeRequest.objects.filter(
            Q(status=RecomputeStatus.PENDING, created_at__lt=now - older_than)
            | Q(status=RecomputeStatus.RUNNING, started_at__lt=now - STALE_AFTER)
        ).values_list("pk", flat=True)
    )
    for request_id in ids:
        recompute_request_enqueue(request_id=request_id)
    return ids
