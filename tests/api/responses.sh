#!/usr/bin/env bash
# Checks the answers the integration tests recorded in DIR against the services' OpenAPI documents
# (validate_responses.js, Ajv pinned in tests/api/package-lock.json), then removes them.
# Usage: tests/api/responses.sh ENTENTE_BINARY DIR.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
entente=${1:?usage: responses.sh ENTENTE_BINARY DIR}
dir=${2:?usage: responses.sh ENTENTE_BINARY DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for service in node relay; do
  "$entente" api openapi --service "$service" >"$work/$service.json"
done
status=0
node "$here/validate_responses.js" "$work/node.json" "$work/relay.json" "$dir" || status=$?
rm -f "$dir"/*.jsonl
exit "$status"
