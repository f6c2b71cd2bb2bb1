"""Varnish (Debian's varnishd, with varnish-modules' xkey) running deploy/varnish/angka.vcl
in front of the production gunicorn on the test database.

Skipped only on a developer machine without /usr/sbin/varnishd; in CI (CI=true) a
missing Varnish is a failure (`make test` installs it with apt: `make install-varnish`).
"""

from __future__ import annotations

import gzip
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.cache import cache

from bench.bench_api import deploy_vcl
from tests.processes import subprocess_env
from tests.publications.conftest import clerk, make_user, reviewer, roles  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
VCL = ROOT / "deploy" / "varnish" / "angka.vcl"
VARNISHD = "/usr/sbin/varnishd"
# Seconds a cache may keep an answer, here (60 in production): a lost purge's bound is
# tested in seconds.
MAX_AGE = 4

# Skipped only on a developer machine without Varnish; in CI a missing one fails.
VARNISH_MISSING = not os.path.exists(VARNISHD) and os.environ.get("CI") != "true"
needs_varnish = pytest.mark.skipif(
    VARNISH_MISSING, reason="varnishd is not installed (make install-varnish)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    # The body as it came (gzipped when Content-Encoding says so); ``body`` is its text.
    raw: bytes = b""

    @property
    def text(self) -> str:
        """The body's text, unzipped if it came gzipped."""
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.raw).decode("utf-8")
        return self.body


def http_get(port: int, path: str, *, method: str = "GET", headers: dict | None = None) -> Answer:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request(method, path, headers=headers or {})
        response = client.getresponse()
        raw = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, headers, raw.decode("utf-8", "replace"), raw)
    finally:
        client.close()


@dataclass
class Origin:
    """gunicorn with its access log: what reached the origin."""

    port: int
    access_log: Path
    # Where the Varnish in front of it listens (the URL it was given to purge).
    cache_port: int

    def requests_for(self, path: str) -> int:
        """How many requests for exactly ``path`` (with its query) the origin answered."""
        return len(self.statuses_for(path))

    def requests_for_each(self, paths) -> dict[str, int]:
        """``requests_for`` of each of ``paths``, read at once."""
        return {path: len(statuses) for path, statuses in self.statuses_for_each(paths).items()}

    def statuses_for(self, path: str) -> list[int]:
        return self.statuses_for_each([path])[path]

    def statuses_for_each(self, paths) -> dict[str, list[int]]:
        """The statuses of the origin's answers to each of ``paths`` (with its query), in
        order."""
        time.sleep(0.5)  # gunicorn logs a request after its answer is sent
        lines = self.access_log.read_text().splitlines()
        statuses = {}
        for path in paths:
            pattern = re.compile(rf'"(GET|HEAD) {re.escape(path)} HTTP/1\.[01]" (\d{{3}}) ')
            statuses[path] = [
                int(found.group(2)) for line in lines if (found := pattern.search(line))
            ]
        return statuses


@pytest.fixture(scope="module")
def origin(django_db_setup, django_db_blocker):
    """The production gunicorn (config/gunicorn.conf.py, one worker, four threads) on the
    test database and the suite's Redis (the generation is shared with this process)."""
    port = free_port()
    # The port of every Varnish of the module (one at a time), which the origin knows
    # it purges (Surrogate-Control: stats/httpcache.py), as web nodes are told.
    cache_port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="angka-origin-"))
    access_log = workdir / "access.log"
    access_log.touch()
    with django_db_blocker.unblock():
        env = subprocess_env(
            WEB_CONCURRENCY="1",
            GUNICORN_THREADS="4",
            GUNICORN_BIND=f"127.0.0.1:{port}",
            API_ANON_RATE="off",
            API_MAX_AGE=str(MAX_AGE),
            HTTP_CACHE_PURGE_URLS=f"http://127.0.0.1:{cache_port}/",
        )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.conf.py",
            "--access-logfile",
            str(access_log),
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "error.log", "w"),  # noqa: SIM115
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (workdir / "error.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "gunicorn did not start"
        try:
            if http_get(port, "/healthz").status == 200:
                break
        except OSError:
            time.sleep(0.2)
    try:
        yield Origin(port=port, access_log=access_log, cache_port=cache_port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def vcl_for(origin_port: int) -> str:
    """The shipped VCL, its backend pointed at ``origin_port`` (as bench-release-day runs it)."""
    return deploy_vcl(origin_port)


@dataclass
class Varnish:
    """A varnishd in the foreground (-F), started and stopped by the test."""

    origin: Origin
    port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="angka-varnish-")))
    process: subprocess.Popen | None = None

    @property
    def purge_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        # varnishd reads the VCL as its own unprivileged user when started as root.
        self.workdir.chmod(0o755)
        vcl = self.workdir / "angka.vcl"
        vcl.write_text(vcl_for(self.origin.port))
        vcl.chmod(0o644)
        self.process = subprocess.Popen(
            [
                VARNISHD,
                "-F",
                "-a",
                f"127.0.0.1:{self.port}",
                "-f",
                str(vcl),
                "-n",
                str(self.workdir / "instance"),
                "-s",
                "malloc,64m",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "varnishd.log", "a"),  # noqa: SIM115
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, (self.workdir / "varnishd.log").read_text()
            assert time.monotonic() < deadline, "varnishd did not start"
            try:
                if self.get("/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def get(self, path: str, **options) -> Answer:
        return http_get(self.port, path, **options)


@pytest.fixture
def varnish(origin, settings):
    """A fresh varnishd in front of ``origin``, which this process's publications purge;
    the suite's cache emptied (the origin shares it)."""
    cache.clear()
    running = Varnish(origin=origin, port=origin.cache_port)
    running.start()
    settings.HTTP_CACHE_PURGE_URLS = [running.purge_url]
    # The second purge goes through a worker; the tests here check the first.
    settings.HTTP_CACHE_PURGE_REPEAT_SECONDS = 0
    settings.ANGKA_API_MAX_AGE = MAX_AGE
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(running.workdir, ignore_errors=True)


def vcl_compile(vcl: Path) -> subprocess.CompletedProcess:
    workdir = tempfile.mkdtemp(prefix="angka-vcc-")
    # varnishd compiles as its own unprivileged user when started as root.
    os.chmod(workdir, 0o755)
    try:
        return subprocess.run(
            [VARNISHD, "-C", "-f", str(vcl), "-n", workdir],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
