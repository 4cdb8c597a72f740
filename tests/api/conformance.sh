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
# The processes the test starts, stopped on the way out however it ends.
PIDS=()
cleanup() {
  if [ ${#PIDS[@]} -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
TOKEN=es_api_conformance_token_0123456789
PORT=$((20000 + RANDOM % 20000))
# An issuer of age credentials and its status list, so that the identity operations work.
"$BIN" identity issuer init --dir "$WORK/issuer" --issuer https://bank.example > /dev/null
"$BIN" identity status-list token --dir "$WORK/issuer" > "$WORK/status.jwt"
# A checkout page with an inline script for the page monitor, served on a free port, so that
# there is a script to authorise and revoke (tests/api/schemathesis.toml names its key).
mkdir "$WORK/site"
cp tests/api/checkout.html "$WORK/site/"
SITE_PORT=$((PORT + 1))
(cd "$WORK/site" && exec python3 -m http.server "$SITE_PORT" --bind 127.0.0.1) \
  > "$WORK/site.log" 2>&1 &
PIDS+=($!)
# Every incident starts two playbooks of tests/api/playbooks.yaml: a webhook to a port where
# nothing listens, which becomes a dead letter after its one attempt, and two steps that wait
# for approval. A probe that fails gives recovery something to diagnose and a run to show.
printf 'probes:\n  - asset: shop-api\n    tcp: { address: "127.0.0.1:9" }\n' > "$WORK/recovery.yaml"
printf 'actions:\n  - asset: edge\n    steps:\n      - restart: { command: ["true"] }\n' \
  >> "$WORK/recovery.yaml"
cat > "$WORK/ensuresec.toml" <<TOML
[identity]
enabled = true
verifier_id = "https://shop.example"
trusted_issuers = ["$WORK/issuer/metadata.json"]
status_lists = ["$WORK/status.jwt"]

[respond]
playbook_files = ["$ROOT/tests/api/playbooks.yaml"]
max_attempts = 1

[[respond.webhooks]]
name = "conformance"
url = "http://127.0.0.1:9/hook"
secret = { env = "CONFORMANCE_WEBHOOK_SECRET" }

[recovery]
file = "$WORK/recovery.yaml"

[[integrity.pages]]
url = "http://127.0.0.1:$SITE_PORT/checkout.html"
interval = 3600
TOML
# The reference shop's asset model, so that the asset, diagnosis and recovery operations work.
CONFORMANCE_WEBHOOK_SECRET=conformance-webhook-key ENSURESEC_ADMIN_TOKEN=$TOKEN \
  ENSURESEC_LOG=warn "$BIN" serve --config "$WORK/ensuresec.toml" \
  --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --assets crates/assets/models/shop.yaml \
  > "$WORK/serve.log" 2>&1 &
SERVER=$!
PIDS+=($SERVER)
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/openapi.json" \
  > "$WORK/openapi.json"
API="http://127.0.0.1:$PORT"
auth=(-H "Authorization: Bearer $TOKEN")
# Waits up to 30 s for the answer to GET $2 to hold $3 (a fixed string); fails naming $1.
wait_for() {
  for _ in $(seq 1 300); do
    local body
    body=$(curl -sf "${auth[@]}" "$API$2" 2>/dev/null) && [[ $body == *"$3"* ]] && return 0
    sleep 0.1
  done
  echo "tests/api/conformance.sh: $1 did not come (GET $2 never held $3)" >&2
  exit 1
}
# Something for the operations on one incident, alert, audit record, playbook step and dead
# letter to work on: thirty failed logins from one address become alerts and an incident, and
# every incident starts the test's playbooks. The page monitor's unauthorised script makes an
# incident too, so which one is incident 1 varies; both start the same playbooks.
for i in $(seq 0 29); do
  printf '{"type":"auth","time":"2026-11-21T10:00:%02dZ","source":"conformance",' "$i"
  printf '"data":{"account":"victim%d","ip":"203.0.113.66","action":"login","outcome":"failure"}}\n' "$i"
done | curl -sf "${auth[@]}" -H 'content-type: application/x-ndjson' --data-binary @- \
  "$API/v1/events" > /dev/null
wait_for "the seeded attack's incident" /v1/incidents "credential-stuffing-ip"
wait_for "incident 1's steps awaiting approval" /v1/incidents/1/steps \
  '"step_id":"reject-me","status":"awaiting_approval"'
wait_for "a dead letter" /v1/deadletters '"id":1,'
SCRIPT=$(grep -o 'inline:[0-9a-f]*' tests/api/schemathesis.toml)
wait_for "the page monitor's inventory" /v1/integrity/pages "\"$SCRIPT\""
# A script authorisation to revoke, and a recovery run to show.
curl -sf "${auth[@]}" -H 'content-type: application/json' \
  -d "{\"script\":\"$SCRIPT\",\"justification\":\"the API conformance test\"}" \
  "$API/v1/integrity/pages/authorizations" > /dev/null
curl -sf "${auth[@]}" -H 'content-type: application/json' \
  -d '{"reason":"the API conformance test"}' "$API/v1/recovery/runs" > /dev/null
# The live stream never ends, so it is left out; every other operation is tested. A fixed seed
# and a bounded number of cases per operation make the run repeatable and keep it to about a
# minute. Run from the scratch directory, where schemathesis leaves its cache.
cd "$WORK"
"$VENV/bin/schemathesis" --config-file "$ROOT/tests/api/schemathesis.toml" run openapi.json \
  --url "http://127.0.0.1:$PORT" --header "Authorization: Bearer $TOKEN" \
  --exclude-path /v1/stream \
  --seed 1 --max-examples "${API_CONFORMANCE_EXAMPLES:-100}" --workers 1 \
  --generation-database none --no-color
