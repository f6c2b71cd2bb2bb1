"""The open-data routes: the DCAT catalogue, the data packages, each indicator's CSV and
its metadata, the bulk download.

Thin views: the selectors decide what is public (``indicators_public``,
``observations_public``: never a value under embargo), the modules beside this one write
the documents. Each answer names its licence in a ``Link`` header; the JSON documents
are cached under the data generation (``stats.pagecache``) and carry an ETag.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import translation
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from stats.api.cache import not_modified
from stats.api.rows import ObservationRows
from stats.events import generation, generation_memo
from stats.filtersets import CatalogueLookups
from stats.pagecache import cached_page
from stats.renderers import csv_series_response
from stats.selectors import last_publication_at

from . import dcat
from .bulk import (
    BULK_FILE_NAME,
    bulk_current,
    bulk_rebuild_request,
    data_version,
    indicator_csv_sql,
)
from .datapackage import package, table_schema
from .licence import attribution, citation_text
from .links import Urls
from .selectors import Coverage, coverage_indicator_public, coverage_public, indicator_public

LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)
JSON_LD = "application/ld+json"


# --- what every route shares ---


def _errors(errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=400)


def _checked(request: HttpRequest, allowed: tuple[str, ...]) -> JsonResponse | None:
    """A 400 naming each parameter that is unknown, repeated, empty or a bad ``lang``."""
    errors: dict[str, list[str]] = {}
    for key in request.GET:
        values = request.GET.getlist(key)
        if key not in allowed:
            taken = ", ".join(allowed) if allowed else "no parameters"
            errors[key] = [f"unknown parameter; this resource takes {taken}"]
        elif len(values) > 1:
            errors[key] = ["given more than once; give one value"]
        elif not values[0].strip():
            errors[key] = ["empty value"]
        elif key == "lang" and values[0] not in LANGUAGES:
            errors[key] = [f"use one of {', '.join(LANGUAGES)}"]
    return _errors(errors) if errors else None


def _language(request: HttpRequest) -> str:
    chosen = request.GET.get("lang") or translation.get_language() or settings.LANGUAGE_CODE
    return "en" if chosen[:2] == "en" else "id"


def _links(*links: str) -> str:
    return ", ".join(links)


def open_data(allowed: tuple[str, ...] = ()):
    """GET and HEAD only; parameters checked; the answer in the language asked for
    (``?lang=`` or Accept-Language), readable from any origin, naming its licence."""

    def decorate(view: Callable[..., HttpResponseBase]):
        @require_safe
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            refusal = _checked(request, allowed)
            if refusal is not None:
                response: HttpResponseBase = refusal
            else:
                with translation.override(_language(request)):
                    response = view(request, *args, **kwargs)
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Link"
            if "Link" not in response:
                response["Link"] = attribution().link_header()
            return response

        return wrapper

    return decorate


def _json(document: dict, *, content_type: str = "application/json") -> HttpResponse:
    """The document, indented; its licence link is ``open_data``'s."""
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2) + "\n",
        content_type=f"{content_type}; charset=utf-8",
    )
    response["Content-Language"] = translation.get_language() or settings.LANGUAGE_CODE
    return response


def _not_found(code: str) -> JsonResponse:
    return JsonResponse({"detail": f"no public indicator with the code {code!r}"}, status=404)


def _coverage(code: str) -> Coverage | None:
    """The coverage of the public indicator ``code``; None if there is none."""
    indicator = indicator_public(code=code)
    return coverage_indicator_public(indicator=indicator) if indicator is not None else None


def _lookups() -> CatalogueLookups:
    return generation_memo(generation(), "catalogue", CatalogueLookups)


# --- the catalogue and the data packages ---


@open_data()
@cached_page
def catalogue_jsonld(request: HttpRequest) -> HttpResponse:
    """The DCAT-AP catalogue of the public indicators (both languages in one document)."""
    urls = Urls(request)
    document = dcat.catalogue(
        coverage_public(),
        attribution=attribution(),
        catalogue_url=urls.absolute(reverse("opendata:catalogue")),
        homepage=urls.absolute("/"),
        urls=urls,
    )
    return _json(document, content_type=JSON_LD)


def _package(request: HttpRequest, coverages, *, name: str, title: str, description: str):
    language = _language(request)
    urls = Urls(request)
    return package(
        coverages,
        rows=ObservationRows(_lookups()),
        attribution=attribution(),
        language=language,
        name=name,
        title=title,
        description=description,
        path=lambda indicator: urls(indicator, "csv"),
        page_url=lambda indicator: urls(indicator, "page"),
        homepage=urls.absolute("/"),
    )


@open_data(("lang",))
@cached_page
def site_datapackage(request: HttpRequest) -> HttpResponse:
    """A Frictionless data package of every public indicator's CSV."""
    given = attribution()
    language = _language(request)
    document = _package(
        request,
        coverage_public(),
        name="angka",
        title=given.title(language),
        description=given.description(language),
    )
    return _json(document)


@open_data(("lang",))
@cached_page
def indicator_datapackage(request: HttpRequest, code: str) -> HttpResponse:
    """A Frictionless data package of one public indicator's CSV."""
    coverage = _coverage(code)
    if coverage is None:
        return _not_found(code)
    indicator = coverage.indicator
    document = _package(
        request,
        [coverage],
        name=f"angka-{indicator.code.lower()}",
        title=indicator.localized("name"),
        description=indicator.localized("description") or indicator.localized("name"),
    )
    return _json(document)


# --- an indicator's CSV and its metadata ---


@open_data(("lang",))
def indicator_csv(request: HttpRequest, code: str) -> HttpResponseBase:
    """The indicator's public values now, every series, as CSV (the API's CSV statement)."""
    indicator = indicator_public(code=code)
    if indicator is None:
        return _not_found(code)
    rows = ObservationRows(_lookups())
    sql, params = indicator_csv_sql(rows, indicator_id=indicator.pk, at=None)
    response = csv_series_response(
        header=rows.csv_header(), sql=sql, params=params, filename=f"{code.lower()}.csv"
    )
    metadata = Urls(request)(indicator, "metadata")
    response["Link"] = _links(
        attribution().link_header(), f'<{metadata}>; rel="describedby"; type="application/json"'
    )
    response["Content-Language"] = translation.get_language() or settings.LANGUAGE_CODE
    return response


@open_data(("lang",))
@cached_page
def indicator_metadata(request: HttpRequest, code: str) -> HttpResponse:
    """What the indicator's CSV is, who publishes it under which licence, how to cite
    it and what each column holds (the ``.metadata.json`` beside each CSV)."""
    coverage = _coverage(code)
    if coverage is None:
        return _not_found(code)
    indicator = coverage.indicator
    given = attribution()
    language = _language(request)
    urls = Urls(request)
    page = urls(indicator, "page")
    document = {
        "title": indicator.localized("name"),
        "description": indicator.localized("description"),
        "indicator": indicator.code,
        "topic": indicator.topic.localized("name"),
        "unit": indicator.unit,
        "measure_kind": indicator.measure_kind,
        "frequencies": list(coverage.frequencies),
        "source": indicator.source or given.publisher_name,
        "methodology": indicator.localized("methodology"),
        "temporal_coverage": {
            "start": coverage.start.isoformat(),
            "end": coverage.end.isoformat(),
        },
        "last_published": coverage.modified.isoformat(),
        "publisher": given.publisher(),
        "contact": given.contact(),
        "licence": given.licence(),
        "attribution": given.credit(language),
        "citation": citation_text(
            publisher=indicator.source or given.publisher_name,
            title=indicator.localized("name"),
            url=page,
            language=language,
        ),
        "links": {
            kind: urls(indicator, kind)
            for kind in ("csv", "xlsx", "page", "json", "sdmx", "datapackage")
        },
        "columns": table_schema(ObservationRows(_lookups()))["fields"],
    }
    return _json(document)


# --- the bulk download ---


@open_data()
def bulk_download(request: HttpRequest) -> HttpResponseBase:
    """The zip of every public indicator's CSV and the data package, as last built."""
    record = bulk_current()
    last_published = generation_memo(generation(), "last_publication_at", last_publication_at)
    if record is None or record.data_version != data_version(last_published=last_published):
        # Built before the last change (or never): the worker is asked again; what was
        # built is still public data, served meanwhile.
        bulk_rebuild_request()
    if record is None or not default_storage.exists(record.file_name):
        building = JsonResponse(
            {"detail": "the bulk download is being built; try again in a minute"}, status=503
        )
        building["Retry-After"] = "60"
        return building
    etag = f'"{record.etag}"'
    links = _links(
        attribution().link_header(),
        f'<{request.build_absolute_uri(reverse("opendata:datapackage"))}>; rel="describedby"',
    )
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(record.built_at.timestamp()),
        "Cache-Control": f"public, max-age={settings.ANGKA_API_MAX_AGE}",
        "Link": links,
    }
    if not_modified(request, etag, int(record.built_at.timestamp())):
        unchanged = HttpResponse(status=304)
        for name, value in headers.items():
            unchanged[name] = value
        return unchanged
    response = FileResponse(
        default_storage.open(record.file_name, "rb"),
        as_attachment=True,
        filename=BULK_FILE_NAME,
        content_type="application/zip",
    )
    for name, value in headers.items():
        response[name] = value
    return response
