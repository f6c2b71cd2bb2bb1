#!/usr/bin/env bash
# In CI (CI=true) the suite must run against real PostgreSQL and Redis: fail, not skip,
# when either is missing or unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${CI:-}" != "true" ]]; then
    exit 0
fi
[[ -n "${DATABASE_URL:-}" ]] || { echo "CI=true but DATABASE_URL is not set"; exit 1; }
[[ -n "${REDIS_URL:-}" ]] || { echo "CI=true but REDIS_URL is not set"; exit 1; }
.venv/bin/python - <<'PY'
import os, sys
import psycopg, redis
try:
    psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=5).close()
except Exception as exc:
    sys.exit(f"PostgreSQL unreachable at DATABASE_URL: {exc}")
try:
    redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=5).ping()
except Exception as exc:
    sys.exit(f"Redis unreachable at REDIS_URL: {exc}")
print("PostgreSQL and Redis reachable")
PY
