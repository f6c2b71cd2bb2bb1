"""The admin drives the lifecycle through the services; refusals are messages, not changes."""

import datetime as dt
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from publications.choices import ReleaseStatus
from publications.models import ROLE_DATA_ENTRY, AuditAction, AuditEntry, NewsRelease, Release
from publications.services import release_approve, release_publish, release_submit
from tests.publications.conftest import PASSWORD
from tests.publications.factories import NewsReleaseFactory


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def lifecycle_url(release, action):
    return reverse("admin:publications_release_lifecycle", args=[release.pk, action])


def change_url(release):
    return reverse("admin:publications_release_change", args=[release.pk])


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_change_page_of_a_draft_links_to_the_import_and_the_lifecycle(client, draft, clerk):
    response = login(client, clerk).get(change_url(draft))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/admin/stats/observation/import/?release={draft.pk}" in page
    assert lifecycle_url(draft, "submit") in page
    assert lifecycle_url(draft, "publish") not in page  # not approved


def test_the_lifecycle_buttons_follow_the_state_and_the_role(client, draft, clerk, reviewer):
    release_submit(release=draft, user=clerk)
    page = login(client, reviewer).get(change_url(draft)).content.decode()
    assert lifecycle_url(draft, "approve") in page
    assert lifecycle_url(draft, "return") in page
    assert lifecycle_url(draft, "submit") not in page
    assert lifecycle_url(draft, "schedule") not in page  # not approved yet
    client.logout()
    response = login(client, clerk).get(change_url(draft))
    assert lifecycle_url(draft, "approve") not in response.content.decode()
    [history] = response.context["inline_admin_formsets"]
    assert [entry.action for entry in history.formset.queryset] == ["submitted", "created"]


def test_the_release_list_counts_observations(client, draft, superuser):
    response = login(client, superuser).get(reverse("admin:publications_release_changelist"))
    assert response.status_code == 200
    [release] = response.context["cl"].result_list
    assert release._observation_count == 1


def test_data_entry_submits_a_release_from_the_admin(client, draft, clerk):
    login(client, clerk)
    assert client.get(lifecycle_url(draft, "submit")).status_code == 200
    response = client.post(lifecycle_url(draft, "submit"), {"reason": ""})
    assert response.status_code == 302
    assert response["Location"] == change_url(draft)
    draft.refresh_from_db()
    assert (draft.status, draft.submitted_by) == (ReleaseStatus.IN_REVIEW, clerk)


def test_the_admin_refuses_approval_by_the_submitter_with_a_message(client, draft, make_user):
    both = make_user("keduanya", ROLE_DATA_ENTRY, "Peninjau")
    release_submit(release=draft, user=both)
    response = login(client, both).post(lifecycle_url(draft, "approve"), {}, follow=True)
    assert any("four eyes" in message for message in messages_of(response))
    draft.refresh_from_db()
    assert draft.approved_by is None
    assert not AuditEntry.objects.filter(release=draft, action=AuditAction.APPROVED).exists()


def test_the_admin_refuses_a_data_entry_user_publishing(client, draft, clerk, reviewer):
    release_submit(release=draft, user=clerk)
    release_approve(release=draft, user=reviewer)
    response = login(client, clerk).post(lifecycle_url(draft, "publish"), {}, follow=True)
    assert any("review_release" in message for message in messages_of(response))
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.IN_REVIEW


def test_a_reviewer_schedules_from_the_admin_in_jakarta_time(
    client, draft, clerk, reviewer, django_capture_on_commit_callbacks
):
    release_submit(release=draft, user=clerk)
    release_approve(release=draft, user=reviewer)
    tomorrow = timezone.localtime() + dt.timedelta(days=1)
    login(client, reviewer)
    with (
        mock.patch("publications.tasks.release_publish_scheduled.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            lifecycle_url(draft, "schedule"),
            {"scheduled_for_0": tomorrow.strftime("%Y-%m-%d"), "scheduled_for_1": "10:00"},
        )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.SCHEDULED
    local = timezone.localtime(draft.scheduled_for)
    assert (local.date(), local.hour, local.minute) == (tomorrow.date(), 10, 0)
    apply_async.assert_called_once_with(args=[draft.pk], eta=draft.scheduled_for)


def test_the_schedule_form_asks_for_the_time(client, draft, clerk, reviewer):
    release_submit(release=draft, user=clerk)
    release_approve(release=draft, user=reviewer)
    response = login(client, reviewer).post(lifecycle_url(draft, "schedule"), {})
    assert response.status_code == 200
    assert "scheduled_for" in response.context["form"].errors
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.IN_REVIEW


def test_cancel_from_the_admin_needs_a_reason(client, draft, reviewer):
    login(client, reviewer)
    response = client.post(lifecycle_url(draft, "cancel"), {"reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    client.post(lifecycle_url(draft, "cancel"), {"reason": "data ganda"})
    draft.refresh_from_db()
    assert draft.status == ReleaseStatus.CANCELLED


def test_an_unknown_lifecycle_action_is_not_found(client, draft, superuser):
    assert login(client, superuser).get(lifecycle_url(draft, "hapus")).status_code == 404


def test_data_entry_creates_a_draft_through_the_admin(client, catalogue, clerk):
    response = login(client, clerk).post(
        reverse("admin:publications_release_add"),
        {
            "slug": "rilis-baru",
            "title_id": "Rilis baru",
            "title_en": "New release",
            "summary_id": "",
            "summary_en": "",
            "source": "BPJS Ketenagakerjaan",
            "corrects": "",
            "correction_reason": "",
            "audit_entries-TOTAL_FORMS": "0",
            "audit_entries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    release = Release.objects.get(slug="rilis-baru")
    assert release.created_by == clerk
    assert AuditEntry.objects.filter(release=release, action=AuditAction.CREATED).count() == 1


def test_a_release_in_review_is_read_only_in_the_admin(client, draft, clerk):
    release_submit(release=draft, user=clerk)
    response = login(client, clerk).get(change_url(draft))
    assert response.status_code == 200
    assert set(response.context["adminform"].form.fields) == set()


def test_a_published_release_cannot_be_deleted(client, draft, superuser):
    release_publish(release=draft)
    response = login(client, superuser).get(
        reverse("admin:publications_release_delete", args=[draft.pk])
    )
    assert response.status_code == 403
    assert Release.objects.filter(pk=draft.pk).exists()


def test_the_audit_trail_is_read_only_in_the_admin(client, draft, superuser):
    entry = AuditEntry.objects.get(release=draft)
    login(client, superuser)
    url = reverse("admin:publications_auditentry_change", args=[entry.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "ditulis ulang"}).status_code == 403
    delete = reverse("admin:publications_auditentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:publications_auditentry_add")).status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


def test_an_editor_writes_a_news_release_in_the_admin(client, draft, editor):
    response = login(client, editor).post(
        reverse("admin:publications_newsrelease_add"),
        {
            "slug": "siaran-2023",
            "language": "id",
            "title": "Peserta aktif 40 juta",
            "lead": "Ringkasan.",
            "body": "Isi.",
            "release": draft.pk,
        },
    )
    assert response.status_code == 302
    news = NewsRelease.objects.get(slug="siaran-2023")
    assert (news.author, news.release, news.published_at) == (editor, draft, None)
    assert AuditEntry.objects.filter(news_release=news, actor=editor).count() == 1


def test_data_entry_cannot_write_news_releases(client, clerk):
    response = login(client, clerk).get(reverse("admin:publications_newsrelease_add"))
    assert response.status_code == 403


@pytest.mark.parametrize("attached", [False, True])
def test_the_publish_action_respects_the_embargo(client, draft, editor, attached):
    news = NewsReleaseFactory(release=draft if attached else None)
    response = login(client, editor).post(
        reverse("admin:publications_newsrelease_changelist"),
        {"action": "publish_selected", "_selected_action": [news.pk]},
        follow=True,
    )
    news.refresh_from_db()
    if attached:
        assert news.published_at is None
        assert any("published with it" in message for message in messages_of(response))
    else:
        assert news.published_at is not None
