#!/usr/bin/env bash
# `make test`: the whole suite on PostgreSQL, with real Redis servers and Debian's chromium.
source "$(dirname "$0")/lib.sh"

ensure_debian_packages postgresql redis-server chromium fonts-dejavu-core \
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
ensure_venv

if [ -z "${DATABASE_URL:-}" ]; then
  trap stop_throwaway_postgres EXIT
  start_throwaway_postgres
fi

mkdir -p test-output
export TESTING=1
export DEBUG=1
export VAR_DIR="$ROOT/test-output/var"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

log "ruff check and format"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .

start=$(date +%s)
set +e
.venv/bin/pytest -p no:cacheprovider --create-db "$@"
rc=$?
set -e
log "Test suite finished in $(( $(date +%s) - start )) s (exit code $rc)"
exit $rc
