"""The release lifecycle: each move, each refusal, four eyes, roles, audit, corrections."""

import datetime as dt
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from publications.choices import ReleaseStatus
from publications.models import (
    ROLE_DATA_ENTRY,
    ROLE_EDITOR,
    ROLE_REVIEWER,
    AuditAction,
    AuditEntry,
    AuditEntryImmutable,
    NewsRelease,
)
from publications.services import (
    FourEyesError,
    ReleaseError,
    ReleasePermissionError,
    news_release_publish,
    news_release_save,
    release_approve,
    release_assert_editable,
    release_cancel,
    release_create,
    release_observations_import,
    release_publish,
    release_return,
    release_schedule,
    release_submit,
    release_update,
)
from stats.events import bump_after_commit
from stats.models import Observation
from stats.selectors import observations_as_of, observations_latest
from stats.services import ImportRefused
from tests.publications.conftest import ROW, in_future
from tests.publications.factories import NewsReleaseFactory
from tests.stats.helpers import csv_text, import_rows


def approved(release, clerk, reviewer):
    release_submit(release=release, user=clerk)
    return release_approve(release=release, user=reviewer)


def scheduled(release, clerk, reviewer, minutes=30):
    approved(release, clerk, reviewer)
    with mock.patch("publications.tasks.release_publish_scheduled.apply_async"):
        return release_schedule(release=release, user=reviewer, scheduled_for=in_future(minutes))


# --- submit -----------------------------------------------------------------------------


def test_submit_moves_a_draft_to_review_and_records_who(draft, clerk):
    release = release_submit(release=draft, user=clerk)
    assert release.status == ReleaseStatus.IN_REVIEW
    assert release.submitted_by == clerk
    assert release.submitted_at is not None
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.IN_REVIEW


def test_submit_refuses_a_release_without_observations(catalogue, clerk):
    empty = release_create(slug="kosong", title_id="Kosong", title_en="Empty", user=clerk)
    with pytest.raises(ReleaseError, match="has no observations"):
        release_submit(release=empty, user=clerk)
    empty.refresh_from_db()
    assert empty.status == ReleaseStatus.DRAFT


def test_submit_refuses_a_release_in_review(draft, clerk):
    release_submit(release=draft, user=clerk)
    with pytest.raises(ReleaseError, match="only a draft can be submitted"):
        release_submit(release=draft, user=clerk)


def test_submit_needs_the_data_entry_role(draft, reviewer, editor):
    for user in (reviewer, editor):
        with pytest.raises(ReleasePermissionError, match="submit_release"):
            release_submit(release=draft, user=user)
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.DRAFT


def test_a_service_refuses_an_anonymous_move(draft):
    with pytest.raises(ReleasePermissionError, match="a user is required"):
        release_submit(release=draft, user=None)


# --- approve and four eyes --------------------------------------------------------------


def test_a_reviewer_approves_what_someone_else_submitted(draft, clerk, reviewer):
    release_submit(release=draft, user=clerk)
    release = release_approve(release=draft, user=reviewer)
    assert release.status == ReleaseStatus.IN_REVIEW
    assert release.approved_by == reviewer
    assert release.is_approved


def test_the_submitter_cannot_approve_their_own_release(draft, make_user):
    both = make_user("keduanya", ROLE_DATA_ENTRY, ROLE_REVIEWER)
    release_submit(release=draft, user=both)
    with pytest.raises(FourEyesError, match="four eyes"):
        release_approve(release=draft, user=both)
    draft.refresh_from_db()
    assert draft.approved_by is None


def test_a_superuser_cannot_approve_their_own_submission_either(draft, superuser):
    release_submit(release=draft, user=superuser)
    with pytest.raises(FourEyesError):
        release_approve(release=draft, user=superuser)


def test_a_superuser_approves_what_someone_else_submitted(draft, clerk, superuser):
    release_submit(release=draft, user=clerk)
    assert release_approve(release=draft, user=superuser).approved_by == superuser


def test_a_four_eyes_refusal_is_a_permission_error(draft, superuser):
    release_submit(release=draft, user=superuser)
    with pytest.raises(PermissionDenied):
        release_approve(release=draft, user=superuser)


def test_approve_refuses_a_draft(draft, reviewer):
    with pytest.raises(ReleaseError, match="only a release in review can be approved"):
        release_approve(release=draft, user=reviewer)


def test_approve_refuses_an_approved_release(draft, clerk, reviewer, second_reviewer):
    approved(draft, clerk, reviewer)
    with pytest.raises(ReleaseError, match="approved already"):
        release_approve(release=draft, user=second_reviewer)
    draft.refresh_from_db()
    assert draft.approved_by == reviewer


@pytest.mark.parametrize("move", ["approve", "schedule", "publish", "cancel", "return"])
def test_a_data_entry_user_cannot_review(draft, clerk, make_user, move):
    other_clerk = make_user("entri2", ROLE_DATA_ENTRY)
    release_submit(release=draft, user=clerk)
    calls = {
        "approve": lambda: release_approve(release=draft, user=other_clerk),
        "schedule": lambda: release_schedule(
            release=draft, user=other_clerk, scheduled_for=in_future()
        ),
        "publish": lambda: release_publish(release=draft, user=other_clerk),
        "cancel": lambda: release_cancel(release=draft, user=other_clerk, reason="salah"),
        "return": lambda: release_return(release=draft, user=other_clerk, reason="salah"),
    }
    with pytest.raises(ReleasePermissionError, match="review_release"):
        calls[move]()
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.IN_REVIEW
    assert Observation.objects.filter(release=draft, valid_from__isnull=False).count() == 0


def test_an_inactive_reviewer_cannot_approve(draft, clerk, reviewer):
    release_submit(release=draft, user=clerk)
    reviewer.is_active = False
    reviewer.save()
    with pytest.raises(ReleasePermissionError):
        release_approve(release=draft, user=reviewer)


# --- return to draft --------------------------------------------------------------------


def test_return_to_draft_clears_approval_and_release_time(draft, clerk, reviewer):
    scheduled(draft, clerk, reviewer)
    release = release_return(release=draft, user=reviewer, reason="angka Oktober keliru")
    assert release.status == ReleaseStatus.DRAFT
    assert release.approved_by is None
    assert release.scheduled_for is None
    # It must be submitted and approved again.
    with pytest.raises(ReleaseError, match="only a release in review"):
        release_approve(release=draft, user=reviewer)


def test_return_to_draft_needs_a_reason(draft, clerk, reviewer):
    release_submit(release=draft, user=clerk)
    with pytest.raises(ReleaseError, match="reason"):
        release_return(release=draft, user=reviewer, reason="  ")


# --- schedule ---------------------------------------------------------------------------


def test_schedule_sets_the_release_time(draft, clerk, reviewer):
    approved(draft, clerk, reviewer)
    when = in_future(60)
    release = release_schedule(release=draft, user=reviewer, scheduled_for=when)
    assert release.status == ReleaseStatus.SCHEDULED
    assert release.scheduled_for == when
    assert Observation.objects.filter(release=draft, valid_from__isnull=False).count() == 0


def test_schedule_enqueues_the_publication_at_the_release_time_after_commit(
    draft, clerk, reviewer, django_capture_on_commit_callbacks
):
    approved(draft, clerk, reviewer)
    when = in_future(60)
    with mock.patch("publications.tasks.release_publish_scheduled.apply_async") as apply_async:
        with django_capture_on_commit_callbacks() as callbacks:
            release_schedule(release=draft, user=reviewer, scheduled_for=when)
        queued = [c for c in callbacks if c is not bump_after_commit]  # not the API cache's
        assert len(queued) == 1
        apply_async.assert_not_called()  # nothing leaves before the commit
        queued[0]()
    apply_async.assert_called_once_with(args=[draft.pk], eta=when)


def test_schedule_survives_a_broker_outage(
    draft, clerk, reviewer, django_capture_on_commit_callbacks
):
    approved(draft, clerk, reviewer)
    with (
        mock.patch(
            "publications.tasks.release_publish_scheduled.apply_async",
            side_effect=ConnectionError("broker unreachable"),
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        release_schedule(release=draft, user=reviewer, scheduled_for=in_future())
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.SCHEDULED  # the beat job will publish it


def test_schedule_refuses_a_time_that_is_not_in_the_future(draft, clerk, reviewer):
    approved(draft, clerk, reviewer)
    with pytest.raises(ReleaseError, match=r"scheduled_for: .* is not in the future"):
        release_schedule(
            release=draft, user=reviewer, scheduled_for=timezone.now() - dt.timedelta(minutes=1)
        )
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.IN_REVIEW
    assert draft.scheduled_for is None


def test_schedule_refuses_a_release_not_approved(draft, clerk, reviewer):
    release_submit(release=draft, user=clerk)
    with pytest.raises(ReleaseError, match="not approved yet"):
        release_schedule(release=draft, user=reviewer, scheduled_for=in_future())


def test_schedule_refuses_a_draft(draft, reviewer):
    with pytest.raises(ReleaseError, match="only an approved release can be scheduled"):
        release_schedule(release=draft, user=reviewer, scheduled_for=in_future())


def test_schedule_reads_a_naive_time_as_jakarta_time(draft, clerk, reviewer):
    approved(draft, clerk, reviewer)
    naive = (timezone.localtime() + dt.timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0, tzinfo=None
    )
    release = release_schedule(release=draft, user=reviewer, scheduled_for=naive)
    local = timezone.localtime(release.scheduled_for)
    assert (local.hour, local.minute, local.utcoffset()) == (10, 0, dt.timedelta(hours=7))


def test_a_scheduled_release_can_be_moved_to_another_time(draft, clerk, reviewer):
    scheduled(draft, clerk, reviewer, minutes=30)
    later = in_future(120)
    with mock.patch("publications.tasks.release_publish_scheduled.apply_async"):
        release = release_schedule(release=draft, user=reviewer, scheduled_for=later)
    assert release.scheduled_for == later


# --- publish ----------------------------------------------------------------------------


def test_a_reviewer_publishes_an_approved_release_at_once(draft, clerk, reviewer):
    approved(draft, clerk, reviewer)
    before = timezone.now()
    release = release_publish(release=draft, user=reviewer)
    assert release.status == ReleaseStatus.PUBLISHED
    assert release.published_at >= before
    values = list(observations_latest().values_list("value", "valid_from"))
    assert values == [(Decimal(40000000), release.published_at)]


def test_a_reviewer_publishes_a_scheduled_release_before_its_time(draft, clerk, reviewer):
    scheduled(draft, clerk, reviewer)
    assert release_publish(release=draft, user=reviewer).status == ReleaseStatus.PUBLISHED


def test_a_person_cannot_publish_a_release_not_approved(draft, clerk, reviewer):
    with pytest.raises(ReleaseError, match="only an approved release can be published"):
        release_publish(release=draft, user=reviewer)
    release_submit(release=draft, user=clerk)
    with pytest.raises(ReleaseError, match="only an approved release can be published"):
        release_publish(release=draft, user=reviewer)
    assert not Observation.objects.published().exists()


def test_the_system_still_publishes_a_draft_directly(draft):
    """The demo loader and the import command publish a draft with no user."""
    at = timezone.now() - dt.timedelta(days=1)
    release = release_publish(release=draft, at=at)
    assert (release.status, release.published_at) == (ReleaseStatus.PUBLISHED, at)
    entry = AuditEntry.objects.get(release=draft, action=AuditAction.PUBLISHED)
    assert entry.actor is None


def test_publishing_twice_is_harmless(draft, clerk, reviewer, second_reviewer):
    approved(draft, clerk, reviewer)
    first = release_publish(release=draft, user=reviewer)
    again = release_publish(release=draft, user=second_reviewer)
    assert again.published_at == first.published_at
    assert Observation.objects.published().count() == 1
    assert AuditEntry.objects.filter(release=draft, action=AuditAction.PUBLISHED).count() == 1


def test_publish_refuses_an_instant_in_the_future(draft):
    with pytest.raises(ReleaseError, match="is in the future; schedule the release"):
        release_publish(release=draft, at=in_future(10))
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.DRAFT
    assert not Observation.objects.published().exists()


def test_publish_refuses_a_cancelled_release(draft, reviewer):
    release_cancel(release=draft, user=reviewer, reason="ganda")
    with pytest.raises(ReleaseError, match="release rilis-2023 is cancelled"):
        release_publish(release=draft)
    assert not Observation.objects.published().exists()


def test_publish_makes_its_news_release_public_at_the_same_instant(draft, clerk, reviewer):
    news = NewsReleaseFactory(release=draft)
    approved(draft, clerk, reviewer)
    release = release_publish(release=draft, user=reviewer)
    news.refresh_from_db()
    assert news.published_at == release.published_at


# --- cancel -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["draft", "in_review", "scheduled"])
def test_a_reviewer_cancels_a_release_not_published(draft, clerk, reviewer, stage):
    if stage == "in_review":
        release_submit(release=draft, user=clerk)
    if stage == "scheduled":
        scheduled(draft, clerk, reviewer)
    release = release_cancel(release=draft, user=reviewer, reason="data ganda")
    assert release.status == ReleaseStatus.CANCELLED
    entry = AuditEntry.objects.get(release=draft, action=AuditAction.CANCELLED)
    assert (entry.from_status, entry.to_status, entry.reason) == (
        stage,
        ReleaseStatus.CANCELLED,
        "data ganda",
    )


def test_cancel_needs_a_reason(draft, reviewer):
    with pytest.raises(ReleaseError, match="reason: say why"):
        release_cancel(release=draft, user=reviewer, reason="")


def test_a_published_release_cannot_be_cancelled(draft, reviewer):
    release_publish(release=draft)
    with pytest.raises(ReleaseError, match="correct it with a new release"):
        release_cancel(release=draft, user=reviewer, reason="salah")


def test_a_cancelled_release_cannot_be_cancelled_again(draft, reviewer):
    release_cancel(release=draft, user=reviewer, reason="ganda")
    with pytest.raises(ReleaseError, match="cannot be cancelled"):
        release_cancel(release=draft, user=reviewer, reason="lagi")


# --- editing and immutability -----------------------------------------------------------


def test_data_entry_edits_a_draft_and_the_audit_keeps_before_and_after(draft, clerk):
    release = release_update(release=draft, user=clerk, changes={"title_en": "2023 figures"})
    assert release.title_en == "2023 figures"
    entry = AuditEntry.objects.get(release=draft, action=AuditAction.UPDATED)
    assert entry.actor == clerk
    assert entry.changes == {"title_en": ["2023", "2023 figures"]}


def test_an_edit_of_an_unknown_field_is_refused(draft, clerk):
    with pytest.raises(ReleaseError, match="status: cannot be edited"):
        release_update(release=draft, user=clerk, changes={"status": "published"})


def test_an_editor_cannot_edit_a_release(draft, editor):
    with pytest.raises(ReleasePermissionError, match="change_release"):
        release_update(release=draft, user=editor, changes={"title_en": "x"})


@pytest.mark.parametrize("stage", ["in_review", "published"])
def test_a_release_out_of_draft_cannot_be_edited(draft, clerk, reviewer, stage):
    release_submit(release=draft, user=clerk)
    if stage == "published":
        release_approve(release=draft, user=reviewer)
        release_publish(release=draft, user=reviewer)
    with pytest.raises(ReleaseError, match="only a draft can be changed"):
        release_update(release=draft, user=clerk, changes={"title_en": "x"})
    with pytest.raises(ReleaseError, match="only a draft can be changed"):
        release_assert_editable(release=draft, user=clerk)
    draft.refresh_from_db()
    assert draft.title_en == "2023"


def test_no_observation_can_be_added_to_a_published_release(draft):
    release_publish(release=draft)
    more = [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "41000000")]
    with pytest.raises(ImportRefused, match="only be added to a draft"):
        release_observations_import(stream=io.StringIO(csv_text(more)), release=draft, commit=True)
    assert Observation.objects.filter(release=draft).count() == 1


# --- corrections ------------------------------------------------------------------------


def test_a_correction_must_say_why(draft, clerk):
    release_publish(release=draft)
    with pytest.raises(ReleaseError, match="correction_reason"):
        release_create(slug="koreksi", title_id="K", title_en="C", corrects=draft, user=clerk)


def test_only_a_published_release_can_be_corrected(draft, clerk):
    with pytest.raises(ReleaseError, match="only a published release can be corrected"):
        release_create(
            slug="koreksi",
            title_id="K",
            title_en="C",
            corrects=draft,
            correction_reason="salah ketik",
            user=clerk,
        )


def test_a_correction_keeps_the_old_values_as_vintages(draft, clerk, reviewer, second_reviewer):
    first_at = timezone.now() - dt.timedelta(days=2)
    release_publish(release=draft, at=first_at)
    correction = release_create(
        slug="koreksi-2023",
        title_id="Koreksi",
        title_en="Correction",
        corrects=draft,
        correction_reason="salah ketik: 40.000.000 seharusnya 41.560.000",
        user=clerk,
    )
    import_rows(correction, [(*ROW[:5], "41560000")])
    release_submit(release=correction, user=clerk)
    release_approve(release=correction, user=reviewer)
    corrected = release_publish(release=correction, user=second_reviewer)

    assert list(observations_latest().values_list("value", flat=True)) == [Decimal(41560000)]
    before = corrected.published_at - dt.timedelta(seconds=1)
    assert list(observations_as_of(at=before).values_list("value", flat=True)) == [
        Decimal(40000000)
    ]
    assert Observation.objects.filter(release=draft).get().valid_to == corrected.published_at
    entry = AuditEntry.objects.get(release=correction, action=AuditAction.PUBLISHED)
    assert entry.changes["observations_revised"] == 1
    assert entry.changes["observations_published"] == 1


# --- audit ------------------------------------------------------------------------------


def test_every_move_is_in_the_audit_trail_with_before_and_after(draft, clerk, reviewer):
    scheduled(draft, clerk, reviewer)
    release_publish(release=draft, user=reviewer, reason="rilis lebih awal atas permintaan")
    trail = list(
        AuditEntry.objects.filter(release=draft)
        .order_by("at", "id")
        .values_list("action", "actor__username", "from_status", "to_status")
    )
    assert trail == [
        ("created", "entri", "", "draft"),
        ("submitted", "entri", "draft", "in_review"),
        ("approved", "peninjau", "in_review", "in_review"),
        ("scheduled", "peninjau", "in_review", "scheduled"),
        ("published", "peninjau", "scheduled", "published"),
    ]
    published = AuditEntry.objects.get(release=draft, action=AuditAction.PUBLISHED)
    assert published.reason == "rilis lebih awal atas permintaan"
    assert published.changes["observations_published"] == 1
    scheduled_entry = AuditEntry.objects.get(release=draft, action=AuditAction.SCHEDULED)
    assert scheduled_entry.changes["scheduled_for"][0] is None
    assert scheduled_entry.changes["scheduled_for"][1] == draft.scheduled_for.isoformat()


def test_a_refused_move_writes_no_audit_entry(draft, superuser):
    release_submit(release=draft, user=superuser)
    count = AuditEntry.objects.count()
    with pytest.raises(FourEyesError):
        release_approve(release=draft, user=superuser)
    assert AuditEntry.objects.count() == count


def test_the_audit_trail_cannot_be_changed_or_deleted(draft):
    entry = AuditEntry.objects.get(release=draft)
    entry.reason = "ditulis ulang"
    with pytest.raises(AuditEntryImmutable):
        entry.save()
    with pytest.raises(AuditEntryImmutable):
        entry.delete()
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


# --- roles ------------------------------------------------------------------------------


def test_the_roles_exist_as_groups_with_their_permissions(roles):
    def codenames(name):
        return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))

    assert {"submit_release", "change_release", "add_observation"} <= codenames(ROLE_DATA_ENTRY)
    assert "review_release" not in codenames(ROLE_DATA_ENTRY)
    assert "review_release" in codenames(ROLE_REVIEWER)
    assert not {"submit_release", "change_release"} & codenames(ROLE_REVIEWER)
    assert {"add_newsrelease", "change_newsrelease", "publish_newsrelease"} <= codenames(
        ROLE_EDITOR
    )
    assert "review_release" not in codenames(ROLE_EDITOR)


# --- news releases ----------------------------------------------------------------------


def test_an_editor_writes_a_news_release_and_becomes_its_author(editor, draft):
    news = NewsRelease(slug="siaran", title="Siaran", lead="Ringkas.", body="Isi.", release=draft)
    news_release_save(news_release=news, user=editor)
    assert news.pk is not None
    assert news.author == editor
    entry = AuditEntry.objects.get(news_release=news)
    assert entry.action == AuditAction.NEWS_SAVED
    assert entry.changes["title"] == [None, "Siaran"]


def test_only_an_editor_writes_news_releases(clerk, reviewer):
    for user in (clerk, reviewer):
        with pytest.raises(ReleasePermissionError, match="add_newsrelease"):
            news_release_save(
                news_release=NewsRelease(slug="x", title="x", lead="x", body="x"), user=user
            )
    assert not NewsRelease.objects.exists()


def test_a_news_release_of_a_release_not_out_waits_for_it(editor, draft):
    news = NewsReleaseFactory(release=draft)
    with pytest.raises(ReleaseError, match="it is published with it"):
        news_release_publish(news_release=news, user=editor)
    news.refresh_from_db()
    assert news.published_at is None


def test_an_editor_publishes_a_stand_alone_news_release(editor):
    news = NewsReleaseFactory()
    published = news_release_publish(news_release=news, user=editor)
    assert published.published_at is not None
    assert AuditEntry.objects.filter(news_release=news, action="news_published").count() == 1


def test_a_news_release_cannot_go_with_a_cancelled_release(editor, draft, reviewer):
    release_cancel(release=draft, user=reviewer, reason="ganda")
    news = NewsRelease(slug="x", title="x", lead="x", body="x", release=draft)
    with pytest.raises(ReleaseError, match="release: the release is cancelled"):
        news_release_save(news_release=news, user=editor)
