"""Benchmark: the release instant, with Varnish in front and a streaming replica.

Run with ``make bench-release-day`` (or ``.venv/bin/python -m bench.bench_release_day``;
``--help`` for the options). It needs the PostgreSQL binaries (initdb, pg_ctl,
pg_basebackup), Redis (REDIS_URL's server, by default 127.0.0.1:6379; the run uses a
database of its own, below), Varnish with varnish-modules (xkey) and wrk.

* A throwaway PostgreSQL primary and one streaming replica of it (pg_basebackup -R, the
  operator's snippets of deploy/replica: ``tests.postgres_cluster``), in a temporary
  directory; the demo and ``bench.generate``'s observations (2,000,000 unless
  ``--observations`` says otherwise) loaded into the primary and replayed by the replica.
* A release of one new month (the month after the synthetic data's last) for every
  synthetic series, imported as drafts, submitted, approved by a second person and
  scheduled, as the staff would.
* gunicorn (``config/gunicorn.conf.py``, DEBUG off, public reads on the replica:
  ``DATABASE_REPLICA_URLS``), two Celery workers as deploy/ runs them (the general one,
  and one on the queue "publish" alone), and Varnish with the VCL users deploy
  (``deploy/varnish/angka.vcl``), which the publication purges (``HTTP_CACHE_PURGE_URLS``).
* CLIENTS (256) keep-alive connections of wrk through Varnish, for SECONDS (60) in three
  consecutive runs (before, during and after the instant): one wrk process per URL of the
  mix (``targets``), the connections shared out by weight, ``bench/load.lua`` with its
  body checks off, so that wrk measures the cache and not its own Lua. Every client
  sends ``Accept-Encoding: gzip``, as browsers do (Varnish stores text answers
  gzipped). The checks run apart (``Checker``): one connection per URL, asking for it
  every CHECK_INTERVAL seconds, hashing every (unzipped) body. The release is
  scheduled for second INSTANT (20) of the load, so the data generation and every
  max-age end then, and the publishing worker's scheduled task publishes it (the
  benchmark does, as the beat job would, should the task not have run a few seconds
  later). Then wrk alone on the smallest answer gives the machine's ceiling at that
  moment.
* Redis: database REDIS_DB (13; ``--redis-db``) of REDIS_URL's server, emptied at the
  start and the end, so that nothing an earlier run queued reaches this one.

It reports, per window: requests/s, p50 and p99 through the cache (wrk), per URL and in
all, and at the origin (gunicorn's access log, each line stamped when it is read);
Varnish's hits; the origin requests per URL in the second after the instant; the seconds
from the instant until every URL showed the new data (the checker's first new answer
and last old one); responses mixing old and new data or with an ETag not matching their
body; errors (wrk's counts and the checker's). Everything it starts is stopped, and the
cluster removed, on failure and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import gzip
import hashlib
import http.client
import io
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import bench_api, bench_load
from bench.report import section_write

ROOT = Path(__file__).resolve().parent.parent
SECTION_START = "<!-- bench-release-day:start -->"
SECTION_END = "<!-- bench-release-day:end -->"
CLIENTS = 256
SECONDS = 60
INSTANT = 20
# The "during" window: from a second before the instant to this many seconds after it.
DURING_AFTER = 9
DATABASE = "angka_release_day"
# The generated series end in December of bench.generate.LAST_YEAR; the release adds
# the month after.
NEW_PERIOD = "2026-01"
# How the indicator pages name it (stats.formatting.period_label).
NEW_PERIOD_LABEL_ID = "Januari 2026"
RELEASE_PREFIX = "hari-rilis"
# Goals of the cached path (issue 16).
GOAL_RATE = 20_000
GOAL_P99_MS = 20
GOAL_VISIBLE_S = 2
# The primary and the replica: room for gunicorn's threads, the worker and this process
# on each, and memory for the data's working set.
CLUSTER_SETTINGS = """
max_connections = 100
shared_buffers = 512MB
effective_cache_size = 2GB
work_mem = 16MB
maintenance_work_mem = 256MB
"""
PUBLISHED_SQL = "SELECT published_at IS NOT NULL FROM publications_release WHERE id = %s"
# How often the commit watch asks the primary and the replica whether the release is
# published (seconds).
COMMIT_POLL = 0.005
# The checker asks for each URL this often (seconds between its answer and its next
# request): the resolution of the visibility figures.
CHECK_INTERVAL = 0.02
# What every client of the run sends, as browsers do: Varnish serves the text answers it
# stores gzipped to those that accept it (deploy/varnish/angka.vcl).
ACCEPT_ENCODING = {"Accept-Encoding": "gzip"}
# The weights of the mix add up to this (``targets``).
MIX_WEIGHT = 16
# The Redis database of the run (cache, Celery broker): emptied at its start and end, so
# that nothing queued by an earlier run (a purge retried for a Varnish that is gone)
# reaches this one. Nothing else may use it.
REDIS_DB = 13
# wrk alone against the smallest answer of the mix, after the run: what Varnish and wrk
# reach on this machine at that moment, to read the mix's rates against.
CEILING_SECONDS = 10
CEILING_THREADS = 2
# Seconds between setting the release's time and the load's start (the rescheduling
# precomputes the derived values again), and after the release's time before the
# benchmark publishes it itself if the worker has not.
SCHEDULE_LEAD = 15
FALLBACK_AFTER = 5


@dataclass
class Target:
    """One URL of the mix: ``weight`` sixteenths of the connections ask for it;
    ``marker`` is a text only the new data contain (None: the URL shows nothing of the
    release)."""

    label: str
    path: str
    weight: int
    marker: str | None


def targets(release_slug: str) -> list[Target]:
    """The release-day mix: the home page, three indicator pages, five API queries and
    one CSV, weighted towards the pages (``connections_share``)."""
    q = urllib.parse.urlencode
    series = {"indicator": "SYN_ACTIVE_PARTICIPANTS", "region": "ID", "segment": "_T"}
    observations = "/api/v1/observations/?"
    return [
        Target("home page", "/id/", 4, release_slug),
        Target(
            "indicator page SYN_ACTIVE_PARTICIPANTS",
            "/id/indikator/SYN_ACTIVE_PARTICIPANTS/",
            2,
            NEW_PERIOD_LABEL_ID,
        ),
        Target(
            "indicator page SYN_NEW_REGISTRATIONS",
            "/id/indikator/SYN_NEW_REGISTRATIONS/",
            2,
            NEW_PERIOD_LABEL_ID,
        ),
        Target(
            "indicator page SYN_COVERAGE_RATE",
            "/id/indikator/SYN_COVERAGE_RATE/",
            2,
            NEW_PERIOD_LABEL_ID,
        ),
        Target(
            "API: one monthly series, national total",
            observations + q({**series, "program": "_T", "page_size": 1000}),
            1,
            NEW_PERIOD,
        ),
        Target(
            "API: cross-section of the new month, every region",
            observations
            + q(
                {
                    "indicator": "SYN_ACTIVE_PARTICIPANTS",
                    "segment": "_T",
                    "program": "_T",
                    "period_start": NEW_PERIOD,
                    "period_end": NEW_PERIOD,
                    "page_size": 1000,
                }
            ),
            1,
            NEW_PERIOD,
        ),
        Target(
            "API: the last year of every national series of an indicator",
            observations
            + q(
                {
                    "indicator": "SYN_NEW_REGISTRATIONS",
                    "region": "ID",
                    "period_start": "2025-01",
                    "page_size": 1000,
                }
            ),
            1,
            NEW_PERIOD,
        ),
        Target("API: releases", "/api/v1/releases/", 1, release_slug),
        Target(
            "API: series of an indicator, national",
            "/api/v1/series/?" + q({"indicator": "SYN_ACTIVE_PARTICIPANTS", "region": "ID"}),
            1,
            NEW_PERIOD,
        ),
        Target(
            "CSV: every national series of an indicator",
            observations + q({"indicator": "SYN_COVERAGE_RATE", "region": "ID", "format": "csv"}),
            1,
            NEW_PERIOD,
        ),
    ]


def connections_share(mix: list[Target], clients: int) -> list[int]:
    """The load's connections per URL of the mix, by weight (one wrk process each)."""
    total = sum(target.weight for target in mix)
    share = [clients * target.weight // total for target in mix]
    for i in range(clients - sum(share)):
        share[i % len(share)] += 1
    return share


# -- the release ------------------------------------------------------------------------


def new_month_rows() -> list[tuple[str, str, str, str, str, str]]:
    """One row of NEW_PERIOD for every synthetic series: its December value again (a
    valid value for any unit: the month's figures are not the point)."""
    from stats.models import Observation

    current = (
        Observation.objects.current()
        .filter(series__indicator__code__startswith="SYN_", period=NEW_PERIOD_PREVIOUS)
        .values_list("series__indicator__code", "series__dimensions", "value")
        .order_by("series_id")
    )
    return [
        (code, d["region"], d["segment"], d["program"], NEW_PERIOD, str(value))
        for code, d, value in current
    ]


NEW_PERIOD_PREVIOUS = "2025-12"


def staff_users():
    """A data-entry clerk and two reviewers (the roles of migration 0004)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from publications.models import ROLE_DATA_ENTRY, ROLE_REVIEWER

    users = []
    for username, role in (
        ("bench-entri", ROLE_DATA_ENTRY),
        ("bench-peninjau", ROLE_REVIEWER),
        ("bench-peninjau2", ROLE_REVIEWER),
    ):
        user, _created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True}
        )
        user.groups.set(Group.objects.filter(name=role))
        users.append(get_user_model().objects.get(pk=user.pk))
    return users


def release_prepare() -> tuple[object, int]:
    """The release of the new month: imported by a clerk, submitted, approved by a second
    person, scheduled for a time after the run (``release_reschedule`` moves it to the
    instant once the servers are up). Returns it and its number of observations."""
    from publications.services import (
        release_approve,
        release_create,
        release_observations_import,
        release_schedule,
        release_submit,
    )

    clerk, reviewer, second = staff_users()
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    release = release_create(
        slug=f"{RELEASE_PREFIX}-{stamp}",
        # No period in the title: the pages may announce the scheduled release before the
        # instant, and the period is the new data's marker.
        title_id="Data bulanan sintetis (hari rilis)",
        title_en="Synthetic monthly data (release day)",
    )
    rows = new_month_rows()
    if not rows:
        raise RuntimeError(f"no synthetic series has a value for {NEW_PERIOD_PREVIOUS}")
    buffer = io.StringIO()
    buffer.write("indicator,region,segment,program,period,value,status,note\n")
    for row in rows:
        buffer.write(",".join(row) + ",normal,\n")
    buffer.seek(0)
    report = release_observations_import(release=release, stream=buffer, commit=True, user=clerk)
    if not report.ok:
        raise RuntimeError(f"the new month did not import: {report.errors[:5]}")
    release = release_submit(release=release, user=clerk)
    release = release_approve(release=release, user=second)
    from django.utils import timezone

    release = release_schedule(
        release=release, user=reviewer, scheduled_for=timezone.now() + dt.timedelta(hours=6)
    )
    return release, len(rows)


# -- the origin's access log --------------------------------------------------------------

# The load balancer's health checks (Varnish's probe): not traffic.
PROBE_PATHS = ("/healthz", "/readyz")
ACCESS_LINE = re.compile(r'^(\d{3}) (\d+) "(\S+) (\S+) HTTP/[\d.]+"$')


@dataclass(frozen=True)
class OriginRequest:
    """One line of gunicorn's access log: ``end`` is when it was read (epoch seconds)."""

    end: float
    status: int
    duration_ms: float
    method: str
    path: str

    @property
    def start(self) -> float:
        return self.end - self.duration_ms / 1000


def access_line_parse(line: str, read_at: float) -> OriginRequest | None:
    """A line of ``bench_api.ACCESS_LOG_FORMAT``, else None (gunicorn's other output and
    the health checks of ``PROBE_PATHS``)."""
    found = ACCESS_LINE.match(line.strip())
    if found is None:
        return None
    status, duration, method, path = found.groups()
    if path.startswith(PROBE_PATHS):
        return None
    return OriginRequest(read_at, int(status), int(duration) / 1000, method, path)


class AccessLog(threading.Thread):
    """Reads gunicorn's access log from its standard output as it comes, stamping each
    line with the time it was read (gunicorn writes the line when the answer is sent)."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.requests: list[OriginRequest] = []

    def run(self) -> None:
        for line in self.stream:
            parsed = access_line_parse(line, time.time())
            if parsed is not None:
                self.requests.append(parsed)


# -- summaries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    name: str
    start: float  # epoch seconds
    end: float


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def origin_window(requests: list[OriginRequest], window: Window) -> dict:
    """The origin's answers that ended in ``window``: count, rate, p50 and p99 (ms)."""
    inside = [r for r in requests if window.start <= r.end < window.end]
    durations = [r.duration_ms for r in inside]
    seconds = window.end - window.start
    return {
        "requests": len(inside),
        "rate": len(inside) / seconds if seconds > 0 else 0.0,
        "p50": percentile(durations, 0.5),
        "p99": percentile(durations, 0.99),
        "errors": sum(1 for r in inside if r.status >= 400),
    }


def origin_requests_per_url(
    requests: list[OriginRequest], start: float, seconds: float = 1.0
) -> dict[str, int]:
    """How many requests for each URL reached the origin in the ``seconds`` after
    ``start`` (by the time each began: its end minus its duration)."""
    counts: collections.Counter[str] = collections.Counter()
    for request in requests:
        if start <= request.start < start + seconds and request.method in ("GET", "HEAD"):
            counts[request.path] += 1
    return dict(counts)


def latency_points(result: dict) -> list[tuple[float, float]]:
    """One wrk run's latency distribution as (share of responses, microseconds) points,
    from its minimum through the percentiles of ``bench/load.lua`` to its maximum."""
    points = [(0.0, float(result.get("min_us", 0)))]
    points += [(percent / 100, float(value)) for percent, value in result.get("percentiles", [])]
    points.append((1.0, float(result["max_us"])))
    return points


def share_below(points: list[tuple[float, float]], value: float) -> float:
    """The share of a run's responses at or under ``value`` microseconds, linear
    between its points."""
    if value < points[0][1]:
        return 0.0
    for (share_a, value_a), (share_b, value_b) in itertools.pairwise(points):
        if value <= value_b:
            if value_b == value_a:
                return share_b
            return share_a + (share_b - share_a) * (value - value_a) / (value_b - value_a)
    return 1.0


def mix_percentile(results: list[dict], share: float) -> float | None:
    """The latency (microseconds) under which ``share`` of the responses of several wrk
    runs fall: each run's distribution from its percentiles (``share_below``), weighted
    by its responses; None without responses. Exact at the runs' own points, linear in
    between."""
    runs = [(r["requests"], latency_points(r)) for r in results if r["requests"]]
    total = sum(n for n, _points in runs)
    if not total:
        return None
    low = min(points[0][1] for _n, points in runs)
    high = max(points[-1][1] for _n, points in runs)
    for _ in range(60):  # bisection to well under a microsecond
        middle = (low + high) / 2
        if sum(n * share_below(points, middle) for n, points in runs) / total >= share:
            high = middle
        else:
            low = middle
    return high


SOCKET_ERRORS = ("connect", "read", "write", "timeout")


def origin_requests_after_purge(
    requests: list[OriginRequest], urls: dict[str, UrlCheck], seconds: float = 1.0
) -> dict[str, int]:
    """Per URL that shows the release: the origin requests for it that began in the
    ``seconds`` after the checker's last old answer of it (the purge reached Varnish
    after that answer and before the checker's next one)."""
    counts = {}
    for path, check in urls.items():
        if not check.marker or check.last_old is None or check.first_new is None:
            continue
        start = check.last_old
        counts[path] = sum(
            1
            for r in requests
            if r.path == path and r.method in ("GET", "HEAD") and start <= r.start < start + seconds
        )
    return counts


def results_merge(per_url: dict[str, dict]) -> dict:
    """The wrk runs of one window (one process per URL, ``bench/load.lua`` with bodies
    off) as one: requests and errors added up, p50 and p99 those of every response of
    the mix (``mix_percentile``); each URL's own figures (wrk's) in ``urls``."""
    runs = list(per_url.values())
    return {
        "requests": sum(r["requests"] for r in runs),
        "seconds": max((r["seconds"] for r in runs), default=0.0),
        "p50_us": round(mix_percentile(runs, 0.5) or 0),
        "p99_us": round(mix_percentile(runs, 0.99) or 0),
        "max_us": max((r["max_us"] for r in runs), default=0),
        **{kind: sum(r[kind] for r in runs) for kind in SOCKET_ERRORS},
        # wrk's own count of answers other than 2xx/3xx (bench/load.lua reads no status
        # when bodies are off).
        "status": sum(r["status"] for r in runs),
        "urls": {
            path: {
                "requests": r["requests"],
                "seconds": r["seconds"],
                "p50_us": r["p50_us"],
                "p99_us": r["p99_us"],
                "errors": sum(r[kind] for kind in SOCKET_ERRORS) + r["status"],
            }
            for path, r in per_url.items()
        },
    }


@dataclass
class UrlCheck:
    """What the checker saw of one URL; times are epoch seconds, when the answer had been
    read."""

    path: str
    marker: str | None
    responses: int = 0
    old: int = 0
    new: int = 0
    last_old: float | None = None
    first_new: float | None = None
    # Old answers after a new one: a client sent back in time.
    old_after_new: int = 0
    # New bodies by how many times the marker occurs in them.
    marker_counts: collections.Counter = field(default_factory=collections.Counter)
    # ETag -> the hashes of the bodies that came with it.
    bodies: dict[str, set[str]] = field(default_factory=lambda: collections.defaultdict(set))
    failures: list[str] = field(default_factory=list)

    def record(self, status: int, etag: str | None, body: bytes, at: float) -> None:
        self.responses += 1
        if status not in (200, 304):
            self.failures.append(f"{self.path}: HTTP {status}")
            return
        if status == 304:
            return
        if etag:  # the pages carry none: only their status and marker are checked
            self.bodies[etag].add(hashlib.blake2b(body, digest_size=16).hexdigest())
        if not self.marker:
            return
        found = body.count(self.marker.encode())
        if found:
            self.new += 1
            self.marker_counts[found] += 1
            if self.first_new is None:
                self.first_new = at
        else:
            self.old += 1
            self.last_old = at
            if self.first_new is not None:
                self.old_after_new += 1


class CommitWatch(threading.Thread):
    """When the release's publication became visible on the primary and on the replica
    (epoch seconds): each asked every COMMIT_POLL seconds from the scheduled time on, so
    that the report can split the time to the purge into the publication's own
    transaction and the replica's replay."""

    def __init__(self, release_id: int, scheduled: float, urls: dict[str, str]):
        super().__init__(daemon=True)
        self.release_id = release_id
        self.scheduled = scheduled
        self.urls = urls
        self.seen: dict[str, float] = {}

    def run(self) -> None:
        connections = {
            name: psycopg.connect(url, autocommit=True) for name, url in self.urls.items()
        }
        try:
            time.sleep(max(0.0, self.scheduled - time.time()))
            while len(self.seen) < len(connections) and time.time() < self.scheduled + 60:
                for name, connection in connections.items():
                    if (
                        name not in self.seen
                        and connection.execute(
                            PUBLISHED_SQL,
                            (self.release_id,),
                        ).fetchone()[0]
                    ):
                        self.seen[name] = time.time()
                time.sleep(COMMIT_POLL)
        finally:
            for connection in connections.values():
                connection.close()


class Checker:
    """The correctness checks, apart from the load: one thread and one keep-alive
    connection per URL of the mix, each asking for its URL every CHECK_INTERVAL seconds
    for the whole run, hashing every body and looking for the new data's marker."""

    def __init__(self, port: int, mix: list[Target], interval: float = CHECK_INTERVAL):
        self.port, self.interval = port, interval
        self.urls = {target.path: UrlCheck(target.path, target.marker) for target in mix}
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._poll, args=(check,), daemon=True)
            for check in self.urls.values()
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=timeout)

    @property
    def responses(self) -> int:
        return sum(check.responses for check in self.urls.values())

    @property
    def failures(self) -> list[str]:
        return [failure for check in self.urls.values() for failure in check.failures]

    def _poll(self, check: UrlCheck) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stop.wait(self.interval):
            try:
                connection.request("GET", check.path, headers=ACCEPT_ENCODING)
                response = connection.getresponse()
                body = response.read()
                # The ETag names the representation; the body is hashed unzipped, so a
                # gzipped and a plain answer under one ETag agree.
                if response.getheader("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
            except (OSError, http.client.HTTPException) as error:
                check.failures.append(f"{check.path}: {error!r}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            check.record(response.status, response.getheader("ETag"), body, time.time())
        connection.close()


def visibility(urls: dict[str, UrlCheck], instant: float) -> dict:
    """Per URL with a marker: the seconds from ``instant`` to the checker's last answer
    without the new data (0 when none came after the instant) and to its first with it.
    Overall (``all_seen_s``): the latest of these over the URLs, when every client has
    the new data (the checker asks again within CHECK_INTERVAL of each answer, so a URL
    that went on serving the old data after its first new answer shows as
    ``old_after_new``); None if a URL never showed the new data."""
    summary = {}
    for path, check in urls.items():
        if not check.marker:
            continue
        summary[path] = {
            "last_old_s": max(0.0, check.last_old - instant) if check.last_old else 0.0,
            "first_new_s": None if check.first_new is None else check.first_new - instant,
            "new_seen": check.first_new is not None,
        }
    worst = max(
        (max(s["last_old_s"], s["first_new_s"] or 0.0) for s in summary.values()), default=None
    )
    all_new = bool(summary) and all(s["new_seen"] for s in summary.values())
    return {"paths": summary, "all_seen_s": worst if all_new else None}


def consistency(urls: dict[str, UrlCheck]) -> dict:
    """Answers that mix versions, from the checker: one ETag with two bodies, a new body
    with fewer occurrences of the marker than the URL's full new body (a part of the
    answer new, a part old), and old answers after a new one."""
    etag_bodies = {
        (path, etag): len(hashes)
        for path, check in urls.items()
        for etag, hashes in check.bodies.items()
        if len(hashes) > 1
    }
    partial, partial_counts = {}, {}
    for path, check in urls.items():
        if not check.marker_counts:
            continue
        full = max(check.marker_counts)
        short = sum(n for count, n in check.marker_counts.items() if count < full)
        if short:
            partial[path] = short
            partial_counts[path] = dict(sorted(check.marker_counts.items()))
    regressions = {path: c.old_after_new for path, c in urls.items() if c.old_after_new}
    return {
        "etag_bodies": etag_bodies,
        "partial": partial,
        # Per URL with partly new bodies: occurrences of the marker -> responses.
        "partial_counts": partial_counts,
        "regressions": regressions,
        "mixed": len(etag_bodies) + sum(partial.values()) + sum(regressions.values()),
    }


def rate(result: dict) -> float:
    """Requests per second of one wrk run (0 for a run that lasted no time)."""
    return result["requests"] / result["seconds"] if result["seconds"] else 0.0


def errors(results: list[dict]) -> dict:
    """wrk's socket errors and its answers other than 2xx/3xx, over every window."""
    socket = sum(sum(r[kind] for kind in SOCKET_ERRORS) for r in results)
    return {"socket": socket, "bad": sum(r["status"] for r in results)}


# Varnish's counters read around each window (MAIN.<name>).
VARNISH_COUNTERS = (
    "cache_hit",
    "cache_hit_grace",
    "cache_miss",
    "cache_hitmiss",
    "cache_hitpass",
    "s_pass",
    "busy_sleep",
    "sess_queued",
    "sess_dropped",
    "req_dropped",
    "threads_limited",
    "ws_client_overflow",
    "ws_backend_overflow",
    "n_lru_nuked",
    # Fetches from the origin: connections opened and reused (keep-alive), failed, and
    # not tried because the probe had marked the origin sick (a 503 for a miss).
    "backend_conn",
    "backend_reuse",
    "backend_fail",
    "backend_unhealthy",
    "fetch_failed",
)


def counters_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in after}


def cache_verdicts(delta: dict[str, int]) -> dict[str, int]:
    """Hits and everything else (misses, hit-for-miss, hit-for-pass, passes) in one
    window's counters."""
    others = ("cache_miss", "cache_hitmiss", "cache_hitpass", "s_pass")
    return {"hit": delta.get("cache_hit", 0), "not": sum(delta.get(n, 0) for n in others)}


# -- the run ------------------------------------------------------------------------------


@dataclass
class Running:
    """What the run started, stopped in reverse order whatever happens."""

    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def process(self, process: subprocess.Popen, name: str) -> subprocess.Popen:
        self.stack.callback(_process_stop, process, name)
        return process


def _process_stop(process: subprocess.Popen, name: str) -> None:
    """Stop a process started in its own session: SIGTERM to it (gunicorn, Celery and
    varnishd stop their children themselves), SIGKILL to its whole process group after
    20 s, and to whatever of the group is left once it has gone."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in 20 s: killed", file=sys.stderr)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _terminate(signum, frame):  # SIGTERM as Ctrl-C: the ExitStack cleans up
    raise KeyboardInterrupt


def wrk_start(url: str, *, connections: int, seconds: int, threads: int = 1) -> subprocess.Popen:
    """wrk on one URL, ``bench/load.lua`` without its body checks (the checker does
    those): nothing runs in Lua per request or response."""
    return subprocess.Popen(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-H",
            "Accept-Encoding: " + ACCEPT_ENCODING["Accept-Encoding"],
            "-s",
            str(bench_load.LUA),
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "ANGKA_LOAD_BODIES": "off"},
        start_new_session=True,
    )


def redis_url_with_database(url: str, database: int) -> str:
    """``url`` (redis://host:port/n) on database ``database``."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


def redis_empty(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def cache_refill(port: int, mix: list[Target]) -> None:
    """Empty Varnish (a purge of the surrogate key every answer carries), then ask for
    every URL of the mix once."""
    from stats.httpcache import KEY_ALL

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("PURGE", "/", headers={"xkey-purge": KEY_ALL})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"Varnish refused the purge: {response.status}")
    for target in mix:
        status, _body = bench_api.http_get(port, target.path)
        if status != 200:
            raise RuntimeError(f"{target.path} answered {status} before the run")


def cluster_start(running: Running):
    from tests.postgres_cluster import StreamingPair, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError("initdb, pg_ctl and pg_basebackup are missing (postgresql package)")
    pair = StreamingPair(bin_dir, settings=CLUSTER_SETTINGS)
    running.stack.callback(pair.close)
    pair.start()
    pair.replica_start()
    return pair


def release_reschedule(release, at: float) -> float:
    """Move the scheduled ``release`` to ``at`` (epoch seconds) as its reviewer would;
    returns the time set (whole milliseconds, as stored)."""
    from publications.services import release_schedule

    _clerk, reviewer, _second = staff_users()
    when = dt.datetime.fromtimestamp(round(at, 3), tz=dt.UTC)
    moved = release_schedule(release=release, user=reviewer, scheduled_for=when)
    return moved.scheduled_for.timestamp()


def publish_fallback(release_id: int, publication: dict) -> None:
    """What the beat job does for a due release the scheduled task missed."""
    from django.db import connection

    from publications.services import releases_publish_due

    try:
        if publication_read(release_id)["instant"] is None:
            publication["fallback"] = True
            releases_publish_due()
    except Exception as error:  # reported, and the run fails
        publication["error"] = repr(error)
    finally:
        connection.close()


def commit_sentence(publication: dict) -> str:
    """When the publication's transaction was seen committed on the primary and replayed
    by the replica, counted from its ``published_at``."""
    seen = {
        name: publication[f"{name}_seen"] - publication["instant"]
        for name in ("primary", "replica")
        if f"{name}_seen" in publication
    }
    if len(seen) < 2:
        return "Its commit was not seen on both servers within a minute."
    return (
        f"Its transaction was seen committed on the primary {seen['primary']:.2f} s after "
        f"that, and replayed by the replica {seen['replica']:.2f} s after it (both asked "
        f"every {COMMIT_POLL * 1000:.0f} ms); the purge follows."
    )


def publication_read(release_id: int) -> dict:
    """When the release was published (epoch seconds; None: not yet)."""
    from publications.models import Release

    published_at = Release.objects.filter(pk=release_id).values_list("published_at", flat=True)[0]
    return {"instant": published_at.timestamp() if published_at else None}


def recomputes_wait(seconds: float = 600) -> float:
    """Wait until the general worker has finished the derived-value recomputes the data
    load queued, so that their work is not part of the windows measured; returns the
    seconds waited."""
    from publications.models import RecomputeRequest

    started = time.monotonic()
    while RecomputeRequest.objects.filter(finished_at__isnull=True).exists():
        if time.monotonic() - started > seconds:
            raise RuntimeError(f"the worker did not finish the recomputes in {seconds:.0f} s")
        time.sleep(1)
    return time.monotonic() - started


def replica_catch_up(seconds: float = 600) -> None:
    from config.replicas import primary_wal_lsn, replicas_wait

    if not replicas_wait(primary_wal_lsn(), timeout=seconds):
        raise RuntimeError(f"the replica did not replay the data in {seconds:.0f} s")


def run(args: argparse.Namespace) -> dict:
    running = Running()
    with running.stack:
        pair = cluster_start(running)
        varnish_port = bench_api._free_port()
        origin_port = bench_api._free_port()
        prefix = f"bench-release-day-{origin_port}"
        redis_url = redis_url_with_database(
            os.environ.get("REDIS_URL", bench_api.DEFAULT_REDIS_URL), args.redis_db
        )
        redis_empty(redis_url)
        running.stack.callback(redis_empty, redis_url)
        os.environ.update(
            {
                "REDIS_URL": redis_url,
                "DATABASE_URL": pair.primary.url(DATABASE),
                "DATABASE_REPLICA_URLS": pair.replica.url(DATABASE),
                "HTTP_CACHE_PURGE_URLS": "",
                # This process (which publishes), gunicorn and the worker share the
                # cache generation.
                "CACHE_KEY_PREFIX": prefix,
            }
        )
        bench_api._configure_environment()
        started = time.monotonic()
        data = bench_api._database_prepare(args.observations)
        release, release_rows = release_prepare()
        prepared_seconds = time.monotonic() - started
        replica_catch_up()
        from django.conf import settings

        # From here on (not while the data were loaded) the publication purges Varnish:
        # here, in gunicorn and in the worker.
        purge_url = f"http://127.0.0.1:{varnish_port}/"
        os.environ["HTTP_CACHE_PURGE_URLS"] = purge_url
        settings.HTTP_CACHE_PURGE_URLS = [purge_url]
        from bench.bench_pages import _collect_static

        _collect_static()
        mix = targets(release.slug)
        server = running.process(
            bench_api.gunicorn_start(
                origin_port, cache_seconds=600, prefix=prefix, access_log=True
            ),
            "gunicorn",
        )
        access = AccessLog(server.stdout)
        access.start()
        running.process(bench_load.worker_start(), "celery worker")
        # Publication's own worker: the general one may be rebuilding the bulk download of
        # 2 million rows (every audited change asks for one) at the release's second.
        running.process(
            bench_load.worker_start(settings.ANGKA_PUBLISH_QUEUE), "celery worker (publish)"
        )
        varnish_params = bench_api.deploy_varnish_params()
        varnish = bench_api.varnish_run(
            bench_api.deploy_vcl(origin_port),
            port=varnish_port,
            params=varnish_params,
            nice=bench_api.deploy_varnish_nice()
            if args.varnish_nice is None
            else args.varnish_nice,
        )
        running.stack.callback(varnish.stop)
        sizes, wire_sizes = {}, {}
        for target in mix:  # warm the cache; fail early on a bad path
            status, body = bench_api.http_get(varnish_port, target.path)
            if status != 200:
                raise RuntimeError(f"{target.path} answered {status} before the run")
            sizes[target.path] = len(body)
            # What the run's clients get: gzipped, if Varnish compresses it.
            _status, _headers, wire = bench_api.http_request(
                varnish_port, target.path, ACCEPT_ENCODING
            )
            wire_sizes[target.path] = len(wire)
        share = connections_share(mix, args.clients)
        base = f"http://127.0.0.1:{varnish_port}"
        checker = Checker(varnish_port, mix)
        names = ["before", "during", "after"]
        recompute_wait = recomputes_wait()
        # The release's time is set to the instant: the generation (hence every max-age
        # the origin gives) ends then, and the worker's scheduled task publishes it, as
        # on a real release day. Set a few seconds ahead (the new time's derived values
        # are precomputed again), then the load starts INSTANT seconds before it.
        scheduled = release_reschedule(release, time.time() + SCHEDULE_LEAD + args.instant)
        commits = CommitWatch(
            release.pk,
            scheduled,
            {"primary": pair.primary.url(DATABASE), "replica": pair.replica.url(DATABASE)},
        )
        commits.start()
        run_start = scheduled - args.instant
        run_end = run_start + args.seconds
        # The cache as on the morning of a release: every answer built after the
        # schedule was set (the pages announce it), so that the load starts on hits.
        cache_refill(varnish_port, mix)
        time.sleep(max(0.0, run_start - time.time()))
        publication: dict = {"scheduled": scheduled}
        # Should the scheduled task not run (a lost message), the beat job would publish
        # the release within a minute: the benchmark does it after a few seconds.
        fallback = threading.Timer(
            max(0.0, scheduled + FALLBACK_AFTER - time.time()),
            publish_fallback,
            args=(release.pk, publication),
        )
        fallback.daemon = True
        running.stack.callback(fallback.cancel)
        fallback.start()
        load_before = os.getloadavg()
        checker.start()
        results, windows, varnish_windows = [], [], []
        ends = [scheduled - 1, scheduled + DURING_AFTER, run_end]
        for name, window_end in zip(names, ends, strict=True):
            counters_before = varnish.counters(VARNISH_COUNTERS)
            window_start = time.time()
            length = max(1, round(window_end - window_start))
            processes = {
                target.path: running.process(
                    wrk_start(base + target.path, connections=count, seconds=length), "wrk"
                )
                for target, count in zip(mix, share, strict=True)
            }
            results.append(
                results_merge(
                    {path: bench_load.wrk_result(process) for path, process in processes.items()}
                )
            )
            windows.append(Window(name, window_start, time.time()))
            varnish_windows.append(
                counters_delta(counters_before, varnish.counters(VARNISH_COUNTERS))
            )
        load_after = os.getloadavg()
        fallback.cancel()
        fallback.join(timeout=60)
        checker.join(timeout=60)
        # The machine's ceiling at this moment: wrk alone, few threads, on the smallest
        # answer of the mix (cached, its max-age running).
        smallest = min(mix, key=lambda target: sizes[target.path])
        ceiling = bench_load.wrk_result(
            running.process(
                wrk_start(
                    base + smallest.path,
                    connections=args.clients,
                    seconds=CEILING_SECONDS,
                    threads=CEILING_THREADS,
                ),
                "wrk",
            )
        )
        ceiling.update(
            path=smallest.path,
            bytes=sizes[smallest.path],
            wire_bytes=wire_sizes[smallest.path],
            load=os.getloadavg(),
        )
        publication.update(publication_read(release.pk))
        commits.join(timeout=5)
        publication.update({f"{name}_seen": at for name, at in commits.seen.items()})
        time.sleep(0.5)  # the last access log lines
        counters = varnish.counters(VARNISH_COUNTERS)
        if "error" in publication or publication.get("instant") is None:
            raise RuntimeError(f"the release was not published: {publication.get('error')}")
        return {
            "data": data,
            "gunicorn": bench_api.gunicorn_settings(),
            "mix": mix,
            "results": results,
            "windows": windows,
            "origin": list(access.requests),
            "checker": checker,
            "publication": publication,
            "run_start": run_start,
            "release": release.slug,
            "release_rows": release_rows,
            "prepared_seconds": prepared_seconds,
            "recompute_wait": recompute_wait,
            "load_before": load_before,
            "load_after": load_after,
            "varnish": counters,
            "varnish_windows": varnish_windows,
            "varnish_params": varnish_params,
            "share": share,
            "sizes": sizes,
            "wire_sizes": wire_sizes,
            "ceiling": ceiling,
            "args": args,
        }


def verdict(outcome: dict) -> dict:
    results = outcome["results"]
    instant = outcome["publication"]["instant"]
    checker = outcome["checker"]
    seen = visibility(checker.urls, instant)
    mixed = consistency(checker.urls)
    failed = errors(results)
    checker_errors = len(checker.failures)
    per_url = origin_requests_per_url(outcome["origin"], instant)
    # The second before it too: the generation ends at the release time, so the answers
    # built in its last second carry max-age=0 and Varnish keeps none of them.
    per_url_before = origin_requests_per_url(outcome["origin"], instant - 1)
    # The purge reaches Varnish after the commit and the replicas' replay: the misses it
    # causes begin then, not at the instant.
    per_url_purge = origin_requests_after_purge(outcome["origin"], checker.urls)
    cached_p99 = max(r["p99_us"] for r in results) / 1000
    total_errors = failed["socket"] + failed["bad"] + checker_errors
    return {
        "visibility": seen,
        "consistency": mixed,
        "mixed_total": mixed["mixed"],
        "errors": failed,
        "checker_errors": checker_errors,
        "total_errors": total_errors,
        "per_url": per_url,
        "per_url_purge": per_url_purge,
        "per_url_before": per_url_before,
        "goals": {
            "rate": min(rate(r) for r in results) >= GOAL_RATE,
            # A run that finished no request has no latency to meet the goal with.
            "p99": all(r["requests"] for r in results) and cached_p99 < GOAL_P99_MS,
            "coalescing": bool(per_url_purge) and max(per_url_purge.values()) <= 1,
            "visible": seen["all_seen_s"] is not None and seen["all_seen_s"] < GOAL_VISIBLE_S,
            "mixed": mixed["mixed"] == 0,
            "errors": total_errors == 0,
        },
    }


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _met(flag: bool) -> str:
    return "met" if flag else "**not met**"


def section(outcome: dict, checks: dict) -> str:
    import django

    args = outcome["args"]
    rows = []
    for window, result, delta in zip(
        outcome["windows"], outcome["results"], outcome["varnish_windows"], strict=True
    ):
        origin = origin_window(outcome["origin"], window)
        verdicts = cache_verdicts(delta)
        served = sum(verdicts.values())
        hits = verdicts["hit"]
        rows.append(
            f"| {window.name} | {window.start - outcome['run_start']:.1f} to "
            f"{window.end - outcome['run_start']:.1f} | {result['requests']:,} | "
            f"{rate(result):,.0f} | {_ms(result['p50_us'] / 1000)} | "
            f"{_ms(result['p99_us'] / 1000)} | "
            f"{(hits / served * 100) if served else 0:.2f}% ({served - hits:,} not) | "
            f"{origin['requests']:,} | "
            f"{origin['rate']:,.1f} | {_ms(origin['p50'])} | {_ms(origin['p99'])} | "
            f"{origin['errors']} |"
        )
    per_url = checks["per_url"]
    labels = {target.path: target.label for target in outcome["mix"]}
    load_rows = []
    for target, count in zip(outcome["mix"], outcome["share"], strict=True):
        cells = []
        for result in outcome["results"]:
            own = result.get("urls", {}).get(target.path)
            cells.append(
                "-"
                if own is None
                else f"{rate(own):,.0f}, {_ms(own['p50_us'] / 1000)}, {_ms(own['p99_us'] / 1000)}"
                + (f" (**{own['errors']} errors**)" if own["errors"] else "")
            )
        size = outcome["sizes"].get(target.path, 0)
        wire = outcome.get("wire_sizes", {}).get(target.path, size)
        load_rows.append(
            f"| {target.label} | {size:,} | {wire:,} | {count} | " + " | ".join(cells) + " |"
        )
    ceiling = outcome["ceiling"]
    ceiling_rate = rate(ceiling)
    ratio_text = ", ".join(
        f"{rate(r) / ceiling_rate:.2f}" if ceiling_rate else "n/a" for r in outcome["results"]
    )
    ceiling_errors = sum(ceiling[kind] for kind in SOCKET_ERRORS) + ceiling["status"]
    before = checks["per_url_before"]
    purge = checks["per_url_purge"]
    url_rows = [
        f"| {labels.get(path, path)} | {before.get(path, 0)} | {per_url.get(path, 0)} | "
        f"{purge.get(path, '-')} |"
        for path in sorted(
            set(per_url) | set(before) | set(purge),
            key=lambda path: (-per_url.get(path, 0), path),
        )
    ]
    seen = checks["visibility"]
    seen_rows = []
    for path, entry in seen["paths"].items():
        first = "-" if entry["first_new_s"] is None else f"{entry['first_new_s']:.2f}"
        seen_rows.append(f"| {labels.get(path, path)} | {first} | {entry['last_old_s']:.2f} |")
    publication = outcome["publication"]
    data = outcome["data"]
    gunicorn = outcome["gunicorn"]
    goals = checks["goals"]
    mixed = checks["consistency"]
    rates = [rate(r) for r in outcome["results"]]
    p99s = [r["p99_us"] / 1000 for r in outcome["results"]]
    small = args.observations < bench_api.OBSERVATIONS or args.clients < CLIENTS
    redis_db = getattr(args, "redis_db", REDIS_DB)
    command = (
        "make bench-release-day"
        + (f' BENCH_ARGS="--redis-db {redis_db}"' if redis_db != REDIS_DB else "")
        if not small and args.seconds == SECONDS and args.instant == INSTANT
        else f".venv/bin/python -m bench.bench_release_day --observations {args.observations} "
        f"--clients {args.clients} --seconds {args.seconds} --instant {args.instant}"
        + (f" --redis-db {redis_db}" if redis_db != REDIS_DB else "")
    )
    params = " ".join(f"-p {name}={value}" for name, value in outcome["varnish_params"].items())
    all_seen = seen["all_seen_s"]
    lines = [
        SECTION_START,
        "## Release day (bench-release-day)",
        "",
        *(
            [
                "**Small-scale run** (fewer observations or clients than the benchmark's): "
                "a check of the pipeline, not the measurement.",
                "",
            ]
            if small
            else []
        ),
        f"Measured {dt.date.today().isoformat()} with `{command}`. Machine: "
        f"{os.cpu_count()} cores shared with other work; load average (1, 5, 15 min) "
        f"{'/'.join(f'{v:.1f}' for v in outcome['load_before'])} before the run and "
        f"{'/'.join(f'{v:.1f}' for v in outcome['load_after'])} at its end. wrk, Varnish, "
        "gunicorn, the Celery workers, Redis and both PostgreSQL servers share the cores "
        "(the load average at the end counts the run's own runnable threads: Varnish "
        "serves each busy connection on a thread of its own). "
        f"Python {sys.version.split()[0]}, Django {django.get_version()}.",
        "",
        f"Set-up: a throwaway PostgreSQL primary and one streaming replica "
        f"(pg_basebackup -R, `deploy/replica`), {data['observations']:,} public "
        f"observations ({data['synthetic']:,} from `bench.generate`); gunicorn "
        f"(`config/gunicorn.conf.py`: {gunicorn['workers']} workers of "
        f"{gunicorn['threads']} threads, DEBUG off, public reads on the replica); "
        "two Celery workers (the general one, and one on the queue `publish` alone, as "
        "`deploy/` runs them); Varnish with `deploy/varnish/angka.vcl` and the parameters "
        f"of `deploy/varnish/varnish.service.d/angka.conf` ({params}), purged by the "
        f"publication; Redis database {redis_db}, emptied at the start. Preparing "
        f"(data, release) took {outcome['prepared_seconds']:.0f} s; "
        "the load started once the general worker had finished the derived-value "
        f"recomputes the data load queued ({outcome.get('recompute_wait', 0):.0f} s after "
        "it was up).",
        "",
        f"Load: {args.clients} keep-alive connections of wrk through Varnish, one wrk "
        "process (one thread) per URL, the connections by weight (the home page 4, each "
        "indicator page 2, each API query and the CSV 1), for "
        f"{args.seconds} s in three consecutive runs, every client (the checker's too) "
        "sending `Accept-Encoding: gzip` as browsers do. wrk runs `bench/load.lua` with its body "
        "checks off: no Lua per request or response; its own counts give the socket errors "
        "and the answers other than 2xx/3xx; a window's p50 and p99 are those of the "
        "processes' distributions added up (each from its percentiles, linear between "
        "them). The checks run apart: a checker with one connection "
        f"per URL asks for it every {CHECK_INTERVAL * 1000:.0f} ms for the whole run, hashes "
        "every body (unzipped) under its ETag, counts the new data's marker in it and notes "
        "when each "
        f"URL first showed the new data. At second {args.instant} the "
        f"release `{outcome['release']}` ({outcome['release_rows']:,} observations: "
        f"{NEW_PERIOD} for every synthetic series; imported by a clerk, approved by a second "
        "person and scheduled for that second, so the data generation and every max-age "
        "ended then) was published "
        + (
            f"by the benchmark, as the beat job would, {FALLBACK_AFTER} s late: the "
            "scheduled task had not run"
            if publication.get("fallback")
            else "by the publishing worker's scheduled task"
        )
        + f", {publication['instant'] - publication['scheduled']:.2f} s after its time "
        "(its `published_at`: the instant the figures below count from). "
        + commit_sentence(publication),
        "",
        "| window | seconds | requests | req/s (cache) | p50 ms | p99 ms | Varnish hits "
        "(counters) | origin "
        "requests | origin req/s | origin p50 ms | origin p99 ms | origin 4xx/5xx |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "Through the cache: wrk's latency (connect to last byte). At the origin: gunicorn's "
        "access log (request duration), lines by the time they were written.",
        "",
        "Origin requests per URL (by their start) in the second before and the second "
        "after the instant, and in the second after the purge reached Varnish (after the "
        "checker's last old answer of the URL):",
        "",
        "| URL | second before | second after | second after the purge |",
        "| --- | ---: | ---: | ---: |",
        *(url_rows or ["| (none) | 0 | 0 | - |"]),
        "",
        "Seconds from the instant to the first response with the new data and to the last "
        "without it, per URL:",
        "",
        "| URL | first new | last old |",
        "| --- | ---: | ---: |",
        *seen_rows,
        "",
        "Between a URL's last old and first new response its clients wait: the purge has "
        "removed the old answer and Varnish holds every request for the URL until the one "
        "origin request it sent comes back (the waiting list), so the first new response "
        "comes when the origin has built the answer; the during window's p99 is that wait. "
        "Every client of a URL has the new data by the later of the two times; the goal's "
        "figure is the latest URL.",
        "",
        "Through the cache per URL (body bytes, and as sent to the run's clients, which "
        "accept gzip; connections; per window req/s, p50 ms, p99 ms):",
        "",
        "| URL | bytes | bytes sent | connections | before | during | after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *load_rows,
        "",
        f"The machine's ceiling in this run: right after it, wrk alone ({CEILING_THREADS} "
        f"threads, {args.clients} connections, {CEILING_SECONDS} s, no Lua) on the smallest "
        f"answer of the mix ({labels.get(ceiling['path'], ceiling['path'])}, "
        f"{ceiling['bytes']:,} bytes, {ceiling.get('wire_bytes', ceiling['bytes']):,} "
        f"as sent) through the same Varnish: {ceiling_rate:,.0f} req/s, "
        f"p50 {_ms(ceiling['p50_us'] / 1000)} ms, p99 {_ms(ceiling['p99_us'] / 1000)} ms"
        + (f", **{ceiling_errors} errors**" if ceiling_errors else "")
        + f" (load average {ceiling['load'][0]:.1f}). The mix's rates are {ratio_text} of it "
        "(before, during, after).",
        "",
        "| goal | measured | verdict |",
        "| --- | --- | --- |",
        f"| cached path at least {GOAL_RATE:,} req/s | "
        f"{', '.join(f'{rate:,.0f}' for rate in rates)} (before, during, after) | "
        f"{_met(goals['rate'])} |",
        f"| cached p99 under {GOAL_P99_MS} ms | "
        f"{', '.join(_ms(p) for p in p99s)} | {_met(goals['p99'])} |",
        f"| 1 origin request per URL in the second after the purge | "
        f"at most {max(purge.values(), default=0)} (at most "
        f"{max(per_url.values(), default=0)} in the second after the instant) | "
        f"{_met(goals['coalescing'])} |",
        f"| every client sees the new data within {GOAL_VISIBLE_S} s | "
        f"{'never' if all_seen is None else f'{all_seen:.2f} s'} | {_met(goals['visible'])} |",
        f"| responses mixing old and new data, or an ETag with two bodies: 0 | "
        f"{checks['mixed_total']} ({len(mixed['etag_bodies'])} ETags with two bodies, "
        f"{sum(mixed['partial'].values())} partly new bodies, "
        f"{sum(mixed['regressions'].values())} old answers after a new one; checker: "
        f"{outcome['checker'].responses:,} answers) | "
        f"{_met(goals['mixed'])} |",
        f"| errors: 0 | {checks['errors']['socket']} socket errors, "
        f"{checks['errors']['bad']} answers other than 2xx/3xx (wrk's counts), "
        f"{checks['checker_errors']} in the checker | {_met(goals['errors'])} |",
        "",
        *(
            [
                "The checker's failures (the most frequent): "
                + "; ".join(
                    f"{text} ({count}x)"
                    for text, count in collections.Counter(outcome["checker"].failures).most_common(
                        5
                    )
                )
                + ".",
                "",
            ]
            if outcome["checker"].failures
            else []
        ),
        *(
            [
                "Where: "
                + "; ".join(
                    [
                        f"{labels.get(path, path)} {etag}: {count} bodies"
                        for (path, etag), count in sorted(mixed["etag_bodies"].items())
                    ]
                    + [
                        f"{labels.get(path, path)}: {count} old after new"
                        for path, count in sorted(mixed["regressions"].items())
                    ]
                    + [
                        f"{labels.get(path, path)}: partly new bodies (occurrences of the "
                        f"marker: responses) {counts}"
                        for path, counts in sorted(mixed["partial_counts"].items())
                    ]
                )
                + ".",
                "",
            ]
            if mixed["mixed"]
            else []
        ),
        f"Varnish's counters at the end: {json.dumps(outcome['varnish'], sort_keys=True)}.",
        SECTION_END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--observations", type=int, default=bench_api.OBSERVATIONS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--instant", type=int, default=INSTANT)
    parser.add_argument(
        "--redis-db",
        type=int,
        default=REDIS_DB,
        help="the Redis database of the run (emptied at its start and end; nothing else "
        "may use it)",
    )
    parser.add_argument(
        "--varnish-nice",
        type=int,
        default=None,
        help="varnishd's scheduling priority (default: Nice= of the deployed unit)",
    )
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not 1 < args.instant < args.seconds - DURING_AFTER - 1:
        parser.error(f"--instant: between 2 and {args.seconds - DURING_AFTER - 2} s")
    if args.clients < MIX_WEIGHT:
        parser.error(f"--clients: at least {MIX_WEIGHT} (one connection per weight unit)")
    # Ctrl-C and SIGTERM unwind the run (even started in the background, where SIGINT
    # comes ignored), so that everything it started is stopped.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    outcome = run(args)
    checks = verdict(outcome)
    text = section(outcome, checks)
    print(text)
    if not args.no_write:
        section_write(text, start=SECTION_START, end=SECTION_END)
    return 0 if checks["goals"]["errors"] and checks["goals"]["mixed"] else 1


if __name__ == "__main__":
    sys.exit(main())
