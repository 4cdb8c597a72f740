#!/usr/bin/env bash
# Issue 9's comparison on more than one test part: bench/fraud.sh's models (ours with
# `fraud train`'s defaults, LightGBM with its grid chosen on validation) on several
# time-ordered splits of the ULB data set, each training on every row before its test part
# and testing on the next 10 % of the rows by time. One split tests on 75 frauds or fewer,
# too few to tell two good models apart; several together tell more. Prints each split's
# figures and a summary table.
# Usage: [SKIP_BUILD=1] [DATA=dir with creditcard.csv] bench/fraud_folds.sh ["from to" ...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- "0.5 0.6" "0.6 0.7" "0.7 0.8" "0.8 0.9" "0.9 1.0"; fi
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for split in "$@"; do
  echo "== split: train on rows before ${split% *}, test up to ${split#* } (shares of the rows by time)"
  SPLIT=$split MODEL_ONLY=1 bash bench/fraud.sh > "$OUT.run"
  grep -E '^(split|test|\| (ensuresec|LightGBM) )|bootstrap|chosen' "$OUT.run"
  frauds=$(sed -nE 's/^test: .* ([0-9]+) frauds$/\1/p' "$OUT.run")
  ours=$(awk -F'|' '/^\| ensuresec/ {gsub(/ /, "", $3); print $3}' "$OUT.run")
  lgb=$(awk -F'|' '/^\| LightGBM/ {gsub(/ /, "", $3); print $3}' "$OUT.run")
  echo "$split $frauds $ours $lgb" >> "$OUT"
done
echo "== summary (PR-AUC on each test part)"
python3 - "$OUT" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
print("| test part (share of rows by time) | frauds | ensuresec | LightGBM | difference |")
print("|---|---|---|---|---|")
for start, end, frauds, ours, lgb in rows:
    print(f"| {start}–{end} | {frauds} | {float(ours):.4f} | {float(lgb):.4f} | {float(ours) - float(lgb):+.4f} |")
wins = sum(float(o) >= float(l) for _, _, _, o, l in rows)
mean = sum(float(o) - float(l) for _, _, _, o, l in rows) / len(rows)
print(f"ours at least LightGBM's on {wins} of {len(rows)} test parts; mean difference {mean:+.4f}")
PY
