"""Where one API request of ``make bench-api``'s query mix spends its time, step by step.

Run after ``make bench-api`` has filled its database (same DATABASE_URL and REDIS_URL):
``.venv/bin/python -m bench.profile_api 1`` (or 2, 3: the queries of bench-api). It
serves the query in this process with Django's test client (no network, no gunicorn),
the response cache off, and prints the mean time per request of each step of the view,
measured with ``perf_counter`` around the view's own methods. The steps nest: "initial"
holds the parameter check and the validators, "list" the rest.
"""

from __future__ import annotations

import argparse
import collections
import os
import time


def _timed(owner, name: str, label: str, totals: dict) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def in_process_environment(name: str) -> None:
    """The settings of a measurement made in this process (Django's test client): DEBUG
    off, the API's response cache and rate limits off."""
    os.environ.update(
        DEBUG="false",
        SECRET_KEY=f"{name}-" + os.urandom(16).hex(),
        ALLOWED_HOSTS="testserver",
        API_CACHE_SECONDS="0",
        API_ANON_RATE="off",
        API_USER_RATE="off",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("query", choices=["1", "2", "3"])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--validations",
        type=int,
        default=1000,
        help="then time this many validations of the query's filter parameters alone",
    )
    args = parser.parse_args(argv)

    from bench.bench_api import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, queries

    in_process_environment("profile-api")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    import django

    django.setup()
    from django.db.backends.utils import CursorWrapper
    from django.test import Client

    from stats.api import base, rows, views
    from stats.filtersets import ObservationFilterSet

    totals: dict[str, float] = collections.defaultdict(float)
    steps = [
        (base.PublicReadMixin, "initial", "initial"),
        (base.PublicReadMixin, "compute_validators", "  generation token and ETag"),
        (base.PublicReadMixin, "validate_request", "  checking the parameters"),
        (views.ObservationViewSet, "list", "list"),
        (ObservationFilterSet, "sql_conditions", "  filters as SQL conditions"),
        (base.KeysetPagination, "page_sql", "  page (sort, cursor)"),
        (views, "json_page_sql", "  SQL text"),
        (CursorWrapper, "execute", "  database (sent, run, rows read)"),
        (rows.ObservationRows, "json_rows", "  joining the JSON rows"),
    ]
    for owner, name, label in steps:
        _timed(owner, name, label, totals)
    (query,) = [query for query in queries() if query.key == args.query]
    client = Client()
    for _ in range(30):
        response = client.get(query.angka)
        if response.status_code != 200:
            raise SystemExit(f"{query.angka} answered {response.status_code}")
    totals.clear()
    started = time.perf_counter()
    for _ in range(args.requests):
        client.get(query.angka)
    whole = (time.perf_counter() - started) / args.requests
    print(f"{query.label}: {whole * 1000:.2f} ms per request ({len(response.content):,} bytes)")
    for _owner, _name, label in steps:
        print(f"{label:38s} {totals[label] / args.requests * 1000:.2f} ms")
    if args.validations > 0:
        each = _validation_ms(query, args.validations)
        print(f"validating the filter parameters alone: {each:.3f} ms each")


def _validation_ms(query, count: int) -> float:
    """Mean time to build the query's filter set and validate its parameters, as the
    view does (after a warm-up of 50)."""
    import urllib.parse

    from stats.filtersets import CatalogueLookups, ObservationFilterSet
    from stats.models import Observation

    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(query.angka).query))
    params.pop("page_size", None)  # the view's own parameter, not a filter
    lookups, queryset = CatalogueLookups(), Observation.objects.all()

    def validate() -> None:
        errors = ObservationFilterSet(params, queryset=queryset, lookups=lookups).validate()
        if errors:
            raise SystemExit(f"{query.angka}: {errors}")

    for _ in range(50):
        validate()
    started = time.perf_counter()
    for _ in range(count):
        validate()
    return (time.perf_counter() - started) / count * 1000


if __name__ == "__main__":
    main()
