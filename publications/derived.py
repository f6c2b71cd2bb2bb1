"""The "recompute, then publish what changed" workflow: derived values computed with a
release (precompute, at scheduling), confirmed after it is public by a task fed from an
outbox (``RecomputeRequest``, swept by beat when a message is lost), and full
recomputes published as releases of their own."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
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

# Errors that say nothing about the recompute itself (the database, the cache or the
# broker went away for a moment): the request goes back to pending and the task retries.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)
# A request that failed waits before its next attempt: twice as long after each
# failure, from RETRY_FIRST up to RETRY_MAX, and is retried at that pace until it
# succeeds (a fix deployed meanwhile is picked up; nothing is given up silently).
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(hours=1)
# The first key of the PostgreSQL advisory lock a running request holds (the second is
# the request id): any constant no other lock of this database uses.
RUNNING_LOCK_CLASS = 0x616E676B


def recompute_retry_delay(*, attempts: int) -> dt.timedelta:
    """How long a request that has failed after ``attempts`` attempts waits for the next."""
    doublings = min(max(attempts - 1, 0), 32)  # enough to pass the cap, bounded
    return min(RETRY_FIRST * 2**doublings, RETRY_MAX)


@contextmanager
def _running_lock(request_id: int) -> Iterator[bool]:
    """A session-level advisory lock on the request, held while a worker runs it: yields
    whether this session holds it. PostgreSQL releases it when the session ends, so a
    request marked running whose lock is free was left by a worker that died."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [RUNNING_LOCK_CLASS, request_id % 2**31]
        )
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            # A dead connection has released it already.
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [RUNNING_LOCK_CLASS, request_id % 2**31]
                )


def _claimable(now: dt.datetime) -> Q:
    """Requests a run may take: pending, running but orphaned (the caller holds their
    lock, so no live worker does), failed with their next attempt due."""
    return (
        Q(status__in=[RecomputeStatus.PENDING, RecomputeStatus.RUNNING])
        | Q(status=RecomputeStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=RecomputeStatus.FAILED, next_attempt_at__isnull=True)
    )


def recompute_request_run(*, request_id: int) -> RecomputeRequest | None:
    """Claim a request (pending, orphaned, or failed and due), confirm the derived values,
    mark it done; a failure marks it failed with the time of its next attempt.

    Safe to run twice or concurrently: the advisory lock lets one run at a time work on
    the request, the claim is a conditional update, and the recompute itself writes
    nothing when the values are already right.
    """
    with _running_lock(request_id) as held:
        if not held:
            return None  # a live worker runs it now
        now = timezone.now()
        claimed = RecomputeRequest.objects.filter(_claimable(now), pk=request_id).update(
            status=RecomputeStatus.RUNNING, started_at=now, attempts=F("attempts") + 1
        )
        if not claimed:
            return None
        request = RecomputeRequest.objects.select_related("release").get(pk=request_id)
        try:
            summary = derived_confirm(release=request.release)
        except TRANSIENT_ERRORS:
            # On a dead connection this fails too; the free lock then marks the request
            # as orphaned for the sweeper.
            with contextlib.suppress(DatabaseError):
                RecomputeRequest.objects.filter(pk=request_id).update(
                    status=RecomputeStatus.PENDING
                )
            raise
        except Exception as exc:
            failed_at = timezone.now()
            RecomputeRequest.objects.filter(pk=request_id).update(
                status=RecomputeStatus.FAILED,
                error=repr(exc)[:2000],
                finished_at=failed_at,
                next_attempt_at=failed_at + recompute_retry_delay(attempts=request.attempts),
            )
            raise
        RecomputeRequest.objects.filter(pk=request_id).update(
            status=RecomputeStatus.DONE,
            finished_at=timezone.now(),
            next_attempt_at=None,
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
    """Enqueue again every request not finished: pending ones older than ``older_than``
    (a lost message), running ones whose worker died (their lock is free), failed ones
    whose next attempt is due."""
    now = timezone.now()
    ids = list(
        RecomputeRequest.objects.filter(
            Q(status=RecomputeStatus.PENDING, created_at__lt=now - older_than)
            | Q(status=RecomputeStatus.FAILED, next_attempt_at__lte=now)
            | Q(status=RecomputeStatus.FAILED, next_attempt_at__isnull=True)
        ).values_list("pk", flat=True)
    )
    for request_id in RecomputeRequest.objects.filter(status=RecomputeStatus.RUNNING).values_list(
        "pk", flat=True
    ):
        with _running_lock(request_id) as held:
            if held:
                ids.append(request_id)
    for request_id in sorted(ids):
        recompute_request_enqueue(request_id=request_id)
    return sorted(ids)


def recompute_requests_retry_now(*, request_ids: Iterable[int]) -> list[int]:
    """Make the failed requests among ``request_ids`` due now and enqueue them (a person
    who fixed the cause does not wait for the backoff)."""
    now = timezone.now()
    failed = RecomputeRequest.objects.filter(
        pk__in=list(request_ids), status=RecomputeStatus.FAILED
    )
    ids = sorted(failed.values_list("pk", flat=True))
    RecomputeRequest.objects.filter(pk__in=ids).update(next_attempt_at=now)
    for request_id in ids:
        recompute_request_enqueue(request_id=request_id)
    return ids
