"""What reading derived values costs (issue 17): the API page, its CSV and the indicator
page of a derived indicator, side by side with another tree. A probe, not a benchmark.

Needs the data of ``make bench-recompute`` (e.g. ``--observations 300000``): its new
months are derived values written by the engine of the tree that ran it (compact
provenance or JSON). Each URL is served in a process of the tree measured, with Django's
test client (no network), DEBUG off, the API's response cache off and the page cache
cleared before each request, so every request renders; per URL it gives the median wall
time of the requests and of the SQL they ran (``execute_wrapper``).

Usage: ``python -m bench.probe_derived_page [--rounds R] [--requests N] [--month M]
[--base DIR --base-database URL]``: with ``--base``, each round runs one process of the
tree at DIR (its own virtualenv, on the database at URL) and one of this tree (on
DATABASE_URL), their order swapped every round (ABBA), so both see the same load; the
load average is printed with each. ``--month``: the values read are those of this
period and after (e.g. the first new month of the run that wrote them: 2026-03 on data
filled by one ``make bench-recompute`` of another tree, then one of this one).
``--explain``: print ``EXPLAIN (ANALYZE, BUFFERS)`` of the API page's statement (this
tree only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
DERIVED = "SYN_ACTIVE_PARTICIPANTS_YOY"
INPUT = "SYN_ACTIVE_PARTICIPANTS"


def urls(month: str) -> dict[str, str]:
    api = "/api/v1/observations/?indicator={}&period_start={}&page_size=1000"
    return {
        "API page, 1,000 derived values": api.format(DERIVED, month),
        "the same values as CSV": f"/api/v1/observations/?indicator={DERIVED}"
        f"&period_start={month}&format=csv",
        "API page, 1,000 input values": api.format(INPUT, month),
        "indicator page of the derived indicator": f"/en/indikator/{DERIVED}/",
    }


def _setup() -> None:
    os.environ.update(
        DEBUG="false",
        SECRET_KEY="probe-derived-page-" + os.urandom(16).hex(),
        ALLOWED_HOSTS="testserver",
        API_CACHE_SECONDS="0",
        API_ANON_RATE="off",
        API_USER_RATE="off",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    import django

    django.setup()


def serve(month: str, requests: int) -> dict:
    """Each URL ``requests`` times (after one unmeasured), in this process."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    client = Client()
    spent = {"sql": 0.0}

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["sql"] += time.perf_counter() - started

    results = {}
    for name, url in urls(month).items():
        walls, sqls = [], []
        for index in range(requests + 1):
            cache.clear()
            spent["sql"] = 0.0
            with connection.execute_wrapper(timed):
                started = time.perf_counter()
                response = client.get(url)
                body = b"".join(response) if response.streaming else response.content
                wall = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if index:
                walls.append(wall * 1000)
                sqls.append(spent["sql"] * 1000)
        results[name] = {"wall": walls, "sql": sqls, "bytes": len(body)}
    return results


def explain(month: str) -> None:
    """The API page's statement, captured from a request, run under EXPLAIN."""
    from django.db import connection
    from django.test import Client

    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        Client().get(next(iter(urls(month).values())))
    sql, params = max(captured, key=lambda item: len(item[0]))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, VERBOSE) " + sql, params)
        print("\n".join(row[0] for row in cursor.fetchall()))


def _child(tree: Path, database: str, month: str, requests: int) -> dict:
    environment = dict(os.environ, DATABASE_URL=database)
    command = [str(tree / ".venv/bin/python"), str(Path(__file__).resolve()), "--serve"]
    command += ["--month", month, "--requests", str(requests)]
    finished = subprocess.run(
        command, cwd=tree, env=environment, capture_output=True, text=True, check=False
    )
    if finished.returncode:
        raise SystemExit(f"{tree}: {finished.stderr[-2000:]}")
    return json.loads(finished.stdout.splitlines()[-1])


def _collect_static(tree: Path, database: str) -> None:
    """DEBUG off serves hashed static names from the manifest collectstatic writes."""
    subprocess.run(
        [str(tree / ".venv/bin/python"), "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=tree,
        env=dict(os.environ, DATABASE_URL=database, DEBUG="false", ANGKA_ALLOW_INSECURE_KEY="1"),
        check=True,
    )


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--month", required=True)
    parser.add_argument("--base", type=Path, help="the tree to compare with")
    parser.add_argument("--base-database", help="its DATABASE_URL")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        # Run by path in the tree measured (its working directory): import from there.
        sys.path.insert(0, os.getcwd())
        _setup()
        print(json.dumps(serve(args.month, args.requests)))
        return
    if args.base and not args.base_database:
        parser.error("--base needs --base-database")
    _setup()
    month = args.month
    print(f"month {month}, {args.requests} requests per URL and round")
    if args.explain:
        explain(month)
        return
    sides = [("this", HERE, os.environ["DATABASE_URL"])]
    if args.base:
        sides.append(("base", args.base.resolve(), args.base_database))
    for _side, tree, database in sides:
        _collect_static(tree, database)
    medians: dict[tuple[str, str], list[float]] = {}
    for round_number in range(args.rounds):
        order = sides if round_number % 2 else sides[::-1]
        for side, tree, database in order:
            load = _load()
            results = _child(tree, database, month, args.requests)
            for name, result in results.items():
                wall, sql = statistics.median(result["wall"]), statistics.median(result["sql"])
                medians.setdefault((side, name), []).append(wall)
                print(
                    f"round {round_number + 1} {side:4s} load {load}: {name}: "
                    f"{wall:.0f} ms (SQL {sql:.0f} ms, {result['bytes']:,} bytes)"
                )
    print("medians of the rounds' medians (ms):")
    for name in urls(month):
        line = f"  {name}: " + ", ".join(
            f"{side} {statistics.median(medians[(side, name)]):.0f}" for side, _t, _d in sides
        )
        if args.base:
            this, base = (statistics.median(medians[(s, name)]) for s in ("this", "base"))
            line += f" (this / base {this / base:.2f})"
        print(line)


if __name__ == "__main__":
    main()
