#!/usr/bin/env bash
# Validates the admin API's OpenAPI document, as the running server serves it, with an independent
# validator (the PyPI package openapi-spec-validator, installed into a venv under target/ once).
# Usage: scripts/validate-openapi.sh [path/to/switchboard]   (default: target/release/switchboard)
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
bin="${1:-$target/release/switchboard}"
venv="$target/openapi-venv"
validator_version="0.9.0"

if [ ! -x "$bin" ]; then
  echo "validate-openapi: no server binary at $bin; build it first (cargo build --release -p switchboard)" >&2
  exit 2
fi

# --- the validator (skipped when already installed at this version) ---
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('openapi-spec-validator') != '$validator_version')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==$validator_version"
fi

# --- the document, from a server on loopback ---
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Port 0: the kernel picks a free port, which the JSON log's start-up line names.
"$bin" serve --bind 127.0.0.1:0 --udp-port 0 --tcp-port 0 --log-format json >"$work/server.log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 100); do
  addr="$(grep -o '"http":"[^"]*"' "$work/server.log" | head -n1 | cut -d'"' -f4 || true)"
  if [ -n "$addr" ] && curl -fsS "http://$addr/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "validate-openapi: the server exited; its log:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$addr" ]; then
  echo "validate-openapi: the server did not report its address; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
curl -fsS "http://$addr/api/v1/openapi.json" -o "$work/openapi.json"

"$venv/bin/openapi-spec-validator" "$work/openapi.json"
echo "validate-openapi: the served document is valid OpenAPI"
