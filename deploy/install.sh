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
.venv/bin/pip install -q -e ".${extras}"
mkdir -p var
echo "maskwatch installed in $(pwd)/.venv"
