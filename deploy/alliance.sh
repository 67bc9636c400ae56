#!/usr/bin/env bash
# Brings an alliance up and down on this machine from its alliance.yaml (docs/deploy.md).
#
#   deploy/alliance.sh up     SPEC   make what is missing (CAs, ECerts, TCerts, CRLs, genesis, relay.yaml,
#                                    one node.yaml per node), start the relay and the nodes, wait until
#                                    each one listens. A spec with replicated relays (relays: and
#                                    ordering: {etcd: {prefix, members}}) gets an etcd CA, its members'
#                                    certificates and one RELAY_ID.yaml per relay; the etcd members start
#                                    first (and stop last).
#   deploy/alliance.sh status SPEC [--json]
#                                    which of its processes run; with --json one array of
#                                    {"name", "kind", "pid", "port", "up", "heights": {"<channel>": n}}
#   deploy/alliance.sh down   SPEC   stop the processes it started (and only those)
#   deploy/alliance.sh deploy-contract SPEC PACKAGE CHANNEL [POLICY]
#                                    install PACKAGE on every node of CHANNEL, then commit its definition
#                                    (name, version, sha256, policy) through a config transaction that every
#                                    admin of the alliance endorses
#
# Everything lives beside SPEC: crypto/, data/, logs/, run/ (pid files), packages/ (contract packages
# every node installs at start), genesis.json and the configs. ENTENTE_BIN names the entente binary
# (default: build/runtime/cli/entente of this repository).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
entente=${ENTENTE_BIN:-$root/build/runtime/cli/entente}

usage() {
  echo "usage: $0 up|down SPEC" >&2
  echo "       $0 status SPEC [--json]" >&2
  echo "       $0 deploy-contract SPEC PACKAGE CHANNEL [POLICY]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
command=$1
if [ "$command" = deploy-contract ]; then
  [ $# -eq 4 ] || [ $# -eq 5 ] || usage
  package=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
  [ -f "$package" ] || { echo "alliance.sh: no package at $3" >&2; exit 1; }
  channel=$4
  policy=${5:-}
elif [ "$command" = status ] && [ $# -eq 3 ]; then
  [ "$3" = --json ] || usage
  json=1
else
  [ $# -eq 2 ] || usage
fi
spec=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
[ -f "$spec" ] || { echo "alliance.sh: no spec at $2" >&2; exit 1; }
state=$(dirname "$spec")
mkdir -p "$state/logs" "$state/run" "$state/data" "$state/packages"

plan=$("$entente" alliance plan --spec "$spec")

# Replicated relays: their ids, and the etcd members this spec runs here.
replicas() { awk '$1 == "replica" {print $2}' <<<"$plan"; }
etcd_members() { awk '$1 == "etcd" {print $2}' <<<"$plan"; }
relay_names() { if grep -q '^replica ' <<<"$plan"; then replicas; else echo relay; fi; }

# The processes of this alliance, in the order they start: etcd members, relays, nodes.
names() { etcd_members; relay_names; awk '$1 == "node" {print $2}' <<<"$plan"; }

kind_of() {
  if grep -q "^etcd $1 " <<<"$plan"; then echo etcd
  elif [ "$1" = relay ] || grep -q "^replica $1 " <<<"$plan"; then echo relay
  else echo node; fi
}

# What the command line of process $1 holds when this script started it.
marker() {
  if [ "$(kind_of "$1")" = etcd ]; then echo "--data-dir $(awk -v n="$1" '$1 == "etcd" && $2 == n {print $5}' <<<"$plan")"
  else echo "--config $state/$1.yaml"; fi
}

# Prints the pid of process $1 when it runs and is the one this script started.
running_pid() {
  local pidfile="$state/run/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(marker "$1")" || return 1
  echo "$pid"
}

generate() {
  local first_ca="" name ca dir
  while read -r kind name ca; do
    [ "$kind" = chain ] || continue
    dir=$(dirname "$ca")
    [ -f "$dir/ca.pem" ] || "$entente" ca init --dir "$dir" --chain "$name" >/dev/null
    [ -n "$first_ca" ] || first_ca=$dir
    "$entente" ca crl --dir "$dir" --out "$state/crypto/$name-crl.pem" >/dev/null
    # One client identity per chain, held by the chain's nodes for REST clients (custodial).
    local who="$state/crypto/$name/clients/client1"
    [ -f "$who/cert.pem" ] || "$entente" ca issue --dir "$dir" --role client --id "$name-client1" --out "$who" >/dev/null
    [ -f "$who/tcerts/tcert-9.pem" ] ||
      "$entente" ca issue-tcerts --dir "$dir" --ecert "$who/cert.pem" --count 10 --out "$who/tcerts" >/dev/null
  done <<<"$plan"
  local chain id
  while read -r kind chain id; do
    [ "$kind" = admin ] || continue
    local who="$state/crypto/$chain/admins/$id"
    [ -f "$who/cert.pem" ] || "$entente" ca issue --dir "$(ca_dir "$chain")" --role admin --id "$id" --out "$who" >/dev/null
  done <<<"$plan"
  local host port ecert
  while read -r kind id chain host port ecert; do
    [ "$kind" = node ] || continue
    dir=$(dirname "$ecert")
    [ -f "$ecert" ] || "$entente" ca issue --dir "$(ca_dir "$chain")" --role node --id "$id" --out "$dir" \
      --host "$host" >/dev/null
    [ -f "$dir/tcerts/tcert-9.pem" ] ||
      "$entente" ca issue-tcerts --dir "$(ca_dir "$chain")" --ecert "$ecert" --count 10 --out "$dir/tcerts" >/dev/null
  done <<<"$plan"
  if grep -q '^relay ' <<<"$plan"; then
    read -r _ host port < <(grep '^relay ' <<<"$plan")
    [ -f "$state/crypto/relay/cert.pem" ] ||
      "$entente" ca issue --dir "$first_ca" --role relay --id relay --out "$state/crypto/relay" --host "$host" >/dev/null
  fi
  local cert
  while read -r kind id chain host port cert; do
    [ "$kind" = replica ] || continue
    [ -f "$cert" ] || "$entente" ca issue --dir "$(ca_dir "$chain")" --role relay --id "$id" --out "$(dirname "$cert")" \
      --host "$host" >/dev/null
  done <<<"$plan"
  if [ -n "$(etcd_members)" ]; then
    # The etcd members' own CA: their server certificate, and the client certificate the relays use.
    local etcd_ca="$state/crypto/etcd/ca"
    [ -f "$etcd_ca/ca.pem" ] || "$entente" ca init --dir "$etcd_ca" --chain etcd >/dev/null
    [ -f "$state/crypto/etcd/server/cert.pem" ] ||
      "$entente" ca issue --dir "$etcd_ca" --role etcd --id etcd --out "$state/crypto/etcd/server" --host 127.0.0.1 >/dev/null
    [ -f "$state/crypto/etcd/client/cert.pem" ] ||
      "$entente" ca issue --dir "$etcd_ca" --role relay --id relays --out "$state/crypto/etcd/client" >/dev/null
  fi
  [ -f "$state/genesis.json" ] || "$entente" alliance genesis --spec "$spec" --out "$state/genesis.json" >/dev/null
}

# https://127.0.0.1:PORT of each etcd member, comma-separated.
etcd_endpoints() { awk '$1 == "etcd" {printf "%shttps://127.0.0.1:%s", sep, $3; sep=", "}' <<<"$plan"; }

ca_dir() { awk -v c="$1" '$1 == "chain" && $2 == c {print $3}' <<<"$plan" | xargs dirname; }

crls() { awk '$1 == "chain" {printf "%s%s", sep, "crypto/" $2 "-crl.pem"; sep=", "}' <<<"$plan"; }

packages() { (cd "$state" && ls packages/*.tar.gz 2>/dev/null | paste -sd, - | sed 's/,/, /g') || true; }

write_configs() {
  local host port
  # Where each node submits and pulls first: the one relay, or the replicated relays in turn.
  local relay_endpoints=() relay_certs=()
  if grep -q '^relay ' <<<"$plan"; then
    read -r _ host port < <(grep '^relay ' <<<"$plan")
    cat >"$state/relay.yaml" <<EOF
data: data/relay
genesis: genesis.json
listen: {address: $host, port: $port}
tls: {cert: crypto/relay/cert.pem, key: crypto/relay/key.pem}
crls: [$(crls)]
EOF
    relay_endpoints=("$host:$port") relay_certs=(crypto/relay/cert.pem)
  fi
  local prefix id chain cert
  prefix=$(awk '$1 == "ordering" {print $2}' <<<"$plan")
  while read -r kind id chain host port cert; do
    [ "$kind" = replica ] || continue
    cat >"$state/$id.yaml" <<EOF
id: $id
data: data/$id
genesis: genesis.json
listen: {address: $host, port: $port}
tls: {cert: $(dirname "$cert")/cert.pem, key: $(dirname "$cert")/key.pem}
crls: [$(crls)]
ordering:
  etcd:
    endpoints: [$(etcd_endpoints)]
    ca: crypto/etcd/ca/ca.pem
    cert: crypto/etcd/client/cert.pem
    key: crypto/etcd/client/key.pem
    prefix: $prefix
    timeout_ms: 500
EOF
    relay_endpoints+=("$host:$port") relay_certs+=("$cert")
  done <<<"$plan"
  local ecert dir n=0 relay_endpoint relay_cert
  while read -r kind id chain host port ecert; do
    [ "$kind" = node ] || continue
    relay_endpoint=${relay_endpoints[$((n % ${#relay_endpoints[@]}))]}
    relay_cert=${relay_certs[$((n % ${#relay_certs[@]}))]}
    n=$((n + 1))
    dir=$(dirname "$ecert")
    cat >"$state/$id.yaml" <<EOF
id: $id
chain: $chain
data: data/$id
genesis: genesis.json
listen: {address: $host, port: $port}
tls: {cert: $dir/cert.pem, key: $dir/key.pem}
tcerts: $dir/tcerts
relay: {endpoint: "$relay_endpoint", cert: $relay_cert}
crls: [$(crls)]
clients:
  - {id: $chain-client1, ecert: crypto/$chain/clients/client1/cert.pem, tcerts: crypto/$chain/clients/client1/tcerts}
packages: [$(packages)]
EOF
  done <<<"$plan"
}

# Every member's CA certificates, for clients of the nodes.
ca_bundle() {
  awk '$1 == "chain" {print $3}' <<<"$plan" | xargs cat >"$state/crypto/alliance-cas.pem"
  echo "$state/crypto/alliance-cas.pem"
}

deploy_contract() {
  local cas nodes=() admins=() kind id chain host port ecert
  cas=$(ca_bundle)
  while read -r kind id chain host port ecert; do
    [ "$kind" = node ] && [ "$chain" = "$channel" ] && nodes+=("$id $host:$port")
  done <<<"$plan"
  while read -r kind chain id; do
    [ "$kind" = admin ] && admins+=(--admin "$state/crypto/$chain/admins/$id")
  done <<<"$plan"
  [ ${#nodes[@]} -gt 0 ] || { echo "alliance.sh: no node of chain $channel in $spec" >&2; exit 1; }
  [ ${#admins[@]} -gt 0 ] || { echo "alliance.sh: $spec names no admin" >&2; exit 1; }
  local channel_admin
  channel_admin=$(awk -v c="$channel" '$1 == "admin" && $2 == c {print $3; exit}' <<<"$plan")
  [ -n "$channel_admin" ] || { echo "alliance.sh: chain $channel has no admin to install contracts" >&2; exit 1; }
  local who="$state/crypto/$channel/admins/$channel_admin" node answer
  for node in "${nodes[@]}"; do
    read -r id endpoint <<<"$node"
    if ! answer=$(curl --silent --show-error --fail-with-body --cacert "$cas" --cert "$who/cert.pem" \
      --key "$who/key.pem" -H 'Content-Type: application/gzip' --data-binary "@$package" \
      "https://$endpoint/v1/contracts"); then
      echo "alliance.sh: $id did not install $package: $answer" >&2
      exit 1
    fi
    echo "  installed on $id: $answer"
  done
  read -r _ endpoint <<<"${nodes[0]}"
  echo "  defining it on $channel, endorsed by $((${#admins[@]} / 2)) admin(s) by way of the alliance channel:"
  "$entente" alliance define-contract --node "$endpoint" --cacert "$cas" "${admins[@]}" --package "$package" \
    --channel "$channel" ${policy:+--policy "$policy"}
}

# The port process $1 listens on, from its log ("... ready on port N"); empty when it never said.
listening_port() {
  grep -h "ready on port" "$state/logs/$1.log" 2>/dev/null | tail -1 | awk '{print $NF}'
}

# The host process $1 listens on, as the spec gives it.
listening_host() {
  if [ "$1" = relay ]; then awk '$1 == "relay" {print $2}' <<<"$plan"
  elif grep -q "^replica $1 " <<<"$plan"; then awk -v n="$1" '$1 == "replica" && $2 == n {print $4}' <<<"$plan"
  else awk -v n="$1" '$1 == "node" && $2 == n {print $4}' <<<"$plan"; fi
}

# {"<channel>": height, ...} as the process at host $1, port $2 answers, asked as the first chain's
# client; {} when it does not answer.
heights_json() {
  local host=$1 port=$2 first who out="" channel answer height
  first=$(awk '$1 == "chain" {print $2; exit}' <<<"$plan")
  who="$state/crypto/$first/clients/client1"
  for channel in alliance $(awk '$1 == "chain" {print $2}' <<<"$plan"); do
    answer=$(curl --silent --max-time 5 --cacert "$state/crypto/alliance-cas.pem" --cert "$who/cert.pem" \
      --key "$who/key.pem" "https://$host:$port/v1/channels/$channel" 2>/dev/null) || continue
    height=$(sed -n 's/.*"height":\([0-9][0-9]*\).*/\1/p' <<<"$answer")
    [ -n "$height" ] && out+="${out:+, }\"$channel\": $height"
  done
  echo "{$out}"
}

# Prints one JSON array describing every process of the alliance.
status_json() {
  local name kind pid port up heights entries=""
  [ -f "$state/crypto/alliance-cas.pem" ] || ca_bundle >/dev/null
  for name in $(names); do
    kind=$(kind_of "$name")
    pid=null up=false port=null heights="{}"
    if pid=$(running_pid "$name"); then
      up=true
      if [ "$kind" = etcd ]; then
        port=$(awk -v n="$name" '$1 == "etcd" && $2 == n {print $3}' <<<"$plan")
      else
        port=$(listening_port "$name")
        [ -n "$port" ] && heights=$(heights_json "$(listening_host "$name")" "$port") || port=null
      fi
    else
      pid=null
    fi
    entries+="${entries:+, }{\"name\": \"$name\", \"kind\": \"$kind\", \"pid\": $pid, \"port\": $port, \"up\": $up, \"heights\": $heights}"
  done
  echo "[$entries]"
}

# Starts etcd member $1 in the background (a member waits for a quorum before it serves: the caller
# starts them all, then waits for each with await_etcd).
start_etcd() {
  local name=$1 client peer data initial log="$state/logs/$1.log"
  read -r _ _ client peer data < <(grep "^etcd $name " <<<"$plan")
  if running_pid "$name" >/dev/null; then
    echo "  $name already runs (pid $(running_pid "$name"))"
    return
  fi
  initial=$(awk '$1 == "etcd" {printf "%s%s=http://127.0.0.1:%s", sep, $2, $4; sep=","}' <<<"$plan")
  local cluster_state=new
  [ -d "$data/member" ] && cluster_state=existing
  mkdir -p "$data"
  : >"$log"
  (exec setsid "${ETCD_BIN:-etcd}" --name "$name" --data-dir "$data" \
    --listen-client-urls "https://127.0.0.1:$client" --advertise-client-urls "https://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "$initial" --initial-cluster-state "$cluster_state" \
    --heartbeat-interval 200 --election-timeout 2000 --snapshot-count 10000 --quota-backend-bytes $((256 << 20)) \
    --cert-file "$state/crypto/etcd/server/cert.pem" --key-file "$state/crypto/etcd/server/key.pem" \
    --client-cert-auth --trusted-ca-file "$state/crypto/etcd/ca/ca.pem" --logger zap >>"$log" 2>&1 </dev/null) &
  echo $! >"$state/run/$name.pid"
}

# Waits until etcd member $1 answers /health as part of a quorum.
await_etcd() {
  local name=$1 client
  read -r _ _ client _ < <(grep "^etcd $name " <<<"$plan")
  for _ in $(seq 1 300); do
    if curl --silent --max-time 2 --cacert "$state/crypto/etcd/ca/ca.pem" --cert "$state/crypto/etcd/client/cert.pem" \
      --key "$state/crypto/etcd/client/key.pem" "https://127.0.0.1:$client/health" 2>/dev/null | grep -q '"health":"true"'; then
      echo "  $name serving on port $client (pid $(cat "$state/run/$name.pid"), log $state/logs/$name.log)"
      return
    fi
    if ! kill -0 "$(cat "$state/run/$name.pid")" 2>/dev/null; then
      echo "alliance.sh: etcd member $name exited; the end of $state/logs/$name.log:" >&2
      tail -20 "$state/logs/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "alliance.sh: etcd member $name is not healthy after 30 s; see $state/logs/$name.log" >&2
  exit 1
}

start() {
  local name=$1 kind=$2
  if running_pid "$name" >/dev/null; then
    echo "  $name already runs (pid $(running_pid "$name"))"
    return
  fi
  local log="$state/logs/$name.log"
  : >"$log"
  (cd "$state" && exec setsid "$entente" "$kind" --config "$state/$name.yaml" >>"$log" 2>&1 </dev/null) &
  echo $! >"$state/run/$name.pid"
  for _ in $(seq 1 300); do
    if grep -q "^$kind ready on port" "$log"; then
      echo "  $name listening on port $(grep "^$kind ready on port" "$log" | tail -1 | awk '{print $NF}') (pid $(cat "$state/run/$name.pid"), log $log)"
      return
    fi
    if ! kill -0 "$(cat "$state/run/$name.pid")" 2>/dev/null; then
      echo "alliance.sh: $name exited; the end of $log:" >&2
      tail -20 "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "alliance.sh: $name did not listen within 30 s; see $log" >&2
  exit 1
}

case "$command" in
  up)
    generate
    write_configs
    ca_bundle >/dev/null
    echo "Starting the alliance of $spec:"
    for name in $(etcd_members); do start_etcd "$name"; done
    for name in $(etcd_members); do await_etcd "$name"; done
    for name in $(relay_names); do start "$name" relay; done
    for id in $(awk '$1 == "node" {print $2}' <<<"$plan"); do start "$id" node; done
    ;;
  status)
    status=0
    if [ -n "${json:-}" ]; then
      status_json
      exit 0
    fi
    for name in $(names); do
      if pid=$(running_pid "$name"); then
        echo "  $name running (pid $pid)"
      else
        echo "  $name stopped"
        status=3
      fi
    done
    exit $status
    ;;
  down)
    for name in $(names | tac); do
      if pid=$(running_pid "$name"); then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
        echo "  $name stopped (pid $pid)"
      fi
      rm -f "$state/run/$name.pid"
    done
    ;;
  deploy-contract)
    if ! running_pid "$(relay_names | head -1)" >/dev/null; then
      echo "alliance.sh: the alliance of $spec does not run; start it with: $0 up $spec" >&2
      exit 1
    fi
    deploy_contract
    ;;
  *) usage ;;
esac
