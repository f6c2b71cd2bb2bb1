"""Data queries (``/sdmx/data/{flowRef}/{key}/{providerRef}``): parsing, reading the
public observations, and writing them as SDMX-ML 2.1 generic or structure-specific data,
SDMX-JSON 1.0 or SDMX-CSV 1.0.

What the public sees is the one rule of ``ObservationQuerySet.as_of`` (the current
vintage at the instant read, a release under embargo never), written as SQL by
``stats.models.AS_OF_SQL`` for this statement, as the read API's page statement does.
``updatedAfter`` compares the instant a value became public (``valid_from``). Values are
PostgreSQL's exact text of the decimal (``trim_scale``), as in the read API's rows.

``includeHistory=true`` gives the history of the data as the SDMX REST guidelines
describe it: one data set per dissemination (each instant at which values of the flow
became public, up to the instant read), oldest first, with ``action="Replace"`` and its
``validFromDate``, holding the values that dissemination published (first values and
revisions). Applying them in order gives what the site showed at every instant: a value
is valid until a later data set replaces it. Published values are never deleted, so no
data set has ``action="Delete"``. SDMX-ML (generic and structure-specific) and SDMX-JSON
(``validFrom`` on each data set) carry it; SDMX-CSV 1.0 has no data sets, so it is not
offered there (501).

The XML of the observations is written from text templates rather than an element tree:
every attribute is an SDMX id, a period, a status code or a decimal's text, escaped all
the same, and a long series costs one string join.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from django import forms
from django.utils import timezone

from config.db import prepared_cursor
from stats.events import generation_memo
from stats.filtersets import AsOfFilter, CatalogueLookups, DimensionFilter, instant_parse
from stats.models import AS_OF_SQL, Observation, Series
from stats.periods import PeriodError, parse_period

from .catalogue import (
    AGENCY,
    DECIMALS,
    OBS_STATUS,
    OBS_STATUS_CODES,
    OBS_VALUE,
    TIME_PERIOD,
    UNIT_MEASURE,
    VERSION,
    Catalogue,
    Flow,
)
from .errors import SdmxError
from .formats import NS_COMMON, NS_GENERIC, NS_MESSAGE, NS_SPECIFIC, NS_XSI

PARAMETERS = frozenset(
    {
        "startPeriod",
        "endPeriod",
        "updatedAfter",
        "firstNObservations",
        "lastNObservations",
        "dimensionAtObservation",
        "detail",
        "includeHistory",
        "format",
        "as_of",
    }
)
DETAILS = ("full", "dataonly", "serieskeysonly", "nodata")
# SDMX's other spellings of a period: 2023-A1 (a year), 2023-M03 (a month).
_SDMX_YEAR = re.compile(r"^(\d{4})-A1$")
_SDMX_MONTH = re.compile(r"^(\d{4})-M(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STATUS_CODES = {str(status): code for status, code in OBS_STATUS_CODES.items()}
TABLE = Observation._meta.db_table


# --- the series of a flow ---


@dataclass
class FlowSeries:
    """The series of one flow: their key codes in dimension order, and an index from each
    dimension's code to the series that have it."""

    keys: dict[int, tuple[str, ...]]
    by_code: list[dict[str, set[int]]]

    def match(self, constraints: list[set[str] | None]) -> list[int]:
        matched: set[int] | None = None
        for position, codes in enumerate(constraints):
            if codes is None:
                continue
            index = self.by_code[position]
            these = set().union(*(index.get(code, ()) for code in codes))
            matched = these if matched is None else matched & these
            if not matched:
                return []
        return sorted(self.keys if matched is None else matched)


def flow_series(token: str, flow: Flow) -> FlowSeries:
    """The series of ``flow``, read once per worker and data generation."""

    def build() -> FlowSeries:
        keys: dict[int, tuple[str, ...]] = {}
        by_code: list[dict[str, set[int]]] = [{} for _dimension in flow.dimensions]
        sources = [dimension.source for dimension in flow.dimensions]
        for series_id, frequency, dimensions in Series.objects.filter(
            indicator_id=flow.indicator_id
        ).values_list("id", "frequency", "dimensions"):
            key = tuple(
                frequency if not source else dimensions.get(source, "") for source in sources
            )
            keys[series_id] = key
            for position, code in enumerate(key):
                by_code[position].setdefault(code, set()).add(series_id)
        return FlowSeries(keys, by_code)

    return generation_memo(token, f"sdmx-series-{flow.id}", build)


# --- the query ---


@dataclass
class DataQuery:
    flow: Flow
    series_ids: list[int]
    at: dt.datetime
    start: dt.date | None = None
    end: dt.date | None = None
    updated_after: dt.datetime | None = None
    first_n: int | None = None
    last_n: int | None = None
    detail: str = "full"
    conditions: list[str] = field(default_factory=list)
    history: bool = False


def _flow_ref(catalogue: Catalogue, text: str) -> Flow:
    parts = text.split(",")
    if len(parts) == 1:
        agency, flow_id, version = AGENCY, parts[0], "latest"
    elif len(parts) == 2:
        (agency, flow_id), version = parts, "latest"
    elif len(parts) == 3:
        agency, flow_id, version = parts
    else:
        raise SdmxError(400, f"flowRef {text!r}: use FLOW, AGENCY,FLOW or AGENCY,FLOW,VERSION")
    if agency not in (AGENCY, "all", "ALL") or version not in (VERSION, "latest", "LATEST"):
        raise SdmxError(404, f"no dataflow {text!r}; dataflows here are {AGENCY},<id>,{VERSION}")
    flow = catalogue.flows.get(flow_id)
    if flow is None:
        raise SdmxError(404, f"no dataflow {flow_id!r}; the list is at /sdmx/dataflow")
    return flow


def _key_constraints(flow: Flow, key: str) -> list[set[str] | None]:
    if key in ("", "all", "ALL"):
        return [None] * len(flow.dimensions)
    parts = key.split(".")
    if len(parts) != len(flow.dimensions):
        order = ".".join(dimension.id for dimension in flow.dimensions)
        raise SdmxError(
            400,
            f"key {key!r} has {len(parts)} dimensions; {flow.id} has {len(flow.dimensions)} "
            f"({order}); leave one empty for any code, join codes with +",
        )
    return [set(part.split("+")) if part else None for part in parts]


def _canonical_codes(
    token: str, flow: Flow, series: FlowSeries, constraints: list[set[str] | None]
) -> list[set[str] | None]:
    """The key's codes as the series have them: another name of a code (a province's ISO
    3166-2 code, ``ID-JB``, any case) becomes the code, by the read API's rule
    (``DimensionFilter.canonical``). A code no series has stays as given: it matches
    nothing, as SDMX answers a key without data."""
    result: list[set[str] | None] = []
    lookups = None
    for position, (dimension, codes) in enumerate(zip(flow.dimensions, constraints, strict=True)):
        known = series.by_code[position]
        if codes is None or not dimension.source or all(code in known for code in codes):
            result.append(codes)
            continue
        lookups = lookups or generation_memo(token, "catalogue", CatalogueLookups)
        resolver = DimensionFilter(codelist_id=dimension.source)
        result.append({resolver.canonical(code, lookups) or code for code in codes})
    return result


def _period_bound(name: str, text: str, *, end: bool) -> dt.date:
    if _DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError as error:
            raise SdmxError(400, f"{name}: {text!r} is not a date") from error
    if match := _SDMX_YEAR.match(text):
        text = match[1]
    elif match := _SDMX_MONTH.match(text):
        text = f"{match[1]}-{match[2]}"
    try:
        period = parse_period(text)
    except PeriodError as error:
        raise SdmxError(
            400, f"{name}: {error}; or 2023-A1, 2023-M09 or a date 2023-09-30"
        ) from error
    return period.end if end else period.start


def _count(name: str, text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise SdmxError(400, f"{name}: {text!r} is not a whole number of at least 1")
    return int(text)


def _instant(name: str, text: str) -> dt.datetime:
    try:
        return instant_parse(text).at
    except forms.ValidationError as error:
        raise SdmxError(400, f"{name}: {' '.join(error.messages)}") from error


def data_query(
    catalogue: Catalogue, token: str, *, flow_ref: str, key: str, provider: str, params
) -> DataQuery:
    """The query a request asks for, every parameter checked (``SdmxError`` otherwise)."""
    for name in params:
        if name not in PARAMETERS:
            raise SdmxError(
                400, f"unknown parameter {name!r}; this query takes {', '.join(sorted(PARAMETERS))}"
            )
        if len(params.getlist(name)) > 1:
            raise SdmxError(400, f"{name} is given more than once")
        if not params[name].strip():
            raise SdmxError(400, f"{name} is empty")
    include_history = params.get("includeHistory", "false").lower()
    if include_history not in ("true", "false"):
        raise SdmxError(400, "includeHistory: use true or false")
    observation_dimension = params.get("dimensionAtObservation", TIME_PERIOD)
    if observation_dimension != TIME_PERIOD:
        raise SdmxError(501, "dimensionAtObservation: only TIME_PERIOD is offered")
    detail = params.get("detail", "full")
    if detail not in DETAILS:
        raise SdmxError(400, f"detail: use one of {', '.join(DETAILS)}")
    if provider not in ("", "all", "ALL", AGENCY):
        raise SdmxError(404, f"no data provider {provider!r}; the provider here is {AGENCY}")
    flow = _flow_ref(catalogue, flow_ref)
    constraints = _key_constraints(flow, key)
    at = timezone.now()
    if "as_of" in params:
        # The read API's rule for as_of: a date is the end of that day, never the future.
        try:
            instant = instant_parse(params["as_of"])
            at = AsOfFilter(field_name="valid_from").resolve(instant, None).at
        except forms.ValidationError as error:
            raise SdmxError(400, f"as_of: {' '.join(error.messages)}") from error
    series = flow_series(token, flow)
    constraints = _canonical_codes(token, flow, series, constraints)
    query = DataQuery(flow=flow, series_ids=series.match(constraints), at=at)
    query.detail = detail
    query.history = include_history == "true"
    if "startPeriod" in params:
        query.start = _period_bound("startPeriod", params["startPeriod"], end=False)
    if "endPeriod" in params:
        query.end = _period_bound("endPeriod", params["endPeriod"], end=True)
    if query.start and query.end and query.start > query.end:
        raise SdmxError(400, "startPeriod is after endPeriod")
    if "updatedAfter" in params:
        query.updated_after = _instant("updatedAfter", params["updatedAfter"])
    if "firstNObservations" in params:
        query.first_n = _count("firstNObservations", params["firstNObservations"])
    if "lastNObservations" in params:
        query.last_n = _count("lastNObservations", params["lastNObservations"])
    return query


# --- reading ---

Row = tuple[str, str, str]  # period, exact value text, status code


@dataclass
class SeriesData:
    key: tuple[str, ...]
    observations: list[Row]


@dataclass
class DataSetData:
    """One data set of a message: its series, and for a history (``includeHistory``) the
    instant its values became public (``validFromDate``, ``action="Replace"``)."""

    series: list[SeriesData]
    valid_from: dt.datetime | None = None


def data_read(query: DataQuery, token: str) -> list[DataSetData]:
    """The public observations the query selects: one data set, its series in key order,
    or for a history one data set per dissemination, oldest first; ``SdmxError`` 404 when
    there are none (no series of the key has a value to show)."""
    if not query.series_ids:
        raise SdmxError(404, f"no series of {query.flow.id} matches the key")
    if query.history:
        # Every vintage published up to the instant read: a draft has no valid_from, and
        # nothing is published ahead of the clock.
        conditions = ["o.series_id = ANY(%s)", "o.valid_from <= %s"]
        params: list = [query.series_ids, query.at]
    else:
        conditions = ["o.series_id = ANY(%s)", AS_OF_SQL]
        params = [query.series_ids, query.at, query.at]
    if query.start is not None:
        conditions.append("o.period_start >= %s")
        params.append(query.start)
    if query.end is not None:
        conditions.append("o.period_end <= %s")
        params.append(query.end)
    if query.updated_after is not None:
        conditions.append("o.valid_from > %s")
        params.append(query.updated_after)
    # The vintage first: a history has one data set per vintage, other queries one.
    vintage = "o.valid_from" if query.history else "NULL::timestamptz"
    sql = (
        f"SELECT {vintage}, o.series_id, o.period, trim_scale(o.value)::text, o.status "
        f"FROM {TABLE} o WHERE {' AND '.join(conditions)} "
        f"ORDER BY {vintage}, o.series_id, o.period_start"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        records = cursor.fetchall()
    if not records:
        raise SdmxError(404, f"no public observations of {query.flow.id} match the query")
    keys = flow_series(token, query.flow).keys
    datasets: list[DataSetData] = []
    found: dict[int, list[Row]] = {}
    status_codes = STATUS_CODES
    current = records[0][0]
    for valid_from, series_id, period, value, status in records:
        if valid_from != current:
            datasets.append(_data_set(query, keys, found, current))
            found, current = {}, valid_from
        rows = found.get(series_id)
        if rows is None:
            rows = found[series_id] = []
        rows.append((period, value, status_codes[status]))
    datasets.append(_data_set(query, keys, found, current))
    return datasets


def _data_set(
    query: DataQuery,
    keys: dict[int, tuple[str, ...]],
    found: dict[int, list[Row]],
    valid_from: dt.datetime | None,
) -> DataSetData:
    """A data set of the rows ``found`` by series; the first and last N observations are
    counted per series of each data set."""
    result = []
    for series_id, rows in found.items():
        if query.first_n is not None:
            rows = rows[: query.first_n]
        if query.last_n is not None:
            rows = rows[-query.last_n :]
        result.append(SeriesData(keys[series_id], rows))
    result.sort(key=lambda series: series.key)
    return DataSetData(result, valid_from)


def _instant_text(at: dt.datetime) -> str:
    """An xs:dateTime in the site's time zone, as the read API writes instants."""
    return timezone.localtime(at).isoformat()


# --- writing ---


def _header_xml(message_id: str, prepared: dt.datetime, flow: Flow, namespace: str = "") -> str:
    extra = f" namespace={quoteattr(namespace)}" if namespace else ""
    return (
        f"<message:Header><message:ID>{message_id}</message:ID><message:Test>false</message:Test>"
        f"<message:Prepared>{prepared.isoformat(timespec='seconds')}</message:Prepared>"
        f'<message:Sender id="{AGENCY}"/>'
        f'<message:Structure structureID="{flow.id}"{extra} dimensionAtObservation="{TIME_PERIOD}">'
        f'<common:Structure><Ref agencyID="{AGENCY}" id="{flow.id}" version="{VERSION}"/>'
        "</common:Structure></message:Structure></message:Header>"
    )


def _series_attributes(flow: Flow) -> list[tuple[str, str]]:
    return [(UNIT_MEASURE, flow.unit), (DECIMALS, str(flow.decimals))]


def _validity(dataset: DataSetData, prefix: str = "") -> str:
    """The attributes of a history's data set: ``action`` and ``validFromDate``."""
    if dataset.valid_from is None:
        return ""
    return (
        f' {prefix}action="Replace" '
        f"{prefix}validFromDate={quoteattr(_instant_text(dataset.valid_from))}"
    )


def generic_data(
    query: DataQuery, datasets: list[DataSetData], *, message_id: str, prepared: dt.datetime
) -> bytes:
    flow = query.flow
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<message:GenericData xmlns:message="{NS_MESSAGE}" xmlns:common="{NS_COMMON}" '
        f'xmlns:generic="{NS_GENERIC}">',
        _header_xml(message_id, prepared, flow),
    ]
    for dataset in datasets:
        parts.append(f'<message:DataSet structureRef="{flow.id}"{_validity(dataset)}>')
        parts += _generic_series(query, dataset.series)
        parts.append("</message:DataSet>")
    parts.append("</message:GenericData>")
    return "".join(parts).encode()


def _generic_series(query: DataQuery, data: list[SeriesData]) -> list[str]:
    flow = query.flow
    with_attributes = query.detail in ("full", "nodata")
    with_observations = query.detail in ("full", "dataonly")
    parts: list[str] = []
    series_attributes = "".join(
        f'<generic:Value id="{name}" value={quoteattr(value)}/>'
        for name, value in _series_attributes(flow)
    )
    ids = [dimension.id for dimension in flow.dimensions]
    for series in data:
        parts.append("<generic:Series><generic:SeriesKey>")
        parts += [
            f'<generic:Value id="{name}" value={quoteattr(code)}/>'
            for name, code in zip(ids, series.key, strict=True)
        ]
        parts.append("</generic:SeriesKey>")
        if with_attributes:
            parts.append(f"<generic:Attributes>{series_attributes}</generic:Attributes>")
        if with_observations:
            parts += [
                f'<generic:Obs><generic:ObsDimension value="{period}"/>'
                f'<generic:ObsValue value="{value}"/>'
                + (
                    f'<generic:Attributes><generic:Value id="{OBS_STATUS}" value="{status}"/>'
                    "</generic:Attributes>"
                    if with_attributes
                    else ""
                )
                + "</generic:Obs>"
                for period, value, status in series.observations
            ]
        parts.append("</generic:Series>")
    return parts


def specific_namespace(flow: Flow) -> str:
    return (
        f"urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure={AGENCY}:{flow.id}"
        f"({VERSION}):ObsLevelDim:{TIME_PERIOD}"
    )


def specific_data(
    query: DataQuery, datasets: list[DataSetData], *, message_id: str, prepared: dt.datetime
) -> bytes:
    flow = query.flow
    namespace = specific_namespace(flow)
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<message:StructureSpecificData xmlns:message="{NS_MESSAGE}" '
        f'xmlns:common="{NS_COMMON}" xmlns:ss="{NS_SPECIFIC}" xmlns:xsi="{NS_XSI}" '
        f'xmlns:ns1="{namespace}">',
        _header_xml(message_id, prepared, flow, namespace),
    ]
    for dataset in datasets:
        parts.append(
            f'<message:DataSet ss:structureRef="{flow.id}" xsi:type="ns1:DataSetType" '
            f'ss:dataScope="DataStructure"{_validity(dataset, "ss:")}>'
        )
        parts += _specific_series(query, dataset.series)
        parts.append("</message:DataSet>")
    parts.append("</message:StructureSpecificData>")
    return "".join(parts).encode()


def _specific_series(query: DataQuery, data: list[SeriesData]) -> list[str]:
    flow = query.flow
    with_attributes = query.detail in ("full", "nodata")
    with_observations = query.detail in ("full", "dataonly")
    parts: list[str] = []
    series_attributes = "".join(
        f" {name}={quoteattr(value)}" for name, value in _series_attributes(flow)
    )
    ids = [dimension.id for dimension in flow.dimensions]
    for series in data:
        key = "".join(
            f" {name}={quoteattr(code)}" for name, code in zip(ids, series.key, strict=True)
        )
        parts.append(f"<Series{key}{series_attributes if with_attributes else ''}>")
        if with_observations:
            parts += [
                f'<Obs {TIME_PERIOD}="{period}" {OBS_VALUE}="{value}"'
                + (f' {OBS_STATUS}="{status}"/>' if with_attributes else "/>")
                for period, value, status in series.observations
            ]
        parts.append("</Series>")
    return parts


def csv_data(query: DataQuery, datasets: list[DataSetData]) -> bytes:
    """SDMX-CSV 1.0: one line per observation, the dataflow first, codes (no labels). It
    has no data sets, hence no history (``includeHistory``: 501 before reading)."""
    (dataset,) = datasets
    data = dataset.series
    flow = query.flow
    with_attributes = query.detail in ("full", "nodata")
    header = ["DATAFLOW", *(d.id for d in flow.dimensions), TIME_PERIOD, OBS_VALUE]
    if with_attributes:
        header += [UNIT_MEASURE, DECIMALS, OBS_STATUS]
    lines = [",".join(header)]
    dataflow = f"{AGENCY}:{flow.id}({VERSION})"
    tail = f",{flow.unit},{flow.decimals}" if with_attributes else ""
    for series in data:
        head = ",".join((dataflow, *(_csv_cell(code) for code in series.key)))
        if query.detail in ("serieskeysonly", "nodata"):
            lines.append(f"{head},,{tail}{',' if with_attributes else ''}")
            continue
        if with_attributes:
            lines += [
                f"{head},{period},{value}{tail},{status}"
                for period, value, status in series.observations
            ]
        else:
            lines += [f"{head},{period},{value}" for period, value, _status in series.observations]
    return ("\r\n".join(lines) + "\r\n").encode()


def _csv_cell(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ',"\r\n') else text


def json_data(
    query: DataQuery,
    datasets: list[DataSetData],
    catalogue: Catalogue,
    *,
    message_id: str,
    prepared: dt.datetime,
) -> bytes:
    """SDMX-JSON 1.0 data: values as exact text (strings), which the format allows; a
    history's data sets each with ``action`` Replace and ``validFrom``, sharing one
    structure (the positions of codes, periods and statuses)."""
    data = [series for dataset in datasets for series in dataset.series]
    flow = query.flow
    with_attributes = query.detail in ("full", "nodata")
    with_observations = query.detail in ("full", "dataonly")
    positions: list[dict[str, int]] = [{} for _dimension in flow.dimensions]
    for series in data:
        for index, code in enumerate(series.key):
            positions[index].setdefault(code, len(positions[index]))
    periods: dict[str, int] = {}
    statuses: dict[str, int] = {}
    if with_observations:
        for period in sorted(
            {row[0] for series in data for row in series.observations},
            key=lambda text: (parse_period(text).start, parse_period(text).end),
        ):
            periods[period] = len(periods)
        for series in data:
            for _period, _value, status in series.observations:
                statuses.setdefault(status, len(statuses))
    data_sets = []
    for dataset in datasets:
        series_json: dict[str, dict] = {}
        for series in dataset.series:
            key = ":".join(str(positions[i][code]) for i, code in enumerate(series.key))
            entry: dict = {}
            if with_attributes:
                entry["attributes"] = [0, 0]
            if with_observations:
                entry["observations"] = {
                    str(periods[period]): [value, statuses[status]] if with_attributes else [value]
                    for period, value, status in series.observations
                }
            series_json[key] = entry
        if dataset.valid_from is None:
            data_sets.append({"action": "Information", "series": series_json})
        else:
            data_sets.append(
                {
                    "action": "Replace",
                    "validFrom": _instant_text(dataset.valid_from),
                    "series": series_json,
                }
            )

    def names(codelist_id: str, code: str) -> dict:
        item = catalogue.codelists[codelist_id].by_id.get(code)
        label = item.names if item is not None else None
        return {"id": code, "name": label.pick("en") if label else code}

    dimensions = [
        {
            "id": dimension.id,
            "name": dimension.id,
            "keyPosition": index,
            "role": "frequency" if index == 0 else None,
            "values": [names(dimension.codelist, code) for code in positions[index]],
        }
        for index, dimension in enumerate(flow.dimensions)
    ]
    for dimension in dimensions:
        if dimension["role"] is None:
            del dimension["role"]
    structure = {
        "links": [
            {
                "rel": "dataflow",
                "urn": _flow_urn(flow),
                "href": f"/sdmx/dataflow/{AGENCY}/{flow.id}/{VERSION}",
            }
        ],
        "name": flow.names.pick("en"),
        "names": {"en": flow.names.en, "id": flow.names.id},
        "dimensions": {
            "dataSet": [],
            "series": dimensions,
            "observation": [
                {
                    "id": TIME_PERIOD,
                    "name": "Time period",
                    "keyPosition": len(flow.dimensions),
                    "role": "time",
                    "values": [
                        {
                            "id": period,
                            "name": period,
                            "start": f"{parse_period(period).start.isoformat()}T00:00:00",
                            "end": f"{parse_period(period).end.isoformat()}T23:59:59",
                        }
                        for period in periods
                    ],
                }
            ],
        },
        "attributes": {
            "dataSet": [],
            "series": [
                {
                    "id": UNIT_MEASURE,
                    "name": "Unit of measure",
                    "values": [names("CL_UNIT_MEASURE", flow.unit)],
                },
                {
                    "id": DECIMALS,
                    "name": "Decimals",
                    "values": [{"id": str(flow.decimals), "name": str(flow.decimals)}],
                },
            ]
            if with_attributes
            else [],
            "observation": [
                {
                    "id": OBS_STATUS,
                    "name": "Observation status",
                    "values": [names("CL_OBS_STATUS", status) for status in statuses],
                }
            ]
            if with_attributes
            else [],
        },
    }
    message = {
        "header": {
            "id": message_id,
            "test": False,
            "prepared": prepared.isoformat(timespec="seconds"),
            "sender": {"id": AGENCY},
        },
        "dataSets": data_sets,
        "structure": structure,
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _flow_urn(flow: Flow) -> str:
    return f"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow={AGENCY}:{flow.id}({VERSION})"
