#!/usr/bin/env bash
# README command 2: installs what is missing, builds Entente and runs every test with ctest.
# Extra arguments go to ctest (e.g. `tests/run.sh -L unit`). Exits non-zero if anything fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ENTENTE_BUILD_DIR:-$root/build}

"$root/deploy/install-deps.sh"

werror=OFF
if [ -n "${CI:-}" ]; then werror=ON; fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENTENTE_WERROR="$werror" \
  ${ENTENTE_SANITIZE:+-DENTENTE_SANITIZE=$ENTENTE_SANITIZE}
cmake --build "$build"

cd "$build"
ctest --output-on-failure --parallel 2 "$@"
