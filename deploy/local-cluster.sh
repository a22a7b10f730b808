#!/usr/bin/env bash
# Starts a local Raftline cluster of N nodes (default 3) on 127.0.0.1, every node both broker and controller, and
# stops them all (by PID) on Ctrl-C or `deploy/local-cluster.sh stop`. Data lives under ./data/cluster/node-N.
#   deploy/local-cluster.sh [start] [N] [BASE_PORT]   start N nodes on BASE_PORT+1 .. BASE_PORT+N (default 19091..)
#   deploy/local-cluster.sh stop                      stop the nodes this script started (pids in ./data/cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
root=./data/cluster
cmd=${1:-start}
if [ "$cmd" = "stop" ]; then
  for f in "$root"/node-*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null && echo "stopped node pid $pid" || true
    rm -f "$f"
  done
  exit 0
fi
[ "$cmd" = "start" ] && shift || true
n=${1:-3}
base=${2:-19090}
[ -f dist/broker.js ] || make build
mkdir -p "$root"
quorum=""
for i in $(seq 1 "$n"); do quorum+="${quorum:+,}$i@127.0.0.1:$((base + i))"; done
pids=()
for i in $(seq 1 "$n"); do
  node dist/broker.js --node-id "$i" --controller-quorum "$quorum" --data-dir "$root/node-$i" >"$root/node-$i.log" 2>&1 &
  pids+=($!)
  echo $! >"$root/node-$i.pid"
  echo "node $i: pid $! ws://127.0.0.1:$((base + i)) log $root/node-$i.log"
done
echo "controller.quorum.voters=$quorum"
echo "stop with: deploy/local-cluster.sh stop (or Ctrl-C here)"
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; rm -f "$root"/node-*.pid' INT TERM
wait
