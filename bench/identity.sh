#!/usr/bin/env bash
# Issue 14's figures: presentations verified per second on one core (criterion, in process:
# ES256 and EdDSA, age credential with decoys and a status list entry, KB-JWT), then the
# latency of POST /v1/identity/verify over HTTP at a steady rate: a release `ensuresec serve`
# with [identity] (the audit log on, as shipped) and the open-loop driver `identity` of
# bench/loadgen on the same machine, over loopback.
# Usage: bench/identity.sh [rate per second] [seconds] [connections]
#        AUDIT_WAIT=false bench/identity.sh …   answers before the audit record is durable
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-500}
SECONDS_=${2:-20}
CONNECTIONS=${3:-4}
TARGET=${CARGO_TARGET_DIR:-target}
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench -q -p ensuresec-identity --bench verify -- --noplot 2>&1 | grep -E "^identity/|time:|thrpt:"
cargo build --release -q -p ensuresec -p ensuresec-loadgen
WORK=$(mktemp -d)
TOKEN=es_bench_identity_token_0123456789
PORT=$((20000 + RANDOM % 20000))
BIN="$TARGET/release/ensuresec"
"$BIN" identity issuer init --dir "$WORK/issuer" --issuer https://bank.example > /dev/null
"$BIN" identity wallet init --dir "$WORK/wallet" > /dev/null
"$BIN" identity issuer issue --dir "$WORK/issuer" --holder-jwk "$WORK/wallet/holder.pub.jwk" \
  --birthdate 1990-05-17 > "$WORK/credential.sd-jwt" 2> /dev/null
"$BIN" identity status-list token --dir "$WORK/issuer" > "$WORK/status.jwt" 2> /dev/null
cat > "$WORK/ensuresec.toml" <<TOML
[identity]
enabled = true
trusted_issuers = ["$WORK/issuer/metadata.json"]
status_lists = ["$WORK/status.jwt"]
audit_wait = ${AUDIT_WAIT:-true}
TOML
ENSURESEC_ADMIN_TOKEN=$TOKEN ENSURESEC_LOG=warn "$BIN" serve --config "$WORK/ensuresec.toml" \
  --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" > "$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
  sleep 0.1
done
echo "audit_wait = ${AUDIT_WAIT:-true}; before HTTP: load $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET/release/identity" --server "http://127.0.0.1:$PORT" --token "$TOKEN" \
  --credential "$WORK/credential.sd-jwt" --holder-key "$WORK/wallet/holder.jwk" \
  --rate "$RATE" --seconds "$SECONDS_" --connections "$CONNECTIONS"
echo "after: load $(cut -d' ' -f1-3 /proc/loadavg); server resident memory $(grep VmRSS /proc/$SERVER/status | tr -s ' ')"
