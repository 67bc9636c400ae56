#!/usr/bin/env bash
# Runs the performance figures of docs/performance.md: each benchmark ROUNDS times (default 3), one JSON
# line per run in OUT (default bench-results.jsonl), then prints the median of each. Needs a built tree
# (tests/run.sh or deploy/quickstart.sh builds it) and a machine left otherwise idle.
#   tests/bench.sh [ROUNDS] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=${2:-bench-results.jsonl}
bin=${ENTENTE_BIN:-build/runtime/cli/entente}
export ENTENTE_SOURCE_DIR=$PWD
: >"$out"

run() {  # run NAME ARGS...: one round of `entente bench ARGS --json`, tagged with NAME
  local name=$1
  shift
  "$bin" bench "$@" --json | python3 -c 'import json,sys; j=json.loads(sys.stdin.readline()); j["run"]=sys.argv[1]; print(json.dumps(j))' "$name" >>"$out"
}

median() {  # median FIELD RUN: the median of FIELD over the rounds of RUN
  python3 - "$out" "$1" "$2" <<'PYEOF'
import json, statistics, sys
path, field, run = sys.argv[1:]
values = [json.loads(l)[field] for l in open(path) if json.loads(l)["run"] == run]
print(statistics.median(values) if values else "none")
PYEOF
}

for _ in $(seq "$rounds"); do
  run ledger ledger
  run relay relay --tx 20000
  run relay-1-core relay --tx 20000 --threads 1
  run relay-2-cores relay --tx 20000 --threads 2
  run e2e-64 e2e --tx 3000 --concurrency 64
  run e2e-1 e2e --tx 200 --concurrency 1
done
half=$(python3 -c "print(round($(median value e2e-64) / 2, 1))")
for _ in $(seq "$rounds"); do
  run e2e-half-rate e2e --tx 1500 --concurrency 64 --rate "$half"
done

echo "medians of $rounds rounds (all runs in $out):"
echo "  ledger ratio                $(median ratio ledger)"
echo "  relay ratio                 $(median ratio relay)   (1 core $(median ratio relay-1-core), 2 cores $(median ratio relay-2-cores))"
echo "  e2e 64 clients              ratio $(median ratio e2e-64), $(median value e2e-64) tx/s, p99 $(median p99_ms e2e-64) ms"
echo "  e2e 1 client                p50 $(median p50_ms e2e-1) ms, fsync p50 $(median fsync_p50_ms e2e-1) ms"
echo "  e2e open loop at $half tx/s  p99 $(median p99_ms e2e-half-rate) ms"
