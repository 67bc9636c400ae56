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
  curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: missing ${missing[*]}; run this script as root (no sudo here)" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
