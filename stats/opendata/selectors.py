"""What the open-data documents read: the public indicators with their coverage."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.utils import timezone

from config.replicas import read_connection
from stats.models import AS_OF_SQL, Indicator, Observation, Series
from stats.selectors import indicators_public


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


# Each series' first and last public period are index probes (``obs_vintages``; for one
# frequency, the last period starts last and ends last), not a pass over every value.
# An indicator's newest publication instant is its newest release with a row of it:
# ``valid_from`` is its release's ``published_at``, and a vintage ends only when a
# later one begins, so that is the newest ``valid_from`` of its public values. The
# releases are tried newest first (``OFFSET 0`` keeps the planner from joining every
# observation instead), each by index probes of (release, series), and the first
# that has one answers.
_SPANS_SQL = """
WITH spans AS (
    SELECT s.indicator_id, s.frequency,
        min(f.period_start) AS first_start, max(l.period_end) AS last_end
    FROM {series} s
    CROSS JOIN LATERAL (
        SELECT o.period_start FROM {observation} o
        WHERE o.series_id = s.id AND {as_of} ORDER BY o.period_start LIMIT 1
    ) f
    CROSS JOIN LATERAL (
        SELECT o.period_end FROM {observation} o
        WHERE o.series_id = s.id AND {as_of} ORDER BY o.period_start DESC LIMIT 1
    ) l
    WHERE {of_indicator}
    GROUP BY 1, 2
)
SELECT spans.indicator_id, spans.frequency, spans.first_start, spans.last_end, (
    SELECT r.published_at FROM (
        SELECT id, published_at FROM {release} WHERE published_at <= %s
        ORDER BY published_at DESC OFFSET 0
    ) r
    WHERE (
        SELECT 1 FROM {observation} o JOIN {series} os ON os.id = o.series_id
        WHERE o.release_id = r.id AND os.indicator_id = spans.indicator_id LIMIT 1
    ) IS NOT NULL
    LIMIT 1
)
FROM spans
"""


@functools.cache
def _spans_sql(of_indicator: str) -> str:
    # The releases' table through the observation's foreign key: stats imports nothing
    # of publications.
    release = Observation._meta.get_field("release").related_model
    assert not isinstance(release, str)  # resolved once the apps are loaded
    return _SPANS_SQL.format(
        series=Series._meta.db_table,
        observation=Observation._meta.db_table,
        release=release._meta.db_table,
        as_of=AS_OF_SQL,
        of_indicator=of_indicator,
    )


def _spans(*, at: dt.datetime, indicator: Indicator | None = None) -> dict[int, dict]:
    """Per indicator id (every one, or ``indicator``): the start, end, newest
    publication instant and frequencies of its public values at ``at``. One query."""
    found: dict[int, dict] = {}
    # The request's database (a replica that has replayed its generation), in its snapshot.
    with read_connection().cursor() as cursor:
        if indicator is None:
            sql, of_indicator = _spans_sql("TRUE"), []
        else:
            sql, of_indicator = _spans_sql("s.indicator_id = %s"), [indicator.pk]
        cursor.execute(sql, [at, at, at, at, *of_indicator, at])
        for indicator_id, frequency, start, end, modified in cursor.fetchall():
            span = found.setdefault(
                indicator_id, {"start": start, "end": end, "modified": modified, "f": set()}
            )
            span["start"] = min(span["start"], start)
            span["end"] = max(span["end"], end)
            span["f"].add(frequency)
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
    spans = _spans(at=at)
    return [
        _coverage(indicator, spans[indicator.pk])
        for indicator in indicators_public(at=at).select_related("topic").order_by("code")
        if indicator.pk in spans
    ]


def coverage_indicator_public(*, indicator: Indicator, at: dt.datetime | None = None):
    """The coverage of one indicator's public values at ``at`` (an indicator page's
    JSON-LD); None when it has none. One query."""
    span = _spans(at=at or timezone.now(), indicator=indicator).get(indicator.pk)
    return _coverage(indicator, span) if span is not None else None


def indicator_public(*, code: str, at: dt.datetime | None = None) -> Indicator | None:
    """The public indicator of ``code`` (None if there is none, or it is not public)."""
    return indicators_public(at=at).filter(code=code).first()
