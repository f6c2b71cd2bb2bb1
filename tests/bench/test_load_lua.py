"""bench/load.lua run by wrk against a small local server: bench-load's body checks (each
thread's path, ETags and body lengths counted), and bench-release-day's mode without
them (no body handed to Lua, wrk's own counts and the percentiles the summaries read)."""

import http.server
import os
import shutil
import subprocess
import threading

import pytest

from bench import bench_load

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None and os.environ.get("CI") != "true",
    reason="wrk is not installed (make install-varnish)",
)

BODIES = {"/a": b"a: 2026-01", "/b": b"bbbbbbbb", "/missing": b"no"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Varnish and gunicorn answer
    seen: set[str] = set()

    def do_GET(self):  # the name http.server calls
        Handler.seen.add(self.path)
        body = BODIES.get(self.path, b"?")
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("ETag", f'"{self.path}"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.seen = set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def wrk(url: str, threads: int, **env: str) -> dict:
    process = subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{threads}", "-d1s", "-s", str(bench_load.LUA), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
    )
    return bench_load.wrk_result(process)


def test_bench_load_mode_checks_every_body_of_each_threads_path(server):
    result = wrk(
        server + "/",
        2,
        ANGKA_LOAD_PATHS="/a\t/b",
        ANGKA_LOAD_MARKERS="2026-01\t-",
    )
    assert Handler.seen == {"/a", "/b"}
    by_path = {thread["path"]: thread for thread in result["threads"]}
    assert by_path["/a"]["lengths"] == {'"/a"': len(BODIES["/a"])}
    assert by_path["/b"]["lengths"] == {'"/b"': len(BODIES["/b"])}
    assert by_path["/a"]["new"] == by_path["/a"]["etags"]['"/a"'] > 0
    assert by_path["/b"]["new"] == 0  # no marker for /b
    assert result["mixed"] == 0 and result["bad"] == 0
    assert result["requests"] > 0 and result["p99_us"] > 0


def test_bench_load_mode_counts_answers_other_than_200(server):
    result = wrk(server + "/missing", 1)
    assert result["bad"] == result["requests"] > 0
    assert result["status"] == result["requests"]  # wrk's own count agrees


def test_without_bodies_nothing_is_read_in_lua_and_wrk_counts_the_errors(server):
    result = wrk(server + "/", 1, ANGKA_LOAD_BODIES="off", ANGKA_LOAD_PATHS="/missing")
    assert Handler.seen == {"/missing"}
    (thread,) = result["threads"]
    assert thread["etags"] == {} and thread["lengths"] == {}  # no response() ran
    assert result["bad"] == 0 and result["status"] == result["requests"] > 0
    percents = [percent for percent, _value in result["percentiles"]]
    assert percents == [10, 25, 50, 75, 90, 95, 99, 99.5, 99.9]
    values = [value for _percent, value in result["percentiles"]]
    assert result["min_us"] <= values[0] and values == sorted(values)
    assert values[-1] <= result["max_us"]
