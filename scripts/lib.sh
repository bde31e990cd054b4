# Shared helpers for run.sh, test.sh and bench.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Debian packages the project needs at run or test time, by the command or file that shows them.
ensure_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  if [ "$(id -u)" != "0" ]; then
    log "Missing Debian packages: ${missing[*]} (install them with apt-get as root)"
    return 1
  fi
  log "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
    log "Creating the virtual environment and installing the project"
    "${PYTHON:-python3}" -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e '.[dev]'
    touch .venv/.installed
  fi
}

free_port() {
  .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

# Starts a throwaway PostgreSQL cluster owned by the `postgres` system user (the server refuses
# to run as root) and exports DATABASE_URL. PG_TMP is removed by stop_throwaway_postgres.
start_throwaway_postgres() {
  local bindir port runas=()
  bindir="$(pg_bindir)"
  port="$(free_port)"
  PG_TMP="$(mktemp -d /tmp/procurement-pg.XXXXXX)"
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    chown postgres "$PG_TMP"
    runas=(runuser -u postgres --)
  fi
  chmod 700 "$PG_TMP"
  "${runas[@]}" "$bindir/initdb" -D "$PG_TMP/data" -U procurement --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  PG_RUNAS=("${runas[@]}")
  PG_BINDIR="$bindir"
  export DATABASE_URL="postgres://procurement@127.0.0.1:$port/procurement"
  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U procurement procurement
  log "Throwaway PostgreSQL on port $port"
}

stop_throwaway_postgres() {
  if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ]; then
    "${PG_RUNAS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}
