#!/usr/bin/env bash
# Tools the PyPI integration tests (tests/pypi/) need: python3 with venv and pip (on the machine
# already) and uv, installed from PyPI by name. The tests find uv through its Python package
# (`uv.find_uv_bin()`), so no PATH or pyenv shim change is needed.
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail

python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || {
    echo "pypi.sh: python3 with venv is required (the machine image provides it)" >&2
    exit 1
}
python3 -m pip --version >/dev/null 2>&1 || python3 -m ensurepip --upgrade

have_uv() {
    python3 - <<'PY' >/dev/null 2>&1
import os, subprocess, uv
subprocess.run([uv.find_uv_bin(), "--version"], check=True, capture_output=True)
PY
}

if have_uv; then
    exit 0
fi
echo "pypi.sh: installing uv from PyPI"
python3 -m pip install --quiet --disable-pip-version-check --no-input "uv>=0.5"
have_uv || { echo "pypi.sh: uv installed but not runnable" >&2; exit 1; }
