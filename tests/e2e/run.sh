#!/usr/bin/env bash
# Runs the browser end-to-end tests (tests/e2e/*.test.js): installs Chromium, Firefox ESR and the npm packages
# when missing, checks the SDK's types and the web client's boundaries (scripts/check-web.sh), then
# runs the tests inside a fresh network namespace whose only interface is lo,
# so nothing can leave the machine. It does not build the server: pass the binary in
# SWITCHBOARD_BIN (default: ${CARGO_TARGET_DIR:-target}/release/switchboard).
# Arguments, when given, name the test files to run (default: every *.test.js).
# Artifacts (screenshots, server logs, page consoles) go to ${ARTIFACTS_DIR:-tests/e2e/artifacts}.
# UPDATE_DOCS_SCREENSHOTS=1 also refreshes docs/prejoin.png, docs/three-party.png and
# docs/dashboard.png from this run.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

target_dir="$(absolute "${CARGO_TARGET_DIR:-$root/target}")"
SWITCHBOARD_BIN="$(absolute "${SWITCHBOARD_BIN:-$target_dir/release/switchboard}")"
ARTIFACTS_DIR="$(absolute "${ARTIFACTS_DIR:-$here/artifacts}")"
export SWITCHBOARD_BIN ARTIFACTS_DIR

if [ ! -x "$SWITCHBOARD_BIN" ]; then
  echo "e2e: no server binary at $SWITCHBOARD_BIN (cargo build --release -p switchboard, or set SWITCHBOARD_BIN)" >&2
  exit 1
fi

# Installs need the network, so they happen before entering the namespace.
command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
export CHROMIUM_BIN="${CHROMIUM_BIN:-$(command -v chromium)}"
# Firefox ESR for the mixed-browser test (firefox.test.js, driven by puppeteer-core over BiDi).
command -v firefox-esr >/dev/null || (apt-get update && apt-get install -y firefox-esr)
export FIREFOX_BIN="${FIREFOX_BIN:-$(command -v firefox-esr)}"
# Any package of package-lock.json missing (a fresh clone, or a dependency added since): install.
if ! (cd "$here" && npm ls --depth=0 >/dev/null 2>&1); then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

# The SDK's types (tsc) and the web client's boundaries, before any browser starts.
"$root/scripts/check-web.sh"

mkdir -p "$ARTIFACTS_DIR"
cd "$here"
# One test file at a time: each starts its own server and browsers, and the machine has 2 cores.
if [ "$#" -eq 0 ]; then set -- ./*.test.js; fi
exec unshare --net sh -c 'ip link set lo up && exec node --test --test-concurrency=1 "$@"' sh "$@"
