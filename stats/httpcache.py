"""The HTTP cache in front of the site (Varnish with ``deploy/varnish/angka.vcl``, or a
CDN): what the origin tells it about each answer, and the purge when public data change.

Every public answer a shared cache may keep (``Cache-Control: public``: the read API, the
SDMX service, the open-data documents, the anonymous pages of ``stats.pagecache``) gets,
from ``HttpCacheMiddleware``:

- a ``Surrogate-Key`` header (space-separated, as Fastly reads it; the VCL copies it to
  Varnish's ``xkey``): ``all``; its kind (``kind:home``, ``kind:calendar``,
  ``kind:news``, ``kind:api``, ``kind:sitemap``, ``kind:feeds``, ...); and what it
  depends on: ``indicator:<CODE>`` when it shows only named indicators (an indicator's
  pages, an API query filtered by indicator, an indicator's or series' detail), else
  ``public`` (lists, the home page, the calendar, cross-sections: anything a publication
  may change), plus ``release:<slug>`` / ``news:<slug>`` on a release's or news
  release's own answers;
- its lifetime for shared caches only: the view's ``max-age`` becomes ``s-maxage``
  (which Varnish and CDNs read before ``max-age``) and ``max-age`` becomes 0, so a
  browser (or any private cache) asks again each time with the ``ETag`` and gets a 304
  from the shared cache while nothing changed: the purge at a publication reaches the
  shared caches, never a browser's, which would otherwise show the old figures for up
  to a minute after a release. No ``stale-while-revalidate`` either: browsers honour it
  too; Varnish's grace is the VCL's own (``deploy/varnish/angka.vcl``);
- an ``s-maxage`` no longer than the current data generation lasts (``stats.events``:
  it ends at the next scheduled publication instant), so no cache keeps an answer past
  the instant its data may change; except the caches the origin purges
  (``HTTP_CACHE_PURGE_URLS``), told by ``Surrogate-Control: max-age`` (the answer's
  own lifetime) to keep it until the publication's purge: at a release's instant they
  go on serving the figures of before, which are still the public ones, until the
  publication has committed, instead of sending every client to the origin;
- ``max-age=0`` and no ``s-maxage`` instead when the generation changed while it was
  being built (or had just ended when it began): it may have read the data before a
  publication committed, and reached the cache after the purge of that publication.

``public_data_changed`` names what changed with the same keys (the publishing services
name the release, its indicators and ``public``; a raise without keys means ``all``).
After the commit, ``http_cache_purge_on_change`` sends them to every cache in
``HTTP_CACHE_PURGE_URLS`` (a ``PURGE`` request with an ``xkey-purge`` header, which the
VCL answers with ``xkey.purge``), and asks a worker to send them again a few seconds
later (``HTTP_CACHE_PURGE_REPEAT_SECONDS``: an answer in flight during the first purge).
A purge that fails is logged and retried by the task ``stats.http_cache_purge`` with a
growing delay; it never fails the publication. A purge lost for good (a cache restarted
empty does not need it) costs freshness only up to ``max-age``: the cache revalidates
with the origin's ``ETag``, which follows the data.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable

from celery import current_app
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_max_age, patch_cache_control

from config.replicas import primary_wal_lsn, replica_aliases, replicas_wait

from .events import PublicDataChange, generation_peek, generation_state

logger = logging.getLogger(__name__)

SURROGATE_KEY_HEADER = "Surrogate-Key"
SURROGATE_CONTROL_HEADER = "Surrogate-Control"
# The header of a PURGE request naming the keys (deploy/varnish/angka.vcl).
PURGE_KEYS_HEADER = "xkey-purge"
PURGE_TASK = "stats.http_cache_purge"

KEY_ALL = "all"
KEY_PUBLIC = "public"

# Paths no shared cache keeps (the VCL passes them too): the admin, health checks, static
# files (immutable names, served with their own headers).
UNCACHED_PREFIXES = ("/admin/", "/healthz", "/readyz", "/static/")

# The kind of each public page, by URL name (namespace "stats" and "publications").
PAGE_KINDS = {
    "home": "home",
    "search": "search",
    "indicators": "indicator",
    "indicator": "indicator",
    "indicator-svg": "indicator",
    "indicator-png": "indicator",
    "indicator-embed": "indicator",
    "indicator-xlsx": "indicator",
    "methodology": "methodology",
    "methodology-topic": "methodology",
    "releases": "releases",
    "release": "releases",
    "releases-feed": "feeds",
    "news": "news",
    "news-detail": "news",
    "news-feed": "feeds",
    "calendar": "calendar",
    "calendar-ics": "calendar",
    "sitemap": "sitemap",
    "robots": "robots",
}
# Pages that show one indicator (its ``code``) and nothing a publication of another
# indicator changes.
INDICATOR_PAGES = frozenset(
    {"indicator", "indicator-svg", "indicator-png", "indicator-embed", "indicator-xlsx"}
)


def indicator_key(code: str) -> str:
    # Codes are upper case; a query may spell them otherwise.
    return f"indicator:{code.upper()}"


def release_key(slug: str) -> str:
    return f"release:{slug}"


def news_key(slug: str) -> str:
    return f"news:{slug}"


def kind_key(kind: str) -> str:
    return f"kind:{kind}"


# --- the keys of an answer ---


def response_surrogate_keys(request: HttpRequest) -> list[str]:
    """The surrogate keys of the answer to ``request``: ``all``, its kind, and what it
    depends on (see the module's description)."""
    match = request.resolver_match
    url_name = match.url_name if match is not None else None
    kwargs = match.kwargs if match is not None else {}
    path = request.path_info
    if path.startswith("/api/"):
        kind = "api"
        scope = _api_scope(request, url_name, kwargs)
    elif path.startswith("/sdmx/"):
        kind, scope = "sdmx", [KEY_PUBLIC]
    else:
        kind = PAGE_KINDS.get(url_name or "", "opendata")
        scope = _page_scope(url_name, kwargs)
    return [KEY_ALL, kind_key(kind), *scope]


def _page_scope(url_name: str | None, kwargs: dict) -> list[str]:
    if url_name in INDICATOR_PAGES and "code" in kwargs:
        return [indicator_key(kwargs["code"])]
    # A release's or news release's page also shows revisions published after it.
    if url_name == "release" and "slug" in kwargs:
        return [release_key(kwargs["slug"]), KEY_PUBLIC]
    if url_name == "news-detail" and "slug" in kwargs:
        return [news_key(kwargs["slug"]), KEY_PUBLIC]
    return [KEY_PUBLIC]


def _api_scope(request: HttpRequest, url_name: str | None, kwargs: dict) -> list[str]:
    if url_name == "indicator-detail" and "code" in kwargs:
        return [indicator_key(kwargs["code"])]
    if url_name == "series-vintages" and "indicator" in kwargs:
        return [indicator_key(kwargs["indicator"])]
    if url_name in ("observation-list", "series-list"):
        # The ``indicator`` filter (a code or a comma-separated list) bounds the answer;
        # only a valid one gets an answer a cache keeps.
        values = request.GET.getlist("indicator")
        codes = [code for value in values for code in value.split(",") if code]
        if len(values) == 1 and codes:
            return [indicator_key(code) for code in codes]
    if url_name in ("release-detail", "news-detail") and "slug" in kwargs:
        key = release_key if url_name == "release-detail" else news_key
        return [key(kwargs["slug"]), KEY_PUBLIC]
    return [KEY_PUBLIC]


def shared_cacheable(response: HttpResponse) -> bool:
    """Whether a shared cache may keep ``response``: the origin said ``public`` and
    nothing private, and it sets no cookie."""
    control = {
        part.strip().split("=", 1)[0].lower()
        for part in response.get("Cache-Control", "").split(",")
        if part.strip()
    }
    return (
        "public" in control
        and not control & {"private", "no-store", "no-cache"}
        and not response.cookies
        and not response.has_header("Set-Cookie")
    )


class HttpCacheMiddleware:
    """Surrogate keys and a ``max-age`` within the data generation on every answer a
    shared cache may keep (see the module's description)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or request.path_info.startswith(UNCACHED_PREFIXES):
            return self.get_response(request)
        # Peeked, not made: a request that reads no public data costs no SQL.
        started = generation_peek()
        response = self.get_response(request)
        if not shared_cacheable(response):
            return response
        # The generation the answer was read under (the API's and the page cache's, read
        # before their data), else the one at the start; None (it had just ended when
        # the request began) counts as changed.
        read_under = getattr(request, "api_generation", None) or started
        token, until = generation_state()
        if token != read_under:
            # Built across a change of public data: it may hold the data before it, and
            # its validator was computed under the old generation, so it may not match
            # the body; no cache may keep it nor revalidate it against that validator.
            response["Cache-Control"] = "public, max-age=0"
            if read_under is not None and response.has_header("ETag"):
                # Read under a generation that has ended since: its ETag names that one.
                del response["ETag"]
        else:
            shared_only(response, until=until)
        response[SURROGATE_KEY_HEADER] = " ".join(response_surrogate_keys(request))
        return response


def shared_only(response: HttpResponse, *, until: float | None) -> None:
    """``Cache-Control: public, max-age=0, s-maxage=N``: N, the answer's lifetime (its
    ``s-maxage``, else its ``max-age``), bounded by the end of the generation (``until``,
    POSIX time) when it is known. With caches to purge, ``Surrogate-Control: max-age=L``
    too: L, the lifetime not bounded by the generation's end."""
    control = response["Cache-Control"].replace(" ", "").lower().split(",")
    given = [part for part in control if part.startswith("s-maxage=")]
    lifetime = int(given[0].partition("=")[2]) if given else (get_max_age(response) or 0)
    seconds = lifetime
    if until is not None:
        seconds = min(seconds, max(0, int(until - time.time())))
    response["Cache-Control"] = "public"
    patch_cache_control(response, max_age=0, s_maxage=seconds)
    if settings.HTTP_CACHE_PURGE_URLS:
        # For the caches this origin purges (the VCL reads it and strips it, as CDNs do):
        # they keep the answer across the next scheduled instant, and the publication's
        # purge ends it once the new figures are committed. Bounded by the instant, every
        # answer would expire at the release's second and every client would go to the
        # origin until the publication commits, just when the purge then needs it.
        response[SURROGATE_CONTROL_HEADER] = f"max-age={lifetime}"


# --- the purge ---


def http_cache_purge(*, keys: Iterable[str], urls: Iterable[str]) -> list[str]:
    """Purge the answers tagged with any of ``keys`` from the caches at ``urls`` (a
    ``PURGE`` request each, keys in ``xkey-purge``); return the URLs that failed."""
    named = " ".join(sorted(set(keys)))
    failed = []
    for url in urls:
        purge = urllib.request.Request(url, method="PURGE", headers={PURGE_KEYS_HEADER: named})
        try:
            with urllib.request.urlopen(purge, timeout=settings.HTTP_CACHE_PURGE_TIMEOUT) as answer:
                answer.read()
        except (urllib.error.URLError, OSError) as error:
            logger.warning("HTTP cache purge of %s at %s failed: %s", named, url, error)
            failed.append(url)
    return failed


def http_cache_purge_on_change(change: PublicDataChange) -> None:
    """After a committed change of public data: purge what it names from every cache of
    ``HTTP_CACHE_PURGE_URLS`` (none: no purge) now, and again a few seconds later from a
    worker; a cache that failed is retried by the worker with backoff. Never raises."""
    urls = list(settings.HTTP_CACHE_PURGE_URLS)
    if not urls:
        return
    keys = sorted(change.keys) if change.keys is not None else [KEY_ALL]
    _replicas_catch_up()
    failed = http_cache_purge(keys=keys, urls=urls)
    repeat = settings.HTTP_CACHE_PURGE_REPEAT_SECONDS
    for url in urls:
        if url in failed:
            _purge_enqueue(url=url, keys=keys, countdown=1)
        elif repeat > 0:
            _purge_enqueue(url=url, keys=keys, countdown=repeat)


def _replicas_catch_up() -> None:
    """Wait until the replicas have replayed the change (bounded). Correctness does not
    depend on it (a replica behind the generation is not read: ``config.replicas``); it
    keeps the release instant's misses off the primary."""
    if not replica_aliases():
        return
    try:
        if not replicas_wait(primary_wal_lsn(), timeout=settings.HTTP_CACHE_PURGE_REPLICA_WAIT):
            logger.warning("purging before every replica has replayed the change")
    except Exception:  # the primary unreachable after its own commit: purge all the same
        logger.exception("could not read the replicas' position before the purge")


def _purge_enqueue(*, url: str, keys: list[str], countdown: int) -> None:
    try:
        current_app.tasks[PURGE_TASK].apply_async(args=(url, keys), countdown=countdown)
    except Exception:  # kombu's and redis' connection errors: the publication goes on
        logger.exception("could not queue the HTTP cache purge of %s at %s", keys, url)
