"""Admin of releases, news releases and the audit trail.

Every change goes through publications.services: the lifecycle buttons open a small
confirmation page whose form calls one service; a refusal is shown as a message and
changes nothing. A release is read-only once it leaves draft.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from stats.admin import ReadOnlyAdmin

from . import services
from .choices import ReleaseStatus
from .models import (
    PERM_REVIEW,
    PERM_SUBMIT,
    AuditEntry,
    NewsRelease,
    RecomputeRequest,
    Release,
)


class LifecycleForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, needs_reason: bool = False, needs_time: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = needs_reason
        if needs_time:
            self.fields["scheduled_for"] = forms.SplitDateTimeField(
                label=_("release time (Asia/Jakarta)"), widget=AdminSplitDateTime()
            )


# action: (label, needs a reason, needs a time, offered in these states, permission needed).
# The services check again; the admin only leaves out buttons that cannot work.
LIFECYCLE = {
    "submit": (_("Submit for review"), False, False, {ReleaseStatus.DRAFT}, PERM_SUBMIT),
    "approve": (_("Approve"), False, False, {ReleaseStatus.IN_REVIEW}, PERM_REVIEW),
    "return": (
        _("Return to draft"),
        True,
        False,
        {ReleaseStatus.IN_REVIEW, ReleaseStatus.SCHEDULED},
        PERM_REVIEW,
    ),
    "schedule": (
        _("Schedule"),
        False,
        True,
        {ReleaseStatus.IN_REVIEW, ReleaseStatus.SCHEDULED},
        PERM_REVIEW,
    ),
    "publish": (
        _("Publish now"),
        False,
        False,
        {ReleaseStatus.IN_REVIEW, ReleaseStatus.SCHEDULED},
        PERM_REVIEW,
    ),
    "cancel": (
        _("Cancel"),
        True,
        False,
        {ReleaseStatus.DRAFT, ReleaseStatus.IN_REVIEW, ReleaseStatus.SCHEDULED},
        PERM_REVIEW,
    ),
}


def _run_lifecycle(action: str, *, release: Release, user, data: dict) -> Release:
    reason = data.get("reason", "")
    if action == "submit":
        return services.release_submit(release=release, user=user, reason=reason)
    if action == "approve":
        return services.release_approve(release=release, user=user, reason=reason)
    if action == "return":
        return services.release_return(release=release, user=user, reason=reason)
    if action == "schedule":
        return services.release_schedule(
            release=release, user=user, scheduled_for=data["scheduled_for"], reason=reason
        )
    if action == "publish":
        return services.release_publish(release=release, user=user, reason=reason)
    return services.release_cancel(release=release, user=user, reason=reason)


def _offered(action: str, release: Release) -> bool:
    """Whether the move makes sense in the release's state (approval included)."""
    if release.status not in LIFECYCLE[action][3]:
        return False
    if action == "approve":
        return release.approved_by_id is None
    if action in ("schedule", "publish") and release.status == ReleaseStatus.IN_REVIEW:
        return release.approved_by_id is not None
    return True


class AuditEntryInline(admin.TabularInline):
    model = AuditEntry
    fk_name = "release"
    fields = ("at", "action", "actor", "from_status", "to_status", "reason", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("history")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = (
        "slug",
        "title_id",
        "status",
        "scheduled_for",
        "published_at",
        "observation_count",
        "corrects",
    )
    list_filter = ("status",)
    search_fields = ("slug", "title_id", "title_en")
    date_hierarchy = "created_at"
    inlines = [AuditEntryInline]
    fields = (
        "slug",
        "title_id",
        "title_en",
        "summary_id",
        "summary_en",
        "source",
        "corrects",
        "correction_reason",
        "status",
        "lifecycle",
        "observations_summary",
        "scheduled_for",
        "published_at",
        "created_by",
        "submitted_by",
        "submitted_at",
        "approved_by",
        "approved_at",
    )
    # Set by the services only.
    always_read_only = (
        "status",
        "lifecycle",
        "observations_summary",
        "scheduled_for",
        "published_at",
        "created_by",
        "submitted_by",
        "submitted_at",
        "approved_by",
        "approved_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_observation_count=Count("observations"))

    def get_object(self, request, object_id, from_field=None):
        release = super().get_object(request, object_id, from_field)
        if release is not None:
            # Per-request instance: lets the lifecycle field offer only what this user may do.
            release._viewer = request.user
        return release

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.always_read_only
        if obj.status != ReleaseStatus.DRAFT:
            return self.fields
        # A draft keeps what it corrects; only its texts change.
        return (*self.always_read_only, "corrects")

    def get_fields(self, request, obj=None):
        if obj is None:
            return [f for f in self.fields if f not in self.always_read_only]
        return self.fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "corrects":
            kwargs["queryset"] = Release.objects.filter(status=ReleaseStatus.PUBLISHED)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # Only a draft can go; a published release is part of the record for ever.
        if obj is not None and obj.status != ReleaseStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The bulk delete would bypass the per-release check above.
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("observations"), ordering="_observation_count")
    def observation_count(self, release: Release) -> int:
        return getattr(release, "_observation_count", None) or release.observations.count()

    @admin.display(description=_("observations"))
    def observations_summary(self, release: Release) -> str:
        count = release.observations.count()
        if release.status != ReleaseStatus.DRAFT:
            return format_html("{}", count)
        return format_html(
            '{} <a class="button" href="/admin/stats/observation/import/?release={}">{}</a>',
            count,
            release.pk,
            _("Import observations"),
        )

    @admin.display(description=_("lifecycle"))
    def lifecycle(self, release: Release) -> str:
        if release.pk is None:
            return "-"
        viewer = getattr(release, "_viewer", None)
        buttons = [
            (reverse("admin:publications_release_lifecycle", args=[release.pk, action]), label)
            for action, (label, _reason, _time, _states, permission) in LIFECYCLE.items()
            if _offered(action, release) and (viewer is None or viewer.has_perm(permission))
        ]
        if not buttons:
            return "-"
        return format_html_join(
            " ", '<a class="button" href="{}">{}</a>', ((url, label) for url, label in buttons)
        )

    def get_urls(self):
        return [
            path(
                "<int:object_id>/lifecycle/<slug:action>/",
                self.admin_site.admin_view(self.lifecycle_view),
                name="publications_release_lifecycle",
            ),
            *super().get_urls(),
        ]

    def lifecycle_view(self, request: HttpRequest, object_id: int, action: str):
        if action not in LIFECYCLE:
            raise Http404(f"unknown action {action!r}")
        release = Release.objects.filter(pk=object_id).first()
        if release is None or not self.has_view_permission(request, release):
            raise Http404("no such release")
        label, needs_reason, needs_time, _states, _perm = LIFECYCLE[action]
        change_url = reverse("admin:publications_release_change", args=[release.pk])
        bound = request.POST if request.method == "POST" else None
        form = LifecycleForm(bound, needs_reason=needs_reason, needs_time=needs_time)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    _run_lifecycle(
                        action, release=release, user=request.user, data=form.cleaned_data
                    )
            except services.ReleaseError as error:
                self.message_user(request, str(error), messages.ERROR)
                return HttpResponseRedirect(change_url)
            self.message_user(request, _("%(action)s: done.") % {"action": label}, messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{label}: {release}",
            "release": release,
            "form": form,
            "action_label": label,
            "change_url": change_url,
            "now": timezone.localtime(),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/publications/release/lifecycle.html", context)

    def save_model(self, request, obj: Release, form, change):
        if change:
            services.release_update(
                release=obj,
                user=request.user,
                changes={
                    field: form.cleaned_data[field]
                    for field in form.changed_data
                    if field in services.RELEASE_EDITABLE_FIELDS
                },
            )
            return
        created = services.release_create(
            slug=obj.slug,
            title_id=obj.title_id,
            title_en=obj.title_en,
            source=obj.source,
            summary_id=obj.summary_id,
            summary_en=obj.summary_en,
            user=request.user,
            corrects=obj.corrects,
            correction_reason=obj.correction_reason,
        )
        for field in Release._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A refusal of the service (a stale form, a missing permission) rolls the
        # admin's transaction back; say why instead of a server error.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.ReleaseError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)


@admin.register(NewsRelease)
class NewsReleaseAdmin(admin.ModelAdmin):
    list_display = ("title", "language", "release", "published_at", "author", "editor")
    list_filter = ("language", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("slug", "title", "lead")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ()
    filter_horizontal = ("indicators",)
    fields = (
        "slug",
        "language",
        "title",
        "lead",
        "body",
        "author",
        "editor",
        "indicators",
        "release",
        "published_at",
    )
    readonly_fields = ("published_at",)
    actions = ["publish_selected"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "release":
            kwargs["queryset"] = Release.objects.exclude(status=ReleaseStatus.CANCELLED)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj: NewsRelease, form, change):
        services.news_release_save(news_release=obj, user=request.user)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.ReleaseError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)

    @admin.action(description=_("Publish the selected news releases now"))
    def publish_selected(self, request, queryset):
        done = 0
        for news_release in queryset:
            try:
                services.news_release_publish(news_release=news_release, user=request.user)
            except services.ReleaseError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(count)d news release(s) published.") % {"count": done})


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "release", "news_release", "actor", "from_status", "to_status")
    list_filter = ("action", "to_status")
    search_fields = ("release__slug", "news_release__slug", "reason", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("release", "news_release", "actor")
    fields = (
        "at",
        "action",
        "release",
        "news_release",
        "actor",
        "from_status",
        "to_status",
        "reason",
        "changes",
    )
    readonly_fields = fields


@admin.register(RecomputeRequest)
class RecomputeRequestAdmin(ReadOnlyAdmin):
    list_display = ["release", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["release"]
