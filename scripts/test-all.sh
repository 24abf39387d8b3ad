#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (idempotently), builds, validates
# the served OpenAPI document, then runs unit, media (virtual clock), integration (webrtc-rs peers)
# and headless-Chromium tests.
# WebRTC tests run inside a private network namespace with only `lo` up: nothing leaves the host.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# --- installs (each skipped when already present) ---
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi

# --- builds (need the registry, so outside the namespace) ---
cargo build --release -p switchboard
cargo test --workspace --no-run --quiet

# --- the served OpenAPI document, checked by an independent validator (pip venv under target/) ---
scripts/validate-openapi.sh "${CARGO_TARGET_DIR:-target}/release/switchboard"

# --- Rust tests: unit, virtual-clock media, integration with webrtc-rs peers ---
unshare --net sh -c 'ip link set lo up && cargo test --workspace --offline'

# --- real Chromium against the release binary ---
SWITCHBOARD_BIN="${CARGO_TARGET_DIR:-target}/release/switchboard" tests/e2e/run.sh
