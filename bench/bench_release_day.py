"""Benchmark: the release instant, with Varnish in front and a streaming replica.

Run with ``make bench-release-day`` (or ``.venv/bin/python -m bench.bench_release_day``;
``--help`` for the options). It needs the PostgreSQL binaries (initdb, pg_ctl,
pg_basebackup), Redis (REDIS_URL, by default redis://127.0.0.1:6379/0: give it a database
number no other Celery worker listens on), Varnish with varnish-modules (xkey) and wrk.

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
* CLIENTS (256) connections of wrk (``bench/load.lua``) through Varnish, for SECONDS (60)
  in three consecutive runs (before, during and after the instant), each wrk thread on
  one URL of the mix (``targets``); one more connection hashes every body (``Checker``
  of bench-load). The release is scheduled for second INSTANT (20) of the load, so the
  data generation and every max-age end then, and the publishing worker's scheduled task
  publishes it (the benchmark does, as the beat job would, should the task not have run
  a few seconds later).

It reports, per window: requests/s, p50 and p99 through the cache (wrk) and at the
origin (gunicorn's access log, each line stamped when it is read); the origin requests
per URL in the second after the instant; the seconds from the instant until every client
got the new data (the last response without the new data's marker); responses mixing
old and new data; errors. Everything it starts is stopped, and the cluster removed, on
failure and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import io
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
WRK_THREADS = 16
# Seconds between setting the release's time and the load's start (the rescheduling
# precomputes the derived values again), and after the release's time before the
# benchmark publishes it itself if the worker has not.
SCHEDULE_LEAD = 5
FALLBACK_AFTER = 5


@dataclass
class Target:
    """One URL of the mix: ``weight`` wrk threads ask for it; ``marker`` is a text only
    the new data contain (None: the URL shows nothing of the release)."""

    label: str
    path: str
    weight: int
    marker: str | None


def targets(release_slug: str) -> list[Target]:
    """The release-day mix: the home page, three indicator pages, five API queries and
    one CSV, weighted towards the pages (WRK_THREADS threads in all)."""
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


def thread_paths(mix: list[Target]) -> tuple[list[str], list[str]]:
    """The path and marker of each wrk thread, in thread order (``bench/load.lua`` gives
    thread i the i-th)."""
    paths, markers = [], []
    for target in mix:
        paths += [target.path] * target.weight
        markers += [target.marker or "-"] * target.weight
    return paths, markers


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


def visibility(results: list[dict], instant: float) -> dict:
    """From wrk's per-thread results (``bench/load.lua``) of every window: per path, the
    seconds from ``instant`` to its last response without the new data (0 when none came
    after the instant) and to its first with it. Every client of the path has the new
    data by the later of the two: after the last old response every answer is new, and
    clients waiting for the first new one (Varnish's waiting list) get it when it
    comes. Overall (``all_seen_s``): the latest path; None if a path never showed the
    new data."""
    per_path: dict[str, dict] = {}
    for result in results:
        for thread in result.get("threads", []):
            if not thread.get("path"):
                continue
            entry = per_path.setdefault(
                thread["path"], {"old_last_ms": 0.0, "new_first_ms": 0.0, "old": 0, "new": 0}
            )
            entry["old"] += thread["old"]
            entry["new"] += thread["new"]
            entry["old_last_ms"] = max(entry["old_last_ms"], thread["old_last_ms"])
            if thread["new_first_ms"] and (
                not entry["new_first_ms"] or thread["new_first_ms"] < entry["new_first_ms"]
            ):
                entry["new_first_ms"] = thread["new_first_ms"]
    summary = {}
    for path, entry in per_path.items():
        if not entry["old"] and not entry["new"]:
            continue  # no marker: the URL shows nothing of the release
        summary[path] = {
            "last_old_s": max(0.0, entry["old_last_ms"] / 1000 - instant),
            "first_new_s": (entry["new_first_ms"] / 1000 - instant) if entry["new"] else None,
            "new_seen": entry["new"] > 0,
        }
    worst = max(
        (max(s["last_old_s"], s["first_new_s"] or 0.0) for s in summary.values()), default=None
    )
    all_new = bool(summary) and all(s["new_seen"] for s in summary.values())
    return {"paths": summary, "all_seen_s": worst if all_new else None}


def consistency(results: list[dict]) -> dict:
    """Responses that mix versions, over every window: one ETag with two body lengths
    (within a thread, counted by the script, or across threads and windows), and new
    bodies with fewer occurrences of the marker than the path's full new body (a part of
    the answer new, a part old)."""
    lengths: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    marker_counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    mixed_within = 0
    mixed_paths: collections.Counter[str] = collections.Counter()
    # Within a thread: the ETag, the first length and one other (bench/load.lua).
    conflicts: dict[tuple[str, str], set] = collections.defaultdict(set)
    for result in results:
        mixed_within += result.get("mixed", 0)
        for thread in result.get("threads", []):
            if thread.get("mixed"):
                mixed_paths[thread["path"]] += thread["mixed"]
            for etag, length in thread.get("lengths", {}).items():
                lengths[(thread["path"], etag)].add(length)
            for etag, length in thread.get("conflicts", {}).items():
                first = thread.get("lengths", {}).get(etag)
                conflicts[(thread["path"], etag)] |= {length, first}
            for count, responses in thread.get("marker_counts", {}).items():
                marker_counts[thread["path"]][int(count)] += responses
    etag_mismatch = {key: sorted(found) for key, found in lengths.items() if len(found) > 1}
    partial, partial_counts = {}, {}
    for path, counts in marker_counts.items():
        full = max(counts)
        short = sum(n for count, n in counts.items() if count < full)
        if short:
            partial[path] = short
            partial_counts[path] = dict(sorted(counts.items()))
    return {
        "mixed_within": mixed_within,
        "mixed_paths": dict(mixed_paths),
        "conflicts": {key: sorted(found - {None}) for key, found in conflicts.items()},
        "etag_mismatch": etag_mismatch,
        "partial": partial,
        # Per URL with partly new bodies: occurrences of the marker -> responses.
        "partial_counts": partial_counts,
        "mixed": mixed_within + len(etag_mismatch) + sum(partial.values()),
    }


def rate(result: dict) -> float:
    """Requests per second of one wrk run (0 for a run that lasted no time)."""
    return result["requests"] / result["seconds"] if result["seconds"] else 0.0


def errors(results: list[dict]) -> dict:
    socket = sum(r["connect"] + r["read"] + r["write"] + r["timeout"] for r in results)
    return {"socket": socket, "bad": sum(r["bad"] for r in results)}


def cache_verdicts(result: dict) -> dict[str, int]:
    found: collections.Counter[str] = collections.Counter()
    for thread in result.get("threads", []):
        found.update(thread.get("cache", {}))
    return dict(found)


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


def wrk_start(url: str, *, clients: int, seconds: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{clients}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(bench_load.LUA),
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


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
        os.environ.update(
            {
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
        varnish = bench_api.varnish_run(bench_api.deploy_vcl(origin_port), port=varnish_port)
        running.stack.callback(varnish.stop)
        for target in mix:  # warm the cache; fail early on a bad path
            status, _body = bench_api.http_get(varnish_port, target.path)
            if status != 200:
                raise RuntimeError(f"{target.path} answered {status} before the run")
        paths, markers = thread_paths(mix)
        env = {
            **os.environ,
            "ANGKA_LOAD_PATHS": "\t".join(paths),
            "ANGKA_LOAD_MARKERS": "\t".join(markers),
        }
        url = f"http://127.0.0.1:{varnish_port}/"
        checker = bench_load.Checker(varnish_port, [target.path for target in mix])
        names = ["before", "during", "after"]
        recompute_wait = recomputes_wait()
        # The release's time is set to the instant: the generation (hence every max-age
        # the origin gives) ends then, and the worker's scheduled task publishes it, as
        # on a real release day. Set a few seconds ahead (the new time's derived values
        # are precomputed again), then the load starts INSTANT seconds before it.
        scheduled = release_reschedule(release, time.time() + SCHEDULE_LEAD + args.instant)
        run_start = scheduled - args.instant
        run_end = run_start + args.seconds
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
        results, windows = [], []
        ends = [scheduled - 1, scheduled + DURING_AFTER, run_end]
        for name, window_end in zip(names, ends, strict=True):
            window_start = time.time()
            length = max(1, round(window_end - window_start))
            process = running.process(
                wrk_start(url, clients=args.clients, seconds=length, env=env), "wrk"
            )
            results.append(bench_load.wrk_result(process))
            windows.append(Window(name, window_start, time.time()))
        load_after = os.getloadavg()
        fallback.cancel()
        fallback.join(timeout=60)
        checker.stop.set()
        checker.join(timeout=60)
        publication.update(publication_read(release.pk))
        time.sleep(0.5)  # the last access log lines
        counters = varnish.counters()
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
            "args": args,
        }


def verdict(outcome: dict) -> dict:
    results = outcome["results"]
    instant = outcome["publication"]["instant"]
    checker = outcome["checker"]
    seen = visibility(results, instant)
    mixed = consistency(results)
    mixed_bodies = {key: len(hashes) for key, hashes in checker.bodies.items() if len(hashes) > 1}
    failed = errors(results)
    checker_errors = len(checker.failures)
    per_url = origin_requests_per_url(outcome["origin"], instant)
    # The second before it too: the generation ends at the release time, so the answers
    # built in its last second carry max-age=0 and Varnish keeps none of them.
    per_url_before = origin_requests_per_url(outcome["origin"], instant - 1)
    cached_p99 = max(r["p99_us"] for r in results) / 1000
    total_errors = failed["socket"] + failed["bad"] + checker_errors
    return {
        "visibility": seen,
        "consistency": mixed,
        "mixed_bodies": mixed_bodies,
        "mixed_total": mixed["mixed"] + len(mixed_bodies),
        "errors": failed,
        "checker_errors": checker_errors,
        "total_errors": total_errors,
        "per_url": per_url,
        "per_url_before": per_url_before,
        "goals": {
            "rate": min(rate(r) for r in results) >= GOAL_RATE,
            # A run that finished no request has no latency to meet the goal with.
            "p99": all(r["requests"] for r in results) and cached_p99 < GOAL_P99_MS,
            "coalescing": bool(per_url) and max(per_url.values()) <= 1,
            "visible": seen["all_seen_s"] is not None and seen["all_seen_s"] < GOAL_VISIBLE_S,
            "mixed": mixed["mixed"] + len(mixed_bodies) == 0,
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
    for window, result in zip(outcome["windows"], outcome["results"], strict=True):
        origin = origin_window(outcome["origin"], window)
        verdicts = cache_verdicts(result)
        served = sum(verdicts.values())
        hits = verdicts.get("hit", 0)
        rows.append(
            f"| {window.name} | {window.start - outcome['run_start']:.1f} to "
            f"{window.end - outcome['run_start']:.1f} | {result['requests']:,} | "
            f"{rate(result):,.0f} | {_ms(result['p50_us'] / 1000)} | "
            f"{_ms(result['p99_us'] / 1000)} | "
            f"{(hits / served * 100) if served else 0:.2f}% ({served - hits:,} not) | "
            f"{origin['requests']:,} | "
            f"{origin['rate']:,.1f} | {_ms(origin['p50'])} | {_ms(origin['p99'])} |"
        )
    per_url = checks["per_url"]
    labels = {target.path: target.label for target in outcome["mix"]}
    before = checks["per_url_before"]
    url_rows = [
        f"| {labels.get(path, path)} | {before.get(path, 0)} | {per_url.get(path, 0)} |"
        for path in sorted(
            set(per_url) | set(before), key=lambda path: (-per_url.get(path, 0), path)
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
    command = (
        "make bench-release-day"
        if not small and args.seconds == SECONDS and args.instant == INSTANT
        else f".venv/bin/python -m bench.bench_release_day --observations {args.observations} "
        f"--clients {args.clients} --seconds {args.seconds} --instant {args.instant}"
    )
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
        "gunicorn, the Celery workers, Redis and both PostgreSQL servers share the cores. "
        f"Python {sys.version.split()[0]}, Django {django.get_version()}.",
        "",
        f"Set-up: a throwaway PostgreSQL primary and one streaming replica "
        f"(pg_basebackup -R, `deploy/replica`), {data['observations']:,} public "
        f"observations ({data['synthetic']:,} from `bench.generate`); gunicorn "
        f"(`config/gunicorn.conf.py`: {gunicorn['workers']} workers of "
        f"{gunicorn['threads']} threads, DEBUG off, public reads on the replica); "
        "two Celery workers (the general one, and one on the queue `publish` alone, as "
        "`deploy/` runs them); Varnish with `deploy/varnish/angka.vcl`, purged by the "
        f"publication. Preparing (data, release) took {outcome['prepared_seconds']:.0f} s; "
        "the load started once the general worker had finished the derived-value "
        f"recomputes the data load queued ({outcome.get('recompute_wait', 0):.0f} s after "
        "it was up).",
        "",
        f"Load: {args.clients} connections of wrk (`bench/load.lua`, {WRK_THREADS} threads, "
        "each on one URL: the home page 4, each indicator page 2, each API query and the "
        "CSV 1) through Varnish, plus one checker connection hashing every body, for "
        f"{args.seconds} s in three consecutive wrk runs. At second {args.instant} the "
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
        "(its `published_at`: the instant the figures below count from).",
        "",
        "| window | seconds | requests | req/s (cache) | p50 ms | p99 ms | Varnish hits | origin "
        "requests | origin req/s | origin p50 ms | origin p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "Through the cache: wrk's latency (connect to last byte). At the origin: gunicorn's "
        "access log (request duration), lines by the time they were written.",
        "",
        "Origin requests per URL in the second before and the second after the instant "
        "(by their start):",
        "",
        "| URL | second before | second after |",
        "| --- | ---: | ---: |",
        *(url_rows or ["| (none) | 0 | 0 |"]),
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
        "wrk runs the checks of `bench/load.lua` on every response (the body handed to Lua, "
        "searched for the new data's marker, its length filed under its ETag), on the same "
        "two cores as Varnish and the origin: the rates through the cache are what Varnish "
        "serves to such clients here, not Varnish's ceiling on an idle machine.",
        "",
        "| goal | measured | verdict |",
        "| --- | --- | --- |",
        f"| cached path at least {GOAL_RATE:,} req/s | "
        f"{', '.join(f'{rate:,.0f}' for rate in rates)} (before, during, after) | "
        f"{_met(goals['rate'])} |",
        f"| cached p99 under {GOAL_P99_MS} ms | "
        f"{', '.join(_ms(p) for p in p99s)} | {_met(goals['p99'])} |",
        f"| 1 origin request per URL in the second after the instant | "
        f"at most {max(per_url.values(), default=0)} | {_met(goals['coalescing'])} |",
        f"| every client sees the new data within {GOAL_VISIBLE_S} s | "
        f"{'never' if all_seen is None else f'{all_seen:.2f} s'} | {_met(goals['visible'])} |",
        f"| responses mixing old and new data, or an ETag with two bodies: 0 | "
        f"{checks['mixed_total']} ({mixed['mixed_within']} in one wrk thread, "
        f"{len(mixed['etag_mismatch'])} ETags with two lengths, "
        f"{sum(mixed['partial'].values())} partly new bodies, "
        f"{len(checks['mixed_bodies'])} ETags with two bodies in the checker) | "
        f"{_met(goals['mixed'])} |",
        f"| errors: 0 | {checks['errors']['socket']} socket errors, "
        f"{checks['errors']['bad']} answers other than 200/304, "
        f"{checks['checker_errors']} in the checker | {_met(goals['errors'])} |",
        "",
        *(
            [
                "",
                "Responses mixing versions within a wrk thread, by URL: "
                + "; ".join(
                    f"{labels.get(path, path)}: {count}"
                    for path, count in sorted(mixed["mixed_paths"].items())
                )
                + ". ETags and body lengths: "
                + "; ".join(
                    f"{labels.get(path, path)} {etag}: {', '.join(map(str, found))} bytes"
                    for (path, etag), found in sorted(
                        {**mixed["conflicts"], **mixed["etag_mismatch"]}.items()
                    )
                )
                + "."
                + (
                    " Partly new bodies (occurrences of the new data's marker: responses): "
                    + "; ".join(
                        f"{labels.get(path, path)}: {counts}"
                        for path, counts in sorted(mixed["partial_counts"].items())
                    )
                    + "."
                    if mixed["partial"]
                    else ""
                ),
            ]
            if mixed["mixed_paths"] or mixed["etag_mismatch"] or mixed["partial"]
            else []
        ),
        "",
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
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not 1 < args.instant < args.seconds - DURING_AFTER - 1:
        parser.error(f"--instant: between 2 and {args.seconds - DURING_AFTER - 2} s")
    if args.clients < WRK_THREADS:
        parser.error(f"--clients: at least {WRK_THREADS} (one per wrk thread)")
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
