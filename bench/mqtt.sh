#!/usr/bin/env bash
# MQTT ingest side by side with the broker's own subscriber: a burst of sensor readings, one per
# message, published at once with QoS 1 to a Mosquitto of the bench's own (its default limits,
# but a queue of a million, as docs/delivery.md advises for bursts). One mosquitto_pub sends
# 20,000 messages and the next one goes on: Mosquitto 2.0.11 disconnects a publisher "due to
# out of memory" after about 34,000 messages at full speed, with any subscriber. Timed until `serve` has stored
# and acknowledged every message, and, on the same burst, until `mosquitto_sub` (QoS 1, keeps
# nothing) has received every message. Prints messages/s per run and the ratio of the medians.
# Usage: [SKIP_BUILD=1] bench/mqtt.sh [messages] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-100000}
ROUNDS=${2:-3}
TOKEN=es_bench_token_0123456789abcdef
PORT=18183
BROKER_PORT=18831
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Publishes the burst to topic $1, 20,000 messages per publisher, one publisher after another.
publish_burst() {
  for chunk in "$WORK"/chunk.*; do pub "$1" -l < "$chunk"; done
}

if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release -q -p ensuresec
fi
BIN=${CARGO_TARGET_DIR:-target}/release

cat > "$WORK/mosquitto.conf" <<EOF
listener $BROKER_PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
EOF
mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$BROKER_PORT) 2>/dev/null && break; sleep 0.1; done

python3 - "$MESSAGES" > "$WORK/burst.ndjson" <<'EOF'
import sys
for i in range(int(sys.argv[1])):
    print('{"type":"sensor_reading","time":"2026-11-21T%02d:%02d:%02dZ","source":"tracker",'
          '"data":{"sensor":"tt-%d","parcel_id":"P-%d","temperature_c":%.1f}}'
          % (i // 3600 % 24, i // 60 % 60, i % 60, i % 1000, i % 1000, 4 + (i % 30) / 10))
EOF
split -l 20000 "$WORK/burst.ndjson" "$WORK/chunk."
PROBE='{"type":"sensor_reading","time":"2026-11-21T00:00:00Z","source":"tracker","data":{"sensor":"probe","temperature_c":5.0}}'
pub() { mosquitto_pub -h 127.0.0.1 -p $BROKER_PORT -q 1 -t "$1" "${@:2}"; }
now() { date +%s.%N; }
rate() { awk -v n="$MESSAGES" -v a="$1" -v b="$2" 'BEGIN{printf "%.0f", n/(b-a)}'; }

# Publishes a probe to topic $2 every second until `$1` (a command printing the messages the
# subscriber has seen) prints at least 1: the subscription is then in place.
probe_until_seen() {
  for _ in $(seq 60); do
    pub "$2" -m "$PROBE"
    for _ in $(seq 20); do [ "$($1)" -ge 1 ] && return; sleep 0.05; done
  done
  echo "the subscriber never saw a probe" >&2; exit 1
}

ingested() { curl -s http://127.0.0.1:$PORT/metrics | awk '/^ensuresec_mqtt_messages_total\{outcome="ingested"\}/{s+=$2} END{print s+0}'; }
sub_lines() { wc -l < "$WORK/sub.out"; }
stored() { curl -s http://127.0.0.1:$PORT/metrics | awk '/^ensuresec_events_ingested_total/{s+=$2} END{print s+0}'; }

# One run of serve: prints messages/s, after checking every message was stored once.
run_serve() {
  local round=$1 topic="bench/$1/serve"
  rm -rf "$WORK/data"
  printf '[[sources.mqtt]]\nbroker = "127.0.0.1:%s"\ntopics = ["%s/#"]\nclient_id = "bench-serve-%s-%s"\n' \
    "$BROKER_PORT" "$topic" "$round" "$$" > "$WORK/serve.toml"
  ENSURESEC_ADMIN_TOKEN=$TOKEN ENSURESEC_LOG=warn ENSURESEC_DETECTION__WEB__ENABLED=false \
    $BIN/ensuresec serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" --config "$WORK/serve.toml" > "$WORK/serve.log" 2>&1 &
  local server=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
  probe_until_seen ingested "$topic/probe"
  local probes target t0 t1
  probes=$(ingested)
  target=$((probes + MESSAGES))
  t0=$(now)
  publish_burst "$topic/burst"
  until [ "$(ingested)" -ge "$target" ]; do sleep 0.02; done
  t1=$(now)
  local events
  events=$(stored)
  kill $server; wait $server 2>/dev/null || true
  if [ "$events" != "$target" ]; then
    echo "serve stored $events events for $target messages" >&2; exit 1
  fi
  rate "$t0" "$t1"
}

# One run of mosquitto_sub on the same burst: prints messages/s.
run_sub() {
  local round=$1 topic="bench/$1/sub"
  mosquitto_sub -h 127.0.0.1 -p $BROKER_PORT -q 1 -t "$topic/#" > "$WORK/sub.out" &
  local sub=$!
  probe_until_seen sub_lines "$topic/probe"
  local target t0 t1
  target=$(( $(sub_lines) + MESSAGES ))
  t0=$(now)
  publish_burst "$topic/burst"
  until [ "$(sub_lines)" -ge "$target" ]; do sleep 0.02; done
  t1=$(now)
  kill $sub; wait $sub 2>/dev/null || true
  rate "$t0" "$t1"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD), $(mosquitto -h 2>&1 | head -1)"
echo "$MESSAGES messages of one sensor reading each, published at once (mosquitto_pub -l, QoS 1), $ROUNDS rounds"
echo
ours="" peer=""
for round in $(seq "$ROUNDS"); do
  ours="$ours $(run_serve "$round")"
  peer="$peer $(run_sub "$round")"
done
mo=$(echo "$ours" | median) mp=$(echo "$peer" | median)
echo "| subscriber | messages/s, each run | median |"
echo "|---|---|---|"
echo "| ensuresec serve (stored, detected, acknowledged) |$ours | $mo |"
echo "| mosquitto_sub (received only) |$peer | $mp |"
echo
echo "ratio ensuresec / mosquitto_sub (medians): $(awk -v a="$mo" -v b="$mp" 'BEGIN{printf "%.3f", a/b}')"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
