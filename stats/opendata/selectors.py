"""What the open-data documents read: the public indicators with their coverage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from stats.models import Indicator
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


def _spans(values: QuerySet) -> dict[int, dict]:
    """Per indicator id: start, end, modified and frequencies of ``values`` (one query)."""
    found: dict[int, dict] = {}
    for row in (
        values.order_by()
        .values("series__indicator_id", "series__frequency")
        .annotate(start=Min("period_start"), end=Max("period_end"), modified=Max("valid_from"))
    ):
        span = found.setdefault(
            row["series__indicator_id"],
            {"start": row["start"], "end": row["end"], "modified": row["modified"], "f": set()},
        )
        span["start"] = min(span["start"], row["start"])
        span["end"] = max(span["end"], row["end"])
        span["modified"] = max(span["modified"], row["modified"])
        span["f"].add(row["series__frequency"])
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
    spans = _spans(observations_public(at=at))
    return [
        _coverage(indicator, spans[indicator.pk])
        for indicator in indicators_public(at=at).select_related("topic").order_by("code")
        if indicator.pk in spans
    ]


def coverage_indicator_public(*, indicator: Indicator, at: dt.datetime | None = None):
    """The coverage of one indicator's public values at ``at``; None when it has none.
    One query."""
    spans = _spans(observations_public(at=at).filter(series__indicator_id=indicator.pk))
    span = spans.get(indicator.pk)
    return _coverage(indicator, span) if span is not None else None


def indicator_public(*, code: str, at: dt.datetime | None = None) -> Indicator | None:
    """The public indicator of ``code`` (None if there is none, or it is not public)."""
    return indicators_public(at=at).filter(code=code).first()
