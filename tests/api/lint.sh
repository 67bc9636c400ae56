#!/usr/bin/env bash
# Lints the OpenAPI document of each service (node, relay), as `entente api openapi` prints it and the
# service serves it, with redocly's recommended rules (tests/api/package-lock.json pins @redocly/cli).
# Usage: tests/api/lint.sh ENTENTE_BINARY. Exits non-zero on any error.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
entente=${1:?usage: lint.sh ENTENTE_BINARY}
redocly="$here/node_modules/.bin/redocly"
if [ ! -x "$redocly" ]; then
  echo "lint.sh: $redocly is missing; deploy/install-deps.sh runs npm ci in tests/api" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for service in node relay; do
  "$entente" api openapi --service "$service" >"$work/$service.json"
done
cd "$work"
# Nothing leaves the machine, and no notices about newer versions or Node.js releases.
export REDOCLY_TELEMETRY=off REDOCLY_SDK_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true REDOCLY_SUPPRESS_NOTIFICATIONS=true
# --format=summary prints one line per rule that fired; the exit status counts errors only.
"$redocly" lint --extends=recommended --format=summary node.json relay.json
