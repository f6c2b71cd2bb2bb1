"""News release bodies: Markdown rendered safely, citing figures by reference, as a record.

Editors write Markdown. It is rendered by ``markdown`` and then cleaned by ``nh3``
(no script, style, iframe, event-handler attributes or javascript: links survive).
A figure is cited as ``[[INDICATOR PERIOD]]``, optionally with codes that differ
from the totals: ``[[ACTIVE_PARTICIPANTS 2023 segment=BPU]]``.

A news release is a record of what was said when it was published: each figure shows
the vintage public at the news release's ``published_at`` (the as-of rule of
``stats.selectors.observations_public``), written in the news release's own language,
linked to its indicator. A figure revised since keeps its words in the sentence and
gets a numbered mark; the notice with the value now and the release that revised it
comes right after the paragraph, never inside it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
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
from stats.selectors import observations_public, total_codes

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
# Elements without a closing tag (they do not open a level in the HTML nh3 writes).
VOID_TAGS = {"br", "hr", "img", "wbr"}
# Elements a revision notice may follow; inline ones are part of the sentence around them.
BLOCK_TAGS = {"p", "h2", "h3", "h4", "ul", "ol", "blockquote", "pre", "table", "hr"}
TAG_PATTERN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>")
TOKEN_PATTERN = re.compile(r"ANGKAFIGURE(\d+)X")


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
    """One cited figure: the vintage public when the news release came out, and now."""

    reference: FigureReference
    indicator: Indicator | None = None
    series: Series | None = None
    current: Observation | None = None
    as_published: Observation | None = None
    dimensions: dict = field(default_factory=dict)

    @property
    def revised(self) -> bool:
        """The site shows another value now than when the news release was published."""
        return self.current is not None and (
            self.as_published is None or self.current.pk != self.as_published.pk
        )


def _reference(match: re.Match) -> FigureReference:
    codes = tuple(tuple(part.split("=", 1)) for part in match["codes"].split() if "=" in part)
    return FigureReference(match["indicator"], match["period"], codes)


def figure_references(body: str) -> list[FigureReference]:
    """The figures a body cites, in order of first appearance, each once."""
    seen: dict[FigureReference, None] = {}
    for match in FIGURE_PATTERN.finditer(body or ""):
        seen.setdefault(_reference(match), None)
    return list(seen)


def figures_resolve(
    *,
    references: list[FigureReference],
    published_at: dt.datetime | None,
    now: dt.datetime | None = None,
) -> dict[FigureReference, Figure]:
    """For each reference, the vintage public at ``published_at`` and the one public now.

    A news release not yet published (``published_at`` None) cites what is public now.
    Three queries whatever the number of references: totals, series, vintages.
    """
    figures = {reference: Figure(reference) for reference in references}
    if not references:
        return figures
    now = now or timezone.now()
    published_at = published_at or now
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
    # The as-of rule is stats' own: the vintages public at either instant, in one query.
    vintages = (
        (observations_public(at=published_at) | observations_public(at=now))
        .filter(condition)
        .select_related("release")
    )
    for vintage in vintages:
        assert vintage.valid_from is not None  # public, so published
        for figure in matched:
            assert figure.series is not None  # matched
            if vintage.series_id != figure.series.pk or vintage.period != figure.reference.period:
                continue
            if vintage.valid_from <= now and (vintage.valid_to is None or vintage.valid_to > now):
                figure.current = vintage
            if vintage.valid_from <= published_at and (
                vintage.valid_to is None or vintage.valid_to > published_at
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


def _value(figure: Figure, observation: Observation, *, language: str) -> str:
    indicator = figure.indicator
    assert indicator is not None  # found with its series, since it has a value
    return formatting.value_short(
        observation.value,
        unit=indicator.unit,
        language=language,
        decimals=max(indicator.decimals, 1),
    )


def _url_in(url_language: str | None, url: Callable[[], str]) -> str:
    """A link of the page around the text: in the page's language, not the text's."""
    if url_language is None:
        return url()
    with translation.override(url_language):
        return url()


def figure_html(
    figure: Figure, *, language: str, mark: int | None = None, url_language: str | None = None
) -> SafeString:
    """The figure as it stood when the news release was published, linked to its indicator.

    ``mark`` numbers the revision notice of a revised figure (the notice itself is
    ``revision_notice_html``, placed after the paragraph).
    """
    if figure.as_published is None:
        if figure.current is None:
            return format_html(
                '<span class="figure figure-missing">{}</span>', _("(figure not available)")
            )
        text = format_html(
            '<span class="figure figure-missing">{}</span>',
            _("(figure not yet published when this news release came out)"),
        )
    else:
        indicator = figure.indicator
        assert indicator is not None  # found with its series
        text = format_html(
            '<a class="figure{}" href="{}" title="{}">{}</a>',
            " figure-revised" if figure.revised else "",
            _url_in(url_language, lambda: figure_url(figure)),
            indicator.name
            + ", "
            + formatting.period_label(figure.reference.period, language=language),
            _value(figure, figure.as_published, language=language),
        )
    if not figure.revised or mark is None:
        return text
    return text + format_html(
        '<sup class="revision-mark"><a href="#revision-{}" aria-label="{}">{}</a></sup>',
        mark,
        _("revised since: note %(number)d") % {"number": mark},
        mark,
    )


def revision_notice_html(
    figure: Figure, *, language: str, mark: int, url_language: str | None = None
) -> SafeString:
    """The notice beside a revised figure: its value now, and the release that gave it."""
    current = figure.current
    assert current is not None and figure.revised  # only revised figures get a notice
    assert current.valid_from is not None  # public, so published
    release = current.release
    release_text = format_html(
        '<a href="{}">{}</a>, {}',
        _url_in(url_language, lambda: reverse("publications:release", args=[release.slug])),
        release.localized("title"),
        formatting.date_label(current.valid_from, language=language),
    )
    value = format_html(
        '<a href="{}">{}</a>',
        _url_in(url_language, lambda: figure_url(figure)),
        _value(figure, current, language=language),
    )
    if figure.as_published is None:
        label = _("Published since")
        words = _("the value is %(value)s (release %(release)s).")
    else:
        label = _("Revised")
        words = _("the value now is %(value)s (release %(release)s).")
    # Safe: the value and release were escaped by format_html; the words are ours.
    sentence = mark_safe(words % {"value": value, "release": release_text})
    return format_html(
        '<p class="revision-note" id="revision-{}"><span class="revision-number">{}</span>'
        '<strong class="revision-label">{}</strong>: {}</p>',
        mark,
        mark,
        label,
        sentence,
    )


def _block_ends(html: str) -> list[int]:
    """Where each top-level block of ``html`` ends: a block element, or a run of text and
    inline elements at the top level (what nh3 leaves of a removed ``div``)."""
    ends: list[int] = []
    depth = 0
    in_run = False  # inside top-level text or inline elements
    position = 0
    for match in TAG_PATTERN.finditer(html):
        closing, name = match[1] == "/", match[2].lower()
        block = name in BLOCK_TAGS
        if depth == 0:
            in_run = in_run or bool(html[position : match.start()].strip())
            if block and not closing and in_run:
                ends.append(match.start())
                in_run = False
        if name not in VOID_TAGS and not closing:
            depth += 1
        else:
            if name not in VOID_TAGS:
                depth = max(depth - 1, 0)
            if depth == 0:
                if block:
                    ends.append(match.end())
                else:
                    in_run = True
        position = match.end()
    if in_run or html[position:].strip():
        ends.append(len(html))
    return ends


def _figure_in_block(
    figure: Figure,
    *,
    marks: dict[FigureReference, int],
    notices: list[SafeString],
    language: str,
    url_language: str | None,
) -> str:
    """One figure of a block; a revised one's notice, the first time, joins ``notices``."""
    mark = None
    if figure.revised:
        if figure.reference not in marks:
            marks[figure.reference] = len(marks) + 1
            notices.append(
                revision_notice_html(
                    figure,
                    language=language,
                    mark=marks[figure.reference],
                    url_language=url_language,
                )
            )
        mark = marks[figure.reference]
    return str(figure_html(figure, language=language, mark=mark, url_language=url_language))


def news_body_html(
    *, body: str, figures: dict[FigureReference, Figure], language: str
) -> SafeString:
    """The Markdown body as clean HTML, each cited figure as it was when published.

    ``language`` is the news release's own: its figures and notices are written as it
    was, whatever the language of the page around it (whose language its links keep).
    """
    url_language = translation.get_language()
    references: list[FigureReference] = []

    def substitute(match: re.Match) -> str:
        references.append(_reference(match))
        return f"ANGKAFIGURE{len(references) - 1}X"

    text = FIGURE_PATTERN.sub(substitute, body or "")
    rendered = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    clean = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    marks: dict[FigureReference, int] = {}
    pieces: list[str] = []
    start = 0
    # The figure's words follow the news release's language, not whatever is active.
    with translation.override(language):
        for end in _block_ends(clean):
            block = clean[start:end]
            notices: list[SafeString] = []

            def figure_in_block(match: re.Match, notices: list[SafeString] = notices) -> str:
                reference = references[int(match[1])]
                return _figure_in_block(
                    figures.get(reference) or Figure(reference),
                    marks=marks,
                    notices=notices,
                    language=language,
                    url_language=url_language,
                )

            pieces.append(TOKEN_PATTERN.sub(figure_in_block, block))
            if notices:
                pieces.append(
                    format_html(
                        '<div class="revision-notes" role="note">{}</div>',
                        mark_safe("".join(notices)),
                    )
                )
            start = end
        pieces.append(clean[start:])  # whitespace after the last element
    # Safe: nh3 cleaned the Markdown output; figures and notices were built with format_html.
    return mark_safe("".join(pieces))
