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
# talk to a real CrowdSec bouncer and use nftables in a network namespace.
for tool in cc:gcc pkg-config:pkg-config softflowd:softflowd chromium:chromium node:nodejs npm:npm \
  crowdsec-custom-bouncer:crowdsec-custom-bouncer nft:nftables; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}"
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq "${need[@]}"
  fi
fi

# The response tests send e-mail to a real SMTP server (aiosmtpd, from PyPI).
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q aiosmtpd

cargo test --workspace --locked "$@"

# The dashboard in a real headless Chromium, against the binary cargo just built.
(cd tests/browser && npm ci --silent --no-audit --no-fund)
DASHBOARD_TEST_BIN="${CARGO_TARGET_DIR:-target}/debug/ensuresec" node --test tests/browser/
