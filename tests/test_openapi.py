"""The read API keeps the contract its OpenAPI description states, route by route.

schemathesis reads the schema served at /api/schema/ and, for every operation and
method, sends the schema's examples, its boundary cases (coverage) and generated
requests, valid and invalid, to the WSGI application in this process, against the
demo data in the test database. Every check of schemathesis runs on every answer: no
server error, status codes and content types as documented, bodies and headers valid
against their schemas, valid requests accepted, invalid ones refused, methods the
schema does not list answered 405 with an Allow header.
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings

from config.wsgi import application
from stats.filtersets import instant_parse
from stats.periods import PeriodError, parse_period
from tests.stats.test_api_http import rest_framework_settings

UNLIMITED = rest_framework_settings(
    DEFAULT_THROTTLE_RATES={"api_anon": "1000000/minute", "api_user": "1000000/minute"}
)


def _beyond_the_schema(query: dict) -> dict:
    """``query`` without what an OpenAPI description cannot state and the API refuses
    (each a documented 400): a cursor the API did not give, an instant in the future, a
    period range that ends before it starts, paging a CSV, and the wide layout without
    exactly one indicator and one frequency, or with paging and ordering."""
    query = dict(query)
    query.pop("cursor", None)
    for name in ("as_of",):
        if name in query and _in_the_future(query[name]):
            del query[name]
    if "period_start" in query and "period_end" in query:
        try:
            start, end = parse_period(query["period_start"]), parse_period(query["period_end"])
        except PeriodError:
            pass
        else:
            if start.start > end.end:
                del query["period_end"]
    if query.get("format") == "csv":
        query.pop("page_size", None)
    if query.get("layout") == "wide":
        single = all(
            len(str(query.get(name, "")).split(",")) == 1 and str(query.get(name, "")).strip()
            for name in ("indicator", "frequency")
        )
        if single:
            for name in ("page_size", "ordering"):
                query.pop(name, None)
        else:
            query["layout"] = "long"
    return query


def _in_the_future(text) -> bool:
    try:
        instant = instant_parse(str(text))
    except Exception:
        return False
    now = timezone.now()
    if instant.is_date:
        return instant.at.date() > now.astimezone(instant.at.tzinfo).date()
    return instant.at > now


@pytest.fixture
def api_schema(demo, request):
    # schemathesis' lazy loader reports each operation under the test's node id, kept in
    # an attribute pytest 9 no longer sets.
    request.node._nodeid = request.node.nodeid
    # As Django's test client does: the requests run inside the test's transaction, which
    # the end of a request must not close.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    request.addfinalizer(lambda: signals.request_started.connect(close_old_connections))
    request.addfinalizer(lambda: signals.request_finished.connect(close_old_connections))
    cache.clear()
    with override_settings(REST_FRAMEWORK=UNLIMITED):
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

        @schema.hook
        def map_case(context, case):
            if case.meta is not None and case.meta.generation.mode.is_positive and case.query:
                case.query = _beyond_the_schema(case.query)
            return case

        yield schema
    cache.clear()


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_the_contract_of_the_schema(case):
    case.call_and_validate()


def test_a_future_instant_is_beyond_the_schema():
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert _beyond_the_schema({"as_of": tomorrow, "cursor": "abc"}) == {}
