#!/usr/bin/env bash
# `make run`: the application with demo data on the embedded default (SQLite + kombu's
# filesystem broker) unless DATABASE_URL / REDIS_URL are set. Ctrl-C stops everything.
source "$(dirname "$0")/lib.sh"

PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
ensure_venv
# WeasyPrint (PDFs) needs Pango; install it when we can, the rest runs without it.
ensure_debian_packages libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core || true

PY=.venv/bin/python
log "Migrating the database (${DATABASE_URL:-SQLite in var/db.sqlite3})"
$PY manage.py migrate --noinput --run-syncdb >/dev/null
log "Loading demo data"
DEMO_USERS="$($PY manage.py seed_demo)"

pids=()
cleanup() {
  trap - INT TERM EXIT
  log "Stopping web server, worker and scheduler"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

mkdir -p var/log
# One worker process: the embedded SQLite database welcomes one writer at a time.
.venv/bin/celery -A procurement worker --loglevel INFO --pool solo >var/log/worker.log 2>&1 &
pids+=($!)
.venv/bin/celery -A procurement beat --loglevel INFO \
  --schedule var/celerybeat-schedule >var/log/beat.log 2>&1 &
pids+=($!)
$PY manage.py runserver --noreload "$HOST:$PORT" &
pids+=($!)

cat <<TXT

  Piattaforma e-procurement: http://$HOST:$PORT/
$DEMO_USERS
  Log del worker e dello schedulatore: var/log/worker.log, var/log/beat.log
  Ctrl-C per fermare tutto.

TXT
wait -n "${pids[@]}"
