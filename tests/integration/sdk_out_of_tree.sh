#!/usr/bin/env bash
# A third-party plugin, end to end: install the SDK from the build tree, build the example
# sdk/examples/dedup out of tree against it, then load it into the real gateway:
# `iotgw plugins` lists it, `iotgw check` accepts a config using it and rejects an out-of-range
# value, and `iotgw run` passes tick -> dedup -> log and exits 0 on SIGTERM. Also: the installed
# package versions (CMake, pkg-config) equal the ABI version of the installed header, and
# sdk/examples/call_gate, which uses the amr component (iotgw::amr, RapidJSON), builds and loads.
# Usage: sdk_out_of_tree.sh <iotgw binary> <build dir> <source dir> <cmake> <c++ compiler>
set -euo pipefail

iotgw=$1
build_dir=$2
source_dir=$3
cmake=${4:-cmake}
cxx=${5:-c++}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iotgw-sdk-oot.XXXXXX")
gw_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [[ -n $gw_pid ]]; then
        kill -KILL "$gw_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step() { printf '\n--- %s\n' "$*"; }
# shellcheck source-path=SCRIPTDIR source=sdk_examples.sh
source "$(dirname "$0")/sdk_examples.sh"

step "install the build tree into $tmp/prefix"
install_sdk
[[ -f $tmp/prefix/include/iotgw/sdk.hpp ]] || fail "the install has no include/iotgw/sdk.hpp"
find "$tmp/prefix" -name 'iotgw-sdkConfig.cmake' | grep -q . || fail "the install has no iotgw-sdkConfig.cmake"

step "the installed SDK's package versions equal the header's ABI version"
header=$tmp/prefix/include/iotgw/plugin_abi.h
abi_major=$(sed -n 's/^#define IOTGW_ABI_MAJOR \([0-9]*\)u$/\1/p' "$header")
abi_minor=$(sed -n 's/^#define IOTGW_ABI_MINOR \([0-9]*\)u$/\1/p' "$header")
[[ -n $abi_major && -n $abi_minor ]] || fail "cannot read the ABI version from $header"
abi="$abi_major.$abi_minor"
config_version=$(find "$tmp/prefix" -name 'iotgw-sdkConfigVersion.cmake' | head -n 1)
[[ -n $config_version ]] || fail "the install has no iotgw-sdkConfigVersion.cmake"
grep -q "^set(PACKAGE_VERSION \"$abi\")" "$config_version" ||
    fail "$config_version does not say version $abi: $(grep '^set(PACKAGE_VERSION ' "$config_version")"
for pc in iotgw-sdk iotgw-sdk-amr; do
    pc_file=$(find "$tmp/prefix" -name "$pc.pc" | head -n 1)
    [[ -n $pc_file ]] || fail "the install has no $pc.pc"
    grep -qx "Version: $abi" "$pc_file" || fail "$pc_file does not say Version: $abi"
done
echo "ABI $abi: iotgw-sdkConfigVersion.cmake, iotgw-sdk.pc and iotgw-sdk-amr.pc agree"

step "the plain SDK header needs no RapidJSON (only the json and amr components do)"
# -H lists every header the compiler opens: <iotgw/sdk.hpp> must open none of RapidJSON's, or a
# plugin built without rapidjson-dev (a plain iotgw::sdk user) would not compile.
"$cxx" -std=c++20 -fsyntax-only -H -I"$tmp/prefix/include" -x c++ - <<<'#include <iotgw/sdk.hpp>' \
    >"$tmp/headers.log" 2>&1 || {
    cat "$tmp/headers.log"
    fail "<iotgw/sdk.hpp> alone does not compile"
}
if grep -q rapidjson "$tmp/headers.log"; then
    grep -m 3 rapidjson "$tmp/headers.log"
    fail "<iotgw/sdk.hpp> includes RapidJSON's headers"
fi
echo "<iotgw/sdk.hpp>: $(grep -c '^\.' "$tmp/headers.log") headers, none of them RapidJSON's"

step "configure and build sdk/examples/dedup out of tree"
build_example dedup

step "configure and build sdk/examples/call_gate (component amr) out of tree"
build_example call_gate

step "iotgw plugins --plugin-dir $tmp/plugins"
"$iotgw" plugins --plugin-dir "$tmp/plugins" >"$tmp/plugins.txt" 2>&1 || {
    cat "$tmp/plugins.txt"
    fail "iotgw plugins failed"
}
cat "$tmp/plugins.txt"
grep -q 'dedup' "$tmp/plugins.txt" || fail "iotgw plugins does not list dedup"
grep -q 'max_topics' "$tmp/plugins.txt" || fail "iotgw plugins does not show dedup's schema"
grep -q 'call_gate' "$tmp/plugins.txt" || fail "iotgw plugins does not list call_gate"

write_config() { # <file> <max_topics>
    cat >"$1" <<EOF
[gateway]
thing = "sdk-test"
plugin_dirs = ["$tmp/plugins"]

[sources.ticker]
type = "tick"
interval = "100ms"
topic = "sdk/test"
payload = "hello-dedup"

[processors.dedup]
type = "dedup"
window = "30s"
max_topics = $2

[sinks.out]
type = "log"

[[pipelines]]
name = "dedup-demo"
from = "ticker"
via = ["dedup"]
to = ["out"]
EOF
}
config=$tmp/gateway.toml
write_config "$config" 16
write_config "$tmp/bad.toml" 0

step "iotgw check --config $config"
"$iotgw" check --config "$config" || fail "iotgw check rejected a valid config"

step "iotgw check --config $tmp/bad.toml (max_topics = 0 must be refused)"
if "$iotgw" check --config "$tmp/bad.toml" >"$tmp/bad.txt" 2>&1; then
    cat "$tmp/bad.txt"
    fail "iotgw check accepted max_topics = 0 (schema minimum is 1)"
fi
cat "$tmp/bad.txt"
grep -q 'max_topics' "$tmp/bad.txt" || fail "the error does not name max_topics"

step "iotgw run --config $config for 3 s, then SIGTERM"
"$iotgw" run --config "$config" >"$tmp/run.log" 2>&1 &
gw_pid=$!
sleep 3
kill -TERM "$gw_pid" 2>/dev/null || true
rc=0
# Give it 10 s to stop cleanly (its stop_timeout is 5 s), then kill it and fail.
for ((i = 0; i < 100; i++)); do
    kill -0 "$gw_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$gw_pid" 2>/dev/null; then
    kill -KILL "$gw_pid" 2>/dev/null || true
    cat "$tmp/run.log"
    fail "the gateway did not stop within 10 s of SIGTERM"
fi
wait "$gw_pid" || rc=$?
gw_pid=""
cat "$tmp/run.log"
((rc == 0)) || fail "the gateway exited with status $rc after SIGTERM (expected 0)"
grep -q 'started' "$tmp/run.log" || fail "the gateway never logged that it started"
# ~30 ticks with one unchanged payload: dedup forwards the first and suppresses the rest.
passed=$(grep -c 'sdk/test.*hello-dedup' "$tmp/run.log" || true)
((passed >= 1)) || fail "no message passed through tick -> dedup -> log"
((passed == 1)) || fail "dedup forwarded $passed identical messages within its window (expected 1)"

echo
echo "PASS: dedup built out of tree, listed, checked and run; call_gate (amr) built and listed"
