# Sourced by .ci/install/*.sh: `apt_install PACKAGE...` installs Debian packages that are
# missing, as root or through sudo. Install scripts may run at the same time, so it waits for
# apt's locks instead of failing, and retries `apt-get update` (a mirror mid-sync answers with
# transient errors). Does nothing when given no package.

apt_install() {
    [ "$#" -gt 0 ] || return 0
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    local who
    who=$(basename "${BASH_SOURCE[1]:-install}")
    local packages
    mapfile -t packages < <(printf '%s\n' "$@" | sort -u)
    echo "$who: installing ${packages[*]}"
    local lock_wait=(-o DPkg::Lock::Timeout=600)
    local attempt
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        if $sudo apt-get "${lock_wait[@]}" update -qq; then
            break
        fi
        if [ "$attempt" -eq 10 ]; then
            echo "$who: apt-get update kept failing; check the machine's apt sources" >&2
            return 1
        fi
        sleep 6
    done
    DEBIAN_FRONTEND=noninteractive $sudo apt-get "${lock_wait[@]}" install -y -qq \
        --no-install-recommends "${packages[@]}"
}
