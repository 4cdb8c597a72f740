#!/usr/bin/env bash
# Gateway benchmark (not in CI): four configurations in front of the same fast upstream (nginx
# serving a static page, one worker), measured one after the other on this machine:
#   1. direct to the upstream
#   2. a plain nginx reverse proxy (one worker, keep-alive to the upstream)
#   3. `ensuresec gateway` in blocking mode with the full rule set (release build, one worker
#      thread)
#   4. nginx with libnginx-mod-http-modsecurity and the OWASP CRS at paranoia level 1 (one worker)
# Throughput with `wrk -t1 -c32 -d10s`, then the latency the gateway adds over the plain proxy at
# 5,000 requests/s (p99, with `oha -q 5000`; older oha print seconds, newer milliseconds: both are
# read).
#
# Usage: bench/gateway.sh            (DURATION=10s, RATE=5000 by default; LATENCY=0 skips the
#        latency part and with it the installation of oha)
# Every nginx runs from a temporary directory as a foreground process on ports 18080-18083.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
RATE=${RATE:-5000}
LATENCY=${LATENCY:-1}
CONNECTIONS=32
P_DIRECT=18080 P_PROXY=18081 P_MODSEC=18082 P_GATEWAY=18083

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null \
  || [ ! -e /usr/lib/nginx/modules/ngx_http_modsecurity_module.so ] \
  || [ ! -d /usr/share/modsecurity-crs ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    nginx libnginx-mod-http-modsecurity modsecurity-crs wrk
fi
export PATH="$HOME/.cargo/bin:$PATH"
if [ "$LATENCY" = 1 ]; then command -v oha >/dev/null || nice -n 15 cargo install oha --locked; fi

nice -n 15 cargo build --release --locked -p ensuresec
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/ensuresec"

TMP=$(mktemp -d)
chmod 755 "$TMP" # nginx workers run as an unprivileged user and read the page from here
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

mkdir -p "$TMP/www"
# A small shop page (about 2 KB), the same for everyone.
{
  echo '<!doctype html><html><head><title>Pharmacy</title></head><body><h1>Catalogue</h1><ul>'
  for i in $(seq 1 40); do echo "<li><a href=\"/p/$i\">Product $i</a></li>"; done
  echo '</ul></body></html>'
} > "$TMP/www/index.html"

# nginx_conf NAME PORT SERVER_BODY [MAIN_EXTRA]
nginx_conf() {
  local name=$1 port=$2 body=$3 extra=${4:-}
  mkdir -p "$TMP/$name"
  cat > "$TMP/$name/nginx.conf" <<EOF
$extra
worker_processes 1;
pid $TMP/$name/nginx.pid;
error_log $TMP/$name/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/$name/body;
  proxy_temp_path $TMP/$name/proxy;
  fastcgi_temp_path $TMP/$name/fastcgi;
  uwsgi_temp_path $TMP/$name/uwsgi;
  scgi_temp_path $TMP/$name/scgi;
  upstream shop { server 127.0.0.1:$P_DIRECT; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    $body
  }
}
EOF
  nginx -p "$TMP/$name" -c "$TMP/$name/nginx.conf" -g 'daemon off;' &
  PIDS+=($!)
}

PROXY='location / { proxy_pass http://shop; proxy_http_version 1.1; proxy_set_header Connection ""; }'
nginx_conf direct $P_DIRECT "root $TMP/www; location / { index index.html; }"
nginx_conf proxy $P_PROXY "$PROXY"
cat > "$TMP/modsec.conf" <<EOF
Include /etc/nginx/modsecurity.conf
SecRuleEngine On
SecAuditEngine Off
Include /etc/modsecurity/crs/crs-setup.conf
Include /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf
Include /usr/share/modsecurity-crs/rules/*.conf
Include /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf
EOF
nginx_conf modsec $P_MODSEC "modsecurity on; modsecurity_rules_file $TMP/modsec.conf; $PROXY" \
  "load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;"

cat > "$TMP/gateway.toml" <<EOF
[gateway]
listen = "127.0.0.1:$P_GATEWAY"
[[gateway.routes]]
prefix = "/"
upstream = "http://127.0.0.1:$P_DIRECT"
mode = "blocking"
EOF
TOKIO_WORKER_THREADS=1 ENSURESEC_LOG=error "$BIN" gateway --config "$TMP/gateway.toml" >/dev/null &
PIDS+=($!)

HEADERS=(-H "User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench" -H "Accept: text/html,*/*;q=0.8"
  -H "Accept-Language: en")
for port in $P_DIRECT $P_PROXY $P_MODSEC $P_GATEWAY; do
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/index.html" -o /dev/null && break
    sleep 0.1
  done
  code=$(curl -s -o /dev/null -w '%{http_code}' -A "Mozilla/5.0 bench" -H "Accept: text/html" \
    "http://127.0.0.1:$port/index.html")
  [ "$code" = 200 ] || { echo "port $port answers $code, not 200" >&2; exit 1; }
done
# The two inspecting proxies must block an attack, or the comparison means nothing.
for port in $P_MODSEC $P_GATEWAY; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -A "Mozilla/5.0 bench" -H "Accept: text/html" \
    "http://127.0.0.1:$port/index.html?q=1%27%20UNION%20SELECT%20password%20FROM%20users--")
  [ "$code" = 403 ] || { echo "port $port does not block an attack ($code)" >&2; exit 1; }
done

rps() {
  wrk -t1 -c$CONNECTIONS -d"$DURATION" "${HEADERS[@]}" "http://127.0.0.1:$1/index.html" \
    | awk '/Requests\/sec/ {print $2}'
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load before: $(uptime)"
echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
DIRECT=$(rps $P_DIRECT)
PROXIED=$(rps $P_PROXY)
GATEWAY=$(rps $P_GATEWAY)
MODSEC=$(rps $P_MODSEC)
printf '%-34s %12s req/s\n' "direct (nginx static)" "$DIRECT" "nginx reverse proxy" "$PROXIED" \
  "ensuresec gateway (blocking, PL1)" "$GATEWAY" "nginx + ModSecurity + CRS (PL1)" "$MODSEC"
awk -v g="$GATEWAY" -v m="$MODSEC" -v p="$PROXIED" 'BEGIN {
  printf "gateway / modsecurity+crs: %.1fx (target >= 10x)\n", g / m
  printf "gateway / plain proxy:     %.0f%% (target >= 25%%)\n", 100 * g / p }'

p99() {
  oha --no-tui -z "$DURATION" -q "$RATE" -c $CONNECTIONS -H "User-Agent: Mozilla/5.0 bench" \
    -H "Accept: text/html" "http://127.0.0.1:$1/index.html" \
    | awk '/99.00%/ { v = $3; if ($4 == "secs" || $4 == "s") v *= 1000; else if ($4 == "us" || $4 == "µs") v /= 1000; print v }'
}
if [ "$LATENCY" = 1 ]; then
PROXY_P99=$(p99 $P_PROXY)
GATEWAY_P99=$(p99 $P_GATEWAY)
awk -v g="$GATEWAY_P99" -v p="$PROXY_P99" -v r="$RATE" 'BEGIN {
  printf "p99 at %d req/s: plain proxy %.3f ms, gateway %.3f ms, added %.3f ms (target < 1 ms)\n",
    r, p, g, g - p }'
fi
echo "load after: $(uptime)"
