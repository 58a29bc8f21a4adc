#!/usr/bin/env bash
# Tools the Dockerfile tests (tests/dockerfiles/) need: Debian's buildah to build the examples
# in deploy/examples/, debootstrap and Debian's keyring to make their base image. The other
# tools they drive (apt-ftparchive, gpg, go, python3, tar) come from the other install scripts.
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

need=()
command -v buildah >/dev/null 2>&1 || need+=(buildah)
[ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)

apt_install "${need[@]}"
