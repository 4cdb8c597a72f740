#!/usr/bin/env bash
# Evaluation of the web-attack engine (crates/webattack):
#   1. CRS v3.3.4 regression replay at PL1/PL2, libinjection corpora, benign shop traffic;
#   2. criterion throughput (engine at PL1/PL2, Combined-log parsing);
#   3. side by side with libmodsecurity3 + OWASP CRS 3.3.4 (Debian packages) at PL1 and PL2: the
#      same requests (CRS regression "must fire"/"must not fire" cases and 100,000 benign shop
#      requests, Accept-Charset stripped) through bench/modsec/harness.c and through our engine,
#      printing detection rate, false-positive rates, requests/s per core and the ratio.
# Needs ../shared/corpora beside the project for the corpus figures; installs the Debian
# packages of step 3 when missing (as root, or through sudo).
#
# Usage: bench/webattack.sh [--only tests|criterion|modsec] [OUTPUT.md]
#   (figures are printed, and appended to OUTPUT.md if given)
# Not part of CI: it takes 15–20 minutes on 2 cores (libmodsecurity is most of it).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
only=""
if [[ "${1:-}" == "--only" ]]; then
  only="$2"
  shift 2
fi
out="${1:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
want() { [[ -z "$only" || "$only" == "$1" ]]; }

modsec_setup() {
  local need=()
  for p in libmodsecurity3 libmodsecurity-dev modsecurity-crs gcc; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [[ ${#need[@]} -gt 0 ]]; then
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  gcc -O2 -Wall -o "$tmp/harness" bench/modsec/harness.c -lmodsecurity
}

{
  echo "## ensuresec-webattack evaluation ($(git rev-parse --short HEAD 2>/dev/null || echo uncommitted), $(nproc) cores)"
  echo
  echo '```'
  if want tests; then
    nice -n 15 cargo test --release --quiet -p ensuresec-webattack --test crs_regression --test libinjection_corpus --test benign_traffic -- --nocapture --test-threads 1 2>&1 \
      | grep -E '^(CRS|rule file|REQUEST|TOTAL|libinjection|PL|[12] |  [A-Z]+-)' || true
    echo
  fi
  if want criterion; then
    nice -n 15 cargo bench --quiet -p ensuresec-webattack --bench inspect 2>&1 | grep -E '^(inspect|logs)/|thrpt' || true
    echo
  fi
  if want modsec; then
    modsec_setup
    echo "libmodsecurity $(dpkg-query -W -f='${Version}' libmodsecurity3), CRS $(dpkg-query -W -f='${Version}' modsecurity-crs)"
    nice -n 15 cargo build --release --quiet -p ensuresec-webattack --example sidebyside
    sbs="$CARGO_TARGET_DIR/release/examples/sidebyside"
    "$sbs" export "$tmp/requests.bin"
    for pl in 1 2; do
      "$tmp/harness" "$pl" "$tmp/requests.bin" > "$tmp/modsec-pl$pl.txt"
    done
    "$sbs" compare "$tmp/modsec-pl1.txt" "$tmp/modsec-pl2.txt"
  fi
  echo '```'
  echo
  echo "Command: bench/webattack.sh${only:+ --only $only} (criterion thrpt for inspect/* is requests/s on one core; side-by-side requests/s are per core of CPU time)."
} | tee "$tmp/report"

if [[ -n "$out" ]]; then
  cat "$tmp/report" >> "$out"
fi
