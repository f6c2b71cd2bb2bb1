"""Whole-page caching for the public site, filed under the data generation.

The key holds the path, query, language, host and the generation (``stats.events``),
which ``public_data_changed`` ends (a publication, a release scheduled, a news release
saved, a catalogue edit in the admin) and which ends by itself at the next scheduled
instant: the next request renders afresh and the old entry is never served again (it
expires). Finding the key costs one cache read, no SQL. Only anonymous GET requests
answered 200 are cached.

The same answers tell a shared cache in front (Varnish, a CDN) it may keep them
(``Cache-Control: public, max-age=API_MAX_AGE``, which ``stats.httpcache`` turns into
``max-age=0, s-maxage=`` within the generation, so that browsers revalidate each time,
and tags with surrogate keys), with an ``ETag`` of the body: a cache or browser
revalidates with it, and gets a 304 only while the page is byte for byte the same.
An authenticated visitor's page is ``private``.
"""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import translation
from django.utils.cache import patch_cache_control

from .api.cache import not_modified, request_generation

PAGE_CACHE_SECONDS = getattr(settings, "ANGKA_PAGE_CACHE_SECONDS", 300)


def page_cache_key(request: HttpRequest, version: str) -> str:
    raw = "|".join(
        [request.get_full_path(), translation.get_language() or "", request.get_host(), version]
    )
    return "angka:page:" + hashlib.sha256(raw.encode()).hexdigest()


def cached_page(view):
    """Serve ``view`` from the cache while nothing new has been published."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        if request.user.is_authenticated:
            response = view(request, *args, **kwargs)
            patch_cache_control(response, private=True)
            return response
        key = page_cache_key(request, request_generation(request))
        stored = cache.get(key)
        if stored is not None:
            content, content_type, headers = stored
            if not_modified(request, headers.get("ETag"), None):
                response = HttpResponseNotModified()
            else:
                response = HttpResponse(content, content_type=content_type)
            for name, value in headers.items():
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            if hasattr(response, "render") and callable(response.render):
                response.render()
            response["ETag"] = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
            patch_cache_control(response, public=True, max_age=settings.ANGKA_API_MAX_AGE)
            headers = {
                name: response[name]
                for name in ("Content-Language", "Content-Disposition", "Link", "ETag")
                if response.has_header(name)
            }
            headers["Cache-Control"] = response["Cache-Control"]
            cache.set(
                key, (response.content, response["Content-Type"], headers), PAGE_CACHE_SECONDS
            )
            if not_modified(request, headers["ETag"], None):
                # Rendered again (a new generation), the same bytes: the copy is current.
                response = HttpResponseNotModified()
                for name, value in headers.items():
                    response[name] = value
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper
