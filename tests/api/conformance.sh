#!/usr/bin/env bash
# The API conformance test: a real `ensuresec serve` (the binary cargo built for the tests) on a
# fresh data directory, and schemathesis (from PyPI, pinned) generating requests for every
# operation of the server's own OpenAPI document, checking each answer against it: no server
# error, every status and content type documented, every body matching its schema, schema-valid
# requests taken, authentication not ignored. Fails on any finding; the report names the
# request that shows it. Usage: tests/api/conformance.sh [path of the ensuresec binary]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TARGET=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
BIN=$(realpath "${1:-$TARGET/debug/ensuresec}")
SCHEMATHESIS_VERSION=4.32.5
VENV="$TARGET/api-conformance-venv"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TOKEN=es_api_conformance_token_0123456789
PORT=$((20000 + RANDOM % 20000))
# An issuer of age credentials and its status list, so that the identity operations work.
"$BIN" identity issuer init --dir "$WORK/issuer" --issuer https://bank.example > /dev/null
"$BIN" identity status-list token --dir "$WORK/issuer" > "$WORK/status.jwt"
printf '[identity]\nenabled = true\nverifier_id = "https://shop.example"\n' > "$WORK/ensuresec.toml"
printf 'trusted_issuers = ["%s"]\nstatus_lists = ["%s"]\n' "$WORK/issuer/metadata.json" \
  "$WORK/status.jwt" >> "$WORK/ensuresec.toml"
# The reference shop's asset model, so that the asset, diagnosis and recovery operations work.
ENSURESEC_ADMIN_TOKEN=$TOKEN ENSURESEC_LOG=warn "$BIN" serve --config "$WORK/ensuresec.toml" \
  --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --assets crates/assets/models/shop.yaml \
  > "$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/openapi.json" \
  > "$WORK/openapi.json"
# Something for the operations on one incident, alert or audit record to work on: thirty failed
# logins from one address become alerts and incident 1 (tests/api/schemathesis.toml points the
# operations on one incident at it).
for i in $(seq 0 29); do
  printf '{"type":"auth","time":"2026-11-21T10:00:%02dZ","source":"conformance",' "$i"
  printf '"data":{"account":"victim%d","ip":"203.0.113.66","action":"login","outcome":"failure"}}\n' "$i"
done | curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: application/x-ndjson' \
  --data-binary @- "http://127.0.0.1:$PORT/v1/events" > /dev/null
for _ in $(seq 1 300); do
  curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/incidents/1" > /dev/null &&
    break
  sleep 0.1
done
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/incidents/1" > /dev/null || {
  echo "tests/api/conformance.sh: the seeded attack did not become incident 1" >&2
  exit 1
}
# The live stream never ends, so it is left out; every other operation is tested. A fixed seed
# and a bounded number of cases per operation make the run repeatable and keep it to about a
# minute. Run from the scratch directory, where schemathesis leaves its cache.
cd "$WORK"
"$VENV/bin/schemathesis" --config-file "$ROOT/tests/api/schemathesis.toml" run openapi.json \
  --url "http://127.0.0.1:$PORT" --header "Authorization: Bearer $TOKEN" \
  --exclude-path /v1/stream \
  --seed 1 --max-examples "${API_CONFORMANCE_EXAMPLES:-100}" --workers 1 \
  --generation-database none --no-color
