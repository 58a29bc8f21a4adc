#!/usr/bin/env bash
# Builds the local base images the Dockerfile examples are built on, since no image registry is
# reachable: `debootstrap --variant=minbase bookworm` through larder's apt mirror mode plus the
# host's CA certificates (this network may re-sign TLS) is MINBASE (as debian:bookworm-slim);
# MINBASE plus the client tools from Debian's packages (nodejs + npm, python3-venv, golang-go),
# installed through larder as an apt proxy, is TOOLS.
# A quick no-op when both images already exist in the buildah storage.
#
# Usage: BUILDAH_ROOT=DIR BUILDAH_RUNROOT=DIR base-image.sh LARDER_URL ARCHIVE_HOST MINBASE TOOLS
#   LARDER_URL    http://127.0.0.1:PORT of a larder whose [apt] remotes include ARCHIVE_HOST
#   ARCHIVE_HOST  the Debian archive host, e.g. deb.debian.org
#   MINBASE TOOLS the image names to commit, e.g. localhost/larder-test/bookworm-minbase:3
set -euo pipefail

larder=$1
archive=$2
minbase=$3
image=$4
buildah=(buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver overlay)

if "${buildah[@]}" inspect --type image "$minbase" >/dev/null 2>&1 &&
    "${buildah[@]}" inspect --type image "$image" >/dev/null 2>&1; then
    echo "base-image.sh: $minbase and $image are cached"
    exit 0
fi

work=$(mktemp -d "${BUILDAH_ROOT%/*}/base.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

echo "base-image.sh: debootstrap minbase bookworm through $larder/apt/$archive/debian"
env -u http_proxy -u HTTP_PROXY /usr/sbin/debootstrap --variant=minbase bookworm "$rootfs" \
    "$larder/apt/$archive/debian" >"$work/debootstrap.log" 2>&1 || {
    tail -40 "$work/debootstrap.log" >&2
    exit 1
}

# The image names the archive itself, as Debian's own images do; larder stays out of it.
printf 'deb http://%s/debian bookworm main\n' "$archive" >"$rootfs/etc/apt/sources.list"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
# Local CAs also where update-ca-certificates finds them, so that installing Debian's
# ca-certificates (a dependency of the tools below) keeps them in the bundle it rewrites.
if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/"
fi
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

ctr=$("${buildah[@]}" from scratch)
trap '"${buildah[@]}" rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mnt=$("${buildah[@]}" mount "$ctr")
cp -a "$rootfs/." "$mnt/"
"${buildah[@]}" umount "$ctr" >/dev/null
# The host's CA bundle for every client, so that builds without larder work on a network that
# re-signs TLS (pip in a venv and npm use their own bundles otherwise).
bundle=/etc/ssl/certs/ca-certificates.crt
"${buildah[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=$bundle --env PIP_CERT=$bundle --env NODE_EXTRA_CA_CERTS=$bundle \
    --workingdir / --cmd /bin/sh "$ctr"
"${buildah[@]}" commit --quiet "$ctr" "$minbase" >/dev/null

echo "base-image.sh: installing nodejs npm python3-venv golang-go through larder"
"${buildah[@]}" run --isolation chroot --network host "$ctr" -- sh -ec "
    echo 'Acquire::http::Proxy \"$larder\";' > /etc/apt/apt.conf.d/99larder
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update
    apt-get -q install -y --no-install-recommends nodejs npm python3-venv golang-go >/dev/null
    rm -f /etc/apt/apt.conf.d/99larder
    apt-get clean
    rm -rf /var/lib/apt/lists/*
" >"$work/install.log" 2>&1 || {
    tail -40 "$work/install.log" >&2
    exit 1
}
"${buildah[@]}" commit --quiet --rm "$ctr" "$image" >/dev/null
trap 'rm -rf "$work"' EXIT
echo "base-image.sh: committed $minbase and $image"
