#!/usr/bin/env bash
# Tools the apt integration tests (tests/apt/) need: apt-ftparchive (apt-utils) to build the
# fixture repository, dpkg-deb (dpkg-dev) to build its packages, gpg to sign its InRelease,
# debootstrap and Debian's keyring for the opt-in live test.
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

need=()
command -v apt-ftparchive >/dev/null 2>&1 || need+=(apt-utils)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg-dev)
command -v dpkg-scanpackages >/dev/null 2>&1 || need+=(dpkg-dev)
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v gpgv >/dev/null 2>&1 || need+=(gpgv)
command -v apt-get >/dev/null 2>&1 || need+=(apt)
# Only the opt-in live test (LARDER_LIVE=1) runs debootstrap; it is small, so always present.
[ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)

apt_install "${need[@]}"
