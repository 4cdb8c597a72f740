#!/usr/bin/env bash
# Latency of POST /v1/payments/score over HTTP at a steady rate: a release `ensuresec serve`
# (rules only, fresh data directory) and the open-loop driver `payments` of bench/loadgen on the
# same machine, over loopback. Prints the machine load and the latency quantiles.
# Usage: bench/fraud_http.sh [rate per second] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-2000}
SECONDS_=${2:-30}
CONNECTIONS=${3:-8}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p ensuresec -p ensuresec-loadgen
WORK=$(mktemp -d)
TOKEN=es_bench_fraud_token_0123456789
PORT=$((20000 + RANDOM % 20000))
ENSURESEC_ADMIN_TOKEN=$TOKEN ENSURESEC_LOG=warn "$TARGET/release/ensuresec" serve \
  --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" > "$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
  sleep 0.1
done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET/release/payments" --server "http://127.0.0.1:$PORT" --token "$TOKEN" \
  --rate "$RATE" --seconds "$SECONDS_" --connections "$CONNECTIONS"
echo "after: load $(cut -d' ' -f1-3 /proc/loadavg); server resident memory $(grep VmRSS /proc/$SERVER/status | tr -s ' ')"
