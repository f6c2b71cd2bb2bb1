"""Requests refused before any view sees them: TRACE and CONNECT, which no part of the
site answers (405), and requests carrying control characters (400).

A NUL byte cannot be stored in or compared with a PostgreSQL text value: passed on to a
query it raises a database error, and every view that looks a parameter or a path part
up would have to guard against it. No path, parameter name or value of this site
legitimately holds a C0 control character or DEL, so one check here answers 400 and
names what held it: the parameter for a query string, ``path`` for the path.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
)

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Methods nothing here answers; the rest are each view's own business.
REFUSED_METHODS = frozenset({"TRACE", "CONNECT"})


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
