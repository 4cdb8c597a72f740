#!/usr/bin/env bash
# Prevention benchmark (issue #12):
#   1. Spectral with the OWASP ruleset (npm @stoplight/spectral-cli, @stoplight/spectral-owasp-ruleset,
#      JSON output) side by side with `ensuresec audit api` on every description of
#      ../shared/corpora/openapi/, on public descriptions fetched from the npm package
#      @readme/oas-examples (MIT; unpacked into a temporary folder, not kept) and on our
#      hand-written shops: findings per OWASP category, what
#      each finds that the other misses (by category and operation), mechanical noise counts, and
#      the time of both with the ratio;
#   2. the workflow checker: states per second and time to the counterexample on the shipped
#      models and larger variants (cargo bench -p ensuresec-prevention).
# Needs node/npm and cargo. Spectral is installed into $SPECTRAL_DIR (default: a cache folder
# outside the project). ENSURESEC_BIN picks the binary (default: the release build, built if
# absent). Prints Markdown for bench/RESULTS.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${ENSURESEC_SHARED_DIR:-$ROOT/../shared}
SPECTRAL_DIR=${SPECTRAL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ensuresec-bench/spectral}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${ENSURESEC_BIN:-$TARGET/release/ensuresec}
RUNS=${RUNS:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$SPECTRAL_DIR/node_modules/.bin/spectral" ]; then
  mkdir -p "$SPECTRAL_DIR"
  npm install --prefix "$SPECTRAL_DIR" --no-audit --no-fund \
    @stoplight/spectral-cli @stoplight/spectral-owasp-ruleset >&2
fi
printf 'extends: ["@stoplight/spectral-owasp-ruleset"]\n' > "$SPECTRAL_DIR/owasp.yaml"
SPECTRAL="$SPECTRAL_DIR/node_modules/.bin/spectral"
if [ ! -x "$BIN" ]; then
  (cd "$ROOT" && nice -n 15 cargo build --release -p ensuresec >&2)
fi

specs=()
if [ -d "$SHARED/corpora/openapi" ]; then
  for f in "$SHARED"/corpora/openapi/*.yml "$SHARED"/corpora/openapi/*.yaml "$SHARED"/corpora/openapi/*.json; do
    [ -f "$f" ] && specs+=("$f")
  done
else
  echo "SKIP: $SHARED/corpora/openapi not found; only the hand-written specs are compared" >&2
fi
# Public descriptions of real or realistic APIs, from a package that collects them.
OAS_EXAMPLES=${OAS_EXAMPLES:-@readme/oas-examples@8.2.2}
if (cd "$WORK" && npm pack --silent "$OAS_EXAMPLES" > pack.txt 2> /dev/null); then
  tar -xzf "$WORK/$(tail -n 1 "$WORK/pack.txt")" -C "$WORK"
  for f in 3.0/yaml/petstore.yaml 3.0/yaml/petstore-expanded.yaml 3.0/yaml/uspto.yaml \
           3.1/yaml/train-travel.yaml 3.1/yaml/readme.yaml; do
    specs+=("$WORK/package/$f")
  done
else
  echo "SKIP: npm pack $OAS_EXAMPLES failed; public descriptions not compared" >&2
fi
specs+=("$ROOT/crates/prevention/tests/specs/shop-bad.yaml" "$ROOT/crates/prevention/tests/specs/shop-good.yaml")

# Wall time of a command in milliseconds (median of $RUNS).
time_ms() {
  local times=() i s e
  for ((i = 0; i < RUNS; i++)); do
    s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N)
    times+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

echo "## Prevention — $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Spectral $("$SPECTRAL" --version) with @stoplight/spectral-owasp-ruleset $(node -p "require('$SPECTRAL_DIR/node_modules/@stoplight/spectral-owasp-ruleset/package.json').version"); ensuresec: \`$(basename "$(dirname "$BIN")")\` build."
echo
for spec in "${specs[@]}"; do
  name=$(basename "$spec")
  "$SPECTRAL" lint "$spec" -r "$SPECTRAL_DIR/owasp.yaml" -f json -o "$WORK/$name.spectral.json" -q > /dev/null 2>&1 || true
  "$BIN" audit api "$spec" --format json --fail-on never > "$WORK/$name.ours.json"
  ts=$(time_ms "$SPECTRAL" lint "$spec" -r "$SPECTRAL_DIR/owasp.yaml" -f json -o "$WORK/t.json" -q)
  to=$(time_ms "$BIN" audit api "$spec" --format json --fail-on never)
  python3 "$ROOT/bench/prevention_compare.py" "$name" "$WORK/$name.spectral.json" "$WORK/$name.ours.json" "$ts" "$to"
done

echo "### Auditor in process and model checker (cargo bench -p ensuresec-prevention)"
echo
echo "| what | subject | size | time |"
echo "|---|---|---|---|"
(cd "$ROOT" && ENSURESEC_SHARED_DIR="$SHARED" nice -n 15 cargo bench -q -p ensuresec-prevention --bench prevention 2> /dev/null)
