"""Where the time of a cold full recompute goes (issue 17): a probe, not a benchmark.

Runs bench-recompute's cold round (``time_full_recompute(cold=True)``, rolled back) with
the SQL statement next to each, in variants that change only how the derived rows are
stored, so that a storage layout is chosen from numbers (BENCHMARKS.md, "Storage layout
for the derived values"). The variants replace the engine's provenance SQL or its
target table for this process only; nothing they write is kept:

- ``today``: as the engine is;
- ``null``: no provenance at all (the floor of any provenance);
- ``compact``: the definition's id and the input observations' ids (jsonb array);
- ``/sink`` after any of them: the rows go into a temporary table without indexes,
  write-ahead log or triggers instead of ``stats_observation`` (the cost of computing
  alone);
- ``/notrig``: into ``stats_observation`` with its two statement-level insert triggers
  disabled (the vintage and reference checks);
- ``/five``: into ``stats_observation`` without ``obs_one_current_value`` (dropped in
  the round's transaction: five indexes);
- ``/own``: into a logged table of its own with two indexes (current rows unique on
  series and period start; vintages), no triggers.

Needs the data of ``make bench-recompute`` (run it once, e.g. ``--observations 300000``).
Usage: ``python -m bench.probe_derived_storage [--statements] ROUNDS VARIANT...``, e.g.
``python -m bench.probe_derived_storage 3 today today/sink null null/sink compact``;
``--statements`` also prints the round's slowest statements (each definition's as one).
"""

from __future__ import annotations

import collections
import os
import re
import sys
import time


def main(argv: list[str]) -> None:
    statements = argv[:1] == ["--statements"]
    if statements:
        argv = argv[1:]
    rounds, names = int(argv[0]), argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from bench import bench_recompute as bench
    from config.dbrole import database_owner
    from stats.derived import sql as engine
    from stats.models import DerivedDefinition

    today = engine._provenance_sql

    def null(definition: DerivedDefinition) -> str:
        return "NULL::jsonb"

    def compact(definition: DerivedDefinition) -> str:
        if definition.kind in engine.ROW_KINDS:
            terms = range(1, engine._terms_count(definition) + 1)
            ids = ", ".join(["res.xo", *(f"res.y{i}o" for i in terms)])
        else:
            ids = "res.xo, res.yo"
        return f"jsonb_build_array({int(definition.pk)}, {ids})"

    variants = {"today": today, "null": null, "compact": compact}
    target = {"value": ""}
    insert = "published AS (INSERT INTO stats_observation ("

    spent: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    running = {"code": ""}
    definition_run = engine.definition_run

    def run_named(definition: DerivedDefinition, **kwargs):
        running["code"] = definition.indicator.code
        return definition_run(definition, **kwargs)

    engine.definition_run = run_named  # type: ignore[assignment]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if "WITH res AS" in sql:
                name = f"the statement of {running['code']}"
            else:
                name = re.sub(r"\s+", " ", sql.strip())[:70]
            spent[name] += time.perf_counter() - started
            calls[name] += 1

    def wrapper(execute, sql, params, many, context):
        if statements:
            execute = _bound(timed, execute)
        if target["value"] == "sink" and insert in sql:
            execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS drv_sink "
                "(LIKE stats_observation INCLUDING DEFAULTS INCLUDING IDENTITY)",
                None,
                False,
                context,
            )
            sql = sql.replace(insert, "published AS (INSERT INTO drv_sink (")
        if target["value"] == "own" and insert in sql:
            sql = sql.replace(insert, "published AS (INSERT INTO probe_derived (")
        return execute(sql, params, many, context)

    delete = bench._derived_rows_delete_in_transaction

    def delete_then_disable(indicator_ids: list[int]) -> int:
        deleted = delete(indicator_ids)
        if target["value"] == "notrig":
            with database_owner(), connection.cursor() as cursor:
                for trigger in ("vintage_insert", "references_insert"):
                    cursor.execute(
                        f"ALTER TABLE stats_observation DISABLE TRIGGER stats_observation_{trigger}"
                    )
        if target["value"] == "five":
            with database_owner(), connection.cursor() as cursor:
                cursor.execute("DROP INDEX obs_one_current_value")
        if target["value"] == "own":
            # Rolled back with the round: a logged table of its own, two indexes.
            with database_owner(), connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TABLE probe_derived (LIKE stats_observation INCLUDING DEFAULTS "
                    "INCLUDING IDENTITY)"
                )
                cursor.execute(
                    "CREATE UNIQUE INDEX ON probe_derived (series_id, period_start) "
                    "WHERE valid_from IS NOT NULL AND valid_to IS NULL"
                )
                cursor.execute(
                    "CREATE INDEX ON probe_derived (series_id, period_start, valid_from)"
                )
                cursor.execute("GRANT ALL ON probe_derived TO PUBLIC")
        return deleted

    bench._derived_rows_delete_in_transaction = delete_then_disable
    ids = list(
        DerivedDefinition.objects.filter(indicator__code__startswith="SYN_").values_list(
            "indicator_id", flat=True
        )
    )
    with connection.execute_wrapper(wrapper):
        for _ in range(rounds):
            for name in names:
                provenance, _, target["value"] = name.partition("/")
                engine._provenance_sql = variants[provenance]  # type: ignore[assignment]
                sql = bench.time_sql()["seconds"]
                run = bench.time_full_recompute(ids, cold=True)
                print(
                    f"{name}: cold {run['seconds']:.2f} s (compute {run['compute']:.2f}, "
                    f"publish {run['publish']:.2f}), written {run['written']:,}, "
                    f"SQL {sql:.2f} s, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                for statement, seconds in spent.most_common(8):
                    print(f"  {seconds:7.3f} s {calls[statement]:4d}x {statement}")
                spent.clear()
                calls.clear()


def _bound(timed, execute):
    """``execute`` passed through ``timed`` (an execute wrapper of its own)."""

    def call(sql, params, many, context):
        return timed(execute, sql, params, many, context)

    return call


if __name__ == "__main__":
    main(sys.argv[1:])
