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
FRICTIONLESS = "https://specs.frictionlessdata.io/data-package/"
# The formats of an indicator: (the kind ``urls`` takes, its label in the title, media
# type, EU file type, whether the URL is a download rather than an access point, the
# specification it conforms to).
DISTRIBUTIONS = (
    ("csv", "CSV", "text/csv", "CSV", True, None),
    ("xlsx", "XLSX", xlsx.MEDIA_TYPE, "XLSX", True, None),
    ("json", "JSON, API", "application/json", "JSON", False, None),
    ("sdmx", "SDMX 2.1", "application/xml", "SDMX", False, None),
    ("datapackage", "Frictionless data package", "application/json", "JSON", True, FRICTIONLESS),
)


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
    url: str,
    *,
    title: str,
    media_type: str,
    file_type: str,
    licence: str,
    download: bool,
    conforms_to: str | None,
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
    if conforms_to is not None:
        found["dct:conformsTo"] = {"@id": conforms_to}
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
                urls(indicator, kind),
                title=f"{indicator.code} ({label})",
                media_type=media_type,
                file_type=file_type,
                licence=licence,
                download=download,
                conforms_to=conforms_to,
            )
            for kind, label, media_type, file_type, download, conforms_to in DISTRIBUTIONS
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
