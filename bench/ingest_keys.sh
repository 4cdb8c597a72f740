#!/usr/bin/env bash
# What an Idempotency-Key costs HTTP ingest: the same load with and without a key on every
# batch, alternately, each run on a fresh server (the foundation's pipeline, web-attack detector
# off, as in part 1 of bench/ingest.sh), for two batch sizes. Prints events/s per run and the
# ratio of the medians (keyed / plain).
# Usage: [SKIP_BUILD=1] bench/ingest_keys.sh [events] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-1000000}
ROUNDS=${2:-3}
TOKEN=es_bench_token_0123456789abcdef
PORT=18182
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release -q -p ensuresec -p ensuresec-loadgen
fi
BIN=${CARGO_TARGET_DIR:-target}/release

start_server() {
  rm -rf "$WORK/data"
  ENSURESEC_ADMIN_TOKEN=$TOKEN ENSURESEC_LOG=warn ENSURESEC_DETECTION__WEB__ENABLED=false \
    $BIN/ensuresec serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && return; sleep 0.1; done
  echo "server did not start"; cat "$WORK/serve.log"; exit 1
}

# One run: prints events/s; with a key prefix, checks that every batch was stored (none taken
# for a batch sent again).
run() {
  local batch=$1 prefix=${2:-}
  start_server
  ENSURESEC_TOKEN=$TOKEN $BIN/ensuresec-loadgen --server http://127.0.0.1:$PORT \
    --events "$EVENTS" --batch "$batch" --connections 4 ${prefix:+--key-prefix "$prefix"} > "$WORK/run.txt"
  local stored again
  stored=$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^ensuresec_events_ingested_total/{s+=$2} END{print s+0}')
  again=$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^ensuresec_ingest_batches_sent_again_total/{s+=$2} END{print s+0}')
  kill $SERVER; wait $SERVER 2>/dev/null || true
  if [ "$stored" != "$EVENTS" ] || [ "$again" != "0" ]; then
    echo "run stored $stored of $EVENTS events, $again batches taken as sent again" >&2; exit 1
  fi
  awk '/^events_per_second/{print $2}' "$WORK/run.txt"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $EVENTS events per run, $ROUNDS rounds, 4 connections"
echo
echo "| events per batch | without a key (events/s, each run) | with a key (events/s, each run) | keyed / plain (medians) |"
echo "|---|---|---|---|"
for batch in 5000 500; do
  plain="" keyed=""
  for round in $(seq "$ROUNDS"); do
    plain="$plain $(run "$batch")"
    keyed="$keyed $(run "$batch" "r$round")"
  done
  mp=$(echo "$plain" | median) mk=$(echo "$keyed" | median)
  echo "| $batch |$plain |$keyed | $(awk -v k="$mk" -v p="$mp" 'BEGIN{printf "%.3f", k/p}') |"
done
