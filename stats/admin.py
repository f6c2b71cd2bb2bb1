"""The catalogue admin of the statistics domain, in Indonesian (default) or English:
topics, code lists, indicators, series, targets and derived definitions.

Observations belong to releases, so their admin (the form and the CSV import into a
draft release) is publications' (publications.admin).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from .events import public_data_changed
from .forms import (
    DerivedInputFormSet,
    IndicatorAdminForm,
    TargetAdminForm,
    series_admin_form,
    series_code_field_name,
)
from .models import (
    BulkDownload,
    Code,
    CodeList,
    DerivedDefinition,
    DerivedGap,
    DerivedInput,
    Indicator,
    OpenDataSettings,
    Series,
    SeriesCode,
    Target,
    TextTranslation,
    Topic,
    exact_text,
)


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


@admin.register(TextTranslation)
class TextTranslationAdmin(PublicDataAdmin):
    """The words of stored notes and sources in both languages; the stored text is the
    key (published rows never change) and is written exactly as on the rows."""

    list_display = ["text", "text_id", "text_en"]
    search_fields = ["text", "text_id", "text_en"]


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
        (_("Indonesian"), {"fields": ["name_id", "description_id", "search_terms_id"]}),
        (_("English"), {"fields": ["name_en", "description_en", "search_terms_en"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The id is the primary key and the column name of import files.
        return ["id"] if obj is not None else []


@admin.register(Code)
class CodeAdmin(PublicDataAdmin):
    list_display = ["code", "codelist", "name_id", "name_en", "alt_code", "is_total", "order"]
    list_filter = ["codelist", "is_total"]
    search_fields = ["code", "name_id", "name_en", "alt_code", "search_terms_id", "search_terms_en"]
    list_select_related = ["codelist"]
    autocomplete_fields = ["parent"]
    fieldsets = [
        (None, {"fields": ["codelist", "code", "alt_code", "parent", "is_total", "order"]}),
        (_("Names"), {"fields": ["name_id", "name_en"]}),
        (_("Search terms"), {"fields": ["search_terms_id", "search_terms_en"]}),
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
        (
            _("Indonesian"),
            {"fields": ["name_id", "description_id", "methodology_id", "search_terms_id"]},
        ),
        (
            _("English"),
            {"fields": ["name_en", "description_en", "methodology_en", "search_terms_en"]},
        ),
        (_("Values"), {"fields": ["negative_allowed", "decimals", "source"]}),
        (
            _("Look-alike"),
            {"fields": ["compare_with", "comparison_id", "comparison_en"]},
        ),
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
        # Memoized on the instance: the admin asks several times per page.
        if not hasattr(obj, "_admin_has_data"):
            obj._admin_has_data = obj.has_data()  # type: ignore[attr-defined]
        return obj._admin_has_data  # type: ignore[attr-defined]

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


@admin.register(OpenDataSettings)
class OpenDataSettingsAdmin(PublicDataAdmin):
    """The licence, publisher, contact and credit line of all open data: one row."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    fieldsets = [
        (_("Catalogue"), {"fields": ["title_id", "title_en", "description_id", "description_en"]}),
        (_("Publisher and contact"), {"fields": ["publisher_name", "publisher_url"]}),
        (None, {"fields": ["contact_name", "contact_email", "contact_url"]}),
        (_("Licence"), {"fields": ["licence_id", "licence_title", "licence_url"]}),
        (_("Attribution"), {"fields": ["attribution_id", "attribution_en"]}),
    ]

    def has_add_permission(self, request):
        return not OpenDataSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BulkDownload)
class BulkDownloadAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "etag", "size", "data_at", "built_at"]
