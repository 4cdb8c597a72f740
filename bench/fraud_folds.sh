#!/usr/bin/env bash
# Issue 9's comparison on more than one test part: bench/fraud.sh's models (ours with
# `fraud train`'s defaults, LightGBM with its grid chosen on validation) on several
# time-ordered splits of the ULB data set, each training on every row before its test part
# and testing on the next 10 % of the rows by time. One split tests on 75 frauds or fewer,
# too few to tell two good models apart; several together tell more. Prints each split's
# figures and a summary table.
# SEEDS="0 1 2 3 4" runs each split once per seed (bench/fraud.sh's SEED: other draws of every
# model's sampling), and the summary adds each split's mean over the seeds: one draw of each
# model is one sample of what its training gives.
# Usage: [SKIP_BUILD=1] [DATA=dir with creditcard.csv] [SEEDS="n ..."] bench/fraud_folds.sh
#        ["from to" ...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- "0.5 0.6" "0.6 0.7" "0.7 0.8" "0.8 0.9" "0.9 1.0"; fi
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for split in "$@"; do
  for seed in ${SEEDS:-0}; do
    echo "== split: train on rows before ${split% *}, test up to ${split#* } (shares of the rows by time), seed $seed"
    SPLIT=$split SEED=$seed MODEL_ONLY=1 bash bench/fraud.sh > "$OUT.run"
    grep -E '^(split|test|\| (ensuresec|LightGBM)[ ,])|bootstrap|chosen' "$OUT.run"
    frauds=$(sed -nE 's/^test: .* ([0-9]+) frauds$/\1/p' "$OUT.run")
    ours=$(awk -F'|' '/^\| ensuresec/ {gsub(/ /, "", $3); print $3}' "$OUT.run")
    lgb=$(awk -F'|' '/^\| LightGBM \|/ {gsub(/ /, "", $3); print $3}' "$OUT.run")
    echo "$split $seed $frauds $ours $lgb" >> "$OUT"
  done
done
echo "== summary (PR-AUC on each test part)"
python3 - "$OUT" <<'PY'
import sys
from collections import defaultdict
rows = [(f"{s}–{e}", seed, frauds, float(o), float(l))
        for s, e, seed, frauds, o, l in (line.split() for line in open(sys.argv[1]))]
print("| test part (share of rows by time) | seed | frauds | ensuresec | LightGBM | difference |")
print("|---|---|---|---|---|---|")
for part, seed, frauds, ours, lgb in rows:
    print(f"| {part} | {seed} | {frauds} | {ours:.4f} | {lgb:.4f} | {ours - lgb:+.4f} |")
wins = sum(o >= l for *_, o, l in rows)
mean = sum(o - l for *_, o, l in rows) / len(rows)
print(f"ours at least LightGBM's in {wins} of {len(rows)} runs; mean difference {mean:+.4f}")
by_part = defaultdict(list)
for part, _, frauds, ours, lgb in rows:
    by_part[(part, frauds)].append((ours, lgb))
if any(len(runs) > 1 for runs in by_part.values()):
    print("| test part | frauds | seeds | ensuresec: mean (range) | LightGBM: mean (range) | difference of the means |")
    print("|---|---|---|---|---|---|")
    for (part, frauds), runs in by_part.items():
        ours, lgb = [o for o, _ in runs], [l for _, l in runs]
        mo, ml = sum(ours) / len(ours), sum(lgb) / len(lgb)
        print(f"| {part} | {frauds} | {len(runs)} | {mo:.4f} ({min(ours):.4f}–{max(ours):.4f}) | "
              f"{ml:.4f} ({min(lgb):.4f}–{max(lgb):.4f}) | {mo - ml:+.4f} |")
PY
