#!/usr/bin/env bash
# Quick start: installs missing packages, builds, starts a private PostgreSQL (var/pg) unless
# DATABASE_URL is set, applies migrations, loads the demo seed into a fresh database, then runs
# `build/mercato serve`. Extra arguments go to the server. SIGINT/SIGTERM
# are forwarded to the server as SIGTERM; when it exits, the private cluster is stopped if this script started it.
set -euo pipefail
orig_pwd="$PWD"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${MERCATO_BUILD_DIR:-build}"
config="${MERCATO_CONFIG:-config/mercato.toml}"
# A relative MERCATO_CONFIG may be meant relative to where the caller stands.
if [[ "$config" != /* && ! -e "$config" && -e "$orig_pwd/$config" ]]; then
  config="$orig_pwd/$config"
fi

bash scripts/deps.sh
bash scripts/build.sh

[[ -x "$build_dir/mercato" ]] || { echo "[mercato] error: $build_dir/mercato was not built" >&2; exit 1; }
[[ -f "$config" ]] || { echo "[mercato] error: config file '$config' not found (set MERCATO_CONFIG)" >&2; exit 1; }

(umask 022 && mkdir -p var)   # the admin socket lives at var/mercato.sock

# shellcheck source=scripts/private_pg.sh
source scripts/private_pg.sh
child=""
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  stop_private_pg "this run"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

use_database

# Schema first, then demo data into a database that was never seeded (a no-op afterwards).
"$build_dir/mercato" migrate --config "$config"
"$build_dir/mercato" seed --config "$config"

echo "[mercato] starting: $build_dir/mercato serve --config $config $*"
"$build_dir/mercato" serve --config "$config" "$@" <&0 &
child=$!

# Forward INT/TERM/HUP to the server as SIGTERM (its graceful shutdown; a background child of a script
# starts with SIGINT ignored) and keep waiting until it has really exited: `wait` returns early, with a
# status > 128, whenever a trapped signal arrives.
# shellcheck disable=SC2317  # invoked by trap
forward() { kill -TERM "$child" 2>/dev/null || true; }
trap forward INT TERM HUP
rc=0
while :; do
  wait "$child" && rc=0 || rc=$?
  if ! kill -0 "$child" 2>/dev/null; then
    if ((rc > 128)); then  # maybe interrupted just as the server exited: collect its real status
      r=0
      wait "$child" 2>/dev/null || r=$?
      ((r == 127)) || rc=$r
    fi
    break
  fi
done
child=""
echo "[mercato] server exited with status $rc"
exit "$rc"
