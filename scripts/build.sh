#!/usr/bin/env bash
# Configures (CMake + Ninja, Release) and builds mercato into build/. Extra arguments go to the
# configure step (e.g. -DMERCATO_BUILD_BENCH=OFF). Parallel jobs = min(cores, GiB of available
# memory), at least 1, since heavy translation units need about 1 GB each; MERCATO_JOBS overrides.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${MERCATO_BUILD_DIR:-build}"

die() { echo "[mercato] build: error: $*" >&2; exit 1; }

for tool in cmake ninja; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run scripts/deps.sh first"
done

# A build dir configured with another generator cannot be reused by 'cmake -G Ninja'.
if [[ -f "$build_dir/CMakeCache.txt" ]]; then
  generator="$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build_dir/CMakeCache.txt")"
  if [[ -n "$generator" && "$generator" != "Ninja" ]]; then
    die "$build_dir/ was configured with the '$generator' generator; remove it (rm -rf $build_dir)" \
        "or set MERCATO_BUILD_DIR to another directory"
  fi
fi

if [[ -n "${MERCATO_JOBS:-}" ]]; then
  [[ "$MERCATO_JOBS" =~ ^[1-9][0-9]*$ ]] || die "MERCATO_JOBS must be a positive integer, got '$MERCATO_JOBS'"
  jobs="$MERCATO_JOBS"
else
  cores="$(nproc 2>/dev/null || echo 1)"
  mem_kib="$(awk '/^MemAvailable:/ { print $2; exit }' /proc/meminfo 2>/dev/null || true)"
  if [[ -z "$mem_kib" ]]; then
    mem_kib="$(awk '/^MemFree:/ { print $2; exit }' /proc/meminfo 2>/dev/null || echo 1048576)"
  fi
  mem_gib=$((mem_kib / 1048576))
  jobs=$((cores < mem_gib ? cores : mem_gib))
  ((jobs >= 1)) || jobs=1
fi

echo "[mercato] configuring: cmake -S . -B $build_dir -G Ninja -DCMAKE_BUILD_TYPE=Release $*"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"

echo "[mercato] building: cmake --build $build_dir -j $jobs${CCACHE_DIR:+ (CCACHE_DIR=$CCACHE_DIR)}"
start=$SECONDS
cmake --build "$build_dir" -j "$jobs"
echo "[mercato] build finished in $((SECONDS - start)) s"
