"""bench-release-day's summaries, without servers: gunicorn's access log read and cut into
windows, origin requests per URL after the instant, when the new data reached every
client, responses mixing versions, and the mix given out to wrk's threads."""

import json
from argparse import Namespace

from bench import bench_api
from bench.bench_release_day import (
    OriginRequest,
    Target,
    Window,
    access_line_parse,
    cache_verdicts,
    consistency,
    errors,
    origin_requests_per_url,
    origin_window,
    percentile,
    section,
    thread_paths,
    verdict,
    visibility,
)

INSTANT = 1_000_000.0


def thread(path, **values):
    """One wrk thread's entry as bench/load.lua writes it."""
    entry = {
        "path": path,
        "bad": 0,
        "mixed": 0,
        "old": 0,
        "new": 0,
        "old_last_ms": 0.0,
        "new_first_ms": 0.0,
        "cache": {},
        "etags": {},
        "lengths": {},
        "marker_counts": {},
    }
    entry.update(values)
    return entry


def result(*threads, **values):
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
        "threads": list(threads),
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


def test_visibility_is_the_later_of_the_last_old_and_the_first_new_response():
    ms = INSTANT * 1000
    results = [
        result(thread("/a", old=50, old_last_ms=ms - 500)),  # before: old only
        result(
            thread("/a", old=3, new=10, old_last_ms=ms + 300, new_first_ms=ms + 1200),
            thread("/a", old=1, new=10, old_last_ms=ms + 400, new_first_ms=ms + 900),
            thread("/b", old=1, new=5, old_last_ms=ms + 1500, new_first_ms=ms + 200),
            thread("/page"),  # no marker: shows nothing of the release
        ),
    ]
    seen = visibility(results, INSTANT)
    assert set(seen["paths"]) == {"/a", "/b"}
    a = seen["paths"]["/a"]
    assert round(a["last_old_s"], 3) == 0.4 and round(a["first_new_s"], 3) == 0.9
    assert round(seen["all_seen_s"], 3) == 1.5


def test_visibility_is_none_when_a_path_never_showed_the_new_data():
    ms = INSTANT * 1000
    results = [
        result(
            thread("/a", old=5, new=5, old_last_ms=ms + 100, new_first_ms=ms + 200),
            thread("/b", old=9, old_last_ms=ms + 9000),
        )
    ]
    seen = visibility(results, INSTANT)
    assert seen["all_seen_s"] is None
    assert seen["paths"]["/b"]["first_new_s"] is None


def test_consistency_counts_etags_with_two_lengths_across_windows_and_partial_bodies():
    results = [
        result(
            thread("/a", lengths={'"v1"': 100}, marker_counts={}),
            thread("/b", lengths={'"w1"': 50}, marker_counts={"30": 8}),
            mixed=2,
        ),
        result(
            thread("/a", lengths={'"v1"': 101, '"v2"': 120}, marker_counts={"1": 4}),
            thread("/b", lengths={'"w2"': 70}, marker_counts={"30": 9, "12": 1}),
        ),
    ]
    found = consistency(results)
    assert found["mixed_within"] == 2
    assert found["etag_mismatch"] == {("/a", '"v1"'): [100, 101]}
    assert found["partial"] == {"/b": 1}
    assert found["mixed"] == 2 + 1 + 1


def test_consistency_of_clean_results_is_zero():
    results = [result(thread("/a", lengths={'"v1"': 100}, marker_counts={"3": 10}))]
    assert consistency(results)["mixed"] == 0


def test_errors_and_cache_verdicts_add_up_every_run():
    results = [
        result(thread("/a", cache={"hit": 9, "miss": 1}), connect=1, timeout=2, bad=3),
        result(thread("/b", cache={"hit": 5}), read=4),
    ]
    assert errors(results) == {"socket": 7, "bad": 3}
    assert cache_verdicts(results[0]) == {"hit": 9, "miss": 1}


def test_thread_paths_repeat_each_url_by_its_weight_in_order():
    mix = [Target("home", "/id/", 2, "slug"), Target("csv", "/x.csv", 1, None)]
    assert thread_paths(mix) == (["/id/", "/id/", "/x.csv"], ["slug", "slug", "-"])


def test_the_lua_result_line_is_json_the_summaries_read():
    # What bench/load.lua writes for one thread (keys of its string.format), read back.
    line = (
        '{"requests":3,"seconds":1.000,"p50_us":10,"p99_us":20,"max_us":30,"connect":0,'
        '"read":0,"write":0,"status":0,"timeout":0,"bad":0,"mixed":0,"etags":{"\\"e\\"":3},'
        '"threads":[{"path":"/a","bad":0,"mixed":0,"old":1,"new":2,"old_last_ms":5.0,'
        '"new_first_ms":6.0,"cache":{"hit":3},"etags":{"\\"e\\"":3},'
        '"lengths":{"\\"e\\"":10},"marker_counts":{"1":2}}]}'
    )
    parsed = json.loads(line)
    assert consistency([parsed])["mixed"] == 0
    assert cache_verdicts(parsed) == {"hit": 3}


class FakeChecker:
    def __init__(self, bodies=None, failures=()):
        self.bodies = bodies or {}
        self.failures = list(failures)
        self.responses = 3


def outcome(results, *, origin=(), checker=None):
    """What ``run`` returns, for a run of three windows with the instant at 20 s."""
    start = INSTANT - 20
    return {
        "data": {"observations": 2_000_900, "synthetic": 2_000_000},
        "gunicorn": {"workers": 2, "threads": 3},
        "mix": [Target("home", "/id/", 4, "slug"), Target("api", "/api/", 12, "2026-01")],
        "results": results,
        "windows": [
            Window("before", start, INSTANT - 1),
            Window("during", INSTANT - 1, INSTANT + 9),
            Window("after", INSTANT + 9, INSTANT + 40),
        ],
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
        "args": Namespace(observations=2_000_000, clients=256, seconds=60, instant=20),
    }


def test_the_report_of_a_clean_run_says_which_goals_were_met():
    ms = INSTANT * 1000
    results = [
        result(thread("/api/", old=10, old_last_ms=ms - 100), requests=500_000, seconds=19.0),
        result(
            thread("/api/", old=2, new=9, old_last_ms=ms + 300, new_first_ms=ms + 800),
            requests=300_000,
            seconds=10.0,
            p99_us=900_000,
        ),
        result(thread("/api/", new=50, new_first_ms=ms + 9500), requests=800_000, seconds=31.0),
    ]
    origin = [OriginRequest(INSTANT + 0.6, 200, 400.0, "GET", "/api/")]
    run = outcome(results, origin=origin)
    checks = verdict(run)
    assert checks["per_url"] == {"/api/": 1}
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
    assert "| api | 0 | 1 |" in text
    assert "by the publishing worker's scheduled task, 0.05 s after its time" in text
    assert "| every client sees the new data within 2 s | 0.80 s | met |" in text
    assert "| cached p99 under 20 ms | 5.0, 900, 5.0 | **not met** |" in text


def test_a_run_with_no_request_is_reported_not_met_without_crashing():
    results = [result(requests=0, seconds=0.0, p50_us=0, p99_us=0, connect=256)] * 3
    run = outcome(results, checker=FakeChecker(failures=["/id/: ConnectionRefusedError()"]))
    run["args"] = Namespace(observations=50_000, clients=32, seconds=15, instant=4)
    checks = verdict(run)
    assert not any(checks["goals"][goal] for goal in ("rate", "p99", "visible", "errors"))
    text = section(run, checks)
    assert "**Small-scale run**" in text
    assert "--observations 50000 --clients 32 --seconds 15 --instant 4" in text
    assert "| every client sees the new data within 2 s | never | **not met** |" in text
    assert "768 socket errors" in text and "1 in the checker" in text


def test_consistency_names_the_url_and_the_lengths_of_an_etag_mixed_within_a_thread():
    mixed_thread = thread("/a", mixed=1, lengths={'"v1"': 100}, conflicts={'"v1"': 140})
    found = consistency([result(mixed_thread, mixed=1)])
    assert found["mixed_paths"] == {"/a": 1}
    assert found["conflicts"] == {("/a", '"v1"'): [100, 140]}
    assert found["etag_mismatch"] == {}  # counted once, as mixed within the thread
    assert found["mixed"] == 1
