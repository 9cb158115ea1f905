#!/usr/bin/env bash
# Quick start (and CI): installs missing packages, builds, starts a private PostgreSQL (var/pg) unless
# DATABASE_URL is set, runs ctest (extra arguments go to ctest, e.g. -R unit) and exits with its status.
# The private cluster is stopped afterwards if this script started it, also on failure or interrupt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${MERCATO_BUILD_DIR:-build}"

bash scripts/deps.sh
bash scripts/build.sh

started_pg=0
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if ((started_pg)); then
    echo "[mercato] stopping the private PostgreSQL cluster started for the tests"
    bash scripts/pg.sh stop || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

(umask 022 && mkdir -p var)

if [[ -z "${DATABASE_URL:-}" ]]; then
  if ! bash scripts/pg.sh status >/dev/null 2>&1; then
    started_pg=1
  fi
  bash scripts/pg.sh start
  DATABASE_URL="$(bash scripts/pg.sh url)"
  export DATABASE_URL
  echo "[mercato] DATABASE_URL=$DATABASE_URL"
else
  echo "[mercato] using DATABASE_URL from the environment"
fi

echo "[mercato] running: ctest --test-dir $build_dir --output-on-failure -j1 $*"
rc=0
ctest --test-dir "$build_dir" --output-on-failure -j1 "$@" || rc=$?
if ((rc == 0)); then
  echo "[mercato] tests passed"
else
  echo "[mercato] tests FAILED (ctest exit status $rc)" >&2
fi
exit "$rc"
