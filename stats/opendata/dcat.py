"""The DCAT-AP catalogue of the site as JSON-LD (``/catalog.jsonld``): what a data portal
(CKAN with ckanext-dcat, a national portal) harvests.

Each public indicator is a ``dcat:Dataset`` with its title and description in both
languages, publisher, contact point, licence, temporal and spatial coverage,
``dct:modified`` from its last release and a ``dcat:Distribution`` per format: CSV, XLSX,
JSON (the API), SDMX and the Frictionless data package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from stats.models import Indicator

from . import xlsx
from .licence import Attribution
from .selectors import Coverage

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "adms": "http://www.w3.org/ns/adms#",
}
EU = "http://publications.europa.eu/resource/authority"
# The site's figures are of Indonesia (national and provinces).
SPATIAL = f"{EU}/country/IDN"
LANGUAGES = {"id": f"{EU}/language/IND", "en": f"{EU}/language/ENG"}
FREQUENCIES = {
    "A": f"{EU}/frequency/ANNUAL",
    "S": f"{EU}/frequency/ANNUAL_2",
    "Q": f"{EU}/frequency/QUARTERLY",
    "M": f"{EU}/frequency/MONTHLY",
}
IANA = "https://www.iana.org/assignments/media-types"


def _texts(text_id: str, text_en: str) -> list[dict[str, str]]:
    """A property in both languages (an empty one left out)."""
    return [
        {"@value": text, "@language": language}
        for language, text in (("id", text_id), ("en", text_en))
        if text
    ]


def _date(value) -> dict[str, str]:
    return {"@value": value.isoformat(), "@type": "xsd:date"}


def _instant(value) -> dict[str, str]:
    return {"@value": value.isoformat(), "@type": "xsd:dateTime"}


def _agent(attribution: Attribution) -> dict:
    return {
        "@id": attribution.publisher_url,
        "@type": "foaf:Agent",
        "foaf:name": attribution.publisher_name,
        "foaf:homepage": {"@id": attribution.publisher_url},
    }


def _contact(attribution: Attribution) -> dict:
    contact: dict = {
        "@type": "vcard:Organization",
        "vcard:fn": attribution.contact_name,
        "vcard:hasURL": {"@id": attribution.contact_url},
    }
    if attribution.contact_email:
        contact["vcard:hasEmail"] = {"@id": f"mailto:{attribution.contact_email}"}
    return contact


def _distribution(
    url: str, *, title: str, media_type: str, file_type: str, licence: str, download: bool
) -> dict:
    found = {
        "@id": url,
        "@type": "dcat:Distribution",
        "dct:title": title,
        "dcat:accessURL": {"@id": url},
        "dct:format": {"@id": f"{EU}/file-type/{file_type}"},
        "dcat:mediaType": {"@id": f"{IANA}/{media_type}"},
        "dct:license": {"@id": licence},
    }
    if download:
        found["dcat:downloadURL"] = {"@id": url}
    return found


def dataset(
    coverage: Coverage, *, attribution: Attribution, urls: Callable[[Indicator, str], str]
) -> dict:
    """One indicator as a ``dcat:Dataset``; ``urls(indicator, kind)`` gives its page,
    csv, xlsx, json, sdmx and datapackage URLs."""
    indicator = coverage.indicator
    licence = attribution.licence_url
    page = urls(indicator, "page")
    found = {
        "@id": page,
        "@type": "dcat:Dataset",
        "dct:identifier": indicator.code,
        "dct:title": _texts(indicator.name_id, indicator.name_en),
        "dct:description": _texts(
            indicator.description_id or indicator.name_id,
            indicator.description_en or indicator.name_en,
        ),
        "dcat:keyword": _texts(indicator.topic.name_id, indicator.topic.name_en),
        "dcat:landingPage": {"@id": page},
        "dct:publisher": _agent(attribution),
        "dcat:contactPoint": _contact(attribution),
        "dct:license": {"@id": licence},
        "dct:accessRights": {"@id": f"{EU}/access-right/PUBLIC"},
        "dct:language": [{"@id": uri} for uri in LANGUAGES.values()],
        "dct:spatial": {"@id": SPATIAL},
        "dct:temporal": {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _date(coverage.start),
            "dcat:endDate": _date(coverage.end),
        },
        "dct:modified": _instant(coverage.modified),
        "dcat:distribution": [
            _distribution(
                urls(indicator, "csv"),
                title=f"{indicator.code} (CSV)",
                media_type="text/csv",
                file_type="CSV",
                licence=licence,
                download=True,
            ),
            _distribution(
                urls(indicator, "xlsx"),
                title=f"{indicator.code} (XLSX)",
                media_type=xlsx.MEDIA_TYPE,
                file_type="XLSX",
                licence=licence,
                download=True,
            ),
            _distribution(
                urls(indicator, "json"),
                title=f"{indicator.code} (JSON, API)",
                media_type="application/json",
                file_type="JSON",
                licence=licence,
                download=False,
            ),
            _distribution(
                urls(indicator, "sdmx"),
                title=f"{indicator.code} (SDMX 2.1)",
                media_type="application/xml",
                file_type="SDMX",
                licence=licence,
                download=False,
            ),
            {
                **_distribution(
                    urls(indicator, "datapackage"),
                    title=f"{indicator.code} (Frictionless data package)",
                    media_type="application/json",
                    file_type="JSON",
                    licence=licence,
                    download=True,
                ),
                "dct:conformsTo": {"@id": "https://specs.frictionlessdata.io/data-package/"},
            },
        ],
    }
    frequency = FREQUENCIES.get(coverage.frequencies[:1])
    if frequency:
        found["dct:accrualPeriodicity"] = {"@id": frequency}
    if indicator.source:
        found["dct:source"] = indicator.source
    return found


def catalogue(
    coverages: Iterable[Coverage],
    *,
    attribution: Attribution,
    catalogue_url: str,
    homepage: str,
    urls: Callable[[Indicator, str], str],
) -> dict:
    """The ``dcat:Catalog`` of the public indicators, as a JSON-LD document."""
    coverages = list(coverages)
    found: dict = {
        "@context": CONTEXT,
        "@id": catalogue_url,
        "@type": "dcat:Catalog",
        "dct:title": _texts(attribution.title_id, attribution.title_en),
        "dct:description": _texts(attribution.description_id, attribution.description_en),
        "dct:publisher": _agent(attribution),
        "dcat:contactPoint": _contact(attribution),
        "dct:license": {"@id": attribution.licence_url},
        "foaf:homepage": {"@id": homepage},
        "dct:language": [{"@id": uri} for uri in LANGUAGES.values()],
        "dct:spatial": {"@id": SPATIAL},
        "dcat:dataset": [dataset(c, attribution=attribution, urls=urls) for c in coverages],
    }
    if coverages:
        found["dct:modified"] = _instant(max(c.modified for c in coverages))
    return found
