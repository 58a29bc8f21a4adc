#!/usr/bin/env bash
# The S3-compatible server the replica tests start on 127.0.0.1: moto's server mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

if python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null; then
  exit 0
fi
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
  apt_install python3 python3-pip
fi
python3 -m pip install --quiet 'moto[server]>=5.1' \
  || python3 -m pip install --quiet --break-system-packages 'moto[server]>=5.1'
