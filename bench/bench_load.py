"""Benchmark: the site under sustained load while a release is published.

Run with ``make bench-load`` (or ``.venv/bin/python -m bench.bench_load``). It needs
PostgreSQL (DATABASE_URL, by default postgres://postgres@127.0.0.1:5432/angka_bench_load,
created and migrated when missing) and Redis (REDIS_URL, by default
redis://127.0.0.1:6379/0: give it a database number no other Celery worker listens on,
since the publication queues its recompute there). It

* loads the demo and generates synthetic observations (``bench.generate``; 2,000,000
  unless ``--observations`` says otherwise) unless they are there already;
* serves the site with gunicorn as the README's production section says
  (``config/gunicorn.conf.py``, DEBUG off, the response cache on), with a Celery worker;
* runs the JSON query mix of ``make bench-api`` ((1) one monthly series, (2) a
  cross-section, (3) a filtered page of 1,000 rows) plus the home page and an indicator
  page, for SECONDS (60) at CONNECTIONS (64) in all: one wrk process per path, the
  connections shared out among them;
* half-way through, publishes a release that revises values every one of those
  responses shows (the system publishing, as the beat job does);
* checks that nothing failed (no socket error, no answer other than 200 or 304) and that
  no response mixes the data before and after the publication: wrk records, for every
  response, its ETag and body length, and a checker on one more connection hashes every
  body it gets, so that one ETag must always come with one body.

The result goes into its section of BENCHMARKS.md. Rate limits are off for the run.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import http.client
import io
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import bench_api
from bench.report import section_write

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/angka_bench_load"
SECTION_START = "<!-- bench-load:start -->"
SECTION_END = "<!-- bench-load:end -->"
CONNECTIONS = 64
SECONDS = 60
LUA = ROOT / "bench" / "load.lua"
PAGE_INDICATOR = bench_api.SERIES_INDICATOR


def paths() -> list[tuple[str, str]]:
    """(label, path): bench-api's JSON queries, the home page, an indicator page."""
    return [(query.label, query.angka) for query in bench_api.queries()] + [
        ("home page", "/id/"),
        (f"indicator page ({PAGE_INDICATOR})", f"/id/indikator/{PAGE_INDICATOR}/"),
    ]


def revision_rows() -> list[tuple[str, str, str, str, str, str]]:
    """Values that every path of the mix shows, revised (stamped with the run's second,
    so that a rerun revises them again)."""
    from stats.models import Observation

    stamp = int(time.time()) % 1000
    rows = []
    for indicator, region, period in (
        (bench_api.SERIES_INDICATOR, "ID", bench_api.CROSS_SECTION_PERIOD),
        (bench_api.SERIES_INDICATOR, "ID", "2025-11"),
        (bench_api.PAGE_INDICATOR, bench_api.PAGE_REGION, bench_api.CROSS_SECTION_PERIOD),
    ):
        current = (
            Observation.objects.current()
            .filter(
                series__indicator__code=indicator,
                series__dimensions__contains={"region": region, "segment": "_T", "program": "_T"},
                period=period,
            )
            .values_list("value", flat=True)
            .first()
        )
        base = int(current or 1_000_000)
        rows.append((indicator, region, "_T", "_T", period, str(base + 1 + stamp)))
    return rows


def draft_prepare():
    """A draft release with the revisions, ready to publish half-way through."""
    from publications.services import release_create, release_observations_import
    from stats.services import ImportReport

    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    release = release_create(
        slug=f"bench-load-{stamp}", title_id="Revisi bench-load", title_en="bench-load revision"
    )
    buffer = io.StringIO()
    buffer.write("indicator,region,segment,program,period,value,status,note\n")
    for row in revision_rows():
        buffer.write(",".join(row) + ",normal,\n")
    buffer.seek(0)
    report: ImportReport = release_observations_import(release=release, stream=buffer, commit=True)
    if not report.ok:
        raise RuntimeError(f"the revision did not import: {report.errors}")
    return release


class Checker(threading.Thread):
    """One more connection, fetching the paths in turn for the whole run: every body is
    hashed and filed under its path and ETag."""

    def __init__(self, port: int, targets: list[str]):
        super().__init__(daemon=True)
        self.port, self.targets = port, targets
        self.stop = threading.Event()
        self.bodies: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
        self.responses = 0
        self.failures: list[str] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stop.is_set():
            for path in self.targets:
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as error:
                    self.failures.append(f"{path}: {error!r}")
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    continue
                self.responses += 1
                if response.status not in (200, 304):
                    self.failures.append(f"{path}: HTTP {response.status}")
                etag = response.getheader("ETag")
                if etag:  # the pages carry none: only their status is checked
                    self.bodies[(path, etag)].add(hashlib.sha256(body).hexdigest())
        connection.close()


def wrk_start(port: int, path: str, connections: int, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}{path}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wrk_result(process: subprocess.Popen) -> dict:
    output, _ = process.communicate()
    match = re.search(r"^RESULT (\{.*\})$", output, flags=re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk gave no result:\n{output}")
    return json.loads(match.group(1))


def worker_start(queues: str = "celery") -> subprocess.Popen:
    """A Celery worker on ``queues``; the benchmarks start one for "celery" and one for
    "publish", as deploy/ does (a release is not held behind a long task)."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-load-" + os.urandom(16).hex(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    return subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "celery"),
            "--quiet",
            "-A",
            "config",
            "worker",
            "--concurrency=1",
            f"--queues={queues}",
            f"--hostname={queues}-{os.getpid()}@%h",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def run(observations: int, connections: int, seconds: int) -> dict:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    port = bench_api._free_port()
    # The cache generation that a publication ends lives in the cache: this process (which
    # publishes), gunicorn and the worker must share the key prefix.
    os.environ["CACHE_KEY_PREFIX"] = f"bench-load-{port}"
    bench_api._configure_environment()
    data = bench_api._database_prepare(observations)
    from django.utils import timezone

    from publications.services import release_publish

    release = draft_prepare()
    from bench.bench_pages import _collect_static

    _collect_static()  # DEBUG off serves the static files' hashed names
    targets = paths()
    share = [connections // len(targets)] * len(targets)
    for i in range(connections - sum(share)):
        share[i] += 1
    # One connection of the total is the checker's.
    share[-1] -= 1
    server = bench_api.gunicorn_start(port, cache_seconds=600, prefix=f"bench-load-{port}")
    worker = worker_start()
    try:
        for _label, path in targets:  # warm the caches, and fail early on a bad path
            status, _body = bench_api.http_get(port, path)
            if status != 200:
                raise RuntimeError(f"{path} answered {status} before the run")
        load_before = os.getloadavg()[0]
        checker = Checker(port, [path for _label, path in targets])
        checker.start()
        started = time.monotonic()
        runs = [
            wrk_start(port, path, count, seconds)
            for (_label, path), count in zip(targets, share, strict=True)
        ]
        time.sleep(seconds / 2)
        published_after = time.monotonic() - started
        release_publish(release=release)
        publish_seconds = time.monotonic() - started - published_after
        published_at = timezone.now()
        results = [wrk_result(process) for process in runs]
        checker.stop.set()
        checker.join(timeout=60)
    finally:
        bench_api._stop(server)
        bench_api._stop(worker)
    return {
        "data": data,
        "gunicorn": bench_api.gunicorn_settings(),
        "targets": targets,
        "share": share,
        "results": results,
        "checker": checker,
        "published_after": published_after,
        "publish_seconds": publish_seconds,
        "published_at": published_at,
        "release": release.slug,
        "load_before": load_before,
        "connections": connections,
        "seconds": seconds,
        "observations": observations,
    }


def verdict(outcome: dict) -> dict:
    results, checker = outcome["results"], outcome["checker"]
    errors = sum(r["connect"] + r["read"] + r["write"] + r["timeout"] for r in results)
    not_ok = sum(r["bad"] for r in results) + sum(
        1 for failure in checker.failures if "HTTP" in failure
    )
    mixed_lengths = sum(r["mixed"] for r in results)
    mixed_bodies = {key: len(hashes) for key, hashes in checker.bodies.items() if len(hashes) > 1}
    # Versions per path: the ETags the load and the checker saw.
    versions = [
        sorted(set(r["etags"]) | {etag for (p, etag) in checker.bodies if p == path})
        for r, (_label, path) in zip(results, outcome["targets"], strict=True)
    ]
    return {
        "errors": errors + sum(1 for failure in checker.failures if "HTTP" not in failure),
        "not_ok": not_ok,
        "mixed": mixed_lengths + len(mixed_bodies),
        "mixed_bodies": mixed_bodies,
        "versions": versions,
    }


def bench_api_p99() -> dict[str, str]:
    """The p99 (ms) of each JSON query in bench-api's section, at its 16 connections with
    the response cache on: query label prefix, e.g. "(1)", to the figure."""
    text = bench_api.REPORT.read_text(encoding="utf-8") if bench_api.REPORT.exists() else ""
    match = re.search(
        re.escape(bench_api.SECTION_START) + ".*?" + re.escape(bench_api.SECTION_END),
        text,
        flags=re.DOTALL,
    )
    figures = {}
    for line in (match.group(0) if match else "").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) >= 4 and re.match(r"^\(\d\)", cells[0]):
            # Columns: query, rows, no cache (req/s, p50, p99), cache (req/s, p50, p99), ...
            figures[cells[0][:3]] = cells[3].split(",")[-1].strip()
    return figures


def _ms(microseconds: float) -> str:
    return f"{microseconds / 1000:,.0f}" if microseconds >= 10_000 else f"{microseconds / 1000:.1f}"


def section(outcome: dict, checks: dict) -> str:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (pg_version,) = cursor.fetchone()
    results = outcome["results"]
    total = sum(r["requests"] for r in results)
    seconds = max(r["seconds"] for r in results)
    gunicorn = outcome["gunicorn"]
    rows = []
    at_16 = bench_api_p99()
    for (label, _path), count, r, etags in zip(
        outcome["targets"], outcome["share"], results, checks["versions"], strict=True
    ):
        rows.append(
            f"| {label} | {count} | {r['requests']:,} | {r['requests'] / r['seconds']:,.0f} | "
            f"{_ms(r['p50_us'])} | {_ms(r['p99_us'])} | {_ms(r['max_us'])} | "
            f"{r['bad'] + r['connect'] + r['read'] + r['write'] + r['timeout']} | "
            f"{len([e for e in etags if e != 'none']) or 'no ETag'} | "
            f"{at_16.get(label[:3], '')} |"
        )
    p50_median = statistics.median(r["p50_us"] for r in results)
    worst_p99 = max(r["p99_us"] for r in results)
    data = outcome["data"]
    ok = checks["errors"] == 0 and checks["not_ok"] == 0 and checks["mixed"] == 0
    lines = [
        SECTION_START,
        "## bench-load: 64 connections for a minute, a release published half-way",
        "",
        f"Measured {dt.date.today().isoformat()} with `make bench-load` "
        f"(`.venv/bin/python -m bench.bench_load --observations "
        f"{outcome['observations']}`).",
        f"Machine: {os.cpu_count()} cores, shared with other work: the load average (1 min) "
        f"was {outcome['load_before']:.1f} before the run. Python "
        f"{sys.version.split()[0]}, Django {django.get_version()}, PostgreSQL {pg_version} "
        "on the same machine; wrk, gunicorn, the Celery worker, Redis and PostgreSQL share "
        "the cores.",
        "",
        f"Data: {data['observations']:,} public observations ({data['synthetic']:,} "
        "synthetic monthly ones from `bench.generate`, the rest the demo). gunicorn, "
        f"`config/gunicorn.conf.py`: {gunicorn['workers']} workers of {gunicorn['threads']} "
        "threads, application preloaded, DEBUG off, response cache on (Redis), rate limits "
        "off for the run; a Celery worker runs beside it.",
        "",
        f"Load: {outcome['connections']} connections over loopback for "
        f"{outcome['seconds']} s: one wrk process per path with the connection count "
        "below, plus one checker connection that fetches the paths in turn and hashes "
        f"every body. After {outcome['published_after']:.0f} s the system published release "
        f"`{outcome['release']}` (revisions of values that every path shows; "
        f"{outcome['publish_seconds']:.2f} s to publish). Latencies in ms, from wrk.",
        "",
        "| Path | connections | requests | req/s | p50 | p99 | max | errors | ETags seen "
        "| bench-api p99 at 16 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"All paths: {total:,} requests in {seconds:.0f} s ({total / seconds:,.0f} req/s), "
        f"median of the paths' p50 {_ms(p50_median)} ms, worst p99 {_ms(worst_p99)} ms; "
        f"the checker made {outcome['checker'].responses:,} requests more.",
        "",
        f"- socket errors and timeouts: **{checks['errors']}**",
        f"- answers other than 200/304: **{checks['not_ok']}**",
        f"- responses mixing two versions (one ETag with two body lengths in wrk, or two "
        f"body hashes in the checker): **{checks['mixed']}**",
        f"- verdict: **{'met' if ok else 'NOT met'}**. The API paths showed two ETags each "
        "(before and after the publication); the pages carry no ETag, so for them only "
        "the status is checked.",
        "",
        "The last column is the p99 of the same query in `make bench-api` above (alone, 16 "
        "connections, response cache on, measured in its own run on a machine loaded "
        "differently); here the five paths share 64 connections, so each request waits "
        "behind about 63 others, and by Little's law the mean latency is the connection "
        "count over the rate. Compare the two runs' latencies only with their load "
        "averages in mind.",
        SECTION_END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--observations", type=int, default=bench_api.OBSERVATIONS)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    args = parser.parse_args(argv)
    outcome = run(args.observations, args.connections, args.seconds)
    checks = verdict(outcome)
    text = section(outcome, checks)
    print(text)
    if checks["mixed_bodies"]:
        print(f"mixed bodies: {checks['mixed_bodies']}", file=sys.stderr)
    if not args.no_write:
        section_write(text, start=SECTION_START, end=SECTION_END)
    return 0 if checks["errors"] == 0 and checks["not_ok"] == 0 and checks["mixed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
