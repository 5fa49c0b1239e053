#!/usr/bin/env bash
# `iotgw check` on plugins/tpm/sample.toml against a software TPM. The sample names the device's
# TPM (device:/dev/tpmrm0), which a build machine rarely has: this starts swtpm on loopback, makes
# the primary key the sample expects at 0x81000001 (as its README tells an owner to), and checks
# a copy of the sample whose `tcti` line points at swtpm instead (nothing else differs).
# Usage: sample_check_swtpm.sh IOTGW SAMPLE
# Exits 77 (ctest: skipped) where swtpm, tpm2-tools or tpm2-openssl >= 1.2 are missing; the tpm
# plugin refuses older tpm2-openssl (Debian 12), so there the check could only fail.
set -euo pipefail
iotgw=$1
sample=$2

skip() {
    echo "skipped: $*"
    exit 77
}
for tool in swtpm tpm2_createprimary tpm2_evictcontrol tpm2_flushcontext; do
    command -v "$tool" >/dev/null || skip "$tool is missing (apt-get install swtpm tpm2-tools)"
done
version=$(dpkg-query -W -f='${Version}' tpm2-openssl 2>/dev/null || true)
version=${version%%-*}
[[ -n $version ]] || skip "tpm2-openssl is not installed"
if dpkg --compare-versions "$version" lt 1.2; then
    skip "tpm2-openssl $version is installed; the tpm plugin needs >= 1.2 (Debian 13)"
fi

dir=$(mktemp -d)
pid=
cleanup() {
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
mkdir "$dir/state"

# swtpm takes a port and the next one; a busy pair makes it exit, so try a few random ones.
started=false
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    swtpm socket --tpm2 --server "type=tcp,bindaddr=127.0.0.1,port=$port" \
        --ctrl "type=tcp,bindaddr=127.0.0.1,port=$((port + 1))" --tpmstate "dir=$dir/state" \
        --flags not-need-init,startup-clear >"$dir/swtpm.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || break
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            started=true
            break
        fi
        sleep 0.01
    done
    $started && break
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
done
if ! $started; then
    cat "$dir/swtpm.log" >&2
    echo "swtpm did not start" >&2
    exit 1
fi

export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
tpm2_createprimary -C o -G ecc -c "$dir/primary.ctx" >/dev/null
tpm2_evictcontrol -C o -c "$dir/primary.ctx" 0x81000001 >/dev/null
tpm2_flushcontext -t >/dev/null || true

sed "s|^tcti = .*|tcti = \"$TPM2TOOLS_TCTI\"|" "$sample" >"$dir/sample.toml"
if cmp -s "$sample" "$dir/sample.toml"; then
    echo "$sample has no 'tcti = ...' line to point at swtpm" >&2
    exit 1
fi
"$iotgw" check --config "$dir/sample.toml"
