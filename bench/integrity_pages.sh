#!/usr/bin/env bash
# Payment-page monitor benchmark (not in CI): N generated checkout pages (each ~60 KiB of HTML
# with 12 external and 4 inline scripts, 3 forms, an iframe and a CSP), served by Python's
# http.server on localhost; `ensuresec integrity pages scan` fetches every page and its scripts,
# inventories them (html5ever), compares with the previous inventory and saves it. Reported:
# pages/s of the first scan (record only) and of the second (compare: CSP, forms, scripts,
# text/structure similarity), one page at a time as `serve` does per page.
#
# Usage: bench/integrity_pages.sh   (N=200 PROFILE=release by default; PROFILE=dev uses the
#        debug build, whose dependencies are built at opt-level 2; BIN=path uses that binary)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-200}
PROFILE=${PROFILE:-release}
PORT=${PORT:-18091}
TARGET=${CARGO_TARGET_DIR:-target}
if [ -n "${BIN:-}" ]; then
  echo "using $BIN as built"
elif [ "$PROFILE" = release ]; then
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

python3 - "$TMP/site" "$N" "$PORT" "$TMP/ensuresec.toml" <<'PY'
import os, random, sys
root, n, port, config = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(11)
os.makedirs(f"{root}/js", exist_ok=True)
words = "basket total shipping delivery card number expiry security code pay order summary shoes socks price tax voucher address".split()
for s in range(12):
    with open(f"{root}/js/lib{s}.js", "w") as f:
        f.write("function f%d(x){return x*%d}\n" % (s, s) * rng.randint(50, 400))
pages = []
for i in range(n):
    body = []
    for _ in range(300):
        body.append("<div class=row><span>%s</span><p>%s</p></div>" % (rng.choice(words), " ".join(rng.choices(words, k=25))))
    scripts = "".join(f'<script src="/js/lib{s}.js"></script>' for s in range(12))
    inline = "".join(f"<script>window.cfg{s} = {{page: {i}, n: {s}}};</script>" for s in range(4))
    forms = "".join(f'<form action="/pay/{k}" method="post"><input name=card><input name=cvc></form>' for k in range(3))
    html = f"<!doctype html><html><head><title>Checkout {i}</title>{scripts}{inline}</head><body><h1>Checkout</h1>{''.join(body)}{forms}<iframe src=\"https://psp.example/fields\"></iframe></body></html>"
    name = f"checkout{i}.html"
    with open(f"{root}/{name}", "w") as f:
        f.write(html)
    pages.append(f"http://127.0.0.1:{port}/{name}")
with open(config, "w") as f:
    f.write("[integrity]\n")
    for p in pages:
        f.write(f'[[integrity.pages]]\nurl = "{p}"\n')
    f.write("[integrity.page_monitor]\nmax_scripts = 100\n")
PY
(cd "$TMP/site" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/js/lib0.js" >/dev/null && break; sleep 0.1; done

BYTES=$(du -sb "$TMP/site" | cut -f1)
echo "pages: $N, site bytes: $BYTES, load: $(cat /proc/loadavg)"
for run in first second; do
  start=$(date +%s.%N)
  "$BIN" integrity pages scan --config "$TMP/ensuresec.toml" --data-dir "$TMP/data" >/dev/null || true
  end=$(date +%s.%N)
  python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print(f'{sys.argv[4]} scan: {t:.2f} s, {n/t:.1f} pages/s')" "$start" "$end" "$N" "$run"
done
