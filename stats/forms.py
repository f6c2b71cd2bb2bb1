"""Admin forms of the statistics domain: every check the import makes, for one row at a time.

A form never writes anything itself except through the services: a series is created
by ``series_get_or_create``, and an observation keeps the period dates that
``parse_period`` gives, so hand-entered rows and imported rows are the same.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .choices import Frequency
from .derived import DefinitionError, definition_validate
from .models import (
    Code,
    CodeList,
    DerivedInput,
    Indicator,
    Series,
    SeriesCode,
    Target,
    series_key,
)
from .periods import Period, PeriodError, parse_period
from .services import series_get_or_create


def _frequency_names(letters: str) -> str:
    return ", ".join(str(Frequency(letter).label).lower() for letter in letters)


def period_clean(text: str, *, series: Series | None) -> Period:
    """Parse a period and check it is at the frequency of the series (and its indicator)."""
    try:
        period = parse_period(text)
    except PeriodError as exc:
        raise ValidationError(str(exc), code="invalid") from exc
    if series is None:
        return period
    indicator = series.indicator
    if period.frequency not in indicator.frequencies:
        raise ValidationError(
            gettext("%(period)s is %(frequency)s; %(indicator)s is published at %(allowed)s.")
            % {
                "period": period.code,
                "frequency": str(Frequency(period.frequency).label).lower(),
                "indicator": indicator.code,
                "allowed": _frequency_names(indicator.frequencies),
            },
            code="frequency",
        )
    if period.frequency != series.frequency:
        raise ValidationError(
            gettext("%(period)s is %(frequency)s; this series is %(series_frequency)s.")
            % {
                "period": period.code,
                "frequency": str(Frequency(period.frequency).label).lower(),
                "series_frequency": str(Frequency(series.frequency).label).lower(),
            },
            code="frequency",
        )
    return period


class SeriesValueForm(forms.ModelForm):
    """A value of a series at a period (a target, an observation), checked like an
    imported row: the period at the frequency of the series, and no negative count or
    amount (Indicator.allows_negative)."""

    def clean(self) -> dict:
        super().clean()
        # What ModelForm.clean returns (the stubs allow None, as a form's clean may).
        cleaned = self.cleaned_data
        series: Series | None = cleaned.get("series")
        period_text = cleaned.get("period")
        if period_text:
            try:
                period = period_clean(period_text, series=series)
            except ValidationError as exc:
                self.add_error("period", exc)
            else:
                cleaned["period"] = period.code
                self.period_dates_set(period)
        value = cleaned.get("value")
        if (
            series is not None
            and value is not None
            and value < 0
            and not series.indicator.allows_negative
        ):
            self.add_error(
                "value",
                gettext("%(value)s is negative; %(indicator)s cannot be negative.")
                % {"value": value, "indicator": series.indicator.code},
            )
        return cleaned

    def period_dates_set(self, period: Period) -> None:
        """Keep the dates of ``period`` on the instance (a target has its start only)."""
        self.instance.period_start = period.start


class IndicatorAdminForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = [
            "code",
            "topic",
            "unit",
            "measure_kind",
            "frequencies",
            "dimensions",
            "negative_allowed",
            "decimals",
            "source",
            "name_id",
            "description_id",
            "methodology_id",
            "search_terms_id",
            "name_en",
            "description_en",
            "methodology_en",
            "search_terms_en",
        ]
        widgets = {"dimensions": forms.CheckboxSelectMultiple}

    def clean_frequencies(self) -> str:
        letters = (self.cleaned_data.get("frequencies") or "").strip().upper()
        if self.instance.pk:
            used = set(
                Series.objects.filter(indicator=self.instance).values_list("frequency", flat=True)
            )
            dropped = sorted(used - set(letters))
            if dropped:
                raise ValidationError(
                    gettext("Series exist at %(frequencies)s; keep those letters.")
                    % {"frequencies": _frequency_names("".join(dropped))}
                )
        return letters


def series_code_field_name(codelist_id: str) -> str:
    return f"code_{codelist_id}"


class SeriesAdminForm(forms.ModelForm):
    """Pick an indicator, a frequency and one code per dimension of the indicator.

    The key and the dimension codes are derived, never typed, so they always match the
    code lists. One code field per code list is shown (``series_admin_form`` declares
    them); only those of the indicator's dimensions may be, and must be, filled in.
    """

    class Meta:
        model = Series
        fields = ["indicator", "frequency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.codelists = [
            codelist
            for codelist in CodeList.objects.order_by("order", "id")
            if series_code_field_name(codelist.id) in self.fields
        ]
        codes_by_list: dict[str, list[Code]] = {codelist.id: [] for codelist in self.codelists}
        for code in Code.objects.filter(codelist__in=self.codelists).order_by(
            "codelist", "order", "code"
        ):
            codes_by_list[code.codelist_id].append(code)
        current = self.instance.dimensions if self.instance.pk else {}
        for codelist in self.codelists:
            field = self.fields[series_code_field_name(codelist.id)]
            assert isinstance(field, forms.ChoiceField)  # as series_admin_form declares them
            field.label = codelist.name
            field.choices = [("", "---------")] + [
                (code.code, f"{code.code}: {code.name}") for code in codes_by_list[codelist.id]
            ]
            field.initial = current.get(codelist.id, "")

    def clean(self) -> dict:
        super().clean()
        # What ModelForm.clean returns (the stubs allow None, as a form's clean may).
        cleaned = self.cleaned_data
        if self.instance.pk and self.instance.has_data():
            raise ValidationError(gettext("A series with data cannot change its key."))
        indicator: Indicator | None = cleaned.get("indicator")
        frequency = cleaned.get("frequency")
        if indicator is None:
            return cleaned
        if frequency and frequency not in indicator.frequencies:
            self.add_error(
                "frequency",
                gettext("%(indicator)s is published at %(allowed)s.")
                % {"indicator": indicator.code, "allowed": _frequency_names(indicator.frequencies)},
            )
        order = list(indicator.dimensions.order_by("order", "id").values_list("id", flat=True))
        missing_lists = [
            codelist for codelist in order if series_code_field_name(codelist) not in self.fields
        ]
        if missing_lists:
            raise ValidationError(
                gettext("Reload the page: the code list %(codelist)s is new.")
                % {"codelist": ", ".join(missing_lists)}
            )
        dimensions: dict[str, str] = {}
        for codelist in self.codelists:
            name = series_code_field_name(codelist.id)
            chosen = cleaned.get(name) or ""
            if codelist.id in order and not chosen:
                self.add_error(
                    name,
                    gettext("A code is required: %(indicator)s has the dimension %(codelist)s.")
                    % {"indicator": indicator.code, "codelist": codelist.id},
                )
            elif codelist.id not in order and chosen:
                self.add_error(
                    name,
                    gettext("%(indicator)s has no dimension %(codelist)s; leave it empty.")
                    % {"indicator": indicator.code, "codelist": codelist.id},
                )
            elif chosen:
                dimensions[codelist.id] = chosen
        if self.errors or not frequency:
            return cleaned
        self.dimensions = {codelist: dimensions[codelist] for codelist in order}
        self.key = series_key(self.dimensions, order)
        duplicate = Series.objects.filter(indicator=indicator, frequency=frequency, key=self.key)
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise ValidationError(
                gettext("The series %(indicator)s [%(frequency)s] %(key)s already exists.")
                % {"indicator": indicator.code, "frequency": frequency, "key": self.key}
            )
        return cleaned

    def _post_clean(self) -> None:
        # Django's hook between clean() and validate_unique(), private and not in the stubs.
        super()._post_clean()  # type: ignore[misc]
        if not self.errors and hasattr(self, "key"):
            self.instance.key = self.key
            self.instance.dimensions = self.dimensions

    def save(self, commit: bool = True) -> Series:
        if self.instance.pk is None:
            self.instance = series_get_or_create(
                indicator=self.cleaned_data["indicator"],
                frequency=self.cleaned_data["frequency"],
                dimensions=self.dimensions,
            )
        else:
            self._rekey()
        # The codes are saved by series_get_or_create or _rekey: nothing for the admin's
        # save_m2m, which Django sets as an attribute too (in save(commit=False)).
        self.save_m2m = lambda: None  # type: ignore[method-assign]
        return self.instance

    def _rekey(self) -> None:
        """Change the key of a series that has no data yet (checked in clean), codes too."""
        series = self.instance
        codes = Code.objects.filter(
            codelist_id__in=list(self.dimensions), code__in=list(self.dimensions.values())
        )
        with transaction.atomic():
            series.save()
            SeriesCode.objects.filter(series=series).delete()
            SeriesCode.objects.bulk_create(
                SeriesCode(series=series, code=code)
                for code in codes
                if self.dimensions.get(code.codelist_id) == code.code
            )


def series_admin_form() -> type[SeriesAdminForm]:
    """SeriesAdminForm with one declared code field per code list that exists now."""
    fields = {
        series_code_field_name(codelist_id): forms.ChoiceField(
            required=False, help_text=_("Only for indicators that have this dimension.")
        )
        for codelist_id in CodeList.objects.order_by("order", "id").values_list("id", flat=True)
    }
    return type("SeriesAdminForm", (SeriesAdminForm,), fields)


class TargetAdminForm(SeriesValueForm):
    class Meta:
        model = Target
        fields = ["series", "period", "value", "document", "note"]


class DerivedInputFormSet(forms.BaseInlineFormSet):
    """The inputs of a definition, checked together: the roles its kind needs, no cycle."""

    def clean(self) -> None:
        super().clean()
        definition = self.instance
        if any(self.errors) or definition.indicator_id is None or not definition.kind:
            return
        inputs = [
            DerivedInput(
                definition=definition,
                role=form.cleaned_data["role"],
                indicator=form.cleaned_data["indicator"],
                codes=form.cleaned_data.get("codes") or {},
                order=form.cleaned_data.get("order") or 0,
            )
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("indicator") is not None
        ]
        try:
            definition_validate(definition=definition, inputs=inputs)
        except DefinitionError as exc:
            raise ValidationError(exc.messages) from exc
