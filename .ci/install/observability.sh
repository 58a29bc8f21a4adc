#!/usr/bin/env bash
# Tools the observability tests (tests/observability/) need: Debian's headless-capable
# `chromium`, to render the status page (--dump-dom) and take the README's screenshot, and a
# font for the screenshot's text.
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)

apt_install "${need[@]}"
