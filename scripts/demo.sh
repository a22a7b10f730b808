#!/usr/bin/env bash
# `make demo`: starts one Raftline node (the embedded single-node cluster), checks its health, creates and describes a
# topic through the metadata quorum, shows how to reach it, and stops it by PID. Everything it starts, it stops — also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

data_dir=$(mktemp -d "${TMPDIR:-/tmp}/raftline-demo-XXXXXX")
log_file="$data_dir/broker.log"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

echo "== starting: node dist/broker.js --node-id 1 --listeners 127.0.0.1:0 --data-dir $data_dir/node-1"
node dist/broker.js --node-id 1 --listeners 127.0.0.1:0 --data-dir "$data_dir/node-1" >"$log_file" 2>&1 &
pid=$!

address=""
for _ in $(seq 1 100); do
  address=$(grep -oE 'listening on [0-9.]+:[0-9]+' "$log_file" | head -n1 | awk '{print $3}' || true)
  [ -n "$address" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "broker exited early:"; cat "$log_file"; exit 1; }
  sleep 0.05
done
[ -n "$address" ] || { echo "broker did not start within 5 s"; cat "$log_file"; exit 1; }

for _ in $(seq 1 300); do
  code=$(node -e "fetch('http://$address/readyz').then(r=>{console.log(r.status)}).catch(()=>console.log(0))")
  [ "$code" = "200" ] && break
  sleep 0.05
done
[ "$code" = "200" ] || { echo "node not ready"; exit 1; }

echo "== node 1 is up at $address (pid $pid)"
echo "-- GET http://$address/livez"
node -e "fetch('http://$address/livez').then(r=>r.text()).then(t=>process.stdout.write(t))"
echo "-- GET http://$address/readyz"
node -e "fetch('http://$address/readyz').then(r=>r.text()).then(t=>process.stdout.write(t))"
echo "-- GET http://$address/metrics (an excerpt)"
node -e "fetch('http://$address/metrics').then(r=>r.text()).then(t=>process.stdout.write(t.split('\n').filter(l=>/^raftline_(requests_total|connections|http_requests_total|network)/.test(l)).slice(0,8).join('\n')+'\n'))"
cli() { echo "-- raftline $*"; node dist/cli.js "$@" --bootstrap "$address"; }
cli node ping
cli cluster describe
cli metadata-quorum status
cli topic create demo-orders --partitions 3 --config retention.ms=3600000
cli topic describe demo-orders
echo "-- printf 'alice:order-1\\ndave:order-2\\ncarol:order-3\\nalice:order-4\\n' | raftline produce demo-orders --key-separator : --acks all"
printf 'alice:order-1\ndave:order-2\ncarol:order-3\nalice:order-4\n' | node dist/cli.js produce demo-orders --key-separator : --acks all --bootstrap "$address"
cli consume demo-orders --from beginning --count 4 --idle-ms 3000 --format json
cli topic alter-config demo-orders --set retention.ms=7200000 --set min.insync.replicas=1
cli topic describe-config demo-orders --overrides-only
cli topic describe demo-orders
echo "-- a bad request gets a named error and exit status 1:"
node dist/cli.js topic create demo-orders --bootstrap "$address" || echo "(exit status $?)"
echo "== reach it: WebSocket ws://$address (CBOR frames), HTTP http://$address/{livez,readyz,metrics}"
echo "== stopping (SIGTERM to pid $pid)"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
echo "== broker exited with status $status"
[ "$status" = "0" ]
echo "== demo done"
