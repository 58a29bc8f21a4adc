#!/usr/bin/env bash
# Installs what tests/go needs: Debian's go command (golang-go), and the x/mod source
# (golang-golang-x-mod-dev) whose sumdb server and note-signing packages the fixture checksum
# database is built from. Quick no-op when both are already there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

need=()
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ] || need+=(golang-golang-x-mod-dev)
apt_install "${need[@]}"
go version
