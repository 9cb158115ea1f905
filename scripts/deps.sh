#!/usr/bin/env bash
# Installs the Debian 12 packages that mercato's build, tests and benchmarks need, but only the missing
# ones (apt-get update runs only when something must be installed). Silent when nothing is missing.
# Needs root, or sudo when run as another user. Non-interactive: safe with no stdin (CI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config g++
  libcaf-dev libboost-dev libpqxx-dev libpq-dev nlohmann-json3-dev libfmt-dev libtoml11-dev libedit-dev libssl-dev
  libjemalloc-dev
  catch2 postgresql postgresql-contrib
  wrk curl procps iproute2 ca-certificates openssl
)

die() { echo "[mercato] deps: error: $*" >&2; exit 1; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  die "dpkg-query not found: this script supports Debian 12 (bookworm) only; install these packages" \
      "yourself: ${packages[*]}"
fi

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "[mercato] deps: installing ${#missing[@]} missing package(s): ${missing[*]}"

as_root=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    die "not running as root and sudo is not installed; run 'scripts/deps.sh' as root, or install" \
        "these packages yourself: ${missing[*]}"
  fi
fi

apt_env=(env DEBIAN_FRONTEND=noninteractive)
"${as_root[@]}" "${apt_env[@]}" apt-get update -q </dev/null \
  || die "apt-get update failed (network or apt sources problem?)"
"${as_root[@]}" "${apt_env[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null \
  || die "apt-get install failed for: ${missing[*]}"

echo "[mercato] deps: done"
