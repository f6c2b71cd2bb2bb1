"""Benchmark: the read API under load, against Datasette serving the same rows.

Run with ``make bench-api`` (or ``.venv/bin/python -m bench.bench_api``). It needs
PostgreSQL (DATABASE_URL, by default postgres://postgres@127.0.0.1:5432/angka_bench_api,
created and migrated when missing), Redis (REDIS_URL, by default
redis://127.0.0.1:6379/0; its keys get a prefix of their own), wrk and Varnish
(``make bench-api`` installs the Debian packages when they are missing). It

* loads the demo and generates 2,000,000 synthetic observations (``bench.generate``)
  unless they are there already (``--observations`` for a small check of the pipeline);
* serves the site with gunicorn as the README's production section says
  (``config/gunicorn.conf.py``, DEBUG off), once with the response cache off
  (API_CACHE_SECONDS=0) and once with it;
* exports the same rows to SQLite as a Datasette publisher who knows its documentation
  would (``DATASETTE_METHOD`` below says how, and the report repeats it): typed
  columns, one index per query that serves Datasette's own SQL for it (its filters, then
  its ``ORDER BY rowid``), served immutable with an inspect file, facet suggestions off,
  queried with ``_shape=array&_nocount=1``;
* checks that set-up before any load: Datasette's own tracer (``datasette.tracer``, what
  ``?_trace=1`` reads) must show exactly one statement on the table per request, and
  SQLite's ``EXPLAIN QUERY PLAN`` of it (asked through Datasette) a search of the
  query's index without a temporary B-tree; and every column of every row of each query
  must be the same on both sides;
* loads each query with wrk (16 connections over loopback) in rounds that alternate
  angka and Datasette (A, B, A, B, ...), uncached (angka's response cache off,
  Datasette direct) and cached (both behind one Varnish, ``bench/varnish.vcl``, with
  the same lifetime in Varnish on both sides: angka's s-maxage, Datasette's max-age),
  each figure the median of its rounds;
  socket errors, non-2xx answers and runs that finished no request are counted;
* (4) times the CSV of one indicator as downloads next to PostgreSQL's
  ``COPY ... TO STDOUT`` of the same rows, with the gunicorn workers' memory read from
  /proc while they stream;
* runs the SDMX data queries of (1) and (2) (``/sdmx/data/...``, SDMX-ML generic data,
  what an SDMX client gets by default) in the same rounds as angka's JSON queries, and
  compares their rates;
* runs the page of (3) transformed (``units=pc1``, percent change from a year ago) in
  the same rounds, and compares its rate with the plain page's;

and writes the numbers into its sections of BENCHMARKS.md (only a run on the full
2,000,000 rows does; a smaller one writes to ``--report``). Rate limits are off for the
run (API_ANON_RATE=off): one client past any fair-use limit is the point of a load test.
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import functools
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.loadgen import (
    Load,
    latency_text,
    load_cell,
    python_load,
    ratio,
    ratio_text,
    rounds_median,
    rounds_tail_text,
    rounds_text,
    tail_ratio,
    wrk_run,
)
from bench.report import section_write

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data"
REPORT = ROOT / "BENCHMARKS.md"
DATASETTE_VENV = DATA_DIR / "datasette-venv"
SQLITE_PATH = DATA_DIR / "datasette" / "observations.db"
INSPECT_PATH = SQLITE_PATH.with_suffix(".inspect.json")
# Loaded only by the Datasette that checks the set-up, never by the one measured.
DATASETTE_PLUGINS = Path(__file__).resolve().parent / "datasette_plugins"
VARNISH_VCL = Path(__file__).resolve().parent / "varnish.vcl"
DEPLOY_VCL = ROOT / "deploy" / "varnish" / "angka.vcl"
DEPLOY_VARNISH_UNIT = ROOT / "deploy" / "varnish" / "varnish.service.d" / "angka.conf"
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
# angka against Datasette set up as its documentation recommends, uncached and with
# both behind the same HTTP cache: the goals.
GOAL_UNCACHED = 10
GOAL_CACHED = 10
CONNECTIONS = 16
# The origin at high concurrency (issue 16): each query uncached at this many
# connections, in the same rounds, its p99 at most GOAL_P99_OVER_P50 times its p50 (no
# request starved behind the others) with no error.
HIGH_CONNECTIONS = 64
GOAL_P99_OVER_P50 = 3
# As the README's production section serves it.
GUNICORN_CONFIG = ROOT / "config" / "gunicorn.conf.py"
SERIES_INDICATOR = "SYN_ACTIVE_PARTICIPANTS"
PAGE_INDICATOR = "SYN_CONTRIBUTIONS_COLLECTED"
CSV_INDICATOR = "SYN_NEW_REGISTRATIONS"
CROSS_SECTION_PERIOD = "2025-12"
PAGE_REGION = "31"
TABLE = "observations"
DATABASE = SQLITE_PATH.stem
# The query-string arguments every Datasette request of the mix carries: rows as a
# plain JSON array (no envelope to build) and no count(*) of the matching rows.
DATASETTE_ARGS = {"_shape": "array", "_nocount": "1"}
# ``datasette serve`` settings beyond ``-i`` and ``--inspect-file``; the cache TTL is
# angka's API max-age, added at start (``datasette_command``).
DATASETTE_SETTINGS = (
    # No suggested facets: each suggestion is one more query per request.
    ("suggest_facets", "off"),
    # Far above any of the mix's queries, so none is cut short under load.
    ("sql_time_limit_ms", "60000"),
    # The CSV of (4) streams whole, as angka's does.
    ("max_csv_mb", "0"),
)
# Datasette's catalogue look-ups it makes on every table request whatever the settings
# (schema version, the table's existence and name): cheap, and not on the table.
CATALOGUE_SQL = ("sqlite_master", "pragma schema_version", "from databases")


@dataclass
class Query:
    key: str
    label: str
    angka: str
    # Datasette's column filters for the same rows, in the order of the index that
    # serves them (``sqlite_indexes``).
    filters: dict[str, str]

    @property
    def index(self) -> str:
        return f"ix_query_{self.key}"

    @property
    def datasette(self) -> str:
        arguments = {**self.filters, "_size": 1000, **DATASETTE_ARGS}
        return f"/{DATABASE}/{TABLE}.json?" + urllib.parse.urlencode(arguments)


def queries(page: tuple[str, str] = (PAGE_INDICATOR, PAGE_REGION)) -> list[Query]:
    """The JSON query mix; the same filters in angka's and Datasette's syntax. ``page``:
    the indicator and region of (3) (``small_scale_page`` for a check on fewer rows)."""
    series = {"indicator": SERIES_INDICATOR, "region": "ID", "segment": "_T", "program": "_T"}
    cross = {"indicator": SERIES_INDICATOR, "segment": "_T", "program": "_T"}
    page_indicator, page_region = page
    page_filters = {"indicator": page_indicator, "region": page_region}
    q = urllib.parse.urlencode
    base = "/api/v1/observations/?"
    return [
        Query(
            "1",
            "(1) one monthly series, 2000-01 to 2025-12 (312 rows)",
            base + q({**series, "page_size": 1000}),
            series,
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
            {**cross, "period": CROSS_SECTION_PERIOD},
        ),
        Query(
            "3",
            f"(3) filtered page of 1,000 rows ({page_indicator}, region {page_region})",
            base + q({**page_filters, "page_size": 1000}),
            page_filters,
        ),
    ]


def sqlite_indexes() -> list[tuple[str, tuple[str, ...]]]:
    """One index per query on its filter columns, equality on every column of it, so
    SQLite reads the matching entries in rowid order (an index ends with the rowid) and
    Datasette's ``ORDER BY rowid`` needs no sort; and one on the CSV's indicator, whose
    stream Datasette pages by rowid (``rowid > ?`` within the indicator)."""
    return [(query.index, tuple(query.filters)) for query in queries()] + [
        ("ix_csv", ("indicator",))
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


def units_queries(page: tuple[str, str] = (PAGE_INDICATOR, PAGE_REGION)) -> list[SdmxQuery]:
    """The page of JSON query (3), transformed: percent change from a year ago."""
    indicator, region = page
    arguments = {"indicator": indicator, "region": region, "page_size": 1000, "units": "pc1"}
    path = "/api/v1/observations/?" + urllib.parse.urlencode(arguments)
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
        f"/{DATABASE}/{TABLE}.csv?"
        + q({"indicator": CSV_INDICATOR, "_stream": "on", "_size": "max"}),
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


def small_scale_page() -> tuple[str, str]:
    """(3)'s indicator and region on fewer rows than the benchmark's, where
    ``bench.generate`` makes only the first synthetic indicators and regions: the
    synthetic indicator and region with the most public rows (at least a page)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.code, s.dimensions->>'region', count(*) FROM stats_observation o "
            "JOIN stats_series s ON s.id = o.series_id "
            "JOIN stats_indicator i ON i.id = s.indicator_id "
            "WHERE i.code LIKE %s AND o.valid_to IS NULL "
            "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1",
            ["SYN\\_%"],
        )
        found = cursor.fetchone()
    if found is None or found[2] < 1000:
        raise RuntimeError("no synthetic indicator and region with a page of 1,000 rows")
    return found[0], found[1]


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


# gunicorn's access log line (gunicorn_start(access_log=True)): status, the request's
# duration in microseconds, the request line.
ACCESS_LOG_FORMAT = '%(s)s %(D)s "%(r)s"'


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


def gunicorn_start(
    port: int, *, cache_seconds: int, prefix: str, access_log: bool = False
) -> subprocess.Popen:
    """gunicorn with ``config/gunicorn.conf.py`` on ``port``. ``access_log``: one line per
    request on its standard output (a pipe the caller reads at once, or gunicorn blocks),
    ``ACCESS_LOG_FORMAT``: status, duration in microseconds, request line."""
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
    if access_log:
        command += ["--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT]
        env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE if access_log else None,
        text=access_log,
    )
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


# The SQLite type of each kind of angka column. SQLite has no decimal type: REAL is a
# binary double (about 15 significant digits), and angka keeps values of up to 30
# digits, 10 of them decimals. So ``value`` is REAL (numeric affinity: what a
# Datasette user sorts, filters and charts on; equal to the nearest double of angka's
# value) and ``value_exact`` TEXT, the exact decimal as angka writes it ("12.9"); the
# rows compared carry both. Dates and instants are ISO text (SQLite's own date
# functions read it); what angka's JSON gives as null (``nullable_columns``) is NULL.
EXACT_COLUMN = "value"
EXACT_TEXT_COLUMN = "value_exact"


def sqlite_schema(header: list[str]) -> list[tuple[str, str]]:
    """(column, SQLite type) of the table, from the CSV header of angka's rows."""
    columns: list[tuple[str, str]] = []
    for name in header:
        if name == EXACT_COLUMN:
            columns += [(EXACT_COLUMN, "REAL"), (EXACT_TEXT_COLUMN, "TEXT")]
        else:
            columns.append((name, "TEXT"))
    return columns


@functools.cache
def nullable_columns() -> frozenset[str]:
    """The columns angka's JSON gives as null when they are absent (its ``usual`` is
    None: a reference date, the end of a vintage, a derived value's formula and inputs),
    which its CSV writes as empty cells: NULL in the table, as in angka's JSON."""
    from stats.api.rows import COLUMNS

    return frozenset(column.name for column in COLUMNS if column.usual is None)


def sqlite_row(header: list[str], cells: list[str]) -> list:
    """One CSV line of angka's as the typed row of ``sqlite_schema``."""
    nullable = nullable_columns()
    row: list = []
    for name, cell in zip(header, cells, strict=True):
        if name == EXACT_COLUMN:
            row += [float(Decimal(cell)), cell]
        elif name in nullable:
            row.append(cell or None)
        else:
            row.append(cell)
    return row


def sqlite_export(version: str, binary: Path) -> dict:
    """Every public observation, as angka's CSV has them, into one typed SQLite table.

    The rows come from angka's own CSV statement (the lines of ``?format=csv``), in
    the default language of the API (what a request without Accept-Language gets),
    inserted in angka's order (series, period), so Datasette's rowid order is angka's
    order; then the indexes of ``sqlite_indexes``, ANALYZE, and the row count in an
    inspect file (``datasette inspect``) so the immutable server counts nothing.
    """
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone, translation

    from stats.api.rows import ObservationRows
    from stats.api.statements import csv_lines_sql
    from stats.filtersets import CatalogueLookups
    from stats.models import Observation, Series

    marker = SQLITE_PATH.with_suffix(".version")
    # The layout is part of the version: a file built another way is built again.
    layout = json.dumps(
        [sqlite_indexes(), EXACT_TEXT_COLUMN, sorted(nullable_columns()), settings.LANGUAGE_CODE]
    )
    stamp = f"{version}\n{layout}"
    built = SQLITE_PATH.exists() and INSPECT_PATH.exists() and marker.exists()
    if built and marker.read_text() == stamp:
        with sqlite3.connect(SQLITE_PATH) as db:
            (count,) = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        return {"rows": count, "seconds": None, "size_mb": SQLITE_PATH.stat().st_size / 1e6}
    started = time.perf_counter()
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    SQLITE_PATH.unlink(missing_ok=True)
    with translation.override(settings.LANGUAGE_CODE):
        rows = ObservationRows(CatalogueLookups())
        header = rows.csv_header()
        queryset = Observation.objects.as_of(timezone.now())
        sql, params = csv_lines_sql(
            rows, queryset, [("series_id", False), ("period_start", False)], Series.objects.all()
        )
    db = sqlite3.connect(SQLITE_PATH)
    schema = sqlite_schema(header)
    columns = ", ".join(f'"{name}" {kind}' for name, kind in schema)
    # STRICT: SQLite refuses a value of another type, so the types are what they say.
    db.execute(f"CREATE TABLE {TABLE} ({columns}) STRICT")
    insert = f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(schema))})"
    count = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [settings.TIME_ZONE])
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while lines := cursor.fetchmany(20_000):
                count += _sqlite_insert(db, insert, header, [line for (line,) in lines])
    for name, index_columns in sqlite_indexes():
        quoted = ", ".join(f'"{column}"' for column in index_columns)
        db.execute(f"CREATE INDEX {name} ON {TABLE} ({quoted})")
    db.commit()
    db.execute("ANALYZE")
    db.execute("VACUUM")
    db.close()
    INSPECT_PATH.unlink(missing_ok=True)
    subprocess.run(
        [str(binary), "inspect", str(SQLITE_PATH), f"--inspect-file={INSPECT_PATH}"],
        check=True,
        cwd=DATA_DIR,
    )
    marker.write_text(stamp)
    return {
        "rows": count,
        "seconds": time.perf_counter() - started,
        "size_mb": SQLITE_PATH.stat().st_size / 1e6,
    }


def _sqlite_insert(db: sqlite3.Connection, insert: str, header: list[str], lines: list[str]) -> int:
    rows = list(csv.reader(io.StringIO("".join(lines), newline="")))
    db.executemany(insert, [sqlite_row(header, cells) for cells in rows])
    return len(rows)


def datasette_command(binary: Path, port: int, *, cache_ttl: int, check: bool = False) -> list:
    """``datasette serve`` as the benchmark runs it: immutable (``-i``: no locking or
    change detection), the inspect file's row count (no count at start), the settings of
    ``DATASETTE_SETTINGS`` and angka's max-age as Datasette's (its Cache-Control, which
    Varnish honours). ``check`` adds the plugin that reports each request's SQL, for the
    set-up check only."""
    command = [
        str(binary),
        "serve",
        "-i",
        str(SQLITE_PATH),
        "--inspect-file",
        str(INSPECT_PATH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    for name, value in (*DATASETTE_SETTINGS, ("default_cache_ttl", str(cache_ttl))):
        command += ["--setting", name, value]
    if check:
        command += ["--plugins-dir", str(DATASETTE_PLUGINS)]
    return command


def datasette_start(binary: Path, port: int, *, cache_ttl: int, check: bool = False):
    process = subprocess.Popen(
        datasette_command(binary, port, cache_ttl=cache_ttl, check=check),
        cwd=DATA_DIR,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_ready(port, f"/{DATABASE}.json", process, seconds=120)
    return process


def statements_classify(statements: list[str]) -> dict:
    """Datasette's statements of one request: those on the data table, and the
    catalogue look-ups it makes on every request (``CATALOGUE_SQL``). A statement of
    neither kind (a count, a facet) is ``other``."""
    table, catalogue, other = [], [], []
    for sql in statements:
        lowered = " ".join(sql.lower().split())
        if any(marker in lowered for marker in CATALOGUE_SQL):
            catalogue.append(sql)
        elif f"from {TABLE} " in lowered + " ":
            table.append(sql)
        else:
            other.append(sql)
    return {"table": table, "catalogue": catalogue, "other": other}


def plan_problems(plan: list[str], index: str) -> list[str]:
    """What is wrong with an ``EXPLAIN QUERY PLAN`` (its detail lines) for a query that
    ``index`` should serve: no search of that index, or a sort of its own."""
    problems = []
    if not any(f"USING INDEX {index} " in line + " " for line in plan) and not any(
        f"USING COVERING INDEX {index} " in line + " " for line in plan
    ):
        problems.append(f"no search of {index}")
    if any("TEMP B-TREE" in line for line in plan):
        problems.append("a temporary B-tree (a sort the index does not give)")
    return problems


def _datasette_traced(port: int, path: str) -> tuple[list[dict], dict]:
    """The statements Datasette ran for ``path`` (through the plugin), and their kinds
    (``statements_classify``). The path is asked once before, untraced: a Datasette's
    first request fills its internal catalogue, which the measured runs never see."""
    http_request(port, path, {})
    status, headers, _body = http_request(port, path, {"X-Bench-Trace": "1"})
    if status != 200 or "x-bench-sql" not in headers:
        raise RuntimeError(f"Datasette's trace of {path}: {status}, no SQL")
    traced = json.loads(base64.b64decode(headers["x-bench-sql"]))
    return traced, statements_classify([statement["sql"] for statement in traced])


def _datasette_plan(port: int, traced: list[dict], sql: str, index: str, label: str) -> list:
    """SQLite's ``EXPLAIN QUERY PLAN`` of ``sql`` with its parameters, asked through
    Datasette's SQL API (its own SQLite library); raises unless it searches ``index``
    without a sort of its own."""
    params = next(statement["params"] for statement in traced if statement["sql"] == sql)
    explain = {"sql": f"EXPLAIN QUERY PLAN {sql}", "_shape": "array", **(params or {})}
    status, _headers, body = http_request(
        port, f"/{DATABASE}.json?" + urllib.parse.urlencode(explain), {}
    )
    if status != 200:
        raise RuntimeError(f"EXPLAIN QUERY PLAN through Datasette answered {status}")
    plan = [row["detail"] for row in json.loads(body)]
    problems = plan_problems(plan, index)
    if problems:
        raise RuntimeError(f"{label}: the plan of {sql!r} has {problems}: {plan}")
    return plan


def datasette_check(port: int, mix: list[Query], csv_path: str) -> dict:
    """Before any load, on a Datasette started like the measured one plus the plugin
    of ``bench/datasette_plugins``: the SQL of each query's exact URL, through
    Datasette's own tracer. Exactly one statement on the table (no count, no facets),
    and SQLite's plan of it a search of the query's index without a sort. The CSV's
    stream (``csv_path``) runs one statement per page; its first page's plan must search
    ``ix_csv``. Returns what was found per query key, and for "csv"."""
    found = {}
    for query in mix:
        traced, kinds = _datasette_traced(port, query.datasette)
        if len(kinds["table"]) != 1 or kinds["other"]:
            raise RuntimeError(
                f"{query.label}: Datasette ran {len(kinds['table'])} statements on the "
                f"table and {len(kinds['other'])} others, not one: {kinds}"
            )
        (sql,) = kinds["table"]
        found[query.key] = {
            "statements": len(traced),
            "table_statements": len(kinds["table"]),
            "catalogue_statements": len(kinds["catalogue"]),
            "sql": sql,
            "plan": _datasette_plan(port, traced, sql, query.index, query.label),
        }
    traced, kinds = _datasette_traced(port, csv_path)
    if not kinds["table"] or kinds["other"]:
        raise RuntimeError(f"the CSV stream ran {kinds} on the table")
    sql = kinds["table"][0]
    found["csv"] = {
        "sql": sql,
        "plan": _datasette_plan(port, traced, sql, "ix_csv", "(4) the CSV's first page"),
    }
    return found


# -- Varnish ------------------------------------------------------------------------------


def varnish_vcl(angka_port: int, datasette_port: int) -> str:
    """``bench/varnish.vcl`` with the two origins' ports."""
    text = VARNISH_VCL.read_text(encoding="utf-8")
    return text.replace("@ANGKA_PORT@", str(angka_port)).replace(
        "@DATASETTE_PORT@", str(datasette_port)
    )


@dataclass
class Varnish:
    process: subprocess.Popen
    port: int
    workdir: Path  # the VCL and varnishd's own directory (``instance``), removed at stop

    @property
    def instance(self) -> Path:
        return self.workdir / "instance"

    def counters(self, main: tuple[str, ...] = ()) -> dict[str, int]:
        """Origin requests per backend (``VBE.*.<backend>.req``), hits and misses, and
        the counters ``MAIN.<name>`` of the names in ``main``."""
        output = subprocess.run(
            ["varnishstat", "-n", str(self.instance), "-1", "-j"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        data = json.loads(output)
        counters = data.get("counters", data)
        found = {}
        for name, entry in counters.items():
            if not isinstance(entry, dict) or "value" not in entry:
                continue
            for wanted in ("angka", "angka_web", "datasette"):
                if name.startswith("VBE.") and name.endswith(f".{wanted}.req"):
                    found[wanted] = entry["value"]
            if name in ("MAIN.cache_hit", "MAIN.cache_miss") or (
                name.startswith("MAIN.") and name[len("MAIN.") :] in main
            ):
                found[name.split(".")[1]] = entry["value"]
        return found

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)


def deploy_vcl(origin_port: int) -> str:
    """The VCL users deploy (``deploy/varnish/angka.vcl``), its backend on ``origin_port``."""
    text, replaced = re.subn(
        r'\.port = "8000";', f'.port = "{origin_port}";', DEPLOY_VCL.read_text(encoding="utf-8")
    )
    if replaced != 1:
        raise RuntimeError(f"{DEPLOY_VCL}: its backend's port is not the one line expected")
    return text


def varnish_start(angka_port: int, datasette_port: int) -> Varnish:
    return varnish_run(varnish_vcl(angka_port, datasette_port))


def deploy_varnish_params() -> dict[str, str]:
    """The run-time parameters (``-p name=value``) of the deployed varnishd
    (``DEPLOY_VARNISH_UNIT``)."""
    text = DEPLOY_VARNISH_UNIT.read_text(encoding="utf-8")
    found = dict(re.findall(r"^\s*-p\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    if not found:
        raise RuntimeError(f"{DEPLOY_VARNISH_UNIT}: no -p name=value parameter found")
    return found


def deploy_varnish_nice() -> int:
    """The scheduling priority of the deployed varnishd (``Nice=`` of
    ``DEPLOY_VARNISH_UNIT``; 0 without one)."""
    found = re.search(r"^Nice=(-?\d+)\s*$", DEPLOY_VARNISH_UNIT.read_text(), flags=re.MULTILINE)
    return int(found.group(1)) if found else 0


def varnish_run(
    vcl_text: str,
    *,
    port: int | None = None,
    memory: str = "256m",
    params: dict[str, str] | None = None,
    nice: int = 0,
) -> Varnish:
    """varnishd in the foreground with ``vcl_text`` on ``port`` (a free one if None),
    ``memory`` of malloc storage, the run-time ``params`` (``-p``) and the scheduling
    priority ``nice``; returns once it answers."""
    if shutil.which("varnishd") is None:
        raise RuntimeError("varnishd is missing: `make bench-api` installs Debian's varnish")
    workdir = Path(tempfile.mkdtemp(prefix="bench-varnish-"))
    vcl = workdir / "bench.vcl"
    vcl.write_text(vcl_text, encoding="utf-8")
    # varnishd drops to its own users, who read the workdir.
    os.chmod(workdir, 0o755)
    os.chmod(vcl, 0o644)
    port = port or _free_port()
    command = [
        "varnishd",
        "-F",
        "-n",
        str(workdir / "instance"),  # Varnish.instance
        "-a",
        f"127.0.0.1:{port}",
        "-f",
        str(vcl),
        "-s",
        f"malloc,{memory}",
    ]
    for name, value in (params or {}).items():
        command += ["-p", f"{name}={value}"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / "varnishd.log", "wb") as log:
        process = subprocess.Popen(command, start_new_session=True, stdout=log, stderr=log)
    varnish = Varnish(process, port, workdir)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"varnishd exited with {process.returncode} (see bench-data/varnishd.log)"
            )
        try:
            http_get(port, "/api/v1/codelists/")
            return varnish
        except OSError:
            if time.monotonic() > deadline:
                varnish.stop()
                raise RuntimeError("varnishd did not answer in 60 s") from None
            time.sleep(0.3)


def varnish_check(port: int, paths: dict[str, str]) -> dict[str, str]:
    """Each path asked twice through Varnish: the second answer must come from its
    cache (``X-Cache: HIT``), or "cached" would not mean the same on both sides.
    Returns each side's Cache-Control as its origin sent it."""
    seen = {}
    for side, path in paths.items():
        http_request(port, path, {})
        status, headers, _body = http_request(port, path, {})
        if status != 200 or headers.get("x-cache") != "HIT":
            raise RuntimeError(
                f"Varnish did not serve {side}'s {path} from its cache: {status}, {headers}"
            )
        seen[side] = headers.get("cache-control", "")
    return seen


# -- load and measurements ----------------------------------------------------------------


def http_request(port: int, path: str, headers: dict, timeout: float = 300):
    """GET ``path``: status, headers (lower-case names) and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        answer = {name.lower(): value for name, value in response.getheaders()}
        return response.status, answer, response.read()
    finally:
        conn.close()


def http_get(port: int, path: str, timeout: float = 300) -> tuple[int, bytes]:
    status, _headers, body = http_request(port, path, {}, timeout)
    return status, body


# The 1-minute load average before each timed run: how busy the shared machine was.
LOADS: list[float] = []


def load(port: int, path: str, seconds: int, warmup: int, connections: int = CONNECTIONS) -> Load:
    """One timed run of ``path`` on ``connections`` after an unrecorded warm-up. A
    server that fails is measured as it fails (errors counted in the ``Load``), not
    raised."""
    if shutil.which("wrk"):
        url = f"http://127.0.0.1:{port}{path}"

        def runner(length: int) -> Load:
            return wrk_run(url, seconds=length, connections=connections)
    else:

        def runner(length: int) -> Load:
            return python_load("127.0.0.1", port, path, seconds=length, connections=connections)

    if warmup:
        runner(warmup)
    LOADS.append(os.getloadavg()[0])
    return runner(seconds)


@dataclass
class Target:
    """One URL of a run: ``name`` its key in the results, served on ``port``, loaded
    on ``connections``."""

    name: str
    port: int
    path: str
    connections: int = CONNECTIONS


def alternating_rounds(
    targets: list[Target], *, seconds: int, warmup: int, rounds: int
) -> dict[str, Load]:
    """``rounds`` rounds over ``targets`` in their order, every round the same order (so
    angka and Datasette take turns, A B A B ..., and a busy spell of the shared machine
    falls on both), each target's rounds as their median (``rounds_median``)."""
    runs: dict[str, list[Load]] = {target.name: [] for target in targets}
    for number in range(rounds):
        for target in targets:
            result = load(target.port, target.path, seconds, warmup, target.connections)
            runs[target.name].append(result)
            print(f"round {number + 1} {target.name}: {load_cell(result)}", file=sys.stderr)
    return {name: rounds_median(loads) for name, loads in runs.items()}


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


def angka_row_flat(row: dict, columns: list[str]) -> dict:
    """angka's JSON row in the SQLite table's columns (``columns``): its dimensions as a
    code and a name per code list (empty for a code list its series has not, as angka's
    CSV writes them), its exact value as the table's two columns (``sqlite_row``)."""
    codelists = [name for name in columns if f"{name}_name" in columns and name not in row]
    flat: dict = {}
    for name, cell in row.items():
        if name == "dimensions":
            for codelist in codelists:
                dimension = cell.get(codelist) or {}
                flat[codelist] = dimension.get("code", "")
                flat[f"{codelist}_name"] = dimension.get("name", "")
            for codelist in set(cell) - set(codelists):
                # A dimension the table has no column for: kept, so the rows differ.
                flat[f"dimensions.{codelist}"] = cell[codelist]
        elif name == EXACT_COLUMN:
            flat[EXACT_COLUMN] = float(Decimal(cell))
            flat[EXACT_TEXT_COLUMN] = cell
        else:
            flat[name] = cell
    return flat


def datasette_row_flat(row: dict) -> dict:
    """Datasette's row without its ``rowid``, which is its own key, not data."""
    return {name: cell for name, cell in row.items() if name != "rowid"}


def rows_difference(ours: list[dict], theirs: list[dict]) -> str | None:
    """Where two lists of rows (already flat) first differ, or None when every column
    of every row is equal, in the same order."""
    if len(ours) != len(theirs):
        return f"angka {len(ours):,} rows, Datasette {len(theirs):,}"
    for position, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
        if mine != other:
            names = sorted(set(mine) | set(other))
            differing = {
                name: (mine.get(name, "<missing>"), other.get(name, "<missing>"))
                for name in names
                if mine.get(name, "<missing>") != other.get(name, "<missing>")
            }
            return f"row {position + 1}: (angka, Datasette) {differing}"
    return None


def check_same_rows(angka_port: int, datasette_port: int, query: Query) -> dict:
    """Both answers of ``query``, compared in full: every column of every row, in
    order. Raises when they differ or are empty (nothing would be compared)."""
    status, body = http_get(angka_port, query.angka)
    if status != 200:
        raise RuntimeError(f"angka answered {status} to {query.angka}")
    ours = json.loads(body)["results"]
    status, body = http_get(datasette_port, query.datasette)
    if status != 200:
        raise RuntimeError(f"Datasette answered {status} to {query.datasette}")
    theirs = [datasette_row_flat(row) for row in json.loads(body)]
    if not ours or not theirs:
        raise RuntimeError(f"{query.label}: no rows to compare ({len(ours)}, {len(theirs)})")
    columns = list(theirs[0])
    difference = rows_difference([angka_row_flat(row, columns) for row in ours], theirs)
    if difference is not None:
        raise RuntimeError(f"angka and Datasette disagree on {query.label}: {difference}")
    return {"rows": len(ours), "columns": len(columns)}


# -- report --------------------------------------------------------------------------------


def _machine_note() -> str:
    from bench.bench_import import _machine_note as note

    return note()


def _loads_text() -> str:
    return f"{min(LOADS):.1f} to {max(LOADS):.1f}" if LOADS else "not recorded"


def _goal(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def datasette_flags_text(cache_ttl: object) -> str:
    """The ``datasette serve`` command line of the benchmark, for the report."""
    settings = " ".join(
        f"--setting {name} {value}"
        for name, value in (*DATASETTE_SETTINGS, ("default_cache_ttl", cache_ttl))
    )
    return f"datasette serve -i {DATABASE}.db --inspect-file {INSPECT_PATH.name} {settings}"


def method_lines(*, datasette_version: str, cache_ttl: object, rounds: object) -> list[str]:
    """How the comparison is set up, generated from the same constants the run uses."""
    indexes = "; ".join(f"`{name}` on ({', '.join(columns)})" for name, columns in sqlite_indexes())
    arguments = "&".join(f"{name}={value}" for name, value in DATASETTE_ARGS.items())
    return [
        "How Datasette is set up (as its documentation recommends for a large, unchanging "
        "table: *Performance and caching*, *Settings*, *JSON API*):",
        "",
        f"- Datasette {datasette_version}, installed with pip into `bench-data/datasette-venv` "
        "(outside angka's dependencies), default number of SQL threads.",
        "- The rows: every public observation as angka's own CSV statement writes it, in "
        "angka's default API language, inserted in angka's order (series, period), so "
        "Datasette's rowid order is angka's order. One `STRICT` table (SQLite refuses a "
        "value of another type): the value twice, `value REAL` (numeric affinity, what "
        "Datasette users sort, filter and chart on) and `value_exact TEXT` (the exact "
        "decimal as angka writes it: SQLite has no decimal type and a REAL keeps about 15 "
        "significant digits, angka up to 30), dates and instants ISO text, NULL where "
        "angka's JSON has null (an absent reference date, end of vintage, formula or "
        "inputs: its CSV writes an empty cell), codes and labels TEXT.",
        f"- Indexes, one per query, on exactly its filter columns: {indexes}. Every filter "
        "of a query is an equality on its index, and an index entry ends with the rowid, so "
        "SQLite reads the matching rows already in `ORDER BY rowid` order, Datasette's "
        "order for a table without a primary key; the CSV's stream, paged by rowid within "
        "the indicator, reads `ix_csv`. Then `ANALYZE` and `VACUUM`.",
        f"- Served as `{datasette_flags_text(cache_ttl)}`: immutable (no locking or change "
        "detection), the row count from `datasette inspect` (no count at start), no "
        "suggested facets, a time limit far above any query of the mix, CSV streams "
        "unlimited, and a Cache-Control max-age equal to angka's (`API_MAX_AGE`).",
        f"- Queried with `{arguments}` (rows as a plain JSON array, no `count(*)`) and "
        "`_size=1000`, the column filters of each query (angka's filters, the same rows).",
        "- Checked before any load, on a second Datasette started the same way plus a "
        "small plugin (`bench/datasette_plugins/`) that returns what Datasette's own "
        "tracer (`datasette.tracer`, what `?_trace=1` reads; `_trace=1` itself shows "
        "nothing for a `_shape=array` answer or one over 256 KB) records for the exact "
        "URLs loaded: each request runs exactly one statement on the table and no other "
        "query (no count, no facet), besides the catalogue look-ups Datasette makes on "
        "every table request whatever its settings (schema version, the table's name); "
        "SQLite's `EXPLAIN QUERY PLAN` of that statement, asked through Datasette's SQL "
        "API, must search the query's index and use no temporary B-tree. The run stops "
        "otherwise.",
        "- The rows of both sides compared in full before any load: every column of every "
        "row of each query, in order (angka's dimensions as a code and a name per code "
        "list, its exact value as both of the table's value columns). The run stops on "
        "any difference.",
        "",
        "How it is measured:",
        "",
        f"- wrk, {CONNECTIONS} connections over loopback, each run after an unrecorded "
        f"warm-up; {rounds} rounds. Within a round, for each query angka then Datasette "
        "(A B A B ...), the same order every round, so a busy spell of the shared machine "
        "falls on both; each figure is the median over its rounds (rounds listed below). "
        f"The uncached rounds then load each query at {HIGH_CONNECTIONS} connections, "
        "angka then Datasette again.",
        "- Uncached: angka with its response cache off (API_CACHE_SECONDS=0), Datasette "
        "direct. Cached: both behind one Varnish (`bench/varnish.vcl`, Debian's varnishd) "
        "that honours each origin's Cache-Control (the same lifetime on both sides: "
        "angka's s-maxage, Datasette's max-age) and "
        "routes `/api/` and `/sdmx/` to angka, the rest to Datasette; before the cached "
        "rounds each URL is asked twice and the second answer must be a cache hit on both "
        "sides. angka's own response cache at the origin (Redis, no Varnish) is measured "
        "in the same rounds, for reference. With both sides' answers in the same cache, "
        "the cached rounds measure Varnish serving a stored answer of each side's size: "
        "an origin is asked only when its answer expires (the origin requests Varnish "
        "made are counted and reported).",
        "- Counted, per cell: socket errors (connect, read, write, timeout), answers other "
        "than 2xx/3xx, and runs that finished no request (whose p50/p99 are missing, "
        "shown `-`, and whose rate counts as 0 in the median).",
    ]


def pending_section() -> str:
    """The section before a full-scale run has written its numbers: the method only."""
    lines = [
        SECTION_START,
        "## Read API under load against Datasette",
        "",
        "**Not yet run at full scale** with this method: `make bench-api` on 2,000,000 "
        "observations writes its numbers here. (The figures that stood here before came "
        "from a Datasette without the set-up below: counts, facet suggestions, indexes "
        "that did not serve its `ORDER BY rowid`, text values, measured once and before "
        "angka, and a cached figure compared with no cache at all.)",
        "",
        *method_lines(
            datasette_version="(the version the run installs)",
            cache_ttl="$API_MAX_AGE",
            rounds="`--rounds` (3 by default)",
        ),
        "",
        "SQL statements per request, as the pipeline check on 50,000 observations found "
        "them with Datasette 0.65.5 (the full run writes its own count per query): one on "
        "the table (the `SELECT ... ORDER BY rowid LIMIT 1001` served by the query's "
        "index) and seven catalogue look-ups (`PRAGMA schema_version` twice, Datasette's "
        "internal `databases` table, four on `sqlite_master`), eight in all; no count, "
        "no facet.",
        "",
        f"Goals of the issue: uncached, every query at least {GOAL_UNCACHED}x Datasette's "
        f"rate; cached (both behind the same Varnish), at least {GOAL_CACHED}x.",
        "",
        "Reproduce: `make bench-api` (PostgreSQL at DATABASE_URL, default "
        f"`{DEFAULT_DATABASE_URL}`, created and filled when missing; Redis at REDIS_URL, "
        f"default `{DEFAULT_REDIS_URL}`). `--seconds`, `--warmup` and `--rounds` set the load "
        "(`make bench-api BENCH_ARGS='--rounds 5'`). A check of the pipeline on fewer rows, "
        "which writes to its own file, never here: `make bench-api BENCH_ARGS='--observations "
        "50000 --seconds 3 --rounds 2 --report /tmp/bench-api-check.md'` (with a DATABASE_URL "
        "of its own).",
        SECTION_END,
    ]
    return "\n".join(lines)


def report_section(results: dict) -> str:
    scale = (
        ""
        if results["full_scale"]
        else f" **A check of the pipeline on {results['observations']:,} observations, "
        f"not the benchmark** (which runs on {OBSERVATIONS:,})."
    )
    lines = [
        SECTION_START,
        "## Read API under load against Datasette",
        "",
        f"Measured {results['date']} with `make bench-api`.{scale}",
        f"Machine: {results['machine']} wrk, the servers, Varnish and PostgreSQL share the "
        f"2 cores. Load average (1 min) before the timed runs: {_loads_text()} "
        "(the runs' own load included: one load test keeps both cores "
        "busy).",
        "",
        f"Data: {results['observations']:,} public observations ({results['synthetic']:,} "
        "synthetic monthly ones from `python -m bench.generate`, the rest the demo) in "
        f"PostgreSQL. angka: gunicorn, {results['server']}, DEBUG off, Redis cache; rate "
        f"limits off for the run. Datasette: the same rows ({results['sqlite']['rows']:,} "
        f"rows, {results['sqlite']['size_mb']:.0f} MB of SQLite).",
        "",
        *method_lines(
            datasette_version=results["datasette_version"],
            cache_ttl=results["cache_ttl"],
            rounds=results["rounds"],
        ),
        "",
        f"Runs: {results['tool']}, {results['seconds']} s per run after a "
        f"{results['warmup']} s warm-up. Rates in requests/s, latencies in ms.",
        "",
        "Set-up check (per request of each query, Datasette's tracer):",
        "",
        "| Query | rows compared (columns) | SQL statements: on the table + catalogue "
        "look-ups = all | plan of the statement on the table |",
        "| --- | ---: | --- | --- |",
    ]
    for query in results["queries"]:
        trace = query["trace"]
        plan = "; ".join(f"`{line}`" for line in trace["plan"])
        lines.append(
            f"| {query['label'].split(' ')[0]} | {query['rows']:,} ({query['columns']}) | "
            f"{trace['table_statements']} + {trace['catalogue_statements']} = "
            f"{trace['statements']} | {plan} |"
        )
    csv_plan = "; ".join(f"`{line}`" for line in results.get("csv_plan", []))
    lines += [
        "",
        f"(4)'s CSV stream runs one statement on the table per page of rows; its first "
        f"page's plan: {csv_plan}.",
    ]
    varnish = results["varnish"]
    lines += [
        "",
        f"Cache-Control as each origin sent it through Varnish: angka "
        f"`{varnish['cache_control']['angka']}`, Datasette "
        f"`{varnish['cache_control']['datasette']}`. Origin requests Varnish made during "
        f"the cached rounds: angka {varnish['origin_requests']['angka']:,}, Datasette "
        f"{varnish['origin_requests']['datasette']:,} (cache hits "
        f"{varnish['origin_requests']['hits']:,}, misses "
        f"{varnish['origin_requests']['misses']:,}).",
        "",
        "| Query | rows | angka, no cache: req/s, p50, p99 | angka, response cache (origin): "
        "req/s, p50, p99 | Datasette: req/s, p50, p99 | uncached: angka / Datasette "
        "| angka via Varnish | Datasette via Varnish | cached: angka / Datasette |",
        "| --- | ---: | --- | --- | --- | ---: | --- | --- | ---: |",
    ]
    goals = {"uncached": True, "cached": True, "p99": True, "p99_cached": True}
    goals["p99_plain"] = True
    for query in results["queries"]:
        plain, cached, theirs = query["plain"], query["cached"], query["datasette"]
        ours_v, theirs_v = query["varnish_angka"], query["varnish_datasette"]
        uncached_ratio = ratio(plain.rate, theirs.rate)
        cached_ratio = ratio(ours_v.rate, theirs_v.rate)
        goals["uncached"] &= uncached_ratio is not None and uncached_ratio >= GOAL_UNCACHED
        goals["cached"] &= cached_ratio is not None and cached_ratio >= GOAL_CACHED
        goals["p99_plain"] &= plain.p99 is not None and plain.p99 < 100
        goals["p99_cached"] &= cached.p99 is not None and cached.p99 < 100
        lines.append(
            f"| {query['label']} | {query['rows']:,} | {load_cell(plain)} | {load_cell(cached)} "
            f"| {load_cell(theirs)} | **{ratio_text(uncached_ratio)}** | {load_cell(ours_v)} "
            f"| {load_cell(theirs_v)} | **{ratio_text(cached_ratio)}** |"
        )
    goals["p99"] = goals["p99_plain"] and goals["p99_cached"]
    lines += ["", "Rounds (requests/s, p99 ms), in the order they ran within each round:", ""]
    for query in results["queries"]:
        short = query["label"].split(" ")[0]
        for name, label in (
            ("plain", "angka, no cache"),
            ("datasette", "Datasette"),
            ("cached", "angka, response cache"),
            ("varnish_angka", "angka via Varnish"),
            ("varnish_datasette", "Datasette via Varnish"),
        ):
            lines.append(f"- {short} {label}: {rounds_text(query[name])}")
    high_lines, goals["high"] = high_concurrency_lines(results)
    lines += high_lines
    errors = sum(
        query[name].errors
        for query in results["queries"]
        for name in (
            "plain",
            "cached",
            "datasette",
            "varnish_angka",
            "varnish_datasette",
            "plain64",
            "datasette64",
        )
    )
    lines += [
        "",
        f"Errors in all the runs above (socket errors, non-2xx/3xx answers, runs with no "
        f"request): {errors:,}.",
    ]
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
        f"**{ratio_text(ratio(ours['rate'], theirs['rate']))}**. "
        f"With {concurrent['streams']} clients "
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
        f"- uncached, every query at least {GOAL_UNCACHED}x Datasette's rate: "
        f"{_goal(goals['uncached'])}",
        f"- cached, both behind the same Varnish, every query at least {GOAL_CACHED}x: "
        f"{_goal(goals['cached'])}",
        f"- p99 under 100 ms at {CONNECTIONS} connections for (1)-(3): {_goal(goals['p99'])} "
        f"(with the response cache: {_goal(goals['p99_cached']).strip('*')}; without it: "
        f"{_goal(goals['p99_plain']).strip('*')})",
        f"- at {HIGH_CONNECTIONS} connections, uncached, every query's p99 at most "
        f"{GOAL_P99_OVER_P50}x its p50, with no error: {_goal(goals['high'])}",
        f"- CSV at least 50% of COPY's rate: {_goal(share >= 0.5)}",
        f"- server memory under 200 MB while streaming (PSS of master and workers): "
        f"{_goal(memory_ok)}",
        "",
        "Reproduce: `make bench-api` (PostgreSQL at DATABASE_URL, default "
        f"`{DEFAULT_DATABASE_URL}`, created and filled when missing; Redis at REDIS_URL, "
        f"default `{DEFAULT_REDIS_URL}`). `--seconds`, `--warmup` and `--rounds` set the load "
        "(`make bench-api BENCH_ARGS='--rounds 5'`). A check of the pipeline on fewer rows, "
        "which writes to its own file, never here: `make bench-api BENCH_ARGS='--observations "
        "50000 --seconds 3 --rounds 2 --report /tmp/bench-api-check.md'` (with a DATABASE_URL "
        "of its own).",
        SECTION_END,
    ]
    return "\n".join(lines)


def high_concurrency_lines(results: dict) -> tuple[list[str], bool]:
    """The table of the queries uncached at ``HIGH_CONNECTIONS`` connections (issue 16's
    "origin at high concurrency"), and whether every query met its goal: p99 at most
    ``GOAL_P99_OVER_P50`` times p50 (of the medians over the rounds), no socket error,
    no answer other than 2xx/3xx, no run without a request."""
    lines = [
        "",
        f"The origin at high concurrency: each query uncached (angka's response cache "
        f"off, Datasette direct) at {HIGH_CONNECTIONS} wrk connections, in the same "
        f"alternating rounds as the {CONNECTIONS}-connection runs above (after them in "
        "each round). p99/p50 of the medians over the rounds; the goal is angka's.",
        "",
        f"| Query | angka at {HIGH_CONNECTIONS}: req/s | p50 | p99 | p99/p50 | socket errors "
        f"| non-2xx/3xx | goal (p99 <= {GOAL_P99_OVER_P50}x p50, 0 errors) "
        f"| Datasette at {HIGH_CONNECTIONS}: req/s, p50, p99 | Datasette p99/p50 "
        "| angka / Datasette |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    met_all = True
    for query in results["queries"]:
        ours, theirs = query["plain64"], query["datasette64"]
        spread = tail_ratio(ours)
        met = spread is not None and spread <= GOAL_P99_OVER_P50 and ours.errors == 0
        met_all &= met
        their_spread = tail_ratio(theirs)
        lines.append(
            f"| {query['label'].split(' ')[0]} | {ours.rate:,.0f} | {latency_text(ours.p50)} "
            f"| {latency_text(ours.p99)} | **{_spread_text(spread)}** "
            f"| {ours.socket_errors:,} | {ours.non_2xx:,} | {_goal(met)} "
            f"| {load_cell(theirs)} | {_spread_text(their_spread)} "
            f"| **{ratio_text(ratio(ours.rate, theirs.rate))}** |"
        )
    lines += ["", f"Rounds at {HIGH_CONNECTIONS} connections (p50, p99 ms (p99/p50)):", ""]
    for query in results["queries"]:
        short = query["label"].split(" ")[0]
        for name, label in (("plain64", "angka, no cache"), ("datasette64", "Datasette")):
            lines.append(f"- {short} {label}: {rounds_tail_text(query[name])}")
    return lines, met_all


def _spread_text(spread: float | None) -> str:
    return f"{spread:.1f}x" if spread is not None else "n/a (no request)"


def _share_text(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else "n/a (a side finished no request)"


def sdmx_report_section(results: dict) -> str:
    """BENCHMARKS.md's SDMX section: each SDMX query's rate against its JSON query's."""
    lines = [
        SDMX_SECTION_START,
        "## SDMX data under load, against the same query as JSON",
        "",
        f"Measured {results['date']} with `make bench-api`, in the same run, server and "
        "rounds as the read API above (the SDMX queries take their turns with the JSON "
        "ones; each cell the median over the rounds). Requests/s, p50 and p99 in ms. "
        f"Load average (1 min) before the timed runs: {_loads_text()}, "
        "on 2 cores shared with other work: compare the ratios.",
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
            share = ratio(ours.rate, json_load.rate)
            met &= share is not None and share >= SDMX_GOAL
            cells.append(f"{load_cell(ours)} | {json_load.rate:,.0f} | **{_share_text(share)}**")
        lines.append(f"| {query['label']} | {query['rows']:,} | {cells[0]} | {cells[1]} |")
    lines += ["", "SDMX rounds (requests/s, p99 ms):", ""]
    for query in results["sdmx"]:
        for name, label in (("plain", "no cache"), ("cached", "cache")):
            lines.append(f"- {query['label'].split(' ')[0]} {label}: {rounds_text(query[name])}")
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
        f"Load average (1 min) before the timed runs: {_loads_text()}, "
        "on 2 cores shared with other work: compare the ratios.",
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
            share = ratio(ours.rate, json_load.rate)
            met &= share is not None and share >= UNITS_GOAL
            cells.append(f"{load_cell(ours)} | {json_load.rate:,.0f} | **{_share_text(share)}**")
        lines.append(f"| {query['label']} | {query['rows']:,} | {cells[0]} | {cells[1]} |")
    lines += ["", "Rounds (requests/s, p99 ms), the plain page's beside:", ""]
    for query in results["units"]:
        for name, label in (("plain", "no cache"), ("cached", "cache")):
            for shown in (query, by_key[query["json_key"]]):
                listed = rounds_text(shown[name])
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


def write_report(section: str, report: Path = REPORT) -> None:
    section_write(section, start=SECTION_START, end=SECTION_END, report=report)


# -- main ----------------------------------------------------------------------------------


def _angka_max_age() -> int:
    from django.conf import settings

    return settings.ANGKA_API_MAX_AGE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="load per query and round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds, angka and Datasette taking turns"
    )
    parser.add_argument("--warmup", type=int, default=2, help="unrecorded load before each")
    parser.add_argument("--csv-runs", type=int, default=3, help="downloads of the CSV (>= 1)")
    parser.add_argument(
        "--observations",
        type=int,
        default=OBSERVATIONS,
        help="synthetic rows to generate when the database has none (a smaller number "
        "checks the pipeline; only the full run writes BENCHMARKS.md)",
    )
    parser.add_argument(
        "--report", type=Path, default=None, help="write the sections to this file instead"
    )
    parser.add_argument("--no-report", action="store_true", help="print the numbers; write no file")
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.warmup < 0 or args.csv_runs < 1 or args.rounds < 1:
        parser.error("--seconds, --rounds and --csv-runs must be at least 1, --warmup at least 0")
    if args.observations < 1:
        parser.error("--observations must be at least 1")
    full_scale = args.observations == OBSERVATIONS
    report = args.report or REPORT
    if not full_scale and report.resolve() == REPORT.resolve() and not args.no_report:
        parser.error(
            f"--observations {args.observations:,} is not the benchmark's "
            f"{OBSERVATIONS:,}: give --report FILE (or --no-report), BENCHMARKS.md keeps "
            "full-scale numbers only"
        )
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)

    _configure_environment()
    data = _database_prepare(args.observations)
    if full_scale and data["synthetic"] != OBSERVATIONS:
        # A database filled by a smaller check is not the benchmark's.
        full_scale = False
        if report.resolve() == REPORT.resolve() and not args.no_report:
            sys.exit(
                f"the database holds {data['synthetic']:,} synthetic observations, not "
                f"{OBSERVATIONS:,}: use another DATABASE_URL for the benchmark"
            )
    binary = datasette_install()
    print("exporting the rows to SQLite for Datasette", file=sys.stderr)
    sqlite = sqlite_export(data["version"], binary)
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    cache_ttl = _angka_max_age()

    page = (PAGE_INDICATOR, PAGE_REGION) if full_scale else small_scale_page()
    mix = queries(page)
    sdmx_mix = sdmx_queries()
    units_mix = units_queries(page)
    gunicorn = gunicorn_settings()
    angka_csv, datasette_csv = csv_paths()
    results = {
        "date": dt.date.today().isoformat(),
        "full_scale": full_scale,
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
        "cache_ttl": cache_ttl,
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
    by_key = {entry["key"]: entry for entry in results["queries"]}
    others = [*results["sdmx"], *results["units"]]
    other_paths = [query.path for query in [*sdmx_mix, *units_mix]]

    # The set-up check, on a Datasette of its own (the plugin is never in the measured one).
    check_port = _free_port()
    checker = datasette_start(binary, check_port, cache_ttl=cache_ttl, check=True)
    try:
        traces = datasette_check(check_port, mix, datasette_csv)
    finally:
        _stop(checker)
    results["csv_plan"] = traces.pop("csv")["plan"]
    for key, trace in traces.items():
        by_key[key]["trace"] = trace
        print(f"Datasette {key}: {trace['statements']} statements", file=sys.stderr)

    datasette_port = _free_port()
    datasette = datasette_start(binary, datasette_port, cache_ttl=cache_ttl)
    prefix = f"bench-api-{os.getpid()}-{int(time.time())}"
    try:
        # Uncached: angka without its response cache, Datasette direct, taking turns.
        port = _free_port()
        server = gunicorn_start(port, cache_seconds=0, prefix=f"{prefix}-plain")
        try:
            started_memory = MemorySampler(server.pid).sample()
            for query in mix:
                compared = check_same_rows(port, datasette_port, query)
                by_key[query.key].update(compared)
            rows = {entry["key"]: entry["rows"] for entry in results["queries"]}
            for sdmx_query, entry in zip(sdmx_mix, results["sdmx"], strict=True):
                entry["rows"] = check_sdmx_rows(port, sdmx_query, rows[sdmx_query.json_key])
            for units_query, entry in zip(units_mix, results["units"], strict=True):
                entry["rows"] = check_units_rows(port, units_query, rows[units_query.json_key])
            targets = []
            for query in mix:
                targets += [
                    Target(f"plain {query.key}", port, query.angka),
                    Target(f"datasette {query.key}", datasette_port, query.datasette),
                ]
            for query in mix:
                targets += [
                    Target(f"plain64 {query.key}", port, query.angka, HIGH_CONNECTIONS),
                    Target(
                        f"datasette64 {query.key}",
                        datasette_port,
                        query.datasette,
                        HIGH_CONNECTIONS,
                    ),
                ]
            targets += [
                Target(f"plain {entry['key']}", port, path)
                for entry, path in zip(others, other_paths, strict=True)
            ]
            measured = alternating_rounds(
                targets, seconds=args.seconds, warmup=args.warmup, rounds=args.rounds
            )
            for entry in results["queries"]:
                for name in ("plain", "datasette", "plain64", "datasette64"):
                    entry[name] = measured[f"{name} {entry['key']}"]
            for entry in others:
                entry["plain"] = measured[f"plain {entry['key']}"]
            sampler = MemorySampler(server.pid)
            idle = sampler.sample()
            with sampler:
                # COPY and the downloads take turns, so they meet the same load from
                # whatever else the machine runs.
                ours, theirs, copies = [], [], []
                for _ in range(args.csv_runs):
                    copies.append(copy_rates(1))
                    ours.append(download(port, angka_csv))
                    theirs.append(download(datasette_port, datasette_csv))
                concurrent = downloads_concurrent(port, angka_csv, CONNECTIONS)
            print(f"angka CSV: {[run['rate'] for run in ours]}, {concurrent}", file=sys.stderr)
            print(f"Datasette CSV: {[run['rate'] for run in theirs]}", file=sys.stderr)
        finally:
            _stop(server)

        # Cached: both behind one Varnish, taking turns; angka's own response cache at
        # the origin in the same rounds.
        port = _free_port()
        server = gunicorn_start(port, cache_seconds=600, prefix=f"{prefix}-cached")
        try:
            varnish = varnish_start(port, datasette_port)
            try:
                cache_control = {}
                for query in mix:
                    cache_control = varnish_check(
                        varnish.port, {"angka": query.angka, "datasette": query.datasette}
                    )
                before = varnish.counters()
                targets = []
                for query in mix:
                    targets += [
                        Target(f"cached {query.key}", port, query.angka),
                        Target(f"varnish_angka {query.key}", varnish.port, query.angka),
                        Target(f"varnish_datasette {query.key}", varnish.port, query.datasette),
                    ]
                targets += [
                    Target(f"cached {entry['key']}", port, path)
                    for entry, path in zip(others, other_paths, strict=True)
                ]
                measured = alternating_rounds(
                    targets, seconds=args.seconds, warmup=args.warmup, rounds=args.rounds
                )
                after = varnish.counters()
            finally:
                varnish.stop()
        finally:
            _stop(server)
    finally:
        _stop(datasette)
    for entry in results["queries"]:
        for name in ("cached", "varnish_angka", "varnish_datasette"):
            entry[name] = measured[f"{name} {entry['key']}"]
    for entry in others:
        entry["cached"] = measured[f"cached {entry['key']}"]
    results["varnish"] = {
        "cache_control": cache_control,
        "origin_requests": {
            name: after.get(counter, 0) - before.get(counter, 0)
            for name, counter in (
                ("angka", "angka"),
                ("datasette", "datasette"),
                ("hits", "cache_hit"),
                ("misses", "cache_miss"),
            )
        },
    }

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
        write_report(section, report)
        section_write(sdmx_section, start=SDMX_SECTION_START, end=SDMX_SECTION_END, report=report)
        section_write(
            units_section, start=UNITS_SECTION_START, end=UNITS_SECTION_END, report=report
        )
        print(f"updated {report}", file=sys.stderr)


if __name__ == "__main__":
    main()
