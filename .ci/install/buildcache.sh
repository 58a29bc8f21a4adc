#!/usr/bin/env bash
# Installs the real build tools tests/buildcache drives against larder's build cache:
# - Go 1.23 from bookworm-backports (golang-1.23-go): bookworm's own golang-go is 1.19, which
#   has no GOCACHEPROG. The existing Go tests keep the default go.
# - From it, a GOROOT whose go command reads GOCACHEPROG, at /usr/local/lib/larder/go1.23-cacheprog:
#   before Go 1.24, GOCACHEPROG is read only by a go command *built* with
#   GOEXPERIMENT=cacheprog, and that command passes its version ("go1.23.5 X:cacheprog") to
#   the compiler, which refuses to run unless it was built the same way. So bin/go and
#   pkg/tool/*/compile are rebuilt from Debian's sources with the experiment; everything else
#   links to Debian's Go. (Go 1.24 and later need none of this.)
# - ccache (Debian's 4.7 speaks HTTP remote storage).
# - sccache from crates.io (`cargo install --features webdav`; Debian's 0.4 pre-release has no
#   WebDAV backend). It compiles for many minutes, so only when missing.
# Idempotent: a quick no-op when everything is already there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

if [ ! -x /usr/lib/go-1.23/bin/go ]; then
    list=/etc/apt/sources.list.d/bookworm-backports.list
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo 'deb http://deb.debian.org/debian bookworm-backports main' | $sudo tee "$list" >/dev/null
    fi
fi

need=()
[ -x /usr/lib/go-1.23/bin/go ] || need+=(golang-1.23-go)
command -v ccache >/dev/null 2>&1 || need+=(ccache)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
apt_install "${need[@]}"

goroot=/usr/local/lib/larder/go1.23-cacheprog
if [ ! -x "$goroot/bin/go" ]; then
    echo "buildcache.sh: building a go command and compiler with GOEXPERIMENT=cacheprog (minutes)"
    debian=/usr/lib/go-1.23
    tools="$debian/pkg/tool/linux_amd64"
    staging=$(mktemp -d)
    trap 'rm -rf "$staging"' EXIT
    mkdir -p "$staging/root/bin" "$staging/root/pkg/tool/linux_amd64"
    for entry in api misc src test VERSION go.env; do
        ln -s "$debian/$entry" "$staging/root/$entry"
    done
    ln -s "$debian/pkg/include" "$staging/root/pkg/include"
    for tool in "$tools"/*; do
        ln -s "$tool" "$staging/root/pkg/tool/linux_amd64/$(basename "$tool")"
    done
    rm "$staging/root/pkg/tool/linux_amd64/compile"
    build() {
        env HOME="$staging" GOCACHE="$staging/cache" GOROOT="$debian" GOEXPERIMENT=cacheprog \
            GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 "$debian/bin/go" build -o "$1" "$2"
    }
    build "$staging/root/bin/go" cmd/go
    build "$staging/root/pkg/tool/linux_amd64/compile" cmd/compile
    $sudo mkdir -p "$(dirname "$goroot")"
    $sudo rm -rf "$goroot"
    $sudo cp -a "$staging/root" "$goroot"
fi
"$goroot/bin/go" version
ccache --version | head -1

if ! command -v sccache >/dev/null 2>&1; then
    echo "buildcache.sh: cargo install sccache with its WebDAV backend (many minutes)"
    cargo install sccache --version 0.19.0 --locked --no-default-features --features webdav
fi
sccache --version
