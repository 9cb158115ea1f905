# Sourced by run.sh and test.sh: use DATABASE_URL when set, else the private cluster under var/pg,
# remembering whether this script started it so that stop_private_pg stops only what it started.
# shellcheck shell=bash

started_pg=0

use_database() {
  if [[ -n "${DATABASE_URL:-}" ]]; then
    echo "[mercato] using DATABASE_URL from the environment"
    return
  fi
  if ! bash scripts/pg.sh status >/dev/null 2>&1; then
    started_pg=1
  fi
  bash scripts/pg.sh start
  DATABASE_URL="$(bash scripts/pg.sh url)"
  export DATABASE_URL
  echo "[mercato] DATABASE_URL=$DATABASE_URL"
}

stop_private_pg() {
  if ((started_pg)); then
    echo "[mercato] stopping the private PostgreSQL cluster started by $1"
    bash scripts/pg.sh stop || true
  fi
}
