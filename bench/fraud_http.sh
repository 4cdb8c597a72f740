#!/usr/bin/env bash
# Latency of POST /v1/payments/score over HTTP at a steady rate: a release `ensuresec serve`
# (fresh data directory) and the open-loop driver `payments` of bench/loadgen on the same
# machine, over loopback. The server scores with the rules and a model over the online
# features, trained by `fraud train`'s defaults on the in-process bench's generated rows
# (printed by the fraud crate's `training_rows` example, so both benches score with the same
# model): every call walks the trees and explains the score; NO_MODEL=1 serves the rules only.
# The feature state's journal runs as shipped (synced every 50 ms); JOURNAL_SYNC_MS=0 turns it
# off, another value sets its interval. STATE_CARDS=n starts the server on a state file of n
# cards (written by the fraud crate's `state_of_cards` example, dated just before the load's
# payments) and spreads the payments over those cards, so that each looks up a card of a full
# state; the state then takes about a gigabyte at ten million. SAVE_STATE_SECS=n writes the
# state every n seconds while the load runs (`serve` does every 300 by default); SWEEP_SECS=n
# sets `[fraud] sweep_secs` (0: no pass forgetting expired entities). Prints the
# machine load, the model's size, the latency quantiles, the server's CPU time per request,
# the entities held and forgotten, the writes of the state, and how many payments the journal
# wrote. SERVE_BIN=path serves with
# another build of `ensuresec` (to compare two builds alternately on one machine). TLS=1 serves
# HTTPS (rustls) with a certificate made for the run by openssl, trusted by the load generator.
# FRESH=1 opens a new connection for every request, as a client that keeps no connection alive
# does (with TLS=1 each resumes an earlier TLS session, the client library's default);
# FRESH=full makes each TLS handshake a full one. By default the requests reuse keep-alive ones.
# Usage: [SKIP_BUILD=1] [NO_MODEL=1] [JOURNAL_SYNC_MS=ms] [STATE_CARDS=n] [SAVE_STATE_SECS=n]
#        [SWEEP_SECS=n] [SERVE_BIN=path] [TLS=1] [FRESH=1|full] bench/fraud_http.sh
#        [rate per second] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-2000}
SECONDS_=${2:-30}
CONNECTIONS=${3:-8}
TARGET=${CARGO_TARGET_DIR:-target}
SERVER_BIN=${SERVE_BIN:-$TARGET/release/ensuresec}
# SKIP_BUILD=1 uses the binaries already in the target directory as they are.
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release -q -p ensuresec -p ensuresec-loadgen
  cargo build --release -q -p ensuresec-fraud --example training_rows --example state_of_cards
fi
for bin in ensuresec payments examples/training_rows examples/state_of_cards; do
  if [ ! -x "$TARGET/release/$bin" ]; then
    echo "bench/fraud_http.sh: $TARGET/release/$bin is missing; run without SKIP_BUILD=1 or build it:" \
      "cargo build --release -p ensuresec -p ensuresec-loadgen &&" \
      "cargo build --release -p ensuresec-fraud --example training_rows --example state_of_cards" >&2
    exit 1
  fi
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TOKEN=es_bench_fraud_token_0123456789
PORT=$((20000 + RANDOM % 20000))
echo "[fraud]" > "$WORK/ensuresec.toml"
if [ -n "${JOURNAL_SYNC_MS:-}" ]; then
  echo "journal_sync_ms = $JOURNAL_SYNC_MS" >> "$WORK/ensuresec.toml"
fi
if [ -n "${SAVE_STATE_SECS:-}" ]; then
  echo "save_state_secs = $SAVE_STATE_SECS" >> "$WORK/ensuresec.toml"
fi
if [ -n "${SWEEP_SECS:-}" ]; then
  echo "sweep_secs = $SWEEP_SECS" >> "$WORK/ensuresec.toml"
fi
if [ -z "${NO_MODEL:-}" ]; then
  "$TARGET/release/examples/training_rows" > "$WORK/train.csv"
  "$TARGET/release/ensuresec" fraud train "$WORK/train.csv" --label label --time time \
    --out "$WORK/model.json" > "$WORK/train.json"
  python3 - "$WORK/train.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["training"]
print(f"model: {t['trees']} trees, the mean of {len(t['members'])} boosters")
PY
  printf 'model = "%s"\n' "$WORK/model.json" >> "$WORK/ensuresec.toml"
else
  echo "model: none (rules only)"
fi
# The load generator's payments start at event time 1,700,000,000; the state's cards end just
# before it, and the payments are spread over them (the generator's default: 100,000 cards).
CARDS=()
if [ -n "${STATE_CARDS:-}" ]; then
  CARDS=(--cards "$STATE_CARDS")
  mkdir -p "$WORK/data"
  started=$(date +%s)
  "$TARGET/release/examples/state_of_cards" "$WORK/data/fraud-state.bin" "$STATE_CARDS" 1700000000
  echo "state file written in $(( $(date +%s) - started )) s: $(du -h "$WORK/data/fraud-state.bin" | cut -f1)"
fi
# HTTPS: a private CA and a P-256 certificate for 127.0.0.1 signed by it, valid for a day,
# written for this run only (rustls, unlike curl, refuses a CA certificate as the server's own).
SCHEME=http
CURL_TLS=()
LOADGEN_TLS=()
FRESH_ARGS=()
case "${FRESH:-}" in
  "") ;;
  full) FRESH_ARGS=(--fresh-connections ${TLS:+--no-tls-resumption}) ;;
  *) FRESH_ARGS=(--fresh-connections) ;;
esac
if [ -n "${TLS:-}" ]; then
  SCHEME=https
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -days 1 -subj "/CN=bench CA" \
    -keyout "$WORK/ca-key.pem" -out "$WORK/ca.pem" 2> /dev/null
  openssl req "${ec[@]}" -subj /CN=127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.csr" \
    2> /dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n' > "$WORK/leaf.ext"
  openssl x509 -req -in "$WORK/cert.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca-key.pem" \
    -CAcreateserial -days 1 -extfile "$WORK/leaf.ext" -out "$WORK/cert.pem" 2> /dev/null
  printf '[server.tls]\ncert_file = "%s"\nkey_file = "%s"\n' "$WORK/cert.pem" "$WORK/key.pem" \
    >> "$WORK/ensuresec.toml"
  CURL_TLS=(--cacert "$WORK/ca.pem")
  LOADGEN_TLS=(--ca-cert "$WORK/ca.pem")
  echo "transport: HTTPS (rustls), P-256 certificate from a private CA"
fi
ENSURESEC_ADMIN_TOKEN=$TOKEN ENSURESEC_LOG=warn "$SERVER_BIN" serve \
  --config "$WORK/ensuresec.toml" \
  --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" > "$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
started=$(date +%s%N)
# A state of ten million cards takes seconds to read: wait up to five minutes.
for _ in $(seq 1 3000); do
  curl -sf "${CURL_TLS[@]}" "$SCHEME://127.0.0.1:$PORT/readyz" > /dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
echo "server ready in $(( ($(date +%s%N) - started) / 1000000 )) ms"
# The server says which model it scores with (none: rules only).
curl -sf "${CURL_TLS[@]}" -H "Authorization: Bearer $TOKEN" "$SCHEME://127.0.0.1:$PORT/v1/payments/status" |
  python3 -c 'import json, sys; print("server model:", json.load(sys.stdin)["model"])'
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# The server's CPU time (user and system, in clock ticks) from /proc: over the load it is what
# the requests cost, with the little the server does meanwhile on its own (journal, sweep).
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
ticks_before=$(server_ticks)
"$TARGET/release/payments" --server "$SCHEME://127.0.0.1:$PORT" --token "$TOKEN" \
  --rate "$RATE" --seconds "$SECONDS_" --connections "$CONNECTIONS" "${CARDS[@]}" \
  "${LOADGEN_TLS[@]}" "${FRESH_ARGS[@]}" | tee "$WORK/load.txt"
python3 - "$WORK/load.txt" $(( $(server_ticks) - ticks_before )) "$(getconf CLK_TCK)" <<'PY'
import re, sys
load, ticks, per_second = open(sys.argv[1]).read(), int(sys.argv[2]), int(sys.argv[3])
measured, warm = map(int, re.search(r"(\d+) measured \((\d+) warm-up\)", load).groups())
cpu_ms = ticks * 1000 / per_second
print(f"server CPU: {cpu_ms:.0f} ms over the {measured + warm} requests (warm-up included),"
      f" {1000 * cpu_ms / (measured + warm):.0f} µs per request")
PY
echo "after: load $(cut -d' ' -f1-3 /proc/loadavg); server resident memory $(grep VmRSS /proc/$SERVER/status | tr -s ' ')"
curl -sf "${CURL_TLS[@]}" -H "Authorization: Bearer $TOKEN" "$SCHEME://127.0.0.1:$PORT/v1/payments/status" |
  python3 -c 'import json, sys; s = json.load(sys.stdin); print("state:", s["entities"], "entities,", s["saves_from_journal"], "writes from the journal,", s["expired"], "expired,", s["evicted"], "evicted; journal:", s["journaled"], "payments written,", s["journal_dropped"], "dropped")'
