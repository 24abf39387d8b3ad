#!/usr/bin/env bash
# Static checks of the web client, run by tests/e2e/run.sh before the browser tests (needs
# tests/e2e's npm packages: `npm ci` there). 1. The SDK's JSDoc types pass `tsc` (strict), and its
# .d.ts declarations, as `npm pack` would make them, build and type a TypeScript app
# (tests/e2e/types/consumer.ts). 2. Only the SDK opens connections:
# nothing else under web/ creates an RTCPeerConnection or a WebSocket. 3. The SDK touches no DOM
# (document, window, localStorage); media elements are the app's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tsc="$root/tests/e2e/node_modules/.bin/tsc"
if [ ! -x "$tsc" ]; then
  echo "check-web: no TypeScript compiler at $tsc (run npm ci in tests/e2e)" >&2
  exit 1
fi

"$tsc" -p "$root/web/sdk/tsconfig.json"
types="$(mktemp -d)"
trap 'rm -rf "$types"' EXIT
"$tsc" -p "$root/web/sdk/tsconfig.json" --noEmit false --declaration --emitDeclarationOnly --outDir "$types"
# A TypeScript app compiles against those declarations (and a wrong event name does not).
cp "$root/tests/e2e/types/consumer.ts" "$types/"
"$tsc" --noEmit --strict --target ES2022 --module ES2022 --moduleResolution bundler --lib ES2022,DOM \
  "$types/consumer.ts"

cd "$root/web"
failed=0
if grep -rnE 'new (RTCPeerConnection|WebSocket)\b' --include='*.js' --include='*.html' . | grep -v '^\./sdk/'; then
  echo "check-web: only web/sdk/ may open peer connections or WebSockets; use the SDK (docs/sdk.md)" >&2
  failed=1
fi
if grep -nE '\b(document|window|localStorage|sessionStorage)\.' sdk/*.js; then
  echo "check-web: the SDK must not touch the DOM or storage; leave that to the app" >&2
  failed=1
fi
[ "$failed" -eq 0 ] && echo "check-web: SDK types and boundaries OK"
exit "$failed"
