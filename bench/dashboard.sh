#!/usr/bin/env bash
# Issue 6's benchmarks on this machine:
#   1. server time of the overview and the incident list with INCIDENTS incidents and ALERTS
#      alerts in the store (curl's total time on the loopback, 20 requests each, median and max);
#   2. CLIENTS concurrent live-feed (SSE) clients, each receiving a new incident;
#   3. the cascade over a 10,000-asset graph: `cargo bench -p ensuresec-assets`.
# Usage: bench/dashboard.sh [incidents] [alerts] [clients]   (PROFILE=debug for a quick run)
set -euo pipefail
cd "$(dirname "$0")/.."
INCIDENTS=${1:-100000}
ALERTS=${2:-1000000}
CLIENTS=${3:-200}
PROFILE=${PROFILE:-release}
TOKEN=es_bench_token_0123456789abcdef
PORT=18186
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
TARGET=${CARGO_TARGET_DIR:-target}
if [ "$PROFILE" = release ]; then FLAG=--release; else FLAG=; fi
cargo build $FLAG -q -p ensuresec && cargo build $FLAG -q -p ensuresec-dashboard --example populate
BIN=$TARGET/$PROFILE

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg); profile $PROFILE"
echo "== populating: $INCIDENTS incidents, $ALERTS alerts"
/usr/bin/time -f "populate: %e s" $BIN/examples/populate "$WORK/data" "$INCIDENTS" "$ALERTS" 2>&1 | tail -2
printf 'bench password 123\n' | $BIN/ensuresec users add bench --role admin --data-dir "$WORK/data" >/dev/null
ENSURESEC_ADMIN_TOKEN=$TOKEN ENSURESEC_LOG=warn $BIN/ensuresec serve --listen 127.0.0.1:$PORT \
  --data-dir "$WORK/data" --assets crates/assets/models/shop.yaml > "$WORK/serve.log" 2>&1 &
for _ in $(seq 300); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
B=http://127.0.0.1:$PORT
csrf=$(curl -s -c "$WORK/jar" $B/ui/login | grep -o 'name="csrf" value="[0-9a-f]*"' | cut -d'"' -f4)
session=$(curl -s -b "$WORK/jar" -D - -o /dev/null --data-urlencode "name=bench" \
  --data-urlencode "password=bench password 123" --data-urlencode "csrf=$csrf" $B/ui/login \
  | grep -io 'es_session=[0-9a-f]*')
time_page() {
  for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' -H "cookie: $session" "$B$1"; done \
    | sort -n | awk -v p="$1" '{a[NR]=$1} END {printf "%-24s median %.1f ms, max %.1f ms\n", p, a[int(NR/2)+1]*1000, a[NR]*1000}'
}
echo "== 1. page server time (20 requests each)"
time_page /ui/
time_page /ui/incidents
time_page "/ui/incidents?severity=high"
time_page /ui/assets
echo "== 2. $CLIENTS concurrent live-feed clients"
node bench/sse_clients.mjs $B "$session" $TOKEN "$CLIENTS"
echo "== 3. cascade over 10,000 assets"
cargo bench -q -p ensuresec-assets --bench cascade -- --noplot 2>&1 | grep -E "reaches|time:" || true
