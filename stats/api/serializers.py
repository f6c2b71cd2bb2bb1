"""Serializers of the statistics API: explicit fields, names in the language asked for.

Observation rows come from ``values()`` (no model instances, one query per page) and
are shaped by ``ObservationRows``, which both the JSON serializer and the CSV stream
use, so the two formats cannot disagree. Values are exact text (``exact_text``):
"12.9", "1001000000000000", never a float.
"""

from __future__ import annotations

import datetime as dt

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

    def copy_sql(self, queryset, ordering: list[tuple[str, bool]]) -> tuple[str, list]:
        """A SELECT giving the ``csv`` cells of the rows of ``queryset`` (observations,
        filtered, embargo applied), in ``ordering``, formatted by PostgreSQL: the same
        text as ``csv``, empty cells as NULL (see ``stats.renderers.copy_csv_chunks``,
        which runs it in the site's time zone). Values are ``trim_scale``d (12.9, not
        12.9000000000), as ``exact_text`` writes them.

        ``ordering`` holds (field, descending) pairs over ``CSV_VALUES`` columns.
        """
        inner = queryset.order_by().values(*CSV_VALUES)
        inner_sql, inner_params = inner.query.get_compiler(using=inner.db).as_sql()

        def label(table: str) -> str:
            if self.english:
                return f"NULLIF(COALESCE(NULLIF({table}.name_en, ''), {table}.name_id), '')"
            return f"NULLIF({table}.name_id, '')"

        def day(column: str) -> str:
            return f"to_char({column}, 'YYYY-MM-DD')"

        dimension_cells, joins, join_params = [], [], []
        for index, codelist in enumerate(self.codelists):
            alias = f"c{index}"
            dimension_cells += ["NULLIF(s.dimensions ->> %s, '')", label(alias)]
            joins.append(
                f"LEFT JOIN stats_code {alias} ON {alias}.codelist_id = %s "
                f"AND {alias}.code = s.dimensions ->> %s"
            )
            join_params += [codelist, codelist]
        # isoformat() of the local time: microseconds only when not zero, offset +HH:MM.
        # The session's time zone is the site's (see copy_csv_chunks), so TZH:TZM is its.
        published = (
            "replace(to_char(o.valid_from, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), '.000000', '')"
        )
        dimension_sql = "".join(f"{cell}, " for cell in dimension_cells)
        cells = (
            "i.code, "
            f"{label('i')}, "
            "NULLIF(s.frequency, ''), "
            "NULLIF(s.key, ''), "
            f"{dimension_sql}"
            "NULLIF(o.period, ''), "
            f"{day('o.period_start')}, "
            f"{day('o.period_end')}, "
            "trim_scale(o.value)::text, "
            "NULLIF(i.unit, ''), "
            "NULLIF(o.status, ''), "
            "NULLIF(o.note, ''), "
            f"{day('o.reference_date')}, "
            "CASE WHEN o.release_id = ANY(%s) THEN NULLIF(r.slug, '') END, "
            f"{published}"
        )
        order = ", ".join(
            f"o.{field} {'DESC' if descending else 'ASC'}" for field, descending in ordering
        )
        sql = (
            f"SELECT {cells} FROM ({inner_sql}) o "
            "JOIN stats_series s ON s.id = o.series_id "
            "JOIN stats_indicator i ON i.id = s.indicator_id "
            f"{' '.join(joins)} "
            "LEFT JOIN publications_release r ON r.id = o.release_id "
            f"ORDER BY {order}"
        )
        params = [
            *self.codelists,
            list(self.releases),
            *inner_params,
            *join_params,
        ]
        return sql, params


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
