#!/usr/bin/env bash
# Tools the apt integration tests (tests/apt/) need: apt-ftparchive (apt-utils) to build the
# fixture repository, dpkg-deb (dpkg-dev) to build its packages, gpg to sign its InRelease,
# debootstrap and Debian's keyring for the opt-in live test.
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail

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

if [ "${#need[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
# Deduplicate (dpkg-dev may be listed twice).
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "apt.sh: installing ${need[*]}"
# Other install scripts may run apt at the same time: wait for its locks instead of failing.
lock_wait=(-o DPkg::Lock::Timeout=600)
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if $SUDO apt-get "${lock_wait[@]}" update -qq; then
        break
    fi
    [ "$attempt" -eq 10 ] && { echo "apt.sh: apt-get update kept failing" >&2; exit 1; }
    sleep 6
done
DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${lock_wait[@]}" install -y -qq \
    --no-install-recommends "${need[@]}"
