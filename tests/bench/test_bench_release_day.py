"""bench-release-day's summaries, without servers: gunicorn's access log read and cut into
windows, origin requests per URL after the instant, wrk's runs added up, what the
checker records of each answer, when the new data reached every URL, responses mixing
versions, and the mix's connections; and the checker against a stub server that
gzips its answers, as Varnish does."""

import gzip
import hashlib
import json
import threading
import time
from argparse import Namespace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import bench_api
from bench.bench_release_day import (
    REDIS_DB,
    Checker,
    OriginRequest,
    Target,
    UrlCheck,
    Window,
    access_line_parse,
    cache_verdicts,
    commit_sentence,
    connections_share,
    consistency,
    counters_delta,
    errors,
    latency_points,
    mix_percentile,
    origin_requests_after_purge,
    origin_requests_per_url,
    origin_window,
    percentile,
    redis_url_with_database,
    results_merge,
    section,
    share_below,
    verdict,
    visibility,
)

INSTANT = 1_000_000.0


def check(path, marker="2026-01", *, answers=()):
    """A checker's record of ``path`` after ``answers``: (status, etag, body, at)."""
    found = UrlCheck(path, marker)
    for status, etag, body, at in answers:
        found.record(status, etag, body, at)
    return found


def result(**values):
    """One wrk run as bench/load.lua writes it, bodies off."""
    entry = {
        "requests": 10,
        "seconds": 1.0,
        "p50_us": 1000,
        "p99_us": 5000,
        "max_us": 9000,
        "connect": 0,
        "read": 0,
        "write": 0,
        "status": 0,
        "timeout": 0,
        "bad": 0,
        "mixed": 0,
        "etags": {},
        "threads": [],
        "min_us": 100,
        "percentiles": [[50, 1000], [99, 5000]],
    }
    entry.update(values)
    return entry


def test_access_line_parse_reads_the_format_gunicorn_is_given():
    assert bench_api.ACCESS_LOG_FORMAT == '%(s)s %(D)s "%(r)s"'
    parsed = access_line_parse('200 15250 "GET /api/v1/observations/?a=1&b=2 HTTP/1.1"\n', 5.0)
    assert parsed == OriginRequest(5.0, 200, 15.25, "GET", "/api/v1/observations/?a=1&b=2")
    assert parsed.start == 5.0 - 0.01525


def test_access_line_parse_skips_other_output_and_health_checks():
    assert access_line_parse("[INFO] Booting worker with pid: 12", 1.0) is None
    assert access_line_parse('200 900 "GET /healthz HTTP/1.1"', 1.0) is None
    assert access_line_parse('200 900 "GET /readyz HTTP/1.1"', 1.0) is None


def test_percentile_is_nearest_rank_and_none_without_values():
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_origin_window_counts_the_answers_that_ended_inside():
    requests = [
        OriginRequest(9.9, 200, 10.0, "GET", "/a"),
        OriginRequest(10.0, 200, 20.0, "GET", "/a"),
        OriginRequest(11.0, 500, 40.0, "GET", "/b"),
        OriginRequest(12.0, 200, 5.0, "GET", "/a"),  # the window's end is not in it
    ]
    summary = origin_window(requests, Window("during", 10.0, 12.0))
    assert summary == {"requests": 2, "rate": 1.0, "p50": 20.0, "p99": 40.0, "errors": 1}


def test_origin_window_without_requests_has_no_latency():
    summary = origin_window([], Window("before", 0.0, 5.0))
    assert summary["requests"] == 0 and summary["p50"] is None and summary["p99"] is None


def test_origin_requests_per_url_by_start_in_the_second_after_the_instant():
    requests = [
        # began before the instant, ended after it: not counted
        OriginRequest(INSTANT + 0.2, 200, 500.0, "GET", "/a"),
        OriginRequest(INSTANT + 0.3, 200, 100.0, "GET", "/a"),
        OriginRequest(INSTANT + 0.9, 200, 100.0, "GET", "/a"),
        OriginRequest(INSTANT + 0.5, 200, 100.0, "GET", "/b"),
        # began after the second
        OriginRequest(INSTANT + 1.5, 200, 100.0, "GET", "/c"),
        OriginRequest(INSTANT + 0.5, 200, 100.0, "PURGE", "/"),
    ]
    assert origin_requests_per_url(requests, INSTANT) == {"/a": 2, "/b": 1}


def test_the_checker_files_bodies_under_their_etag_and_times_old_and_new_answers():
    found = check(
        "/a",
        answers=[
            (200, '"v1"', b"old", INSTANT - 5),
            (200, '"v1"', b"old", INSTANT + 0.3),
            (304, '"v1"', b"", INSTANT + 0.4),
            (200, '"v2"', b"2026-01 2026-01", INSTANT + 0.6),
            (200, '"v2"', b"2026-01 2026-01", INSTANT + 0.7),
        ],
    )
    assert (found.responses, found.old, found.new) == (5, 2, 2)
    assert found.last_old == INSTANT + 0.3 and found.first_new == INSTANT + 0.6
    assert {etag: len(hashes) for etag, hashes in found.bodies.items()} == {'"v1"': 1, '"v2"': 1}
    assert found.marker_counts == {2: 2}
    assert found.old_after_new == 0 and found.failures == []


def test_the_checker_counts_other_statuses_as_failures_and_old_after_new():
    found = check(
        "/a",
        answers=[
            (200, None, b"2026-01", INSTANT + 0.1),
            (200, None, b"old", INSTANT + 0.2),
            (503, None, b"", INSTANT + 0.3),
        ],
    )
    assert found.old_after_new == 1
    assert found.failures == ["/a: HTTP 503"]
    assert found.bodies == {}  # a page carries no ETag: only its status and marker count


def test_origin_requests_after_purge_count_from_each_urls_last_old_answer():
    urls = {
        "/a": check(
            "/a",
            answers=[(200, None, b"old", INSTANT + 2.0), (200, None, b"2026-01", INSTANT + 3)],
        ),
        "/b": check("/b", answers=[(200, None, b"old", INSTANT + 2.0)]),  # never new
        "/page": check("/page", None, answers=[(200, None, b"x", INSTANT)]),
    }
    requests = [
        OriginRequest(INSTANT + 2.5, 200, 100.0, "GET", "/a"),  # began at +2.4
        OriginRequest(INSTANT + 3.5, 200, 100.0, "GET", "/a"),  # at +3.4: a second later
        OriginRequest(INSTANT + 1.9, 200, 10.0, "GET", "/a"),  # before the purge
        OriginRequest(INSTANT + 2.5, 200, 10.0, "PURGE", "/a"),
    ]
    assert origin_requests_after_purge(requests, urls) == {"/a": 1}


def test_visibility_is_the_later_of_the_last_old_and_the_first_new_answer():
    urls = {
        "/a": check(
            "/a",
            answers=[(200, None, b"old", INSTANT + 0.4), (200, None, b"2026-01", INSTANT + 0.9)],
        ),
        "/b": check(
            "/b",
            answers=[(200, None, b"old", INSTANT - 3), (200, None, b"2026-01", INSTANT + 1.5)],
        ),
        "/page": check("/page", None, answers=[(200, None, b"x", INSTANT + 9)]),
    }
    seen = visibility(urls, INSTANT)
    assert set(seen["paths"]) == {"/a", "/b"}  # /page shows nothing of the release
    a = seen["paths"]["/a"]
    assert round(a["last_old_s"], 3) == 0.4 and round(a["first_new_s"], 3) == 0.9
    assert seen["paths"]["/b"]["last_old_s"] == 0.0  # its last old answer came before
    assert round(seen["all_seen_s"], 3) == 1.5


def test_visibility_is_none_when_a_url_never_showed_the_new_data():
    urls = {
        "/a": check("/a", answers=[(200, None, b"2026-01", INSTANT + 0.2)]),
        "/b": check("/b", answers=[(200, None, b"old", INSTANT + 9)]),
    }
    seen = visibility(urls, INSTANT)
    assert seen["all_seen_s"] is None
    assert seen["paths"]["/b"]["first_new_s"] is None


def test_consistency_counts_etags_with_two_bodies_partial_bodies_and_old_after_new():
    urls = {
        "/a": check(
            "/a",
            answers=[(200, '"v1"', b"old", INSTANT - 1), (200, '"v1"', b"2026-01", INSTANT)],
        ),
        "/b": check(
            "/b",
            answers=[
                (200, '"w2"', b"2026-01 2026-01", INSTANT + 1),
                (200, '"w2"', b"2026-01 2026-01", INSTANT + 2),
                (200, '"w3"', b"2026-01 x", INSTANT + 3),
            ],
        ),
        "/c": check(
            "/c",
            answers=[(200, None, b"2026-01", INSTANT + 1), (200, None, b"old", INSTANT + 2)],
        ),
    }
    found = consistency(urls)
    assert found["etag_bodies"] == {("/a", '"v1"'): 2}
    assert found["partial"] == {"/b": 1}
    assert found["partial_counts"] == {"/b": {1: 1, 2: 2}}
    assert found["regressions"] == {"/c": 1}
    assert found["mixed"] == 1 + 1 + 1


def test_consistency_of_clean_answers_is_zero():
    urls = {
        "/a": check(
            "/a",
            answers=[(200, '"v1"', b"old", INSTANT - 1), (200, '"v2"', b"2026-01", INSTANT + 1)],
        )
    }
    assert consistency(urls)["mixed"] == 0


def test_errors_add_up_wrk_socket_errors_and_statuses_of_every_run():
    results = [result(connect=1, timeout=2, status=3), result(read=4, write=1)]
    assert errors(results) == {"socket": 8, "bad": 3}


def test_cache_verdicts_are_hits_and_everything_else_in_the_window():
    before = {"cache_hit": 100, "cache_miss": 5, "s_pass": 1, "cache_hitmiss": 0}
    after = {"cache_hit": 190, "cache_miss": 7, "s_pass": 2, "cache_hitmiss": 1}
    delta = counters_delta(before, after)
    assert delta == {"cache_hit": 90, "cache_miss": 2, "s_pass": 1, "cache_hitmiss": 1}
    assert cache_verdicts(delta) == {"hit": 90, "not": 4}


def test_connections_share_follows_the_weights_and_adds_up():
    mix = [Target("home", "/id/", 4, "slug"), Target("a", "/a", 2, "x"), Target("b", "/b", 2, "x")]
    assert connections_share(mix, 256) == [128, 64, 64]
    assert connections_share(mix, 10) == [6, 2, 2]
    assert sum(connections_share(mix, 33)) == 33


def test_latency_points_run_from_the_minimum_through_the_percentiles_to_the_maximum():
    run = result(min_us=10, max_us=900, percentiles=[[50, 100], [99, 500]])
    assert latency_points(run) == [(0.0, 10.0), (0.5, 100.0), (0.99, 500.0), (1.0, 900.0)]


def test_share_below_is_linear_between_the_points():
    points = [(0.0, 10.0), (0.5, 100.0), (0.99, 500.0), (1.0, 900.0)]
    assert share_below(points, 5) == 0.0
    assert share_below(points, 100) == 0.5
    assert share_below(points, 300) == 0.745
    assert share_below(points, 900) == 1.0 and share_below(points, 10_000) == 1.0


def test_mix_percentile_weights_each_run_by_its_responses():
    fast = result(requests=99, min_us=100, max_us=200, percentiles=[[50, 150], [99, 200]])
    slow = result(requests=1, min_us=50_000, max_us=50_000, percentiles=[[50, 50_000]])
    # One response in a hundred is the slow run's: the mix's p99 is the fast run's end.
    assert round(mix_percentile([fast, slow], 0.99)) == 200
    assert round(mix_percentile([fast, slow], 0.995)) == 50_000
    assert round(mix_percentile([fast], 0.5)) == 150  # exact at a run's own point
    assert mix_percentile([result(requests=0)], 0.5) is None


def test_results_merge_adds_the_runs_of_a_window():
    runs = {
        "/home": result(
            requests=99,
            seconds=10.0,
            min_us=100,
            max_us=200,
            percentiles=[[50, 150], [99, 200]],
            connect=1,
            status=2,
        ),
        "/csv": result(
            requests=1,
            seconds=10.2,
            min_us=50_000,
            max_us=50_000,
            p50_us=50_000,
            p99_us=50_000,
            percentiles=[[50, 50_000]],
            timeout=3,
        ),
    }
    merged = results_merge(runs)
    assert merged["requests"] == 100 and merged["seconds"] == 10.2
    assert merged["p50_us"] == 151 and merged["p99_us"] == 200 and merged["max_us"] == 50_000
    assert (merged["connect"], merged["timeout"], merged["status"]) == (1, 3, 2)
    assert merged["urls"]["/csv"] == {
        "requests": 1,
        "seconds": 10.2,
        "p50_us": 50_000,
        "p99_us": 50_000,
        "errors": 3,
    }
    assert merged["urls"]["/home"]["errors"] == 3


def test_results_merge_of_runs_without_requests_has_no_latency():
    merged = results_merge({"/a": result(requests=0, seconds=0.0, connect=16)})
    assert merged["requests"] == 0 and merged["p99_us"] == 0 and merged["connect"] == 16


def test_the_lua_result_line_is_json_the_summaries_read():
    # What bench/load.lua writes (keys of its string.format), read back.
    line = (
        '{"requests":3,"seconds":1.000,"p50_us":10,"p99_us":20,"max_us":30,"connect":0,'
        '"read":0,"write":0,"status":0,"timeout":0,"bad":0,"mixed":0,"etags":{},'
        '"threads":[{"path":"/a","bad":0,"mixed":0,"old":0,"new":0,"old_last_ms":0.0,'
        '"new_first_ms":0.0,"cache":{},"etags":{},"lengths":{},"conflicts":{},'
        '"marker_counts":{}}],"min_us":5,"percentiles":[[50,10],[99,20],[99.9,30]]}'
    )
    merged = results_merge({"/a": json.loads(line)})
    assert merged["requests"] == 3 and merged["p50_us"] == 10 and merged["p99_us"] == 20


def test_redis_url_with_database_keeps_the_server():
    assert redis_url_with_database("redis://127.0.0.1:6379/4", 13) == "redis://127.0.0.1:6379/13"
    assert redis_url_with_database("redis://:pw@cache:6380", 2) == "redis://:pw@cache:6380/2"
    assert REDIS_DB != 0  # not the default database other processes use


class FakeChecker:
    def __init__(self, urls=None, failures=()):
        self.urls = urls or {}
        self.failures = list(failures)
        self.responses = 3


def outcome(results, *, origin=(), checker=None):
    """What ``run`` returns, for a run of three windows with the instant at 20 s."""
    start = INSTANT - 20
    mix = [Target("home", "/id/", 4, "slug"), Target("api", "/api/", 12, "2026-01")]
    return {
        "data": {"observations": 2_000_900, "synthetic": 2_000_000},
        "gunicorn": {"workers": 2, "threads": 3},
        "mix": mix,
        "share": [64, 192],
        "sizes": {"/id/": 30_000, "/api/": 900},
        "results": results,
        "windows": [
            Window("before", start, INSTANT - 1),
            Window("during", INSTANT - 1, INSTANT + 9),
            Window("after", INSTANT + 9, INSTANT + 40),
        ],
        "varnish_windows": [{"cache_hit": 990, "cache_miss": 10}] * 3,
        "varnish_params": {"thread_pools": "2", "thread_pool_min": "300"},
        "ceiling": result(
            requests=200_000, seconds=10.0, p50_us=4000, p99_us=15_000, load=(3.0, 2.0, 2.0)
        )
        | {"path": "/api/", "bytes": 900},
        "origin": list(origin),
        "checker": checker or FakeChecker(),
        "publication": {"scheduled": INSTANT - 0.05, "instant": INSTANT},
        "run_start": start,
        "release": "hari-rilis-1",
        "release_rows": 6411,
        "prepared_seconds": 80.0,
        "load_before": (1.0, 1.5, 2.0),
        "load_after": (3.0, 2.0, 2.0),
        "varnish": {"cache_hit": 10},
        "args": Namespace(observations=2_000_000, clients=256, seconds=60, instant=20, redis_db=13),
    }


def api_urls(*answers):
    return {"/api/": check("/api/", answers=answers), "/id/": check("/id/", "slug")}


def test_the_report_of_a_clean_run_says_which_goals_were_met():
    results = [
        result(requests=500_000, seconds=19.0),
        result(requests=300_000, seconds=10.0, p99_us=900_000),
        result(requests=800_000, seconds=31.0),
    ]
    urls = api_urls(
        (200, '"v1"', b"old", INSTANT - 0.1),
        (200, '"v1"', b"old", INSTANT + 0.1),
        (200, '"v2"', b"2026-01", INSTANT + 0.8),
    )
    urls["/id/"].record(200, None, b"slug", INSTANT + 0.5)
    origin = [OriginRequest(INSTANT + 0.6, 200, 400.0, "GET", "/api/")]
    run = outcome(results, origin=origin, checker=FakeChecker(urls))
    checks = verdict(run)
    assert checks["per_url"] == {"/api/": 1}
    assert checks["per_url_purge"] == {"/api/": 1}  # /id/ showed no old answer
    assert checks["goals"] == {
        "rate": True,
        "p99": False,
        "coalescing": True,
        "visible": True,
        "mixed": True,
        "errors": True,
    }
    text = section(run, checks)
    assert text.startswith("<!-- bench-release-day:start -->\n## Release day (bench-release-day)")
    assert "with `make bench-release-day`" in text
    assert "Small-scale" not in text
    assert "load average (1, 5, 15 min) 1.0/1.5/2.0 before" in text
    assert "| api | 0 | 1 | 1 |" in text
    assert "| 1 origin request per URL in the second after the purge | at most 1 (at most 1" in text
    assert "by the publishing worker's scheduled task, 0.05 s after its time" in text
    assert "| every client sees the new data within 2 s | 0.80 s | met |" in text
    assert "| cached p99 under 20 ms | 5.0, 900, 5.0 | **not met** |" in text
    assert "99.00% (10 not)" in text  # Varnish's counters of the window
    assert "(-p thread_pools=2 -p thread_pool_min=300)" in text
    assert "Redis database 13, emptied at the start" in text
    assert "20,000 req/s, p50 4.0 ms, p99 15 ms" in text  # the ceiling
    assert "The mix's rates are 1.32, 1.50, 1.29 of it" in text


def test_a_run_with_no_request_is_reported_not_met_without_crashing():
    results = [result(requests=0, seconds=0.0, p50_us=0, p99_us=0, connect=256)] * 3
    run = outcome(results, checker=FakeChecker(failures=["/id/: ConnectionRefusedError()"]))
    run["args"] = Namespace(observations=50_000, clients=32, seconds=15, instant=4, redis_db=4)
    run["ceiling"] = result(requests=0, seconds=0.0, connect=32, load=(1.0, 1.0, 1.0)) | {
        "path": "/api/",
        "bytes": 900,
    }
    checks = verdict(run)
    assert not any(checks["goals"][goal] for goal in ("rate", "p99", "visible", "errors"))
    text = section(run, checks)
    assert "**Small-scale run**" in text
    assert "--observations 50000 --clients 32 --seconds 15 --instant 4 --redis-db 4" in text
    assert "| every client sees the new data within 2 s | never | **not met** |" in text
    assert "768 socket errors" in text and "1 in the checker" in text
    assert "**32 errors**" in text and "The mix's rates are n/a, n/a, n/a of it" in text


def test_the_report_names_the_url_of_each_mixed_answer():
    urls = api_urls(
        (200, '"v1"', b"old", INSTANT - 1),
        (200, '"v1"', b"2026-01", INSTANT + 1),
        (200, '"v2"', b"old", INSTANT + 2),
    )
    run = outcome([result()] * 3, checker=FakeChecker(urls))
    checks = verdict(run)
    assert checks["mixed_total"] == 2 and not checks["goals"]["mixed"]
    text = section(run, checks)
    assert 'Where: api "v1": 2 bodies; api: 1 old after new.' in text
    assert "| 2 (1 ETags with two bodies, 0 partly new bodies, 1 old answers after a new" in text


def test_the_checker_asks_for_gzip_and_hashes_the_unzipped_body():
    body = b'{"period": "2026-01", "value": 1}'
    asked = []

    class Gzipping(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            asked.append(self.headers.get("Accept-Encoding"))
            zipped = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("ETag", 'W/"a"')
            self.send_header("Content-Length", str(len(zipped)))
            self.end_headers()
            self.wfile.write(zipped)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gzipping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        checker = Checker(server.server_address[1], [Target("api", "/api/", 1, "2026-01")])
        checker.start()
        deadline = time.monotonic() + 10
        while checker.responses < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        checker.join(timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    found = checker.urls["/api/"]
    assert set(asked) == {"gzip"}
    assert found.failures == []
    assert found.new == found.responses >= 3
    assert found.bodies == {'W/"a"': {hashlib.blake2b(body, digest_size=16).hexdigest()}}


def test_varnish_runs_with_the_deployed_units_parameters_and_priority(monkeypatch, tmp_path):
    # The benchmark measures what deploy/ installs: the -p parameters and Nice= of the
    # unit's drop-in (none: the default priority).
    assert bench_api.deploy_varnish_params()["thread_pools"] == "2"
    assert bench_api.deploy_varnish_nice() == 10
    unit = tmp_path / "angka.conf"
    unit.write_text("[Service]\nExecStart=/usr/sbin/varnishd \\\n  -p thread_pools=2\n")
    monkeypatch.setattr(bench_api, "DEPLOY_VARNISH_UNIT", unit)
    assert bench_api.deploy_varnish_nice() == 0


def test_the_commit_is_reported_from_published_at_on_both_servers():
    publication = {"instant": 100.0, "primary_seen": 100.8, "replica_seen": 100.85}
    sentence = commit_sentence(publication)
    assert "primary 0.80 s after" in sentence and "replica 0.85 s after" in sentence
    del publication["replica_seen"]
    assert (
        commit_sentence(publication) == "Its commit was not seen on both servers within a minute."
    )
