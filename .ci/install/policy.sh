#!/usr/bin/env bash
# Tools the policy tests (tests/policy/) need: the real npm, pip, uv and go clients, which the
# npm, PyPI and Go tests install already (tar for npm tarballs, python3 for the wheels).
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
"$here/npm.sh"
"$here/pypi.sh"
"$here/go.sh"
