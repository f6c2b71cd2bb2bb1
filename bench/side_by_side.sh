#!/usr/bin/env bash
# Run benchmarks side by side: a base revision and this tree, one right after the other on
# this machine, each on databases of its own, so a change can be judged against what came
# before it under the same load. Usage (from the repository root):
#   bash bench/side_by_side.sh BASE_REV [import|recompute|pages|api ...]
# The base is checked out (once) into ../angka-base-<rev> with its own virtualenv; the
# logs go to var/bench-side/, with the load average before and after each run.
set -euo pipefail
base_rev=${1:?give the base revision, e.g. c88a993}
shift
benches=("$@")
[[ ${#benches[@]} -eq 0 ]] && benches=(import recompute pages api)
here=$(pwd)
short=$(git rev-parse --short "$base_rev")
base="$here/../angka-base-$short"
logs="$here/var/bench-side"
mkdir -p "$logs"
if [[ ! -d "$base" ]]; then
    git worktree add --detach "$base" "$base_rev"
fi
(cd "$base" && make install >/dev/null)
make install >/dev/null
export DEBUG=true
run() {  # bench side [args...]
    local bench=$1 side=$2
    shift 2
    local dir=$here redis_db=8
    if [[ $side == base ]]; then dir=$base; redis_db=7; fi
    local log="$logs/${bench}_${side}_$(date +%Y%m%d-%H%M%S).log"
    echo "$(date +%T) $bench $side: load $(cut -d' ' -f1-3 /proc/loadavg) -> $log"
    (cd "$dir" && DATABASE_URL="postgres://postgres@127.0.0.1:5432/angka_side_${bench}_${side}" \
        REDIS_URL="redis://127.0.0.1:6379/$redis_db" .venv/bin/python -m "bench.bench_$bench" "$@") \
        >"$log" 2>&1
    echo "$(date +%T) $bench $side: done, load $(cut -d' ' -f1-3 /proc/loadavg)"
}
for bench in "${benches[@]}"; do
    # The base never rewrites its BENCHMARKS.md; this tree's run writes its section.
    run "$bench" base --no-report
    run "$bench" this
done
