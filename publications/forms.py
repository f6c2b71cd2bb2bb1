"""Admin forms of observations, which go into a draft release: one row through the
observation form or a CSV file through the import, checked like the import checks a row
(stats.forms)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from stats.forms import SeriesValueForm
from stats.models import Observation
from stats.periods import Period

from .choices import ReleaseStatus
from .models import Release


class ObservationAdminForm(SeriesValueForm):
    """One observation of a draft release, checked like an imported row."""

    class Meta:
        model = Observation
        fields = [
            "series",
            "release",
            "period",
            "value",
            "status",
            "note",
            "source",
            "reference_date",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "release" in self.fields:
            self.fields["release"].queryset = Release.objects.filter(status=ReleaseStatus.DRAFT)
            self.fields["release"].help_text = _("Only draft releases take new values.")
            self.fields["release"].error_messages["invalid_choice"] = _(
                "Choose a release in draft status; this one cannot take new values."
            )

    def period_dates_set(self, period: Period) -> None:
        self.instance.period_start = period.start
        self.instance.period_end = period.end


class ObservationImportForm(forms.Form):
    release = forms.ModelChoiceField(
        label=_("release"),
        queryset=Release.objects.filter(status=ReleaseStatus.DRAFT),
        help_text=_("Only releases in draft status take new values."),
        error_messages={
            "invalid_choice": _(
                "Choose a release in draft status; this one cannot take new values."
            )
        },
    )
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, comma separated, with the header "
            "indicator,<code lists>,period,value[,status,note,source,reference_date]."
        ),
    )
