#!/usr/bin/env bash
# Quick start (and CI): installs missing packages, builds, starts a private PostgreSQL (var/pg) unless
# DATABASE_URL is set, runs ctest (extra arguments go to ctest, e.g. -R unit) and exits with its status.
# The private cluster is stopped afterwards if this script started it, also on failure or interrupt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${MERCATO_BUILD_DIR:-build}"

bash scripts/deps.sh
bash scripts/build.sh

# shellcheck source=scripts/private_pg.sh
source scripts/private_pg.sh
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_private_pg "the tests"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

(umask 022 && mkdir -p var)

use_database

echo "[mercato] running: ctest --test-dir $build_dir --output-on-failure -j1 $*"
rc=0
ctest --test-dir "$build_dir" --output-on-failure -j1 "$@" || rc=$?
if ((rc == 0)); then
  echo "[mercato] tests passed"
else
  echo "[mercato] tests FAILED (ctest exit status $rc)" >&2
fi
exit "$rc"
