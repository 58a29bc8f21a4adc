#!/usr/bin/env bash
# Tools the observability tests (tests/observability/) need: Debian's headless-capable
# `chromium`, to render the status page (--dump-dom) and take the README's screenshot, and a
# font for the screenshot's text.
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)

if [ "${#need[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
echo "observability.sh: installing ${need[*]}"
# Other install scripts may run apt at the same time: wait for its locks instead of failing.
lock_wait=(-o DPkg::Lock::Timeout=600)
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if $SUDO apt-get "${lock_wait[@]}" update -qq; then
        break
    fi
    [ "$attempt" -eq 10 ] && { echo "observability.sh: apt-get update kept failing" >&2; exit 1; }
    sleep 6
done
DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${lock_wait[@]}" install -y -qq \
    --no-install-recommends "${need[@]}"
