#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what the tests need, then runs them.
# Tests that use ../shared (public corpora) skip with a message when it is absent; with CI=true a
# missing corpus or service is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests need, installed only when missing: a C compiler, and softflowd (a
# real NetFlow/IPFIX exporter for the flow collector's tests). libmodsecurity3 and the CRS are
# needed only by bench/webattack.sh, which installs them itself.
need=()
# chromium, node and npm run the dashboard's browser tests (tests/browser); the response tests
# talk to a real CrowdSec bouncer and use nftables in a network namespace; the delivery tests
# publish over a real Mosquitto broker.
for tool in cc:gcc pkg-config:pkg-config softflowd:softflowd chromium:chromium node:nodejs npm:npm \
  crowdsec-custom-bouncer:crowdsec-custom-bouncer nft:nftables mosquitto_pub:mosquitto-clients \
  /usr/sbin/mosquitto:mosquitto; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  # The bouncer alone: its recommended CrowdSec engine registers online when installed, which
  # fails without internet access, and the tests need only the bouncer.
  bare=() rest=()
  for p in "${need[@]}"; do
    if [ "$p" = crowdsec-custom-bouncer ]; then bare+=("$p"); else rest+=("$p"); fi
  done
  [ ${#rest[@]} -eq 0 ] || $sudo apt-get install -y -qq "${rest[@]}"
  [ ${#bare[@]} -eq 0 ] || $sudo apt-get install -y -qq --no-install-recommends "${bare[@]}"
fi

# The MQTT tests publish to a real Mosquitto broker on localhost: start it when it is not running.
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  /usr/sbin/mosquitto -d -c /etc/mosquitto/mosquitto.conf
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break; sleep 0.1; done
fi

# The response tests send e-mail to a real SMTP server (aiosmtpd, from PyPI).
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q aiosmtpd

cargo test --workspace --locked "$@"

# The dashboard in a real headless Chromium, against the binary cargo just built.
(cd tests/browser && npm ci --silent --no-audit --no-fund)
DASHBOARD_TEST_BIN="${CARGO_TARGET_DIR:-target}/debug/ensuresec" node --test tests/browser/

# The HTTP API against its own OpenAPI document, with schemathesis (from PyPI, in a virtual
# environment of the target directory), against the same binary.
tests/api/conformance.sh
