"""Benchmark: the read API under load, against Datasette serving the same rows.

Run with ``make bench-api`` (or ``.venv/bin/python -m bench.bench_api``). It needs
PostgreSQL (DATABASE_URL, by default postgres://postgres@127.0.0.1:5432/angka_bench_api,
created and migrated when missing) and Redis (REDIS_URL, by default
redis://127.0.0.1:6379/0; its keys get a prefix of their own). It

* loads the demo and generates 2,000,000 synthetic observations (``bench.generate``)
  unless they are there already;
* serves the site with gunicorn as the README's production section says
  (``config/gunicorn.conf.py``, DEBUG off), once with the response cache off
  (API_CACHE_SECONDS=0) and once with it;
* exports the same rows to SQLite, with indexes on the filtered columns, and serves
  them with Datasette (installed with pip into bench-data/datasette-venv, outside the
  project's dependencies);
* runs the same fixed query mix against each with wrk (16 connections over loopback):
  (1) one long monthly series as JSON, (2) a cross-section of all regions at one
  period, (3) a filtered page of 1,000 rows, and (4) the CSV of one indicator, timed
  as downloads next to PostgreSQL's ``COPY ... TO STDOUT`` of the same rows, with the
  gunicorn workers' memory read from /proc while they stream;
* runs the SDMX data queries of (1) and (2) (``/sdmx/data/...``, SDMX-ML generic data,
  what an SDMX client gets by default) in the same rounds as angka's JSON queries, and
  compares their rates;
* runs the page of (3) transformed (``units=pc1``, percent change from a year ago) in
  the same rounds, and compares its rate with the plain page's;

and writes the numbers into its sections of BENCHMARKS.md. Rate limits are off for the
run (API_ANON_RATE=off): one client past any fair-use limit is the point of a load test.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import http.client
import io
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import section_write

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data"
REPORT = ROOT / "BENCHMARKS.md"
DATASETTE_VENV = DATA_DIR / "datasette-venv"
SQLITE_PATH = DATA_DIR / "datasette" / "observations.db"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/angka_bench_api"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
OBSERVATIONS = 2_000_000
SECTION_START = "<!-- bench-api:start -->"
SECTION_END = "<!-- bench-api:end -->"
SDMX_SECTION_START = "<!-- bench-api-sdmx:start -->"
SDMX_SECTION_END = "<!-- bench-api-sdmx:end -->"
# The SDMX queries must reach this share of the same query's JSON rate.
SDMX_GOAL = 0.8
UNITS_SECTION_START = "<!-- bench-api-units:start -->"
UNITS_SECTION_END = "<!-- bench-api-units:end -->"
# The transformed page must reach this share of the plain page's rate.
UNITS_GOAL = 0.8
CONNECTIONS = 16
# As the README's production section serves it.
GUNICORN_CONFIG = ROOT / "config" / "gunicorn.conf.py"
SERIES_INDICATOR = "SYN_ACTIVE_PARTICIPANTS"
PAGE_INDICATOR = "SYN_CONTRIBUTIONS_COLLECTED"
CSV_INDICATOR = "SYN_NEW_REGISTRATIONS"
CROSS_SECTION_PERIOD = "2025-12"
PAGE_REGION = "31"
TABLE = "observations"


@dataclass
class Query:
    key: str
    label: str
    angka: str
    datasette: str


def queries() -> list[Query]:
    """The JSON query mix; the same filters in angka's and Datasette's syntax."""
    series = {"indicator": SERIES_INDICATOR, "region": "ID", "segment": "_T", "program": "_T"}
    cross = {
        "indicator": SERIES_INDICATOR,
        "segment": "_T",
        "program": "_T",
    }
    page = {"indicator": PAGE_INDICATOR, "region": PAGE_REGION}
    q = urllib.parse.urlencode
    base, table = "/api/v1/observations/?", f"/{TABLE}/{TABLE}.json?"
    return [
        Query(
            "1",
            "(1) one monthly series, 2000-01 to 2025-12 (312 rows)",
            base + q({**series, "page_size": 1000}),
            table + q({**series, "_size": 1000}),
        ),
        Query(
            "2",
            f"(2) cross-section: every region at {CROSS_SECTION_PERIOD}",
            base
            + q(
                {
                    **cross,
                    "period_start": CROSS_SECTION_PERIOD,
                    "period_end": CROSS_SECTION_PERIOD,
                    "page_size": 1000,
                }
            ),
            table + q({**cross, "period": CROSS_SECTION_PERIOD, "_size": 1000}),
        ),
        Query(
            "3",
            f"(3) filtered page of 1,000 rows ({PAGE_INDICATOR}, region {PAGE_REGION})",
            base + q({**page, "page_size": 1000}),
            table + q({**page, "_size": 1000}),
        ),
    ]


@dataclass
class SdmxQuery:
    key: str
    label: str
    path: str
    json_key: str  # the JSON query (queries()) asking for the same observations


def sdmx_queries() -> list[SdmxQuery]:
    """SDMX data queries for the observations of JSON queries (1) and (2)."""
    base = f"/sdmx/data/{SERIES_INDICATOR}/"
    period = urllib.parse.urlencode(
        {"startPeriod": CROSS_SECTION_PERIOD, "endPeriod": CROSS_SECTION_PERIOD}
    )
    return [
        SdmxQuery("S1", "(S1) SDMX: the series of (1), generic data", base + "M.ID._T._T", "1"),
        SdmxQuery(
            "S2",
            "(S2) SDMX: the cross-section of (2), generic data",
            base + "M.._T._T?" + period,
            "2",
        ),
    ]


def units_queries() -> list[SdmxQuery]:
    """The page of JSON query (3), transformed: percent change from a year ago."""
    page = {"indicator": PAGE_INDICATOR, "region": PAGE_REGION, "page_size": 1000}
    path = "/api/v1/observations/?" + urllib.parse.urlencode({**page, "units": "pc1"})
    return [SdmxQuery("U3", "(U3) the page of (3) with units=pc1", path, "3")]


def check_units_rows(port: int, query: SdmxQuery, json_rows: int) -> int:
    """The rows of the transformed page, which must be as many as the plain page's."""
    import json

    status, body = http_get(port, query.path)
    if status != 200:
        raise RuntimeError(f"{query.path} answered {status}")
    found = len(json.loads(body)["results"])
    if found != json_rows:
        raise RuntimeError(f"{query.label}: {found} rows, the JSON query {json_rows}")
    return found


def check_sdmx_rows(port: int, query: SdmxQuery, json_rows: int) -> int:
    """The number of observations of the SDMX answer, which must be the JSON query's."""
    status, body = http_get(port, query.path)
    if status != 200:
        raise RuntimeError(f"{query.path} answered {status}")
    found = body.count(b"<generic:Obs>")
    if found != json_rows:
        raise RuntimeError(f"{query.label}: {found} observations, the JSON query {json_rows}")
    return found


def csv_paths() -> tuple[str, str]:
    q = urllib.parse.urlencode
    return (
        "/api/v1/observations/?" + q({"indicator": CSV_INDICATOR, "format": "csv"}),
        f"/{TABLE}/{TABLE}.csv?" + q({"indicator": CSV_INDICATOR, "_stream": "on", "_size": "max"}),
    )


# -- setup ------------------------------------------------------------------------------


def _configure_environment() -> tuple[str, str]:
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench-api needs PostgreSQL; DATABASE_URL is {url!r}")
    redis_url = os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    return url, redis_url


def _database_prepare(observations: int) -> dict:
    """Migrate, load the demo, generate the synthetic rows unless they are there."""
    from bench.bench_import import _database_create_if_missing

    _database_create_if_missing(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.generate import DEFAULT_RELEASE_SLUG, synthetic_data_generate
    from publications.demo.loader import demo_load
    from publications.models import Release
    from stats.models import Observation

    call_command("migrate", verbosity=0, interactive=False)
    generated = None
    if not Release.objects.filter(slug=DEFAULT_RELEASE_SLUG).exists():
        demo_load()
        print(f"generating {observations:,} observations", file=sys.stderr)
        result = synthetic_data_generate(observations=observations)
        generated = result.seconds
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    total = Observation.objects.current().count()
    release = Release.objects.get(slug=DEFAULT_RELEASE_SLUG)
    synthetic = Observation.objects.filter(release=release).count()
    return {
        "observations": total,
        "synthetic": synthetic,
        "generated_seconds": generated,
        "version": f"{release.pk}:{release.published_at.isoformat()}:{total}",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(port: int, path: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            status, _body = http_get(port, path)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server on port {port} did not answer {path} in {seconds:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gunicorn_settings() -> dict:
    """Workers, threads and preloading as ``config/gunicorn.conf.py`` sets them here."""
    import runpy

    values = runpy.run_path(str(GUNICORN_CONFIG))
    return {
        "workers": values["workers"],
        "threads": values["threads"],
        "worker_class": values["worker_class"],
        "preload": values.get("preload_app", False),
    }


def gunicorn_start(port: int, *, cache_seconds: int, prefix: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-api-" + os.urandom(16).hex(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "API_CACHE_SECONDS": str(cache_seconds),
        "API_ANON_RATE": "off",
        "API_USER_RATE": "off",
        "CACHE_KEY_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--config",
        str(GUNICORN_CONFIG),
        "config.wsgi",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    _wait_ready(port, "/api/v1/codelists/", process)
    return process


# -- Datasette ----------------------------------------------------------------------------


def datasette_install() -> Path:
    binary = DATASETTE_VENV / "bin" / "datasette"
    if not binary.exists():
        print("installing Datasette into bench-data/datasette-venv", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
        subprocess.run(
            [str(DATASETTE_VENV / "bin" / "pip"), "install", "--quiet", "datasette"], check=True
        )
    return binary


def sqlite_export(version: str) -> dict:
    """Every public observation, as angka's CSV has them, into one SQLite table.

    The rows come from angka's own CSV statement (the lines of ``?format=csv``);
    the table gets indexes on the filtered columns, as its publisher would add.
    """
    from django.db import connection, transaction
    from django.utils import timezone, translation

    from stats.api.rows import ObservationRows
    from stats.api.statements import csv_lines_sql
    from stats.filtersets import CatalogueLookups
    from stats.models import Observation, Series

    marker = SQLITE_PATH.with_suffix(".version")
    if SQLITE_PATH.exists() and marker.exists() and marker.read_text() == version:
        with sqlite3.connect(SQLITE_PATH) as db:
            (count,) = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        return {"rows": count, "seconds": None, "size_mb": SQLITE_PATH.stat().st_size / 1e6}
    started = time.perf_counter()
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    SQLITE_PATH.unlink(missing_ok=True)
    with translation.override("id"):
        rows = ObservationRows(CatalogueLookups())
        header = rows.csv_header()
        queryset = Observation.objects.as_of(timezone.now())
        sql, params = csv_lines_sql(
            rows, queryset, [("series_id", False), ("period_start", False)], Series.objects.all()
        )
    db = sqlite3.connect(SQLITE_PATH)
    columns = ", ".join(f'"{name}" TEXT' for name in header)
    db.execute(f"CREATE TABLE {TABLE} ({columns})")
    insert = f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(header))})"
    count = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('TimeZone', %s, true)", ["Asia/Jakarta"])
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while lines := cursor.fetchmany(20_000):
                count += _sqlite_insert(db, insert, [line for (line,) in lines])
    db.execute(f"CREATE INDEX idx_series ON {TABLE} (indicator, region, segment, program, period)")
    db.execute(f"CREATE INDEX idx_period ON {TABLE} (indicator, period)")
    db.commit()
    db.execute("ANALYZE")
    db.close()
    marker.write_text(version)
    return {
        "rows": count,
        "seconds": time.perf_counter() - started,
        "size_mb": SQLITE_PATH.stat().st_size / 1e6,
    }


def _sqlite_insert(db: sqlite3.Connection, insert: str, lines: list[str]) -> int:
    rows = list(csv.reader(io.StringIO("".join(lines), newline="")))
    db.executemany(insert, rows)
    return len(rows)


def datasette_start(binary: Path, port: int) -> subprocess.Popen:
    command = [
        str(binary),
        "serve",
        "-i",
        str(SQLITE_PATH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--setting",
        "max_csv_mb",
        "0",
    ]
    process = subprocess.Popen(
        command,
        cwd=DATA_DIR,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_ready(port, f"/{TABLE}.json", process, seconds=120)
    return process


# -- load and measurements ----------------------------------------------------------------


def http_get(port: int, path: str, timeout: float = 300) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"cannot read the latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Load:
    rate: float
    p50: float
    p99: float
    requests: int
    errors: int
    tool: str
    extra: dict = field(default_factory=dict)


def wrk(port: int, path: str, seconds: int) -> Load:
    command = [
        "wrk",
        "-t2",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        f"http://127.0.0.1:{port}{path}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    distribution = re.search(r"Latency Distribution\s+50%\s+(\S+).*?99%\s+(\S+)", output, re.S)
    if requests == 0 or distribution is None:
        # Nothing finished within the run: the latency is at least its duration.
        p50 = p99 = seconds * 1000.0
    else:
        p50, p99 = (_milliseconds(distribution.group(index)) for index in (1, 2))
    errors = 0
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if bad:
        errors += int(bad.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        errors += int(sockets.group(1)) + int(sockets.group(4))
    return Load(rate, p50, p99, requests, errors, "wrk")


def python_load(port: int, path: str, seconds: int) -> Load:
    """Used when wrk is missing: CONNECTIONS threads, one request at a time each."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, _body = http_get(port, path, timeout=30)
            except OSError:
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors += status != 200

    started = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    latencies.sort()
    return Load(
        len(latencies) / wall,
        latencies[len(latencies) // 2],
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        len(latencies),
        errors,
        "python",
    )


# The 1-minute load average before each timed run: how busy the shared machine was.
LOADS: list[float] = []


def load(port: int, path: str, seconds: int, warmup: int) -> Load:
    status, _body = http_get(port, path)
    if status != 200:
        raise RuntimeError(f"{path} answered {status}")
    runner = wrk if shutil.which("wrk") else python_load
    if warmup:
        runner(port, path, warmup)
    LOADS.append(os.getloadavg()[0])
    return runner(port, path, seconds)


def load_rounds(port: int, paths: list[str], seconds: int, warmup: int, rounds: int) -> list[Load]:
    """Each path loaded ``rounds`` times, the paths taking turns (so a busy spell of the
    shared machine falls on all of them), as the median round of each: the median rate,
    p50 and p99 (each over the rounds), the rounds' rates and p99s kept in ``extra``."""
    runs: list[list[Load]] = [[] for _ in paths]
    for _round in range(rounds):
        for index, path in enumerate(paths):
            runs[index].append(load(port, path, seconds, warmup))
    return [
        Load(
            rate=statistics.median(run.rate for run in loads),
            p50=statistics.median(run.p50 for run in loads),
            p99=statistics.median(run.p99 for run in loads),
            requests=sum(run.requests for run in loads),
            errors=sum(run.errors for run in loads),
            tool=loads[0].tool,
            extra={"rounds": [(run.rate, run.p99) for run in loads]},
        )
        for loads in runs
    ]


class MemorySampler:
    """Peaks of the summed memory of a gunicorn master's workers, read from /proc.

    RSS counts the pages the workers share (the interpreter, libraries) once per worker;
    PSS splits each shared page between the processes that map it, so the PSS sum is
    what the workers take together.
    """

    def __init__(self, master: int):
        self.master = master
        self.peak_rss = 0.0
        self.peak_pss = 0.0
        self.peak_master = 0.0
        self.peak_server_pss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _field_mb(path: str, name: str) -> float:
        try:
            with open(path, encoding="ascii") as handle:
                for line in handle:
                    if line.startswith(name):
                        return int(line.split()[1]) / 1024
        except OSError:
            return 0.0
        return 0.0

    def workers(self) -> list[int]:
        try:
            with open(f"/proc/{self.master}/task/{self.master}/children", encoding="ascii") as f:
                return [int(pid) for pid in f.read().split()]
        except OSError:
            return []

    def sample(self) -> dict:
        pids = self.workers()
        rss = sum(self._field_mb(f"/proc/{pid}/status", "VmRSS:") for pid in pids)
        pss = sum(self._field_mb(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        master = self._field_mb(f"/proc/{self.master}/status", "VmRSS:")
        master_pss = self._field_mb(f"/proc/{self.master}/smaps_rollup", "Pss:")
        self.peak_master = max(self.peak_master, master)
        self.peak_server_pss = max(self.peak_server_pss, pss + master_pss)
        return {"rss": rss, "pss": pss, "server_pss": pss + master_pss, "workers": len(pids)}

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def download(port: int, path: str) -> dict:
    """Read a CSV the way a client does, in 1 MB reads; count rows and time it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    lines = size = 0
    first = b""
    while chunk := response.read(1 << 20):
        if not first:
            first = chunk[:4096]
        lines += chunk.count(b"\n")
        size += len(chunk)
    conn.close()
    seconds = time.perf_counter() - started
    rows = lines - 1
    return {"rows": rows, "seconds": seconds, "rate": rows / seconds, "bytes": size}


def downloads_concurrent(port: int, path: str, streams: int) -> dict:
    results: list[dict] = []
    lock = threading.Lock()

    def run() -> None:
        result = download(port, path)
        with lock:
            results.append(result)

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    rows = sum(result["rows"] for result in results)
    times = sorted(result["seconds"] for result in results)
    return {"streams": streams, "rate": rows / wall, "wall": wall, "slowest": times[-1]}


def copy_rates(runs: int) -> dict:
    """PostgreSQL's COPY TO STDOUT of the CSV's rows, read by psycopg as the API reads it:
    the observation columns as stored (raw), and angka's own formatting statement."""
    from django.db import connection
    from django.utils import timezone, translation

    from stats.api.rows import ObservationRows
    from stats.api.statements import csv_lines_sql
    from stats.filtersets import CatalogueLookups
    from stats.models import Indicator, Observation, Series

    indicator = Indicator.objects.get(code=CSV_INDICATOR)
    now = timezone.now()
    raw = (
        "SELECT o.series_id, o.period, o.period_start, o.period_end, o.value, o.status, o.note, "
        "o.reference_date, o.release_id, o.valid_from FROM stats_observation o "
        "JOIN stats_series s ON s.id = o.series_id WHERE s.indicator_id = %s "
        "AND o.valid_from <= %s AND (o.valid_to IS NULL OR o.valid_to > %s) "
        "ORDER BY o.series_id, o.period_start"
    )
    with translation.override("id"):
        rows = ObservationRows(CatalogueLookups())
        formatted, formatted_params = csv_lines_sql(
            rows,
            Observation.objects.as_of(now).filter(series__indicator_id=indicator.pk),
            [("series_id", False), ("period_start", False)],
            Series.objects.filter(indicator_id=indicator.pk),
        )
    statements = {
        "raw": (raw, [indicator.pk, now, now]),
        # One text column (the line): COPY's text format, which needs no quoting.
        "formatted": (formatted, formatted_params),
    }
    formats = {"raw": "csv", "formatted": "text"}
    results: dict[str, list[dict]] = {name: [] for name in statements}
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, false)", ["Asia/Jakarta"])
        for _ in range(runs):
            for name, (sql, params) in statements.items():
                count = 0
                started = time.perf_counter()
                copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT {formats[name]})"
                with cursor.cursor.copy(copy_sql, params) as copy:
                    for _data in copy:
                        count += 1
                seconds = time.perf_counter() - started
                results[name].append({"rows": count, "seconds": seconds, "rate": count / seconds})
        cursor.execute("SELECT set_config('TimeZone', 'UTC', false)")
    return {name: {**_median_run(runs_), "all": runs_} for name, runs_ in results.items()}


def _median_run(runs: list[dict]) -> dict:
    rates = sorted(run["rate"] for run in runs)
    return {
        "rate": statistics.median(rates),
        "rows": runs[0]["rows"],
        "runs": rates,
    }


def check_same_rows(angka_port: int, datasette_port: int, query: Query) -> tuple[int, int]:
    """The number of rows and the values of both answers, which must agree."""
    import json

    _status, body = http_get(angka_port, query.angka)
    ours = json.loads(body)["results"]
    _status, body = http_get(datasette_port, query.datasette)
    theirs = json.loads(body)
    position = theirs["columns"].index("value")
    values = sorted(row[position] for row in theirs["rows"])
    if sorted(row["value"] for row in ours) != values:
        raise RuntimeError(f"angka and Datasette disagree on {query.label}")
    return len(ours), len(values)


# -- report --------------------------------------------------------------------------------


def _machine_note() -> str:
    from bench.bench_import import _machine_note as note

    return note()


def _goal(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report_section(results: dict) -> str:
    lines = [
        SECTION_START,
        "## Read API under load against Datasette",
        "",
        f"Measured {results['date']} with `make bench-api`.",
        f"Machine: {results['machine']} wrk, the servers and PostgreSQL share the 2 cores. "
        f"Load average (1 min) before the timed runs: {min(LOADS):.1f} to {max(LOADS):.1f} "
        "(the runs' own load included: one load test keeps both cores busy).",
        "",
        f"Data: {results['observations']:,} public observations ({results['synthetic']:,} "
        "synthetic monthly ones from `python -m bench.generate`, the rest the demo) in "
        f"PostgreSQL. angka: gunicorn, {results['server']}, DEBUG off, Redis cache; rate "
        "limits off for the run. Datasette "
        f"{results['datasette_version']}: the same rows as angka's CSV columns "
        f"({results['sqlite']['rows']:,} rows, {results['sqlite']['size_mb']:.0f} MB) in "
        "one SQLite table opened immutable (`datasette serve -i`, as `datasette publish` "
        "does), indexed on (indicator, region, segment, program, period) and (indicator, "
        "period), default settings but `max_csv_mb 0`.",
        "",
        f"Load: {results['tool']}, {CONNECTIONS} connections over loopback, "
        f"{results['seconds']} s per query after a {results['warmup']} s warm-up; angka's "
        f"queries in {results['rounds']} rounds, taking turns, each cell the median over "
        "the rounds (rounds listed below the table), Datasette's once. Rates in "
        "requests/s, latencies in ms.",
        "",
        "| Query | rows | angka, no cache: req/s, p50, p99 | angka, cache: req/s, p50, p99 "
        "| Datasette: req/s, p50, p99 | no cache / Datasette | cache / Datasette |",
        "| --- | ---: | --- | --- | --- | ---: | ---: |",
    ]
    goals = {"2x": True, "10x": True, "p99": True, "p99_cached": True, "p99_plain": True}
    for query in results["queries"]:
        plain, cached, theirs = query["plain"], query["cached"], query["datasette"]

        def cell(load: Load) -> str:
            errors = f", **{load.errors} errors**" if load.errors else ""
            return f"{load.rate:,.0f}, {load.p50:.0f}, {load.p99:.0f}{errors}"

        # Datasette may finish no request within a run on a busy machine: no ratio then
        # (and angka, which did, is ahead by any factor).
        plain_ratio = plain.rate / theirs.rate if theirs.rate else float("inf")
        cached_ratio = cached.rate / theirs.rate if theirs.rate else float("inf")
        goals["2x"] &= plain_ratio >= 2
        goals["10x"] &= cached_ratio >= 10
        goals["p99_plain"] &= plain.p99 < 100
        goals["p99_cached"] &= cached.p99 < 100
        goals["p99"] &= plain.p99 < 100 and cached.p99 < 100
        lines.append(
            f"| {query['label']} | {query['rows']:,} | {cell(plain)} | {cell(cached)} "
            f"| {cell(theirs)} | {_ratio(plain_ratio)} | {_ratio(cached_ratio)} |"
        )
    lines += ["", "angka's rounds (requests/s, p99 ms):", ""]
    for query in results["queries"]:
        for name, label in (("plain", "no cache"), ("cached", "cache")):
            rounds = query[name].extra.get("rounds", [])
            listed = "; ".join(f"{rate:,.0f}, {p99:.0f}" for rate, p99 in rounds)
            lines.append(f"- {query['label'].split(' ')[0]} {label}: {listed}")
    csv_result = results["csv"]
    copy_raw, copy_formatted = csv_result["copy"]["raw"], csv_result["copy"]["formatted"]
    ours, theirs = csv_result["angka"], csv_result["datasette"]
    concurrent = csv_result["concurrent"]
    started, idle = csv_result["started"], csv_result["idle"]
    share = ours["rate"] / copy_raw["rate"]
    memory_ok = csv_result["peak_server_pss"] < 200
    workers = results["gunicorn"]["workers"]
    lines += [
        "",
        f"(4) CSV of one indicator ({CSV_INDICATOR}, {ours['rows']:,} rows, "
        f"{ours['bytes'] / 1e6:.0f} MB from angka), whole downloads, rows/s (median of "
        f"{len(ours['runs'])}; each angka download right after a COPY of each kind, so "
        "they meet the same load):",
        "",
        "| Source | rows/s | runs |",
        "| --- | ---: | --- |",
        _csv_line(
            "PostgreSQL `COPY (SELECT observation columns) TO STDOUT`, read by psycopg", copy_raw
        ),
        _csv_line(
            "PostgreSQL `COPY` of angka's own CSV statement (whole lines: labels, exact text)",
            copy_formatted,
        ),
        _csv_line("angka `?format=csv`, one client", ours),
        _csv_line("Datasette `.csv?_stream=on`, one client", theirs),
        "",
        f"angka / COPY: **{share:.0%}** (goal 50%); angka / Datasette: "
        f"**{ours['rate'] / theirs['rate']:.1f}x**. With {concurrent['streams']} clients "
        f"downloading at once, angka serves {concurrent['rate']:,.0f} rows/s in all (the "
        f"slowest download took {concurrent['slowest']:.1f} s).",
        "",
        f"Memory of the gunicorn server (its master and {workers} workers), read from /proc "
        "every 50 ms. PSS counts each shared page once (the application is loaded before "
        "the workers fork, so its pages are shared), RSS once per process:",
        "",
        "| When | PSS, master and workers, MB | PSS, workers, MB | RSS sum of workers, MB |",
        "| --- | ---: | ---: | ---: |",
        f"| Just started | {started['server_pss']:.0f} | {started['pss']:.0f} "
        f"| {started['rss']:.0f} |",
        f"| After the JSON runs, before the CSV | {idle['server_pss']:.0f} | {idle['pss']:.0f} "
        f"| {idle['rss']:.0f} |",
        f"| Peak while streaming (1, then {concurrent['streams']} clients) "
        f"| **{csv_result['peak_server_pss']:.0f}** | {csv_result['peak_pss']:.0f} "
        f"| {csv_result['peak_rss']:.0f} |",
        "",
        f"Streaming added {csv_result['peak_server_pss'] - idle['server_pss']:.0f} MB (PSS) "
        "to what the server held before it: the CSV is sent as the database produces it, a "
        f"few hundred rows at a time. The master process alone: "
        f"{csv_result['peak_master_mb']:.0f} MB RSS at most.",
        "",
        "Goals of the issue:",
        "",
        f"- every query at least 2x Datasette's rate without the response cache: "
        f"{_goal(goals['2x'])}",
        f"- every query at least 10x Datasette's rate with the response cache: "
        f"{_goal(goals['10x'])}",
        f"- p99 under 100 ms at {CONNECTIONS} connections for (1)-(3): {_goal(goals['p99'])} "
        f"(with the response cache: {_goal(goals['p99_cached']).strip('*')}; without it: "
        f"{_goal(goals['p99_plain']).strip('*')})",
        f"- CSV at least 50% of COPY's rate: {_goal(share >= 0.5)}",
        f"- server memory under 200 MB while streaming (PSS of master and workers): "
        f"{_goal(memory_ok)}",
        "",
        "Reproduce: `make bench-api` (PostgreSQL at DATABASE_URL, default "
        f"`{DEFAULT_DATABASE_URL}`, created and filled when missing; Redis at REDIS_URL, "
        f"default `{DEFAULT_REDIS_URL}`). `--seconds`, `--warmup` and `--rounds` set the load.",
        SECTION_END,
    ]
    return "\n".join(lines)


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value != float("inf") else "n/a (Datasette: no answer)"


def sdmx_report_section(results: dict) -> str:
    """BENCHMARKS.md's SDMX section: each SDMX query's rate against its JSON query's."""
    lines = [
        SDMX_SECTION_START,
        "## SDMX data under load, against the same query as JSON",
        "",
        f"Measured {results['date']} with `make bench-api`, in the same run, server and "
        "rounds as the read API above (the SDMX queries take their turns with the JSON "
        "ones; each cell the median over the rounds). Requests/s, p50 and p99 in ms. "
        f"Load average (1 min) before the timed runs: {min(LOADS):.1f} to "
        f"{max(LOADS):.1f}, on 2 cores shared with other work: compare the ratios.",
        "",
        "| Query | observations | no cache: req/s, p50, p99 | JSON no cache | SDMX / JSON "
        "| cache: req/s, p50, p99 | JSON cache | SDMX / JSON |",
        "| --- | ---: | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    by_key = {query["key"]: query for query in results["queries"]}
    met = True
    for query in results["sdmx"]:
        theirs = by_key[query["json_key"]]
        cells = []
        for name in ("plain", "cached"):
            ours, json_load = query[name], theirs[name]
            ratio = ours.rate / json_load.rate
            met &= ratio >= SDMX_GOAL
            errors = f", **{ours.errors} errors**" if ours.errors else ""
            cells.append(
                f"{ours.rate:,.0f}, {ours.p50:.0f}, {ours.p99:.0f}{errors} | "
                f"{json_load.rate:,.0f} | **{ratio:.0%}**"
            )
        lines.append(f"| {query['label']} | {query['rows']:,} | {cells[0]} | {cells[1]} |")
    lines += ["", "SDMX rounds (requests/s, p99 ms):", ""]
    for query in results["sdmx"]:
        for name, label in (("plain", "no cache"), ("cached", "cache")):
            rounds = query[name].extra.get("rounds", [])
            listed = "; ".join(f"{rate:,.0f}, {p99:.0f}" for rate, p99 in rounds)
            lines.append(f"- {query['label'].split(' ')[0]} {label}: {listed}")
    lines += [
        "",
        f"Goal of the issue: each SDMX query at least {SDMX_GOAL:.0%} of the plain JSON "
        f"query's rate, with and without the response cache: {_goal(met)}",
        "",
        "Reproduce: `make bench-api` (as above).",
        SDMX_SECTION_END,
    ]
    return "\n".join(lines)


def units_report_section(results: dict) -> str:
    """BENCHMARKS.md's section on transformed pages: their rate against the plain page's."""
    lines = [
        UNITS_SECTION_START,
        "## Transformed observations (`units`) under load, against the plain page",
        "",
        f"Measured {results['date']} with `make bench-api`, in the same run, server and "
        "rounds as the plain page it is compared with "
        f"({results['rounds']} rounds of {results['seconds']} s, "
        f"{results['warmup']} s warm-up; each cell the median over the rounds). "
        "Requests/s, p50 and p99 in ms. "
        f"Load average (1 min) before the timed runs: {min(LOADS):.1f} to "
        f"{max(LOADS):.1f}, on 2 cores shared with other work: compare the ratios.",
        "",
        "| Query | rows | no cache: req/s, p50, p99 | plain no cache | units / plain "
        "| cache: req/s, p50, p99 | plain cache | units / plain |",
        "| --- | ---: | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    by_key = {query["key"]: query for query in results["queries"]}
    met = True
    for query in results["units"]:
        theirs = by_key[query["json_key"]]
        cells = []
        for name in ("plain", "cached"):
            ours, json_load = query[name], theirs[name]
            ratio = ours.rate / json_load.rate
            met &= ratio >= UNITS_GOAL
            errors = f", **{ours.errors} errors**" if ours.errors else ""
            cells.append(
                f"{ours.rate:,.0f}, {ours.p50:.0f}, {ours.p99:.0f}{errors} | "
                f"{json_load.rate:,.0f} | **{ratio:.0%}**"
            )
        lines.append(f"| {query['label']} | {query['rows']:,} | {cells[0]} | {cells[1]} |")
    lines += ["", "Rounds (requests/s, p99 ms), the plain page's beside:", ""]
    for query in results["units"]:
        for name, label in (("plain", "no cache"), ("cached", "cache")):
            for shown in (query, by_key[query["json_key"]]):
                rounds = shown[name].extra.get("rounds", [])
                listed = "; ".join(f"{rate:,.0f}, {p99:.0f}" for rate, p99 in rounds)
                lines.append(f"- {shown['label'].split(' ')[0]} {label}: {listed}")
    lines += [
        "",
        f"Goal of the issue: `units=pc1` on a 1,000-row page at least {UNITS_GOAL:.0%} of "
        f"the plain JSON query's rate, with and without the response cache: {_goal(met)}",
        "",
        "Reproduce: `make bench-api` (as above).",
        UNITS_SECTION_END,
    ]
    return "\n".join(lines)


def _csv_line(label: str, result: dict) -> str:
    runs = ", ".join(f"{rate:,.0f}" for rate in result["runs"])
    return f"| {label} | {result['rate']:,.0f} | {runs} |"


def write_report(section: str) -> None:
    section_write(section, start=SECTION_START, end=SECTION_END, report=REPORT)


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="load per query and round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of angka's JSON queries (the median)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="unrecorded load before each")
    parser.add_argument("--csv-runs", type=int, default=3, help="downloads of the CSV (>= 1)")
    parser.add_argument(
        "--no-report", action="store_true", help="print the numbers; leave BENCHMARKS.md alone"
    )
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.warmup < 0 or args.csv_runs < 1 or args.rounds < 1:
        parser.error("--seconds, --rounds and --csv-runs must be at least 1, --warmup at least 0")
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)

    _configure_environment()
    data = _database_prepare(OBSERVATIONS)
    binary = datasette_install()
    print("exporting the rows to SQLite for Datasette", file=sys.stderr)
    sqlite = sqlite_export(data["version"])
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]

    mix = queries()
    sdmx_mix = sdmx_queries()
    units_mix = units_queries()
    gunicorn = gunicorn_settings()
    angka_csv, datasette_csv = csv_paths()
    results = {
        "date": dt.date.today().isoformat(),
        "machine": _machine_note(),
        "tool": "wrk" if shutil.which("wrk") else "a Python load generator (wrk missing)",
        "gunicorn": gunicorn,
        "server": f"`config/gunicorn.conf.py`: {gunicorn['workers']} workers of "
        f"{gunicorn['threads']} threads ({gunicorn['worker_class']})"
        + (", application preloaded" if gunicorn["preload"] else ""),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "datasette_version": version,
        "sqlite": sqlite,
        **data,
        "queries": [{"label": query.label, "key": query.key} for query in mix],
        "sdmx": [
            {"label": query.label, "key": query.key, "json_key": query.json_key}
            for query in sdmx_mix
        ],
        "units": [
            {"label": query.label, "key": query.key, "json_key": query.json_key}
            for query in units_mix
        ],
    }

    datasette_port = _free_port()
    datasette = datasette_start(binary, datasette_port)
    try:
        for query, entry in zip(mix, results["queries"], strict=True):
            entry["datasette"] = load(datasette_port, query.datasette, args.seconds, args.warmup)
            print(f"Datasette {query.key}: {entry['datasette']}", file=sys.stderr)
        theirs = [download(datasette_port, datasette_csv) for _ in range(max(1, args.csv_runs - 1))]
        print(f"Datasette CSV: {[run['rate'] for run in theirs]}", file=sys.stderr)

        prefix = f"bench-api-{os.getpid()}-{int(time.time())}"
        for name, cache_seconds in (("plain", 0), ("cached", 600)):
            port = _free_port()
            server = gunicorn_start(port, cache_seconds=cache_seconds, prefix=f"{prefix}-{name}")
            try:
                if name == "plain":
                    started_memory = MemorySampler(server.pid).sample()
                if name == "plain":
                    for query, entry in zip(mix, results["queries"], strict=True):
                        entry["rows"], _ = check_same_rows(port, datasette_port, query)
                    rows = {entry["key"]: entry["rows"] for entry in results["queries"]}
                    for sdmx_query, entry in zip(sdmx_mix, results["sdmx"], strict=True):
                        entry["rows"] = check_sdmx_rows(port, sdmx_query, rows[sdmx_query.json_key])
                    for units_query, entry in zip(units_mix, results["units"], strict=True):
                        entry["rows"] = check_units_rows(
                            port, units_query, rows[units_query.json_key]
                        )
                paths = [
                    *(query.angka for query in mix),
                    *(query.path for query in sdmx_mix),
                    *(query.path for query in units_mix),
                ]
                loads = load_rounds(port, paths, args.seconds, args.warmup, args.rounds)
                for query, entry, result in zip(mix, results["queries"], loads, strict=False):
                    entry[name] = result
                    print(f"angka {name} {query.key}: {entry[name]}", file=sys.stderr)
                others = [*results["sdmx"], *results["units"]]
                for sdmx_query, entry, result in zip(
                    [*sdmx_mix, *units_mix], others, loads[len(mix) :], strict=True
                ):
                    entry[name] = result
                    print(f"angka {name} {sdmx_query.key}: {entry[name]}", file=sys.stderr)
                if name == "plain":
                    sampler = MemorySampler(server.pid)
                    idle = sampler.sample()
                    with sampler:
                        # COPY and angka's download take turns, so both meet the same
                        # load from whatever else the machine runs.
                        ours, copies = [], []
                        for _ in range(args.csv_runs):
                            copies.append(copy_rates(1))
                            ours.append(download(port, angka_csv))
                        concurrent = downloads_concurrent(port, angka_csv, CONNECTIONS)
                    print(
                        f"angka CSV: {[run['rate'] for run in ours]}, {concurrent}", file=sys.stderr
                    )
            finally:
                _stop(server)
    finally:
        _stop(datasette)

    if ours[0]["rows"] != theirs[0]["rows"]:
        raise RuntimeError(
            f"the CSVs differ: angka {ours[0]['rows']:,} rows, Datasette {theirs[0]['rows']:,}"
        )
    results["csv"] = {
        "copy": {
            name: _median_run([run for copy in copies for run in copy[name]["all"]])
            for name in ("raw", "formatted")
        },
        "angka": {**_median_run(ours), "bytes": ours[0]["bytes"]},
        "datasette": _median_run(theirs),
        "concurrent": concurrent,
        "peak_rss": sampler.peak_rss,
        "peak_pss": sampler.peak_pss,
        "peak_server_pss": sampler.peak_server_pss,
        "peak_master_mb": sampler.peak_master,
        "started": started_memory,
        "idle": idle,
    }
    section = report_section(results)
    sdmx_section = sdmx_report_section(results)
    units_section = units_report_section(results)
    print(section)
    print(sdmx_section)
    print(units_section)
    if not args.no_report:
        write_report(section)
        section_write(sdmx_section, start=SDMX_SECTION_START, end=SDMX_SECTION_END, report=REPORT)
        section_write(
            units_section, start=UNITS_SECTION_START, end=UNITS_SECTION_END, report=REPORT
        )
        print(f"updated {REPORT}", file=sys.stderr)


if __name__ == "__main__":
    main()
