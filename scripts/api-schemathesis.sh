#!/usr/bin/env bash
# Generated requests against the admin API, from the OpenAPI document the server serves
# (schemathesis from PyPI, in a venv under target/): every operation but the drain (which stops the
# server) gets schema-driven and edge-case requests. Fails on any 5xx, any response or SSE event
# that violates the document, or a panic in the server's log (a panic inside a spawned task does
# not fail an HTTP check, so the log is read too).
# Usage: scripts/api-schemathesis.sh [path/to/switchboard]   (default: target/release/switchboard)
# SCHEMATHESIS_EXAMPLES=N sets the examples per operation (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
bin="${1:-$target/release/switchboard}"
venv="$target/schemathesis-venv"
version="4.32.5"

if [ ! -x "$bin" ]; then
  echo "api-schemathesis: no server binary at $bin; build it first (cargo build --release -p switchboard)" >&2
  exit 2
fi
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$version')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --bind 127.0.0.1:0 --udp-port 0 --tcp-port 0 --store-path "$work/store.db" --log-format json >"$work/server.log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 100); do
  addr="$(grep -o '"http":"[^"]*"' "$work/server.log" | head -n1 | cut -d'"' -f4 || true)"
  if [ -n "$addr" ] && curl -fsS "http://$addr/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "api-schemathesis: the server exited; its log:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$addr" ] || { echo "api-schemathesis: the server did not report its address" >&2; cat "$work/server.log" >&2; exit 1; }

# The development key and secret on both sides: the token is signed the way the server checks it.
admin="$("$bin" token --admin)"
# A room with the documented example name, so that operations on it reach the room's logic.
curl -fsS -X POST "http://$addr/api/v1/rooms" -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"name": "standup", "empty_timeout_s": 3600}' >/dev/null

status=0
# The admin gate allows 20 requests/s per caller: stay under it, or most answers are 429.
"$venv/bin/st" run "http://$addr/api/v1/openapi.json" -u "http://$addr" \
  -H "Authorization: Bearer $admin" \
  --checks not_a_server_error,response_schema_conformance \
  --exclude-path-regex 'server/drain' \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-15}" --request-timeout 5 --rate-limit 1000/m \
  --no-color >"$work/schemathesis.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  cat "$work/schemathesis.log" >&2
  echo "api-schemathesis: generated requests found failures (exit $status)" >&2
  exit 1
fi
if grep -q 'panicked' "$work/server.log"; then
  grep -B2 -A10 'panicked' "$work/server.log" >&2
  echo "api-schemathesis: the server panicked while answering generated requests" >&2
  exit 1
fi
grep -E '^ *[0-9]+ generated' "$work/schemathesis.log" || true
echo "api-schemathesis: no 5xx, no schema violation, no panic"
