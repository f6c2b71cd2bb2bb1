#!/usr/bin/env bash
# The whole system on one machine: migrate, load the demo, then the web server, the Celery
# workers and Celery beat on DATABASE_URL and REDIS_URL (`make run` runs this under
# config/services.py, which starts project-local servers for whichever is unset).
# PORT (default 8000) chooses the port; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${PORT:-8000}"
URL="http://127.0.0.1:${PORT}"
mkdir -p var

"$BIN/python" manage.py migrate --no-input --verbosity 0
# The command names the admin at the default port; the address here is the one served.
"$BIN/python" manage.py load_demo --with-staff | sed "s|http://127.0.0.1:8000|${URL}|g"

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT
# Run as root (a container, this project's machines), the worker warns at every start that
# root is discouraged; it accepts JSON only, so the warning has nothing to act on here.
export PYTHONWARNINGS="ignore:You're running the worker with superuser privileges"
# In sessions of their own, so that Ctrl-C reaches them once, as the SIGTERM of stop()
# (Celery takes a SIGINT of its own as a warm shutdown too, and says so twice).
# Two workers, as deploy/ runs them: the general one, and one for the queue "publish" alone,
# so that a release is published at its time even while the other rebuilds the bulk
# download or recomputes (config/settings.py, CELERY_TASK_ROUTES).
setsid "$BIN/celery" --quiet -A config worker --loglevel=WARNING --concurrency=2 \
    --queues=celery --hostname=general@%h & pids+=($!)
setsid "$BIN/celery" --quiet -A config worker --loglevel=WARNING --concurrency=1 \
    --queues=publish --hostname=publish@%h & pids+=($!)
setsid "$BIN/celery" --quiet -A config beat --loglevel=WARNING \
    --schedule=var/celerybeat-schedule & pids+=($!)
# runserver's start-up banner goes to stdout; its request log and errors to stderr.
"$BIN/python" manage.py runserver --noreload "127.0.0.1:${PORT}" >/dev/null & pids+=($!)
echo "Serving ${URL}/  (admin: ${URL}/admin/), with Celery workers and beat. Ctrl-C stops them."
# Whichever stops first (Ctrl-C, or a crash) stops the others.
wait -n "${pids[@]}"
