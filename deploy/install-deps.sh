#!/usr/bin/env bash
# Installs the Debian packages Entente's build and tests need, only those that are missing.
# Idempotent: runs `apt-get update` once, and only when something has to be installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates openssl
  libboost1.81-dev libboost-url1.81-dev
  libssl-dev
  libleveldb-dev libsnappy-dev
  nlohmann-json3-dev libsimdjson-dev
  doctest-dev
  libcli11-dev
  libspdlog-dev
  libyaml-cpp-dev
  libarchive-dev
  libsecp256k1-dev
  libgoogle-perftools-dev
  etcd-server
  curl
  strace
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# apt_install PKG...: installs Debian packages as root (through sudo when not root);
# runs `apt-get update` once per script run, before the first install.
sudo_cmd=()
apt_updated=0
apt_install() {
  if [ "$(id -u)" -ne 0 ] && [ ${#sudo_cmd[@]} -eq 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "install-deps: missing $*; run this script as root (no sudo here)" >&2
      exit 1
    fi
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" -eq 0 ]; then
    "${sudo_cmd[@]}" apt-get update -q
    apt_updated=1
  fi
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "$@"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

# Ethereum adapter: node and npm, then the bridge's pinned npm packages (ganache, solc)
# from adapters/ethereum/bridge/package-lock.json. `npm ci` runs only when node_modules
# is missing or the lock file is newer than the stamp written after the last success.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-deps: installing nodejs npm"
  apt_install nodejs npm
fi
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# npm ci in DIR (relative to the repository): when node_modules is missing or its lock file is newer
# than the stamp written after the last success.
npm_ci() {
  local dir="$root_dir/$1" stamp="$root_dir/$1/node_modules/.entente-stamp"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "install-deps: npm ci in $1"
    (cd "$dir" && npm ci --no-audit --no-fund)
    touch "$stamp"
  fi
}
npm_ci adapters/ethereum/bridge
# The OpenAPI checks of the test suite (redocly, Ajv), pinned in tests/api/package-lock.json.
npm_ci tests/api
