"""Every non-trivial read of the statistics domain.

All of them read published rows only (``valid_from`` set); unpublished drafts are
never visible here. The queries are written to use the partial index on current
rows (``obs_current_series_period``) or the vintage index (``obs_vintages``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Concat, StrIndex
from django.db.models.lookups import Exact, GreaterThan
from django.utils import timezone

from .derived.provenance import with_full_provenance
from .extensions import ScheduledRelease, extensions
from .models import (
    Code,
    CodeList,
    DerivedDefinition,
    DerivedInput,
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


def derived_indicators_public(*, indicator: Indicator) -> QuerySet:
    """The public indicators an active definition computes from ``indicator``, by code."""
    uses = DerivedInput.objects.filter(
        indicator=indicator, definition__is_active=True, definition__indicator=OuterRef("pk")
    )
    return indicators_public().filter(Exists(uses)).order_by("code")


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
    return with_full_provenance(
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


# --- Search: accent- and case-insensitive, in both languages, without an extension
# (neither unaccent nor pg_trgm is in the embedded PostgreSQL), by PostgreSQL's full text
# search with the ``simple`` configuration: every word of the query must begin a word of
# the text (a prefix, so "peserta" finds "peserta" and "jab" finds "Jabar").


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _plain_letters() -> tuple[str, str]:
    """The accented Latin letters and their plain letters, for SQL's ``translate``."""
    accented, plain = [], []
    for point in range(0xC0, 0x250):
        letter = chr(point)
        base = _without_accents(letter)
        if len(base) == 1 and base.isascii() and base.isalpha():
            accented.append(letter)
            plain.append(base)
    return "".join(accented), "".join(plain)


ACCENTED_LETTERS, PLAIN_LETTERS = _plain_letters()
# A word of one character (the "T" of "_T", an initial) would begin too many words to
# mean anything: it is matched only as a whole code.
SEARCH_WORD_MIN = 2


def search_text(query: str) -> str:
    """``query`` as the search compares it: no accents, lower case, single spaces."""
    return " ".join(_without_accents(query).lower().split())


def search_words(query: str) -> list[str]:
    """The words of ``query`` the full text search looks for (letters and digits only, so
    nothing of the query is tsquery syntax)."""
    return [
        word for word in re.findall(r"[^\W_]+", search_text(query)) if len(word) >= SEARCH_WORD_MIN
    ]


class Plain(Func):
    """A text column as ``search_text`` writes a query: accents dropped (``translate``:
    ``unaccent`` is an extension the embedded PostgreSQL lacks), then lower case."""

    output_field = TextField()

    def __init__(self, expression):
        unaccented = Func(
            expression,
            Value(ACCENTED_LETTERS),
            Value(PLAIN_LETTERS),
            function="translate",
            output_field=TextField(),
        )
        super().__init__(unaccented, function="lower")


def _term_exact(field: str, text: str) -> Q:
    """Whether ``text`` is one of the comma-separated search terms of ``field``, whole."""
    terms = Concat(
        Value(","),
        Func(
            Plain(field),
            Value(r"\s*,\s*"),
            Value(","),
            Value("g"),
            function="regexp_replace",
            output_field=TextField(),
        ),
        Value(","),
        output_field=TextField(),
    )
    return Q(GreaterThan(StrIndex(terms, Value(f",{text},")), 0))


def _exact_match(query: str, *, identifiers: Iterable[str]) -> Q:
    """The rows ``query`` names exactly: an identifier (any case), a name or a search term."""
    text = search_text(query)
    exact = Q()
    for field in identifiers:
        exact |= Q(**{f"{field}__iexact": query.strip()})
    for language in ("id", "en"):
        exact |= Q(Exact(Plain(f"name_{language}"), Value(text)))
        exact |= _term_exact(f"search_terms_{language}", text)
    return exact


def _words_query(words: list[str]) -> SearchQuery:
    return SearchQuery(
        " & ".join(f"{word}:*" for word in words), search_type="raw", config="simple"
    )


def indicators_search(*, query: str, at: dt.datetime | None = None) -> QuerySet:
    """Public indicators matching ``query`` (code, names, descriptions, search terms, in
    either language), best first: one it names exactly (code, name or search term), then
    what was reported before what is computed, then by relevance."""
    exact = _exact_match(query, identifiers=["code"])
    queryset = indicators_public(at=at).annotate(
        exact=ExpressionWrapper(exact, output_field=BooleanField())
    )
    words = search_words(query)
    if not words:
        return queryset.filter(exact).order_by("computed", "code")
    vector = (
        SearchVector(Plain("code"), Plain("name_id"), Plain("name_en"), config="simple", weight="A")
        + SearchVector(
            Plain("search_terms_id"), Plain("search_terms_en"), config="simple", weight="B"
        )
        + SearchVector(
            Plain("description_id"), Plain("description_en"), config="simple", weight="C"
        )
    )
    # English words also by their stem ("claim" finds "claims").
    english = SearchVector("name_en", "search_terms_en", "description_en", config="english")
    words_query = _words_query(words)
    english_query = SearchQuery(search_text(query), config="english", search_type="websearch")
    return (
        queryset.annotate(
            document=vector, document_en=english, rank=SearchRank(vector, words_query)
        )
        .filter(exact | Q(document=words_query) | Q(document_en=english_query))
        # what was reported before what is computed (the indicator list's order too)
        .order_by("-exact", "computed", "-rank", "code")
    )


@dataclass
class CodeFound:
    """A code the search found (``exact``: the query names it), with the public indicators
    that have values for it."""

    code: Code
    exact: bool
    indicators: list[Indicator]


def codes_search(*, query: str, limit: int, at: dt.datetime | None = None) -> list[CodeFound]:
    """Public codes matching ``query`` (places, segments, programmes, ...), best first:
    one it names exactly (its code or alternative code in any case, "32", "ID-JB", "bpu";
    a name or a search term, "Jawa Barat", "jabar"), then by relevance; the words of its
    code list's names and search terms count too ("provinsi jawa barat"). SDMX's reserved
    codes (``_T``: an underscore first) are machinery, not words a reader types: never
    found. Each comes with the public indicators that have values for it, reported before
    computed. Three queries whatever the number found."""
    exact = _exact_match(query, identifiers=["code", "alt_code"])
    queryset = (
        codes_public(at=at)
        .exclude(code__startswith="_")
        .select_related("codelist")
        .annotate(exact=ExpressionWrapper(exact, output_field=BooleanField()))
    )
    words = search_words(query)
    if words:
        own = SearchVector(
            Plain("name_id"), Plain("name_en"), config="simple", weight="A"
        ) + SearchVector(
            Plain("search_terms_id"), Plain("search_terms_en"), config="simple", weight="B"
        )
        vector = own + SearchVector(
            Plain("codelist__name_id"),
            Plain("codelist__name_en"),
            Plain("codelist__search_terms_id"),
            Plain("codelist__search_terms_en"),
            config="simple",
            weight="D",
        )
        words_query = _words_query(words)
        # The code list's words narrow ("provinsi jawa barat"), they do not find a code by
        # themselves: "peserta" is no segment's name, however the list of segments is named.
        any_word = SearchQuery(
            " | ".join(f"{word}:*" for word in words), search_type="raw", config="simple"
        )
        queryset = queryset.annotate(
            document=vector, own_document=own, rank=SearchRank(vector, words_query)
        ).filter(exact | (Q(document=words_query) & Q(own_document=any_word)))
        ordering = ["-exact", "codelist__order", "-rank", "order", "code"]
    else:
        queryset = queryset.filter(exact)
        ordering = ["-exact", "codelist__order", "order", "code"]
    codes = list(queryset.order_by(*ordering)[:limit])
    if not codes:
        return []
    visible = observations_public(at=at).filter(series=OuterRef("series_id"))
    pairs = list(
        SeriesCode.objects.filter(Exists(visible), code__in=codes)
        .values_list("code_id", "series__indicator_id")
        .distinct()
    )
    indicators = {
        indicator.pk: indicator
        for indicator in indicators_public(at=at)
        .filter(pk__in={indicator_id for _code_id, indicator_id in pairs})
        .order_by("computed", "topic__order", "code")
    }
    order = {pk: position for position, pk in enumerate(indicators)}
    by_code: dict[int, list[Indicator]] = {code.pk: [] for code in codes}
    for code_id, indicator_id in sorted(pairs, key=lambda pair: order.get(pair[1], 0)):
        if indicator_id in indicators:
            by_code[code_id].append(indicators[indicator_id])
    return [CodeFound(code, code.exact, by_code[code.pk]) for code in codes]


# The longest query split into a place and a measure ("peserta jawa barat"): each split
# costs a query, so longer ones are not split.
SEARCH_SPLIT_WORDS_MAX = 6


def codes_search_with_measure(
    *, query: str, limit: int, at: dt.datetime | None = None
) -> list[CodeFound]:
    """For a query naming a measure and a place or category together ("peserta jawa
    barat", "dana kelolaan JHT", "jabar active participants"), which the whole query finds
    nothing for: the codes that the query's first or last words name exactly, each with
    only the public indicators with values for it that the other words find. The longest
    place first; empty when no split finds both. At most one query per split tried, and
    four for the split that finds a code."""
    words = search_text(query).split()
    if not 2 <= len(words) <= SEARCH_SPLIT_WORDS_MAX:
        return []
    for size in range(len(words) - 1, 0, -1):
        for place, measure in ((words[-size:], words[:-size]), (words[:size], words[size:])):
            found = [
                item
                for item in codes_search(query=" ".join(place), limit=limit, at=at)
                if item.exact
            ]
            if not found:
                continue
            wanted = set(
                indicators_search(query=" ".join(measure), at=at).values_list("pk", flat=True)
            )
            narrowed = [
                CodeFound(item.code, True, [i for i in item.indicators if i.pk in wanted])
                for item in found
            ]
            narrowed = [item for item in narrowed if item.indicators]
            if narrowed:
                return narrowed
    return []
