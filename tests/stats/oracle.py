"""A reference formatter of observation rows in Python, written out field by field, and
the rows the ORM keeps for a query: the tests hold the SQL that the API runs (the JSON
page statement and the CSV lines, stats.api.statements) to it byte for byte."""

from __future__ import annotations

import csv
import io
import json
import math
from types import SimpleNamespace

from django.utils import timezone, translation

from stats.api.views import OBSERVATION_ORDERINGS, OBSERVATION_REALTIME_ORDERINGS
from stats.filtersets import CatalogueLookups, ObservationFilterSet
from stats.models import Observation, exact_text

VALUES = (
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
    "source",
    "reference_date",
    "release_id",
    "valid_from",
    "valid_to",
    "provenance",
)
# The view's own parameters: the others are filters.
OWN = {"format", "lang", "cursor", "page_size", "ordering", "layout"}


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Reference:
    def __init__(self):
        lookups = CatalogueLookups()
        self.english = (translation.get_language() or "id")[:2] == "en"
        self.codelists = [codelist_id for codelist_id, _id, _en in lookups.codelists]
        self.code_names = {
            key: (ref.name_en or ref.name_id) if self.english else ref.name_id
            for key, ref in lookups.codes.items()
        }
        self.indicators = lookups.indicators_by_id
        self.releases = lookups.release_slugs

    def input_release(self, observation_id: int | None) -> int | None:
        if observation_id is None:
            return None
        return Observation.objects.values_list("release_id", flat=True).get(pk=observation_id)

    def indicator_name(self, indicator_id: int) -> str:
        ref = self.indicators[indicator_id]
        return (ref.name_en or ref.name_id) if self.english else ref.name_id

    def dimensions(self, codes: dict) -> dict:
        return {
            codelist: {
                "code": codes[codelist],
                "name": self.code_names.get((codelist, codes[codelist]), ""),
            }
            for codelist in self.codelists
            if codelist in codes
        }

    def json(self, row: tuple) -> dict:
        (
            _series_id,
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
            source,
            reference_date,
            release_id,
            valid_from,
            valid_to,
            provenance,
        ) = row
        indicator = self.indicators[indicator_id]
        inputs = None
        if provenance is not None:
            inputs = [
                {
                    "role": item["role"],
                    "indicator": item["indicator"],
                    "series_key": item["series_key"],
                    "period": item["period"],
                    "value": item["value"],
                    # An input computed in the same run: the value's own release.
                    "release": self.releases.get(
                        self.input_release(item["observation"]) or release_id
                    ),
                }
                for item in provenance["inputs"]
            ]
        return {
            "indicator": indicator.code,
            "indicator_name": self.indicator_name(indicator_id),
            "frequency": frequency,
            "series_key": key,
            "dimensions": self.dimensions(codes),
            "period": period,
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "value": exact_text(value),
            "unit": indicator.unit,
            "status": status,
            "note": note,
            "source": source,
            "reference_date": reference_date.isoformat() if reference_date else None,
            "release": self.releases.get(release_id, ""),
            "published_at": timezone.localtime(valid_from).isoformat(),
            "superseded_at": timezone.localtime(valid_to).isoformat() if valid_to else None,
            "formula": provenance["expression"] if provenance is not None else None,
            "inputs": inputs,
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
            "source",
            "reference_date",
            "release",
            "published_at",
            "superseded_at",
            "formula",
            "inputs",
        ]

    def csv(self, row: tuple) -> list[str]:
        record = self.json(row)
        cells = [
            disarm(record["indicator"]),
            disarm(record["indicator_name"]),
            disarm(record["frequency"]),
            disarm(record["series_key"]),
        ]
        for codelist in self.codelists:
            code = record["dimensions"].get(codelist)
            cells += [disarm(code["code"]), disarm(code["name"])] if code else ["", ""]
        return [
            *cells,
            record["period"],
            record["period_start"],
            record["period_end"],
            record["value"],
            disarm(record["unit"]),
            record["status"],
            disarm(record["note"]),
            disarm(record["source"]),
            record["reference_date"] or "",
            disarm(record["release"]),
            record["published_at"],
            record["superseded_at"] or "",
            disarm(record["formula"] or ""),
            "; ".join(
                f"{i['role']}: {i['indicator']} {i['series_key']} {i['period']} {i['value']} "
                f"{i['release'] or '-'}"
                for i in record["inputs"] or []
            ),
        ]


def disarm(text: str) -> str:
    """OWASP's rule for CSV cells, written out for the reference: text that starts with
    = + - @ TAB or CR and is not a plain decimal number gets a leading apostrophe."""
    if text and text[0] in "=+-@\t\r":
        body = text[1:] if text[0] in "+-" else None
        digits = body.replace(".", "", 1) if body is not None else ""
        plain = (
            body is not None
            and digits.isascii()
            and digits.isdigit()
            and not body.startswith(".")
            and not body.endswith(".")
        )
        if not plain:
            return "'" + text
    return text


def rows_kept(params: dict) -> list[tuple]:
    """The rows of ``params`` as the ORM filters and sorts them (the filter set's
    ``filter_queryset``, the ordering's fields), as ``VALUES`` tuples."""
    data = {key: value for key, value in params.items() if key not in OWN}
    filterset = ObservationFilterSet(
        data, queryset=Observation.objects.all(), lookups=CatalogueLookups()
    )
    assert filterset.validate() == {}
    queryset = filterset.filter_queryset(Observation.objects.all())
    orderings = OBSERVATION_REALTIME_ORDERINGS if filterset.realtime else OBSERVATION_ORDERINGS
    spec = orderings[params.get("ordering", "series")]
    queryset = queryset.order_by(*[f"-{path}" if desc else path for path, desc in spec])
    # The ORM's series filters as a check of the filter set's own: both must agree.
    assert set(queryset.values_list("series_id", flat=True)) <= set(
        filterset.series_queryset().values_list("pk", flat=True)
    )
    # A row's end of validity is shown once it has passed at the instant read.
    at = filterset.effective_at
    until = VALUES.index("valid_to")
    return [
        (
            *row[:until],
            None if row[until] is None or row[until] > at else row[until],
            *row[until + 1 :],
        )
        for row in queryset.values_list(*VALUES)
    ]


def json_pages(pages, params: dict) -> list[SimpleNamespace]:
    """What each page of a walk (``pages``, responses from its first page on) must be:
    its links as given, its rows those of ``rows_kept`` in turn, written by
    ``Reference.json`` as DRF's JSONRenderer writes them."""
    size = int(params.get("page_size", 100))
    with translation.override(params.get("lang", "id")):
        reference = Reference()
        rows = rows_kept(params)
        expected = []
        for index, page in enumerate(pages):
            links = page.json()
            chunk = rows[index * size : (index + 1) * size]
            body = (
                f'{{"next":{json_text(links["next"])},"previous":{json_text(links["previous"])},'
                f'"results":[{",".join(json_text(reference.json(row)) for row in chunk)}]}}'
            )
            body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            expected.append(SimpleNamespace(content=body.encode()))
    assert len(pages) == max(1, math.ceil(len(rows) / size))
    return expected


def csv_body(params: dict) -> bytes:
    """The CSV of ``params``, written row by row by Python's ``csv`` module."""
    with translation.override(params.get("lang", "id")):
        reference = Reference()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(reference.csv_header())
        for row in rows_kept(params):
            writer.writerow(reference.csv(row))
    return buffer.getvalue().encode("utf-8")
