"""Benchmark: the validated import of 1,000,000 observations against PostgreSQL's COPY.

Run with ``make bench-import`` (or ``.venv/bin/python -m bench.bench_import``). It needs
PostgreSQL: DATABASE_URL, or by default postgres://postgres@127.0.0.1:5432/angka_bench,
a database of its own that it creates and migrates when missing. It writes a CSV of
monthly series (every region, segment and programme of the monthly demo indicators)
into bench-data/, then alternately

* imports it through ``observations_import(commit=True)`` into a fresh draft release,
  the path a staff upload takes (every row validated, compared with the published
  values, written with COPY), and
* loads the same file with a plain ``COPY ... FROM STDIN (FORMAT csv)`` into a staging
  table of text and numeric columns: the rate of raw loading, the upper limit.

It reports the median rows/s of each, their ratio and the peak memory of the process,
and writes the numbers into BENCHMARKS.md. Each round removes what it loaded, so a
rerun measures the same thing.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import IO

from bench.report import section_write

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data"
REPORT = ROOT / "BENCHMARKS.md"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/angka_bench"
COLUMNS = ["indicator", "region", "segment", "program", "period", "value", "status", "note"]
RELEASE_SLUG = "bench-import"
STAGING_TABLE = "bench_copy_staging"
TABLE_ROWS = DATA_DIR / "observations-table.copy"
TABLE_COLUMNS = (
    "series_id, release_id, period, period_start, period_end, value, status, note, source, "
    "reference_date, valid_from, created_at"
)
SECTION_START = "<!-- bench-import:start -->"
SECTION_END = "<!-- bench-import:end -->"
# Monthly indicators of the demo that are entered, not derived from other series.
BENCH_INDICATORS = ("ACTIVE_PARTICIPANTS", "EMPLOYED_POPULATION", "FUNDS_UNDER_MANAGEMENT")
PROVISIONAL_MONTHS = 3
PROVISIONAL_NOTE = "provisional, to be revised with the audited figures"


def observation_rows(*, rows: int, seed: int = 2025, indicators=None):
    """Yield ``rows`` CSV rows (lists in COLUMNS order) of realistic monthly series.

    Series are the monthly base indicators of the demo (BENCH_INDICATORS) times every
    region, segment and programme, each
    ending in December of the last year, as many months back as it takes; the last
    series is shorter so the count is exact. The last months are provisional with a
    note (which holds a comma, so the CSV quotes it).
    """
    from bench.generate import UNIT_MODELS, combinations, dimension_codes, monthly_values, months
    from stats.models import Indicator

    if indicators is None:
        indicators = list(
            Indicator.objects.filter(code__in=BENCH_INDICATORS, frequencies__contains="M")
        )
    if not indicators:
        raise ValueError("no monthly indicator: load the demo catalogue first")
    indicators.sort(key=lambda indicator: indicator.code)
    combos = combinations(dimension_codes())
    periods = months()
    series_count = len(indicators) * len(combos)
    per_series = -(-rows // series_count)
    if per_series > len(periods):
        raise ValueError(
            f"{rows} rows need {per_series} months per series; at most {len(periods)} exist"
        )
    rng = random.Random(seed)
    produced = 0
    for indicator in indicators:
        model = UNIT_MODELS[indicator.unit]
        for combo in combos:
            count = min(per_series, rows - produced)
            if count <= 0:
                return
            first = len(periods) - count
            values = monthly_values(model, combo, first, count, rng)
            for offset, (period, value) in enumerate(zip(periods[first:], values, strict=True)):
                provisional = offset >= count - PROVISIONAL_MONTHS
                yield [
                    indicator.code,
                    *combo,
                    period.code,
                    str(value),
                    "provisional" if provisional else "normal",
                    PROVISIONAL_NOTE if provisional else "",
                ]
            produced += count


def write_observations_csv(stream: IO[str], *, rows: int, seed: int = 2025) -> tuple[int, int]:
    """Write the CSV file; return how many rows and how many series it holds."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    written = series = 0
    previous = None
    for row in observation_rows(rows=rows, seed=seed):
        writer.writerow(row)
        written += 1
        if row[:4] != previous:
            series += 1
            previous = row[:4]
    return written, series


# -- running the benchmark -------------------------------------------------------------


def _configure_environment() -> str:
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench-import needs PostgreSQL; DATABASE_URL is {url!r}")
    return url


def _database_create_if_missing(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    params = {k: v for k, v in params.items() if v}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            print(f"creating database {config['NAME']}", file=sys.stderr)
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bench_release():
    """The draft release the import rounds write into (kept: the audit trail holds it)."""
    from publications.models import Release
    from publications.services import release_create

    release = Release.objects.filter(slug=RELEASE_SLUG).first()
    if release is None:
        release = release_create(
            slug=RELEASE_SLUG,
            title_id="Uji kinerja impor (tidak pernah diterbitkan)",
            title_en="Import benchmark (never published)",
            source="benchmark (synthetic)",
        )
    if release.status != "draft":
        raise SystemExit(f"release {RELEASE_SLUG} is {release.status}; use a fresh database")
    return release


def _cleanup(release) -> None:
    """Remove the draft rows of the benchmark release, so each round starts the same."""
    from django.db import connection

    from config.dbrole import database_owner

    with connection.cursor() as cursor:
        # Draft rows only: the guard trigger refuses to delete published ones.
        cursor.execute(
            "DELETE FROM stats_observation WHERE release_id = %s AND valid_from IS NULL",
            [release.pk],
        )
    # Maintenance is the owner's (the application role may not VACUUM: config/dbrole.py).
    with database_owner(), connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE stats_observation")


def _time_import(path: Path, release, rows: int) -> dict:
    from stats.services import observations_import

    with open(path, encoding="utf-8", newline="") as stream:
        started = time.perf_counter()
        report = observations_import(stream=stream, release=release, commit=True)
        seconds = time.perf_counter() - started
    if not report.ok or report.written != report.new + report.revised or report.rows != rows:
        raise SystemExit(
            f"the import failed: {report.error_count} error(s), first: "
            f"{report.errors[:3]}; rows {report.rows}, written {report.written}"
        )
    if not TABLE_ROWS.exists():
        _export_rows(release)
    _cleanup(release)
    return {
        "seconds": seconds,
        "rate": rows / seconds,
        "new": report.new,
        "revised": report.revised,
        "unchanged": report.unchanged,
    }


def _time_publish(path: Path, release, rows: int) -> dict:
    """Import the file again, then time publishing those rows (``observations_publish``:
    closing what they revise, then giving the drafts their ``valid_from``), all rolled
    back: what publication pays for the rows an import wrote. The deferred vintage check
    at commit is not included (it reads no observation table)."""
    from django.db import transaction
    from django.utils import timezone

    from stats.services import observations_import, observations_publish

    with transaction.atomic():
        with open(path, encoding="utf-8", newline="") as stream:
            report = observations_import(stream=stream, release=release, commit=True)
        if not report.ok or report.written != rows - report.unchanged:
            raise SystemExit(f"the import before publishing failed: {report.errors[:3]}")
        started = time.perf_counter()
        published, _closed = observations_publish(release_id=release.pk, at=timezone.now())
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    _cleanup(release)
    return {"seconds": seconds, "rate": published / seconds}


def _export_rows(release) -> None:
    """Keep the rows the import wrote, as COPY text, for the table's own floor."""
    from django.db import connection

    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY (SELECT {TABLE_COLUMNS} FROM stats_observation WHERE release_id = "
            f"{int(release.pk)}) TO STDOUT"
        ) as copy,
        open(TABLE_ROWS, "wb") as handle,
    ):
        for block in copy:
            handle.write(block)


def _time_table_copy(release, rows: int) -> dict:
    """COPY the already validated rows straight into stats_observation and commit."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(f"COPY stats_observation ({TABLE_COLUMNS}) FROM STDIN") as copy,
        open(TABLE_ROWS, "rb") as handle,
    ):
        while block := handle.read(1 << 20):
            copy.write(block)
    seconds = time.perf_counter() - started
    from stats.models import Observation

    loaded = Observation.objects.filter(release=release).count()
    _cleanup(release)
    if loaded != rows:
        raise SystemExit(f"COPY into stats_observation loaded {loaded} rows, expected {rows}")
    return {"seconds": seconds, "rate": rows / seconds}


def _time_copy(path: Path, rows: int) -> dict:
    """COPY into a staging table of the benchmark's own: made, loaded and emptied as
    the owner (the application role may not create nor truncate a table)."""
    from config.dbrole import database_owner

    with database_owner():
        return _time_copy_as_owner(path, rows)


def _time_copy_as_owner(path: Path, rows: int) -> dict:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {STAGING_TABLE} (indicator text, region text, "
            "segment text, program text, period text, value numeric, status text, note text)"
        )
        cursor.execute(f"TRUNCATE {STAGING_TABLE}")
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(f"COPY {STAGING_TABLE} FROM STDIN (FORMAT csv, HEADER true)") as copy,
        open(path, "rb") as handle,
    ):
        while block := handle.read(1 << 20):
            copy.write(block)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {STAGING_TABLE}")
        loaded = cursor.fetchone()[0]
        cursor.execute(f"TRUNCATE {STAGING_TABLE}")
    if loaded != rows:
        raise SystemExit(f"COPY loaded {loaded} rows, expected {rows}")
    return {"seconds": seconds, "rate": rows / seconds}


def _machine_note() -> str:
    from django.db import connection

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), shared and noisy: compare ratios, not absolute "
        f"rates. Python {platform.python_version()}, PostgreSQL {server} on the same machine."
    )


def _report_section(results: dict) -> str:
    def median(items: list[dict], key: str) -> float:
        return statistics.median(item[key] for item in items)

    def line(label: str, items: list[dict]) -> str:
        runs = ", ".join(f"{item['rate']:,.0f}" for item in items)
        return (
            f"| {label} | {runs} | {median(items, 'rate'):,.0f} | {median(items, 'seconds'):.1f} |"
        )

    imports, tables, copies = results["imports"], results["table_copies"], results["copies"]
    import_rate = median(imports, "rate")
    first = imports[0]
    return "\n".join(
        [
            SECTION_START,
            "## Import of 1,000,000 observations against COPY",
            "",
            f"Measured {results['date']} with `make bench-import`.",
            f"Machine: {results['machine']}",
            "",
            f"File: {results['rows']:,} rows, {results['size_mb']:.0f} MB "
            f"({results['series']:,} monthly series of {results['indicators']} by region, "
            f"segment and programme), written in {results['csv_seconds']:.1f} s. "
            f"{len(imports)} rounds, the methods alternating.",
            "",
            "| Method | Runs (rows/s) | Median rows/s | Median seconds |",
            "| --- | --- | ---: | ---: |",
            line("A. Validated import (`observations_import`, commit)", imports),
            line("B. `COPY` of A's validated rows into stats_observation", tables),
            line("C. Raw `COPY` of the CSV into a staging table (text/numeric)", copies),
            "",
            f"Import / raw COPY (A / C): **{import_rate / median(copies, 'rate'):.0%}** "
            "(goal: at least 25%).",
            f"Import / COPY into the observation table (A / B): "
            f"**{import_rate / median(tables, 'rate'):.0%}**.",
            "",
            "A reads and validates every row, compares it with the published values "
            f"({first['new']:,} new, {first['revised']:,} revised against the demo data, "
            f"{first['unchanged']:,} unchanged) and writes it with COPY into "
            "stats_observation. B is the floor of that table: the same rows, already "
            "formatted, copied in one statement; PostgreSQL maintains its indexes "
            "(primary key, release-series-period; the vintage and valid_from indexes "
            "hold published rows only, stats migration 0012) and checks that "
            "every row's series and release exist, once per statement (a trigger over the "
            "new rows, stats migration 0004, in place of row-by-row foreign keys). C only "
            "parses the file into a table with no index, "
            "no constraint: the raw loading rate. Each round deletes what it wrote "
            "(and VACUUMs), so rounds and reruns measure the same thing.",
            "",
            f"Peak memory (RSS) of the process: {results['rss_before']:.0f} MB before the "
            f"first import, {results['rss_after']:.0f} MB after all rounds: the file is "
            "streamed in batches, not loaded at once; what grows with the file is the "
            "duplicate check (one entry per row).",
            "",
            "Reproduce: `make bench-import` (PostgreSQL at DATABASE_URL, default "
            f"`{DEFAULT_DATABASE_URL}`, created when missing).",
            SECTION_END,
        ]
    )


def _write_report(section: str) -> None:
    section_write(section, start=SECTION_START, end=SECTION_END, report=REPORT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV file")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each method (>= 1)")
    parser.add_argument(
        "--no-report", action="store_true", help="print the numbers; leave BENCHMARKS.md alone"
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="each round, also time publishing the imported rows (rolled back); implies "
        "--no-report",
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.rounds < 1:
        parser.error("--rows and --rounds must be at least 1")

    url = _configure_environment()
    _database_create_if_missing(url)
    import django

    django.setup()
    from django.core.management import call_command

    from publications.demo.loader import demo_load

    call_command("migrate", verbosity=0, interactive=False)
    demo_load()
    release = _bench_release()
    _cleanup(release)

    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"observations-{args.rows}.csv"
    TABLE_ROWS.unlink(missing_ok=True)
    started = time.perf_counter()
    with open(path, "w", encoding="utf-8", newline="") as stream:
        _written, series = write_observations_csv(stream, rows=args.rows)
    csv_seconds = time.perf_counter() - started
    print(f"wrote {path} ({args.rows:,} rows) in {csv_seconds:.1f} s", file=sys.stderr)

    from stats.models import Indicator

    monthly = Indicator.objects.filter(code__in=BENCH_INDICATORS).order_by("code")
    results = {
        "date": dt.date.today().isoformat(),
        "machine": _machine_note(),
        "rows": args.rows,
        "size_mb": path.stat().st_size / 1e6,
        "csv_seconds": csv_seconds,
        "indicators": ", ".join(indicator.code for indicator in monthly),
        "series": series,
        "imports": [],
        "table_copies": [],
        "copies": [],
        "rss_before": _peak_rss_mb(),
    }
    for round_number in range(1, args.rounds + 1):
        imported = _time_import(path, release, args.rows)
        results["imports"].append(imported)
        print(
            f"round {round_number}: import {imported['rate']:,.0f} rows/s "
            f"({imported['seconds']:.1f} s)",
            file=sys.stderr,
        )
        floor = _time_table_copy(release, args.rows)
        results["table_copies"].append(floor)
        print(
            f"round {round_number}: COPY into stats_observation {floor['rate']:,.0f} rows/s "
            f"({floor['seconds']:.1f} s)",
            file=sys.stderr,
        )
        if args.publish:
            published = _time_publish(path, release, args.rows)
            results.setdefault("publishes", []).append(published)
            print(
                f"round {round_number}: publish {published['rate']:,.0f} rows/s "
                f"({published['seconds']:.1f} s)",
                file=sys.stderr,
            )
        copied = _time_copy(path, args.rows)
        results["copies"].append(copied)
        print(
            f"round {round_number}: COPY {copied['rate']:,.0f} rows/s ({copied['seconds']:.1f} s)",
            file=sys.stderr,
        )
    results["rss_after"] = _peak_rss_mb()
    section = _report_section(results)
    print(section)
    if not args.no_report and not args.publish:
        _write_report(section)
        print(f"updated {REPORT}", file=sys.stderr)


if __name__ == "__main__":
    main()
