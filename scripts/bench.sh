#!/usr/bin/env bash
# `make bench`: benchmarks against gunicorn (2 workers, DEBUG off) on a throwaway PostgreSQL,
# both on loopback. Arguments go to bench/run.py (e.g. `bash scripts/bench.sh -n 5000`);
# BENCH_REQUESTS sets the request count through make. Prints a table; asserts no timing.
source "$(dirname "$0")/lib.sh"

ensure_debian_packages postgresql
ensure_venv

GUNICORN_PID=""
cleanup() {
  if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID" 2>/dev/null || true
    wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  stop_throwaway_postgres
}
trap cleanup EXIT

# Always a database of its own: the benchmark writes rows and must not touch a real one.
unset DATABASE_URL
start_throwaway_postgres

BENCH_DIR="$ROOT/test-output/bench"
mkdir -p "$BENCH_DIR"
# A production-like process: DEBUG off (no query log, no debug pages), the floor views mounted.
export DEBUG=0
export BENCH_ENABLED=1
export SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(64))')"
export ALLOWED_HOSTS="127.0.0.1,localhost"
export SECURE_SSL_REDIRECT=0
export STRONG_AUTH_PROVIDER=saml
export LOG_LEVEL=WARNING
export VAR_DIR="$BENCH_DIR/var"
mkdir -p "$VAR_DIR/static"  # STATIC_ROOT: whitenoise warns when it is missing

log "Migrating the benchmark database"
.venv/bin/python manage.py migrate --noinput --run-syncdb -v 0

port="$(free_port)"
workers=2
.venv/bin/gunicorn procurement.wsgi:application \
  --bind "127.0.0.1:$port" --workers "$workers" --log-level warning \
  --error-logfile "$BENCH_DIR/gunicorn.log" &
GUNICORN_PID=$!
log "gunicorn ($workers sync workers, pid $GUNICORN_PID) on 127.0.0.1:$port; PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}'), CONN_MAX_AGE=${CONN_MAX_AGE:-0}"

.venv/bin/python bench/run.py --base-url "http://127.0.0.1:$port" \
  --json "$BENCH_DIR/results.json" "$@"
