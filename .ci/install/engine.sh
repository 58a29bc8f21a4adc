#!/usr/bin/env bash
# Tools the engine tests (tests/engine/) need: curl, the plain client that proves a damaged
# stored blob is never taken for a complete download (tests/engine/damaged.rs).
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

need=()
command -v curl >/dev/null 2>&1 || need+=(curl ca-certificates)

apt_install "${need[@]}"
