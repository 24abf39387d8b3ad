#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (idempotently), builds, validates
# the served OpenAPI document and the deployment files, then runs unit, media (virtual clock),
# integration (webrtc-rs peers) and headless-Chromium tests, the last also over a shaped link.
# WebRTC tests run inside a private network namespace with only `lo` up, or in namespaces joined
# by veth pairs that tests/netlab makes (10.77.0.0/24, no route out): nothing leaves the host.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# --- installs (each skipped when already present) ---
if ! command -v chromium >/dev/null || ! command -v firefox-esr >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium firefox-esr >/dev/null
fi
if ! (cd tests/e2e && npm ls --depth=0 >/dev/null 2>&1); then
  # playwright-core (Chromium), puppeteer-core (Firefox over BiDi), typescript (the SDK's type check)
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi

# --- structure: no import circles within a crate, no source file over 600 lines; the vendored
#     crates differ from the published ones only where their PATCHES.md says (fetches them) ---
scripts/check-structure.py
scripts/check-vendor.py

# --- builds (need the registry, so outside the namespace) ---
cargo build --release -p switchboard
cargo test --workspace --no-run --quiet

# --- the served OpenAPI document, checked by an independent validator (pip venv under target/) ---
scripts/validate-openapi.sh "${CARGO_TARGET_DIR:-target}/release/switchboard"
# --- generated requests against that document: no 5xx, no schema violation, no panic ---
scripts/api-schemathesis.sh "${CARGO_TARGET_DIR:-target}/release/switchboard"

# --- deployment files: Kustomize overlays rendered and validated offline, yamllint, broken cases
#     rejected, Dockerfile and manifests checked against the binary (pip venv under target/) ---
tests/deploy/run.sh "${CARGO_TARGET_DIR:-target}/release/switchboard"

# --- Rust tests: unit, virtual-clock media, integration with webrtc-rs peers ---
unshare --net sh -c 'ip link set lo up && cargo test --workspace --offline'

# --- real Chromium against the release binary ---
SWITCHBOARD_BIN="${CARGO_TARGET_DIR:-target}/release/switchboard" tests/e2e/run.sh

# --- real Chromium over an impaired link (network namespaces, tbf rate, NFQUEUE delay): one
#     subscriber shaped to 500 and 100 kbit/s adapts its layers, pauses video, recovers ---
SWITCHBOARD_BIN="${CARGO_TARGET_DIR:-target}/release/switchboard" ARTIFACTS_DIR="${CARGO_TARGET_DIR:-target}/netlab" tests/netlab/run.sh

# --- benchmark smoke: loadgen (webrtc-rs peers) against the release binary in its own namespace,
#     ~10 s; asserts packets were forwarded and nothing failed (no performance threshold) ---
BENCH_RESULTS="${CARGO_TARGET_DIR:-target}/bench" bench/run smoke >/dev/null
"${CARGO_TARGET_DIR:-target}/release/loadgen" check "${CARGO_TARGET_DIR:-target}/bench/smoke.json"
