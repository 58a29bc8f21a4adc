#!/usr/bin/env bash
# Tools the Dockerfile tests (tests/dockerfiles/) need: Debian's buildah to build the examples
# in deploy/examples/, debootstrap and Debian's keyring to make their base image. The other
# tools they drive (apt-ftparchive, gpg, go, python3, tar) come from the other install scripts.
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail

need=()
command -v buildah >/dev/null 2>&1 || need+=(buildah)
[ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)

if [ "${#need[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
echo "dockerfiles.sh: installing ${need[*]}"
# Other install scripts may run apt at the same time: wait for its locks instead of failing.
lock_wait=(-o DPkg::Lock::Timeout=600)
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if $SUDO apt-get "${lock_wait[@]}" update -qq; then
        break
    fi
    [ "$attempt" -eq 10 ] && { echo "dockerfiles.sh: apt-get update kept failing" >&2; exit 1; }
    sleep 6
done
DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${lock_wait[@]}" install -y -qq \
    --no-install-recommends "${need[@]}"
