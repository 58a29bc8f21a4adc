#!/usr/bin/env bash
# Tools the npm integration tests (tests/npm/) need: node and npm (the real client), tar and gzip
# (to build the fixture registry's tarballs), pnpm (the pnpm test) and curl with HTTP/2 (the h2c
# test, tests/npm/http2.rs). Idempotent: a quick no-op
# when everything is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

# The pnpm major the tests are written against; pnpm 10 runs on Node.js >= 18.12.
PNPM_MAJOR=10

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v tar >/dev/null 2>&1 || need+=(tar)
command -v gzip >/dev/null 2>&1 || need+=(gzip)
curl --version 2>/dev/null | grep -q HTTP2 || need+=(curl)
apt_install "${need[@]}"

if ! pnpm --version 2>/dev/null | grep -q "^${PNPM_MAJOR}\."; then
    echo "npm.sh: installing pnpm@${PNPM_MAJOR} from the npm registry"
    $SUDO npm install --global --no-audit --no-fund "pnpm@${PNPM_MAJOR}"
fi
