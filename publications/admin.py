"""Admin of releases, news releases, the audit trail and the observations of releases.

Every change goes through publications.services: the lifecycle buttons open a small
confirmation page whose form calls one service; a refusal is shown as a message and
changes nothing. A release is read-only once it leaves draft.

Published observations are read-only and can never be deleted here; new values go into
a draft release, one at a time through the form or in bulk through the CSV import,
which shows what will change before anything is written.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from stats.admin import ReadOnlyAdmin
from stats.models import Observation, PublishedDataError, exact_text
from stats.services import ImportRefused, ImportReport

from . import derived, services
from .choices import ReleaseStatus
from .forms import ObservationAdminForm, ObservationImportForm
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


class ServiceAdmin(admin.ModelAdmin):
    """An admin whose saves and deletions go through publications.services, which check
    each object: no bulk delete (it would bypass the per-object check of
    ``has_delete_permission``), and a refusal of a service is a message."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A refusal of the service (a stale form, a missing permission) rolls the
        # admin's transaction back; say why instead of a server error.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.ReleaseError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)


@admin.register(Release)
class ReleaseAdmin(ServiceAdmin):
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


@admin.register(NewsRelease)
class NewsReleaseAdmin(ServiceAdmin):
    list_display = (
        "title",
        "language",
        "translation_of",
        "release",
        "published_at",
        "author",
        "editor",
    )
    list_filter = ("language", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("slug", "title", "lead")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ()
    filter_horizontal = ("indicators",)
    fields = (
        "slug",
        "language",
        "translation_of",
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
        if db_field.name == "translation_of":
            # Only an original (not itself a translation) can be translated.
            kwargs["queryset"] = NewsRelease.objects.filter(translation_of__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj: NewsRelease, form, change):
        services.news_release_save(news_release=obj, user=request.user)

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


# --- Observations: the values of releases, one by one or by CSV import. ---

# Unpublished rows of these releases may be deleted; only drafts may be changed.
DELETABLE_RELEASE_STATUSES = frozenset({ReleaseStatus.DRAFT, ReleaseStatus.CANCELLED})
IMPORT_SESSION_KEY = "stats_observation_imports"
IMPORT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Uploaded files that were previewed but never confirmed are removed after a day.
IMPORT_FILE_MAX_AGE = dt.timedelta(days=1)
PREVIEW_ROWS_SHOWN = 50


class PublishedFilter(admin.SimpleListFilter):
    title = _("published")
    parameter_name = "published"

    def lookups(self, request, model_admin):
        return [
            ("yes", _("Published")),
            ("current", _("Published, current")),
            ("revised", _("Published, revised since")),
            ("no", _("Not published (draft)")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "yes":
            return queryset.filter(valid_from__isnull=False)
        if value == "current":
            return queryset.filter(valid_from__isnull=False, valid_to__isnull=True)
        if value == "revised":
            return queryset.filter(valid_to__isnull=False)
        if value == "no":
            return queryset.filter(valid_from__isnull=True)
        return queryset


def _editable(obj: Observation) -> bool:
    return obj.valid_from is None and obj.release.status == ReleaseStatus.DRAFT


def _deletable(obj: Observation) -> bool:
    return obj.valid_from is None and obj.release.status in DELETABLE_RELEASE_STATUSES


@admin.register(Observation)
class ObservationAdmin(admin.ModelAdmin):
    form = ObservationAdminForm
    list_display = [
        "indicator_code",
        "series_key",
        "frequency",
        "period",
        "value_text",
        "status",
        "release",
        "is_published",
        "valid_to",
    ]
    list_filter = [
        ("series__indicator", admin.RelatedFieldListFilter),
        "series__frequency",
        "status",
        ("release", admin.RelatedFieldListFilter),
        PublishedFilter,
    ]
    search_fields = ["series__indicator__code", "^period", "series__key"]
    list_select_related = ["series__indicator", "release"]
    autocomplete_fields = ["series"]
    show_full_result_count = False
    list_per_page = 100
    actions = ["delete_selected"]
    import_template = "admin/stats/observation/import_form.html"
    preview_template = "admin/stats/observation/import_preview.html"

    # -- list ------------------------------------------------------------------------
    @admin.display(description=_("indicator"), ordering="series__indicator__code")
    def indicator_code(self, obj: Observation) -> str:
        return obj.series.indicator.code

    @admin.display(description=_("series key"), ordering="series__key")
    def series_key(self, obj: Observation) -> str:
        return obj.series.key

    @admin.display(description=_("frequency"), ordering="series__frequency")
    def frequency(self, obj: Observation) -> str:
        return obj.series.get_frequency_display()

    @admin.display(description=_("value"), ordering="value")
    def value_text(self, obj: Observation) -> str:
        return exact_text(obj.value)

    @admin.display(description=_("published"), boolean=True, ordering="valid_from")
    def is_published(self, obj: Observation) -> bool:
        return obj.is_published

    # -- permissions ---------------------------------------------------------------------
    def has_change_permission(self, request, obj=None):
        if obj is not None and not _editable(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not _deletable(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "period_start",
            "period_end",
            "valid_from",
            "valid_to",
            "created_at",
            "provenance",
        ]

    def get_fields(self, request, obj=None):
        fields = list(ObservationAdminForm.Meta.fields)
        return fields + list(self.get_readonly_fields(request, obj))

    @admin.action(permissions=["delete"], description=_("Delete selected unpublished observations"))
    def delete_selected(self, request, queryset):
        blocked = queryset.filter(
            Q(valid_from__isnull=False) | ~Q(release__status__in=DELETABLE_RELEASE_STATUSES)
        ).count()
        if blocked:
            self.message_user(
                request,
                ngettext(
                    "Nothing was deleted: %(count)d of the selected observations is published "
                    "or belongs to a release under review. Published values are kept forever.",
                    "Nothing was deleted: %(count)d of the selected observations are published "
                    "or belong to a release under review. Published values are kept forever.",
                    blocked,
                )
                % {"count": blocked},
                messages.ERROR,
            )
            return None
        return django_delete_selected(self, request, queryset)

    def delete_queryset(self, request, queryset):
        try:
            super().delete_queryset(request, queryset)
        except PublishedDataError as exc:
            # Published while the confirmation page was open.
            self.message_user(request, str(exc), messages.ERROR)

    # -- CSV import ----------------------------------------------------------------------
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="{}_{}_import".format(*info),
            ),
            path(
                "import/confirm/",
                self.admin_site.admin_view(self.import_confirm_view),
                name="{}_{}_import_confirm".format(*info),
            ),
            *super().get_urls(),
        ]

    def _import_context(self, request: HttpRequest, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "has_view_permission": self.has_view_permission(request),
            **extra,
        }

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = ObservationImportForm(request.POST, request.FILES)
            if form.is_valid():
                response = self._import_preview(request, form)
                if response is not None:
                    return response
        else:
            form = ObservationImportForm(initial=self._initial_release(request))
        return TemplateResponse(
            request,
            self.import_template,
            self._import_context(request, title=gettext("Import observations"), form=form),
        )

    @staticmethod
    def _initial_release(request: HttpRequest) -> dict:
        release_id = request.GET.get("release", "")
        if release_id.isdigit():
            return {"release": int(release_id)}
        return {}

    def _import_preview(
        self, request: HttpRequest, form: ObservationImportForm
    ) -> HttpResponse | None:
        release: Release = form.cleaned_data["release"]
        upload = form.cleaned_data["file"]
        directory = _imports_directory()
        _remove_stale_imports(directory)
        token = secrets.token_urlsafe(24)
        stored = directory / f"{token}.csv"
        with stored.open("wb") as destination:
            for chunk in upload.chunks():
                destination.write(chunk)
        try:
            with stored.open(encoding="utf-8-sig", newline="") as stream:
                report = services.release_observations_import(
                    stream=stream, release=release, commit=False, user=request.user
                )
        except ImportRefused as exc:
            stored.unlink(missing_ok=True)
            form.add_error("release", str(exc))
            return None
        if report.ok:
            pending = request.session.get(IMPORT_SESSION_KEY, {})
            pending[token] = {"release": release.pk, "name": upload.name, "at": time.time()}
            request.session[IMPORT_SESSION_KEY] = pending
        else:
            stored.unlink(missing_ok=True)
            token = ""
        return self._render_preview(
            request, report=report, release=release, filename=upload.name, token=token
        )

    def _render_preview(
        self,
        request: HttpRequest,
        *,
        report: ImportReport,
        release: Release,
        filename: str,
        token: str,
    ) -> HttpResponse:
        return TemplateResponse(
            request,
            self.preview_template,
            self._import_context(
                request,
                title=gettext("Check the import"),
                report=report,
                release=release,
                filename=filename,
                token=token,
                revised_rows=[_preview_row(change) for change in report.revised_sample],
                new_rows=[
                    _preview_row(change) for change in report.new_sample[:PREVIEW_ROWS_SHOWN]
                ],
                unchanged_rows=[
                    _preview_row(change) for change in report.unchanged_sample[:PREVIEW_ROWS_SHOWN]
                ],
                unreported_errors=report.error_count - len(report.errors),
            ),
        )

    def import_confirm_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        import_url = reverse("admin:stats_observation_import")
        if request.method != "POST":
            return HttpResponseRedirect(import_url)
        token = request.POST.get("token", "")
        pending = request.session.get(IMPORT_SESSION_KEY, {})
        entry = pending.get(token) if IMPORT_TOKEN.match(token) else None
        stored = _imports_directory() / f"{token}.csv"
        if entry is None or not stored.is_file():
            self.message_user(
                request,
                gettext("This import is unknown or has expired; upload the file again."),
                messages.ERROR,
            )
            return HttpResponseRedirect(import_url)
        release = Release.objects.filter(pk=entry["release"]).first()
        if release is None:
            stored.unlink(missing_ok=True)
            pending.pop(token, None)
            request.session[IMPORT_SESSION_KEY] = pending
            self.message_user(request, gettext("The release no longer exists."), messages.ERROR)
            return HttpResponseRedirect(import_url)
        try:
            with stored.open(encoding="utf-8-sig", newline="") as stream:
                report = services.release_observations_import(
                    stream=stream, release=release, commit=True, user=request.user
                )
        except ImportRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(f"{import_url}?release={release.pk}")
        finally:
            stored.unlink(missing_ok=True)
            pending.pop(token, None)
            request.session[IMPORT_SESSION_KEY] = pending
        if not report.ok:
            # The data changed since the preview (e.g. a code was removed): show why.
            return self._render_preview(
                request, report=report, release=release, filename=entry["name"], token=""
            )
        self.message_user(
            request,
            ngettext(
                "%(count)d observation was written to the release %(release)s "
                "(%(unchanged)d unchanged rows skipped).",
                "%(count)d observations were written to the release %(release)s "
                "(%(unchanged)d unchanged rows skipped).",
                report.written,
            )
            % {"count": report.written, "release": release.slug, "unchanged": report.unchanged},
            messages.SUCCESS,
        )
        changelist = reverse("admin:stats_observation_changelist")
        return HttpResponseRedirect(f"{changelist}?release__id__exact={release.pk}")


def _imports_directory() -> Path:
    directory = Path(settings.MEDIA_ROOT) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _remove_stale_imports(directory: Path) -> None:
    oldest = time.time() - IMPORT_FILE_MAX_AGE.total_seconds()
    for stale in directory.glob("*.csv"):
        try:
            if stale.stat().st_mtime < oldest:
                stale.unlink()
        except FileNotFoundError:
            continue  # removed by a concurrent request


def _preview_row(change) -> dict:
    percent = change.change_percent
    return {
        "line": change.line,
        "indicator": change.indicator,
        "series_key": change.series_key,
        "period": change.period,
        "old_value": exact_text(change.old_value) if change.old_value is not None else "",
        "new_value": exact_text(change.new_value),
        "old_status": change.old_status or "",
        "new_status": change.new_status,
        "change_percent": (
            "" if percent is None else f"{'+' if percent > 0 else ''}{exact_text(percent)}"
        ),
        "warning": change.warning,
    }


@admin.register(RecomputeRequest)
class RecomputeRequestAdmin(ReadOnlyAdmin):
    """The derived-value recomputes of published releases: a failed one shows its error
    and when it is tried again, and a reviewer can retry it at once."""

    list_display = [
        "release",
        "status",
        "attempts",
        "created_at",
        "finished_at",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["status"]
    list_select_related = ["release"]
    actions = ["retry_now"]

    @admin.display(description=_("last error"))
    def last_error(self, request: RecomputeRequest) -> str:
        return request.error[:200]

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # Reviewers answer for what a publication causes: they see the recomputes too.
        return super().has_view_permission(request, obj) or self.has_retry_permission(request)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_REVIEW)

    @admin.action(description=_("Retry the selected failed recomputes now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        retried = derived.recompute_requests_retry_now(
            request_ids=queryset.values_list("pk", flat=True)
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d failed recompute queued again.",
                "%(count)d failed recomputes queued again.",
                len(retried),
            )
            % {"count": len(retried)},
            messages.SUCCESS if retried else messages.WARNING,
        )
