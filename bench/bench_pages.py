"""Benchmark: time to first byte of the public pages, page cache warm and cold.

Run with ``make bench-pages`` (or ``.venv/bin/python -m bench.bench_pages``). It needs
PostgreSQL (DATABASE_URL, by default postgres://postgres@127.0.0.1:5432/angka_bench_pages,
created, migrated and filled when missing) and Redis (REDIS_URL, by default
redis://127.0.0.1:6379/0; the run's cache keys get a prefix of their own). It

* loads the demo and generates 2,000,000 synthetic observations (``bench.generate``,
  the same set-up as bench-api: ``bench.bench_api._database_prepare``) unless they are
  there already, and collects the static files (hashed names, as in production);
* serves the site with gunicorn as the README's production section says
  (``config/gunicorn.conf.py``, DEBUG off, Redis cache), through bench-api's
  ``gunicorn_start``;
* asks for the home page, two indicator pages (a large synthetic one, a demo one) and
  the demo's news release (its figures as of its publication) in both languages, one
  request at a time over loopback, and times the first byte of each answer: **warm**
  (the page is in the page cache) and **cold** (the run's keys are deleted from Redis
  before every request, so the page is rendered afresh);
* renders each page in process with Django's test client and counts its SQL queries,
  cold and warm, and the share of the cold time spent in SQL;

and writes the numbers into its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bench_api import (
    OBSERVATIONS,
    _database_prepare,
    _free_port,
    _goal,
    _machine_note,
    _stop,
    gunicorn_settings,
    gunicorn_start,
)
from bench.report import section_write

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "BENCHMARKS.md"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/angka_bench_pages"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SECTION_START = "<!-- bench-pages:start -->"
SECTION_END = "<!-- bench-pages:end -->"
SYNTHETIC_INDICATOR = "SYN_ACTIVE_PARTICIPANTS"
DEMO_INDICATOR = "ACTIVE_PARTICIPANTS"
# The demo's news release in two languages: its figures resolved as of its publication.
NEWS_RELEASE = {
    "id": "peletakan-batu-pertama-gedung-ikn",
    "en": "groundbreaking-of-the-ikn-building",
}
WARM_GOAL_MS = 20
COLD_GOAL_MS = 200


@dataclass(frozen=True)
class Page:
    label: str
    path: str


def pages() -> list[Page]:
    result = []
    for language in ("id", "en"):
        result += [
            Page(f"Home ({language})", f"/{language}/"),
            Page(
                f"Indicator {SYNTHETIC_INDICATOR} ({language})",
                f"/{language}/indikator/{SYNTHETIC_INDICATOR}/",
            ),
            Page(
                f"Indicator {DEMO_INDICATOR} ({language})",
                f"/{language}/indikator/{DEMO_INDICATOR}/",
            ),
            Page(
                f"News release ({language})",
                f"/{language}/siaran-pers/{NEWS_RELEASE[language]}/",
            ),
            Page(
                f"Embed {DEMO_INDICATOR} ({language})",
                f"/{language}/indikator/{DEMO_INDICATOR}/embed/",
            ),
            Page(
                f"XLSX {DEMO_INDICATOR} ({language})",
                f"/{language}/indikator/{DEMO_INDICATOR}/data.xlsx",
            ),
        ]
    return result


# -- set-up --------------------------------------------------------------------------------


def _configure_environment(prefix: str) -> None:
    # This process renders pages too (the query counts): with production settings, so
    # templates are parsed once and cached as under gunicorn (the Makefile's DEBUG=true
    # for local runs does not apply here).
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-pages-" + os.urandom(16).hex())
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench-pages needs PostgreSQL; DATABASE_URL is {url!r}")
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    # The test client in this process and the gunicorn workers share the run's keys.
    os.environ["CACHE_KEY_PREFIX"] = prefix


def _collect_static() -> None:
    """DEBUG off serves hashed static names from the manifest collectstatic writes."""
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "false", "ANGKA_ALLOW_INSECURE_KEY": "1"},
        check=True,
    )


class CacheKeys:
    """Deletes the run's cache entries (every key under its prefix) from Redis."""

    def __init__(self, redis_url: str, prefix: str):
        import redis

        self.client = redis.Redis.from_url(redis_url)
        self.pattern = f"{prefix}:*"

    def clear(self) -> int:
        keys = list(self.client.scan_iter(match=self.pattern, count=1000))
        if keys:
            self.client.delete(*keys)
        return len(keys)

    def count(self) -> int:
        return sum(1 for _key in self.client.scan_iter(match=self.pattern, count=1000))


# -- measurements --------------------------------------------------------------------------


def first_byte(port: int, path: str) -> tuple[float, float, int, str, int]:
    """One GET on a fresh connection: ms to the first byte of the answer and to its end,
    the status, the X-Page-Cache header and the size of the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        started = time.perf_counter()
        sock.sendall(request.encode("ascii"))
        first = sock.recv(65536)
        ttfb = time.perf_counter() - started
        chunks = [first]
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        total = time.perf_counter() - started
    answer = b"".join(chunks)
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status = int(head.split(" ", 2)[1])
    cache_state = ""
    for line in head.split("\r\n")[1:]:
        name, _sep, value = line.partition(":")
        if name.strip().lower() == "x-page-cache":
            cache_state = value.strip()
    return ttfb * 1000, total * 1000, status, cache_state, len(answer)


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def _request(port: int, page: Page, expected: str) -> tuple[float, float, int]:
    ttfb, total, status, state, size = first_byte(port, page.path)
    if status != 200 or state != expected:
        raise RuntimeError(f"{page.path}: answer {status}, X-Page-Cache {state!r} ({expected})")
    return ttfb, total, size


def over_http(port: int, all_pages: list[Page], *, warm: int, cold: int, keys: CacheKeys):
    """Cold: the run's cache emptied before each request; warm: the page cached.

    The pages take turns (one request each per round), so a burst of other work on the
    shared machine falls on all of them alike rather than on one page's run.
    """
    kinds = ("cold", "cold_total", "warm", "warm_total")
    timings = {page.path: {kind: [] for kind in kinds} for page in all_pages}
    sizes = {}
    for _round in range(cold):
        for page in all_pages:
            keys.clear()
            ttfb, total, sizes[page.path] = _request(port, page, "miss")
            timings[page.path]["cold"].append(ttfb)
            timings[page.path]["cold_total"].append(total)
    for page in all_pages:
        first_byte(port, page.path)  # in the cache from here on
    for _round in range(warm):
        for page in all_pages:
            ttfb, total, _size = _request(port, page, "hit")
            timings[page.path]["warm"].append(ttfb)
            timings[page.path]["warm_total"].append(total)
    return {
        path: {**{key: _summary(values) for key, values in measured.items()}, "bytes": sizes[path]}
        for path, measured in timings.items()
    }


def in_process(page: Page, *, runs: int, keys: CacheKeys) -> dict:
    """Django's test client in this process: queries per page cold and warm, time in SQL."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    cold_ms, cpu_ms, sql_ms, counts, slowest = [], [], [], set(), []
    for _ in range(runs):
        keys.clear()
        with CaptureQueriesContext(connection) as queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(page.path)
            cold_ms.append((time.perf_counter() - started) * 1000)
            cpu_ms.append((time.process_time() - cpu_started) * 1000)
        if response.status_code != 200 or response["X-Page-Cache"] != "miss":
            raise RuntimeError(f"{page.path}: in-process cold answer {response.status_code}")
        counts.add(len(queries.captured_queries))
        sql_ms.append(sum(float(query["time"]) for query in queries.captured_queries) * 1000)
        slowest = sorted(queries.captured_queries, key=lambda query: -float(query["time"]))[:3]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page.path)
    if response["X-Page-Cache"] != "hit":
        raise RuntimeError(f"{page.path}: the second in-process request was not a cache hit")
    return {
        "cold_queries": max(counts),
        "warm_queries": len(queries.captured_queries),
        "cold": _summary(cold_ms),
        "cpu": _summary(cpu_ms),
        "sql": _summary(sql_ms),
        "slowest": [(float(query["time"]) * 1000, query["sql"]) for query in slowest],
    }


# -- report --------------------------------------------------------------------------------


def report_section(results: dict) -> str:
    lines = [
        SECTION_START,
        "## Public pages: time to first byte, page cache warm and cold",
        "",
        f"Measured {results['date']} with `make bench-pages`.",
        f"Machine: {results['machine']} The client, gunicorn, Redis and PostgreSQL share the "
        f"2 cores; load average {results['load'][0]:.1f} when the run started, "
        f"{results['load'][1]:.1f} when it ended (other work on the machine counts in it).",
        "",
        f"Data: {results['observations']:,} public observations ({results['synthetic']:,} "
        "synthetic monthly ones from `python -m bench.generate`, the rest the demo) in "
        f"PostgreSQL. Server: gunicorn, {results['server']}, DEBUG off, static files "
        "collected (whitenoise, hashed names), the page cache in Redis.",
        "",
        "Method: one request at a time over loopback on a fresh connection; time to first "
        "byte (TTFB) is from sending the request to the first byte of the answer, as the "
        "client sees it, so it includes loopback and gunicorn's own overhead. **Cold**: "
        "every cache key of the run is deleted from Redis before each request, so the page "
        f"is rendered afresh ({results['cold_runs']} requests per page); **warm**: the page "
        f"is in the page cache ({results['warm_runs']} requests per page). Every answer is "
        "checked: status 200 and `X-Page-Cache: miss` (cold) or `hit` (warm). The pages take "
        "turns, one request each per round. In process: the same page rendered cold by "
        f"Django's test client ({results['in_process_runs']} renders each, DEBUG off too), "
        "with its SQL queries counted and timed and the CPU time of this process (Python's "
        "share; PostgreSQL's work is in the SQL column), which other load on the machine "
        "moves far less than wall time.",
        "",
        "| Page | size, KB | warm TTFB median / p95, ms | cold TTFB median / p95, ms "
        "| cold / warm | queries cold | queries warm | in process cold median, ms "
        "| of it CPU, ms | of it SQL, ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    warm_ok = cold_ok = True
    for page in results["pages"]:
        http, inner = page["http"], page["in_process"]
        warm_ok &= http["warm"]["median"] < WARM_GOAL_MS
        cold_ok &= http["cold"]["median"] < COLD_GOAL_MS
        lines.append(
            f"| `{page['path']}` | {http['bytes'] / 1024:.0f} "
            f"| {http['warm']['median']:.1f} / {http['warm']['p95']:.1f} "
            f"| {http['cold']['median']:.0f} / {http['cold']['p95']:.0f} "
            f"| {http['cold']['median'] / http['warm']['median']:.0f}x "
            f"| {inner['cold_queries']} | {inner['warm_queries']} "
            f"| {inner['cold']['median']:.0f} | {inner['cpu']['median']:.0f} "
            f"| {inner['sql']['median']:.0f} |"
        )
    worst_warm = max(page["http"]["warm"]["p95"] for page in results["pages"])
    worst_cold = max(page["http"]["cold"]["p95"] for page in results["pages"])
    lines += [
        "",
        "Goals of the issue (on the medians; the worst p95 is given beside):",
        "",
        f"- warm pages under {WARM_GOAL_MS} ms at the server: {_goal(warm_ok)} "
        f"(worst p95 {worst_warm:.1f} ms)",
        f"- cold pages under {COLD_GOAL_MS} ms at the server: {_goal(cold_ok)} "
        f"(worst p95 {worst_cold:.0f} ms)",
        "",
        "A warm page costs two Redis reads and no SQL (the page cache's key holds the data "
        "generation of `stats.events`). A cold indicator page of a synthetic "
        f"indicator ({results['series_count']:,} monthly series, {results['points']} months "
        "in its national series) renders the data table and the revision history of those "
        "months (their texts formatted once per distinct value in the view), the breakdowns "
        "(latest values looked up only for the few dozen series that break one dimension "
        "down, which PostgreSQL picks by their dimensions), the filters' codes (one index "
        "probe per code), the chart and the tile map. No query dominates; the slowest of a cold "
        f"`{results['pages'][1]['path']}`:",
        "",
        "| ms | query (start) |",
        "| ---: | --- |",
    ]
    for milliseconds, sql in results["pages"][1]["in_process"]["slowest"]:
        text = " ".join(sql.split())[:140].replace("|", "\\|")
        lines.append(f"| {milliseconds:.1f} | `{text}...` |")
    lines += [
        "",
        "Reproduce: `make bench-pages` (PostgreSQL at DATABASE_URL, default "
        f"`{DEFAULT_DATABASE_URL}`, created and filled when missing, about a minute the "
        f"first time; Redis at REDIS_URL, default `{DEFAULT_REDIS_URL}`). `--warm` and "
        "`--cold` set the requests per page.",
        SECTION_END,
    ]
    return "\n".join(lines)


def _synthetic_sizes() -> dict:
    from stats.models import Series
    from stats.selectors import observations_public

    series = Series.objects.filter(indicator__code=SYNTHETIC_INDICATOR, frequency="M")
    national = series.get(key="region=ID,segment=_T,program=_T")
    points = observations_public().filter(series=national).count()
    return {"series_count": series.count(), "points": points}


def write_report(section: str) -> None:
    section_write(section, start=SECTION_START, end=SECTION_END, report=REPORT)


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warm", type=int, default=300, help="warm requests per page")
    parser.add_argument("--cold", type=int, default=60, help="cold requests per page")
    parser.add_argument(
        "--in-process", type=int, default=10, help="cold renders per page in process"
    )
    parser.add_argument(
        "--no-report", action="store_true", help="print the numbers; leave BENCHMARKS.md alone"
    )
    args = parser.parse_args(argv)
    if min(args.warm, args.cold, args.in_process) < 1:
        parser.error("--warm, --cold and --in-process must be at least 1")

    prefix = f"bench-pages-{os.getpid()}-{int(time.time())}"
    _configure_environment(prefix)
    data = _database_prepare(OBSERVATIONS)
    _collect_static()
    keys = CacheKeys(os.environ["REDIS_URL"], prefix)
    gunicorn = gunicorn_settings()
    results = {
        "date": dt.date.today().isoformat(),
        "machine": _machine_note(),
        "server": "{workers} workers of {threads} threads ({worker_class}{preloaded}), "
        "`config/gunicorn.conf.py`".format(
            **gunicorn, preloaded=", app preloaded" if gunicorn["preload"] else ""
        ),
        "warm_runs": args.warm,
        "cold_runs": args.cold,
        "in_process_runs": args.in_process,
        **data,
        "pages": [],
    }
    results.update(_synthetic_sizes())
    load_before = os.getloadavg()[0]
    port = _free_port()
    server = gunicorn_start(port, cache_seconds=600, prefix=prefix)
    try:
        for page in pages():
            # Every worker renders the page once, so no timing includes a first import.
            for _ in range(gunicorn["workers"] * gunicorn["threads"]):
                keys.clear()
                first_byte(port, page.path)
        measured = over_http(port, pages(), warm=args.warm, cold=args.cold, keys=keys)
    finally:
        _stop(server)
    for page in pages():
        http = measured[page.path]
        results["pages"].append({"label": page.label, "path": page.path, "http": http})
        print(f"{page.path}: warm {http['warm']}, cold {http['cold']}", file=sys.stderr)
    for page, entry in zip(pages(), results["pages"], strict=True):
        entry["in_process"] = in_process(page, runs=args.in_process, keys=keys)
        print(f"{page.path}: in process {entry['in_process']['cold']}", file=sys.stderr)
    keys.clear()
    results["load"] = (load_before, os.getloadavg()[0])
    section = report_section(results)
    print(section)
    if not args.no_report:
        write_report(section)
        print("updated BENCHMARKS.md", file=sys.stderr)


if __name__ == "__main__":
    main()
