"""Frictionless data packages: the table schema of the observation CSV, and a package of
one indicator's CSV or of every public indicator's.

The schema is generated from the observation columns (``stats.api.rows.COLUMNS``) and
follows ``ObservationRows.csv_header``, so it names the columns the CSV statement
writes, in its order, with a type per kind of column: exact values are ``number``
(written as exact decimal text, read as decimals, never rounded to integers), dates
``date``, instants ``datetime`` with their offset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from stats.api.rows import (
    CODE,
    COLUMNS,
    DATE,
    DIMENSIONS,
    EXACT,
    FORMULA,
    INPUTS,
    INSTANT,
    RELEASE,
    TEXT,
    ObservationRows,
    pick,
)
from stats.choices import Frequency, ObservationStatus
from stats.models import Indicator

from .licence import Attribution, citation_text
from .selectors import Coverage

FIELD_TYPES = {
    CODE: "string",
    TEXT: "string",
    DATE: "date",
    INSTANT: "datetime",
    EXACT: "number",
    RELEASE: "string",
    FORMULA: "string",
    INPUTS: "string",  # in CSV, one text (see the column's description)
}
# Columns whose values come from a fixed list.
ENUMS = {"frequency": list(Frequency.values), "status": list(ObservationStatus.values)}
# The key of a row of current values: one value per series and period.
PRIMARY_KEY = ["indicator", "frequency", "series_key", "period"]
PROFILE = "tabular-data-package"
RESOURCE_PROFILE = "tabular-data-resource"


def table_schema(rows: ObservationRows) -> dict:
    """The Table Schema of the observation CSV of ``rows`` (its code lists, its language)."""
    fields: list[dict] = []
    lookups = rows.lookups
    for column in COLUMNS:
        if column.kind == DIMENSIONS:
            for codelist_id, name_id, name_en in lookups.codelists:
                name = pick(name_id, name_en)
                fields.append(
                    {"name": codelist_id, "type": "string", "description": f"{name}: code"}
                )
                fields.append(
                    {
                        "name": f"{codelist_id}_name",
                        "type": "string",
                        "description": f"{name}: name",
                    }
                )
            continue
        field: dict = {"name": column.name, "type": FIELD_TYPES[column.kind]}
        if column.help_text:
            field["description"] = column.help_text
        if column.kind == EXACT:
            # Exact decimal text with a dot, no grouping: read as a decimal, not a float.
            field.update(decimalChar=".", bareNumber=True)
        if column.name in ENUMS:
            field["constraints"] = {"enum": ENUMS[column.name]}
        if column.name in PRIMARY_KEY or column.name in ("value", "period_start", "period_end"):
            field.setdefault("constraints", {})["required"] = True
        fields.append(field)
    return {"fields": fields, "missingValues": [""], "primaryKey": PRIMARY_KEY}


def resource_name(indicator: Indicator) -> str:
    """A Frictionless resource name (lower case letters, digits, ``_``, ``-``, ``.``)."""
    return indicator.code.lower()


def resource(
    coverage: Coverage,
    *,
    schema: dict,
    path: str,
    attribution: Attribution,
    language: str,
    page_url: str = "",
) -> dict:
    """One indicator's CSV as a tabular data resource."""
    indicator = coverage.indicator
    found: dict = {
        "name": resource_name(indicator),
        "path": path,
        "profile": RESOURCE_PROFILE,
        "title": indicator.localized("name"),
        "description": indicator.localized("description"),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": {"delimiter": ",", "header": True},
        "schema": schema,
        "licenses": [attribution.licence()],
        "sources": [{"title": indicator.source or attribution.publisher_name}],
        "temporal": {"start": coverage.start.isoformat(), "end": coverage.end.isoformat()},
        "updated": coverage.modified.isoformat(),
    }
    if page_url:
        found["homepage"] = page_url
        found["citation"] = citation_text(
            publisher=indicator.source or attribution.publisher_name,
            title=indicator.localized("name"),
            url=page_url,
            language=language,
        )
    return found


def package(
    coverages: Iterable[Coverage],
    *,
    rows: ObservationRows,
    attribution: Attribution,
    language: str,
    name: str,
    title: str,
    description: str,
    path: Callable[[Indicator], str],
    page_url: Callable[[Indicator], str] | None = None,
    homepage: str = "",
) -> dict:
    """A tabular data package of the CSVs of ``coverages`` (``path`` gives each one's
    location: a URL, or a path inside the bulk download)."""
    schema = table_schema(rows)
    coverages = list(coverages)
    found: dict = {
        "name": name,
        "profile": PROFILE,
        "title": title,
        "description": description,
        "licenses": [attribution.licence()],
        "contributors": [
            {
                "title": attribution.publisher_name,
                "role": "publisher",
                "path": attribution.publisher_url,
            }
        ],
        "attribution": attribution.credit(language),
        "language": language,
        "keywords": sorted({c.indicator.topic.localized("name") for c in coverages}),
    }
    if attribution.contact_email:
        found["contributors"][0]["email"] = attribution.contact_email
    if homepage:
        found["homepage"] = homepage
    if coverages:
        found["updated"] = max(c.modified for c in coverages).isoformat()
    found["resources"] = [
        resource(
            coverage,
            schema=schema,
            path=path(coverage.indicator),
            attribution=attribution,
            language=language,
            page_url=page_url(coverage.indicator) if page_url else "",
        )
        for coverage in coverages
    ]
    return found
