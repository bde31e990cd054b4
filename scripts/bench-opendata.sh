#!/usr/bin/env bash
# `make bench-opendata`: bench/opendata.py on a throwaway PostgreSQL (100,000 releases by default;
# arguments go to the script, e.g. `bash scripts/bench-opendata.sh -n 20000`). Prints figures.
source "$(dirname "$0")/lib.sh"

ensure_debian_packages postgresql
ensure_venv
unset DATABASE_URL
trap stop_throwaway_postgres EXIT
start_throwaway_postgres

export DEBUG=0 SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING ALLOWED_HOSTS="localhost,testserver"
export SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(64))')"
export VAR_DIR="$ROOT/test-output/bench/var"
mkdir -p "$VAR_DIR/static"
.venv/bin/python manage.py migrate --noinput --run-syncdb -v 0
.venv/bin/python bench/opendata.py "$@"
