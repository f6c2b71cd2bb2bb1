"""What reading derived values costs (issue 17): the API page, its CSV and the indicator
page of a derived indicator (and the API page and CSV of its input values), side by side
with other trees. A probe, not a benchmark.

Needs the data of ``make bench-recompute`` (e.g. ``--observations 300000``): its new
months are derived values written by the engine of the tree that ran it (compact
provenance or JSON). Each URL is served in a process of the tree measured, with Django's
test client (no network), DEBUG off, the API's response cache off and the page cache
cleared before each request, so every request renders; per URL it gives the median wall
time of the requests, of the SQL they ran (``execute_wrapper``), and of the CPU time they
took in this process and in its PostgreSQL backend (``/proc/<pid>/schedstat``, the
server on this machine): on a machine shared with other work, the CPU time moves far
less with the load than wall time. It also says which trees' answers are the same bytes
as this one's (SHA-256).

Usage: ``python -m bench.probe_derived_page --month M [--rounds R] [--requests N]
[--base DIR --base-database URL]...``: with ``--base`` (repeatable, each with its
``--base-database``), each round runs one process of each tree at DIR (its own
virtualenv, on the database at URL) and one of this tree (on DATABASE_URL), their order
turned every round, so all see the same load; the load average is printed with each.
``--month``: the values read are those of this period and after (e.g. the first new
month of the run that wrote them: 2026-03 on data filled by one ``make bench-recompute``
of another tree, then one of this one).
``--explain``: print ``EXPLAIN (ANALYZE, BUFFERS)`` of the statement of each JSON page of
the API (this tree only).
"""

from __future__ import annotations

import argparse
import hashlib
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
        "CSV of the derived values": f"/api/v1/observations/?indicator={DERIVED}"
        f"&period_start={month}&format=csv",
        "API page, 1,000 input values": api.format(INPUT, month),
        "CSV of the input values": f"/api/v1/observations/?indicator={INPUT}"
        f"&period_start={month}&format=csv",
        "indicator page of the derived indicator": f"/en/indikator/{DERIVED}/",
    }


def _setup() -> None:
    from bench.profile_api import in_process_environment

    in_process_environment("probe-derived-page")
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

    def backend_cpu() -> tuple[int, int]:
        """Nanoseconds on CPU of this connection's backend (persistent: CONN_MAX_AGE)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        return pid, int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])

    results = {}
    for name, url in urls(month).items():
        walls, sqls, cpus = [], [], []
        for index in range(requests + 1):
            cache.clear()
            spent["sql"] = 0.0
            pid, backend = backend_cpu()
            with connection.execute_wrapper(timed):
                started, cpu = time.perf_counter(), time.process_time_ns()
                response = client.get(url)
                body = b"".join(response) if response.streaming else response.content
                wall, cpu = time.perf_counter() - started, time.process_time_ns() - cpu
            after_pid, backend_after = backend_cpu()
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if index and after_pid == pid:
                walls.append(wall * 1000)
                sqls.append(spent["sql"] * 1000)
                cpus.append((cpu + backend_after - backend) / 1e6)
        digest = hashlib.sha256(body).hexdigest()
        results[name] = {"wall": walls, "sql": sqls, "cpu": cpus, "bytes": len(body), "sha": digest}
    return results


def explain(month: str) -> None:
    """The longest statement of each API URL, captured from a request, run under EXPLAIN."""
    from django.db import connection
    from django.test import Client

    for name, url in urls(month).items():
        if not url.startswith("/api/") or "format=csv" in url:
            continue  # the CSV's statement runs on a server-side cursor, not captured here
        captured = []

        def capture(execute, sql, params, many, context, captured=captured):
            captured.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(capture):
            response = Client().get(url)
            b"".join(response) if response.streaming else response.content
        sql, params = max(captured, key=lambda item: len(item[0]))
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, VERBOSE) " + sql, params)
            print(f"{name}:", "\n".join(row[0] for row in cursor.fetchall()), sep="\n")


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
    parser.add_argument(
        "--base", type=Path, action="append", default=[], help="a tree to compare with"
    )
    parser.add_argument("--base-database", action="append", default=[], help="its DATABASE_URL")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        # Run by path in the tree measured (its working directory): import from there.
        sys.path.insert(0, os.getcwd())
        _setup()
        print(json.dumps(serve(args.month, args.requests)))
        return
    if len(args.base) != len(args.base_database):
        parser.error("each --base needs its --base-database")
    _setup()
    month = args.month
    print(f"month {month}, {args.requests} requests per URL and round")
    if args.explain:
        explain(month)
        return
    sides = [("this", HERE, os.environ["DATABASE_URL"])]
    for tree, database in zip(args.base, args.base_database, strict=True):
        sides.append((tree.resolve().name, tree.resolve(), database))
    for _side, tree, database in sides:
        _collect_static(tree, database)
    medians: dict[tuple[str, str], list[float]] = {}
    digests: dict[tuple[str, str], set[str]] = {}
    for round_number in range(args.rounds):
        turn = round_number % len(sides)
        order = (sides[turn:] + sides[:turn])[:: -1 if round_number % 2 else 1]
        for side, tree, database in order:
            load = _load()
            results = _child(tree, database, month, args.requests)
            for name, result in results.items():
                wall, sql, cpu = (statistics.median(result[k]) for k in ("wall", "sql", "cpu"))
                medians.setdefault((side, name, "wall"), []).append(wall)
                medians.setdefault((side, name, "cpu"), []).append(cpu)
                digests.setdefault((side, name), set()).add(result["sha"])
                print(
                    f"round {round_number + 1} {side} load {load}: {name}: {wall:.0f} ms "
                    f"(SQL {sql:.0f} ms; CPU {cpu:.0f} ms; {result['bytes']:,} bytes)"
                )
    # Databases copied from one another (createdb -T) hold the same rows: trees that show
    # them alike give the same bytes.
    for name in urls(month):
        same = [s for s, _t, _d in sides[1:] if digests[(s, name)] == digests[("this", name)]]
        print(f"{name}: the same bytes as this tree's: {', '.join(same) or 'none'}")
    for measure in ("wall", "cpu"):
        print(f"medians of the rounds' medians, {measure} (ms):")
        for name in urls(month):
            median = {s: statistics.median(medians[(s, name, measure)]) for s, _t, _d in sides}
            line = f"  {name}: " + ", ".join(f"{s} {m:.0f}" for s, m in median.items())
            for side, _tree, _database in sides[1:]:
                line += f" (this / {side} {median['this'] / median[side]:.2f})"
            print(line)


if __name__ == "__main__":
    main()
