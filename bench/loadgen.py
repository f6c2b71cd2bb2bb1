"""Load runs for the read-API benchmarks: wrk (or a small Python stand-in) against one
URL, its output read into a ``Load``, rounds summarised as their median.

Every failure a run can have is counted, never dropped: socket errors (connect, read,
write, timeout), answers other than 2xx/3xx, and runs that finished no request at all
(a server that refused every connection, or answered nothing within the run). A run
with no request has no latency: its p50 and p99 are reported as missing, and a ratio
against it as "n/a", so a report built from it is still written.
"""

from __future__ import annotations

import http.client
import re
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"cannot read the latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Load:
    """One run (or the median of several rounds) against one URL. ``p50`` and ``p99``
    are None when no request finished."""

    rate: float
    p50: float | None
    p99: float | None
    requests: int
    tool: str
    socket_errors: int = 0  # connect, read, write and timeout, as wrk counts them
    non_2xx: int = 0  # answers other than 2xx or 3xx
    empty_runs: int = 0  # runs that finished no request
    runs: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non_2xx + self.empty_runs


def wrk_parse(output: str, *, returncode: int = 0, connections: int = 0, tool="wrk") -> Load:
    """A ``Load`` from wrk's text (``--latency``). wrk exits with an error and prints no
    summary when it cannot connect at all: that run counts as finished-nothing, with one
    connect error per connection."""
    requests_match = re.search(r"(\d+) requests in", output)
    if returncode != 0 or requests_match is None:
        return Load(0.0, None, None, 0, tool, socket_errors=connections, empty_runs=1)
    requests = int(requests_match.group(1))
    rate_match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    rate = float(rate_match.group(1)) if rate_match else 0.0
    p50 = p99 = None
    distribution = re.search(r"Latency Distribution\s+50%\s+(\S+).*?99%\s+(\S+)", output, re.S)
    if requests and distribution is not None:
        p50, p99 = (milliseconds(distribution.group(index)) for index in (1, 2))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = sum(int(count) for count in sockets.groups()) if sockets else 0
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Load(
        rate if requests else 0.0,
        p50,
        p99,
        requests,
        tool,
        socket_errors=socket_errors,
        non_2xx=int(bad.group(1)) if bad else 0,
        empty_runs=0 if requests else 1,
    )


def wrk_run(url: str, *, seconds: int, connections: int, threads: int = 2) -> Load:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        url,
    ]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    return wrk_parse(finished.stdout, returncode=finished.returncode, connections=connections)


def latencies_load(
    latencies: list[float], *, wall: float, socket_errors: int, non_2xx: int
) -> Load:
    """A ``Load`` from the latencies (ms) of the requests that were answered."""
    ordered = sorted(latencies)
    if not ordered:
        return Load(0.0, None, None, 0, "python", socket_errors, non_2xx, empty_runs=1)
    return Load(
        len(ordered) / wall if wall > 0 else 0.0,
        ordered[len(ordered) // 2],
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        len(ordered),
        "python",
        socket_errors,
        non_2xx,
    )


def python_load(host: str, port: int, path: str, *, seconds: int, connections: int) -> Load:
    """Used when wrk is missing: ``connections`` threads, one request at a time each."""
    latencies: list[float] = []
    counts = {"socket": 0, "status": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                with lock:
                    counts["socket"] += 1
                continue
            finally:
                conn.close()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                counts["status"] += not 200 <= status < 400

    started = time.monotonic()
    workers = [threading.Thread(target=run) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies_load(
        latencies,
        wall=time.monotonic() - started,
        socket_errors=counts["socket"],
        non_2xx=counts["status"],
    )


def _median_or_none(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def rounds_median(loads: list[Load]) -> Load:
    """Rounds of one URL as one ``Load``: the median rate (a round with no request counts
    as rate 0), p50 and p99 the medians over the rounds that finished requests, every
    error of every round summed; the rounds themselves kept in ``extra["rounds"]``."""
    if not loads:
        raise ValueError("no rounds to summarise")
    return Load(
        rate=statistics.median(run.rate for run in loads),
        p50=_median_or_none([run.p50 for run in loads]),
        p99=_median_or_none([run.p99 for run in loads]),
        requests=sum(run.requests for run in loads),
        tool=loads[0].tool,
        socket_errors=sum(run.socket_errors for run in loads),
        non_2xx=sum(run.non_2xx for run in loads),
        empty_runs=sum(run.empty_runs for run in loads),
        runs=len(loads),
        extra={
            "rounds": [(run.rate, run.p99) for run in loads],
            "latencies": [(run.p50, run.p99) for run in loads],
        },
    )


def ratio(ours: float, theirs: float) -> float | None:
    """``ours / theirs``, None when it has no meaning (either side finished nothing)."""
    if not theirs or not ours:
        return None
    return ours / theirs


def ratio_text(value: float | None) -> str:
    return f"{value:.1f}x" if value is not None else "n/a (a side finished no request)"


def latency_text(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "-"


def load_cell(load: Load) -> str:
    """``req/s, p50, p99`` and, when there were any, the errors by kind."""
    text = f"{load.rate:,.0f}, {latency_text(load.p50)}, {latency_text(load.p99)}"
    kinds = [
        (load.socket_errors, "socket errors"),
        (load.non_2xx, "non-2xx/3xx"),
        (load.empty_runs, "runs with no request"),
    ]
    shown = [f"{count:,} {name}" for count, name in kinds if count]
    return text + (f" (**{'; '.join(shown)}**)" if shown else "")


def tail_ratio(load: Load) -> float | None:
    """p99 over p50: how much longer the slowest requests wait than the typical one
    (None when the run finished no request)."""
    if load.p50 is None or load.p99 is None or load.p50 <= 0:
        return None
    return load.p99 / load.p50


def rounds_tail_text(load: Load) -> str:
    """The rounds of a ``Load`` as ``p50, p99 (p99/p50)`` each, ``-`` where missing."""
    cells = []
    for p50, p99 in load.extra.get("latencies", []):
        spread = tail_ratio(Load(0.0, p50, p99, 0, load.tool))
        shown = f"{spread:.1f}x" if spread is not None else "-"
        cells.append(f"{latency_text(p50)}, {latency_text(p99)} ({shown})")
    return "; ".join(cells)


def rounds_text(load: Load) -> str:
    """The rounds of a ``Load``: ``rate, p99`` each, ``-`` for a p99 that is missing."""
    return "; ".join(
        f"{rate:,.0f}, {latency_text(p99)}" for rate, p99 in load.extra.get("rounds", [])
    )
