"""Rate limits of the read API (rates read at request time, so they follow the settings).

Anonymous callers are limited per address; an API token (issued by staff) gets the
higher user rate. The response-cache middleware applies the anonymous limit itself
before it serves a cached answer (``throttle_anonymous``), with the same counters as
DRF's throttle here, and marks the request so that it is not counted twice.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


def _rate(scope: str) -> str | None:
    """The rate of ``scope``; "off" (e.g. API_ANON_RATE=off for a load test) is no limit."""
    rate = api_settings.DEFAULT_THROTTLE_RATES[scope]
    # The stubs type the rates as numbers; DRF reads them as "N/period" strings.
    return None if rate in (None, "off") else rate  # type: ignore[return-value]


class ApiAnonThrottle(AnonRateThrottle):
    scope = "api_anon"

    def get_rate(self):
        return _rate(self.scope)

    def allow_request(self, request, view):
        if getattr(getattr(request, "_request", request), "api_anon_counted", False):
            return True
        return super().allow_request(request, view)


class ApiUserThrottle(UserRateThrottle):
    scope = "api_user"

    def get_rate(self):
        return _rate(self.scope)


class _Anonymous:
    is_authenticated = False


class _AnonymousRequest:
    """What DRF's anonymous throttle reads of a request: META, headers, an anonymous user."""

    user = _Anonymous()

    def __init__(self, request: HttpRequest):
        self.META = request.META
        self.headers = request.headers


def throttle_anonymous(request: HttpRequest) -> JsonResponse | None:
    """Count an anonymous request; the 429 answer (as DRF gives it) past the limit."""
    if _rate(ApiAnonThrottle.scope) is None:
        return None
    throttle = ApiAnonThrottle()
    # A mark on the request for ApiAnonThrottle, which then does not count it again.
    request.api_anon_counted = True  # type: ignore[attr-defined]
    if throttle.allow_request(_AnonymousRequest(request), None):
        return None
    wait = throttle.wait()
    error = exceptions.Throttled(wait)
    response = JsonResponse({"detail": str(error.detail)}, status=error.status_code)
    if wait:
        response["Retry-After"] = str(int(wait))
    return response
