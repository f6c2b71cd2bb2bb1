"""News release bodies: Markdown rendered safely, with live figures cited by reference.

Editors write Markdown. It is rendered by ``markdown`` and then cleaned by ``nh3``
(no script, style, iframe, event-handler attributes or javascript: links survive).
A figure is cited as ``[[INDICATOR PERIOD]]``, optionally with codes that differ
from the totals: ``[[ACTIVE_PARTICIPANTS 2023 segment=BPU]]``. The page shows the
value published now, formatted in the page's language and linked to its indicator,
with a notice when it was revised after the news release was published.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import markdown
import nh3
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from stats import formatting
from stats.models import Indicator, Observation, Series
from stats.periods import parse_period
from stats.selectors import total_codes

FIGURE_PATTERN = re.compile(
    r"\[\[(?P<indicator>[A-Z0-9_]+)\s+(?P<period>\d{4}(?:-(?:S[12]|Q[1-4]|\d{2}))?)"
    r"(?P<codes>(?:\s+[a-z][a-z0-9_]*=[A-Za-z0-9_\-]+)*)\s*\]\]"
)
# Tags a news release may use; everything else is removed with its content kept as text.
ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "a", "ul", "ol", "li",
    "blockquote", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "abbr", "sup",
    "sub",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}}


@dataclass(frozen=True)
class FigureReference:
    indicator: str
    period: str
    codes: tuple[tuple[str, str], ...]

    @property
    def text(self) -> str:
        extra = "".join(f" {name}={code}" for name, code in self.codes)
        return f"[[{self.indicator} {self.period}{extra}]]"


@dataclass
class Figure:
    reference: FigureReference
    indicator: Indicator | None = None
    series: Series | None = None
    current: Observation | None = None
    as_published: Observation | None = None
    dimensions: dict = field(default_factory=dict)

    @property
    def revised(self) -> bool:
        return (
            self.current is not None
            and self.as_published is not None
            and self.current.pk != self.as_published.pk
        )


def figure_references(body: str) -> list[FigureReference]:
    """The figures a body cites, in order of first appearance, each once."""
    seen: dict[FigureReference, None] = {}
    for match in FIGURE_PATTERN.finditer(body or ""):
        codes = tuple(tuple(part.split("=", 1)) for part in match["codes"].split() if "=" in part)
        seen.setdefault(FigureReference(match["indicator"], match["period"], codes), None)
    return list(seen)


def figures_resolve(
    *, references: list[FigureReference], published_at: dt.datetime | None
) -> dict[FigureReference, Figure]:
    """The value published now and the one public when the news came out, for each reference.

    Three queries whatever the number of references: totals, series, vintages.
    """
    figures = {reference: Figure(reference) for reference in references}
    if not references:
        return figures
    now = timezone.now()
    totals = total_codes(codelist_ids=["region", "segment", "program"])
    frequencies = set()
    for reference in references:
        try:
            frequencies.add(parse_period(reference.period).frequency)
        except ValueError:
            continue
    candidates = (
        Series.objects.filter(
            indicator__code__in={r.indicator for r in references}, frequency__in=frequencies
        )
        .select_related("indicator")
        .order_by("pk")
    )
    for series in candidates:
        for reference, figure in figures.items():
            if figure.series is not None or series.indicator.code != reference.indicator:
                continue
            if parse_period(reference.period).frequency != series.frequency:
                continue
            wanted = {name: totals.get(name) for name in series.dimensions}
            wanted.update(dict(reference.codes))
            if series.dimensions == wanted:
                figure.series, figure.indicator, figure.dimensions = (
                    series,
                    series.indicator,
                    wanted,
                )
    matched = [f for f in figures.values() if f.series is not None]
    if not matched:
        return figures
    condition = Q()
    for figure in matched:
        condition |= Q(series=figure.series, period=figure.reference.period)
    vintages = Observation.objects.filter(condition, valid_from__isnull=False, valid_from__lte=now)
    for vintage in vintages.order_by("valid_from"):
        for figure in matched:
            assert figure.series is not None  # matched
            if vintage.series_id != figure.series.pk or vintage.period != figure.reference.period:
                continue
            if vintage.valid_to is None or vintage.valid_to > now:
                figure.current = vintage
            if (
                published_at is not None
                and vintage.valid_from <= published_at
                and (vintage.valid_to is None or vintage.valid_to > published_at)
            ):
                figure.as_published = vintage
    return figures


def figure_url(figure: Figure) -> str:
    series, indicator = figure.series, figure.indicator
    assert series is not None and indicator is not None  # a figure found (with a value)
    # The series key lists the codes in code-list order (JSON keys have no fixed order).
    pairs = (part.split("=", 1) for part in series.key.split(",") if "=" in part)
    codes = {name: code for name, code in pairs}
    query = {"frequency": series.frequency, **codes}
    return reverse("stats:indicator", args=[indicator.code]) + "?" + urlencode(query)


def figure_html(figure: Figure, *, language: str) -> SafeString:
    """The live value as a link, and the revision notice when there is one."""
    if figure.current is None:
        return format_html(
            '<span class="figure figure-missing">{}</span>', _("(figure not available)")
        )
    indicator = figure.indicator
    assert indicator is not None  # found with its series, since it has a value
    decimals = max(indicator.decimals, 1)
    value = formatting.value_short(
        figure.current.value, unit=indicator.unit, language=language, decimals=decimals
    )
    link = format_html(
        '<a class="figure" href="{}" title="{}">{}</a>',
        figure_url(figure),
        f"{indicator.name}, {formatting.period_label(figure.reference.period, language=language)}",
        value,
    )
    if not figure.revised:
        return link
    assert figure.as_published is not None  # revised
    before = formatting.value_short(
        figure.as_published.value, unit=indicator.unit, language=language, decimals=decimals
    )
    notice = format_html(
        ' <span class="revised-note">({})</span>',
        _("revised since this news release was published; it then said %(value)s")
        % {"value": before},
    )
    return link + notice


def news_body_html(
    *, body: str, figures: dict[FigureReference, Figure], language: str
) -> SafeString:
    """The Markdown body as clean HTML, each cited figure replaced by its live value."""
    placeholders: dict[str, SafeString] = {}

    def substitute(match: re.Match) -> str:
        codes = tuple(tuple(part.split("=", 1)) for part in match["codes"].split() if "=" in part)
        reference = FigureReference(match["indicator"], match["period"], codes)
        token = f"ANGKAFIGURE{len(placeholders)}X"
        figure = figures.get(reference) or Figure(reference)
        # The figure's words follow the page's language, not whatever is active.
        with translation.override(language):
            placeholders[token] = figure_html(figure, language=language)
        return token

    text = FIGURE_PATTERN.sub(substitute, body or "")
    rendered = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    clean = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    for token, html in placeholders.items():
        clean = clean.replace(token, str(html))
    # Safe: nh3 cleaned the Markdown output; the figures were built with format_html.
    return mark_safe(clean)
