#!/usr/bin/env bash
# Web-integrity benchmark (not in CI), on one generated tree of N files (100,000 by default:
# PHP, JS, CSS, HTML and images-like binaries, 200 B to 64 KiB, a web shop's mix):
#   1. baseline: `ensuresec integrity baseline` (hash with BLAKE3 and copy every file into the
#      store, sign) and `ensuresec integrity status` (hash only), beside `sha256sum` and `b3sum`
#      over the same files in the same run: MB/s and files/s;
#   2. change → alert latency: `serve` watching the tree, a file planted, the time until its
#      alert is readable at GET /v1/alerts (REPEAT times; median and max);
#   3. YARA throughput: `ensuresec integrity scan` (yara-x, shipped rules) against the `yara`
#      Debian package (libyara 4) with the same rules on the same tree, as a ratio.
# The page cache is warm for every tool (each runs once before it is timed).
#
# Usage: bench/integrity.sh            (N=100000 REPEAT=20 PROFILE=release by default;
#        PROFILE=dev uses the debug build, whose dependencies are built at opt-level 2)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
REPEAT=${REPEAT:-20}
PROFILE=${PROFILE:-release}
PORT=${PORT:-18090}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v yara >/dev/null || ! command -v b3sum >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yara b3sum jq curl || true
fi
command -v b3sum >/dev/null || echo "b3sum: not installable here; its column stays empty"

TARGET=${CARGO_TARGET_DIR:-target}
if [ "$PROFILE" = release ]; then
  nice -n 15 cargo build --release --locked -p ensuresec
  BIN="$TARGET/release/ensuresec"
else
  nice -n 15 cargo build --locked -p ensuresec
  BIN="$TARGET/debug/ensuresec"
fi

TMP=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
WWW="$TMP/www"

echo "generating $N files in $WWW"
python3 - "$WWW" "$N" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(11)
words = "function return var let const if else for while echo array class public private static new this $value $item $order $cart checkout payment customer product price".split()
kinds = [("php", 0.45), ("js", 0.2), ("css", 0.1), ("html", 0.1), ("png", 0.15)]
for i in range(n):
    d = os.path.join(root, f"m{i % 97:02d}", f"s{(i // 97) % 41:02d}")
    os.makedirs(d, exist_ok=True)
    ext = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
    size = int(min(65536, max(200, rng.lognormvariate(8.3, 1.0))))
    if ext == "png":
        data = b"\x89PNG\r\n\x1a\n" + os.urandom(size)
    else:
        out, total = [], 0
        while total < size:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + ";\n"
            out.append(line); total += len(line)
        data = "".join(out).encode()
    with open(os.path.join(d, f"f{i}.{ext}"), "wb") as f:
        f.write(data)
PY
FILES=$(find "$WWW" -type f | wc -l)
BYTES=$(find "$WWW" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
MB=$(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b / 1e6}')
echo "$FILES files, $MB MB"

secs() { local s; s=$(date +%s.%N); "$@" >/dev/null; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}'; }
rate() { awk -v t="$1" -v b="$BYTES" -v f="$FILES" 'BEGIN {printf "%.2f s, %.0f MB/s, %.0f files/s", t, b / 1e6 / t, f / t}'; }
list() { (cd "$WWW" && find . -type f -print0 | sort -z); }

# Warm the page cache once for everyone.
list | (cd "$WWW" && xargs -0 cat) >/dev/null
T_SHA=$(secs bash -c "cd '$WWW' && find . -type f -print0 | xargs -0 -P2 -n 500 sha256sum")
if command -v b3sum >/dev/null; then
  T_B3=$(secs bash -c "cd '$WWW' && find . -type f -print0 | xargs -0 -P2 -n 500 b3sum")
fi
T_BASE=$(secs "$BIN" integrity baseline "$WWW" --data-dir "$TMP/data")
T_STATUS=$(secs "$BIN" integrity status --data-dir "$TMP/data")
echo "sha256sum (2 processes):        $(rate "$T_SHA")"
[ -n "${T_B3:-}" ] && echo "b3sum (2 processes):            $(rate "$T_B3")"
echo "integrity baseline (hash+copy): $(rate "$T_BASE")"
echo "integrity status (hash):        $(rate "$T_STATUS")"

# YARA: the same shipped rules with libyara 4 (yara -r, 2 threads) and yara-x.
RULES=crates/integrity/rules
cat "$RULES"/*.yar >"$TMP/all.yar"
T_YARA=$(secs yara -r -p 2 "$TMP/all.yar" "$WWW")
T_YX=$(secs bash -c "'$BIN' integrity scan '$WWW' --data-dir '$TMP/data' || [ \$? = 3 ]")
echo "yara 4 (yara -r -p 2):          $(rate "$T_YARA")"
echo "integrity scan (yara-x):        $(rate "$T_YX")"
awk -v a="$T_YARA" -v b="$T_YX" 'BEGIN {printf "yara-x / yara throughput ratio: %.2f\n", a / b}'

# Change → alert latency through serve.
cat >"$TMP/ensuresec.toml" <<TOML
[integrity]
root = "$WWW"
scan_interval_seconds = 0
TOML
export ENSURESEC_ADMIN_TOKEN=bench_admin_token_0123456789
"$BIN" serve --config "$TMP/ensuresec.toml" --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$TMP/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 600); do grep -q "for unplanned changes" "$TMP/serve.log" && break; sleep 0.5; done
grep -q "for unplanned changes" "$TMP/serve.log" || { cat "$TMP/serve.log"; exit 1; }
# The start-up scan of the whole tree must be over before timing: wait for a first alert.
echo '<?php' >"$WWW/warmup.php"
for _ in $(seq 1200); do
  curl -sf -H "Authorization: Bearer $ENSURESEC_ADMIN_TOKEN" "http://127.0.0.1:$PORT/v1/alerts?limit=5" | grep -q warmup.php && break
  sleep 0.5
done
LAT=()
for i in $(seq "$REPEAT"); do
  t0=$(date +%s%N)
  echo "<?php @eval(\$_POST['x$i']);" >"$WWW/m00/planted-$i.php"
  until curl -sf -H "Authorization: Bearer $ENSURESEC_ADMIN_TOKEN" "http://127.0.0.1:$PORT/v1/alerts?limit=5" | grep -q "planted-$i.php"; do
    [ $(( $(date +%s%N) - t0 )) -gt 30000000000 ] && { echo "no alert for planted-$i.php in 30 s"; exit 1; }
  done
  LAT+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
printf '%s\n' "${LAT[@]}" | sort -n | awk '{a[NR]=$1} END {printf "change -> alert latency over %d changes: median %d ms, max %d ms (settle window 100 ms included)\n", NR, a[int((NR+1)/2)], a[NR]}'
