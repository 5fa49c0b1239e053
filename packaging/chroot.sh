# shellcheck shell=bash
# Clean Debian chroots for scripts/package and scripts/test-packages (sourced, bash).
#
# Layout under build/chroots/ (all reused between runs):
#   base-<release>/   pristine `debootstrap --variant=minbase` result plus apt sources; never
#                     used directly, only copied (a copy takes seconds, debootstrap ~40 s)
#   pkg-<release>/    the build chroot: a copy of the base plus the build dependencies
#   test-<release>/   made afresh from the base for every scripts/test-packages run
# Mounts (proc, sys, dev, dev/pts) are recorded and undone by chroot_umount_all, which the
# callers run from an EXIT trap. Needs root, debootstrap and Debian's mirror.

chroot_mirror=${IOTGW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
chroot_security_mirror=${IOTGW_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
chroot_mounted=()

chroot_die() {
    echo "${chroot_prog:-chroot.sh}: $*" >&2
    exit 1
}

chroot_check_release() { # <release>
    case $1 in
        bookworm | trixie) ;;
        *) chroot_die "unknown release '$1': use bookworm (Debian 12) or trixie (Debian 13)" ;;
    esac
}

# Refuses to delete a directory that still has something mounted below it: removing a chroot
# with /dev bound into it would delete the host's device nodes.
chroot_remove() { # <dir>
    local dir=$1
    [[ -e $dir ]] || return 0
    if findmnt -rn -o TARGET | grep -q "^$(realpath "$dir")/"; then
        chroot_die "$dir still has mounts below it (findmnt | grep $dir); unmount them first"
    fi
    rm -rf --one-file-system "$dir"
}

# The pristine base chroot of <release>; made once with debootstrap (atomically: a failed run
# leaves no half-made base behind).
chroot_base() { # <release> <chroots dir>
    local release=$1 dir=$2/base-$1
    if [[ ! -x $dir/usr/bin/apt-get ]]; then
        command -v debootstrap >/dev/null || chroot_die "debootstrap is not installed: apt-get install debootstrap"
        echo "--- debootstrap $release into $dir (once; ~1 min)" >&2
        chroot_remove "$dir.tmp"
        mkdir -p "$2"
        if ! debootstrap --variant=minbase "$release" "$dir.tmp" "$chroot_mirror" >"$dir.debootstrap.log" 2>&1; then
            tail -n 20 "$dir.debootstrap.log" >&2
            chroot_die "debootstrap $release failed (log: $dir.debootstrap.log)"
        fi
        chroot_remove "$dir"
        mv "$dir.tmp" "$dir"
    fi
    # Point releases and security updates too (debootstrap writes only "<release> main").
    cat >"$dir/etc/apt/sources.list" <<EOF
deb $chroot_mirror $release main
deb $chroot_mirror $release-updates main
deb $chroot_security_mirror $release-security main
EOF
    # Maintainer scripts must not start services (e.g. mosquitto) on the host's network.
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 0755 "$dir/usr/sbin/policy-rc.d"
    # No recommends, and apt must never ask.
    cat >"$dir/etc/apt/apt.conf.d/90iotgw" <<'EOF'
APT::Install-Recommends "false";
APT::Get::Assume-Yes "true";
Dpkg::Use-Pty "false";
EOF
    echo "$dir"
}

# A copy of the base at <dir>; <fresh>=1 replaces an existing one, 0 keeps it.
chroot_from_base() { # <release> <chroots dir> <dir> <fresh>
    local base
    base=$(chroot_base "$1" "$2")
    if [[ $4 == 1 ]]; then chroot_remove "$3"; fi
    if [[ ! -x $3/usr/bin/apt-get ]]; then
        chroot_remove "$3"
        cp -a "$base" "$3.tmp"
        mv "$3.tmp" "$3"
    fi
}

chroot_mount() { # <dir>
    local dir=$1 m
    cp /etc/hosts "$dir/etc/hosts"
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    for m in proc sys dev dev/pts; do
        mkdir -p "$dir/$m"
        mountpoint -q "$dir/$m" && continue
        case $m in
            proc) mount -t proc proc "$dir/proc" ;;
            sys) mount -t sysfs -o ro sysfs "$dir/sys" ;;
            *) mount --bind "/$m" "$dir/$m" ;;
        esac
        chroot_mounted+=("$dir/$m")
    done
}

# shellcheck disable=SC2317  # run from the callers' EXIT trap
chroot_umount_all() {
    local i
    for ((i = ${#chroot_mounted[@]} - 1; i >= 0; i--)); do
        umount "${chroot_mounted[i]}" 2>/dev/null || umount -l "${chroot_mounted[i]}" 2>/dev/null || true
    done
    chroot_mounted=()
}

chroot_run() { # <dir> <command>...
    local dir=$1
    shift
    chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

chroot_apt() { # <dir> <apt-get args>...
    local dir=$1
    shift
    chroot_run "$dir" apt-get -q "$@"
}

# The source tree as the working copy has it (tracked and untracked, not ignored files; so
# uncommitted changes are included, build outputs are not), copied to <dest>.
chroot_copy_source() { # <source root> <dest>
    local src=$1 dest=$2
    rm -rf "$dest"
    mkdir -p "$dest"
    if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$src" && git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
            tar --null --no-recursion -T - -cf -) | tar -xf - -C "$dest"
    else
        (cd "$src" && tar --exclude=./build --exclude=./.git --exclude=./debian -cf - .) | tar -xf - -C "$dest"
    fi
}
