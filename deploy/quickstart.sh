#!/usr/bin/env bash
# README command 1: installs what is missing, builds Entente, and creates the demo alliance's
# identities under a state directory ($ENTENTE_STATE, default .entente/demo in the repository):
# a CA for chainA and chainB, and for each chain two nodes (ECert + TCerts), a client and an admin;
# then the relay's identity, the alliance spec (alliance.yaml) and its genesis block.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${ENTENTE_BUILD_DIR:-$root/build}
state=${ENTENTE_STATE:-$root/.entente/demo}

"$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target entente
entente="$build/runtime/cli/entente"

mkdir -p "$state"
crypto="$state/crypto"
for chain in chainA chainB; do
  dir="$crypto/$chain"
  if [ ! -f "$dir/ca/ca.pem" ]; then
    "$entente" ca init --dir "$dir/ca" --chain "$chain" >/dev/null
  fi
  for n in 1 2; do
    node="$dir/nodes/node$n"
    if [ ! -f "$node/cert.pem" ]; then
      "$entente" ca issue --dir "$dir/ca" --role node --id "$chain-node$n" --out "$node" \
        --host 127.0.0.1 --host localhost >/dev/null
    fi
    if [ ! -f "$node/tcerts/tcert-9.pem" ]; then
      "$entente" ca issue-tcerts --dir "$dir/ca" --ecert "$node/cert.pem" --count 10 --out "$node/tcerts" >/dev/null
    fi
  done
  for role in client admin; do
    who="$dir/${role}s/${role}1"
    if [ ! -f "$who/cert.pem" ]; then
      "$entente" ca issue --dir "$dir/ca" --role "$role" --id "$chain-${role}1" --out "$who" >/dev/null
    fi
    if [ ! -f "$who/tcerts/tcert-9.pem" ]; then
      "$entente" ca issue-tcerts --dir "$dir/ca" --ecert "$who/cert.pem" --count 10 --out "$who/tcerts" >/dev/null
    fi
  done
done

# The relay's identity (an ECert of chainA's CA with OU=relay), the alliance spec and its genesis.
if [ ! -f "$crypto/relay/cert.pem" ]; then
  "$entente" ca issue --dir "$crypto/chainA/ca" --role relay --id relay --out "$crypto/relay" \
    --host 127.0.0.1 --host localhost >/dev/null
fi
cat >"$state/alliance.yaml" <<EOF
# The demo alliance: two member chains, two nodes each (weights 2 and 1 on chainA, as in the
# paper's weighted endorsement example), and a route that lets chainB's data_exchange read chainA's.
chains:
  - name: chainA
    ca: [crypto/chainA/ca/ca.pem]
    admins: [{id: chainA-admin1, weight: 1}]
  - name: chainB
    ca: [crypto/chainB/ca/ca.pem]
    admins: [{id: chainB-admin1, weight: 1}]
nodes:
  - {id: chainA-node1, chain: chainA, weight: 2, endpoint: "https://127.0.0.1:7051", ecert: crypto/chainA/nodes/node1/cert.pem}
  - {id: chainA-node2, chain: chainA, weight: 1, endpoint: "https://127.0.0.1:7052", ecert: crypto/chainA/nodes/node2/cert.pem}
  - {id: chainB-node1, chain: chainB, weight: 1, endpoint: "https://127.0.0.1:7061", ecert: crypto/chainB/nodes/node1/cert.pem}
  - {id: chainB-node2, chain: chainB, weight: 1, endpoint: "https://127.0.0.1:7062", ecert: crypto/chainB/nodes/node2/cert.pem}
routes:
  - {id: chainB-reads-chainA, from: chainB, contract: data_exchange, to: chainA, namespace: data_exchange, access: read}
EOF
if [ ! -f "$state/genesis.json" ]; then
  "$entente" alliance genesis --spec "$state/alliance.yaml" --out "$state/genesis.json"
fi

echo "Demo alliance identities in $crypto:"
for chain in chainA chainB; do
  echo "  $chain"
  echo "    CA          $crypto/$chain/ca/ca.pem"
  for cert in "$crypto/$chain"/nodes/*/cert.pem "$crypto/$chain"/clients/*/cert.pem "$crypto/$chain"/admins/*/cert.pem; do
    subject=$("$entente" ca verify --trust "$crypto/$chain/ca/ca.pem" "$cert" | head -1 | sed 's/^OK: //')
    tcerts=$(find "$(dirname "$cert")/tcerts" -name 'tcert-*[0-9].pem' 2>/dev/null | wc -l)
    printf '    %-40s %s (+%s TCerts)\n' "$subject" "${cert#"$state"/}" "$tcerts"
  done
done
echo
echo "Check one:  $entente ca verify --trust $crypto/chainA/ca/ca.pem $crypto/chainA/nodes/node1/cert.pem"
echo "Alliance:   $state/alliance.yaml -> $state/genesis.json (docs/relay.md: running the relay)"
