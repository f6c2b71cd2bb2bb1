"""bench-api's own logic, without servers: wrk's output read into counts (a run with no
request included), rounds summarised, the report written whatever a side did, the rows
of both sides normalised and compared in full, and the Datasette set-up checks."""

import os
import shutil
import socket

import pytest

from bench import bench_api
from bench.bench_api import (
    Query,
    angka_row_flat,
    datasette_row_flat,
    plan_problems,
    report_section,
    rows_difference,
    sqlite_indexes,
    sqlite_row,
    sqlite_schema,
    statements_classify,
)
from bench.loadgen import (
    Load,
    latencies_load,
    load_cell,
    ratio,
    rounds_median,
    wrk_parse,
    wrk_run,
)

# wrk's text for a server that accepted the connections and answered nothing.
WRK_NO_REQUEST = """Running 2s test @ http://127.0.0.1:8873/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     0.00      0.00     0.00      -nan%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 2.01s, 0.00B read
Requests/sec:      0.00
Transfer/sec:       0.00B
"""

WRK_WITH_ERRORS = """Running 1s test @ http://127.0.0.1:8872/missing
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.01ms    5.45ms  47.79ms   92.98%
    Req/Sec     1.07k   396.41     1.59k    54.55%
  Latency Distribution
     50%    1.23ms
     75%    2.60ms
     90%    6.74ms
     99%   34.49ms
  1167 requests in 1.11s, 592.62KB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 1167
Requests/sec:   1054.09
Transfer/sec:    535.28KB
"""


def test_wrk_run_with_no_request_is_counted_and_has_no_latency():
    load = wrk_parse(WRK_NO_REQUEST)
    assert load.requests == 0 and load.rate == 0
    assert load.p50 is None and load.p99 is None
    assert load.empty_runs == 1 and load.errors == 1


def test_wrk_that_cannot_connect_counts_one_connect_error_per_connection():
    # wrk prints nothing on stdout and exits 1 when no connection succeeds.
    load = wrk_parse("", returncode=1, connections=16)
    assert (load.requests, load.socket_errors, load.empty_runs) == (0, 16, 1)
    assert load.p99 is None


# Skipped only on a developer machine without wrk; in CI (make test installs it) it runs.
@pytest.mark.skipif(
    shutil.which("wrk") is None and os.environ.get("CI") != "true",
    reason="wrk is not installed (make install-varnish)",
)
def test_wrk_against_a_closed_port_gives_an_empty_run_not_an_exception():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    load = wrk_run(f"http://127.0.0.1:{port}/", seconds=1, connections=4)
    assert (load.requests, load.empty_runs, load.p99) == (0, 1, None)
    assert load.errors >= 1


def test_wrk_socket_errors_and_non_2xx_answers_are_counted():
    load = wrk_parse(WRK_WITH_ERRORS)
    assert load.requests == 1167 and load.rate == pytest.approx(1054.09)
    assert load.p50 == pytest.approx(1.23) and load.p99 == pytest.approx(34.49)
    assert (load.socket_errors, load.non_2xx, load.empty_runs) == (6, 1167, 0)
    assert load.errors == 1173


def test_python_load_summary_of_no_answer_does_not_fail():
    load = latencies_load([], wall=3.0, socket_errors=5, non_2xx=0)
    assert (load.rate, load.p50, load.requests, load.empty_runs) == (0.0, None, 0, 1)
    assert load.errors == 6


def test_rounds_median_keeps_an_empty_round_in_the_rate_and_counts_it():
    rounds = [
        Load(100.0, 10.0, 40.0, 300, "wrk"),
        wrk_parse(WRK_NO_REQUEST),
        Load(120.0, 12.0, 50.0, 360, "wrk", non_2xx=2),
    ]
    median = rounds_median(rounds)
    assert median.rate == 100.0
    assert median.p99 == 45.0  # over the rounds that answered
    assert (median.empty_runs, median.non_2xx, median.runs) == (1, 2, 3)
    assert median.extra["rounds"] == [(100.0, 40.0), (0.0, None), (120.0, 50.0)]


def test_rounds_that_all_finished_nothing_have_no_latency_and_no_ratio():
    median = rounds_median([wrk_parse(WRK_NO_REQUEST), wrk_parse(WRK_NO_REQUEST)])
    assert (median.rate, median.p99, median.empty_runs) == (0, None, 2)
    assert ratio(500.0, median.rate) is None
    assert load_cell(median) == "0, -, - (**2 runs with no request**)"


# -- the report ----------------------------------------------------------------------------


def _load(rate: float, **counts) -> Load:
    load = Load(rate, 5.0, 20.0, int(rate * 3), "wrk", **counts)
    return rounds_median([load, load])


def _results(datasette_rate: float) -> dict:
    empty = wrk_parse(WRK_NO_REQUEST)
    queries = []
    for query in bench_api.queries():
        theirs = _load(datasette_rate) if datasette_rate else rounds_median([empty, empty])
        queries.append(
            {
                "key": query.key,
                "label": query.label,
                "rows": 312,
                "columns": 22,
                "trace": {
                    "statements": 8,
                    "table_statements": 1,
                    "catalogue_statements": 7,
                    "sql": "select ...",
                    "plan": [f"SEARCH observations USING INDEX {query.index} (indicator=?)"],
                },
                "plain": _load(800.0),
                "cached": _load(1500.0),
                "datasette": theirs,
                "varnish_angka": _load(9000.0),
                "varnish_datasette": theirs,
                "plain64": _load(700.0),
                "datasette64": theirs,
            }
        )
    others = [
        {"key": "S1", "label": "(S1) x", "json_key": "1", "rows": 312},
        {"key": "U3", "label": "(U3) y", "json_key": "3", "rows": 312},
    ]
    for other in others:
        other["plain"] = rounds_median([empty, empty])
        other["cached"] = _load(1000.0)
    copy = {"rate": 700_000.0, "rows": 1000, "runs": [700_000.0]}
    memory = {"rss": 100.0, "pss": 80.0, "server_pss": 120.0, "workers": 2}
    return {
        "date": "2026-12-07",
        "full_scale": False,
        "machine": "2 cores.",
        "tool": "wrk",
        "gunicorn": {"workers": 2},
        "server": "2 workers",
        "seconds": 3,
        "rounds": 2,
        "warmup": 1,
        "datasette_version": "0.65.5",
        "cache_ttl": 60,
        "sqlite": {"rows": 50_893, "size_mb": 22.0},
        "csv_plan": ["SEARCH observations USING INDEX ix_csv (indicator=?)"],
        "observations": 50_893,
        "synthetic": 50_000,
        "queries": queries,
        "sdmx": others[:1],
        "units": others[1:],
        "varnish": {
            "cache_control": {"angka": "public, max-age=60", "datasette": "max-age=60"},
            "origin_requests": {"angka": 3, "datasette": 0, "hits": 9000, "misses": 3},
        },
        "csv": {
            "copy": {"raw": copy, "formatted": copy},
            "angka": {**copy, "rate": 400_000.0, "bytes": 2_000_000},
            "datasette": {**copy, "rate": 40_000.0},
            "concurrent": {"streams": 16, "rate": 700_000.0, "wall": 2.0, "slowest": 1.9},
            "peak_rss": 180.0,
            "peak_pss": 110.0,
            "peak_server_pss": 150.0,
            "peak_master_mb": 80.0,
            "started": memory,
            "idle": memory,
        },
    }


def test_report_with_a_side_that_finished_no_request_is_written_with_no_ratio():
    results = _results(datasette_rate=0)
    section = report_section(results)
    assert section.startswith(bench_api.SECTION_START)
    assert section.endswith(bench_api.SECTION_END)
    assert "n/a (a side finished no request)" in section
    assert "0, -, - (**2 runs with no request**)" in section
    assert "- uncached, every query at least 10x Datasette's rate: **not met**" in section
    assert "(1) Datasette: 0, -; 0, -" in section
    assert "not the benchmark" in section
    # The SDMX and units sections divide by the JSON query's rate, and by their own.
    assert "n/a (a side finished no request)" in bench_api.units_report_section(results)
    assert "**0%**" not in bench_api.sdmx_report_section(results)


def test_report_states_ratios_goals_set_up_and_errors():
    results = _results(datasette_rate=50)
    results["queries"][0]["plain"] = _load(800.0, socket_errors=4)
    section = report_section(results)
    assert "**16.0x**" in section  # 800 / 50, uncached
    assert "**180.0x**" in section  # 9000 / 50, through Varnish
    assert "- uncached, every query at least 10x Datasette's rate: **met**" in section
    assert "800, 5, 20 (**8 socket errors**)" in section
    assert "Errors in all the runs above (socket errors, non-2xx/3xx answers, runs with " in (
        section
    )
    assert "| (1) | 312 (22) | 1 + 7 = 8 |" in section
    assert "first page's plan: `SEARCH observations USING INDEX ix_csv (indicator=?)`" in section
    assert "--setting suggest_facets off" in section and "_shape=array&_nocount=1" in section


def test_report_at_64_connections_states_the_tail_and_its_goal_per_query():
    results = _results(datasette_rate=50)
    section = report_section(results)
    # _load: p50 5 ms, p99 20 ms, so p99/p50 4x, over the goal of 3x.
    assert "| (1) | 700 | 5 | 20 | **4.0x** | 0 | 0 | **not met** |" in section
    assert "- (1) angka, no cache: 5, 20 (4.0x); 5, 20 (4.0x)" in section
    assert "every query's p99 at most 3x its p50, with no error: **not met**" in section
    fast = rounds_median([Load(700.0, 10.0, 25.0, 2100, "wrk")] * 2)
    for query in results["queries"]:
        query["plain64"] = fast
    section = report_section(results)
    assert "| (1) | 700 | 10 | 25 | **2.5x** | 0 | 0 | **met** |" in section
    assert "every query's p99 at most 3x its p50, with no error: **met**" in section
    # An error fails the goal whatever the tail.
    results["queries"][2]["plain64"] = rounds_median(
        [Load(700.0, 10.0, 25.0, 2100, "wrk", socket_errors=1)] * 2
    )
    assert "with no error: **not met**" in report_section(results)


def test_a_64_connection_run_with_no_request_is_reported_not_raised():
    results = _results(datasette_rate=0)
    empty = rounds_median([wrk_parse(WRK_NO_REQUEST)] * 2)
    results["queries"][0]["plain64"] = empty
    section = report_section(results)
    assert "| (1) | 0 | - | - | **n/a (no request)** |" in section
    assert "- (1) angka, no cache: -, - (-); -, - (-)" in section


def test_section_before_the_full_run_says_so_and_has_the_method():
    section = bench_api.pending_section()
    assert "**Not yet run at full scale**" in section
    assert "datasette serve -i observations.db --inspect-file" in section
    assert "ix_query_3` on (indicator, region)" in section
    assert "req/s" not in section  # no numbers before a run


def test_a_small_run_may_not_write_benchmarks_md():
    with pytest.raises(SystemExit):
        bench_api.main(["--observations", "50000"])


# -- the rows, compared in full ------------------------------------------------------------

ANGKA_ROW = {
    "indicator": "SYN_A",
    "indicator_name": "Peserta aktif (sintetis)",
    "frequency": "M",
    "series_key": "region=ID,segment=_T,program=_T",
    "dimensions": {
        "region": {"code": "ID", "name": "Indonesia"},
        "segment": {"code": "_T", "name": "Semua"},
    },
    "period": "2025-12",
    "period_start": "2025-12-01",
    "period_end": "2025-12-31",
    "value": "1001000000000000.5",
    "unit": "orang",
    "status": "normal",
    "note": "",
    "source": "",
    "reference_date": None,
    "release": "synthetic-data",
    "published_at": "2026-12-07T10:00:00+07:00",
    "superseded_at": None,
    "formula": None,
    "inputs": None,
}
HEADER = [
    "indicator",
    "indicator_name",
    "frequency",
    "series_key",
    "region",
    "region_name",
    "segment",
    "segment_name",
    "program",
    "program_name",
    "period",
    "period_start",
    "period_end",
    "value",
    "unit",
    "status",
    "note",
    "source",
    "reference_date",
    "release",
    "published_at",
    "superseded_at",
    "formula",
    "inputs",
]
CSV_CELLS = [
    "SYN_A",
    "Peserta aktif (sintetis)",
    "M",
    "region=ID,segment=_T,program=_T",
    "ID",
    "Indonesia",
    "_T",
    "Semua",
    "",
    "",
    "2025-12",
    "2025-12-01",
    "2025-12-31",
    "1001000000000000.5",
    "orang",
    "normal",
    "",
    "",
    "",
    "synthetic-data",
    "2026-12-07T10:00:00+07:00",
    "",
    "",
    "",
]


def _datasette_row() -> dict:
    """The row as Datasette answers it: the typed SQLite row, with its rowid."""
    columns = [name for name, _kind in sqlite_schema(HEADER)]
    return {"rowid": 7, **dict(zip(columns, sqlite_row(HEADER, CSV_CELLS), strict=True))}


def test_the_table_keeps_the_value_as_a_number_and_as_exact_text():
    schema = dict(sqlite_schema(HEADER))
    assert schema["value"] == "REAL" and schema["value_exact"] == "TEXT"
    row = _datasette_row()
    assert row["value"] == 1001000000000000.5 and row["value_exact"] == "1001000000000000.5"
    # Absent, as angka's JSON null (its CSV writes an empty cell).
    assert row["reference_date"] is None and row["superseded_at"] is None
    assert row["formula"] is None and row["inputs"] is None


def test_the_same_row_on_both_sides_is_equal_in_every_column():
    theirs = datasette_row_flat(_datasette_row())
    ours = angka_row_flat(ANGKA_ROW, list(theirs))
    assert "rowid" not in theirs
    assert ours == theirs
    assert rows_difference([ours], [theirs]) is None


@pytest.mark.parametrize(
    ("column", "changed"),
    [
        ("indicator_name", "Active participants"),  # a label, not only the value
        ("published_at", "2026-12-07T03:00:00+00:00"),
        ("value_exact", "1001000000000000.50"),
        ("program_name", "?"),
    ],
)
def test_any_column_that_differs_is_found(column, changed):
    theirs = datasette_row_flat(_datasette_row())
    theirs[column] = changed
    ours = angka_row_flat(ANGKA_ROW, list(theirs))
    difference = rows_difference([ours], [theirs])
    assert difference is not None and column in difference


def test_a_dimension_the_table_lacks_and_a_missing_row_are_differences():
    theirs = datasette_row_flat(_datasette_row())
    row = {**ANGKA_ROW, "dimensions": {**ANGKA_ROW["dimensions"], "sector": {"code": "X"}}}
    assert "dimensions.sector" in rows_difference([angka_row_flat(row, list(theirs))], [theirs])
    assert rows_difference([], [theirs]) == "angka 0 rows, Datasette 1"


# -- the Datasette set-up checks -----------------------------------------------------------


def test_each_query_has_an_index_on_exactly_its_filter_columns():
    indexes = dict(sqlite_indexes())
    for query in bench_api.queries():
        assert indexes[query.index] == tuple(query.filters)
        assert "_shape=array" in query.datasette and "_nocount=1" in query.datasette
    assert indexes["ix_csv"] == ("indicator",)


def test_statements_are_split_into_the_table_query_catalogue_and_others():
    kinds = statements_classify(
        [
            "PRAGMA schema_version",
            "select 1 from sqlite_master where type='table' and name=?",
            "select database_name, schema_version from databases",
            'select rowid, * from observations where "indicator" = :p0 order by rowid limit 1001',
            'select count(*) from observations where "indicator" = :p0',
        ]
    )
    assert len(kinds["catalogue"]) == 3
    assert kinds["table"][0].startswith("select rowid")
    assert len(kinds["table"]) == 2  # the count is a second statement on the table


def test_a_plan_with_a_sort_or_without_the_index_is_refused():
    query = Query("1", "(1)", "/api", {"indicator": "A"})
    good = ["SEARCH observations USING INDEX ix_query_1 (indicator=?)"]
    assert plan_problems(good, query.index) == []
    sorted_plan = [*good, "USE TEMP B-TREE FOR ORDER BY"]
    assert plan_problems(sorted_plan, query.index) == [
        "a temporary B-tree (a sort the index does not give)"
    ]
    assert plan_problems(["SCAN observations"], query.index) == ["no search of ix_query_1"]
    other = ["SEARCH observations USING INDEX ix_query_10 (indicator=?)"]
    assert plan_problems(other, query.index) == ["no search of ix_query_1"]


def test_the_varnish_configuration_gets_both_ports():
    vcl = bench_api.varnish_vcl(8001, 8002)
    assert '.port = "8001";' in vcl and '.port = "8002";' in vcl
    assert "@ANGKA_PORT@" not in vcl and "@DATASETTE_PORT@" not in vcl
