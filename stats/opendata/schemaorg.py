"""schema.org ``Dataset`` markup of an indicator page (JSON-LD in a script element), as
search engines' dataset search reads it."""

from __future__ import annotations

import json

from django.utils.safestring import SafeString, mark_safe

from .licence import Attribution, citation_text
from .selectors import Coverage

# Characters that could end the script element or start markup inside it, escaped as
# JSON allows (as Django's json_script does).
SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def dataset(
    coverage: Coverage,
    *,
    attribution: Attribution,
    language: str,
    page_url: str,
    downloads: dict[str, str],
    catalogue_url: str,
) -> dict:
    """The indicator as a schema.org ``Dataset``; ``downloads``: media type to URL."""
    indicator = coverage.indicator
    publisher = {
        "@type": "Organization",
        "name": attribution.publisher_name,
        "url": attribution.publisher_url,
    }
    contact = {
        "@type": "ContactPoint",
        "name": attribution.contact_name,
        "url": attribution.contact_url,
    }
    if attribution.contact_email:
        contact["email"] = attribution.contact_email
    return {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": page_url,
        "url": page_url,
        "identifier": indicator.code,
        "name": indicator.localized("name"),
        "description": indicator.localized("description") or indicator.localized("name"),
        "inLanguage": language,
        "keywords": [indicator.topic.localized("name"), indicator.code],
        "license": attribution.licence_url,
        "isAccessibleForFree": True,
        "creator": publisher,
        "publisher": {**publisher, "contactPoint": contact},
        "creditText": attribution.credit(language),
        "citation": citation_text(
            publisher=indicator.source or attribution.publisher_name,
            title=indicator.localized("name"),
            url=page_url,
            language=language,
        ),
        "temporalCoverage": f"{coverage.start.isoformat()}/{coverage.end.isoformat()}",
        "spatialCoverage": {"@type": "Place", "name": "Indonesia"},
        "dateModified": coverage.modified.isoformat(),
        "includedInDataCatalog": {"@type": "DataCatalog", "url": catalogue_url},
        "distribution": [
            {"@type": "DataDownload", "encodingFormat": media_type, "contentUrl": url}
            for media_type, url in downloads.items()
        ],
    }


def script(document: dict) -> SafeString:
    """``document`` as a JSON-LD script element, safe inside HTML."""
    text = json.dumps(document, ensure_ascii=False).translate(SCRIPT_ESCAPES)
    # Escaped above: nothing in the text can close the element.
    return mark_safe(f'<script type="application/ld+json">{text}</script>')
