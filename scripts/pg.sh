#!/usr/bin/env bash
# Private PostgreSQL 15 cluster under var/pg (unix socket only, trust auth, database "mercato"),
# used when no DATABASE_URL is set. Run as root it runs the server as the OS user 'postgres'.
# Usage: scripts/pg.sh start | stop | status | url [DB] | createdb NAME | dropdb NAME
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd -P)"

PGBIN="${MERCATO_PG_BIN:-/usr/lib/postgresql/15/bin}"
PORT="${MERCATO_PG_PORT:-55432}"
BASE="$REPO/var/pg"
DATA="$BASE/data"
LOG="$BASE/server.log"
DEFAULT_DB=mercato
SUPERUSER=postgres

die() { echo "[mercato] pg: error: $*" >&2; exit 1; }
info() { echo "[mercato] pg: $*"; }

usage() {
  cat >&2 <<'EOF'
usage: scripts/pg.sh COMMAND
  start          initdb var/pg/data if needed, start the server, create database "mercato"
  stop           stop the server (fast shutdown) if it is running
  status         say whether the server is running (exit 0) or not (exit 3)
  url [DB]       print the libpq connection string (database "mercato" by default)
  createdb NAME  create database NAME (fails if it exists)
  dropdb NAME    drop database NAME if it exists (closing its connections)
environment: MERCATO_PG_PORT (default 55432), MERCATO_PG_BIN (default /usr/lib/postgresql/15/bin)
EOF
}

if ! [[ "$PORT" =~ ^[1-9][0-9]{0,4}$ ]] || ((PORT > 65535)); then
  die "MERCATO_PG_PORT must be a TCP port number (1-65535), got '$PORT'"
fi

# pg_ctl hands its options to /bin/sh inside quotes, so these characters would break the command line.
case "$REPO" in
  *[\'\"\$\`\\]* | *$'\n'*) die "the checkout path '$REPO' contains a quote, \$, backtick or backslash;" \
                                "PostgreSQL's pg_ctl cannot handle that: move the checkout or set DATABASE_URL" ;;
esac

# Unix socket paths are limited to 107 bytes: fall back to a short per-checkout directory in /tmp.
SOCK="$BASE/sock"
if ((${#SOCK} + ${#PORT} + 10 > 107)); then
  SOCK="/tmp/mercato-pg-$(printf '%s' "$REPO" | md5sum | cut -c1-12)"
fi

if ((EUID == 0)); then
  # initdb and postgres refuse to run as root.
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

# Client tools run as the calling user; the cluster trusts every local connection.
client_opts() { printf '%s\n' -h "$SOCK" -p "$(current_port)" -U "$SUPERUSER"; }

conninfo_value() {  # quote a libpq conninfo value only when it needs it
  local v="$1"
  if [[ "$v" =~ [[:space:]\'\\] || -z "$v" ]]; then
    v="${v//\\/\\\\}"
    v="${v//\'/\\\'}"
    printf "'%s'" "$v"
  else
    printf '%s' "$v"
  fi
}

# Prints the postmaster's pid when this cluster is running. A pid that is alive but whose working
# directory is not our data directory is a reused pid (e.g. after a reboot), not our server.
cluster_pid() {
  local pid cwd real
  [[ -r "$DATA/postmaster.pid" ]] || return 1
  pid="$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || [[ -d "/proc/$pid" ]] || return 1
  # A killed postmaster stays a zombie where nobody reaps orphans (containers without an init).
  if [[ -r "/proc/$pid/stat" ]] && [[ "$(sed 's/^.*) //' "/proc/$pid/stat" | cut -c1)" == Z ]]; then
    return 1
  fi
  real="$(readlink -f "$DATA")"
  if cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)"; then
    [[ "$cwd" == "$real" ]] || return 1
  fi
  echo "$pid"
}

# The port of the running server (from postmaster.pid), else MERCATO_PG_PORT.
current_port() {
  local p=""
  if cluster_pid >/dev/null; then
    p="$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true)"
  fi
  if [[ "$p" =~ ^[0-9]+$ ]]; then echo "$p"; else echo "$PORT"; fi
}

url_for() {
  printf 'host=%s port=%s dbname=%s user=%s\n' \
    "$(conninfo_value "$SOCK")" "$(current_port)" "$(conninfo_value "$1")" "$SUPERUSER"
}

check_binaries() {
  local b
  for b in initdb pg_ctl postgres; do
    [[ -x "$PGBIN/$b" ]] || die "$PGBIN/$b not found; install PostgreSQL 15 (scripts/deps.sh)"
  done
  for b in psql createdb dropdb; do
    [[ -x "$PGBIN/$b" ]] || command -v "$b" >/dev/null 2>&1 \
      || die "PostgreSQL client '$b' not found; install postgresql-client (scripts/deps.sh)"
  done
}

pg_client() {  # psql/createdb/dropdb from PGBIN when present, else from PATH
  local tool="$1"; shift
  if [[ -x "$PGBIN/$tool" ]]; then "$PGBIN/$tool" "$@"; else "$tool" "$@"; fi
}

# As root the server runs as 'postgres', which needs search (x) permission on every directory
# above var/pg. A checkout under /root (mode 700) is the usual way to break this.
check_traversable() {
  local dir="$BASE" d
  local -a dirs=()
  while :; do
    dirs=("$dir" "${dirs[@]}")
    [[ "$dir" != / ]] || break
    dir="$(dirname "$dir")"
  done
  for d in "${dirs[@]}"; do
    [[ -d "$d" ]] || continue
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      die "the PostgreSQL server runs as the OS user 'postgres' (initdb refuses root), and 'postgres'" \
          "cannot enter $d ($(stat -c '%A %U:%G' "$d")). Fix one of: move the checkout somewhere" \
          "world-searchable (e.g. /srv or /opt), run 'chmod o+x $d', or set DATABASE_URL to an" \
          "existing PostgreSQL server."
    fi
  done
}

take_lock() {  # serialize start/stop of this checkout's cluster
  (umask 022 && mkdir -p "$BASE")
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$BASE/.lock"
    flock -w 120 9 || die "timed out waiting for another scripts/pg.sh on $BASE/.lock"
  fi
}

leftover_pids() {  # postgres processes still running in our data directory (crashed postmaster)
  local p real owner
  real="$(readlink -f "$DATA")"
  if ((EUID == 0)); then owner=postgres; else owner="$(id -un)"; fi
  for p in $(pgrep -u "$owner" 2>/dev/null || true); do
    if [[ "$(readlink "/proc/$p/cwd" 2>/dev/null || true)" == "$real" ]]; then
      echo "$p"
    fi
  done
}

# A postmaster.pid without a live postmaster means the server crashed or was killed. Stop whatever
# backends it left behind (two sets of processes on one data directory would corrupt it), then
# remove the stale lock files so the new server does not mistake a reused pid for a live one.
recover_stale() {
  [[ -e "$DATA/postmaster.pid" ]] || return 0
  info "found a stale postmaster.pid (server crashed or was killed); recovering"
  local pids i old_port
  old_port="$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true)"
  [[ "$old_port" =~ ^[0-9]+$ ]] || old_port="$PORT"
  pids="$(leftover_pids)"
  if [[ -n "$pids" ]]; then
    info "stopping leftover server processes: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086  # one pid per word
    kill -TERM $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -CONT $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pids="$(leftover_pids)"
      [[ -n "$pids" ]] || break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    [[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
  fi
  rm -f "$DATA/postmaster.pid" "$SOCK/.s.PGSQL.$old_port" "$SOCK/.s.PGSQL.$old_port.lock"
}

ensure_database() {
  local db="$1" exists
  local -a opts
  mapfile -t opts < <(client_opts)
  exists="$(pg_client psql -X -q -t -A "${opts[@]}" -d postgres \
              -c "select 1 from pg_database where datname = '${db//\'/\'\'}'")" \
    || die "cannot query the server; see $LOG"
  if [[ "$exists" != "1" ]]; then
    pg_client createdb "${opts[@]}" "$db" || die "createdb $db failed"
    info "created database $db"
  fi
}

cmd_start() {
  check_binaries
  take_lock
  local pid
  if pid="$(cluster_pid)"; then
    info "already running (pid $pid, socket $SOCK, port $(current_port))"
    ensure_database "$DEFAULT_DB"
    return 0
  fi

  if ((EUID == 0)); then
    id -u postgres >/dev/null 2>&1 \
      || die "the OS user 'postgres' does not exist; install the postgresql package (scripts/deps.sh)"
    check_traversable
  elif [[ -e "$DATA" && ! -O "$DATA" ]]; then
    die "$DATA belongs to $(stat -c %U "$DATA"), not to you; run as that user (or root), or remove var/pg"
  fi

  if [[ -e "$SOCK" && ! -O "$SOCK" ]] && ! { ((EUID == 0)) && [[ "$(stat -c %U "$SOCK")" == postgres ]]; }; then
    die "socket directory $SOCK belongs to $(stat -c %U "$SOCK"); remove it or set MERCATO_PG_PORT/move the checkout"
  fi
  (umask 022 && mkdir -p "$BASE" "$SOCK")
  chmod 700 "$SOCK"
  if [[ -d "$DATA" && ! -f "$DATA/PG_VERSION" ]]; then
    info "removing incomplete cluster directory $DATA (interrupted initdb?)"
    rm -rf "$DATA"
  fi
  if ((EUID == 0)); then
    # Only what is not postgres' yet, so a large data directory is not rewalked every start.
    find "$BASE" "$SOCK" ! -user postgres -exec chown postgres:postgres {} + 2>/dev/null \
      || chown -R postgres:postgres "$BASE" "$SOCK"
  fi

  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    info "initializing a new cluster in $DATA"
    as_pg "$PGBIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$BASE/initdb.log" 2>&1 9>&- \
      || { cat "$BASE/initdb.log" >&2; die "initdb failed (output above, also in $BASE/initdb.log)"; }
  else
    local version
    version="$(cat "$DATA/PG_VERSION")"
    [[ "$version" == 15 ]] \
      || die "$DATA was created by PostgreSQL $version, not 15; remove var/pg to start afresh"
  fi

  recover_stale

  info "starting PostgreSQL (socket $SOCK, port $PORT, log $LOG)"
  if ! as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
         -o "-p $PORT -k '$SOCK' -c listen_addresses=''" start >/dev/null 9>&-; then
    echo "[mercato] pg: last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    die "the server did not start"
  fi
  ensure_database "$DEFAULT_DB"
  info "ready: $(url_for "$DEFAULT_DB")"
}

cmd_stop() {
  if [[ ! -d "$DATA" ]]; then
    info "not running (no cluster in $DATA)"
    return 0
  fi
  take_lock
  local pid
  if pid="$(cluster_pid)"; then
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 9>&- \
      || die "pg_ctl stop failed; see $LOG"
    info "stopped (was pid $pid)"
  else
    info "not running"
  fi
}

cmd_status() {
  local pid
  if pid="$(cluster_pid)"; then
    local -a opts
    mapfile -t opts < <(client_opts)
    if pg_client psql -X -q -t -A "${opts[@]}" -d postgres -c 'select 1' >/dev/null 2>&1; then
      info "running (pid $pid), accepting connections: $(url_for "$DEFAULT_DB")"
    else
      info "running (pid $pid) but not accepting connections yet; see $LOG"
    fi
    return 0
  fi
  if [[ -e "$DATA/postmaster.pid" ]]; then
    info "not running (stale postmaster.pid; 'scripts/pg.sh start' recovers)"
  elif [[ -f "$DATA/PG_VERSION" ]]; then
    info "not running (cluster in $DATA)"
  else
    info "not running (no cluster yet; 'scripts/pg.sh start' creates one)"
  fi
  return 3
}

require_running() {
  cluster_pid >/dev/null || die "the private cluster is not running; run 'scripts/pg.sh start' first"
}

cmd="${1:-}"
case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) url_for "${2:-$DEFAULT_DB}" ;;
  createdb)
    [[ -n "${2:-}" ]] || { usage; exit 2; }
    require_running
    mapfile -t opts < <(client_opts)
    pg_client createdb "${opts[@]}" "$2" || die "createdb $2 failed"
    info "created database $2"
    ;;
  dropdb)
    [[ -n "${2:-}" ]] || { usage; exit 2; }
    require_running
    mapfile -t opts < <(client_opts)
    PGOPTIONS="-c client_min_messages=warning" pg_client dropdb --if-exists --force "${opts[@]}" "$2" \
      || die "dropdb $2 failed"
    info "dropped database $2 (if it existed)"
    ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
