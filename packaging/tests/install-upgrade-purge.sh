#!/bin/bash
# Runs INSIDE a clean chroot (scripts/test-packages copies it there with the packages):
# install the previous build, upgrade to the new one, check what an operator and a plugin
# author rely on, then purge and list what is left. Prints one line per check and a summary;
# exits non-zero if any check failed.
# Usage: install-upgrade-purge.sh <dir with the new .debs> [<dir with the previous .debs>]
#   Without a previous build, the new packages are repacked with a lower version
#   (<version>~prev) and installed first: that exercises the upgrade paths of the maintainer
#   scripts and the conffile handling, though not changes of the package contents.
# Environment: IOTGW_TEST_EMULATOR="qemu-aarch64 -L /" when the packages are for a foreign
#   architecture (arm64 on amd64): the gateway then runs through it, and the checks that need a
#   native gateway (W^X memory, the SDK example built here) are skipped.
set -uo pipefail
new_dir=$1
prev_dir=${2:-}
work=/tmp/iotgw-pkgtest
rm -rf "$work"
mkdir -p "$work"

passed=0
failed=0
failures=()
pass() {
    echo "PASS: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
    failures+=("$*")
}
# check <description> <command>...: PASS if the command succeeds, else FAIL with its output.
check() {
    local what=$1
    shift
    local output
    if output=$("$@" 2>&1); then
        pass "$what"
    else
        fail "$what"
        printf '%s\n' "$output" | sed 's/^/      /' | tail -n 30
    fi
}
step() { printf '\n--- %s\n' "$*"; }
apt_install() { apt-get -q -y -o Dpkg::Options::=--force-confold install "$@"; }

debs() { # <dir>: the gateway and the SDK (no plugin packages, no debug symbols)
    find "$1" -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' ! -name 'iotgw-plugin-*' | sort
}
plugin_debs() { # <dir>: the plugin packages (iotgw-plugin-*), tested on their own below
    find "$1" -maxdepth 1 -name 'iotgw-plugin-*.deb' ! -name '*-dbgsym_*' | sort
}
mapfile -t new_debs < <(debs "$new_dir")
((${#new_debs[@]} > 0)) || {
    echo "no .deb files in $new_dir"
    exit 1
}
mapfile -t new_plugin_debs < <(plugin_debs "$new_dir")
main_deb=$(printf '%s\n' "${new_debs[@]}" | grep '/iotgw_')
new_version=$(dpkg-deb -f "$main_deb" Version)
arch=$(dpkg-deb -f "$main_deb" Architecture)
emu=()
[[ -n ${IOTGW_TEST_EMULATOR:-} ]] && read -ra emu <<<"$IOTGW_TEST_EMULATOR"
# The installed gateway, as a command line (through the emulator for a foreign architecture).
gateway=("${emu[@]}" /usr/bin/iotgw)
iotgw() { "${gateway[@]}" "$@"; }

# Only the dependencies of iotgw and iotgw-sdk-dev: apt must resolve those of the plugin packages
# (tpm2-openssl, pkcs11-provider) itself when they are installed, in the plugin step.
step "dependencies of the packages and the tools of the SDK test (before the snapshot)"
deps=$(for d in "${new_debs[@]}"; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' | sed 's/^ *//;/^$/d' |
    grep -v '^iotgw' | sort -u | paste -sd, -)
# -a: resolve them as a dependency of a package of that architecture (libraries :arm64, but the
# Multi-Arch: foreign ones like systemd native).
apt-get -q -y satisfy -a "$arch" "$deps" >/dev/null || {
    echo "cannot install the dependencies: $deps"
    exit 1
}
((${#emu[@]})) || apt_install g++ cmake make pkgconf strace >/dev/null || exit 1

# Everything that could be left behind, except apt's and dpkg's own bookkeeping and caches.
snapshot() {
    find /etc /usr /var /opt /srv /home /root -xdev \
        \( -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/log/apt \
        -o -path /var/log/dpkg.log -o -path /var/log/alternatives.log -o -path /root/.cache \) -prune \
        -o -print | sort
}
snapshot >"$work/before.txt"

step "install the previous build"
if [[ -n $prev_dir ]]; then
    mapfile -t prev_debs < <(debs "$prev_dir")
else
    prev_debs=()
    for d in "${new_debs[@]}"; do
        pkg=$(dpkg-deb -f "$d" Package)
        rm -rf "$work/repack"
        dpkg-deb -R "$d" "$work/repack"
        sed -i "s/^Version: .*/Version: ${new_version}~prev/" "$work/repack/DEBIAN/control"
        dpkg-deb --root-owner-group -Zxz -b "$work/repack" "$work/${pkg}_${new_version}~prev.deb" >/dev/null
        prev_debs+=("$work/${pkg}_${new_version}~prev.deb")
    done
fi
check "apt install the previous build (${#prev_debs[@]} packages)" apt_install "${prev_debs[@]}"
prev_version=$(dpkg-query -W -f '${Version}' iotgw)
echo "previous version: $prev_version, new version: $new_version"

check "iotgw check accepts the shipped config right after the first install" \
    iotgw check --config /etc/iotgw/iotgw.toml

# What an operator does between the two: edit the site file, provision the device key and
# certificate (a self-signed stand-in for the one AWS IoT issues) where the config says.
sed -i 's/^thing = .*/thing = "SITE-042"/' /etc/iotgw/iotgw.toml
(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=SITE-042 -keyout /var/lib/iotgw/device/key.pem -out /var/lib/iotgw/device/cert.pem 2>/dev/null)
chown iotgw:iotgw /var/lib/iotgw/device/key.pem /var/lib/iotgw/device/cert.pem
key_sum=$(sha256sum </var/lib/iotgw/device/key.pem)

step "upgrade to $new_version"
check "apt install the new build over the previous one" apt_install "${new_debs[@]}"
check "iotgw is now $new_version" test "$(dpkg-query -W -f '${Version}' iotgw)" = "$new_version"
check "the edited conffile was kept" grep -q '^thing = "SITE-042"' /etc/iotgw/iotgw.toml
check "the provisioned key was kept" test "$(sha256sum </var/lib/iotgw/device/key.pem)" = "$key_sum"
check "/etc/iotgw/iotgw.toml is a conffile of iotgw" \
    sh -c "dpkg-query -W -f '\${Conffiles}' iotgw | grep -q ' /etc/iotgw/iotgw.toml '"

step "the installed gateway"
version_line=$(iotgw --version 2>&1)
echo "$version_line"
check "iotgw --version names the version and the plugin ABI" \
    grep -qE '^iotgw [0-9][^ ]* \(plugin ABI [0-9]+\.[0-9]+\)$' <<<"$version_line"
check "iotgw check accepts the shipped config" iotgw check --config /etc/iotgw/iotgw.toml
# Invalid config -> non-zero, with file:line.
cp /etc/iotgw/iotgw.toml "$work/broken.toml"
echo 'no_such_key = 1' >>"$work/broken.toml"
refuses_broken() { ! iotgw check --config "$work/broken.toml" >"$work/broken.out" 2>&1 && grep -q 'broken.toml:[0-9]' "$work/broken.out"; }
check "iotgw check refuses an unknown key with file:line" refuses_broken
# shellcheck disable=SC2016  # expanded by the inner bash
check "the service user iotgw is a system user without a login shell" bash -c \
    'IFS=: read -r _ _ uid _ _ home shell < <(getent passwd iotgw) && [ "$uid" -lt 1000 ] &&
     [ "$home" = /var/lib/iotgw ] && case $shell in */nologin|*/false) true;; *) false;; esac'
for d in /var/lib/iotgw /var/lib/iotgw/device; do
    check "$d is 0700 iotgw:iotgw" test "$(stat -c '%a %U:%G' $d)" = "700 iotgw:iotgw"
done
check "/var/log/iotgw is 0750 iotgw:iotgw" test "$(stat -c '%a %U:%G' /var/log/iotgw)" = "750 iotgw:iotgw"
unit=$(dpkg -L iotgw | grep '/systemd/system/iotgw.service$')
check "the unit is installed ($unit) and not enabled" sh -c \
    "[ -f '$unit' ] && [ \"\$(systemctl is-enabled iotgw.service 2>/dev/null)\" = disabled ]"
if command -v systemd-analyze >/dev/null; then
    exposure=$(systemd-analyze security --offline=yes "$unit" 2>&1 | sed -n 's/.*Overall exposure level for iotgw.service: \([0-9.]*\).*/\1/p')
    echo "systemd-analyze security exposure: ${exposure:-?}"
    check "systemd-analyze security exposure ${exposure:-?} <= 2.0" \
        awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'
fi
check "man pages iotgw(1) and iotgw.toml(5) are installed" \
    test -f /usr/share/man/man1/iotgw.1.gz -a -f /usr/share/man/man5/iotgw.toml.5.gz
check "iotgw.toml(5) lists the shipped plugins (from iotgw plugins)" sh -c \
    "zcat /usr/share/man/man5/iotgw.toml.5.gz | grep -q 'connections/mqtt'"

# The gateway as the unit runs it: as the service user, with W^X memory when the kernel has
# PR_SET_MDWE (as-iotgw.pl explains why that covers MemoryDenyWriteExecute=yes).
helper=$(dirname "$0")/as-iotgw.pl
case $arch in amd64) prctl_nr=157 ;; arm64) prctl_nr=167 ;; *) prctl_nr="" ;; esac
as_iotgw=(perl "$helper")
wx_note=""
if ((${#emu[@]})); then
    # qemu translates code into memory it writes and then executes: W^X would stop qemu itself.
    echo "SKIP: W^X (the gateway runs under ${emu[0]}, whose code translation needs W+X memory)"
elif [[ -n $prctl_nr ]] && perl "$helper" --wx "$prctl_nr" true 2>/dev/null; then
    as_iotgw=(perl "$helper" --wx "$prctl_nr")
    wx_note=" under W^X"
    echo "the gateway runs as iotgw under W^X (PR_SET_MDWE) from here on"
else
    echo "SKIP: W^X (PR_SET_MDWE needs Linux >= 6.3); the gateway runs as iotgw without it"
fi
check "iotgw check accepts the shipped config as the service user${wx_note} (every plugin loaded)" \
    "${as_iotgw[@]}" "${gateway[@]}" check --config /etc/iotgw/iotgw.toml

# SystemCallFilter=@system-service ~@privileged and RestrictAddressFamilies: trace every syscall
# the gateway makes (as iotgw) while it checks the shipped config and runs it for 3 s (the file
# credentials, the MQTT connection trying the placeholder endpoint, DNS, TLS setup), and compare
# them with the unit's filter as systemd-analyze expands it. Only the code paths exercised here
# are covered, but those include every plugin's load and start.
expand_syscall_set() { # <@set>: its syscalls, nested sets expanded
    local item
    systemd-analyze syscall-filter "$1" 2>/dev/null | tail -n +2 | sed 's/^ *//;/^#/d;/^$/d' |
        while read -r item; do
            if [[ $item == @* ]]; then expand_syscall_set "$item"; else echo "$item"; fi
        done
}
syscall_filter_check() {
    local unit_filter denied families gw_pid
    unit_filter=$(sed -n 's/^SystemCallFilter=//p' "$unit" | tr '\n' ' ')
    [[ $unit_filter == "@system-service ~@privileged " ]] || {
        echo "the unit's SystemCallFilter changed ($unit_filter): update this check"
        return 1
    }
    comm -23 <(expand_syscall_set @system-service | sort -u) <(expand_syscall_set @privileged | sort -u) \
        >"$work/allowed.txt"
    [[ -s $work/allowed.txt ]] || { echo "systemd-analyze syscall-filter gave nothing"; return 1; }
    strace -f -qq -o "$work/strace-check.txt" -u iotgw /usr/bin/iotgw check --config /etc/iotgw/iotgw.toml \
        >/dev/null 2>&1 || { echo "iotgw check failed under strace"; return 1; }
    strace -f -qq -o "$work/strace-run.txt" -u iotgw /usr/bin/iotgw run --config /etc/iotgw/iotgw.toml \
        >"$work/strace-run.log" 2>&1 &
    local strace_pid=$!
    sleep 3
    gw_pid=$(sed -n '1s/^\([0-9][0-9]*\) .*/\1/p' "$work/strace-run.txt")
    [[ -n $gw_pid ]] && kill -TERM "$gw_pid"
    wait "$strace_pid" || { echo "iotgw run did not stop cleanly under strace:"; tail -n 5 "$work/strace-run.log"; return 1; }
    sed -n 's/^[0-9][0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$work/strace-check.txt" "$work/strace-run.txt" | sort -u \
        >"$work/used.txt"
    denied=$(comm -23 "$work/used.txt" "$work/allowed.txt" | paste -sd' ' -)
    families=$(grep -ho 'socket(AF_[A-Z0-9]*' "$work/strace-check.txt" "$work/strace-run.txt" | sort -u |
        sed 's/socket(//' | paste -sd' ' -)
    echo "$(wc -l <"$work/used.txt") distinct syscalls; socket families: ${families:-none}" |
        tee "$work/syscalls.summary"
    [[ -z $denied ]] || { echo "outside @system-service ~@privileged: $denied"; return 1; }
    for f in $families; do
        case $f in AF_UNIX | AF_INET | AF_INET6) ;; *) echo "socket family $f is not in RestrictAddressFamilies"; return 1 ;; esac
    done
}
if ((${#emu[@]})); then
    echo "SKIP: syscall filter (strace of an emulated gateway would show qemu's syscalls)"
elif command -v strace >/dev/null && command -v systemd-analyze >/dev/null; then
    check "every syscall and socket family of the gateway (check + 3 s run, traced) is allowed by the unit" \
        syscall_filter_check
    sed 's/^/      /' "$work/syscalls.summary" 2>/dev/null
fi

step "plugin ABI: the virtual package iotgw-abi-N"
abi=$(echo "$version_line" | sed -n 's/.*plugin ABI \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r abi_major abi_minor <<<"$abi"
check "iotgw provides iotgw-abi-$abi_major (= $abi_major.$abi_minor)" sh -c \
    "dpkg-query -W -f '\${Provides}' iotgw | grep -q 'iotgw-abi-$abi_major (= $abi_major.$abi_minor)'"
# A plugin package that only declares its ABI dependency. Of the gateway's architecture, as a
# real plugin (a shared library) is: the Provides of iotgw:arm64 satisfy only arm64 packages.
fake_plugin() { # <name> <depends>
    mkdir -p "$work/$1/DEBIAN"
    printf 'Package: %s\nVersion: 1.0\nArchitecture: %s\nMaintainer: test <test@example.org>\nDepends: %s\nDescription: ABI test plugin\n' \
        "$1" "$arch" "$2" >"$work/$1/DEBIAN/control"
    dpkg-deb --root-owner-group -b "$work/$1" "$work/$1.deb" >/dev/null
}
fake_plugin iotgw-plugin-abi-same "iotgw-abi-$abi_major (>= $abi_major.$abi_minor)"
fake_plugin iotgw-plugin-abi-next-major "iotgw-abi-$((abi_major + 1))"
fake_plugin iotgw-plugin-abi-newer-minor "iotgw-abi-$abi_major (>= $abi_major.$((abi_minor + 1)))"
check "apt installs a plugin for iotgw-abi-$abi_major (>= $abi_major.$abi_minor)" \
    apt_install "$work/iotgw-plugin-abi-same.deb"
check "apt refuses a plugin for iotgw-abi-$((abi_major + 1))" sh -c \
    "! apt-get -q -y install $work/iotgw-plugin-abi-next-major.deb"
check "apt refuses a plugin needing ABI $abi_major.$((abi_minor + 1))" sh -c \
    "! apt-get -q -y install $work/iotgw-plugin-abi-newer-minor.deb"
apt-get -q -y purge iotgw-plugin-abi-same >/dev/null

# The example plugin of iotgw-sdk-dev, built here against the installed SDK, then listed, checked
# and run by the installed gateway from the plugin directory the SDK names.
sdk_example() {
    example=/usr/share/doc/iotgw-sdk-dev/examples/dedup
    check "the example is installed uncompressed in $example" test -f "$example/CMakeLists.txt" -a -f "$example/dedup.cpp"
    cp -r "$example" "$work/dedup"
    # shellcheck disable=SC2016  # a CMake variable
    echo 'message(STATUS "IOTGW_SDK_PLUGIN_DIR=${IOTGW_SDK_PLUGIN_DIR}")' >>"$work/dedup/CMakeLists.txt"
    check "cmake configures the example (find_package(iotgw-sdk) from /usr)" sh -c \
        "cmake -S $work/dedup -B $work/dedup-build -DCMAKE_BUILD_TYPE=RelWithDebInfo >$work/configure.log 2>&1 || { cat $work/configure.log; false; }"
    check "the example builds" cmake --build "$work/dedup-build"
    plugin_dir=$(realpath -m "$(pkg-config --variable=plugindir iotgw-sdk)")
    cmake_plugin_dir=$(realpath -m "$(sed -n 's/^-- IOTGW_SDK_PLUGIN_DIR=//p' "$work/configure.log")")
    echo "plugin directory: pkg-config $plugin_dir, CMake $cmake_plugin_dir"
    check "pkg-config and CMake agree on the plugin directory" test "$plugin_dir" = "$cmake_plugin_dir"
    install -m 0644 "$work/dedup-build/libiotgw-dedup.so" "$plugin_dir/"
    check "the installed gateway lists processors/dedup from $plugin_dir" sh -c \
        "iotgw plugins 2>&1 | grep -q '^processors/dedup .* from $plugin_dir/libiotgw-dedup.so'"
    cat >"$work/dedup.toml" <<EOF
[gateway]
thing = "sdk-test"
stop_timeout = "2s"

[sources.ticker]
type = "tick"
interval = "100ms"
topic = "sdk/test"
payload = "same"

[processors.dedup]
type = "dedup"
window = "30s"

[sinks.out]
type = "log"

[[pipelines]]
name = "dedup"
from = "ticker"
via = ["dedup"]
to = ["out"]
EOF
    chmod 0644 "$work/dedup.toml"
    chmod 0755 "$work"
    check "iotgw check accepts a config using dedup" iotgw check --config "$work/dedup.toml"
    "${as_iotgw[@]}" "${gateway[@]}" run --config "$work/dedup.toml" >"$work/run.log" 2>&1 &
    gw=$!
    sleep 2
    kill -TERM $gw 2>/dev/null
    rc=0
    wait $gw || rc=$?
    check "iotgw run as iotgw (tick -> dedup -> log) stops cleanly on SIGTERM" test $rc -eq 0
    check "dedup passed the first message and dropped the repeats" \
        test "$(grep -c 'sdk/test.*same' "$work/run.log")" -eq 1
    [[ $rc -eq 0 ]] || tail -n 20 "$work/run.log"
    rm -f "$plugin_dir/libiotgw-dedup.so"

    # The amr component (iotgw::amr): its RapidJSON comes from iotgw-sdk-dev's dependencies.
    amr_example=/usr/share/doc/iotgw-sdk-dev/examples/call_gate
    cp -r "$amr_example" "$work/call_gate"
    check "cmake configures the amr example (find_package(iotgw-sdk COMPONENTS amr))" sh -c \
        "cmake -S $work/call_gate -B $work/call_gate-build -DCMAKE_BUILD_TYPE=RelWithDebInfo >$work/configure-amr.log 2>&1 || { cat $work/configure-amr.log; false; }"
    check "the amr example builds" cmake --build "$work/call_gate-build"
    install -m 0644 "$work/call_gate-build/libiotgw-call_gate.so" "$plugin_dir/"
    check "the installed gateway lists processors/call_gate" sh -c \
        "iotgw plugins 2>&1 | grep -q '^processors/call_gate .* from $plugin_dir/libiotgw-call_gate.so'"
    rm -f "$plugin_dir/libiotgw-call_gate.so"

    # The SDK version is its ABI version: both package files say what the installed header says.
    header=/usr/include/iotgw/plugin_abi.h
    header_abi="$(sed -n 's/^#define IOTGW_ABI_MAJOR \([0-9]*\)u$/\1/p' $header).$(sed -n 's/^#define IOTGW_ABI_MINOR \([0-9]*\)u$/\1/p' $header)"
    check "pkg-config iotgw-sdk and iotgw-sdk-amr say version $header_abi" sh -c \
        "test \"\$(pkg-config --modversion iotgw-sdk)\" = $header_abi && test \"\$(pkg-config --modversion iotgw-sdk-amr)\" = $header_abi"
    check "iotgw-sdkConfigVersion.cmake says version $header_abi" \
        grep -q "^set(PACKAGE_VERSION \"$header_abi\")" /usr/share/cmake/iotgw-sdk/iotgw-sdkConfigVersion.cmake
}
step "SDK: the example plugin, built out of tree against iotgw-sdk-dev"
if ((${#emu[@]})); then
    echo "SKIP: the SDK example (iotgw-sdk-dev is Architecture: all; the amd64 run builds and loads it)"
else
    sdk_example
fi

# The plugin packages built from this tree (iotgw-plugin-tpm, iotgw-plugin-pkcs11): apt resolves
# their heavy dependencies, the gateway lists the plugins only while they are installed, the TPM
# package puts the service user into tss and opens /dev/tpmrm0 to the unit, and removing them
# leaves a working gateway. Every package the plugins pulled in is purged again at the end, so
# the purge snapshot below also covers what they leave.
plugin_packages() {
    local codename expected=(iotgw-plugin-pkcs11) found=() d name
    codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
    # Debian 12 has no tpm2-openssl >= 1.2: scripts/package leaves iotgw-plugin-tpm out there.
    [[ $codename == bookworm ]] || expected+=(iotgw-plugin-tpm)
    for d in "${new_plugin_debs[@]}"; do found+=("$(dpkg-deb -f "$d" Package)"); done
    check "the build has the plugin packages ${expected[*]} (found: ${found[*]:-none})" \
        test "$(printf '%s\n' "${found[@]}" | sort | paste -sd' ')" = "$(printf '%s\n' "${expected[@]}" | sort | paste -sd' ')"
    ((${#found[@]})) || return 0
    local has_tpm=0
    [[ " ${found[*]} " == *" iotgw-plugin-tpm "* ]] && has_tpm=1
    local plugin_dir=/usr/lib/iotgw/plugins
    local unit_dir=${unit%/*}

    for d in "${new_plugin_debs[@]}"; do
        name=$(dpkg-deb -f "$d" Package)
        check "$name depends on iotgw-abi-$abi_major (>= $abi_major.$abi_minor)" sh -c \
            "dpkg-deb -f '$d' Depends | tr ',' '\n' | grep -qx ' *iotgw-abi-$abi_major (>= $abi_major.$abi_minor)'"
    done
    iotgw plugins >"$work/plugins-before.txt" 2>&1
    check "before: iotgw plugins lists neither tpm nor pkcs11, and iotgw ships neither library" sh -c \
        "grep -q '^credentials/file ' $work/plugins-before.txt && ! grep -qE '^credentials/(tpm|pkcs11) ' $work/plugins-before.txt &&
         ! dpkg -L iotgw | grep -qE 'libiotgw-(tpm|pkcs11)\.so'"
    check "before: the service user iotgw is not in group tss" sh -c "! id -nG iotgw | tr ' ' '\n' | grep -qx tss"

    dpkg-query -W -f '${Package}:${Architecture}\n' | sort >"$work/packages-before-plugins.txt"
    check "apt install ${found[*]} (resolving their dependencies from the mirror)" apt_install "${new_plugin_debs[@]}"
    dpkg-query -W -f '${Package}:${Architecture}\n' | sort >"$work/packages-with-plugins.txt"
    comm -13 "$work/packages-before-plugins.txt" "$work/packages-with-plugins.txt" >"$work/pulled-by-plugins.txt"
    echo "installed with the plugins: $(paste -sd' ' "$work/pulled-by-plugins.txt")"
    check "apt installed pkcs11-provider for iotgw-plugin-pkcs11" grep -q '^pkcs11-provider:' "$work/pulled-by-plugins.txt"

    iotgw plugins >"$work/plugins-with.txt" 2>&1
    grep -E '^credentials/' "$work/plugins-with.txt" | sed 's/^/      /'
    check "iotgw plugins lists credentials/pkcs11 from $plugin_dir/libiotgw-pkcs11.so" \
        grep -q "^credentials/pkcs11 .* from $plugin_dir/libiotgw-pkcs11.so" "$work/plugins-with.txt"
    check "iotgw-plugin-pkcs11 owns libiotgw-pkcs11.so" \
        test "$(dpkg -S "$plugin_dir/libiotgw-pkcs11.so" | cut -d: -f1)" = iotgw-plugin-pkcs11
    check "the example drop-in is in /usr/share/doc/iotgw-plugin-pkcs11/examples/iotgw.service.d" \
        test -f /usr/share/doc/iotgw-plugin-pkcs11/examples/iotgw.service.d/pkcs11.conf
    if ((has_tpm)); then
        check "apt installed tpm2-openssl (>= 1.2) for iotgw-plugin-tpm" sh -c \
            "grep -q '^tpm2-openssl:' $work/pulled-by-plugins.txt &&
             dpkg --compare-versions \"\$(dpkg-query -W -f '\${Version}' tpm2-openssl)\" ge 1.2"
        check "iotgw plugins lists credentials/tpm from $plugin_dir/libiotgw-tpm.so" \
            grep -q "^credentials/tpm .* from $plugin_dir/libiotgw-tpm.so" "$work/plugins-with.txt"
        check "iotgw-plugin-tpm owns libiotgw-tpm.so" \
            test "$(dpkg -S "$plugin_dir/libiotgw-tpm.so" | cut -d: -f1)" = iotgw-plugin-tpm
        check "the service user iotgw is in group tss" sh -c "id -nG iotgw | tr ' ' '\n' | grep -qx tss"
        check "the drop-in $unit_dir/iotgw.service.d/tpm.conf is installed" \
            test -f "$unit_dir/iotgw.service.d/tpm.conf"
        if command -v systemd-analyze >/dev/null; then
            # --offline reads the drop-ins of the unit from the unit directories too.
            local shown
            shown=$(systemd-analyze security --offline=yes "$unit" 2>&1)
            check "systemd-analyze sees the drop-in (DeviceAllow=/dev/tpmrm0, PrivateDevices= off)" sh -c \
                "grep -q '/dev/tpmrm0:rw' <<'EOF'
$shown
EOF"
            exposure_tpm=$(sed -n 's/.*Overall exposure level for iotgw.service: \([0-9.]*\).*/\1/p' <<<"$shown")
            echo "systemd-analyze security exposure with tpm.conf: ${exposure_tpm:-?} (without: ${exposure:-?})"
            check "systemd-analyze security exposure with tpm.conf ${exposure_tpm:-?} <= 2.0" \
                awk -v e="${exposure_tpm:-99}" 'BEGIN { exit !(e <= 2.0) }'
        fi
    fi
    # Every plugin, the new ones included, loads as the service user (under W^X where available).
    check "iotgw check accepts the shipped config as iotgw${wx_note} with the plugin packages installed" \
        "${as_iotgw[@]}" "${gateway[@]}" check --config /etc/iotgw/iotgw.toml

    # The real pkcs11 package, rebuilt to depend on the next ABI major: apt must refuse it.
    local pkcs11_deb
    pkcs11_deb=$(printf '%s\n' "${new_plugin_debs[@]}" | grep '/iotgw-plugin-pkcs11_')
    rm -rf "$work/abi-repack"
    dpkg-deb -R "$pkcs11_deb" "$work/abi-repack"
    sed -i -e "s/^Version: .*/&+abi$((abi_major + 1))/" \
        -e "s/iotgw-abi-$abi_major (>= [0-9.]*)/iotgw-abi-$((abi_major + 1)) (>= $((abi_major + 1)).0)/" \
        "$work/abi-repack/DEBIAN/control"
    dpkg-deb --root-owner-group -Zxz -b "$work/abi-repack" "$work/iotgw-plugin-pkcs11-abi-next.deb" >/dev/null
    check "the repacked iotgw-plugin-pkcs11 depends on iotgw-abi-$((abi_major + 1))" sh -c \
        "dpkg-deb -f $work/iotgw-plugin-pkcs11-abi-next.deb Depends | grep -q 'iotgw-abi-$((abi_major + 1)) '"
    check "apt refuses iotgw-plugin-pkcs11 built for iotgw-abi-$((abi_major + 1)), and keeps the installed one" sh -c \
        "! apt-get -q -y install $work/iotgw-plugin-pkcs11-abi-next.deb &&
         test \"\$(dpkg-query -W -f '\${Version}' iotgw-plugin-pkcs11)\" = '$new_version'"

    check "apt remove ${found[*]}" apt-get -q -y remove "${found[@]}"
    iotgw plugins >"$work/plugins-after.txt" 2>&1
    check "after removal: iotgw plugins lists neither tpm nor pkcs11" sh -c \
        "grep -q '^credentials/file ' $work/plugins-after.txt && ! grep -qE '^credentials/(tpm|pkcs11) ' $work/plugins-after.txt"
    check "after removal: iotgw check accepts the shipped config (as root)" iotgw check --config /etc/iotgw/iotgw.toml
    check "after removal: iotgw check accepts the shipped config as iotgw${wx_note}" \
        "${as_iotgw[@]}" "${gateway[@]}" check --config /etc/iotgw/iotgw.toml
    if ((has_tpm)); then
        check "after removal: iotgw is no longer in group tss" sh -c "! id -nG iotgw | tr ' ' '\n' | grep -qx tss"
        check "after removal: the drop-in tpm.conf is gone" test ! -e "$unit_dir/iotgw.service.d/tpm.conf"
        check "after removal: the unit directory has no iotgw.service.d left" test ! -e "$unit_dir/iotgw.service.d"
    fi
    # The plugin packages and everything apt pulled in for them (tpm2-tss, tpm-udev, ...).
    # dpkg purges the removed plugin packages: apt no longer knows a local .deb once it is removed.
    check "dpkg --purge ${found[*]}" dpkg --purge "${found[@]}"
    local pulled
    mapfile -t pulled < <(grep -v '^iotgw-plugin-' "$work/pulled-by-plugins.txt")
    check "apt purge what apt pulled in for the plugins (${#pulled[@]} packages)" \
        apt-get -q -y purge "${pulled[@]}"
    check "nothing apt pulled in for the plugins is left" sh -c \
        "! dpkg-query -W -f '\${db:Status-Abbrev}|\${Package}:\${Architecture}\n' | grep -v '^un' | cut -d'|' -f2 |
         grep -qxFf $work/pulled-by-plugins.txt"

}
step "plugin packages"
plugin_packages

step "purge"
check "apt purge iotgw iotgw-sdk-dev" apt-get -q -y purge iotgw iotgw-sdk-dev
snapshot >"$work/after.txt"
comm -13 "$work/before.txt" "$work/after.txt" >"$work/left.txt"
# Documented leftovers (docs/packaging.md): the system user iotgw (its entries in passwd and
# group files; the "-" files are the backups the user tools write).
grep -v -E '^/etc/(passwd|group|shadow|gshadow)-$' "$work/left.txt" >"$work/unexpected.txt" || true
echo "left after purge (new paths):"
sed 's/^/      /' "$work/left.txt"
[[ -s $work/left.txt ]] || echo "      (none)"
check "purge left nothing but the documented leftovers" test ! -s "$work/unexpected.txt"
check "the system user iotgw stays after purge (documented)" getent passwd iotgw
comm -23 "$work/before.txt" "$work/after.txt" >"$work/gone.txt"
check "purge removed nothing that was there before" test ! -s "$work/gone.txt"

printf '\n%d passed, %d failed\n' "$passed" "$failed"
for f in "${failures[@]}"; do echo "  failed: $f"; done
((failed == 0))
