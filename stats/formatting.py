"""Numbers, amounts, percentages, periods and dates written the Indonesian or English way.

Indonesian groups thousands with a dot and writes decimals with a comma ("7,6 juta",
"Rp1.001 triliun", "12,9 persen", "Triwulan III 2023"); English the other way round
("7.6 million", "Rp1,001 trillion", "12.9%", "Q3 2023"). Every function takes the
language explicitly ("id" or "en"); the template tags pass the active one.
Values are Decimals and are rounded half up for display only.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone

from .periods import parse_period

LANGUAGES = ("id", "en")

# (threshold, Indonesian word, English word), largest first.
SCALES = (
    (Decimal(10) ** 12, "triliun", "trillion"),
    (Decimal(10) ** 9, "miliar", "billion"),
    (Decimal(10) ** 6, "juta", "million"),
    (Decimal(10) ** 3, "ribu", "thousand"),
)
MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
# Units written after the number (Indonesian, English); rupiah and percent have their own rules.
UNIT_WORDS = {
    "persons": ("orang", "people"),
    "children": ("anak", "children"),
    "cases": ("kasus", "cases"),
    "minutes": ("menit", "minutes"),
    "days": ("hari", "days"),
    "percentage_points": ("poin persentase", "percentage points"),
    "ratio": ("kali", "times"),
}


def _language(language: str | None) -> str:
    code = (language or "id")[:2].lower()
    if code not in LANGUAGES:
        raise ValueError(f"language: use one of {', '.join(LANGUAGES)}, got {language!r}")
    return code


def _decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise ValueError(f"value: not a number: {value!r}") from error


def number_full(value, *, language: str, decimals: int = 0) -> str:
    """A number in full with thousands separators: 40.000.000 (id), 40,000,000 (en).

    ``decimals`` places are always shown (a table column lines up): 12,90 with 2.
    """
    language = _language(language)
    number = _decimal(value)
    quantum = Decimal(1).scaleb(-decimals) if decimals > 0 else Decimal(1)
    rounded = number.quantize(quantum, rounding=ROUND_HALF_UP)
    text = f"{abs(rounded):,.{max(decimals, 0)}f}"
    if language == "id":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    sign = "-" if rounded < 0 else ""
    return f"{sign}{text}"


def number_short(
    value, *, language: str, decimals: int = 1, smallest_scale: Decimal = Decimal(10) ** 6
) -> str:
    """A number with a scale word: "7,6 juta", "686 triliun"; "7.6 million", "686 trillion".

    Trailing zero decimals are dropped (686, not 686,0). Below ``smallest_scale``
    (a million unless told) the number is written in full: 72.000, 72,000.
    """
    language = _language(language)
    number = _decimal(value)
    magnitude = abs(number)
    for threshold, word_id, word_en in SCALES:
        if threshold < smallest_scale:
            break
        if magnitude >= threshold:
            # number_full rounds it to ``decimals`` places.
            text = number_full(number / threshold, language=language, decimals=decimals)
            text = _drop_zero_decimals(text, language)
            return f"{text} {word_id if language == 'id' else word_en}"
    return _drop_zero_decimals(number_full(number, language=language, decimals=decimals), language)


def _drop_zero_decimals(text: str, language: str) -> str:
    mark = "," if language == "id" else "."
    if mark in text:
        whole, fraction = text.split(mark)
        fraction = fraction.rstrip("0")
        return f"{whole}{mark}{fraction}" if fraction else whole
    return text


def percent(value, *, language: str, decimals: int = 1) -> str:
    """12,9 persen (id), 12.9% (en); trailing zero decimals dropped."""
    language = _language(language)
    text = _drop_zero_decimals(number_full(value, language=language, decimals=decimals), language)
    return f"{text} persen" if language == "id" else f"{text}%"


def rupiah(value, *, language: str, decimals: int = 1, short: bool = True) -> str:
    """Rp686 triliun, Rp1.001 triliun (id); Rp686 trillion, Rp1,001 trillion (en).

    With ``short=False`` the amount in full: Rp309.000.000.000.
    """
    language = _language(language)
    number = _decimal(value)
    if short:
        text = number_short(number, language=language, decimals=decimals)
    else:
        text = number_full(number, language=language, decimals=0)
    if text.startswith("-"):
        return f"-Rp{text[1:]}"
    return f"Rp{text}"


def value_short(value, *, unit: str, language: str, decimals: int = 1) -> str:
    """A headline figure in its unit, short: "7,6 juta", "Rp686 triliun", "12,9 persen"."""
    language = _language(language)
    if value is None:
        return "–"
    if unit in ("rupiah", "rupiah_per_person"):
        return rupiah(value, language=language, decimals=decimals)
    if unit == "percent":
        return percent(value, language=language, decimals=decimals)
    if unit == "minutes":
        return duration(value, language=language)
    text = number_short(value, language=language, decimals=decimals)
    if unit in ("days", "ratio", "percentage_points"):
        words = UNIT_WORDS[unit]
        return f"{text} {words[0] if language == 'id' else words[1]}"
    return text


# Minutes per unit of a duration, largest first: a time is read in the largest unit it
# fills (7.200 minutes is "5 hari", 90 is "1,5 jam", 15 is "15 menit").
DURATIONS = ((1440, "hari", "days"), (60, "jam", "hours"), (1, "menit", "minutes"))


def duration_unit(minutes, *, language: str) -> tuple[int, str]:
    """(minutes per unit, unit word) of the largest unit ``minutes`` fills."""
    language = _language(language)
    size, word_id, word_en = next(
        (d for d in DURATIONS if abs(_decimal(minutes)) >= d[0]), DURATIONS[-1]
    )
    return size, word_id if language == "id" else word_en


def duration(minutes, *, language: str, unit: tuple[int, str] | None = None) -> str:
    """A time given in minutes, in the largest unit it fills (or ``unit``): "5 hari"."""
    size, word = unit or duration_unit(minutes, language=language)
    text = number_short(_decimal(minutes) / size, language=language, decimals=1)
    return f"{text} {word}"


def value_full(value, *, unit: str, language: str, decimals: int = 0) -> str:
    """A value in full for a table cell: 40.000.000, 12,9, 686.000.000.000.000."""
    if value is None:
        return "–"
    return number_full(value, language=language, decimals=decimals)


def value_table(value, *, unit: str, language: str, decimals: int = 0) -> str:
    """A table cell: millions and more in the reader's units (45,2 juta, Rp712,3 triliun;
    the exact value goes on hover and in the downloads), smaller values in full."""
    if value is not None and abs(_decimal(value)) >= 10**6:
        return value_short(value, unit=unit, language=language)
    return value_full(value, unit=unit, language=language, decimals=decimals)


def unit_label(unit: str, *, language: str) -> str:
    """The unit as a table heading says it: "orang", "rupiah", "persen"; "people", "%"."""
    language = _language(language)
    if unit in ("rupiah",):
        return "rupiah"
    if unit == "rupiah_per_person":
        return "rupiah per orang" if language == "id" else "rupiah per person"
    if unit == "percent":
        return "persen" if language == "id" else "percent"
    words = UNIT_WORDS.get(unit)
    if words is None:
        return unit
    return words[0] if language == "id" else words[1]


def change_percent(current, previous) -> Decimal | None:
    """Percent change from ``previous`` to ``current``; None when it cannot be computed."""
    if current is None or previous is None:
        return None
    previous = _decimal(previous)
    if previous == 0:
        return None
    return (_decimal(current) - previous) / abs(previous) * 100


def change_text(change: Decimal | None, *, language: str, points: bool = False) -> str:
    """A change on a year earlier: "naik 8,8 persen" / "up 8.8%"; points for rates."""
    language = _language(language)
    if change is None:
        return ""
    rounded = _decimal(change).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "tidak berubah" if language == "id" else "unchanged"
    magnitude = _drop_zero_decimals(
        number_full(abs(rounded), language=language, decimals=1), language
    )
    if points:
        amount = (
            f"{magnitude} poin persentase" if language == "id" else f"{magnitude} percentage points"
        )
    else:
        amount = f"{magnitude} persen" if language == "id" else f"{magnitude}%"
    if language == "id":
        return f"{'naik' if rounded > 0 else 'turun'} {amount}"
    return f"{'up' if rounded > 0 else 'down'} {amount}"


def period_label(period: str, *, language: str) -> str:
    """2023; Semester I 2023 / H1 2023; Triwulan III 2023 / Q3 2023; Agustus 2024 / August 2024."""
    language = _language(language)
    parsed = parse_period(period)
    year, number = parsed.year, parsed.index
    if parsed.frequency == "A":
        return str(year)
    if parsed.frequency == "S":
        return f"Semester {ROMAN[number]} {year}" if language == "id" else f"H{number} {year}"
    if parsed.frequency == "Q":
        return f"Triwulan {ROMAN[number]} {year}" if language == "id" else f"Q{number} {year}"
    months = MONTHS_ID if language == "id" else MONTHS_EN
    return f"{months[number - 1]} {year}"


def period_short(period: str, *, language: str) -> str:
    """A compact axis label: months abbreviated (Agu 2024, Aug 2024), others as period_label."""
    language = _language(language)
    parsed = parse_period(period)
    if parsed.frequency == "M":
        label = period_label(period, language=language)
        month, year = label.split(" ")
        return f"{month[:3]} {year}"
    return period_label(period, language=language)


def date_label(value: dt.date | dt.datetime, *, language: str, time: bool = False) -> str:
    """15 Desember 2023 (id), 15 December 2023 (en); with ``time`` "10.00 WIB" / "10:00 WIB"."""
    language = _language(language)
    local: dt.date  # a datetime is a date too
    if isinstance(value, dt.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
    else:
        local = value
    months = MONTHS_ID if language == "id" else MONTHS_EN
    text = f"{local.day} {months[local.month - 1]} {local.year}"
    if time and isinstance(local, dt.datetime):
        separator = "." if language == "id" else ":"
        zone = local.tzname() or ""
        zone = "WIB" if zone in ("WIB", "+07") else zone
        text += f", {local.hour:02d}{separator}{local.minute:02d} {zone}".rstrip()
    return text


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _name_in_sentence(name: str) -> str:
    """ "Peserta aktif" -> "peserta aktif"; an acronym ("BPU ...") stays as it is."""
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


def expression_text(
    expression: str,
    *,
    inputs: list[tuple[str, str, str]],
    unit: str,
    language: str,
    decimals: int = 1,
) -> str:
    """A derived value's stored expression ("44.4007858546 = 45200000 / 101800000 x 100")
    for a reader: "44,4 persen = 45,2 juta peserta aktif / 101,8 juta pekerja layak x 100".

    ``inputs``: (exact value text, unit, name) of each input, in the order the expression
    names them; the stored expression stays the exact record (API, hover).
    """
    language = _language(language)
    if " = " not in expression:
        return expression
    left, right = expression.split(" = ", 1)
    pending = list(inputs)

    def number(match: re.Match) -> str:
        text = match.group(0)
        if pending and pending[0][0] == text:
            _text, input_unit, name = pending.pop(0)
            return f"{value_short(Decimal(text), unit=input_unit, language=language)} " + (
                _name_in_sentence(name)
            )
        value = Decimal(text)
        if abs(value) >= 10**6:
            return number_short(value, language=language)
        places = max(0, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
        return number_full(value, language=language, decimals=min(places, 4))

    head = value_short(Decimal(left), unit=unit, language=language, decimals=decimals)
    return f"{head} = {_NUMBER.sub(number, right)}"
