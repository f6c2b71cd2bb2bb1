"""The statistics resources of the read API: indicators, code lists, series, observations.

Thin views: the FilterSets (stats/filtersets.py) check and apply parameters, the
selectors decide what is public, the serializers shape metadata; observation rows are
written by PostgreSQL (``statements``, generated from the columns of ``rows``). The
shared behaviour (strict parameters, formats, paging, caching, rate limits) is in
``base``.
"""

from __future__ import annotations

import builtins
import json
from functools import cached_property
from urllib.parse import urlencode

from django.db.models import Count, Field, Max, OuterRef, Prefetch, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, viewsets
from rest_framework.response import Response

from config.db import prepared_cursor
from stats.events import generation_memo
from stats.filtersets import (
    REALTIME,
    DimensionFilter,
    IndicatorFilterSet,
    ObservationFilterSet,
    SeriesFilterSet,
)
from stats.models import AS_OF_SQL, Observation, Series, exact_text
from stats.opendata import xlsx
from stats.renderers import csv_lines_response, csv_series_response, csv_streaming_response
from stats.selectors import (
    codelists_public,
    codes_public,
    indicators_public,
    series_public,
    series_public_get,
    series_vintage_dates_public,
    series_with_latest_public,
    targets_public,
)

from .base import (
    CachedJSON,
    KeysetPagination,
    PublicDetailMixin,
    PublicReadMixin,
    too_many_rows,
    xlsx_http_response,
)
from .cache import request_generation
from .rows import ObservationRows, json_text
from .serializers import (
    CodeListDetailSerializer,
    CodeListSerializer,
    IndicatorDetailSerializer,
    IndicatorSerializer,
    ObservationSerializer,
    SeriesSerializer,
    SeriesVintagesSerializer,
    WideTableSerializer,
)
from .statements import SOURCE_FIELDS, csv_lines_sql, json_page_sql
from .units import (
    AGGREGATE_DESCRIPTION,
    AGGREGATE_TO,
    LEVELS,
    ROUNDING,
    UNITS,
    UNITS_DESCRIPTION,
    Units,
    aggregate_source_sql,
    lower_frequencies,
    units_source_sql,
)

CSV_CHUNK_ROWS = 2000


def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/ answer JSON, like the rest of the API."""
    return JsonResponse({"detail": "Not found."}, status=404)


@extend_schema_view(
    list=extend_schema(
        summary="Indicators",
        description="The catalogue of indicators (what is measured, its unit, kind of "
        "measure and frequencies), searchable by words, topic, frequency, unit and whether "
        "it is derived from others. Sorted by code.",
    ),
    retrieve=extend_schema(
        summary="One indicator",
        description="Metadata, the code lists of its key with the codes in use, the latest "
        "public value of each series, targets, and the definition if it is derived.",
    ),
)
class IndicatorViewSet(PublicDetailMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = IndicatorSerializer
    detail_serializer_class = IndicatorDetailSerializer
    filterset_class = IndicatorFilterSet
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_]+"
    lookup_description = "Indicator code, e.g. ACTIVE_PARTICIPANTS."
    ordering_options = {"code": [("code", False)]}
    default_ordering = "code"
    csv_filename = "indicators.csv"

    def get_queryset(self):
        return indicators_public().select_related("derivation").prefetch_related("dimensions")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["rows"] = ObservationRows(self.lookups)
        return context

    def version_parts(self):
        # Metadata edits change the answer without a publication; an item also names its
        # next scheduled release, which scheduling changes: it follows the data
        # generation, which every change of a release's state ends.
        parts = [*super().version_parts(), str(self.indicators_edited["count"])]
        if self.action == "retrieve":
            parts.append(request_generation(self.request))
        return parts

    def edited_at(self):
        return self.indicators_edited["latest"]

    @cached_property
    def indicators_edited(self) -> dict:
        # Of the public ones: an edit of a hidden indicator must not show, even as a date.
        return indicators_public().aggregate(latest=Max("updated_at"), count=Count("id"))

    def get_object(self):
        indicator = super().get_object()
        indicator.public_targets = list(
            targets_public()
            .filter(series__indicator=indicator)
            .select_related("series")
            .order_by("series__key", "period_start")
        )
        return indicator

    def get_csv_columns(self):
        return [
            ("code", "code"),
            ("name", "name"),
            ("name_id", "name_id"),
            ("name_en", "name_en"),
            ("description", "description"),
            ("topic", "topic.code"),
            ("topic_name", "topic.name"),
            ("unit", "unit"),
            ("measure_kind", "measure_kind"),
            ("frequency", "frequency"),
            ("frequencies", "frequencies"),
            ("decimals", "decimals"),
            ("source", "source"),
            ("derived", "derived"),
            ("dimensions", "dimensions"),
            ("url", "url"),
        ]


@extend_schema_view(
    list=extend_schema(
        summary="Code lists",
        description="The dimensions of series keys (region, segment, programme, ...). Each "
        "code list's id is also the name of the filter on series and observations.",
    ),
    retrieve=extend_schema(
        summary="One code list with its codes",
        description="Its codes in order, each with its names, alternative code (e.g. ISO "
        "3166-2 for provinces), parent and whether it is the total (`_T`).",
    ),
)
class CodeListViewSet(PublicDetailMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CodeListSerializer
    detail_serializer_class = CodeListDetailSerializer
    lookup_value_regex = "[a-z][a-z0-9_]*"
    lookup_description = "Code list id, e.g. region."
    ordering_options = {"order": [("order", False), ("id", False)]}
    default_ordering = "order"
    csv_filename = "codelists.csv"

    def get_queryset(self):
        public_codes = codes_public().filter(codelist=OuterRef("pk")).order_by()
        queryset = codelists_public().annotate(
            code_count=Subquery(
                public_codes.values("codelist").annotate(count=Count("id")).values("count")
            )
        )
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch(
                    "codes",
                    queryset=codes_public().select_related("parent").order_by("order", "code"),
                )
            )
        return queryset

    def version_parts(self):
        codes = codes_public().aggregate(count=Count("id"), last=Max("id"))
        return [*super().version_parts(), str(codes["count"]), str(codes["last"])]


@extend_schema_view(
    list=extend_schema(
        summary="Series",
        description="The public series (indicator, frequency and one code per code list), "
        "each with its latest public value. Filter by any code list id, e.g. region=31.",
    )
)
class SeriesViewSet(PublicReadMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = SeriesSerializer
    filterset_class = SeriesFilterSet
    ordering_options = {
        "indicator": [("indicator__code", False), ("frequency", False), ("key", False)]
    }
    default_ordering = "indicator"
    csv_filename = "series.csv"

    def get_queryset(self):
        return series_with_latest_public(queryset=series_public().select_related("indicator"))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["rows"] = ObservationRows(self.lookups)
        return context

    def get_csv_columns(self):
        columns = [
            ("indicator", "indicator"),
            ("frequency", "frequency"),
            ("series_key", "series_key"),
        ]
        for codelist_id, _name_id, _name_en in self.lookups.codelists:
            columns += [
                (codelist_id, f"dimensions.{codelist_id}.code"),
                (f"{codelist_id}_name", f"dimensions.{codelist_id}.name"),
            ]
        return [
            *columns,
            ("latest_period", "latest.period"),
            ("latest_value", "latest.value"),
            ("latest_status", "latest.status"),
            ("latest_published_at", "latest.published_at"),
        ]


class SeriesVintagesViewSet(PublicReadMixin, viewsets.GenericViewSet):
    """The vintage dates of one series, addressed by its public identifier."""

    serializer_class = SeriesVintagesSerializer
    path_descriptions = {
        "indicator": "Indicator code, e.g. ACTIVE_PARTICIPANTS.",
        "frequency": "A (annual), S (semi-annual), Q (quarterly) or M (monthly).",
        "series_key": "The series key as the series list gives it, one code per code list: "
        "region=ID,segment=_T,program=_T. A province may be named by its ISO 3166-2 code "
        "in any case (region=ID-JK).",
    }

    def get_queryset(self):
        return series_public()

    def key_canonical(self, series_key: str) -> str:
        """The key with each code as the series have it: a code named by its alternative
        code (``region=ID-JK``, any case) becomes the code, by the filters' rule
        (``DimensionFilter.canonical``); one that names nothing stays (no series: 404)."""
        pairs = [pair.split("=", 1) for pair in series_key.split(",")]
        return ",".join(
            f"{codelist_id}="
            + (DimensionFilter(codelist_id=codelist_id).canonical(code, self.lookups) or code)
            for codelist_id, code in pairs
        )

    @extend_schema(
        operation_id="series_vintages",
        summary="Vintage dates of one series",
        description="Every instant at which values of the series became public, first "
        "publications and revisions alike, oldest first, each with the release that "
        "published them (ALFRED's vintage dates). The series is named by its indicator, "
        "frequency and key, as the series list gives them. Read the values of each "
        "vintage from its observations (the `observations` link) with `as_of`, or every "
        "vintage at once, each with its validity, with `realtime_start`.",
    )
    def retrieve(self, request, indicator: str, frequency: str, series_key: str):
        cached = self.cached_response()
        if cached is not None:
            return cached
        series = series_public_get(
            indicator=indicator, frequency=frequency, key=self.key_canonical(series_key)
        )
        if series is None:
            raise exceptions.NotFound()
        slugs = self.lookups.release_slugs
        # Its observations: the indicator, the frequency and its code in every code list.
        query = {
            "indicator": series.indicator.code,
            "frequency": series.frequency,
            **series.dimensions,
        }
        vintages = series_vintage_dates_public(series=series)
        observations = request.build_absolute_uri(
            reverse("stats-api:observation-list") + "?" + urlencode(query)
        )
        body = {
            "indicator": series.indicator.code,
            "frequency": series.frequency,
            "series_key": series.key,
            "observations": observations,
            "vintages": [
                {
                    "published_at": published_at,
                    "release": slugs.get(release_id) if release_id is not None else None,
                }
                for published_at, release_id in vintages
            ],
        }
        return Response(self.get_serializer(body).data)


OBSERVATION_ORDERINGS: dict[str, list[tuple[str, bool]]] = {
    "series": [("series_id", False), ("period_start", False)],
    "period": [("period_start", False), ("series_id", False)],
    "-period": [("period_start", True), ("series_id", False)],
    "published_at": [("valid_from", False), ("series_id", False), ("period_start", False)],
    "-published_at": [("valid_from", True), ("series_id", False), ("period_start", False)],
    "value": [("value", False), ("series_id", False), ("period_start", False)],
    "-value": [("value", True), ("series_id", False), ("period_start", False)],
}
# A real-time period gives several vintages of a series and period: each ordering ends
# with the vintage (its publication, oldest first) to stay a unique key a cursor walks.
OBSERVATION_REALTIME_ORDERINGS = {
    name: spec
    if ("valid_from", False) in spec or ("valid_from", True) in spec
    else [*spec, ("valid_from", False)]
    for name, spec in OBSERVATION_ORDERINGS.items()
}


@extend_schema_view(
    list=extend_schema(
        summary="Observations",
        description=(
            "Published values, one row per series and period, as the public sees them now "
            "or at `as_of`; with `realtime_start`/`realtime_end` (ALFRED's real-time "
            "period), every vintage valid in that window instead, so a period may have "
            "several rows, each with its validity (`published_at` to `superseded_at`), "
            "sorted by the ordering and then by `published_at`. Every code list is a "
            "filter by its id (`region=31`, `segment=BPU,PU`, `program=JHT`). "
            "Values are exact text. "
            "A cursor walk reads the values as of its first page, so publications during "
            "the walk do not shift it. `layout=wide` gives one indicator as a table: "
            "give exactly one `indicator` (and one `frequency` if it has several), and no "
            "`cursor`, `page_size` or `ordering`. A derived value gives the formula it was "
            "computed with, with the exact numbers, and the exact inputs used (`formula`, "
            "`inputs`); other values give null."
        ),
        parameters=[
            OpenApiParameter(
                "layout",
                OpenApiTypes.STR,
                enum=["long", "wide"],
                description="long (default): one row per value. wide: one indicator (give "
                "exactly one `indicator` and, if it has several, one `frequency`), periods as "
                "rows, series as columns; one table, not paged.",
            ),
            OpenApiParameter(
                "units",
                OpenApiTypes.STR,
                enum=list(UNITS),
                description=UNITS_DESCRIPTION,
            ),
            OpenApiParameter(
                "aggregate_to",
                OpenApiTypes.STR,
                enum=list(AGGREGATE_TO),
                description=AGGREGATE_DESCRIPTION,
            ),
        ],
        examples=[
            OpenApiExample(
                "Funds under management, year-end",
                summary="indicator=FUNDS_UNDER_MANAGEMENT&frequency=A&period_start=2019",
                value={
                    "indicator": "FUNDS_UNDER_MANAGEMENT",
                    "indicator_name": "Funds under management",
                    "frequency": "A",
                    "series_key": "region=ID,segment=_T,program=_T",
                    "dimensions": {
                        "region": {"code": "ID", "name": "Indonesia"},
                        "segment": {"code": "_T", "name": "All segments"},
                        "program": {"code": "_T", "name": "All programmes"},
                    },
                    "period": "2023",
                    "period_start": "2023-01-01",
                    "period_end": "2023-12-31",
                    "value": "686000000000000",
                    "unit": "rupiah",
                    "status": "normal",
                    "note": "",
                    "source": "",
                    "reference_date": None,
                    "release": "antara-2023-ikn",
                    "published_at": "2023-12-15T10:00:00+07:00",
                    "superseded_at": None,
                    "formula": None,
                    "inputs": None,
                },
                response_only=True,
            ),
            OpenApiExample(
                "A derived value with its formula and inputs",
                summary="indicator=ACTIVE_COVERAGE_ELIGIBLE&period_start=2024",
                value={
                    "indicator": "ACTIVE_COVERAGE_ELIGIBLE",
                    "indicator_name": "Coverage of eligible workers (computed)",
                    "frequency": "A",
                    "series_key": "region=ID,segment=_T,program=_T",
                    "dimensions": {
                        "region": {"code": "ID", "name": "Indonesia"},
                        "segment": {"code": "_T", "name": "All segments"},
                        "program": {"code": "_T", "name": "All programmes"},
                    },
                    "period": "2024",
                    "period_start": "2024-01-01",
                    "period_end": "2024-12-31",
                    "value": "44.4007858546",
                    "unit": "percent",
                    "status": "normal",
                    "note": "",
                    "source": "angka: derived",
                    "reference_date": None,
                    "release": "angka-tahunan-2024",
                    "published_at": "2025-02-15T10:00:00+07:00",
                    "superseded_at": None,
                    "formula": "44.4007858546 = 45200000 / 101800000 × 100",
                    "inputs": [
                        {
                            "role": "a",
                            "indicator": "ACTIVE_PARTICIPANTS",
                            "series_key": "region=ID,segment=_T,program=_T",
                            "period": "2024",
                            "value": "45200000",
                            "release": "angka-tahunan-2024",
                        },
                        {
                            "role": "b",
                            "indicator": "ELIGIBLE_WORKERS",
                            "series_key": "region=ID,segment=_T,program=_T",
                            "period": "2024",
                            "value": "101800000",
                            "release": "angka-tahunan-2024",
                        },
                    ],
                },
                response_only=True,
            ),
        ],
    )
)
class ObservationViewSet(PublicReadMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Observation.objects.all()
    serializer_class = ObservationSerializer
    filterset_class = ObservationFilterSet
    default_ordering = "series"
    list_params = ("layout", "units", "aggregate_to")
    # The JSON of layout=wide, besides the page (stats.api.schema).
    other_json_shapes = (WideTableSerializer,)
    layout = "long"
    units: Units = UNITS[LEVELS]
    aggregate_to: str | None = None

    @property
    def ordering_options(self):
        """The orderings, with the vintage as their last key for a real-time period."""
        request = getattr(self, "request", None)
        params = request.query_params if request is not None else {}
        if any(name in params for name in REALTIME):
            return OBSERVATION_REALTIME_ORDERINGS
        return OBSERVATION_ORDERINGS

    def filterset_kwargs(self):
        return {"snapshot_at": self.cursor.at if self.cursor is not None else None}

    def cursor_snapshot_at(self):
        return self.filterset.effective_at

    def validate_extra(self, params, errors):
        realtime = [name for name in REALTIME if name in params]
        if realtime:
            # One value per series and period is what these need; a real-time period
            # gives every vintage of each.
            reason = (
                f"not used with {' and '.join(realtime)}: a real-time period holds several "
                "vintages of a period"
            )
            for name, why in (
                ("units", "a transformation reads the values of one instant; use as_of"),
                ("aggregate_to", "a conversion reads the values of one instant; use as_of"),
                (
                    "layout",
                    "a table has one cell per period and series; use the long layout, one "
                    "row per vintage",
                ),
            ):
                value = params.get(name, "").strip()
                if value and value not in ("lin", "long"):
                    errors.setdefault(name, [f"{reason}, and {why}"])
        units = params.get("units")
        if units and "units" not in errors:
            if units.strip() not in UNITS:
                errors["units"] = [f"use one of {', '.join(UNITS)}"]
            else:
                self.units = UNITS[units.strip()]
                if self.units.code != LEVELS and params.get("layout") == "wide":
                    errors["units"] = ["not used with layout=wide; use the long layout"]
        self.validate_aggregate_to(params, errors)
        # Transformations read the latest vintage of the earlier values they need; a first
        # print of each would mix vintages within one computed value.
        transformed = self.units.code != LEVELS or self.aggregate_to is not None
        if params.get("vintage", "").strip() == "first" and transformed:
            errors.setdefault("vintage", ["vintage=first is not used with units or aggregate_to"])
        layout = params.get("layout")
        if not layout or "layout" in errors:
            return
        if layout not in ("long", "wide"):
            errors["layout"] = ["use long or wide"]
            return
        if layout == "wide" and params.get("format") == "xlsx":
            errors["layout"] = [
                "format=xlsx gives the long layout only; for the wide table use format=csv"
            ]
            return
        self.layout = layout
        if layout == "wide":
            indicators = [code for code in params.get("indicator", "").split(",") if code.strip()]
            if len(indicators) != 1:
                errors["layout"] = [
                    "layout=wide needs exactly one indicator, e.g. indicator=ACTIVE_PARTICIPANTS"
                ]
            for name in ("cursor", "page_size", "ordering"):
                if name in params:
                    errors.setdefault(name, ["not used with layout=wide (one table, by period)"])

    def validate_aggregate_to(self, params, errors) -> None:
        target = params.get("aggregate_to", "").strip()
        if not target or "aggregate_to" in errors:
            return
        if target not in AGGREGATE_TO:
            errors["aggregate_to"] = [
                f"use one of {', '.join(AGGREGATE_TO)} (M is the highest frequency)"
            ]
            return
        if params.get("layout") == "wide":
            errors["aggregate_to"] = ["not used with layout=wide; use the long layout"]
            return
        lower = lower_frequencies(target)
        asked = [code.strip() for code in params.get("frequency", "").split(",")]
        refused = [code for code in asked if code in lower]
        if refused:
            errors["aggregate_to"] = [
                f"frequency {','.join(refused)} is lower than {target}: a series cannot be "
                "converted to a higher frequency"
            ]
            return
        self.aggregate_to = target

    def aggregate_check(self) -> None:
        """A 400 when series of a frequency lower than ``aggregate_to`` match."""
        filterset = self.filterset
        assert filterset is not None and self.aggregate_to is not None
        lower = lower_frequencies(self.aggregate_to)
        found = sorted(
            set(
                filterset.series_queryset()
                .filter(frequency__in=lower)
                .values_list("frequency", flat=True)
                .distinct()
            )
        )
        if found:
            higher = [code for code in ("M", "Q", "S", "A") if code not in lower]
            raise exceptions.ValidationError(
                {
                    "aggregate_to": [
                        f"series at {', '.join(found)} match, a lower frequency than "
                        f"{self.aggregate_to}; add frequency={','.join(higher)} to leave "
                        "them out"
                    ]
                }
            )

    def list(self, request, *args, **kwargs):
        cached = self.cached_response()
        if cached is not None:
            return cached
        if self.aggregate_to is not None:
            self.aggregate_check()
        if self.layout == "wide":
            return self.wide_response(self.filter_queryset(self.get_queryset()))
        filterset = self.filterset
        assert filterset is not None  # validate_request made it (a list, not cached)
        rows = ObservationRows(
            self.lookups,
            frequency=self.aggregate_to,
            read_at=filterset.effective_at,
            texts_language=self.texts_language(),
        )
        if self.wants_csv:
            return self.observations_csv_response(rows)
        if self.wants_xlsx:
            return self.observations_xlsx_response(rows)
        body = self.json_page(rows)
        if "indent" in (request.accepted_media_type or ""):
            # Asked for indented JSON (the browsable form): DRF renders it.
            return Response(json.loads(body))
        return CachedJSON(body, content_type="application/json")

    def lines_sql(self, rows: ObservationRows, *, per_series: bool) -> tuple[str, builtins.list]:
        """The statement of the result's CSV lines, in the chosen ordering (``csv_lines_sql``),
        and its parameters."""
        queryset = self.filter_queryset(self.get_queryset())
        spec = self.ordering_options[self.ordering_name or self.default_ordering]
        filterset = self.filterset
        assert filterset is not None  # validate_request made it (a list, not cached)
        source = self.units_select() if self.transformed else None
        return csv_lines_sql(
            rows, queryset, spec, filterset.series_queryset(), per_series=per_series, source=source
        )

    def observations_csv_response(self, rows: ObservationRows) -> HttpResponseBase:
        """The whole result as CSV, each line formatted by PostgreSQL (``csv_lines_sql``)."""
        spec = self.ordering_options[self.ordering_name or self.default_ordering]
        # Sorted by series first: one value per series, streamed by COPY.
        per_series = spec[0][0] == "series_id"
        sql, params = self.lines_sql(rows, per_series=per_series)
        respond = csv_series_response if per_series else csv_lines_response
        response = respond(
            header=rows.csv_header(),
            sql=sql,
            params=params,
            filename=f"{self.download_name()}.csv",
        )
        response["Link"] = f'<{self.csv_metadata_url()}>; rel="describedby"'
        return response

    def observations_xlsx_response(self, rows: ObservationRows) -> HttpResponse:
        """The CSV's lines (``csv_lines_sql``, in the same order) as a workbook with a
        metadata sheet; a 400 past ``xlsx.MAX_ROWS`` rows."""
        sql, params = self.lines_sql(rows, per_series=False)
        metadata = [
            *self.xlsx_metadata(),
            ("units", self.units.code),
            ("aggregate_to", self.aggregate_to or ""),
            ("value_exact", "The exact value as text; the value column is its nearest number."),
        ]
        try:
            content = xlsx.observations_workbook(
                rows=rows, sql=sql, params=params, metadata=metadata
            )
        except xlsx.TooManyRows as error:
            raise too_many_rows() from error
        response = xlsx_http_response(content, self.download_name())
        response["Link"] = f'<{self.csv_metadata_url()}>; rel="describedby"'
        return response

    def csv_metadata_url(self) -> str:
        """What describes the CSV (licence, publisher, citation, columns): the metadata
        of its indicator when it is one, else the data package of them all."""
        codes = [c for c in self.request.query_params.get("indicator", "").split(",") if c.strip()]
        if len(codes) == 1:
            path = reverse("opendata:indicator-metadata", kwargs={"code": codes[0].strip()})
        else:
            path = reverse("opendata:datapackage")
        return self.request.build_absolute_uri(path)

    def json_page(self, rows: ObservationRows) -> bytes:
        """The JSON page, its rows formatted by PostgreSQL (``json_page_sql``) and joined
        here (``ObservationRows.json_rows``).

        The statement is written from the filter set's SQL conditions, not built by the
        ORM, where the series filters give a list of series (almost every query): one
        prepared plan per query shape, and no queryset to build and compile."""
        paginator, filterset = self.paginator, self.filterset
        # pagination_class; validate_request made the filter set (a list, not cached).
        assert isinstance(paginator, KeysetPagination) and filterset is not None
        order, after, params = paginator.page_sql(self.request, self, observation_column)
        found = filterset.sql_conditions()
        where: list[str]
        # The statement's parameters: its source's, the instant read, its conditions'.
        read_at = rows.read_at
        if self.transformed:
            units_sql, units_params = self.units_select()
            source, where, params = f"({units_sql})", [], [*units_params, read_at, *params]
        elif found is None:
            # No list of series to read (see ObservationFilterSet.series_ids): the
            # filtered queryset's own statement is the source.
            inner = self.filter_queryset(self.get_queryset()).order_by().values(*SOURCE_FIELDS)
            inner_sql, inner_params = inner.query.get_compiler(using=inner.db).as_sql()
            source, where, params = f"({inner_sql})", [], [*inner_params, read_at, *params]
        else:
            source = Observation._meta.db_table
            where, params = found[0], [read_at, *found[1], *params]
        if after:
            where = [*where, after]
        sql = json_page_sql(
            source=source,
            where=where,
            order=order,
            key_columns=[observation_column(path) for _key, path, _desc in paginator.keys],
        )
        with prepared_cursor() as cursor:
            cursor.execute(sql, [*params, self.page_size + 1])
            records = cursor.fetchall()
        width = len(paginator.keys)
        records = paginator.paginate_rows(records, lambda record: record[1 : 1 + width])
        # What rows take from their series (by language) and their key texts, kept per
        # worker and data generation.
        generation = request_generation(self.request)
        rows.series_text = generation_memo(
            generation, f"series-json-{int(rows.english)}-{rows.frequency or ''}", dict
        )
        rows.key_texts = generation_memo(
            generation,
            f"key-json-{rows.texts_language or ''}",
            lambda: [{} for _texts in rows.key_texts],
        )
        next_link, previous_link = paginator.links()
        body = rows.json_rows(
            records,
            width,
            before=f'{{"next":{json_text(next_link)},"previous":{json_text(previous_link)},'
            '"results":[',
            after="]}",
        )
        # As DRF's JSONRenderer does, for JSON that is also a JavaScript literal.
        return body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()

    @property
    def transformed(self) -> bool:
        return self.units.code != LEVELS or self.aggregate_to is not None

    def units_select(self) -> tuple[str, builtins.list]:
        """A SELECT of the columns ``SOURCE_FIELDS`` giving the filtered rows converted
        (``aggregate_to``) and transformed (``units``), and its parameters: both read the
        series' values published at the instant read, then the filters on the rows
        select among the results."""
        filterset = self.filterset
        assert filterset is not None  # validate_request made it (a list, not cached)
        series_ids = filterset.series_ids
        if series_ids is not None:
            at = filterset.effective_at
            base, where, params = (
                Observation._meta.db_table,
                ["o.series_id = ANY(%s)", AS_OF_SQL],
                [series_ids, at, at],
            )
        else:
            inner = filterset.series_published(self.get_queryset()).order_by()
            inner = inner.values(*SOURCE_FIELDS)
            inner_sql, inner_params = inner.query.get_compiler(using=inner.db).as_sql()
            base, where, params = f"({inner_sql})", [], list(inner_params)
        if self.aggregate_to is not None:
            base = aggregate_source_sql(self.aggregate_to, source=base, where=where)
            where = []
        source = base
        if self.units.code != LEVELS:
            source = units_source_sql(self.units, source=base, where=where)
        elif where:
            source = f"(SELECT * FROM {base} o WHERE {' AND '.join(where)})"
        rows, row_params = filterset.row_conditions()
        conditions = f" WHERE {' AND '.join(rows)}" if rows else ""
        return f"SELECT * FROM {source} o{conditions}", [*params, *row_params]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code in (200, 304):
            # What was applied to the values, in JSON and CSV alike.
            response["X-Units"] = self.units.code
            if self.units.rounded:
                response["X-Units-Rounding"] = ROUNDING
            if self.aggregate_to is not None:
                response["X-Aggregate-To"] = self.aggregate_to
        return response

    def download_name(self) -> str:
        indicator = self.request.query_params.get("indicator", "")
        return indicator.lower().replace(",", "-") if indicator else "observations"

    def wide_response(self, queryset):
        rows = ObservationRows(self.lookups)
        columns = list(
            Series.objects.filter(pk__in=queryset.values("series_id")).order_by("frequency", "key")
        )
        frequencies = sorted({series.frequency for series in columns})
        if len(frequencies) > 1:
            raise exceptions.ValidationError(
                {
                    "layout": [
                        f"the indicator has series at {', '.join(frequencies)}; add "
                        f"frequency={frequencies[0]} (one frequency per table)"
                    ]
                }
            )
        position = {series.pk: index for index, series in enumerate(columns)}
        records = (
            queryset.order_by("period_start", "series_id")
            .values_list("period", "period_start", "period_end", "series_id", "value")
            .iterator(chunk_size=CSV_CHUNK_ROWS)
        )
        table_rows = _wide_rows(records, position, len(columns))
        indicator = self.lookups.indicators[self.request.query_params["indicator"].strip()]
        if self.wants_csv:
            header = ["period", "period_start", "period_end", *[s.key for s in columns]]
            return csv_streaming_response(
                header=header,
                rows=(
                    [period, start.isoformat(), end.isoformat(), *[v or "" for v in values]]
                    for period, start, end, values in table_rows
                ),
                filename=f"{indicator.code.lower()}-wide.csv",
            )
        table = {
            "indicator": indicator.code,
            "frequency": frequencies[0] if frequencies else "",
            "unit": indicator.unit,
            "columns": [
                {"series_key": s.key, "dimensions": rows.dimensions(s.dimensions)} for s in columns
            ],
            "rows": [
                {
                    "period": period,
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                    "values": values,
                }
                for period, start, end, values in table_rows
            ],
        }
        return Response(WideTableSerializer(table).data)


def observation_column(field: str) -> str:
    """The column of an observation field in a statement aliased ``o``."""
    model_field = Observation._meta.get_field(field)
    # Orderings and keys name concrete fields, which have a column.
    assert isinstance(model_field, Field) and model_field.column is not None
    return "o." + model_field.column


def _wide_rows(records, position: dict[int, int], width: int):
    """Group (period, start, end, series, value) rows, sorted by period, into table rows."""
    current = None
    values: list[str | None] = []
    for period, start, end, series_id, value in records:
        if current is None or current[0] != period:
            if current is not None:
                yield (*current, values)
            current = (period, start, end)
            values = [None] * width
        values[position[series_id]] = exact_text(value)
    if current is not None:
        yield (*current, values)
