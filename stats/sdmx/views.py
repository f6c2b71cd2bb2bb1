"""The SDMX 2.1 REST endpoints: thin views over ``structure`` and ``data``.

Answers are cached like the read API's (``stats.api.cache``): filed under the data
generation by ``ApiResponseCacheMiddleware`` (which also counts anonymous requests
against the rate limit and replays 304s), with an ``ETag`` and ``Last-Modified`` that
follow the last publication, so a conditional request is answered before any query.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date

from stats.api.cache import not_modified, request_generation
from stats.api.throttling import throttle_anonymous
from stats.events import generation_memo
from stats.selectors import last_publication_at

from . import data as sdmx_data
from .catalogue import catalogue, catalogue_digest
from .errors import SdmxError
from .formats import CSV, GENERIC, JSON, MEDIA_TYPES, SPECIFIC, data_format, structure_format
from .structure import error_message, structure_message, structure_select

ERROR_CONTENT_TYPE = "application/xml; charset=utf-8"


def _message_id() -> str:
    return f"ANGKA-{uuid.uuid4().hex[:16]}"


def _answer(request: HttpRequest, handler, **kwargs) -> HttpResponse:
    """Method, rate limit, conditional request, then ``handler``'s (body, media type)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if not getattr(request, "api_anon_counted", False):
        refusal = throttle_anonymous(request)
        if refusal is not None:
            return refusal
    token = request_generation(request)
    # As the read API's: the last publication, and what else the answer depends on (the
    # catalogue's artefacts), the URL and the Accept header.
    last_published = generation_memo(token, "last_publication_at", last_publication_at)
    instants = [i for i in (last_published, catalogue(token).edited_at) if i is not None]
    last_modified = max(instants) if instants else None
    parts = [
        "sdmx",
        last_published.isoformat() if last_published else "none",
        catalogue_digest(token),
        request.get_full_path(),
        request.META.get("HTTP_ACCEPT", ""),
    ]
    etag = f'W/"{hashlib.sha256(chr(10).join(parts).encode()).hexdigest()[:32]}"'
    modified = int(last_modified.timestamp()) if last_modified else None
    if not_modified(request, etag, modified):
        response = HttpResponse(status=304)
        del response["Content-Type"]
    else:
        try:
            body, media_type = handler(request, token, **kwargs)
        except SdmxError as error:
            response = HttpResponse(
                error_message(error), status=error.status, content_type=ERROR_CONTENT_TYPE
            )
            patch_vary_headers(response, ("Accept",))
            return response
        response = HttpResponse(body, content_type=media_type)
        # ApiResponseCacheMiddleware stores it, with these headers.
        response.api_cacheable = True  # type: ignore[attr-defined]
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(modified)
    response["Cache-Control"] = f"public, max-age={settings.ANGKA_API_MAX_AGE}"
    patch_vary_headers(response, ("Accept",))
    return response


def _structure(
    request: HttpRequest,
    token: str,
    *,
    resource: str,
    agency: str,
    resource_id: str,
    version: str,
    item: str,
) -> tuple[bytes, str]:
    current = catalogue(token)
    artefacts = structure_select(
        current,
        resource=resource,
        agency=agency,
        resource_id=resource_id,
        version=version,
        item=item,
        params=request.GET,
    )
    media_type = MEDIA_TYPES[structure_format(accept=request.META.get("HTTP_ACCEPT", ""))]
    body = structure_message(current, artefacts, message_id=_message_id(), prepared=timezone.now())
    return body, media_type


def _data(
    request: HttpRequest, token: str, *, flow: str, key: str, provider: str
) -> tuple[bytes, str]:
    chosen = data_format(
        accept=request.META.get("HTTP_ACCEPT", ""), format_param=request.GET.get("format")
    )
    current = catalogue(token)
    query = sdmx_data.data_query(
        current, token, flow_ref=flow, key=key, provider=provider, params=request.GET
    )
    if query.history and chosen == CSV:
        raise SdmxError(
            501,
            "includeHistory is not offered in SDMX-CSV, which has no data sets to date; ask "
            "for SDMX-ML or SDMX-JSON, or for every vintage at /api/v1/observations/ with "
            "realtime_start",
        )
    found = sdmx_data.data_read(query, token)
    message_id, prepared = _message_id(), timezone.now()
    if chosen == GENERIC:
        body = sdmx_data.generic_data(query, found, message_id=message_id, prepared=prepared)
    elif chosen == SPECIFIC:
        body = sdmx_data.specific_data(query, found, message_id=message_id, prepared=prepared)
    elif chosen == JSON:
        body = sdmx_data.json_data(query, found, current, message_id=message_id, prepared=prepared)
    else:
        assert chosen == CSV
        body = sdmx_data.csv_data(query, found)
    return body, MEDIA_TYPES[chosen]


def structure(
    request: HttpRequest,
    resource: str,
    agency: str = "all",
    resource_id: str = "all",
    version: str = "latest",
    item: str = "",
) -> HttpResponse:
    return _answer(
        request,
        _structure,
        resource=resource,
        agency=agency,
        resource_id=resource_id,
        version=version,
        item=item,
    )


def data(request: HttpRequest, flow: str, key: str = "all", provider: str = "") -> HttpResponse:
    return _answer(request, _data, flow=flow, key=key, provider=provider)


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any other path under /sdmx/: an SDMX error message, not the site's HTML page."""
    error = SdmxError(
        404,
        "no such SDMX resource; use /sdmx/{dataflow|datastructure|codelist|conceptscheme}/"
        "... or /sdmx/data/{flow}/{key}",
    )
    return HttpResponse(error_message(error), status=404, content_type=ERROR_CONTENT_TYPE)
