#!/usr/bin/env bash
# Evaluation of behavioural detection (crates/behaviour, crates/netflow): precision, recall and
# detection delay per scenario on a simulated shop day with labelled attacks, then criterion
# throughput (all scenarios, anomaly model, baselines; pcap flow extraction) and memory per entity.
#
# Then the anomaly model on NSL-KDD and UNSW-NB15 (../shared/datasets/network, when present)
# beside scikit-learn's IsolationForest.
#
# Usage: bench/behaviour.sh [HOURS] [RATE] [SEED]   (defaults 6 h, 20 events/s, seed 1)
# Not part of CI: it takes about ten minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
hours="${1:-6}" rate="${2:-20}" seed="${3:-1}"

echo "## Behavioural detection ($(git rev-parse --short HEAD 2>/dev/null || echo uncommitted), $(nproc) cores)"
echo
nice -n 15 cargo run --quiet --release -p ensuresec-behaviour --example evaluate -- "$hours" "$rate" "$seed"
echo
echo '```'
nice -n 15 cargo bench --quiet -p ensuresec-behaviour --bench behaviour 2>&1 | grep -E '^(memory|workload|cpu|behaviour/)|thrpt' || true
nice -n 15 cargo bench --quiet -p ensuresec-netflow --bench pcap 2>&1 | grep -E '^(capture|pcap/)|thrpt' || true
echo '```'
echo
echo "Anomaly model on public labelled data (ensuresec's Half-Space Trees, then scikit-learn's"
echo "IsolationForest on the same records, split, scaling and 1 % false-positive budget):"
echo '```'
nice -n 15 cargo bench --quiet -p ensuresec-behaviour --bench datasets 2>&1 | grep -vE '^\s*(Compiling|Finished|Running)'
python3 -c 'import sklearn' 2>/dev/null || pip install --quiet scikit-learn
python3 bench/datasets_peer.py
echo '```'
