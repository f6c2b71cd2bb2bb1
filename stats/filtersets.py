"""One FilterSet per API resource, strict: every value is checked, none is ignored.

A filter first parses its text (form field), then resolves it against the catalogue
(``resolve``: unknown indicators, codes and releases are errors, not empty results),
and only then filters. ``StrictFilterSet.validate`` returns every problem at once, as
``{parameter: [reason, ...]}``; the API answers them with a 400. The catalogue is
read once per request (``CatalogueLookups``), so validating costs the same few
queries whatever the number of values given.
"""

from __future__ import annotations

import abc
import copy
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import django_filters
from django import forms
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from .choices import Frequency, ObservationStatus, Unit
from .models import AS_OF_SQL, FIRST_PRINT_SQL, Indicator, Observation, ObservationQuerySet, Series
from .periods import PERIOD_PATTERN, Period, PeriodError, parse_period
from .selectors import (
    codelists_public,
    codes_public,
    indicators_public,
    indicators_search,
    releases_public_ids,
    topics_public,
)

MAX_LIST_ITEMS = 500
# The series index (``SeriesIndex``) is kept per worker while the catalogue has at most
# this many series (a few MB); above it, and for matches of more series than
# SERIES_MATCH_MAX, the filters join the series table in SQL instead.
SERIES_INDEX_MAX = 50_000
SERIES_MATCH_MAX = 1_000
MAX_SEARCH_LENGTH = 200
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# "+07:00" arrives as " 07:00" when a client forgets to encode "+" in a query string.
_UNENCODED_OFFSET = re.compile(r"^(.*T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


@dataclass(frozen=True, slots=True)
class IndicatorRef:
    id: int
    code: str
    name_id: str
    name_en: str
    unit: str


@dataclass(frozen=True, slots=True)
class CodeRef:
    id: int
    codelist_id: str
    code: str
    name_id: str
    name_en: str
    alt_code: str = ""


class CatalogueLookups:
    """The small tables the API validates against and labels rows with, read once each.

    Only the public catalogue (``stats.selectors``): an indicator, code or code list that
    only unpublished releases use is unknown to every filter, like one that does not
    exist, and is no column of a table."""

    @cached_property
    def indicators(self) -> dict[str, IndicatorRef]:
        return {
            row[1]: IndicatorRef(*row)
            for row in indicators_public()
            .order_by()
            .values_list("id", "code", "name_id", "name_en", "unit")
        }

    @cached_property
    def indicators_by_id(self) -> dict[int, IndicatorRef]:
        return {ref.id: ref for ref in self.indicators.values()}

    @cached_property
    def codelists(self) -> list[tuple[str, str, str]]:
        """(id, name_id, name_en) in code-list order: the dimension columns of a table."""
        return list(
            codelists_public().order_by("order", "id").values_list("id", "name_id", "name_en")
        )

    @cached_property
    def codes(self) -> dict[tuple[str, str], CodeRef]:
        return {
            (row[1], row[2]): CodeRef(*row)
            for row in codes_public().values_list(
                "id", "codelist_id", "code", "name_id", "name_en", "alt_code"
            )
        }

    @cached_property
    def code_aliases(self) -> dict[tuple[str, str], str]:
        """(code list, alternative code in upper case) -> its code: the other identifier
        of a public code (a province's ISO 3166-2 code, ``ID-JB`` -> ``32``)."""
        return {
            (ref.codelist_id, ref.alt_code.upper()): ref.code
            for ref in self.codes.values()
            if ref.alt_code
        }

    @cached_property
    def series_index(self) -> SeriesIndex | None:
        """The series by indicator, frequency and code (None when there are too many)."""
        if Series.objects.count() > SERIES_INDEX_MAX:
            return None
        return SeriesIndex.from_database()

    @cached_property
    def releases(self) -> dict[str, int]:
        """Slug to id of the releases the public can see (published, up to now)."""
        return releases_public_ids()

    @cached_property
    def release_slugs(self) -> dict[int, str]:
        return {release_id: slug for slug, release_id in self.releases.items()}


class SeriesIndex:
    """Which series have an indicator, a frequency or a code, as sets of ids.

    Answers the series filters of an observation query (``ObservationFilterSet``) with a
    few set operations, so its SQL reads the observations of those series by id, without
    joining and scanning the series table: the most frequent queries (one series, a
    cross-section) then cost PostgreSQL an index range per series and no sort.
    """

    # The series' ids by each value of the three fields, grouped by PostgreSQL: a few
    # hundred rows of id arrays instead of a row (and a decoded JSON object) per series.
    # The index is built again by each worker process at each publication, when its
    # first requests wait for it.
    GROUPED_SQL = """
        SELECT 'indicator_id', indicator_id::text, NULL, array_agg(id)
        FROM stats_series GROUP BY indicator_id
        UNION ALL
        SELECT 'frequency', frequency, NULL, array_agg(id) FROM stats_series GROUP BY frequency
        UNION ALL
        SELECT 'dimensions', d.key, d.value, array_agg(s.id)
        FROM stats_series s CROSS JOIN jsonb_each_text(s.dimensions) d GROUP BY d.key, d.value
    """

    def __init__(self, groups: Iterable[tuple[str, object, Iterable[int]]]) -> None:
        # (field, value): an indicator id, a frequency letter or a (code list, code) pair.
        self.by_key: dict[tuple[str, object], set[int]] = {
            (field, value): set(ids) for field, value, ids in groups
        }

    @classmethod
    def from_database(cls) -> SeriesIndex:
        with connections[Series.objects.db].cursor() as cursor:
            cursor.execute(cls.GROUPED_SQL)
            rows = cursor.fetchall()
        return cls((field, cls._value(field, value, code), ids) for field, value, code, ids in rows)

    @staticmethod
    def _value(field: str, text: str, code: str | None) -> object:
        if field == "indicator_id":
            return int(text)
        return (text, code) if field == "dimensions" else text

    def ids(self, conditions: list[tuple[str, list]]) -> set[int]:
        """The series meeting every condition: (field, values) with field
        "indicator_id" (ids), "frequency" (letters) or "dimensions" ((code list, code)
        pairs); any value of a condition will do (as the filters' ``series_condition``)."""
        matched: set[int] | None = None
        for kind, values in sorted(conditions, key=lambda condition: len(condition[1])):
            these = set().union(*(self.by_key.get((kind, value), ()) for value in values))
            matched = these if matched is None else matched & these
            if not matched:
                return set()
        return matched if matched is not None else set()


# --- what a parameter accepts, as the JSON Schema of its value (the OpenAPI description,
# stats/api/schema.py, takes each filter's from ``Filter.openapi_schema``) ---

# Around a value or a list item: the white space the parsing strips (never a control
# character, which the request guard refuses: config/middleware.py).
SPACE = r"[^\S\x00-\x1f\x7f]*"


def one_of_pattern(values: Iterable[str]) -> str:
    """A regular expression (JSON Schema's dialect) that matches exactly one of ``values``."""
    # Longest first, so that no alternative stops short at a prefix of another.
    escaped = {re.escape(value).replace("\\-", "-") for value in values}
    return "(?:" + "|".join(sorted(escaped, key=lambda text: (-len(text), text))) + ")"


def comma_list_schema(item: str) -> dict:
    """A comma-separated list of 1 to MAX_LIST_ITEMS items matching the pattern ``item``."""
    one = f"{SPACE}{item}{SPACE}"
    return {"type": "string", "pattern": f"^{one}(?:,{one}){{0,{MAX_LIST_ITEMS - 1}}}$"}


def any_case_pattern(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


# --- form fields: parse the text of one parameter ---


class ParameterField(forms.CharField):
    """The text of one query parameter.

    Each request's form copies its fields (Django deep-copies them, widget included):
    here the copy shares the widget, which validating never changes (and rendering only
    reads), and keeps its own error messages and validators as Django's copy does: the
    widgets' deep copies were a large share of checking a request's parameters."""

    def __deepcopy__(self, memo):
        result = copy.copy(self)
        memo[id(self)] = result
        result.error_messages = self.error_messages.copy()
        result.validators = self.validators[:]
        return result


class CommaListField(ParameterField):
    """``a,b,c`` -> ["a", "b", "c"] (order kept, duplicates dropped)."""

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return []
        items = [part.strip() for part in text.split(",")]
        if any(not item for item in items):
            raise forms.ValidationError("an item of the comma-separated list is empty")
        if len(items) > MAX_LIST_ITEMS:
            raise forms.ValidationError(f"at most {MAX_LIST_ITEMS} values")
        return list(dict.fromkeys(items))


class PeriodField(ParameterField):
    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_period(text)
        except PeriodError as error:
            raise forms.ValidationError(str(error)) from error


@dataclass(frozen=True, slots=True)
class Instant:
    """A parsed date or instant; a date stands for the end of that day in Asia/Jakarta."""

    text: str
    at: dt.datetime
    is_date: bool


def instant_parse(text: str) -> Instant:
    text = text.strip()
    zone = timezone.get_default_timezone()
    try:
        if _DATE.match(text):
            day = dt.date.fromisoformat(text)
            # Everything published on that day, whatever the hour.
            end = dt.datetime.combine(day, dt.time.max).replace(tzinfo=zone)
            return Instant(text, end, True)
        repaired = _UNENCODED_OFFSET.sub(r"\1+\2", text)
        at = dt.datetime.fromisoformat(repaired)
    except ValueError as error:
        raise forms.ValidationError(
            f"{text!r} is not an ISO 8601 date or instant; use 2024-02-15, "
            "2024-02-15T10:00:00+07:00 or 2024-02-15T03:00:00Z"
        ) from error
    if timezone.is_naive(at):
        at = at.replace(tzinfo=zone)
    return Instant(text, at, False)


class InstantField(ParameterField):
    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        return instant_parse(text)


class StrictBooleanField(ParameterField):
    TRUE = frozenset({"true", "1", "yes"})
    FALSE = frozenset({"false", "0", "no"})

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        lowered = text.lower()
        if lowered in self.TRUE:
            return True
        if lowered in self.FALSE:
            return False
        raise forms.ValidationError(f"{text!r} is not a boolean; use true or false")


# --- filters ---

# The lookups a filter's condition may use, as SQL operators.
SQL_OPERATORS = {"exact": "=", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}


class ConditionFilter(django_filters.Filter, metaclass=abc.ABCMeta):
    """A filter whose condition is one lookup on one field, given once by ``condition``;
    ``filter`` applies it with the ORM and ``sql_condition`` writes it for the read API's
    page statement (a statement on the observation table aliased ``o``)."""

    @abc.abstractmethod
    def condition(self, value) -> tuple[str, str, Any]:
        """(field path, lookup, operand) of the rows ``value`` keeps."""

    def openapi_schema(self, lookups: CatalogueLookups) -> dict:
        """The JSON Schema of the values this filter accepts, for the OpenAPI description:
        exactly those (what the catalogue holds, at the time of asking)."""
        return {"type": "string"}

    def filter(self, qs: QuerySet, value) -> QuerySet:
        if value in (None, "", []):
            return qs
        path, lookup, operand = self.condition(value)
        qs = qs.filter(**{f"{path}__{lookup}": operand})
        return qs.distinct() if self.distinct else qs

    def sql_condition(self, value) -> tuple[str, list]:
        """``condition`` as SQL and its parameters (a field of the model's own table)."""
        path, lookup, operand = self.condition(value)
        column = "o." + self.model._meta.get_field(path).column
        if lookup == "in":
            return f"{column} = ANY(%s)", [list(operand)]
        if lookup == "isnull":
            return f"{column} IS {'' if operand else 'NOT '}NULL", []
        return f"{column} {SQL_OPERATORS[lookup]} %s", [operand]


class ListFilter(ConditionFilter, django_filters.CharFilter):
    """A comma-separated list of values; subclasses check each value and filter on it."""

    field_class = CommaListField

    def resolve(self, values: list[str], lookups: CatalogueLookups):
        return values

    @abc.abstractmethod
    def accepted(self, lookups: CatalogueLookups) -> Iterable[str]:
        """Every value ``resolve`` accepts."""

    def openapi_schema(self, lookups):
        values = list(self.accepted(lookups))
        if not values:
            # Nothing to choose from yet (no public release, say): only the empty value
            # fits, and it is refused as empty.
            return {"type": "string", "maxLength": 0}
        return comma_list_schema(one_of_pattern(values))

    def condition(self, value):
        return self.field_name, "in", value

    def series_condition(self, value) -> tuple[str, list]:
        """This filter on observations as a condition on their series (``SeriesIndex``)."""
        return self.field_name.removeprefix("series__"), value


class ChoiceListFilter(ListFilter):
    def __init__(self, *args, allowed: list[str], **kwargs):
        self.allowed = list(allowed)
        super().__init__(*args, **kwargs)

    def accepted(self, lookups):
        return self.allowed

    def resolve(self, values, lookups):
        unknown = [value for value in values if value not in self.allowed]
        if unknown:
            raise forms.ValidationError(
                f"unknown value {', '.join(unknown)}; use one of {', '.join(self.allowed)}"
            )
        return values


class IndicatorFilter(ListFilter):
    """Indicator codes; resolves to ids so the query needs no join to the indicator table."""

    def accepted(self, lookups):
        return lookups.indicators

    def resolve(self, values, lookups):
        unknown = [code for code in values if code not in lookups.indicators]
        if unknown:
            raise forms.ValidationError(f"unknown indicator {', '.join(unknown)}")
        return [lookups.indicators[code].id for code in values]


class DimensionFilter(ListFilter):
    """Codes of one code list (``region=31,32``): series having any of them.

    A code is given as itself (``32``, exact) or as its alternative code in any case
    (``ID-JB``, ``id-jb``: a province's ISO 3166-2 code); ``canonical`` turns either into
    the code, the one place that does (the API's filters, the indicator page and the
    SDMX keys all ask it).

    Matched on the series' key (``Series.dimensions``, one code per code list, kept with
    its ``SeriesCode`` rows): a condition on the series row itself, so any number of
    dimension filters costs no sub-query and little planning.
    """

    def __init__(self, *args, codelist_id: str, **kwargs):
        self.codelist_id = codelist_id
        super().__init__(*args, **kwargs)

    def accepted(self, lookups):
        return [code for codelist_id, code in lookups.codes if codelist_id == self.codelist_id]

    def openapi_schema(self, lookups):
        codes = list(self.accepted(lookups))
        if not codes:
            return super().openapi_schema(lookups)
        aliases = [
            any_case_pattern(alias)
            for codelist_id, alias in lookups.code_aliases
            if codelist_id == self.codelist_id
        ]
        codes_pattern = one_of_pattern(codes)
        if not aliases:
            return comma_list_schema(codes_pattern)
        # Longest first, so that no alternative stops short at a prefix of another.
        aliases.sort(key=lambda pattern: (-len(pattern), pattern))
        return comma_list_schema(f"(?:{codes_pattern}|{'|'.join(aliases)})")

    def canonical(self, value: str, lookups: CatalogueLookups) -> str | None:
        """The public code ``value`` names (the code itself, or its alternative code in any
        case), or None."""
        if (self.codelist_id, value) in lookups.codes:
            return value
        return lookups.code_aliases.get((self.codelist_id, value.upper()))

    def resolve(self, values, lookups):
        codes = {value: self.canonical(value, lookups) for value in values}
        unknown = [value for value, code in codes.items() if code is None]
        if unknown:
            raise forms.ValidationError(
                f"unknown {self.codelist_id} code {', '.join(unknown)}; "
                f"see /api/v1/codelists/{self.codelist_id}/"
            )
        return list(dict.fromkeys(code for code in codes.values() if code is not None))

    def condition(self, value):
        # field_name: the path to the series' dimensions, e.g. "series__dimensions".
        return f"{self.field_name}__{self.codelist_id}", "in", value

    def series_condition(self, value):
        return "dimensions", [(self.codelist_id, code) for code in value]


def dimension_help(codelist_id: str, name_en: str, lookups: CatalogueLookups) -> str:
    """The description of a code list's filter, naming its alternative codes if it has."""
    text = f"{name_en} code(s), comma list allowed."
    example = next(
        (
            alias
            for (list_id, alias), code in lookups.code_aliases.items()
            if list_id == codelist_id and alias != code
        ),
        None,
    )
    if example is None:
        return text
    return (
        f"{text} A code may also be given by its alternative code, in any case (e.g. "
        f"{example}; `alt_code` in /api/v1/codelists/{codelist_id}/): the answer gives the "
        "code."
    )


class ReleaseFilter(ListFilter):
    def accepted(self, lookups):
        return lookups.releases

    def resolve(self, values, lookups):
        unknown = [slug for slug in values if slug not in lookups.releases]
        if unknown:
            raise forms.ValidationError(f"unknown or unpublished release {', '.join(unknown)}")
        return [lookups.releases[slug] for slug in values]


class PeriodFilter(ConditionFilter, django_filters.CharFilter):
    field_class = PeriodField

    def openapi_schema(self, lookups):
        return {"type": "string", "pattern": f"^{SPACE}{PERIOD_PATTERN}{SPACE}$"}

    def condition(self, value: Period):
        bound = value.start if self.lookup_expr == "gte" else value.end
        return self.field_name, self.lookup_expr, bound


class InstantFilter(ConditionFilter, django_filters.CharFilter):
    field_class = InstantField

    def openapi_schema(self, lookups):
        # A date (the end of that day in Asia/Jakarta) or an instant with its offset; an
        # instant without one is read in Asia/Jakarta too.
        return {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ]
        }

    def condition(self, value: Instant):
        return self.field_name, self.lookup_expr, value.at


class AsOfFilter(InstantFilter):
    def resolve(self, value: Instant, lookups):
        now = timezone.now()
        if value.is_date:
            if value.at.date() > now.astimezone(value.at.tzinfo).date():
                raise forms.ValidationError(f"{value.text} is in the future")
            return Instant(value.text, min(value.at, now), True)
        if value.at > now:
            raise forms.ValidationError(f"{value.text} is in the future")
        return value

    def filter(self, qs, value: Instant | None):
        if value is None or self.parent.first_print:
            return qs  # the first print up to as_of is the filter set's (filter_queryset)
        return qs.as_of(value.at)


class RealtimeFilter(InstantFilter):
    """One bound of a real-time period (ALFRED's ``realtime_start``/``realtime_end``): the
    filter set reads every vintage valid at some instant of the window (``window``). A
    date is the whole day in Asia/Jakarta: its start for ``realtime_start``, its end for
    ``realtime_end``. A window's end past now is now (what is public so far); a window
    that starts after now is refused, like an ``as_of`` in the future."""

    def __init__(self, *args, bound: str, **kwargs):
        self.bound = bound
        super().__init__(*args, **kwargs)

    def resolve(self, value: Instant, lookups):
        at = value.at
        if self.bound == "start":
            if value.is_date:
                at = dt.datetime.combine(at.date(), dt.time.min).replace(tzinfo=at.tzinfo)
            if at > timezone.now():
                raise forms.ValidationError(
                    f"{value.text} is in the future: no vintage is known after now"
                )
        return Instant(value.text, at, value.is_date)

    def filter(self, qs, value):
        return qs  # the window is the filter set's (filter_queryset, sql_conditions)


REALTIME = ("realtime_start", "realtime_end")
VINTAGES = ("first", "latest")


class VintageFilter(django_filters.CharFilter):
    """``first``: each value as first published (ALFRED's initial release); ``latest``:
    as revised since, the default. Read at ``as_of`` (default: now). The filter set
    applies it, with the instant read (``filter_queryset``, ``sql_conditions``)."""

    field_class = ParameterField

    def openapi_schema(self, lookups):
        return {"type": "string", "pattern": f"^{SPACE}{one_of_pattern(VINTAGES)}{SPACE}$"}

    def resolve(self, value: str, lookups):
        if value not in VINTAGES:
            raise forms.ValidationError(f"unknown value {value}; use one of first, latest")
        return value

    def filter(self, qs, value):
        return qs


class StrictBooleanFilter(ConditionFilter, django_filters.CharFilter):
    field_class = StrictBooleanField

    def openapi_schema(self, lookups):
        words = sorted(StrictBooleanField.TRUE | StrictBooleanField.FALSE)
        alternatives = "|".join(any_case_pattern(word) for word in words)
        return {"type": "string", "pattern": f"^{SPACE}(?:{alternatives}){SPACE}$"}

    def condition(self, value: bool):
        return self.field_name, "isnull", not value


# --- filter sets ---


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet that reports every bad value and resolves values against the catalogue."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, lookups=None):
        # django-filter's BaseFilterSet.__init__, with a shallow copy of each filter
        # where it deep-copies them all (their help texts, choices and defaults): a
        # filter keeps no state of a request but its parent, set here, and the deep copy
        # was a large share of checking a request's parameters.
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {name: copy.copy(filter_) for name, filter_ in self.base_filters.items()}
        for filter_ in self.filters.values():
            filter_.model = queryset.model
            filter_.parent = self
        self.lookups = lookups or CatalogueLookups()
        for name, filter_ in self.dynamic_filters().items():
            filter_.parent = self
            self.filters[name] = filter_
        # Labels are the parameter names: the API shows no form, and django-filter would
        # otherwise derive each label from the model's (translated) verbose names, for
        # every filter of every request.
        for name, filter_ in self.filters.items():
            filter_.label = name

    def dynamic_filters(self) -> dict[str, django_filters.Filter]:
        return {}

    # The form classes made so far, by filter set class and filter names (the code lists
    # are data). django-filter makes a new form class, and a new field for each filter,
    # for every request, a large share of checking a request's parameters. A form
    # copies its class's fields when it is made, so the class itself is never changed.
    _form_classes: dict[tuple[type, tuple[str, ...]], type] = {}
    FORM_CLASSES_MAX = 64

    def get_form_class(self):
        key = (type(self), tuple(self.filters))
        form_class = self._form_classes.get(key)
        if form_class is None:
            if len(self._form_classes) >= self.FORM_CLASSES_MAX:
                self._form_classes.clear()
            form_class = self._form_classes[key] = super().get_form_class()
        return form_class

    def validate(self) -> dict[str, list[str]]:
        form = self.form
        errors: dict[str, list[str]] = {}
        if not form.is_valid():
            errors.update({name: list(messages) for name, messages in form.errors.items()})
        cleaned = getattr(form, "cleaned_data", {})
        for name, value in list(cleaned.items()):
            if name in errors or value in (None, "", []):
                continue
            resolve = getattr(self.filters[name], "resolve", None)
            if resolve is None:
                continue
            try:
                cleaned[name] = resolve(value, self.lookups)
            except forms.ValidationError as error:
                errors[name] = list(error.messages)
        if not errors:
            errors.update(self.cross_check(cleaned))
        return errors

    def cross_check(self, cleaned: dict) -> dict[str, list[str]]:
        return {}


class ObservationFilterSet(StrictFilterSet):
    indicator = IndicatorFilter(
        field_name="series__indicator_id",
        help_text="Indicator code, or a comma-separated list: "
        "ACTIVE_PARTICIPANTS,FUNDS_UNDER_MANAGEMENT",
    )
    frequency = ChoiceListFilter(
        field_name="series__frequency",
        allowed=Frequency.values,
        help_text="A (annual), S (semi-annual), Q (quarterly), M (monthly); comma list "
        "allowed. The series' own frequency: to convert monthly series to annual values, "
        "use aggregate_to=A.",
    )
    period_start = PeriodFilter(
        field_name="period_start",
        lookup_expr="gte",
        help_text="First period included: 2023, 2023-S1, 2023-Q3 or 2023-09.",
    )
    period_end = PeriodFilter(
        field_name="period_end",
        lookup_expr="lte",
        help_text="Last period included (inclusive): 2024, 2024-S2, 2024-Q4 or 2024-12.",
    )
    status = ChoiceListFilter(
        field_name="status",
        allowed=ObservationStatus.values,
        help_text="normal, provisional, estimate or break; comma list allowed.",
    )
    release = ReleaseFilter(
        field_name="release_id",
        help_text="Slug of a published release (comma list allowed): values it published.",
    )
    as_of = AsOfFilter(
        field_name="valid_from",
        help_text=(
            "The values as published at that time: an ISO date (end of that day, Asia/Jakarta) "
            "or instant, e.g. 2024-01-31 or 2024-01-31T12:00:00+07:00. Default: now."
        ),
    )
    updated_since = InstantFilter(
        field_name="valid_from",
        lookup_expr="gte",
        help_text="Only values published at or after this ISO date or instant.",
    )
    vintage = VintageFilter(
        field_name="valid_from",
        help_text="latest (default): each value as revised since, up to `as_of`. first: "
        "each value as first published (the first print), revised since or not.",
    )
    realtime_start = RealtimeFilter(
        field_name="valid_from",
        bound="start",
        help_text="Start of a real-time period (ALFRED): every vintage of each value that "
        "was public at some instant from realtime_start to realtime_end, each row with its "
        "validity (published_at to superseded_at), so a period may have several rows. An "
        "ISO date (from the start of that day, Asia/Jakarta) or instant, not in the future. "
        "Default: since the first publication. Not with as_of or vintage.",
    )
    realtime_end = RealtimeFilter(
        field_name="valid_from",
        bound="end",
        help_text="End of a real-time period (see realtime_start): an ISO date (to the end "
        "of that day, Asia/Jakarta) or instant, not before realtime_start; later than now "
        "reads up to now. Default: now. Not with as_of or vintage.",
    )

    class Meta:
        model = Observation
        fields: list[str] = []

    def __init__(self, *args, snapshot_at: dt.datetime | None = None, **kwargs):
        self.snapshot_at = snapshot_at
        super().__init__(*args, **kwargs)

    def dynamic_filters(self):
        # Code lists are data: every one of them is a filter named by its id.
        return {
            codelist_id: DimensionFilter(
                field_name="series__dimensions",
                codelist_id=codelist_id,
                help_text=dimension_help(codelist_id, name_en, self.lookups),
            )
            for codelist_id, _name_id, name_en in self.lookups.codelists
        }

    def cross_check(self, cleaned):
        errors: dict[str, list[str]] = {}
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and start.start > end.end:
            errors["period_start"] = [f"{start.code} is after period_end {end.code}"]
        given = [name for name in REALTIME if cleaned.get(name) is not None]
        for other, alone in (
            ("as_of", "for the values of one instant give as_of alone"),
            ("vintage", "for the first print of each value give vintage=first alone"),
        ):
            if given and cleaned.get(other):
                errors[other] = [
                    f"not used with {' and '.join(given)}: a real-time period reads every "
                    f"vintage valid in it; {alone}"
                ]
        window_start, window_end = cleaned.get("realtime_start"), cleaned.get("realtime_end")
        if window_start and window_end and window_start.at > window_end.at:
            errors["realtime_start"] = [
                f"{window_start.text} is after realtime_end {window_end.text}"
            ]
        return errors

    @property
    def realtime(self) -> bool:
        """Whether the request reads a real-time period (``realtime_start``/``_end``)."""
        cleaned = self.form.cleaned_data
        return any(cleaned.get(name) is not None for name in REALTIME)

    @property
    def window(self) -> tuple[dt.datetime | None, dt.datetime]:
        """The real-time period read: its start (None: since the first publication) and
        its end, at most the instant read (``effective_at``: now, pinned by a cursor)."""
        cleaned = self.form.cleaned_data
        start, end = cleaned.get("realtime_start"), cleaned.get("realtime_end")
        at = self.effective_at
        return (start.at if start else None), (min(end.at, at) if end else at)

    @property
    def effective_at(self) -> dt.datetime:
        """The instant whose published values this request reads."""
        as_of = self.form.cleaned_data.get("as_of")
        if as_of is not None:
            return as_of.at
        if self.snapshot_at is None:
            self.snapshot_at = timezone.now()
        return self.snapshot_at

    def _series_filters(self) -> list[tuple[django_filters.Filter, object]]:
        """The filters on the series (indicator, frequency, code lists) that have a value."""
        return [
            (self.filters[name], value)
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "", []) and self.filters[name].field_name.startswith("series__")
        ]

    def series_queryset(self) -> QuerySet:
        """The series the result can come from: the filters on the series (indicator,
        frequency, code lists) applied to ``Series``. Call after ``validate``."""
        series = Series.objects.all()
        for filter_, value in self._series_filters():
            on_series = copy.copy(filter_)
            on_series.field_name = filter_.field_name.removeprefix("series__")
            series = on_series.filter(series, value)
        return series

    @cached_property
    def series_ids(self) -> list[int] | None:
        """The ids of the series the series filters leave, from the catalogue's series
        index; None when no such filter is given, or when the SQL should join the series
        table instead (no index, no series or more than SERIES_MATCH_MAX)."""
        filters = self._series_filters()
        index = self.lookups.series_index
        if not filters or index is None:
            return None
        ids = index.ids([filter_.series_condition(value) for filter_, value in filters])
        if not ids or len(ids) > SERIES_MATCH_MAX:
            return None
        return sorted(ids)

    @property
    def first_print(self) -> bool:
        """Whether the request reads first prints (``vintage=first``)."""
        return self.form.cleaned_data.get("vintage") == "first"

    def filter_queryset(self, queryset):
        if self.realtime:
            start, end = self.window
            queryset = queryset.valid_during(start=start, end=end)
        elif self.first_print:
            queryset = queryset.first_print(self.effective_at)
        elif self.form.cleaned_data.get("as_of") is None:
            queryset = queryset.as_of(self.effective_at)
        series_ids = self.series_ids
        if series_ids is None:
            return super().filter_queryset(queryset)
        # The series filters as one condition on series_id; the others as usual.
        queryset = queryset.filter(series_id__in=series_ids)
        for filter_, value in self._other_filters():
            queryset = filter_.filter(queryset, value)
        return queryset

    def sql_conditions(self) -> tuple[list[str], list] | None:
        """What ``filter_queryset`` keeps, as SQL conditions on the observation table
        aliased ``o`` and their parameters, or None where the series filters give no
        list of series (``series_ids``). Call after ``validate``.

        For the read API's page statement, written without the ORM: building and
        compiling the queryset was a large share of a JSON request's CPU, and the
        statement's text is the same for every request of one shape (its lists are
        array parameters), so PostgreSQL keeps one prepared plan for it. The API's tests
        compare its pages with those of ``filter_queryset``, filter by filter.
        """
        series_ids = self.series_ids
        if series_ids is None:
            return None
        at = self.effective_at
        if self.realtime:
            start, end = self.window
            if start is None:
                conditions, params = (
                    ["o.series_id = ANY(%s)", "o.valid_from <= %s"],
                    [
                        series_ids,
                        end,
                    ],
                )
            else:
                conditions, params = ["o.series_id = ANY(%s)", AS_OF_SQL], [series_ids, end, start]
        elif self.first_print:
            conditions, params = ["o.series_id = ANY(%s)", FIRST_PRINT_SQL], [series_ids, at]
        else:
            conditions, params = ["o.series_id = ANY(%s)", AS_OF_SQL], [series_ids, at, at]
        rows, row_params = self.row_conditions()
        return [*conditions, *rows], [*params, *row_params]

    def row_conditions(self) -> tuple[list[str], list]:
        """The conditions of the filters on the rows themselves (period, status, release,
        publication; not the series, not the instant read, not the vintage), as
        ``sql_conditions`` writes them. Transformed values (``stats.api.units``) are
        computed over the series' published values first, then these select among them."""
        conditions: list[str] = []
        params: list = []
        for filter_, value in self._other_filters():
            if value in (None, "", []) or isinstance(
                filter_, AsOfFilter | VintageFilter | RealtimeFilter
            ):
                continue  # the instant read is effective_at, the vintage first_print,
                # the real-time period window
            condition, values = filter_.sql_condition(value)
            conditions.append(condition)
            params += values
        return conditions, params

    def series_published(self, queryset: ObservationQuerySet) -> QuerySet:
        """``queryset`` kept to the series of the series filters, as published at
        ``effective_at``: the values a transformation reads (``row_conditions`` not
        applied)."""
        queryset = queryset.as_of(self.effective_at)
        for filter_, value in self._series_filters():
            queryset = filter_.filter(queryset, value)
        return queryset

    def _other_filters(self) -> list[tuple[django_filters.Filter, object]]:
        """The filters that are not on the series (see ``_series_filters``), with values."""
        on_series = {filter_ for filter_, _value in self._series_filters()}
        return [
            (self.filters[name], value)
            for name, value in self.form.cleaned_data.items()
            if self.filters[name] not in on_series
        ]


class SeriesFilterSet(StrictFilterSet):
    indicator = IndicatorFilter(
        field_name="indicator_id", help_text="Indicator code, or a comma-separated list."
    )
    frequency = ChoiceListFilter(
        field_name="frequency",
        allowed=Frequency.values,
        help_text="A, S, Q or M; comma list allowed.",
    )

    class Meta:
        model = Series
        fields: list[str] = []

    def dynamic_filters(self):
        return {
            codelist_id: DimensionFilter(
                field_name="dimensions",
                codelist_id=codelist_id,
                help_text=dimension_help(codelist_id, name_en, self.lookups),
            )
            for codelist_id, _name_id, name_en in self.lookups.codelists
        }


class SearchFilter(django_filters.CharFilter):
    """The indicators the site search finds (``stats.selectors.indicators_search``: code,
    names, descriptions and search terms, either language, any case and accents), in the
    list's own order."""

    field_class = ParameterField

    def openapi_schema(self, lookups):
        # Free text, not only white space; its length counts what is left once trimmed.
        return {
            "type": "string",
            "pattern": r"[^\s\x00-\x1f\x7f]",
            "maxLength": MAX_SEARCH_LENGTH,
        }

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(pk__in=indicators_search(query=value).order_by().values("pk"))


class TopicFilter(ListFilter):
    def accepted(self, lookups):
        return topics_public().values_list("code", flat=True)

    def resolve(self, values, lookups):
        known = set(topics_public().filter(code__in=values).values_list("code", flat=True))
        unknown = [code for code in values if code not in known]
        if unknown:
            raise forms.ValidationError(f"unknown topic {', '.join(unknown)}")
        return values


class FrequencyLettersFilter(ChoiceListFilter):
    """Indicators published at any of the given frequencies (``frequencies`` holds letters)."""

    def filter(self, qs, value):
        if not value:
            return qs
        match = Q()
        for letter in value:
            match |= Q(frequencies__contains=letter)
        return qs.filter(match)


class IndicatorFilterSet(StrictFilterSet):
    q = SearchFilter(
        max_length=MAX_SEARCH_LENGTH,
        help_text="Words to find in the code, names, descriptions and search terms "
        "(synonyms, abbreviations), Indonesian and English, in any case: each word begins "
        "a word of them (peserta, AUM, dana kelolaan).",
    )
    topic = TopicFilter(field_name="topic__code", help_text="Topic code; comma list allowed.")
    frequency = FrequencyLettersFilter(
        allowed=Frequency.values,
        help_text="Published at A, S, Q or M; comma list allowed.",
    )
    unit = ChoiceListFilter(
        field_name="unit", allowed=Unit.values, help_text="Unit; comma list allowed."
    )
    derived = StrictBooleanFilter(
        field_name="derivation",
        help_text="true: only derived indicators (computed from others); false: only source data.",
    )

    class Meta:
        model = Indicator
        fields: list[str] = []
