"""CORS for the read API and the SDMX service (any origin may read /api/ and /sdmx/:
they are public and read-only), and their response cache, served before the rest of the
stack."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_http_date_safe

from stats.events import generation

from .cache import not_modified, response_cache_key, response_cache_on
from .throttling import throttle_anonymous

ALLOWED_HEADERS = "Accept, Accept-Language, Authorization, If-None-Match, If-Modified-Since"
EXPOSED_HEADERS = (
    "ETag, Last-Modified, Retry-After, Content-Disposition, Content-Language, Link, "
    "X-Units, X-Units-Rounding"
)
# The public read-only paths: CORS for all of them; the response cache for the read API's
# v1 and the SDMX service (stats.sdmx.views).
CORS_PREFIXES = ("/api/", "/sdmx/")
CACHED_PREFIXES = ("/api/v1/", "/sdmx/")


class ApiCorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(CORS_PREFIXES):
            return self.get_response(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = "86400"
        else:
            response = self.get_response(request)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response


class ApiResponseCacheMiddleware:
    """Serves the read API's cached answers before sessions, authentication and DRF.

    For an anonymous GET under /api/v1/ or /sdmx/ (no Authorization header, no session cookie) it
    applies the anonymous rate limit, looks the answer up (``stats.api.cache``) and, on a
    hit, replays it, or answers 304 to a matching ``If-None-Match`` or
    ``If-Modified-Since``, without a database query. On a miss the request goes on; the
    answer is stored with its headers if the view marked it cacheable. Other requests
    (tokens, sessions, HEAD, CSV) take the normal way, where the views do the same checks.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._eligible(request):
            return self.get_response(request)
        try:
            host_ok = bool(request.get_host())
        except DisallowedHost:
            host_ok = False
        if not host_ok:
            return self.get_response(request)
        refusal = throttle_anonymous(request)
        if refusal is not None:
            return refusal
        token = generation()
        # Per-request attributes, read by the view (stats.api.cache, PublicReadMixin).
        request.api_generation = token  # type: ignore[attr-defined]
        key = response_cache_key(request, token)
        request.api_cache_key = key  # type: ignore[attr-defined]
        entry = cache.get(key)
        if entry is not None:
            return replay(request, entry)
        response = self.get_response(request)
        if (
            getattr(response, "api_cacheable", False)
            and response.status_code == 200
            and not response.streaming
            and not response.cookies
        ):
            headers = [(name, value) for name, value in response.items() if name not in SKIPPED]
            cache.set(key, (headers, response.content), settings.ANGKA_API_CACHE_SECONDS)
        return response

    @staticmethod
    def _eligible(request: HttpRequest) -> bool:
        return (
            request.method == "GET"
            and request.path.startswith(CACHED_PREFIXES)
            and response_cache_on()
            and "HTTP_AUTHORIZATION" not in request.META
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
        )


# Set again on the way out by the middleware above this one (CORS, security).
SKIPPED = frozenset(
    {
        "Content-Length",
        "Access-Control-Allow-Origin",
        "Access-Control-Expose-Headers",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
    }
)
NOT_MODIFIED_DROPS = frozenset({"Content-Type", "Content-Disposition"})


def replay(request: HttpRequest, entry) -> HttpResponse:
    headers, body = entry
    found = dict(headers)
    last_modified = parse_http_date_safe(found.get("Last-Modified") or "")
    if not_modified(request, found.get("ETag"), last_modified):
        response = HttpResponse(status=304)
        del response["Content-Type"]
        for name, value in headers:
            if name not in NOT_MODIFIED_DROPS:
                response[name] = value
        return response
    response = HttpResponse(body)
    for name, value in headers:
        response[name] = value
    return response
