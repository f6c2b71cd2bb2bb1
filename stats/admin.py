"""The data-entry admin of the statistics domain, in Indonesian (default) or English.

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
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from publications.choices import ReleaseStatus
from publications.models import Release

from .events import public_data_changed
from .forms import (
    DerivedInputFormSet,
    IndicatorAdminForm,
    ObservationAdminForm,
    ObservationImportForm,
    TargetAdminForm,
    series_admin_form,
    series_code_field_name,
)
from .models import (
    Code,
    CodeList,
    DerivedDefinition,
    DerivedGap,
    DerivedInput,
    Indicator,
    Observation,
    PublishedDataError,
    RecomputeRequest,
    Series,
    SeriesCode,
    Target,
    Topic,
    exact_text,
)
from .services import ImportRefused, ImportReport, observations_import

# Unpublished rows of these releases may be deleted; only drafts may be changed.
DELETABLE_RELEASE_STATUSES = frozenset({ReleaseStatus.DRAFT, ReleaseStatus.CANCELLED})
IMPORT_SESSION_KEY = "stats_observation_imports"
IMPORT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Uploaded files that were previewed but never confirmed are removed after a day.
IMPORT_FILE_MAX_AGE = dt.timedelta(days=1)
PREVIEW_ROWS_SHOWN = 50


class PublicDataAdmin(admin.ModelAdmin):
    """The catalogue the public sees: every save or delete raises ``public_data_changed``
    (``save_related`` ends every add and change, inlines included)."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        public_data_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        public_data_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        public_data_changed()


@admin.register(Topic)
class TopicAdmin(PublicDataAdmin):
    list_display = ["code", "name_id", "name_en", "order"]
    list_editable = ["order"]
    search_fields = ["code", "name_id", "name_en"]
    fieldsets = [
        (None, {"fields": ["code", "order"]}),
        (_("Indonesian"), {"fields": ["name_id", "description_id"]}),
        (_("English"), {"fields": ["name_en", "description_en"]}),
    ]


class CodeInlineFormSet(BaseInlineFormSet):
    """Codes used by a series key keep their code: renaming it would orphan the keys."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            return
        used = set(
            SeriesCode.objects.filter(code__codelist=self.instance)
            .values_list("code_id", flat=True)
            .distinct()
        )
        for form in self.forms:
            if form.instance.pk in used:
                form.fields["code"].disabled = True
                form.fields["code"].help_text = _("Used by series keys; cannot change.")


class CodeInline(admin.TabularInline):
    model = Code
    formset = CodeInlineFormSet
    fields = ["code", "name_id", "name_en", "alt_code", "parent", "is_total", "order"]
    autocomplete_fields = ["parent"]
    extra = 1
    show_change_link = True


@admin.register(CodeList)
class CodeListAdmin(PublicDataAdmin):
    list_display = ["id", "name_id", "name_en", "order"]
    search_fields = ["id", "name_id", "name_en"]
    inlines = [CodeInline]
    fieldsets = [
        (None, {"fields": ["id", "order"]}),
        (_("Indonesian"), {"fields": ["name_id", "description_id"]}),
        (_("English"), {"fields": ["name_en", "description_en"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The id is the primary key and the column name of import files.
        return ["id"] if obj is not None else []


@admin.register(Code)
class CodeAdmin(PublicDataAdmin):
    list_display = ["code", "codelist", "name_id", "name_en", "alt_code", "is_total", "order"]
    list_filter = ["codelist", "is_total"]
    search_fields = ["code", "name_id", "name_en", "alt_code"]
    list_select_related = ["codelist"]
    autocomplete_fields = ["parent"]
    fieldsets = [
        (None, {"fields": ["codelist", "code", "alt_code", "parent", "is_total", "order"]}),
        (_("Names"), {"fields": ["name_id", "name_en"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.series_codes.exists():
            return ["codelist", "code"]
        return []


@admin.register(Indicator)
class IndicatorAdmin(PublicDataAdmin):
    form = IndicatorAdminForm
    list_display = ["code", "name_id", "name_en", "topic", "unit", "frequencies"]
    list_filter = ["topic", "unit", "measure_kind"]
    search_fields = ["code", "name_id", "name_en"]
    list_select_related = ["topic"]
    fieldsets = [
        (
            None,
            {"fields": ["code", "topic", "unit", "measure_kind", "frequencies", "dimensions"]},
        ),
        (_("Indonesian"), {"fields": ["name_id", "description_id", "methodology_id"]}),
        (_("English"), {"fields": ["name_en", "description_en", "methodology_en"]}),
        (_("Values"), {"fields": ["negative_allowed", "decimals", "source"]}),
        (_("History"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = ["created_at", "updated_at"]
        if obj is not None and obj.series.exists():
            # Series keys and API ids are built from these.
            fields += ["code", "dimensions"]
        return fields


@admin.register(Series)
class SeriesAdmin(PublicDataAdmin):
    list_display = ["indicator_code", "frequency", "key", "created_at"]
    list_filter = ["frequency", "indicator"]
    search_fields = ["indicator__code", "key"]
    list_select_related = ["indicator"]
    show_full_result_count = False

    @admin.display(description=_("indicator"), ordering="indicator__code")
    def indicator_code(self, obj: Series) -> str:
        return obj.indicator.code

    @staticmethod
    def _has_data(obj: Series | None) -> bool:
        if obj is None:
            return False
        if not hasattr(obj, "_admin_has_data"):
            obj._admin_has_data = obj.observations.exists() or obj.targets.exists()
        return obj._admin_has_data

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if self._has_data(obj):
            return ["indicator", "frequency", "key", "dimensions", "created_at"]
        return ["key", "dimensions", "created_at"]

    def get_fields(self, request, obj=None):
        if obj is not None and self._has_data(obj):
            return ["indicator", "frequency", "key", "dimensions", "created_at"]
        code_fields = [
            series_code_field_name(codelist_id)
            for codelist_id in CodeList.objects.order_by("order", "id").values_list("id", flat=True)
        ]
        info = ["key", "dimensions", "created_at"] if obj is not None else []
        return ["indicator", "frequency", *code_fields, *info]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and self._has_data(obj):
            kwargs["form"] = forms.ModelForm
        else:
            kwargs["form"] = series_admin_form()
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        # SeriesAdminForm.save wrote the series through series_get_or_create.
        if obj.pk is None:
            obj.save()


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
                report = observations_import(
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
                report = observations_import(
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


@admin.register(Target)
class TargetAdmin(PublicDataAdmin):
    form = TargetAdminForm
    list_display = ["series", "period", "value_text", "document"]
    list_filter = [("series__indicator", admin.RelatedFieldListFilter)]
    search_fields = ["series__indicator__code", "^period", "document"]
    list_select_related = ["series__indicator"]
    autocomplete_fields = ["series"]
    readonly_fields = ["period_start"]
    fields = ["series", "period", "period_start", "value", "document", "note"]

    @admin.display(description=_("value"), ordering="value")
    def value_text(self, obj: Target) -> str:
        return exact_text(obj.value)


class DerivedInputInline(admin.TabularInline):
    model = DerivedInput
    formset = DerivedInputFormSet
    fields = ["role", "indicator", "codes", "order"]
    autocomplete_fields = ["indicator"]
    extra = 0
    min_num = 1


@admin.register(DerivedDefinition)
class DerivedDefinitionAdmin(PublicDataAdmin):
    list_display = ["indicator", "kind", "periods", "years", "scale", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["indicator__code", "indicator__name_id", "indicator__name_en"]
    list_select_related = ["indicator"]
    autocomplete_fields = ["indicator"]
    inlines = [DerivedInputInline]
    fieldsets = [
        (None, {"fields": ["indicator", "kind", "is_active"]}),
        (_("Parameters"), {"fields": ["periods", "years", "scale"]}),
        (_("Formula shown"), {"fields": ["formula_id", "formula_en"]}),
    ]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the engine writes: staff look, nobody edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DerivedGap)
class DerivedGapAdmin(ReadOnlyAdmin):
    list_display = ["definition", "series_key", "period", "reason", "release", "computed_at"]
    list_filter = [("definition__indicator", admin.RelatedFieldListFilter)]
    search_fields = ["definition__indicator__code", "series_key", "^period", "reason"]
    list_select_related = ["definition__indicator", "release"]


@admin.register(RecomputeRequest)
class RecomputeRequestAdmin(ReadOnlyAdmin):
    list_display = ["release", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["release"]
