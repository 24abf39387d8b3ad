#!/usr/bin/env bash
# Runs the impaired-network browser tests, as root: each builds the netlab namespaces (netlab.sh:
# sbsrv with the server on 10.77.0.1, sbc1..sbcN with one Chromium each). reachability.test.js
# blocks UDP for one page, which must join over ICE/TCP; shaped.test.js shapes one subscriber's
# link and asserts that the server adapts what it sends it. Arguments: test files to run instead
# of both (e.g. ./reachability.test.js). It does not
# build the server: pass the binary in SWITCHBOARD_BIN (default:
# ${CARGO_TARGET_DIR:-target}/release/switchboard). Artifacts (netlab-report.json, the server's
# log, one log per page) go to ${ARTIFACTS_DIR:-tests/netlab/artifacts}. Installs what is missing
# (Debian iptables and chromium, the npm packages of tests/e2e) before anything starts; nothing
# in the lab can reach anything outside 10.77.0.0/24. Bounded: the whole run stops within
# NETLAB_RUN_TIMEOUT_S (default 600) and tears down only what it created.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
e2e="$root/tests/e2e"

absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

[ "$(id -u)" = 0 ] || { echo "netlab: run as root (network namespaces, tc, iptables)" >&2; exit 1; }

target_dir="$(absolute "${CARGO_TARGET_DIR:-$root/target}")"
SWITCHBOARD_BIN="$(absolute "${SWITCHBOARD_BIN:-$target_dir/release/switchboard}")"
ARTIFACTS_DIR="$(absolute "${ARTIFACTS_DIR:-$here/artifacts}")"
NETLAB_STATE="${NETLAB_STATE:-/tmp/netlab-switchboard.state}"
export SWITCHBOARD_BIN ARTIFACTS_DIR NETLAB_STATE

if [ ! -x "$SWITCHBOARD_BIN" ]; then
  echo "netlab: no server binary at $SWITCHBOARD_BIN (cargo build --release -p switchboard, or set SWITCHBOARD_BIN)" >&2
  exit 1
fi

# Installs (idempotent) need the registries, so they come before anything is shaped.
apt_install() {
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null; }
}
need=()
command -v iptables >/dev/null || need+=(iptables)
command -v chromium >/dev/null || need+=(chromium)
command -v curl >/dev/null || need+=(curl)
command -v tc >/dev/null || need+=(iproute2)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then echo "netlab: installing ${need[*]}"; apt_install "${need[@]}"; fi
# nfq_delay.py is pure Python (socket, struct, select): nothing from pip.
export CHROMIUM_BIN="${CHROMIUM_BIN:-$(command -v chromium)}"
if ! (cd "$e2e" && npm ls --depth=0 >/dev/null 2>&1); then
  (cd "$e2e" && npm ci --no-audit --no-fund)
fi

mkdir -p "$ARTIFACTS_DIR"
# A lab left behind by a run that was killed: take down only what its state file lists.
teardown_lab() { bash -c 'source "$1/netlab.sh" && teardown' _ "$here" || true; }
[ -s "$NETLAB_STATE" ] && { echo "netlab: tearing down the lab of an earlier run ($NETLAB_STATE)"; teardown_lab; }
trap teardown_lab EXIT

cd "$here"
status=0
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(./reachability.test.js ./resume.test.js ./shaped.test.js)
timeout -k 10 "${NETLAB_RUN_TIMEOUT_S:-600}" node --test --test-concurrency=1 --test-reporter=spec "${tests[@]}" || status=$?
if [ -s "$ARTIFACTS_DIR/netlab-report.json" ]; then
  echo
  node "$here/report.js" --brief "$ARTIFACTS_DIR/netlab-report.json"
  echo "netlab: full report above (NETLAB_REPORT line: JSON) and in $ARTIFACTS_DIR/netlab-report.json"
fi
exit $status
