#!/usr/bin/env bash
# Evaluation of the web-attack engine (crates/webattack): CRS v3.3.4 regression replay at PL1/PL2,
# libinjection corpora, benign shop traffic, then criterion throughput (engine at PL1/PL2 and the
# Combined-log parser). Needs ../shared/corpora beside the project for the corpus figures.
#
# Usage: bench/webattack.sh [OUTPUT.md]   (figures are printed, and appended to OUTPUT.md if given)
# Not part of CI: it takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../crates/webattack"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-webattack}"
out="${1:-}"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT

{
  echo "## ensuresec-webattack evaluation ($(git -C ../.. rev-parse --short HEAD 2>/dev/null || echo uncommitted), $(nproc) cores)"
  echo
  echo '```'
  nice -n 15 cargo test --release --quiet --test crs_regression --test libinjection_corpus --test benign_traffic -- --nocapture --test-threads 1 2>&1 \
    | grep -E '^(CRS|rule file|REQUEST|TOTAL|libinjection|PL|[12] |  [A-Z]+-)' || true
  echo
  nice -n 15 cargo bench --quiet --bench inspect 2>&1 | grep -E '^(inspect|logs)/|thrpt' || true
  echo '```'
  echo
  echo "Command: bench/webattack.sh (criterion thrpt for inspect/* is requests/s on one core)."
} | tee "$tmp"

if [[ -n "$out" ]]; then
  cat "$tmp" >> "$out"
fi
