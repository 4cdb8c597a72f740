#!/usr/bin/env bash
# Issue 10's figures in one run: precision, recall and detection delay per injected attack on
# simulated delivery days (`ensuresec delivery evaluate`), then the detectors' throughput in
# sensor readings per second on one core and the bytes of state per active parcel (criterion).
# Usage: bench/delivery.sh [days]
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS=${1:-5}
TARGET=${CARGO_TARGET_DIR:-target}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
cargo build --release -p ensuresec
"$TARGET/release/ensuresec" delivery evaluate --days "$DAYS" --markdown
cargo bench -p ensuresec-delivery --bench delivery -- --warm-up-time 2 --measurement-time 8
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
