"""Serializers of the statistics API: explicit fields, names in the language asked for.

Observation rows come from ``values()`` (no model instances, one query per page) and
are shaped by ``ObservationRows``, which both the JSON serializer and the CSV stream
use, so the two formats cannot disagree. Values are exact text (``exact_text``):
"12.9", "1001000000000000", never a float.
"""

from __future__ import annotations

import datetime as dt
import json

from django.urls import reverse
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from stats.filtersets import CatalogueLookups
from stats.models import Code, CodeList, Indicator, Series, Target, Topic, exact_text
from stats.selectors import codes_in_use, series_with_latest_public

# The columns of an observation row read from the database, in this order.
OBSERVATION_VALUES = (
    "series_id",
    "series__indicator_id",
    "series__frequency",
    "series__key",
    "series__dimensions",
    "period",
    "period_start",
    "period_end",
    "value",
    "status",
    "note",
    "reference_date",
    "release_id",
    "valid_from",
)

# The columns of a CSV row: the series' own columns come from ``ObservationRows.series_load``.
CSV_VALUES = (
    "series_id",
    "period",
    "period_start",
    "period_end",
    "value",
    "status",
    "note",
    "reference_date",
    "release_id",
    "valid_from",
)


# PostgreSQL's own epoch: its binary form of a timestamp counts microseconds from it.
# The page statement counts dates in days from the same day (``EPOCH_DATE_SQL``).
POSTGRES_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
EPOCH_DATE_SQL = f"DATE '{POSTGRES_EPOCH.date().isoformat()}'"


def _period_json(key: str) -> str:
    """The JSON text of a row's period and dates, up to its value's opening quote, from
    its period text (see ``ObservationRows.json_page_sql``): 'period start_days length'."""
    period, start_days, length = key.rsplit(" ", 2)
    start = POSTGRES_EPOCH.date() + dt.timedelta(days=int(start_days))
    end = start + dt.timedelta(days=int(length))
    return (
        f'"period":{json_text(period)},"period_start":"{start.isoformat()}"'
        f',"period_end":"{end.isoformat()}","value":"'
    )


def json_text(value) -> str:
    """JSON as DRF's JSONRenderer writes it: compact, UTF-8 (not ASCII-escaped)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def english() -> bool:
    return (translation.get_language() or "id")[:2] == "en"


def pick(name_id: str, name_en: str) -> str:
    return (name_en or name_id) if english() else (name_id or name_en)


def instant_text(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def date_text(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


@extend_schema_field(OpenApiTypes.URI)
class ResourceUrlField(serializers.Field):
    """The absolute URL of a resource, without the format of the current request
    (DRF's hyperlinked fields would carry ``?format=csv`` into every link)."""

    def __init__(self, view_name: str, lookup_field: str = "pk", **kwargs):
        self.view_name = view_name
        self.lookup_field = lookup_field
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        url = reverse(self.view_name, args=[getattr(value, self.lookup_field)])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ObservationRows:
    """Turns ``OBSERVATION_VALUES`` tuples into JSON objects or CSV rows."""

    def __init__(self, lookups: CatalogueLookups):
        self.lookups = lookups
        self.english = english()
        self.codelists = [codelist_id for codelist_id, _id, _en in lookups.codelists]
        self.code_names = {
            key: (ref.name_en or ref.name_id) if self.english else ref.name_id
            for key, ref in lookups.codes.items()
        }
        self.indicators = lookups.indicators_by_id
        self.releases = lookups.release_slugs
        self._series_cells: dict[int, list[str]] = {}
        self._series_json: dict[int, tuple] = {}
        self._units: dict[int, str] = {}
        self._period_cells: dict[str, list[str]] = {}
        self._instants: dict = {}
        self._series_text: dict[int, tuple[str, str]] = {}
        self._period_text: dict[str, str] = {}
        self._tail_text: dict[str, str] = {}

    def indicator_name(self, indicator_id: int) -> str:
        ref = self.indicators[indicator_id]
        return (ref.name_en or ref.name_id) if self.english else ref.name_id

    def dimensions(self, codes: dict[str, str]) -> dict[str, dict[str, str]]:
        return {
            codelist: {
                "code": codes[codelist],
                "name": self.code_names.get((codelist, codes[codelist]), ""),
            }
            for codelist in self.codelists
            if codelist in codes
        }

    def json(self, row: tuple | dict) -> dict:
        """One JSON row; what repeats (series, period dates, instants) is prepared once."""
        if isinstance(row, dict):
            row = tuple(map(row.__getitem__, OBSERVATION_VALUES))
        (
            series_id,
            indicator_id,
            frequency,
            key,
            codes,
            period,
            period_start,
            period_end,
            value,
            status,
            note,
            reference_date,
            release_id,
            valid_from,
        ) = row
        series = self._series_json.get(series_id)
        if series is None:
            indicator = self.indicators[indicator_id]
            series = self._series_json[series_id] = (
                indicator.code,
                self.indicator_name(indicator_id),
                frequency,
                key,
                self.dimensions(codes),
                indicator.unit,
            )
        dates = self._period_cells.get(period)
        if dates is None:
            dates = self._period_cells[period] = [period_start.isoformat(), period_end.isoformat()]
        if valid_from in self._instants:
            published = self._instants[valid_from] or None
        else:
            published = instant_text(valid_from)
            self._instants[valid_from] = published or ""
        return {
            "indicator": series[0],
            "indicator_name": series[1],
            "frequency": series[2],
            "series_key": series[3],
            "dimensions": series[4],
            "period": period,
            "period_start": dates[0],
            "period_end": dates[1],
            "value": exact_text(value),
            "unit": series[5],
            "status": status,
            "note": note,
            "reference_date": date_text(reference_date),
            "release": self.releases.get(release_id, ""),
            "published_at": published,
        }

    def csv_header(self) -> list[str]:
        dimension_columns = []
        for codelist in self.codelists:
            dimension_columns += [codelist, f"{codelist}_name"]
        return [
            "indicator",
            "indicator_name",
            "frequency",
            "series_key",
            *dimension_columns,
            "period",
            "period_start",
            "period_end",
            "value",
            "unit",
            "status",
            "note",
            "reference_date",
            "release",
            "published_at",
        ]

    def series_load(self, series_rows) -> None:
        """Prepare the cells of each series of a CSV, from (id, indicator_id, frequency,
        key, dimensions) rows, so the observation rows need not carry them."""
        for series_id, indicator_id, frequency, key, codes in series_rows:
            indicator = self.indicators[indicator_id]
            dimensions = self.dimensions(codes)
            cells = [indicator.code, self.indicator_name(indicator_id), frequency, key]
            for codelist in self.codelists:
                code = dimensions.get(codelist)
                cells += [code["code"], code["name"]] if code else ["", ""]
            self._series_cells[series_id] = cells
            self._units[series_id] = indicator.unit

    def csv(self, row: tuple) -> list:
        """The CSV cells of a ``CSV_VALUES`` row: the same values as ``json``, with what
        repeats on every line (series, period dates, instants) prepared once."""
        (
            series_id,
            period,
            period_start,
            period_end,
            value,
            status,
            note,
            reference_date,
            release_id,
            valid_from,
        ) = row
        dates = self._period_cells.get(period)
        if dates is None:
            dates = self._period_cells[period] = [period_start.isoformat(), period_end.isoformat()]
        published = self._instants.get(valid_from)
        if published is None:
            published = self._instants[valid_from] = instant_text(valid_from) or ""
        return [
            *self._series_cells[series_id],
            period,
            *dates,
            exact_text(value),
            self._units[series_id],
            status,
            note,
            reference_date.isoformat() if reference_date is not None else "",
            self.releases.get(release_id, ""),
            published,
        ]

    # --- JSON pages formatted by PostgreSQL ---

    def json_page_sql(
        self, *, source: str, where: list[str], order: str, key_columns: list[str]
    ) -> str:
        """A page of observations: a SELECT over ``source`` (the observation table, or a
        sub-query of its columns ``CSV_VALUES``) aliased ``o``, with the conditions
        ``where``, sorted by ``order`` and limited by a last parameter (the page's size
        and one). It gives, per row: the series id, the value of each sort key
        (``key_columns``), a text naming the row's period and dates, its exact value, and
        a text naming the rest (release, published instant, status, note, reference date);
        ``json_rows`` turns each named part into its JSON text once per distinct text.
        """
        # Each part as text that PostgreSQL writes cheaply: dates as days (integers), the
        # published instant as the hex of its binary form (microseconds since 2000), and
        # status, note and reference date only when they are not the usual normal, empty
        # and null. Formatting them as JSON here (to_json, date and timestamp output) was
        # more than half the statement's time, for a few hundred distinct texts a page.
        period_key = (
            f"o.period || ' ' || (o.period_start - {EPOCH_DATE_SQL}) "
            "|| ' ' || (o.period_end - o.period_start)"
        )
        tail_key = (
            "o.release_id || ' ' || encode(timestamptz_send(o.valid_from), 'hex') || CASE "
            "WHEN o.status = 'normal' AND o.note = '' AND o.reference_date IS NULL THEN '' "
            "ELSE ' ' || o.status || ' ' "
            f"|| COALESCE((o.reference_date - {EPOCH_DATE_SQL})::text, '') || ' ' || o.note END"
        )
        # The sort keys as their own columns (typed: psycopg reads them as the cursor
        # holds them); to_char() of them cost PostgreSQL a third of the page's time.
        conditions = f" WHERE {' AND '.join(where)}" if where else ""
        return (
            f"SELECT o.series_id, {', '.join(key_columns)}, {period_key}, "
            f"trim_scale(o.value)::text, {tail_key} "
            f"FROM {source} o{conditions} ORDER BY {order} LIMIT %s"
        )

    def json_series_load(self, series_rows) -> None:
        """The JSON text of what a row takes from its series, from (id, indicator_id,
        frequency, key, dimensions) rows: the same text as ``json`` rendered by DRF."""
        for series_id, indicator_id, frequency, key, codes in series_rows:
            indicator = self.indicators[indicator_id]
            head = json_text(
                {
                    "indicator": indicator.code,
                    "indicator_name": self.indicator_name(indicator_id),
                    "frequency": frequency,
                    "series_key": key,
                    "dimensions": self.dimensions(codes),
                }
            )
            # '{"indicator":...,"dimensions":{...},' before the period, and the value's
            # closing quote and ',"unit":"..."' after the value.
            self._series_text[series_id] = (
                head[:-1] + ",",
                '","unit":' + json_text(indicator.unit),
            )

    def json_rows(self, records: list[tuple], width: int, *, before: str, after: str) -> str:
        """The rows' JSON texts, comma-joined, between ``before`` and ``after``, from
        the records ``json_page_sql`` gives (``width`` sort-key cells after the series
        id). What a row takes from its series and what its period and rest texts name is
        formatted once per distinct value, and kept (``_series_text``, ``_period_text``,
        ``_tail_text``)."""
        at = 1 + width

        def texts(periods: dict[str, str], tails: dict[str, str]) -> list[str]:
            series_text = self._series_text
            return [
                f"{series_text[record[0]][0]}{periods[record[at]]}{record[at + 1]}"
                f"{series_text[record[0]][1]}{tails[record[at + 2]]}"
                for record in records
            ]

        try:
            joined = texts(self._period_text, self._tail_text)
        except KeyError:
            # A series, period or rest not met before: format what is missing, then again.
            joined = texts(*self.json_parts_load(records, at))
        # One copy of the page's text (it is most of the response), not one per part.
        if not joined:
            return before + after
        joined[0] = before + joined[0]
        joined[-1] += after
        return ",".join(joined)

    # Distinct period and rest texts kept per worker and generation, at most: past it, a
    # page formats what it misses for itself (notes make the rest texts unbounded).
    JSON_PARTS_KEPT = 50_000

    def json_parts_load(self, records: list[tuple], at: int) -> tuple[dict, dict]:
        """The texts ``json_rows`` takes from the series (loaded into ``_series_text``)
        and from the period and rest texts (``at`` and ``at + 2``) of ``records`` where
        not known yet: the period and rest dictionaries to read them from."""
        missing = {record[0] for record in records} - self._series_text.keys()
        if missing:
            self.json_series_load(
                Series.objects.filter(pk__in=missing).values_list(
                    "id", "indicator_id", "frequency", "key", "dimensions"
                )
            )
        periods, tails = self._period_text, self._tail_text
        new_periods = {
            key: _period_json(key) for key in {record[at] for record in records} - periods.keys()
        }
        new_tails = {
            key: self._tail_json(key)
            for key in {record[at + 2] for record in records} - tails.keys()
        }
        if len(periods) + len(tails) + len(new_periods) + len(new_tails) > self.JSON_PARTS_KEPT:
            return {**periods, **new_periods}, {**tails, **new_tails}
        periods.update(new_periods)
        tails.update(new_tails)
        return periods, tails

    def _tail_json(self, key: str) -> str:
        """The JSON text from status to the end of a row, from its rest text (see
        ``json_page_sql``): 'release_id instant[ status reference_days note]'."""
        release_text, instant_hex, *other = key.split(" ", 4)
        status, reference_days, note = other or ("normal", "", "")
        instant = POSTGRES_EPOCH + dt.timedelta(
            microseconds=int.from_bytes(bytes.fromhex(instant_hex), "big", signed=True)
        )
        reference_date = (
            POSTGRES_EPOCH.date() + dt.timedelta(days=int(reference_days))
            if reference_days
            else None
        )
        # Only the public releases have a slug here: a row of any other is not public
        # either (the selectors leave it out), so "" is never shown.
        return (
            f',"status":{json_text(status)},"note":{json_text(note)}'
            f',"reference_date":{json_text(date_text(reference_date))}'
            f',"release":{json_text(self.releases.get(int(release_text), ""))}'
            f',"published_at":{json_text(instant_text(instant))}}}'
        )

    def csv_lines_sql(
        self, queryset, ordering: list[tuple[str, bool]], series, *, per_series: bool = False
    ) -> tuple[str, list]:
        """A SELECT giving each CSV line (CRLF included) of the rows of ``queryset``
        (observations, filtered, embargo applied) in ``ordering``: the same text as
        ``csv`` written by Python's ``csv`` module (a cell is quoted when it holds a comma,
        a quote, CR or LF, its quotes doubled). What a line takes from its series is
        formatted once per series, for the series of ``series`` (a Series queryset that
        holds at least those of the rows). Run it in the site's time zone (see
        ``stats.renderers.lines_csv_chunks``).

        ``per_series``: one value per series instead, its lines joined (for an
        ``ordering`` that starts with ``series_id``; see ``stats.renderers.
        series_csv_chunks``).
        """
        inner = queryset.order_by().values(*CSV_VALUES)
        inner_sql, inner_params = inner.query.get_compiler(using=inner.db).as_sql()
        series_sql, series_params = series.values("pk").query.get_compiler(using=series.db).as_sql()

        def label(table: str) -> str:
            if self.english:
                return f"COALESCE(NULLIF({table}.name_en, ''), {table}.name_id)"
            return f"{table}.name_id"

        cells, joins, join_params = [], [], []
        for index, codelist in enumerate(self.codelists):
            alias = f"c{index}"
            literal = "'" + codelist.replace("'", "''") + "'"
            cells += [_csv_cell(f"(s.dimensions ->> {literal})"), _csv_cell(label(alias))]
            joins.append(
                f"LEFT JOIN stats_code {alias} ON {alias}.codelist_id = %s "
                f"AND {alias}.code = s.dimensions ->> %s"
            )
            join_params += [codelist, codelist]
        head = " || ',' || ".join(
            [
                _csv_cell("i.code"),
                _csv_cell(label("i")),
                _csv_cell("s.frequency"),
                _csv_cell("s.key"),
                *cells,
            ]
        )
        # isoformat() of the local time: microseconds only when not zero, offset +HH:MM.
        published = (
            "replace(to_char(o.valid_from, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), '.000000', '')"
        )
        line = (
            "h.head || o.period || ',' || to_char(o.period_start, 'YYYY-MM-DD') || ',' "
            "|| to_char(o.period_end, 'YYYY-MM-DD') || ',' || trim_scale(o.value)::text "
            f"|| h.unit || o.status || ',' || {_csv_cell('o.note')} || ',' "
            "|| COALESCE(to_char(o.reference_date, 'YYYY-MM-DD'), '') || ',' "
            f"|| CASE WHEN o.release_id = ANY(%s) THEN {_csv_cell('r.slug')} ELSE '' END "
            f"|| ',' || COALESCE({published}, '') || E'\\r\\n'"
        )
        order = ", ".join(
            f"o.{field} {'DESC' if descending else 'ASC'}" for field, descending in ordering
        )
        grouping = ""
        if per_series:
            if not ordering or ordering[0][0] != "series_id":
                raise ValueError("per_series needs an ordering that starts with series_id")
            within = ", ".join(
                f"o.{field} {'DESC' if descending else 'ASC'}" for field, descending in ordering[1:]
            )
            line = f"string_agg({line}, ''{f' ORDER BY {within}' if within else ''})"
            grouping = "GROUP BY o.series_id "
            order = f"o.series_id {'DESC' if ordering[0][1] else 'ASC'}"
        sql = (
            "WITH heads AS MATERIALIZED ("
            f"SELECT s.id, {head} || ',' AS head, ',' || {_csv_cell('i.unit')} || ',' AS unit "
            "FROM stats_series s JOIN stats_indicator i ON i.id = s.indicator_id "
            f"{' '.join(joins)} WHERE s.id IN ({series_sql})) "
            f"SELECT {line} FROM ({inner_sql}) o "
            "JOIN heads h ON h.id = o.series_id "
            "LEFT JOIN publications_release r ON r.id = o.release_id "
            f"{grouping}ORDER BY {order}"
        )
        params = [*join_params, *series_params, list(self.releases), *inner_params]
        return sql, params


def _csv_cell(expression: str) -> str:
    """SQL for one CSV cell of a text ``expression``, as Python's ``csv`` writes it: quoted
    (quotes doubled) when it holds a comma, a quote, CR or LF; NULL as an empty cell."""
    return (
        f"COALESCE(CASE WHEN strpos({expression}, ',') > 0 OR strpos({expression}, '\"') > 0 "
        f"OR strpos({expression}, chr(10)) > 0 OR strpos({expression}, chr(13)) > 0 "
        f"THEN '\"' || replace({expression}, '\"', '\"\"') || '\"' ELSE {expression} END, '')"
    )


class DimensionCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ObservationSerializer(serializers.Serializer):
    """One published value. Fields are declared for the schema; rows are shaped by
    ``ObservationRows`` (the same code as the CSV)."""

    indicator = serializers.CharField(help_text="Indicator code.")
    indicator_name = serializers.CharField()
    frequency = serializers.CharField(help_text="A, S, Q or M.")
    series_key = serializers.CharField(help_text="e.g. region=ID,segment=_T,program=_T")
    dimensions = serializers.DictField(
        child=DimensionCodeSerializer(), help_text="Code and name per code list of the key."
    )
    period = serializers.CharField(help_text="2023, 2023-S1, 2023-Q3 or 2023-09.")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    value = serializers.CharField(
        help_text='The exact value as text with a dot decimal: "12.9", "1001000000000000".'
    )
    unit = serializers.CharField()
    status = serializers.CharField(help_text="normal, provisional, estimate or break.")
    note = serializers.CharField()
    reference_date = serializers.DateField(allow_null=True)
    release = serializers.CharField(help_text="Slug of the release that published it.")
    published_at = serializers.DateTimeField(help_text="When this value became public.")

    def to_representation(self, instance):
        return self.context["rows"].json(instance)


class WideColumnSerializer(serializers.Serializer):
    series_key = serializers.CharField()
    dimensions = serializers.DictField(child=DimensionCodeSerializer())


class WideRowSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    values = serializers.ListField(
        child=serializers.CharField(allow_null=True), help_text="One per column, null if none."
    )


class WideTableSerializer(serializers.Serializer):
    """``layout=wide``: one indicator, periods as rows and series as columns."""

    indicator = serializers.CharField()
    frequency = serializers.CharField()
    unit = serializers.CharField()
    columns = WideColumnSerializer(many=True)
    rows = WideRowSerializer(many=True)


class TopicSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Topic
        fields = ["code", "name", "name_id", "name_en"]


class IndicatorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    description = serializers.SerializerMethodField()
    topic = TopicSerializer(read_only=True)
    frequencies = serializers.SerializerMethodField()
    frequency = serializers.CharField(read_only=True, help_text="The main frequency.")
    derived = serializers.SerializerMethodField()
    dimensions = serializers.SerializerMethodField()
    url = ResourceUrlField("stats-api:indicator-detail", lookup_field="code")

    class Meta:
        model = Indicator
        fields = [
            "code",
            "name",
            "name_id",
            "name_en",
            "description",
            "topic",
            "unit",
            "measure_kind",
            "frequency",
            "frequencies",
            "decimals",
            "source",
            "derived",
            "dimensions",
            "url",
        ]

    def get_description(self, indicator: Indicator) -> str:
        return indicator.localized("description")

    def get_frequencies(self, indicator: Indicator) -> list[str]:
        return list(indicator.frequencies)

    def get_derived(self, indicator: Indicator) -> bool:
        return getattr(indicator, "derivation", None) is not None

    def get_dimensions(self, indicator: Indicator) -> list[str]:
        return [codelist.id for codelist in indicator.dimensions.all()]


class CodeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Code
        fields = ["code", "name", "name_id", "name_en", "alt_code", "parent", "is_total", "order"]


class TargetSerializer(serializers.ModelSerializer):
    series_key = serializers.CharField(source="series.key", read_only=True)
    frequency = serializers.CharField(source="series.frequency", read_only=True)
    value = serializers.SerializerMethodField()

    class Meta:
        model = Target
        fields = ["series_key", "frequency", "period", "value", "document", "note"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_value(self, target: Target) -> str:
        return exact_text(target.value)


class LatestValueSerializer(serializers.Serializer):
    period = serializers.CharField()
    value = serializers.CharField()
    status = serializers.CharField()
    published_at = serializers.DateTimeField()


class SeriesSerializer(serializers.ModelSerializer):
    """A series with its latest public value (annotated by ``series_with_latest_public``)."""

    indicator = serializers.CharField(source="indicator.code", read_only=True)
    series_key = serializers.CharField(source="key", read_only=True)
    dimensions = serializers.SerializerMethodField()
    latest = serializers.SerializerMethodField()

    class Meta:
        model = Series
        fields = ["indicator", "frequency", "series_key", "dimensions", "latest"]

    @extend_schema_field(serializers.DictField(child=DimensionCodeSerializer()))
    def get_dimensions(self, series: Series) -> dict:
        return self.context["rows"].dimensions(series.dimensions)

    @extend_schema_field(LatestValueSerializer(allow_null=True))
    def get_latest(self, series: Series) -> dict | None:
        if getattr(series, "latest_period", None) is None:
            return None
        return {
            "period": series.latest_period,
            "value": exact_text(series.latest_value),
            "status": series.latest_status,
            "published_at": instant_text(series.latest_published_at),
        }


class DimensionInUseSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    codes = CodeSerializer(many=True)


class DerivationInputSerializer(serializers.Serializer):
    role = serializers.CharField()
    indicator = serializers.CharField()
    codes = serializers.DictField(child=serializers.CharField())


class DerivationSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_name = serializers.CharField()
    periods = serializers.IntegerField()
    years = serializers.IntegerField()
    scale = serializers.CharField()
    formula = serializers.CharField()
    inputs = DerivationInputSerializer(many=True)


class IndicatorDetailSerializer(IndicatorSerializer):
    methodology = serializers.SerializerMethodField()
    dimensions = serializers.SerializerMethodField()
    series = serializers.SerializerMethodField()
    targets = TargetSerializer(many=True, source="public_targets", read_only=True)
    derivation = serializers.SerializerMethodField()

    class Meta(IndicatorSerializer.Meta):
        fields = [
            *IndicatorSerializer.Meta.fields,
            "description_id",
            "description_en",
            "methodology",
            "series",
            "targets",
            "derivation",
        ]

    def get_methodology(self, indicator: Indicator) -> str:
        return indicator.localized("methodology")

    @extend_schema_field(DimensionInUseSerializer(many=True))
    def get_dimensions(self, indicator: Indicator) -> list[dict]:
        """Each code list of the key with the codes that public series use."""
        in_use: dict[str, list[Code]] = {}
        for code in codes_in_use(indicator_id=indicator.pk).select_related("parent"):
            in_use.setdefault(code.codelist_id, []).append(code)
        return [
            {
                "id": codelist.id,
                "name": codelist.name,
                "codes": CodeSerializer(in_use.get(codelist.id, []), many=True).data,
            }
            for codelist in indicator.dimensions.all()
        ]

    @extend_schema_field(SeriesSerializer(many=True))
    def get_series(self, indicator: Indicator) -> list[dict]:
        from stats.selectors import series_public

        queryset = series_with_latest_public(
            queryset=series_public().filter(indicator=indicator).select_related("indicator")
        ).order_by("frequency", "key")
        return SeriesSerializer(queryset, many=True, context=self.context).data

    @extend_schema_field(DerivationSerializer(allow_null=True))
    def get_derivation(self, indicator: Indicator) -> dict | None:
        derivation = getattr(indicator, "derivation", None)
        if derivation is None:
            return None
        return {
            "kind": derivation.kind,
            "kind_name": str(derivation.get_kind_display()),
            "periods": derivation.periods,
            "years": derivation.years,
            "scale": exact_text(derivation.scale),
            "formula": pick(derivation.formula_id, derivation.formula_en),
            "inputs": [
                {"role": item.role, "indicator": item.indicator.code, "codes": item.codes}
                for item in derivation.inputs.select_related("indicator")
            ],
        }


class CodeListSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    description = serializers.SerializerMethodField()
    code_count = serializers.IntegerField(read_only=True)
    url = ResourceUrlField("stats-api:codelist-detail")

    class Meta:
        model = CodeList
        fields = ["id", "name", "name_id", "name_en", "description", "code_count", "url"]

    def get_description(self, codelist: CodeList) -> str:
        return codelist.localized("description")


class CodeListDetailSerializer(CodeListSerializer):
    codes = CodeSerializer(many=True, read_only=True)

    class Meta(CodeListSerializer.Meta):
        fields = [*CodeListSerializer.Meta.fields, "description_id", "description_en", "codes"]
