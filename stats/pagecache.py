"""Whole-page caching for the public site, filed under the data generation.

The key holds the path, query, language, host and the generation (``stats.events``),
which ``public_data_changed`` ends (a publication, a release scheduled, a news release
saved, a catalogue edit in the admin) and which ends by itself at the next scheduled
instant: the next request renders afresh and the old entry is never served again (it
expires). Finding the key costs one cache read, no SQL. Only anonymous GET requests
answered 200 are cached.
"""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .events import generation

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
        if request.method not in ("GET", "HEAD") or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        key = page_cache_key(request, generation())
        stored = cache.get(key)
        if stored is not None:
            content, content_type, headers = stored
            response = HttpResponse(content, content_type=content_type)
            for name, value in headers.items():
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            if hasattr(response, "render") and callable(response.render):
                response.render()
            headers = {
                name: response[name]
                for name in ("Content-Language", "Content-Disposition", "Link")
                if response.has_header(name)
            }
            cache.set(
                key, (response.content, response["Content-Type"], headers), PAGE_CACHE_SECONDS
            )
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper
