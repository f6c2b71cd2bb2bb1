"""What the open-data documents read: the public indicators with their coverage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone

from stats.models import Indicator, Series
from stats.selectors import indicators_public, observations_public


@dataclass(frozen=True)
class Coverage:
    """An indicator's public values: first period start, last period end, the newest
    publication instant of any of them (its last release) and the frequencies they have
    (the indicator's main frequency first)."""

    indicator: Indicator
    start: dt.date
    end: dt.date
    modified: dt.datetime
    frequencies: str


def _spans(series: QuerySet, *, at: dt.datetime) -> dict[int, dict]:
    """Per indicator id of ``series``: the start, end, newest publication instant and
    frequencies of their public values at ``at``. One query, made of index probes, not
    a pass over every value: each series' first and last public period
    (``obs_vintages``; for one frequency, the last period starts last and ends last),
    and each indicator's newest publication instant read backwards from
    ``obs_published_valid_from`` (a vintage ends only when its successor, later in that
    index, begins, so the newest public row is the newest one published by ``at``)."""
    public = observations_public(at=at)
    of_series = public.filter(series_id=OuterRef("pk"))
    modified = (
        public.filter(series__indicator_id=OuterRef("indicator_id"))
        .order_by("-valid_from")
        .values("valid_from")[:1]
    )
    found: dict[int, dict] = {}
    for row in (
        series.annotate(
            first=Subquery(of_series.order_by("period_start").values("period_start")[:1]),
            last=Subquery(of_series.order_by("-period_start").values("period_end")[:1]),
        )
        .filter(first__isnull=False)
        .order_by()
        .values("indicator_id", "frequency")
        .annotate(start=Min("first"), end=Max("last"), modified=Subquery(modified))
    ):
        span = found.setdefault(
            row["indicator_id"],
            {"start": row["start"], "end": row["end"], "modified": row["modified"], "f": set()},
        )
        span["start"] = min(span["start"], row["start"])
        span["end"] = max(span["end"], row["end"])
        span["f"].add(row["frequency"])
    return found


def _coverage(indicator: Indicator, span: dict) -> Coverage:
    present = span["f"]
    ordered = "".join(f for f in indicator.frequencies if f in present)
    return Coverage(
        indicator=indicator,
        start=span["start"],
        end=span["end"],
        modified=span["modified"],
        frequencies=ordered + "".join(sorted(present - set(ordered))),
    )


def coverage_public(*, at: dt.datetime | None = None) -> list[Coverage]:
    """Each public indicator (``indicators_public``: one with a public value at ``at``)
    with its coverage, in code order. Two queries."""
    at = at or timezone.now()
    spans = _spans(Series.objects.all(), at=at)
    return [
        _coverage(indicator, spans[indicator.pk])
        for indicator in indicators_public(at=at).select_related("topic").order_by("code")
        if indicator.pk in spans
    ]


def coverage_indicator_public(*, indicator: Indicator, at: dt.datetime | None = None):
    """The coverage of one indicator's public values at ``at`` (an indicator page's
    JSON-LD); None when it has none. One query."""
    at = at or timezone.now()
    span = _spans(Series.objects.filter(indicator_id=indicator.pk), at=at).get(indicator.pk)
    return _coverage(indicator, span) if span is not None else None


def indicator_public(*, code: str, at: dt.datetime | None = None) -> Indicator | None:
    """The public indicator of ``code`` (None if there is none, or it is not public)."""
    return indicators_public(at=at).filter(code=code).first()
