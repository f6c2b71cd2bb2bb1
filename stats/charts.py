"""Charts drawn on the server as SVG: they show without JavaScript, print, and can be saved.

Each chart carries its own text alternative (``<title>`` and ``<desc>``); the pages put
the same numbers in a table next to it. Colours pass WCAG AA contrast on white.
``png()`` rasterises the very same SVG (resvg, a self-contained wheel: no system
library), so the PNG download and the SVG one show the same picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import resvg_py
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .choices import ObservationStatus
from .formatting import duration, duration_unit, number_short, period_short, unit_label, value_short
from .periods import PERIODS_PER_YEAR, parse_period

INK = "#1b1f24"
MUTED = "#57606a"
GRID = "#d8dee4"
LINE = "#0b5394"
TARGET = "#b3261e"
# The lines of a chart that compares series (provinces), in this order: each passes 3:1
# contrast on white, and each line is also numbered at its end and in the key, so that
# no line is told apart by colour alone.
SERIES_COLOURS = (LINE, "#b35900", "#2e7d32", "#7b1fa2", "#c2185b", "#00838f")
# The charts ask for the system's sans-serif; resvg resolves that generic name to this
# family (Debian's fonts-dejavu-core, on every machine the project runs on). Where it is
# missing resvg falls back to any installed font that has the glyphs.
PNG_SANS_SERIF = "DejaVu Sans"
AXIS_CHAR_WIDTH = 7.2  # px per character of a 12 px axis label in DejaVu Sans, the widest
# The line chart's variant for phones: at a 360 px wide screen the page's content is
# about 320 px wide, so this viewBox is drawn at about its own size and its 14 px text
# stays above 12 px down to a 320 px wide screen.
NARROW_CHART = {"width": 320, "height": 280, "font_size": 14, "period_labels": 3}
FOOTER_CHAR_WIDTH = 6.4  # px per character of the 11 px footer text, as generously
PNG_ZOOM = 2  # twice the SVG's size in pixels: sharp on slides, in print and on phones


@dataclass(frozen=True)
class ChartPoint:
    period: str
    value: Decimal
    status: str = ObservationStatus.NORMAL


def _marker(
    status: str, x: float, y: float, title: str, role: str = "mark", colour: str = LINE
) -> str:
    """A point's mark, distinct per status (not by colour alone): a filled dot for a final
    value, a ring for a provisional one, an open diamond for an estimate, a square for
    the first value after a break in the series."""
    tip = f"<title>{escape(title)}</title>"
    if status == ObservationStatus.PROVISIONAL:
        return (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#ffffff" stroke="{colour}" '
            f'stroke-width="2" class="{role}-provisional">{tip}</circle>'
        )
    if status == ObservationStatus.ESTIMATE:
        return (
            f'<path d="M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y:.1f} L{x:.1f},{y + 5:.1f} '
            f'L{x - 5:.1f},{y:.1f} Z" fill="#ffffff" stroke="{colour}" stroke-width="2" '
            f'class="{role}-estimate">{tip}</path>'
        )
    if status == ObservationStatus.BREAK:
        return (
            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{INK}" '
            f'class="{role}-break">{tip}</rect>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">{tip}</circle>'


def _status_names(language: str) -> dict[str, str]:
    with translation.override(language):
        return {status.value: str(status.label) for status in ObservationStatus}


def _legend_items(statuses: set[str], language: str) -> list[tuple[str, str, int]]:
    """(status, label, width of its marks) of each key entry; the label adds its characters."""
    names = _status_names(language)
    items: list[tuple[str, str, int]] = []
    for status in (s for s in ObservationStatus if s in statuses):
        label = names[status].lower() if status != ObservationStatus.BREAK else names[status]
        items.append((status.value, label, (22 if status != ObservationStatus.BREAK else 0) + 26))
    return items


def _legend_rows(
    statuses: set[str], *, x: float, right: float, language: str, char_width: float
) -> list[list[str]]:
    """The key's entries (statuses) in rows that fit between ``x`` and ``right``."""
    rows: list[list[str]] = [[]]
    cursor = x
    for status, label, fixed in _legend_items(statuses, language):
        item_width = fixed + char_width * len(label)
        if rows[-1] and cursor + item_width > right:
            rows.append([])
            cursor = x
        rows[-1].append(status)
        cursor += item_width
    return rows


def _legend(
    statuses: set[str], *, x: float, y: float, language: str, char_width: float = AXIS_CHAR_WIDTH
) -> list[str]:
    """The key to the marks of the statuses the chart shows, left to right."""
    names = _status_names(language)
    parts = []
    for status, label, _fixed in _legend_items(statuses, language):
        if status != ObservationStatus.BREAK:  # the dashed line that leads to such a value
            parts.append(
                f'<path d="M{x:.1f},{y - 4:.1f} h18" stroke="{LINE}" stroke-width="2.5" '
                f'stroke-dasharray="5 4"/>'
            )
            x += 22
        parts.append(_marker(status, x + 5, y - 4, names[status], role="key"))
        parts.append(f'<text x="{x + 14:.1f}" y="{y:.1f}" fill="{MUTED}">{escape(label)}</text>')
        x += 26 + char_width * len(label)
    return parts


def _ordinal(period: str) -> int:
    parsed = parse_period(period)
    return parsed.year * PERIODS_PER_YEAR[parsed.frequency] + parsed.index - 1


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round axis ticks covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw_step = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw_step))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw_step)
    first = math.floor(low / step) * step
    ticks = [round(first, 10)]
    while ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _axis_label(value: float, unit: str, language: str, scale: float = 1) -> str:
    number = Decimal(str(value))
    if unit == "minutes":  # ticks in the chart's duration unit: 0, 2, 4, 6 hari
        size = Decimal(int(scale))
        return duration(
            number * size, language=language, unit=duration_unit(size, language=language)
        )
    if unit in ("rupiah", "rupiah_per_person"):
        return "Rp" + number_short(number, language=language, decimals=1)
    return number_short(number, language=language, decimals=1)


def _key_items(names: Sequence[str], char_width: float) -> list[tuple[int, str, float]]:
    """(number, text, width) of each line's entry in the key of a comparison chart."""
    return [
        (number, f"{number} {name}", 30 + char_width * (len(name) + 2))
        for number, name in enumerate(names, start=1)
    ]


def _key_rows(names: Sequence[str], *, x: float, right: float, char_width: float) -> list[list]:
    """The key's entries (one per line of a comparison chart) in rows that fit."""
    rows: list[list] = [[]]
    cursor = x
    for item in _key_items(names, char_width):
        if rows[-1] and cursor + item[2] > right:
            rows.append([])
            cursor = x
        rows[-1].append(item)
        cursor += item[2]
    return rows


def line_chart(
    points: list[ChartPoint],
    *,
    unit: str,
    language: str,
    title: str,
    description: str,
    target: ChartPoint | None = None,
    decimals: int = 1,
    chart_id: str = "chart",
    width: int = 720,
    height: int = 320,
    font_size: int = 12,
    period_labels: int = 8,
    footer: Sequence[str] = (),
    name: str = "",
    compared: Sequence[tuple[str, list[ChartPoint]]] = (),
) -> SafeString:
    """A line chart of one series, the target as a dashed line and marker where there is one.

    A narrow variant for phones is the same chart with a smaller ``width``, a larger
    ``font_size`` (it is shown scaled to the screen's width) and fewer ``period_labels``.
    ``footer``: lines written below the chart (a download's title, source, licence, date
    and link), the first in bold; the chart keeps its size above them.
    ``compared``: (name, points) of other series drawn on the same axes (several
    provinces), each in its own colour and numbered; ``name`` is the first series' name.
    A key below the chart names them (and no target is drawn: it is one series' target).
    """
    lines = [(name, points), *compared] if compared else [("", points)]
    lines = [(line_name, line_points) for line_name, line_points in lines if line_points]
    if compared:
        target = None
    everything = [point for _name, line_points in lines for point in line_points]
    # Larger text needs more room above the plot for the axis's unit, and below it for
    # the period labels.
    margin_top, margin_bottom = 20 + 3 * (font_size - 12), 28 + font_size
    margin_left, margin_right = 78, 24
    char_width = AXIS_CHAR_WIDTH * font_size / 12
    line_gap = font_size + 10
    shown = {p.status for p in everything} - {ObservationStatus.NORMAL}
    legend_rows = (
        _legend_rows(shown, x=8, right=width - 8, language=language, char_width=char_width)
        if shown
        else []
    )
    key_rows = (
        _key_rows([n for n, _p in lines], x=8, right=width - 8, char_width=char_width)
        if compared and lines
        else []
    )
    # Lines below the period labels for the key to the lines and to the marks.
    extra_rows = len(legend_rows) + len(key_rows)
    height, margin_bottom = (
        height + line_gap * extra_rows,
        margin_bottom + line_gap * extra_rows,
    )
    footer_parts = []
    if footer:
        footer_top = height + 8
        footer_parts.append(
            f'<line x1="8" x2="{width - 8}" y1="{footer_top}" y2="{footer_top}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        for index, line in enumerate(footer):
            style = f'fill="{INK}" font-weight="600"' if index == 0 else f'fill="{MUTED}"'
            # A line too long for the width (a link with its as_of) is narrowed to fit,
            # never cut off: a reader must be able to copy it from the picture.
            if len(line) * FOOTER_CHAR_WIDTH > width - 16:
                style += f' textLength="{width - 16}" lengthAdjust="spacingAndGlyphs"'
            footer_parts.append(
                f'<text x="8" y="{footer_top + 18 + index * 16}" {style} font-size="11" '
                f'class="chart-credit">{escape(line)}</text>'
            )
        footer_height = 8 + 18 + len(footer) * 16
    else:
        footer_height = 0
    plot_area_height = height
    height += footer_height
    plot_w = width - margin_left - margin_right
    plot_h = plot_area_height - margin_top - margin_bottom
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
        f'font-size="{font_size}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if not everything:
        parts.append(
            f'<text x="{width / 2}" y="{plot_area_height / 2}" text-anchor="middle" '
            f'fill="{MUTED}">–</text>'
        )
        parts.extend(footer_parts)
        parts.append("</svg>")
        return mark_safe("".join(parts))
    all_ordinals = [_ordinal(p.period) for p in everything]
    # Durations are drawn in the unit the largest fills (days, not thousands of minutes),
    # so that the axis steps are round in that unit.
    scale = 1.0
    if unit == "minutes":
        largest = max(abs(p.value) for p in everything)
        scale = float(
            duration_unit(max(largest, target.value if target else 0), language=language)[0]
        )
    all_values = [float(p.value) / scale for p in everything]
    x_min, x_max = min(all_ordinals), max(all_ordinals)
    if target is not None:
        x_max = max(x_max, _ordinal(target.period))
        all_values.append(float(target.value) / scale)
    low = min(0.0, min(all_values))
    ticks = nice_ticks(low, max(all_values))
    y_min, y_max = ticks[0], ticks[-1]
    tick_labels = [_axis_label(tick, unit, language, scale) for tick in ticks]
    # Room for the longest axis label ("Rp800 triliun") in a wide sans-serif such as DejaVu.
    margin_left = max(margin_left, 16 + math.ceil(char_width * max(map(len, tick_labels))))
    plot_w = width - margin_left - margin_right

    def sx(ordinal: int) -> float:
        if x_max == x_min:
            return margin_left + plot_w / 2
        return margin_left + (ordinal - x_min) / (x_max - x_min) * plot_w

    def sy(value: float) -> float:
        return margin_top + plot_h - (value - y_min) / (y_max - y_min) * plot_h

    if unit != "minutes":  # durations carry their unit on each tick
        parts.append(
            f'<text x="8" y="{font_size - 1}" fill="{MUTED}" class="axis-unit">'
            f"{escape(unit_label(unit, language=language))}</text>"
        )
    for tick, tick_label in zip(ticks, tick_labels, strict=True):
        y = sy(tick)
        parts.append(
            f'<line x1="{margin_left}" x2="{width - margin_right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{margin_left - 8}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(tick_label)}</text>"
        )
    # At most about ``period_labels`` period labels along the bottom, starting at the first.
    every = max(1, math.ceil((x_max - x_min + 1) / period_labels))
    labelled = sorted({*range(x_min, x_max + 1, every)})
    frequency = parse_period(everything[0].period).frequency
    per_year = PERIODS_PER_YEAR[frequency]
    for ordinal in labelled:
        year, index0 = divmod(ordinal, per_year)
        code = _code(frequency, year, index0 + 1)
        parts.append(
            f'<text x="{sx(ordinal):.1f}" y="{margin_top + plot_h + 6 + font_size}" '
            f'text-anchor="middle" '
            f'fill="{MUTED}">{escape(period_short(code, language=language))}</text>'
        )
    parts.append(
        f'<line x1="{margin_left}" x2="{width - margin_right}" y1="{sy(y_min):.1f}" '
        f'y2="{sy(y_min):.1f}" stroke="{INK}" stroke-width="1"/>'
    )
    if target is not None:
        ty = sy(float(target.value) / scale)
        label = value_short(target.value, unit=unit, language=language, decimals=decimals)
        word = "Target"  # the same word in Indonesian and English
        parts.append(
            f'<line x1="{margin_left}" x2="{width - margin_right}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="6 4" class="target-line"/>'
        )
        tx = sx(_ordinal(target.period))
        parts.append(
            f'<circle cx="{tx:.1f}" cy="{ty:.1f}" r="5" fill="#ffffff" stroke="{TARGET}" '
            f'stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{min(tx, width - margin_right) - 8:.1f}" y="{ty - 9:.1f}" '
            f'text-anchor="end" fill="{TARGET}" font-weight="600">'
            f"{escape(word)} {escape(period_short(target.period, language=language))}: "
            f"{escape(label)}</text>"
        )
    names = _status_names(language)
    ends: list[str] = []
    for number, (line_name, line_points) in enumerate(lines, start=1):
        colour = SERIES_COLOURS[(number - 1) % len(SERIES_COLOURS)] if compared else LINE
        ordinals = [_ordinal(p.period) for p in line_points]
        values = [float(p.value) / scale for p in line_points]
        parts.extend(
            _series_parts(
                line_points,
                ordinals,
                values,
                sx=sx,
                sy=sy,
                colour=colour,
                prefix=f"{line_name}, " if compared else "",
                unit=unit,
                language=language,
                decimals=decimals,
                names=names,
            )
        )
        if compared:  # the line's number at its end, as in the key
            ends.append(
                f'<text x="{sx(ordinals[-1]) + 7:.1f}" y="{sy(values[-1]) + 4:.1f}" '
                f'fill="{colour}" font-weight="700" stroke="#ffffff" stroke-width="3" '
                f'stroke-linejoin="round" paint-order="stroke" class="line-number">'
                f"{number}</text>"
            )
    parts.extend(ends)
    for row_number, row in enumerate(key_rows):
        row_y = plot_area_height - 6 - line_gap * (extra_rows - 1 - row_number)
        x = 8.0
        for number, text, item_width in row:
            colour = SERIES_COLOURS[(number - 1) % len(SERIES_COLOURS)]
            parts.append(
                f'<path d="M{x:.1f},{row_y - 4:.1f} h18" stroke="{colour}" stroke-width="3"/>'
                f'<text x="{x + 24:.1f}" y="{row_y:.1f}" fill="{INK}" class="line-key">'
                f"{escape(text)}</text>"
            )
            x += item_width
    for row_number, row in enumerate(legend_rows):
        row_y = plot_area_height - 6 - line_gap * (len(legend_rows) - 1 - row_number)
        parts.extend(_legend(set(row), x=8, y=row_y, language=language, char_width=char_width))
    if not compared:
        last_o, last_v = _ordinal(points[-1].period), float(points[-1].value) / scale
        last_text = value_short(points[-1].value, unit=unit, language=language, decimals=decimals)
        anchor = "end" if sx(last_o) > width - margin_right - 60 else "start"
        dx = -8 if anchor == "end" else 8
        # Below the last point, or above it where it sits on the axis labels.
        last_y = sy(last_v) + 18 if sy(last_v) + 18 < margin_top + plot_h - 4 else sy(last_v) - 10
        parts.append(
            f'<text x="{sx(last_o) + dx:.1f}" y="{last_y:.1f}" text-anchor="{anchor}" '
            f'fill="{INK}" font-weight="600" stroke="#ffffff" stroke-width="4" '
            f'stroke-linejoin="round" paint-order="stroke">{escape(last_text)}</text>'
        )
    parts.extend(footer_parts)
    parts.append("</svg>")
    # Safe: every text in the parts was escaped; the rest are numbers and fixed markup.
    return mark_safe("".join(parts))


def _series_parts(
    points: list[ChartPoint],
    ordinals: list[int],
    values: list[float],
    *,
    sx,
    sy,
    colour: str,
    prefix: str,
    unit: str,
    language: str,
    decimals: int,
    names: dict[str, str],
) -> list[str]:
    """One series' line and marks. A missing period is a gap and a break in the series
    starts a new line: neither is bridged. A segment that ends at a provisional value or
    an estimate is dashed."""
    parts: list[str] = []
    solid: list[str] = []
    dashed: list[str] = []
    joined = [  # is point i joined to the one before it?
        i > 0 and o - ordinals[i - 1] == 1 and point.status != ObservationStatus.BREAK
        for i, (point, o) in enumerate(zip(points, ordinals, strict=True))
    ]
    for i, (point, o, v) in enumerate(zip(points, ordinals, values, strict=True)):
        if not joined[i]:
            continue
        segment = f"M{sx(ordinals[i - 1]):.1f},{sy(values[i - 1]):.1f} L{sx(o):.1f},{sy(v):.1f}"
        tentative = point.status in (ObservationStatus.PROVISIONAL, ObservationStatus.ESTIMATE)
        (dashed if tentative else solid).append(segment)
    for segments, style in ((solid, ""), (dashed, ' stroke-dasharray="5 4"')):
        if segments:
            parts.append(
                f'<path d="{" ".join(segments)}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round" '
                f'class="series-line"{style}/>'
            )
    for i, (point, o, v) in enumerate(zip(points, ordinals, values, strict=True)):
        alone = not joined[i] and not (i + 1 < len(points) and joined[i + 1])
        # A long series marks only where a status begins (the dashes carry the rest).
        begins = point.status != ObservationStatus.NORMAL and (
            i == 0 or points[i - 1].status != point.status or not joined[i]
        )
        if len(points) <= 40 or alone or begins:
            text = value_short(point.value, unit=unit, language=language, decimals=decimals)
            title = f"{prefix}{period_short(point.period, language=language)}: {text}"
            if point.status != ObservationStatus.NORMAL:
                title += f" ({names[point.status].lower()})"
            parts.append(_marker(point.status, sx(o), sy(v), title, colour=colour))
    return parts


def png(svg: str, *, zoom: float = PNG_ZOOM) -> bytes:
    """The SVG chart rasterised as PNG bytes (white background, text in ``PNG_SANS_SERIF``)."""
    return bytes(
        resvg_py.svg_to_bytes(
            svg_string=str(svg),
            zoom=zoom,
            background="#ffffff",
            sans_serif_family=PNG_SANS_SERIF,
        )
    )


def _code(frequency: str, year: int, index: int) -> str:
    if frequency == "A":
        return f"{year:04d}"
    if frequency == "S":
        return f"{year:04d}-S{index}"
    if frequency == "Q":
        return f"{year:04d}-Q{index}"
    return f"{year:04d}-{index:02d}"


def sparkline(values: list[Decimal], *, width: int = 120, height: int = 32) -> SafeString:
    """A small trend line, decorative: the figure and its change are written beside it."""
    if len(values) < 2:
        return mark_safe("")
    floats = [float(v) for v in values]
    low, high = min(floats), max(floats)
    span = (high - low) or 1.0
    step = (width - 4) / (len(floats) - 1)
    coords = [
        (2 + i * step, height - 3 - (v - low) / span * (height - 6)) for i, v in enumerate(floats)
    ]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
    last_x, last_y = coords[-1]
    # Safe: numbers and fixed markup only.
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="sparkline" width="{width}" height="{height}" aria-hidden="true" '
        f'focusable="false"><path d="{path}" fill="none" stroke="{LINE}" stroke-width="2" '
        f'stroke-linejoin="round"/><circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" '
        f'fill="{LINE}"/></svg>'
    )


# Indonesia's provinces (BPS codes) on a grid of equal tiles, roughly where they lie:
# Sumatra to the west, Java and Nusa Tenggara along the south, Papua to the east.
PROVINCE_TILES = {
    "11": (0, 0), "12": (1, 0), "21": (3, 0), "13": (1, 1), "14": (2, 1), "17": (1, 2),
    "15": (2, 2), "16": (3, 2), "19": (4, 2), "18": (3, 3), "36": (3, 4), "31": (4, 4),
    "32": (5, 4), "33": (6, 4), "34": (6, 5), "35": (7, 4), "51": (8, 4), "52": (9, 4),
    "53": (10, 4), "61": (5, 1), "62": (6, 1), "64": (7, 1), "65": (7, 0), "63": (7, 2),
    "75": (9, 0), "71": (10, 0), "72": (9, 1), "76": (8, 2), "73": (9, 2), "74": (10, 2),
    "82": (11, 1), "81": (11, 2), "92": (12, 1), "91": (13, 1), "94": (14, 1), "96": (13, 2),
    "97": (14, 2), "95": (14, 3),
}  # fmt: skip
TILE_COLOURS = ("#dbe9f6", "#a9cce3", "#6baed6", "#2b7bba", "#0b4f8a")
TILE_TEXT = ("#1b1f24", "#1b1f24", "#1b1f24", "#ffffff", "#ffffff")


def tile_map(
    tiles: list[tuple[str, str, str, Decimal, str, str]],
    *,
    unit: str,
    language: str,
    title: str,
    description: str,
    decimals: int = 1,
) -> SafeString:
    """A tile map of the provinces, shaded in five equal-count classes (``tile_levels``).

    Its key (each class's bounds, the starred statuses) is written by the page beside
    it, in HTML (``tile_legend``): readable at any width, where the map scrolls.

    The SVG is a labelled group, not an image: an image's content is hidden from
    assistive technology, and the tiles are links that must stay reachable.

    ``tiles``: (BPS code, short label, name, value, link, status). Each tile is a link
    with the province's name, value and status as its title; a value that is not final
    (provisional, estimate) is hatched and starred. The page has the same values as a
    table.
    """
    placed = [tile for tile in tiles if tile[0] in PROVINCE_TILES]
    size, gap, margin = 46, 4, 8
    width = margin * 2 + 15 * (size + gap)
    height = margin * 2 + 6 * (size + gap)
    names = _status_names(language)
    tentative = {tile[5] for tile in placed} - {ObservationStatus.NORMAL}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="tile-map" role="group" aria-labelledby="tiles-title tiles-desc" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">',
        f'<title id="tiles-title">{escape(title)}</title>',
        f'<desc id="tiles-desc">{escape(description)}</desc>',
    ]
    levels = tile_levels([tile[3] for tile in placed])
    if tentative:
        parts.append(
            '<defs><pattern id="tiles-hatch" width="6" height="6" '
            'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            '<rect width="2" height="6" fill="#ffffff" fill-opacity="0.55"/></pattern></defs>'
        )
    for (code, label, name, value, link, status), level in zip(placed, levels, strict=True):
        col, row = PROVINCE_TILES[code]
        x, y = margin + col * (size + gap), margin + row * (size + gap)
        text = value_short(value, unit=unit, language=language, decimals=decimals)
        mark = ""
        if status != ObservationStatus.NORMAL:
            text += f" ({names[status].lower()})"
            label += "*"
            mark = (
                f'<rect x="{x}" y="{y}" width="{size}" height="{size}" rx="4" '
                f'fill="url(#tiles-hatch)" class="tile-{status}"/>'
            )
        parts.append(
            f'<a href="{escape(link)}"><title>{escape(name)}: {escape(text)}</title>'
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" rx="4" '
            f'fill="{TILE_COLOURS[level]}"/>{mark}'
            f'<text x="{x + size / 2}" y="{y + size / 2 + 4}" text-anchor="middle" '
            f'fill="{TILE_TEXT[level]}" font-weight="600">{escape(label)}</text></a>'
        )
    parts.append("</svg>")
    # Safe: every text in the parts was escaped; the rest are numbers and fixed markup.
    return mark_safe("".join(parts))


def tile_levels(values: Sequence[Decimal]) -> list[int]:
    """The class (0 to 4, lightest to darkest) of each value: five classes of about as
    many provinces each, equal values in the same class."""
    ordered = sorted(values)
    if len(ordered) < 2:
        return [len(TILE_COLOURS) - 1] * len(ordered)
    ranks: dict[Decimal, int] = {}
    for rank, value in enumerate(ordered):
        ranks.setdefault(value, rank)  # the number of values below it
    return [
        min(len(TILE_COLOURS) - 1, ranks[value] * len(TILE_COLOURS) // len(ordered))
        for value in values
    ]


@dataclass(frozen=True)
class TileClass:
    level: int  # 0 to 4, as ``tile_levels``
    low: Decimal
    high: Decimal
    count: int


def tile_classes(values: Sequence[Decimal]) -> list[TileClass]:
    """The classes the tile map's values fall in, lightest first, each with the lowest
    and highest value in it and how many provinces (an empty class is left out)."""
    members: dict[int, list[Decimal]] = {}
    for value, level in zip(values, tile_levels(values), strict=True):
        members.setdefault(level, []).append(value)
    return [
        TileClass(level, min(found), max(found), len(found))
        for level, found in sorted(members.items())
    ]
