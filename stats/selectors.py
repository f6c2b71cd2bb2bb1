"""Every non-trivial read of the statistics domain.

All of them read published rows only (``valid_from`` set); unpublished drafts are
never visible here. The queries are written to use the partial index on current
rows (``obs_current_series_period``) or the vintage index (``obs_vintages``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from .models import Observation, Series


def observations_latest(*, series: Iterable[int] | QuerySet | None = None) -> QuerySet:
    """The values published now (the newest vintage of every period)."""
    queryset = Observation.objects.current()
    if series is not None:
        queryset = queryset.filter(series__in=series)
    return queryset


def observations_as_of(
    *, at: dt.datetime, series: Iterable[int] | QuerySet | None = None
) -> QuerySet:
    """The values as the site showed them at the instant ``at``."""
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    queryset = Observation.objects.as_of(at)
    if series is not None:
        queryset = queryset.filter(series__in=series)
    return queryset


def observation_vintages(*, series_id: int, period: str) -> QuerySet:
    """Every published value of one period of a series, oldest first: its revision history."""
    return (
        Observation.objects.published()
        .filter(series_id=series_id, period=period)
        .order_by("valid_from")
        .select_related("release")
    )


def series_with_latest(*, queryset: QuerySet | None = None) -> QuerySet:
    """Series annotated with their latest published observation (id, period, value).

    One correlated sub-query per series, each an index lookup on the current-rows
    index: the cost grows with the number of series, not of observations.
    """
    latest = Observation.objects.current().filter(series=OuterRef("pk")).order_by("-period_start")
    queryset = queryset if queryset is not None else Series.objects.all()
    return queryset.annotate(
        latest_observation_id=Subquery(latest.values("id")[:1]),
        latest_period=Subquery(latest.values("period")[:1]),
        latest_value=Subquery(latest.values("value")[:1]),
    )


def cross_section(
    *,
    indicator_id: int,
    frequency: str,
    period: str,
    codelist: str,
    at: dt.datetime | None = None,
    fixed: dict[str, str] | None = None,
) -> QuerySet:
    """One period across every code of ``codelist`` (e.g. all regions), others fixed."""
    series = Series.objects.filter(indicator_id=indicator_id, frequency=frequency)
    for other, code in (fixed or {}).items():
        series = series.filter(series_codes__code__codelist_id=other, series_codes__code__code=code)
    queryset = (
        observations_as_of(at=at, series=series) if at else observations_latest(series=series)
    )
    return queryset.filter(period=period).select_related("series")
