#!/usr/bin/env bash
# Response benchmark: alert -> decision visible on the CrowdSec bouncer stream (p99, target
# < 100 ms), and new decisions per second served to 50 polling bouncers (target 10,000/s).
# Builds release binaries, starts `ensuresec serve` on a fresh data directory, creates one bouncer
# key per bouncer, and drives it with bench/loadgen's `bouncers` binary.
# Usage: bench/respond.sh [waves] [rate] [seconds]   (defaults 200, 10000, 30)
set -euo pipefail
cd "$(dirname "$0")/.."
waves="${1:-200}"; rate="${2:-10000}"; seconds="${3:-30}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
nice -n 15 cargo build --release --locked -p ensuresec -p ensuresec-loadgen --bin ensuresec --bin bouncers >/dev/null
bin="$CARGO_TARGET_DIR/release"
work="$(mktemp -d)"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
export ENSURESEC_TOKEN="es_bench_admin_token_0123456789"
for i in $(seq 1 50); do
  "$bin/ensuresec" token create --name "bouncer$i" --scope bouncer --data-dir "$work/data" >>"$work/keys"
done
ENSURESEC_ADMIN_TOKEN="$ENSURESEC_TOKEN" ENSURESEC_LOG=warn \
  "$bin/ensuresec" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/out" | sed 's/\x1b\[[0-9;]*m//g' | head -1)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/bouncers" --server "$url" --keys "$work/keys" latency --waves "$waves"
"$bin/bouncers" --server "$url" --keys "$work/keys" stream --rate "$rate" --seconds "$seconds" --bouncers 50
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
