#!/usr/bin/env bash
# README command 1: installs what is missing, builds Entente, brings up the demo alliance on localhost
# (chainA and chainB, two nodes each, one relay) with data_exchange and asset_transfer deployed, runs a
# cross-chain data exchange and prints its result, and leaves the alliance running until
# `deploy/alliance.sh down .entente/demo/alliance.yaml`. State: $ENTENTE_STATE (default .entente/demo).
# Ports: the relay on $ENTENTE_BASE_PORT (default 7050), chainA's nodes on the next two, chainB's on
# base+11 and base+12.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ENTENTE_BUILD_DIR:-$root/build}
state=${ENTENTE_STATE:-$root/.entente/demo}
base=${ENTENTE_BASE_PORT:-7050}
if ! [[ "$base" =~ ^[0-9]+$ ]] || [ "$base" -lt 1024 ] || [ "$base" -gt 65500 ]; then
  echo "quickstart: ENTENTE_BASE_PORT must be a number from 1024 to 65500, got '$base'" >&2
  exit 1
fi
relay_port=$base a1=$((base + 1)) a2=$((base + 2)) b1=$((base + 11)) b2=$((base + 12))

"$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target entente data_exchange asset_transfer
export ENTENTE_BIN="$build/runtime/cli/entente"
entente=$ENTENTE_BIN
spec="$state/alliance.yaml"
mkdir -p "$state/contracts"

if [ -f "$spec" ] && "$root/deploy/alliance.sh" status "$spec" >/dev/null 2>&1; then
  echo "The demo alliance already runs; running the exchange again."
else
  [ -f "$spec" ] && "$root/deploy/alliance.sh" down "$spec" >/dev/null
  # A fresh demo ledger each time it starts (identities are kept).
  rm -rf "$state/data" "$state/genesis.json"
  for contract in data_exchange asset_transfer; do
    "$entente" contract package --so "$build/chaincode/lib$contract.so" --name "$contract" --version 1.0 \
      --policy "Weighted(0.5)" --out "$state/contracts/$contract.tar.gz" >/dev/null
  done
  cat >"$spec" <<EOF
# The demo alliance: two member chains, two nodes each (weights 2 and 1 on chainA, as in the paper's
# weighted endorsement example) and a route that lets chainB's data_exchange read chainA's. The
# contracts are deployed once it runs (deploy/alliance.sh deploy-contract). deploy/alliance.sh makes
# every certificate named here that does not exist yet.
chains:
  - name: chainA
    ca: [crypto/chainA/ca/ca.pem]
    admins: [{id: chainA-admin1, weight: 1}]
  - name: chainB
    ca: [crypto/chainB/ca/ca.pem]
    admins: [{id: chainB-admin1, weight: 1}]
nodes:
  - {id: chainA-node1, chain: chainA, weight: 2, endpoint: "https://127.0.0.1:$a1", ecert: crypto/chainA/nodes/node1/cert.pem}
  - {id: chainA-node2, chain: chainA, weight: 1, endpoint: "https://127.0.0.1:$a2", ecert: crypto/chainA/nodes/node2/cert.pem}
  - {id: chainB-node1, chain: chainB, weight: 1, endpoint: "https://127.0.0.1:$b1", ecert: crypto/chainB/nodes/node1/cert.pem}
  - {id: chainB-node2, chain: chainB, weight: 1, endpoint: "https://127.0.0.1:$b2", ecert: crypto/chainB/nodes/node2/cert.pem}
relay: "https://127.0.0.1:$relay_port"
routes:
  - {id: chainB-reads-chainA, from: chainB, contract: data_exchange, to: chainA, namespace: data_exchange, access: read}
EOF
  "$root/deploy/alliance.sh" up "$spec"
  echo "Deploying the contracts:"
  for target in "data_exchange chainA" "data_exchange chainB" "asset_transfer chainA"; do
    read -r contract chain <<<"$target"
    "$root/deploy/alliance.sh" deploy-contract "$spec" "$state/contracts/$contract.tar.gz" "$chain" >/dev/null
    echo "  $contract 1.0 runs on $chain"
  done
fi

crypto="$state/crypto"
as() {  # as CHAIN: curl options of that chain's client
  echo "--silent --show-error --cacert $crypto/alliance-cas.pem --cert $crypto/$1/clients/client1/cert.pem --key $crypto/$1/clients/client1/key.pem"
}
record="shipment-$(date +%s)"
echo
echo "chainA publishes record $record on chainA-node1:"
# shellcheck disable=SC2046
curl $(as chainA) -X POST https://127.0.0.1:$a1/v1/transactions -H 'Content-Type: application/json' \
  -d "{\"contract\":\"data_exchange\",\"function\":\"PublishRecord\",\"args\":[\"$record\",\"42 pallets of coffee\",\"a shipment notice\"]}"
echo
echo
echo "chainB requests it through chainB-node1 (the contract reads chainA along the alliance's route):"
# shellcheck disable=SC2046
result=$(curl $(as chainB) -X POST https://127.0.0.1:$b1/v1/transactions -H 'Content-Type: application/json' \
  -d "{\"contract\":\"data_exchange\",\"function\":\"RequestRecord\",\"args\":[\"chainA\",\"$record\",\"customs\"]}")
echo "$result"
payload=$(sed -n 's/.*"payload":"\([^"]*\)".*/\1/p' <<<"$result")
echo
echo "The exchange as chainB's contract recorded it:"
echo "$payload" | base64 -d
echo
echo
echo "The alliance keeps running. Try next:"
echo "  curl $(as chainA) https://127.0.0.1:$a2/v1/channels/chainA"
echo "  curl $(as chainA) -X POST https://127.0.0.1:$a2/v1/queries -H 'Content-Type: application/json' -d '{\"contract\":\"data_exchange\",\"function\":\"GetRecord\",\"args\":[\"$record\"]}'"
echo "  curl $(as chainA) https://127.0.0.1:$a1/metrics"
echo "Stop it with: deploy/alliance.sh down $spec"
