"""Every write of the publishing domain: the release lifecycle and news releases.

A release moves draft -> in review -> (approved) -> scheduled -> published, or is
cancelled; a reviewer may return it to draft. Each move is one service here, used by
the admin, the tasks and the tests alike. Each checks the acting user's permission
(the roles are groups made by migration 0004), refuses with a ``ReleaseError`` that
says why, and writes an ``AuditEntry`` in the same transaction.

``user=None`` means the system acts: the scheduler publishing a due release, the demo
loader and the import command publishing a draft directly. Only code can do that; every
interface a person uses passes the person.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import IO

from celery import current_app
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from stats.derived import RevisionOrderError, derived_precompute
from stats.events import public_data_changed
from stats.httpcache import KEY_PUBLIC, indicator_key, news_key, release_key
from stats.models import Observation
from stats.services import ImportRefused, ImportReport, observations_import, observations_publish

from .choices import EDITABLE_RELEASE_STATUSES, ReleaseStatus
from .models import (
    PERM_ADD_NEWS,
    PERM_ADD_RELEASE,
    PERM_CHANGE_NEWS,
    PERM_CHANGE_RELEASE,
    PERM_PUBLISH_NEWS,
    PERM_REVIEW,
    PERM_SUBMIT,
    AuditAction,
    AuditEntry,
    NewsRelease,
    RecomputeRequest,
    Release,
)

logger = logging.getLogger(__name__)

# The fields of a release that data entry may edit while it is a draft.
RELEASE_EDITABLE_FIELDS = (
    "slug",
    "title_id",
    "title_en",
    "summary_id",
    "summary_en",
    "source",
    "correction_reason",
)
# Tolerated clock difference between the web server and the caller of a publication.
PUBLISH_CLOCK_TOLERANCE = dt.timedelta(seconds=5)


class ReleaseError(Exception):
    """A release cannot make the asked-for move; the message says why."""


class ReleasePermissionError(ReleaseError, PermissionDenied):
    """The user lacks the role the move needs."""


class FourEyesError(ReleasePermissionError):
    """The user would approve their own submission."""


def _require(user, permission: str, doing: str) -> None:
    if user is None:
        raise ReleasePermissionError(f"{doing}: a user is required")
    if not user.is_active or not user.has_perm(permission):
        raise ReleasePermissionError(
            f"{doing}: {user.get_username()} lacks the permission {permission}"
        )


def _status_name(status: str) -> str:
    # The messages are English, like every service message; the admin shows them as is.
    return ReleaseStatus(status).value.replace("_", " ")


# The key of the PostgreSQL advisory lock of ``publication_lock`` (any fixed number
# that no other advisory lock of the project uses).
PUBLICATION_LOCK_KEY = 0x616E676B61


def publication_lock() -> None:
    """Take, until the end of the current transaction, the lock that puts the changes
    of what is published in one order: every publication (``release_publish``, the
    derived-values releases of ``publications.derived``) and every precompute of a
    release's derived values (``release_schedule``), which reads the published values.

    So a precompute sees every publication that came before it, and every publication
    that comes after it has a later audit entry (``_precompute_outdated``); and a
    publication's derived values are computed from values that cannot change under it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publication_lock: only inside a transaction")
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLICATION_LOCK_KEY])


def _lock(release: Release, *, allowed: Iterable[str] | None = None, only: str = "") -> Release:
    """The stored row, locked until the end of the transaction (never the caller's copy);
    unless its status is one of ``allowed``, refused: "release <slug> is <status>; <only>"."""
    locked = Release.objects.select_for_update().filter(pk=release.pk).first()
    if locked is None:
        raise ReleaseError(f"release {release.slug} does not exist")
    if allowed is not None and locked.status not in allowed:
        raise ReleaseError(f"release {locked.slug} is {_status_name(locked.status)}; {only}")
    return locked


def _refresh(release: Release, stored: Release) -> Release:
    """Copy the stored state into the caller's instance so it is not stale."""
    for field in Release._meta.concrete_fields:
        setattr(release, field.attname, getattr(stored, field.attname))
    return release


def _audit(
    *,
    action: str,
    user,
    at: dt.datetime,
    release: Release | None = None,
    news_release: NewsRelease | None = None,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    changes: dict | None = None,
) -> AuditEntry:
    # Every change of state the public may see is audited here: one event for them all,
    # naming what it may show for the HTTP cache's purge.
    public_data_changed(keys=_changed_keys(release=release, news_release=news_release))
    return AuditEntry.objects.create(
        release=release,
        news_release=news_release,
        actor=user,
        at=at,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        changes=changes or {},
    )


def _changed_keys(*, release: Release | None, news_release: NewsRelease | None) -> set[str]:
    """The surrogate keys (``stats.httpcache``) of what a change of ``release`` or
    ``news_release`` may show: the public lists and calendar, the release, its news
    releases and every indicator it has values of (derived ones included)."""
    keys = {KEY_PUBLIC}
    if news_release is not None:
        keys.add(news_key(news_release.slug))
        if release is None and news_release.release_id is not None:
            release = Release.objects.get(pk=news_release.release_id)
    if release is not None:
        keys.add(release_key(release.slug))
        news = NewsRelease.objects.filter(release=release).values_list("slug", flat=True)
        keys.update(news_key(slug) for slug in news)
        codes = (
            Observation.objects.filter(release=release)
            .order_by()
            .values_list("series__indicator__code", flat=True)
            .distinct()
        )
        keys.update(indicator_key(code) for code in codes)
    return keys


def _move(
    stored: Release,
    *,
    user,
    action: str,
    reason: str = "",
    changes: dict | None = None,
    at: dt.datetime | None = None,
    **fields,
) -> None:
    """Write ``fields`` of the locked ``stored`` release and the audit entry of the move,
    in the caller's transaction: every change of a release is recorded with it."""
    before = stored.status
    for name, value in fields.items():
        setattr(stored, name, value)
    stored.save(update_fields=[*fields, "updated_at"])
    _audit(
        action=action,
        user=user,
        at=at or timezone.now(),
        release=stored,
        from_status=before,
        to_status=stored.status,
        reason=reason,
        changes=changes,
    )


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _jakarta(value: dt.datetime) -> dt.datetime:
    """An aware instant; a naive one is read as Asia/Jakarta time (the site's zone)."""
    if timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


# --- drafting ---------------------------------------------------------------------------


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
    """A new draft release; a correction names the published release it corrects and why."""
    if user is not None:
        _require(user, PERM_ADD_RELEASE, "create a release")
    if corrects is not None:
        if not correction_reason.strip():
            raise ReleaseError("correction_reason: a correction must give its reason")
        if corrects.status != ReleaseStatus.PUBLISHED:
            raise ReleaseError(
                f"corrects: release {corrects.slug} is {_status_name(corrects.status)}; "
                "only a published release can be corrected"
            )
    elif correction_reason.strip():
        raise ReleaseError("correction_reason: only a correction (corrects set) has a reason")
    if Release.objects.filter(slug=slug).exists():
        raise ReleaseError(f"slug: a release with slug {slug!r} exists already")
    with transaction.atomic():
        release = Release.objects.create(
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
        _audit(
            action=AuditAction.CREATED,
            user=user,
            at=timezone.now(),
            release=release,
            to_status=release.status,
            reason=correction_reason,
            changes={"corrects": corrects.slug} if corrects is not None else {},
        )
    return release


def release_assert_editable(*, release: Release, user=None) -> None:
    """Refuse unless ``user`` may change ``release`` and its observations now.

    Only a draft can change; a release in review, scheduled, published or cancelled
    is frozen (a published one for ever: a correction is a new release).
    """
    if user is not None:
        _require(user, PERM_CHANGE_RELEASE, f"edit release {release.slug}")
    status = Release.objects.filter(pk=release.pk).values_list("status", flat=True).first()
    if status is None:
        raise ReleaseError(f"release {release.slug} does not exist")
    if status not in EDITABLE_RELEASE_STATUSES:
        raise ReleaseError(
            f"release {release.slug} is {_status_name(status)}; only a draft can be changed"
            + ("; correct it with a new release" if status == ReleaseStatus.PUBLISHED else "")
        )


def release_update(*, release: Release, user, changes: dict) -> Release:
    """Change the descriptive fields of a draft release."""
    unknown = set(changes) - set(RELEASE_EDITABLE_FIELDS)
    if unknown:
        raise ReleaseError(f"{', '.join(sorted(unknown))}: cannot be edited")
    with transaction.atomic():
        stored = _lock(release)
        release_assert_editable(release=stored, user=user)
        if (
            "correction_reason" in changes
            and stored.corrects_id is not None
            and not str(changes["correction_reason"]).strip()
        ):
            raise ReleaseError("correction_reason: a correction must give its reason")
        if "slug" in changes and (
            Release.objects.filter(slug=changes["slug"]).exclude(pk=stored.pk).exists()
        ):
            raise ReleaseError(f"slug: a release with slug {changes['slug']!r} exists already")
        diff = {
            field: [getattr(stored, field), value]
            for field, value in changes.items()
            if getattr(stored, field) != value
        }
        if not diff:
            return _refresh(release, stored)
        _move(
            stored,
            user=user,
            action=AuditAction.UPDATED,
            changes=diff,
            **{field: value for field, (_, value) in diff.items()},
        )
    return _refresh(release, stored)


# --- review -----------------------------------------------------------------------------


def release_submit(*, release: Release, user, reason: str = "") -> Release:
    """Data entry hands a draft to review; from now on it is frozen."""
    _require(user, PERM_SUBMIT, f"submit release {release.slug}")
    with transaction.atomic():
        stored = _lock(release, allowed={ReleaseStatus.DRAFT}, only="only a draft can be submitted")
        if not Observation.objects.filter(release=stored).exists():
            raise ReleaseError(f"release {stored.slug} has no observations; import them first")
        if stored.corrects_id is not None and not stored.correction_reason.strip():
            raise ReleaseError("correction_reason: a correction must give its reason")
        at = timezone.now()
        _move(
            stored,
            user=user,
            action=AuditAction.SUBMITTED,
            at=at,
            reason=reason,
            changes={"observations": Observation.objects.filter(release=stored).count()},
            status=ReleaseStatus.IN_REVIEW,
            submitted_by=user,
            submitted_at=at,
            approved_by=None,
            approved_at=None,
        )
    return _refresh(release, stored)


def release_approve(*, release: Release, user, reason: str = "") -> Release:
    """A second person approves a release in review (four eyes); it can then be scheduled."""
    _require(user, PERM_REVIEW, f"approve release {release.slug}")
    with transaction.atomic():
        stored = _lock(
            release,
            allowed={ReleaseStatus.IN_REVIEW},
            only="only a release in review can be approved",
        )
        if stored.approved_by_id is not None:
            raise ReleaseError(f"release {stored.slug} is approved already")
        if stored.submitted_by_id == user.pk:
            raise FourEyesError(
                f"approve release {stored.slug}: {user.get_username()} submitted it; "
                "another person must approve it (four eyes)"
            )
        at = timezone.now()
        _move(
            stored,
            user=user,
            action=AuditAction.APPROVED,
            at=at,
            reason=reason,
            changes={"approved_by": [None, user.get_username()]},
            approved_by=user,
            approved_at=at,
        )
    return _refresh(release, stored)


def release_return(*, release: Release, user, reason: str) -> Release:
    """A reviewer sends a release in review (or scheduled) back to draft, saying why."""
    _require(user, PERM_REVIEW, f"return release {release.slug} to draft")
    if not reason.strip():
        raise ReleaseError("reason: say why the release goes back to draft")
    with transaction.atomic():
        stored = _lock(
            release,
            allowed={ReleaseStatus.IN_REVIEW, ReleaseStatus.SCHEDULED},
            only="only a release in review or scheduled can go back to draft",
        )
        _move(
            stored,
            user=user,
            action=AuditAction.RETURNED,
            reason=reason,
            changes={"scheduled_for": [_iso(stored.scheduled_for), None]},
            status=ReleaseStatus.DRAFT,
            approved_by=None,
            approved_at=None,
            scheduled_for=None,
        )
    return _refresh(release, stored)


# --- schedule and publication -----------------------------------------------------------


def release_schedule(
    *, release: Release, user, scheduled_for: dt.datetime, reason: str = ""
) -> Release:
    """Set the release time of an approved release (or move it); it is embargoed until then.

    After commit, a task is queued for that instant; should it be lost, the beat job
    ``publish-due-releases`` publishes the release within a minute of its time.
    """
    _require(user, PERM_REVIEW, f"schedule release {release.slug}")
    if scheduled_for is None:
        raise ReleaseError("scheduled_for: give the release time")
    scheduled_for = _jakarta(scheduled_for)
    if scheduled_for <= timezone.now():
        raise ReleaseError(
            f"scheduled_for: {timezone.localtime(scheduled_for):%Y-%m-%d %H:%M %Z} "
            "is not in the future"
        )
    with transaction.atomic():
        publication_lock()  # before the precompute reads the published values
        stored = _lock(
            release,
            allowed={ReleaseStatus.IN_REVIEW, ReleaseStatus.SCHEDULED},
            only="only an approved release can be scheduled",
        )
        if stored.status == ReleaseStatus.IN_REVIEW and stored.approved_by_id is None:
            raise ReleaseError(
                f"release {stored.slug} is not approved yet; a second person must approve it"
            )
        before_status, before_time = stored.status, stored.scheduled_for
        stored.status = ReleaseStatus.SCHEDULED
        stored.scheduled_for = scheduled_for
        stored.save(update_fields=["status", "scheduled_for", "updated_at"])
        # The derived values the release will cause, ready under the same embargo.
        derived = derived_precompute(release=stored)
        _audit(
            action=AuditAction.SCHEDULED,
            user=user,
            at=timezone.now(),
            release=stored,
            from_status=before_status,
            to_status=ReleaseStatus.SCHEDULED,
            reason=reason,
            changes={
                "scheduled_for": [_iso(before_time), _iso(scheduled_for)],
                "derived_values_precomputed": derived.written,
            },
        )
        release_id = stored.pk
        # robust: a broker outage must not undo the schedule; the beat job covers it.
        transaction.on_commit(
            lambda: _task(PUBLISH_SCHEDULED_TASK).apply_async(args=[release_id], eta=scheduled_for),
            robust=True,
        )
    return _refresh(release, stored)


def release_publish(
    *,
    release: Release,
    user=None,
    at: dt.datetime | None = None,
    reason: str = "",
    published_directly: int = 0,
    revised_directly: int = 0,
) -> Release:
    """Make ``release`` public at ``at`` (default: now): its observations and news, all at once.

    A person (``user``, a reviewer) publishes an approved release, scheduled or not, at
    once. The system (``user=None``) publishes a scheduled release when it is due, or a
    draft directly (the demo loader and the import command).

    Values it revises stay in the database, closed at the same instant: as-of reads
    before ``at`` still see them. Publishing an already published release changes
    nothing, so a retried task is harmless.

    ``published_directly``, ``revised_directly``: rows of the release that its writer
    (the derived-values recompute, in this same transaction) inserted as published at
    ``at`` already, and the current rows it closed for them; counted in the audit entry
    with the drafts published here.
    """
    if (published_directly or revised_directly) and at is None:
        raise ReleaseError("at: rows written as published need their publication instant")
    now = timezone.now()
    instant_given = at is not None
    at = _jakarta(at) if at is not None else now
    if at > now + PUBLISH_CLOCK_TOLERANCE:
        raise ReleaseError(f"at: {at.isoformat()} is in the future; schedule the release instead")
    if user is not None:
        _require(user, PERM_REVIEW, f"publish release {release.slug}")
    with transaction.atomic():
        publication_lock()
        if not instant_given:
            # Now is when the lock is ours: a publication it waited for comes before.
            now = at = timezone.now()
        stored = _lock(release)
        if stored.status == ReleaseStatus.PUBLISHED:
            return _refresh(release, stored)
        if user is None:
            allowed = stored.status in (ReleaseStatus.DRAFT, ReleaseStatus.SCHEDULED)
        else:
            allowed = stored.status == ReleaseStatus.SCHEDULED or (
                stored.status == ReleaseStatus.IN_REVIEW and stored.approved_by_id is not None
            )
        if not allowed:
            raise ReleaseError(
                f"release {stored.slug} is {_status_name(stored.status)}"
                + ("" if user is None else "; only an approved release can be published")
            )
        before = stored.status
        if before == ReleaseStatus.IN_REVIEW or (
            before == ReleaseStatus.SCHEDULED and _precompute_outdated(stored)
        ):
            # Its derived values are computed now, in this transaction, so they become
            # public with the inputs: approved and published at once, never scheduled;
            # or scheduled, but other values were published since its values were
            # precomputed (release_schedule), which may revise an input of them or make
            # one computable. Otherwise the precomputed values are right as they are.
            derived_precompute(release=stored)
        # The claim: of two publishers racing, only one changes the row.
        claimed = Release.objects.filter(pk=stored.pk, status=before).update(
            status=ReleaseStatus.PUBLISHED, published_at=at, updated_at=now
        )
        if not claimed:
            return _refresh(release, Release.objects.get(pk=stored.pk))
        # A revision must come after what it revises, or the vintages would overlap.
        try:
            published, revised = observations_publish(release_id=stored.pk, at=at)
        except RevisionOrderError as exc:
            raise ReleaseError(f"release {stored.slug} {exc}") from exc
        published += published_directly
        revised += revised_directly
        news = list(
            NewsRelease.objects.filter(release=stored, published_at__isnull=True).values_list(
                "slug", flat=True
            )
        )
        NewsRelease.objects.filter(release=stored, published_at__isnull=True).update(
            published_at=at
        )
        # Outbox: the derived values are confirmed by a task after commit; the row makes
        # sure a broker outage or a killed worker only delays them.
        if Observation.objects.filter(release=stored, provenance__isnull=True).exists():
            recompute_request_create(release=stored)
        _audit(
            action=AuditAction.PUBLISHED,
            user=user,
            at=now,
            release=stored,
            from_status=before,
            to_status=ReleaseStatus.PUBLISHED,
            reason=reason,
            changes={
                "published_at": _iso(at),
                "scheduled_for": _iso(stored.scheduled_for),
                "observations_published": published,
                "observations_revised": revised,
                "news_releases": news,
            },
        )
    stored.refresh_from_db()
    return _refresh(release, stored)


def _precompute_outdated(release: Release) -> bool:
    """Whether a publication came after the precompute of ``release``'s derived values
    (its latest scheduling). Both take ``publication_lock``, so the order of their audit
    entries is the order in which they were made."""
    precomputed = (
        AuditEntry.objects.filter(release=release, action=AuditAction.SCHEDULED)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if precomputed is None:
        return True
    return AuditEntry.objects.filter(
        action=AuditAction.PUBLISHED, release__isnull=False, pk__gt=precomputed
    ).exists()


def release_publish_if_due(*, release_id: int, now: dt.datetime | None = None) -> Release | None:
    """Publish the scheduled release ``release_id`` if its time has come; else do nothing.

    The scheduled task calls this. A release moved to a later time, returned to
    draft, cancelled, published already or deleted is left alone.
    """
    now = now or timezone.now()
    release = Release.objects.filter(
        pk=release_id, status=ReleaseStatus.SCHEDULED, scheduled_for__lte=now
    ).first()
    if release is None:
        return None
    return release_publish(release=release, reason="release time reached")


def releases_publish_due(*, now: dt.datetime | None = None) -> list[Release]:
    """Publish every scheduled release whose time has passed (the beat job's work).

    Each release is its own transaction: one that cannot be published (the message is
    logged) does not hold back the others.
    """
    now = now or timezone.now()
    due = list(
        Release.objects.filter(status=ReleaseStatus.SCHEDULED, scheduled_for__lte=now).order_by(
            "scheduled_for", "pk"
        )
    )
    published = []
    for release in due:
        try:
            published.append(release_publish(release=release, reason="release time reached"))
        except ReleaseError as error:
            logger.error("scheduled release %s not published: %s", release.slug, error)
    return published


def release_cancel(*, release: Release, user, reason: str) -> Release:
    """A reviewer cancels a release that is not published; its data never become public."""
    _require(user, PERM_REVIEW, f"cancel release {release.slug}")
    if not reason.strip():
        raise ReleaseError("reason: say why the release is cancelled")
    with transaction.atomic():
        stored = _lock(release)
        if stored.status in (ReleaseStatus.PUBLISHED, ReleaseStatus.CANCELLED):
            raise ReleaseError(
                f"release {stored.slug} is {_status_name(stored.status)}; it cannot be cancelled"
                + ("; correct it with a new release" if stored.is_published else "")
            )
        _move(
            stored,
            user=user,
            action=AuditAction.CANCELLED,
            reason=reason,
            changes={"scheduled_for": _iso(stored.scheduled_for)},
            status=ReleaseStatus.CANCELLED,
        )
    return _refresh(release, stored)


# --- the outbox of derived-value confirmations --------------------------------------

RECOMPUTE_TASK = "publications.derived_recompute_request"
PUBLISH_SCHEDULED_TASK = "publications.release_publish_scheduled"


def _task(name: str):
    """A task of publications/tasks.py, found in the Celery app's registry by its name:
    the task module imports this one, so this one does not import it."""
    return current_app.tasks[name]


def recompute_request_create(*, release: Release) -> RecomputeRequest:
    """Record, inside the publishing transaction, that ``release`` needs its derived
    values confirmed; the task is enqueued only once that transaction commits."""
    request = RecomputeRequest.objects.create(release=release)
    transaction.on_commit(lambda: recompute_request_enqueue(request_id=request.pk))
    return request


def recompute_request_enqueue(*, request_id: int) -> None:
    try:
        _task(RECOMPUTE_TASK).delay(request_id)
    except (KombuOperationalError, OSError) as exc:
        # A broker outage must not fail the publication. The request stays pending in
        # the database; the beat sweeper enqueues it again.
        logger.warning("could not enqueue recompute request %s: %s", request_id, exc)


# --- observations of a release ------------------------------------------------------------


def release_observations_import(
    *, release: Release, stream: IO[str], commit: bool, user=None
) -> ImportReport:
    """Validate (and, if ``commit``, write) an observation CSV as drafts of ``release``.

    Only a draft release takes observations, and only from a user with the data-entry
    role (``user=None``: the system, e.g. the demo loader or the import command).
    """
    if user is not None:
        try:
            release_assert_editable(release=release, user=user)
        except ReleaseError as exc:
            raise ImportRefused(str(exc)) from exc
    if release.status not in EDITABLE_RELEASE_STATUSES:
        raise ImportRefused(
            f"release {release.slug} is {release.get_status_display()}; "
            "observations can only be added to a draft release"
        )
    return observations_import(stream=stream, release=release, commit=commit)


# --- news releases ----------------------------------------------------------------------


NEWS_AUDITED_FIELDS = (
    "slug",
    "language",
    "title",
    "lead",
    "body",
    "release_id",
    "translation_of_id",
)


def _news_translation_check(*, news_release: NewsRelease) -> None:
    """A translation names the original, in the other language; one per language."""
    original_id = news_release.translation_of_id
    if original_id is None:
        return
    if news_release.pk is not None and original_id == news_release.pk:
        raise ReleaseError("translation_of: a news release cannot be a translation of itself")
    original = NewsRelease.objects.filter(pk=original_id).first()
    if original is None:
        raise ReleaseError("translation_of: no such news release")
    if original.translation_of_id is not None:
        raise ReleaseError(
            f"translation_of: {original.slug} is itself a translation; "
            "name the news release it translates"
        )
    if original.language == news_release.language:
        raise ReleaseError(
            f"translation_of: {original.slug} is in the same language; "
            "a translation is in the other language"
        )
    others = NewsRelease.objects.filter(translation_of=original, language=news_release.language)
    if news_release.pk is not None:
        others = others.exclude(pk=news_release.pk)
        if NewsRelease.objects.filter(translation_of=news_release.pk).exists():
            raise ReleaseError(
                "translation_of: this news release has translations of its own; it is the original"
            )
    if others.exists():
        raise ReleaseError(
            f"translation_of: {original.slug} has a translation in this language already"
        )


def news_release_save(
    *, news_release: NewsRelease, user, indicators: Iterable | None = None
) -> NewsRelease:
    """Create or change a news release (editors).

    One that goes with a release is published with it (``release_publish``). One
    attached to a release that is out already, or to none, waits for
    ``news_release_publish``. Its text can still change afterwards (a typo); every
    change is in the audit trail.
    """
    creating = news_release.pk is None
    _require(user, PERM_ADD_NEWS if creating else PERM_CHANGE_NEWS, "save a news release")
    if news_release.release_id is not None:
        status = (
            Release.objects.filter(pk=news_release.release_id)
            .values_list("status", flat=True)
            .first()
        )
        if status == ReleaseStatus.CANCELLED:
            raise ReleaseError("release: the release is cancelled; choose another")
    _news_translation_check(news_release=news_release)
    with transaction.atomic():
        before = {}
        if not creating:
            stored = NewsRelease.objects.select_for_update().get(pk=news_release.pk)
            before = {field: getattr(stored, field) for field in NEWS_AUDITED_FIELDS}
        if creating and news_release.author_id is None:
            news_release.author = user
        news_release.save()
        if indicators is not None:
            news_release.indicators.set(indicators)
        after = {field: getattr(news_release, field) for field in NEWS_AUDITED_FIELDS}
        diff = {
            field: [before.get(field), value]
            for field, value in after.items()
            if before.get(field) != value
        }
        _audit(
            action=AuditAction.NEWS_SAVED,
            user=user,
            at=timezone.now(),
            release=news_release.release,
            news_release=news_release,
            changes=diff,
        )
    return news_release


def news_release_publish(*, news_release: NewsRelease, user) -> NewsRelease:
    """Publish a news release now: a stand-alone one, or one whose release is already out.

    One that goes with a release not yet published waits for it (the embargo).
    """
    _require(user, PERM_PUBLISH_NEWS, f"publish news release {news_release.slug}")
    with transaction.atomic():
        stored = NewsRelease.objects.select_for_update().get(pk=news_release.pk)
        if stored.published_at is not None:
            return stored
        if stored.release_id is not None:
            release_status = Release.objects.values_list("status", flat=True).get(
                pk=stored.release_id
            )
            if release_status != ReleaseStatus.PUBLISHED:
                assert stored.release is not None  # release_id is set
                raise ReleaseError(
                    f"news release {stored.slug} goes with release {stored.release.slug}, "
                    f"which is {_status_name(release_status)}; it is published with it"
                )
        at = timezone.now()
        stored.published_at = at
        stored.save(update_fields=["published_at", "updated_at"])
        _audit(
            action=AuditAction.NEWS_PUBLISHED,
            user=user,
            at=at,
            release=stored.release,
            news_release=stored,
            changes={"published_at": [None, _iso(at)]},
        )
    news_release.published_at = stored.published_at
    return news_release
