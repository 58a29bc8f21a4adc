#!/usr/bin/env bash
# Makes the build context for deploy/Dockerfile in CONTEXT_DIR:
#   rootfs/usr/local/bin/larder        the binary (symbols stripped)
#   rootfs/<lib paths>                 the shared libraries it loads, as `ldd` lists them
#                                      (glibc, libm, libgcc_s, the dynamic loader), copied from
#                                      this machine, so they match the binary by construction
#   rootfs/etc/ssl/certs/...           CA roots, for https upstreams
#   rootfs/etc/{passwd,group,nsswitch.conf}, rootfs/tmp
#   data/                              the data dir, given to uid 10001 by the Dockerfile
#
#   usage: deploy/stage.sh target/release/larder /tmp/larder-image
set -euo pipefail

bin=${1:?usage: deploy/stage.sh path/to/larder CONTEXT_DIR}
ctx=${2:?usage: deploy/stage.sh path/to/larder CONTEXT_DIR}
[ -x "$bin" ] || { echo "stage.sh: $bin is not an executable; run cargo build --release" >&2; exit 1; }
certs=/etc/ssl/certs/ca-certificates.crt
[ -r "$certs" ] || { echo "stage.sh: no $certs; apt-get install ca-certificates" >&2; exit 1; }

rm -rf "$ctx/rootfs" "$ctx/data"
root=$ctx/rootfs
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/var/cache" "$ctx/data"
chmod 1777 "$root/tmp"
cp "$bin" "$root/usr/local/bin/larder"
if command -v strip >/dev/null; then
    strip "$root/usr/local/bin/larder"
fi
chmod 0755 "$root/usr/local/bin/larder"

# `ldd` prints "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and, for the loader,
# "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no file.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ -n "$libs" ] || { echo "stage.sh: ldd listed no libraries for $bin (a static binary needs none: remove this check)" >&2; exit 1; }
for lib in $libs; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

cp -L "$certs" "$root/etc/ssl/certs/ca-certificates.crt"
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
larder:x:10001:10001:larder:/var/cache/larder:/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
larder:x:10001:
GROUP
echo 'hosts: files dns' > "$root/etc/nsswitch.conf"
echo "stage.sh: $ctx ready ($(du -sh "$root" | cut -f1)): $(echo $libs | tr '\n' ' ')"
