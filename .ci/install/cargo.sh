#!/usr/bin/env bash
# What tests/cargo needs: the cargo that builds larder (the real client it drives) and tar
# with gzip (the fixture registry packs its .crate files with them). cargo comes with the Rust
# toolchain CI builds with; tar and gzip are installed from Debian when missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

need=()
command -v tar >/dev/null 2>&1 || need+=(tar)
command -v gzip >/dev/null 2>&1 || need+=(gzip)
apt_install "${need[@]}"
if ! command -v cargo >/dev/null 2>&1; then
    echo "tests/cargo drives the real cargo, and none is on PATH: install the Rust toolchain that builds larder" >&2
    exit 1
fi
cargo --version
