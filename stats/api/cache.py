"""The read API's response cache: a hit costs two cache reads, no SQL.

Cached responses are filed under the data generation (``stats.events``, shared with the
page cache), and keyed by it, the scheme, host, full path, language and the ``Accept``
header: everything a valid request's answer depends on. Only answers the views mark as
cacheable (valid JSON, 200) are stored, by ``ApiResponseCacheMiddleware``, with their
headers; it serves them before sessions, authentication and DRF.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.utils import translation
from django.utils.http import parse_http_date_safe

from stats.events import generation

RESPONSE_PREFIX = "api-response"


def request_generation(request) -> str:
    """The generation a request reads under: the one its response would be filed under."""
    django_request = getattr(request, "_request", request)
    token = getattr(django_request, "api_generation", None)
    if token is None:
        token = generation()
        django_request.api_generation = token
    return token


# --- keys ---


def response_cache_on() -> bool:
    """API_CACHE_SECONDS=0 turns the response cache off (ETags and 304s stay)."""
    return settings.ANGKA_API_CACHE_SECONDS > 0


def response_cache_key(request, token: str) -> str:
    """The key of a request's answer: generation, scheme, host, path and query, language,
    Accept. ``request.get_host()`` must have been checked (it raises for a bad host)."""
    parts = [
        token,
        request.scheme,
        request.get_host(),
        request.get_full_path(),
        request_language(request),
        request.META.get("HTTP_ACCEPT", ""),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]
    return f"{RESPONSE_PREFIX}:{digest}"


def request_language(request) -> str:
    """The language of the answer before ``?lang=`` (which is part of the path)."""
    code = getattr(request, "LANGUAGE_CODE", None)
    if code is None:
        code = translation.get_language_from_request(request)
    return code or settings.LANGUAGE_CODE


# --- conditional requests ---


def not_modified(request, etag: str | None, last_modified: int | None) -> bool:
    """Whether a conditional GET of an answer with ``etag`` and ``last_modified`` (a POSIX
    time, whole seconds) may be answered 304: ``If-None-Match`` names it (or ``*``), or,
    without ``If-None-Match``, ``If-Modified-Since`` is not before it. The one check of
    the read API, for its views and for the answers ``ApiResponseCacheMiddleware`` replays.
    """
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        if etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
    return since is not None and last_modified is not None and last_modified <= since
