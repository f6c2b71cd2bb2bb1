"""Every non-trivial read of the statistics domain.

All of them read published rows only (``valid_from`` set); unpublished drafts are
never visible here. The queries are written to use the partial index on current
rows (``obs_current_series_period``) or the vintage index (``obs_vintages``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from .extensions import ScheduledRelease, extensions
from .models import (
    Code,
    CodeList,
    DerivedDefinition,
    Indicator,
    Observation,
    Series,
    SeriesCode,
    Target,
    Topic,
)
from .periods import PERIODS_PER_YEAR, parse_period


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


# --- Public reads for the API: published by now (valid_from <= now), never a draft. ---


def observations_public(*, at: dt.datetime | None = None) -> QuerySet:
    """The values the public sees at ``at`` (default: now).

    ``as_of(now)`` rather than ``current()``: a release published with a future
    instant has set ``valid_from``/``valid_to`` already, and must stay invisible (and
    the values it revises visible) until that instant.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    return Observation.objects.as_of(at)


# --- The public catalogue: one rule for every resource (API, pages, search, sitemap,
# feeds, CSV, the OpenAPI description). A series, an indicator, a code, a code list or a
# target is public once a public value uses it (``observations_public``), and from then
# on for good: published values are never withdrawn. Before that, whatever an
# unpublished release brings is invisible, and so is a catalogue entry that nothing uses
# yet (an indicator or a code made in the admin ahead of its data): nothing shows early.


def series_public(*, at: dt.datetime | None = None) -> QuerySet:
    """Series with at least one public value: a series of an embargoed release is hidden."""
    visible = observations_public(at=at).filter(series=OuterRef("pk"))
    return Series.objects.filter(Exists(visible))


def series_public_get(*, indicator: str, frequency: str, key: str) -> Series | None:
    """The public series with this public identifier (indicator code, frequency, key)."""
    return (
        series_public()
        .select_related("indicator")
        .filter(indicator__code=indicator, frequency=frequency, key=key)
        .first()
    )


def series_vintage_dates_public(
    *, series: Series, at: dt.datetime | None = None
) -> list[tuple[dt.datetime, int | None]]:
    """The vintage dates of ``series`` as the public sees them at ``at`` (default: now):
    each instant at which some of its values became public, with the release that
    published them, oldest first (ALFRED's vintage dates). An instant after ``at`` (a
    release under embargo, or published ahead of its time) is not one."""
    at = at or timezone.now()
    return list(
        Observation.objects.filter(series=series, valid_from__isnull=False, valid_from__lte=at)
        .order_by("valid_from", "release_id")
        .values_list("valid_from", "release_id")
        .distinct()
    )


def indicators_public(*, at: dt.datetime | None = None) -> QuerySet:
    """Indicators with at least one public value, with their topic; ``computed``: whether
    angka computes it (an active derived definition)."""
    visible = series_public(at=at).filter(indicator=OuterRef("pk"))
    computed = DerivedDefinition.objects.filter(indicator=OuterRef("pk"), is_active=True)
    return (
        Indicator.objects.filter(Exists(visible))
        .annotate(computed=Exists(computed))
        .select_related("topic")
    )


def topics_public(*, at: dt.datetime | None = None) -> QuerySet:
    """The topics with a public indicator."""
    return Topic.objects.filter(Exists(indicators_public(at=at).filter(topic=OuterRef("pk"))))


def codes_public(*, at: dt.datetime | None = None, indicator_id: int | None = None) -> QuerySet:
    """The codes a public series uses (of one indicator, given ``indicator_id``).

    One probe per code (a series with this code and a public value), not a join over
    every series: a few ms at 2 million observations.
    """
    visible = observations_public(at=at).filter(series=OuterRef("series_id"))
    used = SeriesCode.objects.filter(Exists(visible), code=OuterRef("pk"))
    if indicator_id is not None:
        used = used.filter(series__indicator_id=indicator_id)
    return Code.objects.filter(Exists(used))


def codelists_public(*, at: dt.datetime | None = None) -> QuerySet:
    """The code lists with a public code."""
    return CodeList.objects.filter(Exists(codes_public(at=at).filter(codelist=OuterRef("pk"))))


def targets_public(*, at: dt.datetime | None = None) -> QuerySet:
    """The targets of public series."""
    return Target.objects.filter(Exists(series_public(at=at).filter(pk=OuterRef("series_id"))))


def series_with_latest_public(*, queryset: QuerySet, at: dt.datetime | None = None) -> QuerySet:
    """``queryset`` of series annotated with its latest public value (one index lookup each)."""
    latest = observations_public(at=at).filter(series=OuterRef("pk")).order_by("-period_start")
    return queryset.annotate(
        latest_period=Subquery(latest.values("period")[:1]),
        latest_value=Subquery(latest.values("value")[:1]),
        latest_status=Subquery(latest.values("status")[:1]),
        latest_published_at=Subquery(latest.values("valid_from")[:1]),
    )


def codes_in_use(*, indicator_id: int, at: dt.datetime | None = None) -> QuerySet:
    """The codes that appear in the public series of one indicator, in code-list order."""
    return codes_public(at=at, indicator_id=indicator_id).order_by(
        "codelist__order", "codelist_id", "order", "code"
    )


def last_publication_at() -> dt.datetime | None:
    """The newest publication instant up to now (of every registered extension): the API's
    version. None when nothing has been published."""
    now = timezone.now()
    instants = [extension.last_change_at(now=now) for extension in extensions()]
    found = [instant for instant in instants if instant is not None]
    return max(found) if found else None


# --- Public reads for the website (the same embargo as the API: observations_public). ---


def total_codes(*, codelist_ids: Iterable[str]) -> dict[str, str]:
    """The total code (``is_total``) of each code list: {"region": "ID", "segment": "_T"}."""
    totals: dict[str, str] = {}
    for codelist_id, code in (
        Code.objects.filter(codelist_id__in=list(codelist_ids), is_total=True)
        .order_by("codelist_id", "order")
        .values_list("codelist_id", "code")
    ):
        totals.setdefault(codelist_id, code)
    return totals


def series_points_public(*, series_id: int, at: dt.datetime | None = None) -> QuerySet:
    """The public values of one series, oldest period first, with their release."""
    return (
        observations_public(at=at)
        .filter(series_id=series_id)
        .order_by("period_start")
        .select_related("release")
    )


def series_points_public_many(
    *, series_ids: Iterable[int], at: dt.datetime | None = None
) -> QuerySet:
    """The public values of several series (the provinces one chart compares), by series,
    oldest period first, in one query."""
    return (
        observations_public(at=at)
        .filter(series_id__in=list(series_ids))
        .order_by("series_id", "period_start")
    )


def series_vintages_public(*, series_id: int, at: dt.datetime | None = None) -> QuerySet:
    """Every vintage of one series published by ``at``: what was published when."""
    at = at or timezone.now()
    return (
        Observation.objects.filter(series_id=series_id, valid_from__lte=at)
        .order_by("-period_start", "valid_from")
        .select_related("release")
    )


def headline_figures_public(
    *, codes: Iterable[str], frequency: str = "A", at: dt.datetime | None = None
) -> list[dict]:
    """The national total of each indicator in ``codes``: values, a year earlier, target.

    Three queries whatever the number of indicators: the series, their public values,
    their targets.
    """
    codes = list(codes)
    totals = total_codes(codelist_ids=["region", "segment", "program"])
    candidates = (
        series_public(at=at)
        .filter(indicator__code__in=codes, frequency=frequency)
        .select_related("indicator", "indicator__topic")
    )
    chosen: dict[str, Series] = {}
    for series in candidates:
        if all(totals.get(codelist) == code for codelist, code in series.dimensions.items()):
            chosen[series.indicator.code] = series
    by_series: dict[int, list[Observation]] = {series.pk: [] for series in chosen.values()}
    for observation in (
        observations_public(at=at).filter(series__in=list(by_series)).order_by("period_start")
    ):
        by_series[observation.series_id].append(observation)
    targets = {
        target.series_id: target
        for target in Target.objects.filter(series__in=list(by_series)).order_by("-period_start")
    }
    figures = []
    for code in codes:
        series = chosen.get(code)
        if series is None or not by_series[series.pk]:
            continue
        points = by_series[series.pk]
        latest = points[-1]
        year_earlier_period = _shift_period(latest.period, years=-1)
        previous = next((p for p in points if p.period == year_earlier_period), None)
        figures.append(
            {
                "indicator": series.indicator,
                "series": series,
                "points": points,
                "latest": latest,
                "previous": previous,
                "target": targets.get(series.pk),
            }
        )
    return figures


def lookalikes_public(
    *, indicator: Indicator, totals: dict[str, str], at: dt.datetime | None = None
) -> list[dict]:
    """The indicators readers may take for ``indicator`` (``compare_with``, either way),
    each with both national annual values at the latest year both have and why they
    differ: [{"other", "period", "value", "other_value", "note"}]. ``totals``: the total
    code of each code list (``total_codes``). Two queries, or one when there is none."""
    others = list(
        indicators_public(at=at).filter(Q(pk=indicator.compare_with_id) | Q(compare_with=indicator))
    )
    if not others:
        return []
    values: dict[int, dict[str, Decimal]] = {indicator.pk: {}, **{o.pk: {} for o in others}}
    for indicator_id, period, value in (
        observations_public(at=at)
        .filter(
            series__indicator__in=list(values),
            series__frequency="A",
            # National totals: every code of the series is its code list's total.
            series__dimensions__contained_by=totals,
        )
        .values_list("series__indicator_id", "period", "value")
    ):
        values[indicator_id][period] = value
    own = values[indicator.pk]
    found = []
    for other in others:
        theirs = values[other.pk]
        common = max(set(own) & set(theirs), key=lambda p: parse_period(p).start, default=None)
        # The note is on the indicator that names the other.
        noted = indicator if indicator.compare_with_id == other.pk else other
        found.append(
            {
                "other": other,
                "period": common,
                "value": own.get(common) if common else None,
                "other_value": theirs.get(common) if common else None,
                "note": noted.localized("comparison"),
            }
        )
    return found


def _shift_period(period: str, *, years: int) -> str:
    parsed = parse_period(period)
    return parsed.shift(years * PERIODS_PER_YEAR[parsed.frequency]).code


def breakdowns_public(*, indicator, frequency: str, at: dt.datetime | None = None) -> list[dict]:
    """For each dimension: its codes at the latest period they share, others at their total.

    Returns [{"codelist": CodeList, "period": "2024", "rows": [(Code, Observation)]}],
    one entry per code list that has a breakdown. A bounded number of queries: the
    series that break one dimension down with their latest values, the codes, then one
    cross-section per code list.
    """
    codelists = list(indicator.dimensions.order_by("order", "id"))
    totals = total_codes(codelist_ids=[c.id for c in codelists])
    # Only series at the total of every dimension but one are shown: PostgreSQL picks
    # them from the dimensions (a few dozen of an indicator's thousand series) before
    # the latest values are looked up, which would otherwise be paid for every series.
    # As plain text (Cast): compared with plain strings on PostgreSQL and SQLite alike.
    texts = {
        f"dimension_{i}": Cast(KeyTextTransform(c.id, "dimensions"), TextField())
        for i, c in enumerate(codelists)
    }
    broken_down_once = Q(pk__in=[])
    for i in range(len(codelists)):
        only_this = ~Q(**{f"dimension_{i}": totals.get(codelists[i].id)})
        for j, other in enumerate(codelists):
            if j != i:
                only_this &= Q(**{f"dimension_{j}": totals.get(other.id)})
        broken_down_once |= only_this
    series = list(
        series_with_latest_public(
            queryset=Series.objects.filter(indicator=indicator, frequency=frequency)
            .annotate(**texts)
            .filter(broken_down_once)
            .order_by(),
            at=at,
        )
    )
    codes = {
        (code.codelist_id, code.code): code
        for code in Code.objects.filter(codelist__in=codelists).order_by("order", "code")
    }
    result = []
    for codelist in codelists:
        members = [
            s
            for s in series
            if s.latest_period
            and s.dimensions.get(codelist.id) != totals.get(codelist.id)
            and all(
                s.dimensions.get(other.id) == totals.get(other.id)
                for other in codelists
                if other.id != codelist.id
            )
        ]
        if not members:
            continue
        period = max((s.latest_period for s in members), key=lambda p: parse_period(p).start)
        values = {
            observation.series_id: observation
            for observation in observations_public(at=at)
            # period_start as well: the indexes on (series, period_start) find the rows.
            .filter(
                series__in=[s.pk for s in members],
                period=period,
                period_start=parse_period(period).start,
            )
            .order_by()
        }
        rows = [
            (codes.get((codelist.id, s.dimensions[codelist.id])), values[s.pk])
            for s in members
            if s.pk in values
        ]
        rows.sort(key=lambda row: (row[0].order, row[0].code) if row[0] else (0, ""))
        result.append({"codelist": codelist, "period": period, "rows": rows})
    return result


def releases_public_ids() -> dict[str, int]:
    """Slug to id of the releases the public can see now (published, up to now), as the
    registered extensions know them: what the API's release filter accepts."""
    now = timezone.now()
    found: dict[str, int] = {}
    for extension in extensions():
        found.update(extension.releases_public(now=now))
    return found


def indicator_next_release(*, indicator: Indicator) -> ScheduledRelease | None:
    """The soonest release scheduled to update ``indicator`` (a public one), as the
    registered extensions know it (what the calendar shows of it), or None."""
    found = [
        scheduled
        for extension in extensions()
        if (scheduled := extension.next_release(indicator_id=indicator.pk)) is not None
    ]
    return min(found, key=lambda entry: entry.scheduled_for) if found else None


def next_publication_at() -> dt.datetime | None:
    """The next instant, after now, at which something public changes by itself (a
    publication set a little ahead, the next scheduled release time), as the registered
    extensions know it."""
    now = timezone.now()
    instants = [extension.next_change_at(now=now) for extension in extensions()]
    found = [instant for instant in instants if instant is not None]
    return min(found) if found else None


def indicators_search(*, query: str) -> QuerySet:
    """Public indicators matching ``query`` (code, names, descriptions), best match first."""
    queryset = indicators_public()
    vector = SearchVector("code", "name_id", "description_id", config="simple") + SearchVector(
        "name_en", "description_en", config="english"
    )
    search = SearchQuery(query, config="simple", search_type="websearch") | SearchQuery(
        query, config="english", search_type="websearch"
    )
    return (
        queryset.annotate(rank=SearchRank(vector, search), document=vector)
        .filter(Q(document=search) | Q(name_id__icontains=query) | Q(name_en__icontains=query))
        .order_by("computed", "-rank", "code")  # what was reported before what is computed
    )
