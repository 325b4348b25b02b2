#!/usr/bin/env bash
# Install maskwatch into .venv in the checkout. --dev adds the test and training tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -d .venv ] || "$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip
extras=""
if [ "${1:-}" = "--dev" ]; then extras="[train,dev]"; fi
# the versions the suite passed with (deploy/constraints.txt); an index without one of them
# still gets an install, of the newest versions pyproject.toml allows, with a warning
if ! .venv/bin/pip install -q -c deploy/constraints.txt -e ".${extras}"; then
  echo "install.sh: a version pinned in deploy/constraints.txt is not on this index;" \
    "installing the newest versions pyproject.toml allows (not the tested set)" >&2
  .venv/bin/pip install -q -e ".${extras}"
fi
mkdir -p var
echo "maskwatch installed in $(pwd)/.venv"
