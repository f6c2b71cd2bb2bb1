"""Requests refused before any view sees them: TRACE and CONNECT, which no part of the
site answers (405), and requests carrying control characters (400); the answer to a
request the database failed under (503); and the database a public read is answered from
(``ReadReplicaMiddleware``, the rule in config/replicas.py).

A NUL byte cannot be stored in or compared with a PostgreSQL text value: passed on to a
query it raises a database error, and every view that looks a parameter or a path part
up would have to guard against it. No path, parameter name or value of this site
legitimately holds a C0 control character or DEL, so one check here answers 400 and
names what held it: the parameter for a query string, ``path`` for the path.

A request in flight when PostgreSQL restarts, fails over or drops its connection gets a
503 with ``Retry-After``, not a 500: nothing is wrong with the request, and the next one
succeeds (Django closes the broken connection when the request ends, and checks a
persistent one before reusing it: ``CONN_HEALTH_CHECKS``). Raised by a view, the error
reaches ``process_exception``; raised by a middleware (the API cache asks the database
for the next publication instant), it reaches the 500 handler, ``server_error``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.views import defaults

from config.replicas import PRIMARY, RequestReads, replica_aliases, request_reads
from stats.events import Pin, generation, generation_current, generation_pinned

logger = logging.getLogger(__name__)

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Methods nothing here answers; the rest are each view's own business.
REFUSED_METHODS = frozenset({"TRACE", "CONNECT"})
# psycopg's errors for a lost or refused connection, a server shutting down, a statement
# cancelled: as Django raises them.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def control_character_field(request: HttpRequest) -> tuple[str, str] | None:
    """(where, the character as U+XXXX) of the first control character, or None."""
    found = CONTROL.search(request.path_info)  # decoded already by the server
    if found:
        return "path", f"U+{ord(found.group()):04X}"
    query = request.META.get("QUERY_STRING", "")
    if "%" not in query and not CONTROL.search(query):
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        found = CONTROL.search(name) or CONTROL.search(value)
        if found:
            return CONTROL.sub("?", name) or "?", f"U+{ord(found.group()):04X}"
    return None


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in REFUSED_METHODS:
            return HttpResponseNotAllowed(["GET", "HEAD", "OPTIONS"])
        problem = control_character_field(request)
        if problem is None:
            return self.get_response(request)
        where, character = problem
        message = f"contains a control character ({character}), which is not allowed"
        if request.path_info.startswith("/api/"):
            return JsonResponse({"errors": {where: [message]}}, status=400)
        return HttpResponseBadRequest(f"{where}: {message}\n", content_type="text/plain")

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return database_unavailable(request, exception)
        return None


def database_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    """503 with Retry-After, JSON under /api/, never stored by a cache."""
    logger.warning("database unavailable for %s %s: %s", request.method, request.path, error)
    message = "The database is unavailable for a moment; try again shortly."
    response: HttpResponse
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(f"{message}\n", status=503, content_type="text/plain")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler: a database that failed under the request is a 503 all the same."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_UNAVAILABLE):
        return database_unavailable(request, error)
    return defaults.server_error(request)


# Never public reads: the admin, and the health checks (the primary's state, no Redis).
PRIMARY_PATHS = ("/admin/", "/healthz", "/readyz")


def _unrouted_paths() -> tuple[str, ...]:
    # Static files (whitenoise) read no database at all.
    return (*PRIMARY_PATHS, "/" + settings.STATIC_URL.lstrip("/"))


def public_read(request: HttpRequest) -> bool:
    """A request a replica may answer: an anonymous GET or HEAD of the public site, the
    API, SDMX or the open-data files. A session (staff) and every other method work on
    the primary."""
    return (
        request.method in ("GET", "HEAD")
        and not request.path_info.startswith(_unrouted_paths())
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


class ReadReplicaMiddleware:
    """Pins a public read to the current cache generation (``generation()`` is the one
    read as the request began, for the whole of it, a streamed body included) and, with
    replicas, sends its reads to a replica that has replayed the generation's WAL
    position, else to the primary (the database is chosen at the first read,
    ``config.replicas.RequestReads``; a streamed body is read from the same database).

    Without replicas the generation is the one current at the request's first
    ``generation()``, or just before its first read of the database
    (``ReadSnapshotMiddleware``), whichever comes first; a request that reads no public
    data makes none (no SQL). Taken before any read, it is never newer than the data read
    under it: nothing is filed under a generation (the page and API caches,
    ``generation_memo``) from data read before the commit that began it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not public_read(request):
            return self.get_response(request)
        if replica_aliases():
            current = generation_current()
            pin = Pin(current.token)
            reads = RequestReads(lsn=current.lsn)
        else:
            pin = Pin()
            reads = RequestReads(lsn=None, alias=PRIMARY)
        with generation_pinned(pin), reads.active():
            response = self.get_response(request)
        if response.streaming:
            response.streaming_content = streamed_under(
                response.streaming_content, pin=pin, reads=reads
            )
        return response


class ReadSnapshotMiddleware:
    """The reads that build a public answer not served from a cache see one snapshot of
    the data: a ``REPEATABLE READ READ ONLY`` transaction from its first read until the
    answer is built (``config.replicas.Snapshot``), so a page never shows part of the
    data before a publication and part after it. Placed after the caches' middleware (a
    hit opens nothing) and inside ``stats.httpcache.HttpCacheMiddleware``, which reads
    the generation again once the snapshot has ended."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reads = request_reads()
        if reads is None:  # not a public read
            return self.get_response(request)
        # The generation is taken before the snapshot's first read (see above).
        reads.snapshot_begin(before=generation)
        try:
            response = self.get_response(request)
        except BaseException as error:
            reads.snapshot_end(error)
            raise
        try:
            reads.snapshot_end()
        except DatabaseError:
            # Read only, the answer is whole: the connection failed at the commit, which
            # had nothing to keep. Django has closed it; the next request reconnects.
            logger.warning("the snapshot of a public read did not end cleanly", exc_info=True)
        return response


def streamed_under(content: Iterable[bytes], *, pin: Pin, reads: RequestReads) -> Iterator[bytes]:
    """``content``, each chunk made under the request's generation and database (the
    server iterates it after the middleware has returned)."""
    chunks = iter(content)
    while True:
        with generation_pinned(pin), reads.active():
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk
