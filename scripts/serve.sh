#!/usr/bin/env bash
# Serve the site. On the embedded default (no REDIS_URL) only the web server runs and
# Celery tasks run in-process. With DATABASE_URL and REDIS_URL set, a Celery worker and
# beat run beside it; Ctrl-C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT
if [[ -n "${REDIS_URL:-}" && -n "${DATABASE_URL:-}" ]]; then
    "$BIN/celery" -A config worker --loglevel=INFO --concurrency=2 & pids+=($!)
    "$BIN/celery" -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule & pids+=($!)
    echo "Celery worker and beat started on ${REDIS_URL}"
else
    echo "Embedded default: SQLite file var/db.sqlite3, Celery eager, local-memory cache"
fi
echo "Serving http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
"$BIN/python" manage.py runserver 127.0.0.1:8000 & pids+=($!)
wait -n "${pids[@]}"
