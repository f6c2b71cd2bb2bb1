"""Public pages of the statistics: indicators, methodology, robots.

Thin views: every read goes through the public selectors (the same embargo as the
API), the numbers are written by stats.formatting, the charts by stats.charts.
Pages are cached until something new is published (stats.pagecache). The pages that
also list releases and news releases (home, search, sitemap) are composed by
publications from the pieces given here (``headline_figures_shown``); what the
indicator page shows of releases and news comes from the registered extensions.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from csp.decorators import csp_replace
from django import forms
from django.conf import settings
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import localize
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt

from . import charts, formatting
from .api.rows import ObservationRows
from .api.statements import csv_lines_sql
from .choices import Frequency, ObservationStatus
from .derived.provenance import definition_formula, formula_text
from .extensions import extensions
from .filtersets import AsOfFilter, CatalogueLookups, DimensionFilter, instant_parse
from .models import (
    Code,
    DerivedDefinition,
    Indicator,
    Series,
    Target,
    series_key,
)
from .opendata import schemaorg, xlsx
from .opendata.licence import attribution, citation_text
from .opendata.links import Urls
from .opendata.selectors import coverage_indicator_public
from .pagecache import cached_page
from .selectors import (
    breakdowns_public,
    codes_in_use,
    derived_indicators_public,
    headline_figures_public,
    indicator_next_release,
    indicators_public,
    lookalikes_public,
    series_points_public,
    series_points_public_many,
    series_public,
    series_vintages_public,
    topics_public,
    total_codes,
)
from .texts import text_localized

# The figures on the home page, national totals at annual frequency, in this order.
HEADLINE_INDICATORS = (
    "ACTIVE_PARTICIPANTS",
    "FUNDS_UNDER_MANAGEMENT",
    "ACTIVE_COVERAGE_ELIGIBLE",
    "BENEFITS_PAID",
)
# Observation columns the indicator page and its charts never show: not loaded (a long
# series has hundreds of rows; the query-count tests catch any later access to them).
UNSHOWN = ("created_at", "reference_date", "period_end")
# The time ranges a reader can choose (``?range=``): years back from the newest value
# shown, or the whole series (the default: the history is short enough to read whole).
RANGES = {"1y": 1, "5y": 5, "10y": 10, "all": None}
RANGE_DEFAULT = "all"
# Provinces on one chart at most (``region`` repeated): more lines are not readable.
COMPARED_MAX = 6


def _language() -> str:
    return "en" if (translation.get_language() or "id")[:2] == "en" else "id"


def language_root(request: HttpRequest) -> HttpResponse:
    """``/``: the Indonesian home page (English is one click away, at /en/)."""
    return redirect(f"/{settings.LANGUAGE_CODE}/")


def _change(figure: dict) -> tuple[Decimal | None, bool]:
    """Change on a year earlier: percent for levels, percentage points for rates."""
    latest, previous = figure["latest"], figure["previous"]
    if previous is None:
        return None, False
    if figure["indicator"].unit == "percent":
        return latest.value - previous.value, True
    return formatting.change_percent(latest.value, previous.value), False


def headline_figures_shown() -> list[dict]:
    """The home page's figure cards: each headline figure with its change on a year
    earlier, its sparkline and its progress to target, written for the language."""
    figures = headline_figures_public(codes=HEADLINE_INDICATORS)
    for figure in figures:
        figure["change"], figure["change_in_points"] = _change(figure)
        figure["sparkline"] = charts.sparkline([p.value for p in figure["points"]])
        target = figure["target"]
        if target is not None and target.value:
            progress = figure["latest"].value / target.value * 100
            width = min(max(progress, Decimal(0)), Decimal(100))
            figure["progress_text"] = formatting.percent(progress, language=_language())
            figure["progress_width"] = f"{width:.1f}"
            figure["progress_now"] = f"{width:.0f}"
    return figures


@cached_page
def indicator_list(request: HttpRequest) -> HttpResponse:
    # In each topic the reported indicators first, then those angka computes from them.
    indicators = list(
        indicators_public().order_by("topic__order", "topic__code", "computed", "code")
    )
    topics: dict[int, dict] = {}
    for indicator in indicators:
        topics.setdefault(indicator.topic_id, {"topic": indicator.topic, "indicators": []})
        topics[indicator.topic_id]["indicators"].append(indicator)
    return render(request, "stats/indicator_list.html", {"topics": list(topics.values())})


class SelectionError(ValueError):
    """A filter of the indicator page that is not valid; carries the field name."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class Selection:
    """What an indicator page or its chart download shows: the indicator, the chosen
    frequency and codes, the public series they name (None: no values) and its values."""

    indicator: Indicator
    codelists: list
    options: dict[str, list]
    codes_by_key: dict
    frequency: str
    dimensions: dict[str, str]
    totals: dict[str, str]
    series: Series | None
    # The public series of the chosen frequency other than the chosen one, nearest
    # first: what the page offers when the chosen combination has no values.
    alternatives: list[Series]
    points: list
    target: Target | None
    # The instant the page shows the values as published then (``?as_of=``), or None:
    # as published now.
    as_of: dt.datetime | None = None
    # The time range (a key of ``RANGES``) and the first period it shows ("" for all).
    range: str = RANGE_DEFAULT
    range_start: str = ""
    # The other regions drawn on the same chart (``region`` repeated), each as
    # (code, its series with the same other codes, its points in the range).
    compared: list[tuple[Code, Series, list]] = field(default_factory=list)
    # Regions asked for that could not be drawn: past ``COMPARED_MAX``, or without a
    # series of the chosen codes (by name).
    left_off: list[str] = field(default_factory=list)
    without_values: list[str] = field(default_factory=list)

    @property
    def query(self) -> dict[str, str | list[str]]:
        """The query string that names this selection (with its ``as_of``, if any):
        ``urlencode(query, doseq=True)`` repeats ``region`` for the compared ones."""
        query: dict[str, str | list[str]] = {"frequency": self.frequency, **self.dimensions}
        if self.compared:
            query["region"] = [self.dimensions["region"], *(c.code for c, _s, _p in self.compared)]
        if self.range != RANGE_DEFAULT:
            query["range"] = self.range
        if self.as_of is not None:
            query["as_of"] = timezone.localtime(self.as_of).isoformat()
        return query

    def with_query(self, **changes: str | list[str] | None) -> str:
        """The query string of this selection with ``changes`` (None: left out)."""
        query = {**self.query, **changes}
        return "?" + urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)

    @property
    def label(self) -> str:
        """The codes that set the selection apart from the totals, by name (region always)."""
        return _codes_label(self.series.dimensions if self.series else self.dimensions, self)


def _codes_label(dimensions: dict[str, str], selection: Selection) -> str:
    return ", ".join(
        code.name if (code := selection.codes_by_key.get((codelist_id, value))) else value
        for codelist_id, value in dimensions.items()
        if value != selection.totals.get(codelist_id) or codelist_id == "region"
    )


def _nearness(dimensions: dict[str, str], totals: dict[str, str]) -> tuple:
    """How near a series is to the totals: more total codes first, the region's above the
    others (a national figure before a province's), then by its codes for a stable order."""
    return (
        dimensions.get("region") != totals.get("region"),
        sum(value != totals.get(codelist) for codelist, value in dimensions.items()),
        sorted(dimensions.items()),
    )


def _as_of(request: HttpRequest) -> dt.datetime | None:
    """The page's ``as_of`` instant by the read API's rule (a date is the end of that day,
    never the future), or None; anything else is a ``SelectionError`` naming the field."""
    text = request.GET.get("as_of")
    if text is None:
        return None
    try:
        return AsOfFilter(field_name="valid_from").resolve(instant_parse(text), None).at
    except forms.ValidationError as error:
        raise SelectionError("as_of", " ".join(error.messages)) from error


def _selection(request: HttpRequest, code: str) -> Selection:
    """The indicator page's selection from its query string.

    What the query names is taken as named (an unknown frequency or code is a
    ``SelectionError`` naming the field); what it leaves out is filled from the public
    series nearest the totals among those that match it, so that a page never opens on a
    combination without values (some indicators have no all-segments series at all).
    With ``as_of``, everything is read as it was public at that instant.
    """
    at = _as_of(request)
    indicator = indicators_public(at=at).filter(code=code).first()
    if indicator is None:
        raise Http404(_("No published indicator with this code."))
    codelists = list(indicator.dimensions.order_by("order", "id"))
    options: dict[str, list] = {}
    codes_by_key = {}
    for item in codes_in_use(indicator_id=indicator.pk, at=at).select_related("codelist"):
        options.setdefault(item.codelist_id, []).append(item)
        codes_by_key[(item.codelist_id, item.code)] = item
    public = list(
        series_public(at=at).filter(indicator=indicator).only("frequency", "key", "dimensions")
    )
    frequencies = {s.frequency for s in public}
    default = indicator.frequency
    if default not in frequencies and frequencies:
        default = next(letter for letter in indicator.frequencies if letter in frequencies)
    frequency = request.GET.get("frequency", default)
    # ``frequencies`` is a string of letters: compare letters, not substrings ("" or "AM").
    if frequency not in list(indicator.frequencies):
        raise SelectionError(
            "frequency",
            _("%(value)s is not published for this indicator; use one of %(choices)s")
            % {"value": frequency, "choices": ", ".join(indicator.frequencies)},
        )
    totals = total_codes(codelist_ids=[c.id for c in codelists])
    chosen_range = request.GET.get("range", RANGE_DEFAULT)
    if chosen_range not in RANGES:
        raise SelectionError(
            "range",
            _("%(value)s is not a time range; use one of %(choices)s")
            % {"value": chosen_range, "choices": ", ".join(RANGES)},
        )
    asked: dict[str, list[str]] = {}
    for codelist in codelists:
        values = [
            code_lookup(codelist.id, value, options=options, totals=totals)
            for value in request.GET.getlist(codelist.id)
        ]
        if len(values) > 1 and codelist.id != "region":
            raise SelectionError(
                codelist.id, _("choose one code; only regions can be compared on one chart")
            )
        if values:
            asked[codelist.id] = list(dict.fromkeys(values))  # once each, in order
    given = {codelist_id: values[0] for codelist_id, values in asked.items()}
    candidates = sorted(
        (s for s in public if s.frequency == frequency),
        key=lambda s: _nearness(s.dimensions, totals),
    )
    matching = [s for s in candidates if all(s.dimensions.get(k) == v for k, v in given.items())]
    dimensions = {c.id: totals.get(c.id, "") for c in codelists}
    dimensions.update(matching[0].dimensions if matching else {}, **given)
    order = [c.id for c in codelists]
    key = series_key(dimensions, order)
    series = next((s for s in matching if s.key == key), None)
    # The form shows exactly what was asked, even a total with no values of its own.
    for codelist_id, value in dimensions.items():
        if (codelist_id, value) not in codes_by_key:
            missing = Code.objects.filter(codelist_id=codelist_id, code=value).first()
            if missing is not None:
                codes_by_key[(codelist_id, value)] = missing
                options.setdefault(codelist_id, []).insert(0, missing)
    by_key = {s.key: s for s in candidates}
    others = [
        codes_by_key.get(("region", region))
        or Code.objects.filter(codelist_id="region", code=region).first()
        for region in asked.get("region", [])[1:]
    ]
    compared_series: list[tuple[Code, Series]] = []
    without_values: list[str] = []
    for region_code in [code for code in others if code is not None][: COMPARED_MAX - 1]:
        other = by_key.get(series_key({**dimensions, "region": region_code.code}, order))
        if other is None:
            without_values.append(region_code.name)
        else:
            compared_series.append((region_code, other))
    left_off = [code.name for code in others[COMPARED_MAX - 1 :] if code is not None]
    points = (
        list(series_points_public(series_id=series.pk, at=at).select_related(None).defer(*UNSHOWN))
        if series
        else []
    )
    compared_points: dict[int, list] = {}
    if compared_series:
        for point in series_points_public_many(
            series_ids=[s.pk for _c, s in compared_series], at=at
        ).defer(*UNSHOWN):
            compared_points.setdefault(point.series_id, []).append(point)
    range_start = ""
    years = RANGES[chosen_range]
    if years is not None:
        newest = max(
            (p.period_start for p in [*points, *(x for v in compared_points.values() for x in v)]),
            default=None,
        )
        if newest is not None:
            cutoff = newest.replace(year=newest.year - years)
            points = [p for p in points if p.period_start > cutoff]
            compared_points = {
                pk: [p for p in values if p.period_start > cutoff]
                for pk, values in compared_points.items()
            }
            starts = [*points, *(x for v in compared_points.values() for x in v)]
            range_start = min(starts, key=lambda p: p.period_start).period if starts else ""
    target = (
        Target.objects.filter(series=series).order_by("-period_start").first() if series else None
    )
    return Selection(
        indicator=indicator,
        codelists=codelists,
        options=options,
        codes_by_key=codes_by_key,
        frequency=frequency,
        dimensions=dimensions,
        totals=totals,
        series=series,
        alternatives=[] if series else candidates[:12],
        points=points,
        target=target,
        as_of=at,
        range=chosen_range,
        range_start=range_start,
        compared=[
            (code, other, compared_points.get(other.pk, [])) for code, other in compared_series
        ],
        left_off=left_off,
        without_values=without_values,
    )


def code_lookup(codelist_id: str, value: str, *, options: dict[str, list], totals: dict) -> str:
    """The code that ``value`` names in the code list ``codelist_id``: its own code, or
    another name of it by the API's rule (``DimensionFilter.canonical``: a province's ISO
    3166-2 code, ``ID-JB``, in any case); anything else is a ``SelectionError`` naming
    the field. ``options``: the codes in use."""
    in_use = {code.code for code in options.get(codelist_id, [])}
    total = totals.get(codelist_id)
    if value == total or value in in_use:
        return value
    canonical = DimensionFilter(codelist_id=codelist_id).canonical(value, CatalogueLookups())
    if canonical is not None and (canonical == total or canonical in in_use):
        return canonical
    raise SelectionError(
        codelist_id,
        _("%(value)s is not a code with data for this indicator") % {"value": value},
    )


@cached_page
def indicator_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        chosen = _selection(request, code)
    except SelectionError as error:
        indicator = indicators_public().get(code=code)
        context = {"indicator": indicator, "error": error, "codelists": indicator.dimensions.all()}
        return render(request, "stats/indicator_error.html", context, status=400)
    indicator, series, points = chosen.indicator, chosen.series, chosen.points
    frequency, dimensions, at = chosen.frequency, chosen.dimensions, chosen.as_of
    language = _language()
    vintages = (
        list(
            series_vintages_public(series_id=series.pk, at=at).select_related(None).defer(*UNSHOWN)
        )
        if series
        else []
    )
    _table_rows(
        [*points, *vintages], unit=indicator.unit, decimals=indicator.decimals, language=language
    )
    expression_texts(points, indicator=indicator, language=language)
    revised_periods = _revised_periods(vintages)
    selection_label = chosen.label
    chart = _chart(chosen, language, chart_id=f"chart-{indicator.code.lower()}")
    # The same chart re-laid for phones (the page's CSS shows one of the two): drawn
    # narrower with larger text, so that scaled to a phone's width its text stays readable.
    chart_narrow = _chart(
        chosen,
        language,
        chart_id=f"chart-{indicator.code.lower()}-narrow",
        **charts.NARROW_CHART,
    )
    query = urlencode(chosen.query, doseq=True)
    permalink = _permalink(request, chosen)
    api_url = request.build_absolute_uri(f"/api/v1/observations/?{_api_query(chosen)}")
    derivation = DerivedDefinition.objects.filter(indicator=indicator, is_active=True).first()
    used_by = list(derived_indicators_public(indicator=indicator))
    breakdowns = _with_shares(
        breakdowns_public(indicator=indicator, frequency=frequency, at=at),
        indicator=indicator,
        chosen=chosen,
        language=language,
    )
    shown = [*points, *(row["observation"] for b in breakdowns for row in b["rows"])]
    context = {
        "indicator": indicator,
        "estimate_sources": _estimate_sources(shown, language),
        "codelists": [
            {"codelist": c, "options": chosen.options.get(c.id, []), "selected": dimensions[c.id]}
            for c in chosen.codelists
        ],
        "alternatives": [
            (
                _codes_label(other.dimensions, chosen),
                "?" + urlencode({"frequency": frequency, **other.dimensions}),
            )
            for other in chosen.alternatives
        ],
        "frequency": frequency,
        "frequencies": [(letter, _frequency_name(letter)) for letter in indicator.frequencies],
        "series": series,
        "selection_label": selection_label,
        "points": points,
        "data_rows": _data_rows(
            points,
            revised_periods=revised_periods,
            has_provenance=any(p.provenance for p in points),
            language=language,
        ),
        "has_provenance": any(p.provenance for p in points),
        "target": chosen.target,
        "chart": chart,
        "chart_narrow": chart_narrow,
        "vintages": vintages,
        "vintage_rows": _vintage_rows(vintages),
        "revised_periods": revised_periods,
        "breakdowns": breakdowns,
        "derivation": derivation,
        "lookalikes": lookalikes_public(indicator=indicator, totals=chosen.totals, at=at),
        "derivation_formula": _formula(derivation, language),
        "used_by": used_by,
        "permalink": permalink,
        "api_url": api_url,
        "csv_url": f"{api_url}&format=csv",
        "json_url": f"{api_url}&format=json",
        "svg_url": reverse("stats:indicator-svg", args=[indicator.code]) + "?" + query,
        "png_url": reverse("stats:indicator-png", args=[indicator.code]) + "?" + query,
        "embed_url": request.build_absolute_uri(
            reverse("stats:indicator-embed", args=[indicator.code]) + "?" + query
        ),
        "xlsx_url": reverse("stats:indicator-xlsx", args=[indicator.code]) + "?" + query,
        "pandas": f'pd.read_csv("{api_url}&format=csv")',
        "as_of": at,
        "current_url": reverse("stats:indicator", args=[indicator.code])
        + chosen.with_query(as_of=None),
        "ranges": _ranges(chosen),
        "range": chosen.range,
        "compared_max": COMPARED_MAX,
        "left_off": chosen.left_off,
        "without_values": chosen.without_values,
        "chart_label": _selection_title(chosen),
        "compared": _compared_shown(chosen, language),
        "comparison_rows": _comparison_rows(chosen, language),
        "next_release": _next_release_shown(indicator, language) if at is None else None,
        "citation": _citation(request, chosen, language),
        "dataset_jsonld": _dataset_jsonld(request, indicator, language),
        "licence": attribution(),
        "credit": attribution().credit(language),
        "metadata_url": reverse("opendata:indicator-metadata", kwargs={"code": indicator.code}),
        "datapackage_url": reverse(
            "opendata:indicator-datapackage", kwargs={"code": indicator.code}
        ),
    }
    context["extension_sections"] = [
        section
        for extension in extensions()
        for section in extension.indicator_sections(indicator=indicator, request=request)
    ]
    return render(request, "stats/indicator_detail.html", context)


def _chart(chosen: Selection, language: str, **options) -> SafeString:
    """The selection's line chart, the same on the page and in the downloads."""
    indicator, points, target = chosen.indicator, chosen.points, chosen.target
    compared = [
        (code.name, [charts.ChartPoint(p.period, p.value, p.status) for p in other_points])
        for code, _series, other_points in chosen.compared
    ]
    if compared:  # one series' target would read as every line's: not drawn
        target = None
    description = _chart_description(indicator, points, target, language)
    if compared:
        description += " " + _("Compared on the same axes: %(names)s.") % {
            "names": ", ".join([_region_name(chosen), *(name for name, _points in compared)])
        }
    return charts.line_chart(
        [charts.ChartPoint(p.period, p.value, p.status) for p in points],
        unit=indicator.unit,
        language=language,
        title=f"{indicator.name} — {_selection_title(chosen)}",
        description=description,
        target=charts.ChartPoint(target.period, target.value) if target else None,
        decimals=max(indicator.decimals, 1),
        name=_region_name(chosen),
        compared=compared,
        **options,
    )


def _region_name(chosen: Selection) -> str:
    code = chosen.codes_by_key.get(("region", chosen.dimensions.get("region", "")))
    return code.name if code is not None else chosen.dimensions.get("region", "")


def _selection_title(chosen: Selection) -> str:
    """The selection's label, with every region drawn when several are compared."""
    if not chosen.compared:
        return chosen.label
    names = [_region_name(chosen), *(code.name for code, _s, _p in chosen.compared)]
    rest = _codes_label({k: v for k, v in chosen.dimensions.items() if k != "region"}, chosen)
    return ", ".join(names) + (f" ({rest})" if rest else "")


def _api_query(chosen: Selection) -> str:
    """The query of the API's observations that gives the selection's values: regions
    as a comma list, the time range as its first period."""
    query: dict[str, str] = {
        "indicator": chosen.indicator.code,
        "frequency": chosen.frequency,
        **chosen.dimensions,
    }
    if chosen.compared:
        query["region"] = ",".join(
            [chosen.dimensions["region"], *(code.code for code, _s, _p in chosen.compared)]
        )
    if chosen.range_start:
        query["period_start"] = chosen.range_start
    if chosen.as_of is not None:
        query["as_of"] = timezone.localtime(chosen.as_of).isoformat()
    return urlencode(query)


def _ranges(chosen: Selection) -> list[dict]:
    """The time ranges a reader can choose, each with its link and whether it is shown."""
    labels = {"1y": _("1 year"), "5y": _("5 years"), "10y": _("10 years"), "all": _("All")}
    return [
        {
            "key": key,
            "label": labels[key],
            "url": chosen.with_query(range=None if key == RANGE_DEFAULT else key),
            "current": key == chosen.range,
        }
        for key in RANGES
    ]


def _regions(chosen: Selection) -> list[str]:
    return [chosen.dimensions.get("region", ""), *(c.code for c, _s, _p in chosen.compared)]


def _compared_shown(chosen: Selection, language: str) -> list[dict]:
    """The lines of a comparison chart for the page's key: number, name, the link that
    takes the region off the chart."""
    if not chosen.compared:
        return []
    regions = _regions(chosen)
    return [
        {
            "number": number,
            "code": region,
            "name": name,
            "colour": number - 1,
            "remove_url": chosen.with_query(region=[r for r in regions if r != region]),
        }
        for number, (region, name) in enumerate(
            zip(
                regions,
                [_region_name(chosen), *(c.name for c, _s, _p in chosen.compared)],
                strict=True,
            ),
            start=1,
        )
    ]


def _comparison_rows(chosen: Selection, language: str) -> list[dict]:
    """The compared regions' values as a table (a period per row, newest first)."""
    if not chosen.compared:
        return []
    indicator = chosen.indicator
    columns = [chosen.points, *(other for _c, _s, other in chosen.compared)]
    by_period: dict[str, list] = {}
    starts: dict[str, dt.date] = {}
    for index, column in enumerate(columns):
        for point in column:
            by_period.setdefault(point.period, [None] * len(columns))[index] = point
            starts[point.period] = point.period_start
    rows = []
    for period in sorted(by_period, key=lambda p: starts[p], reverse=True):
        cells: list[dict | None] = []
        for point in by_period[period]:
            if point is None:
                cells.append(None)
                continue
            cells.append(
                {
                    "text": formatting.value_table(
                        point.value,
                        unit=indicator.unit,
                        language=language,
                        decimals=indicator.decimals,
                    ),
                    "exact": formatting.value_full(
                        point.value, unit="", language=language, decimals=indicator.decimals
                    ),
                    "status": point.status,
                    "status_text": point.get_status_display(),
                }
            )
        rows.append({"period": formatting.period_label(period, language=language), "cells": cells})
    return rows


def _next_release_shown(indicator: Indicator, language: str) -> dict | None:
    """The indicator's next scheduled release as the calendar shows it: its time in WIB
    in the page's language, its title and its entry in the calendar (nothing more: its
    content is under embargo)."""
    scheduled = indicator_next_release(indicator=indicator)
    if scheduled is None:
        return None
    return {
        "when": formatting.date_label(scheduled.scheduled_for, language=language, time=True),
        "iso": timezone.localtime(scheduled.scheduled_for).isoformat(),
        "title": (scheduled.title_en if language == "en" else "") or scheduled.title_id,
        "url": scheduled.calendar_path,
    }


def _dataset_jsonld(request: HttpRequest, indicator: Indicator, language: str) -> SafeString:
    """The indicator as a schema.org Dataset (JSON-LD), with its licence and downloads."""
    coverage = coverage_indicator_public(indicator=indicator)
    if coverage is None:
        return SafeString("")
    urls = Urls(request)
    document = schemaorg.dataset(
        coverage,
        attribution=attribution(),
        language=language,
        page_url=urls(indicator, "page"),
        downloads={
            "text/csv": urls(indicator, "csv"),
            "application/json": urls(indicator, "json"),
        },
        catalogue_url=urls.absolute(reverse("opendata:catalogue")),
    )
    return schemaorg.script(document)


def _credit_lines(request: HttpRequest, chosen: Selection, language: str) -> list[str]:
    """What a reused chart or table says of itself: title and unit, source and licence,
    the date it was retrieved (and the instant it shows, with ``as_of``) and its link."""
    indicator, licence = chosen.indicator, attribution()
    source = text_localized(indicator.source or licence.publisher_name, language=language)
    retrieved = formatting.date_label(timezone.now(), language=language)
    dated = _("Retrieved %(date)s") % {"date": retrieved}
    if chosen.as_of is not None:
        dated += " · " + _("as published on %(date)s") % {
            "date": formatting.date_label(chosen.as_of, language=language, time=True)
        }
    return [
        f"{indicator.name} — {chosen.label} "
        f"({formatting.unit_label(indicator.unit, language=language)})",
        f"{_('Source')}: {source} · {_('Licence')}: {licence.licence_id} ({licence.licence_url})",
        dated,
        _permalink(request, chosen),
    ]


def _chart_download(request: HttpRequest, code: str) -> tuple[str, SafeString] | HttpResponse:
    """The chosen selection's chart for the SVG and PNG downloads: (file stem, SVG), with
    its title, unit, source, licence, date and link written below it.

    A bad filter is answered here, as a plain-text 400 naming the field.
    """
    try:
        chosen = _selection(request, code)
    except SelectionError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    language = _language()
    svg = _chart(chosen, language, footer=_credit_lines(request, chosen, language))
    return f"{chosen.indicator.code.lower()}-{chosen.frequency.lower()}", svg


@xframe_options_exempt
@csp_replace({"frame-ancestors": settings.ANGKA_EMBED_FRAME_ANCESTORS})
@cached_page
def indicator_embed(request: HttpRequest, code: str) -> HttpResponse:
    """The selection's chart alone, for other sites to frame: title, unit, source,
    licence and a link back. The only page that may be framed (``frame-ancestors`` of
    ``ANGKA_EMBED_FRAME_ANCESTORS``); every other answers with DENY and 'none'."""
    try:
        chosen = _selection(request, code)
    except SelectionError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    language = _language()
    indicator, licence = chosen.indicator, attribution()
    context = {
        "indicator": indicator,
        "selection_label": chosen.label,
        "chart": _chart(chosen, language, chart_id="embed-chart"),
        "has_points": bool(chosen.points),
        "source": text_localized(indicator.source or licence.publisher_name, language=language),
        "licence": licence,
        "credit": licence.credit(language),
        "as_of": chosen.as_of,
        "permalink": _permalink(request, chosen),
    }
    return render(request, "stats/indicator_embed.html", context)


def _chart_file(request: HttpRequest, code: str, *, extension: str, content_type: str, render):
    """The chart download as a file: ``render`` turns the SVG into the file's bytes."""
    chart = _chart_download(request, code)
    if isinstance(chart, HttpResponse):
        return chart
    stem, svg = chart
    response = HttpResponse(render(svg), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{stem}.{extension}"'
    return response


@cached_page
def indicator_svg(request: HttpRequest, code: str) -> HttpResponse:
    """The indicator's chart as a stand-alone SVG file, for reuse."""
    return _chart_file(
        request, code, extension="svg", content_type="image/svg+xml; charset=utf-8", render=str
    )


@cached_page
def indicator_png(request: HttpRequest, code: str) -> HttpResponse:
    """The same chart as the SVG download, rasterised to PNG on the server."""
    return _chart_file(request, code, extension="png", content_type="image/png", render=charts.png)


@cached_page
def indicator_xlsx(request: HttpRequest, code: str) -> HttpResponse:
    """The selection's values as an XLSX workbook, with a metadata sheet: title, unit,
    source, licence, citation, the instant the values stood (``as_of``) and the link."""
    try:
        chosen = _selection(request, code)
    except SelectionError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    language = _language()
    indicator, licence = chosen.indicator, attribution()
    rows = ObservationRows(CatalogueLookups(), read_at=chosen.as_of, texts_language=language)
    series = chosen.series
    series_id = series.pk if series else 0
    # The chosen time range: the periods the page shows.
    shown = [point.period for point in chosen.points]
    points = series_points_public(series_id=series_id, at=chosen.as_of).filter(period__in=shown)
    # The CSV's lines of the series (stats.api.statements): the workbook has its columns.
    sql, params = csv_lines_sql(
        rows, points, [("period_start", False)], Series.objects.filter(pk=series_id)
    )
    as_of = chosen.as_of or points.aggregate(latest=Max("valid_from"))["latest"]
    metadata = [
        ("title", f"{indicator.name} — {chosen.label}"),
        ("indicator", indicator.code),
        ("unit", formatting.unit_label(indicator.unit, language=language)),
        ("source", text_localized(indicator.source or licence.publisher_name, language=language)),
        ("publisher", licence.publisher_name),
        ("licence", f"{licence.licence_title} ({licence.licence_id}) {licence.licence_url}"),
        ("attribution", licence.credit(language)),
        ("citation", _citation(request, chosen, language)),
        ("as_of", timezone.localtime(as_of).isoformat() if as_of else ""),
        ("retrieved", timezone.localtime().isoformat(timespec="seconds")),
        ("url", _permalink(request, chosen)),
        ("value_exact", _("The exact value as text; the value column is its nearest number.")),
    ]
    content = xlsx.observations_workbook(rows=rows, sql=sql, params=params, metadata=metadata)
    response = HttpResponse(content, content_type=xlsx.MEDIA_TYPE)
    stem = f"{indicator.code.lower()}-{chosen.frequency.lower()}"
    response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    return response


def _table_rows(observations: list, *, unit: str, decimals: int, language: str) -> None:
    """Give each observation of the data and revision tables its texts, once per distinct
    value: the period, the value, the status, the release's link (one query for all, from
    the registered extensions) and the publication and replacement dates. A long monthly
    series has hundreds of rows; formatting in the template, row by row, was most of the
    page's cost."""
    if not observations:
        return
    release_ids = {observation.release_id for observation in observations}
    links: dict[int, tuple[str, str]] = {}
    for extension in extensions():
        links.update(extension.release_links(release_ids=release_ids))
    periods: dict[str, str] = {}
    statuses: dict[str, str] = {}
    dates: dict = {}

    def date_texts(instant) -> tuple[str, str]:
        if instant not in dates:
            dates[instant] = (
                date_filter(timezone.localtime(instant), "c"),
                formatting.date_label(instant, language=language),
            )
        return dates[instant]

    for observation in observations:
        observation.release_url, observation.release_title = links.get(
            observation.release_id, ("", "")
        )
        period = observation.period
        if period not in periods:
            periods[period] = formatting.period_label(period, language=language)
        observation.period_text = periods[period]
        observation.value_exact = formatting.value_full(
            observation.value, unit="", language=language, decimals=decimals
        )
        observation.value_text = formatting.value_table(
            observation.value, unit=unit, language=language, decimals=decimals
        )
        if observation.status not in statuses:
            statuses[observation.status] = observation.get_status_display()
        observation.status_text = statuses[observation.status]
        if observation.valid_from is not None:
            observation.valid_from_iso, observation.valid_from_text = date_texts(
                observation.valid_from
            )
        if observation.valid_to is not None:
            observation.valid_to_iso, observation.valid_to_text = date_texts(observation.valid_to)


def expression_texts(computed: list, *, language: str, indicator: Indicator | None = None) -> None:
    """Give each computed value (an observation with provenance) its expression for a
    reader, in the page's number format with the inputs named
    (``formatting.expression_text``), and its inputs with their names: one query for the
    input indicators of all of them, one for the code names. ``indicator``: the values'
    own indicator when they share it (else each value's series' indicator)."""
    computed = [point for point in computed if point.provenance]
    if not computed:
        return
    codes = {item["indicator"] for point in computed for item in point.provenance["inputs"]}
    inputs = {i.code: i for i in Indicator.objects.filter(code__in=codes)}
    names = {(c.codelist_id, c.code): c.name for c in Code.objects.all()}
    for point in computed:
        own = indicator or point.series.indicator
        used = point.provenance["inputs"]
        point.expression_text = formula_text(
            point.provenance,
            inputs=[
                (item["value"], inputs[item["indicator"]].unit, inputs[item["indicator"]].name)
                for item in used
                if item["indicator"] in inputs
            ],
            unit=own.unit,
            language=language,
            decimals=max(own.decimals, 1),
        )
        point.inputs_shown = [
            {
                **item,
                "indicator_ref": inputs.get(item["indicator"]),
                "series_label": ", ".join(
                    names.get(tuple(pair.split("=", 1)), pair)
                    for pair in item["series_key"].split(",")
                ),
            }
            for item in used
        ]


def _formula(derivation: DerivedDefinition | None, language: str) -> str:
    if derivation is None:
        return ""
    return definition_formula(derivation, language=language)


def _with_shares(breakdowns: list[dict], *, indicator, chosen: Selection, language: str) -> list:
    """Each row's bar length (percent of the largest value); provinces also as a tile map
    with its key, and a link that adds the province to the chart."""
    regions = _regions(chosen)
    for breakdown in breakdowns:
        if breakdown["codelist"].id == "region":
            breakdown["tile_legend"] = _tile_legend(breakdown["rows"], indicator, language)
            breakdown["compare_full"] = len(regions) >= COMPARED_MAX
            for code, _observation in breakdown["rows"]:
                if code is not None and code.code not in regions:
                    code.compare_url = chosen.with_query(region=[*regions, code.code])
            period = formatting.period_label(breakdown["period"], language=language)
            breakdown["tile_map"] = charts.tile_map(
                [
                    (
                        code.code,
                        (code.alt_code or code.code).removeprefix("ID-"),
                        code.name,
                        observation.value,
                        chosen.with_query(region=code.code),
                        observation.status,
                    )
                    for code, observation in breakdown["rows"]
                    if code is not None
                ],
                unit=indicator.unit,
                language=language,
                title=f"{indicator.name}, {period}",
                description=_(
                    "Tile map of the provinces; darker tiles have higher values. "
                    "The table below gives every value."
                ),
                decimals=max(indicator.decimals, 1),
            )
        largest = max((abs(obs.value) for _code, obs in breakdown["rows"]), default=0)
        breakdown["rows"] = [
            {
                "code": code,
                "observation": observation,
                "share": f"{(abs(observation.value) / largest * 100) if largest else 0:.1f}",
            }
            for code, observation in breakdown["rows"]
        ]
    return breakdowns


def _tile_legend(rows: list, indicator, language: str) -> dict:
    """The tile map's key: each class's colour with its lowest and highest value, in the
    page's number format, and the statuses the starred, hatched tiles have."""
    values = [observation.value for code, observation in rows if code is not None]
    decimals = max(indicator.decimals, 1)

    def text(value) -> str:
        return formatting.value_short(
            value, unit=indicator.unit, language=language, decimals=decimals
        )

    classes = [
        {
            "level": tile_class.level,
            "text": text(tile_class.low)
            if tile_class.low == tile_class.high
            else f"{text(tile_class.low)} – {text(tile_class.high)}",
            "count": tile_class.count,
        }
        for tile_class in charts.tile_classes(values)
    ]
    statuses = {o.status for code, o in rows if code is not None} - {ObservationStatus.NORMAL}
    marked = [str(status.label).lower() for status in ObservationStatus if status.value in statuses]
    return {"classes": classes, "marked": ", ".join(marked)}


def _estimate_sources(observations: list, language: str) -> list[tuple[str, int]]:
    """The sources of the shown estimates in the page's language, with how many values
    each: an estimate (the demo's illustrative splits among them) must never pass for a
    reported figure."""
    counts: dict[str, int] = {}
    for observation in observations:
        if observation.status == ObservationStatus.ESTIMATE:
            source = text_localized(observation.source, language=language) or "–"
            counts[source] = counts.get(source, 0) + 1
    return sorted(counts.items())


def _frequency_name(letter: str) -> str:
    return str(Frequency(letter).label)


# The two long tables of an indicator page (a value per period, a row per vintage: a
# monthly series has hundreds) are written here rather than by template loops, which
# cost most of a cold page's rendering; the markup is the template's.
_DATA_ROW = (
    '<tr data-period="{period}">\n'
    '          <th scope="row">{period_text}</th>\n'
    '          <td class="num" data-value="{value}" title="{exact}">{text}</td>\n'
    "          <td>{status}{badge}</td>\n"
    '          <td><a href="{release_url}">{release_title}</a></td>\n'
    "          {last}\n"
    "        </tr>\n"
)
_VINTAGE_ROW = (
    '<tr{superseded}><th scope="row">{period_text}</th>\n'
    '            <td class="num" title="{exact}">{text}</td>\n'
    '            <td><time datetime="{from_iso}">{from_text}</time></td>\n'
    '            <td><a href="{release_url}">{release_title}</a></td>\n'
    "            <td>{replaced}</td></tr>\n"
)


def _escape(value) -> str:
    # The template's autoescaping (Django's conditional_escape) without its lazy-string
    # wrapper, which cost more than the escaping over a long table.
    return str(value) if isinstance(value, SafeData) else html.escape(str(value))


def _data_rows(points, *, revised_periods: set[str], has_provenance: bool, language: str):
    """The rows of the data table, newest period first."""
    badge = f' <span class="badge">{_escape(_("revised"))}</span>'
    rows = []
    for point in reversed(points):
        if not has_provenance:
            note = text_localized(point.note or "", language=language)
            last = f'<td class="muted">{_escape(note)}</td>'
        elif point.provenance:
            last = (
                f'<td><span title="{_escape(point.provenance["expression"])}">'
                f"{_escape(point.expression_text)}</span></td>"
            )
        else:
            last = "<td></td>"
        rows.append(
            _DATA_ROW.format(
                period=_escape(point.period),
                period_text=_escape(point.period_text),
                value=_escape(localize(point.value.normalize())),
                exact=_escape(point.value_exact),
                text=_escape(point.value_text),
                status=_escape(point.status_text),
                badge=badge if point.period in revised_periods else "",
                release_url=_escape(point.release_url),
                release_title=_escape(point.release_title),
                last=last,
            )
        )
    return mark_safe("".join(rows))  # every part is escaped above


def _vintage_rows(vintages):
    """The rows of the revision history: every published value, when a later release
    replaced it."""
    current = _escape(_("current"))
    rows = []
    for vintage in vintages:
        replaced = current
        if vintage.valid_to:
            replaced = (
                f'<time datetime="{_escape(vintage.valid_to_iso)}">'
                f"{_escape(vintage.valid_to_text)}</time>"
            )
        rows.append(
            _VINTAGE_ROW.format(
                superseded=' class="superseded"' if vintage.valid_to else "",
                period_text=_escape(vintage.period_text),
                exact=_escape(vintage.value_exact),
                text=_escape(vintage.value_text),
                from_iso=_escape(vintage.valid_from_iso),
                from_text=_escape(vintage.valid_from_text),
                release_url=_escape(vintage.release_url),
                release_title=_escape(vintage.release_title),
                replaced=replaced,
            )
        )
    return mark_safe("".join(rows))  # every part is escaped above


def _revised_periods(vintages) -> set[str]:
    seen: dict[str, int] = {}
    for vintage in vintages:
        seen[vintage.period] = seen.get(vintage.period, 0) + 1
    return {period for period, count in seen.items() if count > 1}


def _chart_description(indicator, points, target, language: str) -> str:
    if not points:
        return _("No published values for this selection.")
    first, last = points[0], points[-1]
    unit, decimals = indicator.unit, max(indicator.decimals, 1)
    text = _(
        "Line chart from %(first)s to %(last)s. First value %(first_value)s, "
        "latest value %(last_value)s (%(last)s)."
    ) % {
        "first": formatting.period_label(first.period, language=language),
        "last": formatting.period_label(last.period, language=language),
        "first_value": formatting.value_short(
            first.value, unit=unit, language=language, decimals=decimals
        ),
        "last_value": formatting.value_short(
            last.value, unit=unit, language=language, decimals=decimals
        ),
    }
    if target is not None:
        text += " " + _("Target for %(period)s: %(value)s, drawn as a dashed line.") % {
            "period": formatting.period_label(target.period, language=language),
            "value": formatting.value_short(
                target.value, unit=unit, language=language, decimals=decimals
            ),
        }
    return text


def _permalink(request: HttpRequest, chosen: Selection, **extra: str) -> str:
    """The selection's page as an absolute URL (with its ``as_of``, if any)."""
    path = reverse("stats:indicator", args=[chosen.indicator.code])
    return request.build_absolute_uri(path + chosen.with_query(**extra))


def _release_title(observation) -> str:
    """The title of the release that published ``observation`` (the page's tables have
    it already; a download asks the registered extensions)."""
    if not hasattr(observation, "release_title"):
        links: dict[int, tuple[str, str]] = {}
        for extension in extensions():
            links.update(extension.release_links(release_ids={observation.release_id}))
        observation.release_url, observation.release_title = links.get(
            observation.release_id, ("", "")
        )
    return observation.release_title


def _citation(request: HttpRequest, chosen: Selection, language: str) -> str:
    """The citation of the selection, pinned to the release of its newest value and to
    the instant it cites: the page's ``as_of``, or when its newest value was published
    (so that the cited link shows the same values after any later revision)."""
    indicator, points = chosen.indicator, chosen.points
    span = ""
    if points:
        first = formatting.period_label(points[0].period, language=language)
        last = formatting.period_label(points[-1].period, language=language)
        span = f", {first}–{last}" if first != last else f", {first}"
    newest = max(points, key=lambda point: point.valid_from) if points else None
    pinned = chosen.as_of or (newest.valid_from if newest else None)
    url = _permalink(request, chosen)
    if pinned is not None and chosen.as_of is None:
        url = _permalink(request, chosen, as_of=timezone.localtime(pinned).isoformat())
    return citation_text(
        publisher=text_localized(
            indicator.source or attribution().publisher_name, language=language
        ),
        title=f"{indicator.name} ({chosen.label}){span}",
        url=url,
        language=language,
        release=_release_title(newest) if newest else "",
        as_of=formatting.date_label(pinned, language=language, time=True) if pinned else "",
    )


@cached_page
def methodology(request: HttpRequest) -> HttpResponse:
    return render(request, "stats/methodology.html", {"topics": list(topics_public())})


@cached_page
def methodology_topic(request: HttpRequest, topic: str) -> HttpResponse:
    found = topics_public().filter(code=topic).first()
    if found is None:
        raise Http404(_("No such topic."))
    indicators = list(
        indicators_public()
        .filter(topic=found)
        .select_related("derivation")
        .prefetch_related("derivation__inputs__indicator")
        .order_by("code")
    )
    language = _language()
    for indicator in indicators:
        derivation = getattr(indicator, "derivation", None)
        indicator.derivation_formula = _formula(derivation, language)
    context = {
        "topic": found,
        "indicators": indicators,
        "topics": list(topics_public()),
    }
    return render(request, "stats/methodology_topic.html", context)


def robots(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Allow: /",
        f"Sitemap: {request.build_absolute_uri('/sitemap.xml')}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
