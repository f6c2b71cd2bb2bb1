"""Probe: the publication's own transaction at the release instant, without the load.

On a throwaway primary made as bench-release-day makes it (its settings, with
``--shared-buffers`` instead of its 512MB) and its data (2,000,000 synthetic
observations), the new month is imported, approved and scheduled by
``bench_release_day.release_prepare()``; the derived-value recomputes the data load
queued then run, as the benchmark's worker runs them after the scheduling (the probe
prints whether they made the precompute outdated, which would make the publication redo
it in its transaction). Then ``release_publish`` is timed around its whole transaction:
first the new month, then ``--rounds`` - 1 releases revising those values.

    .venv/bin/python -m bench.probe_publish --shared-buffers 512MB

Not a benchmark (no comparison, nothing written to BENCHMARKS.md): the figures it
prints are quoted there by hand, with the command.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared-buffers", default="512MB")
    parser.add_argument("--observations", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-db", type=int, default=9, help="emptied Redis database")
    args = parser.parse_args(argv)

    from bench import bench_api, bench_release_day
    from tests.postgres_cluster import StreamingPair, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        parser.error("initdb and pg_ctl are missing (postgresql package)")
    settings = bench_release_day.CLUSTER_SETTINGS.replace(
        "shared_buffers = 512MB", f"shared_buffers = {args.shared_buffers}"
    )
    redis_url = bench_release_day.redis_url_with_database(
        os.environ.get("REDIS_URL", bench_api.DEFAULT_REDIS_URL), args.redis_db
    )
    bench_release_day.redis_empty(redis_url)
    pair = StreamingPair(bin_dir, settings=settings)
    pair.start()
    try:
        os.environ["DATABASE_URL"] = pair.primary.url("angka_probe_publish")
        os.environ["REDIS_URL"] = redis_url
        bench_api._configure_environment()
        bench_api._database_prepare(args.observations)

        from django.utils import timezone

        from publications.derived import recompute_request_run
        from publications.models import RecomputeRequest
        from publications.services import _precompute_outdated, release_publish

        new_month = bench_release_day.new_month_rows
        for round_ in range(args.rounds):
            # Round 0 brings the month anew; each later one revises it (values + round).
            bench_release_day.new_month_rows = lambda step=round_: [
                (*row[:5], str(Decimal(row[5]) + step)) for row in new_month()
            ]
            release, rows = bench_release_day.release_prepare()
            if round_ == 0:
                pending = RecomputeRequest.objects.filter(finished_at__isnull=True)
                for request_id in list(pending.values_list("pk", flat=True)):
                    recompute_request_run(request_id=request_id)
                print(f"precompute outdated after the recomputes: {_precompute_outdated(release)}")
            started = time.perf_counter()
            release_publish(release=release, at=timezone.now(), reason="probe")
            kind = "new month" if round_ == 0 else "revision"
            print(
                f"shared_buffers={args.shared_buffers} {kind}: {rows:,} rows published in "
                f"{time.perf_counter() - started:.3f} s",
                flush=True,
            )
        bench_release_day.new_month_rows = new_month
    finally:
        pair.close()
        bench_release_day.redis_empty(redis_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
