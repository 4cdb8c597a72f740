#!/usr/bin/env bash
# Benchmarks of the audit log (crates/auditlog): durable appends/s with ack latency percentiles,
# proof generation/s, and full verification speed against raw SHA-256 measured in the same run.
# Usage: bench/auditlog.sh [entries-to-verify]   (default 1000000; the issue's target is 10000000)
set -euo pipefail
cd "$(dirname "$0")/../crates/auditlog"
export AUDITLOG_BENCH_ENTRIES="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-auditlog}"
export AUDITLOG_BENCH_DIR="${AUDITLOG_BENCH_DIR:-$CARGO_TARGET_DIR}"
log="$(mktemp)"
nice -n 15 cargo bench --bench auditlog 2>&1 | tee "$log"
echo
echo "| measure | result |"
echo "|---|---|"
grep -E '^durable appends' "$log" | sed 's/^/| appends | /; s/$/ |/'
grep -E '^(proof|sha256|verify|append)/' -A2 "$log" | grep -E 'thrpt' -B2 | awk '/^[a-z0-9_]+\//{name=$1} /thrpt/{print "| " name " | " $0 " |"}'
grep -E '^full verification' "$log" | sed 's/^/| verification vs SHA-256 | /; s/$/ |/'
rm -f "$log"
