"""Enumerations of the statistics domain."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Frequency(models.TextChoices):
    ANNUAL = "A", _("Annual")
    SEMIANNUAL = "S", _("Semi-annual")
    QUARTERLY = "Q", _("Quarterly")
    MONTHLY = "M", _("Monthly")


class MeasureKind(models.TextChoices):
    STOCK = "stock", _("Stock at a date")
    FLOW = "flow", _("Flow over the period")
    YTD_FLOW = "ytd_flow", _("Year-to-date flow")
    RATE = "rate", _("Rate")


class Unit(models.TextChoices):
    PERSONS = "persons", _("persons")
    CHILDREN = "children", _("children")
    RUPIAH = "rupiah", _("rupiah")
    PERCENT = "percent", _("percent")
    PERCENTAGE_POINTS = "percentage_points", _("percentage points")
    CASES = "cases", _("cases")
    MINUTES = "minutes", _("minutes")
    DAYS = "days", _("days")
    RATIO = "ratio", _("ratio (times)")
    RUPIAH_PER_PERSON = "rupiah_per_person", _("rupiah per person")

    @classmethod
    def allows_negative(cls, unit: str) -> bool:
        """Counts and amounts cannot be negative; rates and changes can."""
        return unit in {cls.PERCENT, cls.PERCENTAGE_POINTS, cls.RATIO}


class ObservationStatus(models.TextChoices):
    NORMAL = "normal", _("Normal")
    PROVISIONAL = "provisional", _("Provisional")
    ESTIMATE = "estimate", _("Estimate")
    BREAK = "break", _("Break in series")


class DerivedKind(models.TextChoices):
    CHANGE = "change", _("Change over k periods")
    PERCENT_CHANGE = "percent_change", _("Percent change over k periods")
    CAGR = "cagr", _("Compound annual growth over n years")
    MULTIPLE = "multiple", _("Multiple over n years")
    RATIO = "ratio", _("Ratio (a / b x scale)")
    SHARE = "share", _("Share of a total (percent)")
    PER_UNIT = "per_unit", _("Per unit (a / b)")
    DIFFERENCE = "difference", _("Difference (a - b)")
    SUM = "sum", _("Sum of terms")
    PROGRESS_TO_TARGET = "progress_to_target", _("Progress to target (percent)")
    REQUIRED_GROWTH = "required_growth", _("Annual growth required to reach the target")


class InputRole(models.TextChoices):
    X = "x", _("x (the series itself)")
    A = "a", _("a (numerator, minuend, part)")
    B = "b", _("b (denominator, subtrahend, total)")
    TERM = "term", _("term of a sum")
