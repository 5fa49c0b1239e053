#!/usr/bin/env bash
# TLS handshake cost per credentials provider (file PEM key, PKCS#11 token key through
# pkcs11-provider, TPM key through tpm2-openssl): mutual-TLS handshakes against a local
# `openssl s_server` that requires a client certificate, measured with `openssl s_time -new`
# (a full handshake, no session resumption, per connection), for TLS 1.3 and 1.2, EC P-256 keys;
# and the MQTT connect time: `mosquitto_pub` (which loads its key file like paho does) connecting
# to a local TLS mosquitto that requires a client certificate, publishing one QoS 1 message and
# disconnecting, median of 20 runs (process start included; the file key shows that baseline).
# The keys go through the very OpenSSL provider configuration the plugins load (`default` first).
# SoftHSM2 and swtpm stand in for a secure element and a TPM; on a Raspberry Pi with a real TPM
# (SPI) expect tens of ms per signature instead. Prints one line per provider and TLS version.
# Usage: tests/bench/hwkey_tls_handshake.sh [SECONDS_PER_RUN]   (default 3)
set -euo pipefail
seconds=${1:-3}
work=$(mktemp -d /tmp/iotgw-hwkey-bench-XXXXXX)
pids=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
modules=$(openssl version -m | sed 's/.*"\(.*\)"/\1/')

# A CA, a server certificate and one client certificate per key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj /CN=bench-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 2>/dev/null
sign() { openssl x509 -req -in "$1" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$2" -days 2 2>/dev/null; }

port=$(free_port)
openssl s_server -quiet -accept "127.0.0.1:$port" -cert srv.pem -key srv.key -CAfile ca.pem -Verify 1 -www \
    >server.log 2>&1 &
pids+=($!)
sleep 0.3

mport=$(free_port)
cat >mosquitto.conf <<EOC
listener $mport 127.0.0.1
cafile $work/ca.pem
certfile $work/srv.pem
keyfile $work/srv.key
require_certificate true
set_tcp_nodelay true
allow_anonymous true
user $(id -un)
EOC
mosquitto -c mosquitto.conf >mosquitto.log 2>&1 &
pids+=($!)
sleep 0.3

results=()
connect_time() { # name conf key cert
    local out
    out=$(OPENSSL_CONF=$2 /usr/bin/python3 - "$mport" "$3" "$4" <<'EOP'
import statistics, subprocess, sys, time
port, key, cert = sys.argv[1:4]
runs = []
for _ in range(20):
    t = time.perf_counter()
    r = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", port, "--cafile", "ca.pem", "--cert", cert,
                        "--key", key, "-q", "1", "-t", "bench", "-m", "x"], capture_output=True, text=True)
    runs.append((time.perf_counter() - t) * 1000)
    if r.returncode != 0:
        print("FAILED: " + (r.stderr or r.stdout).strip().replace("\n", " "))
        sys.exit(0)
print("median %.1f ms, min %.1f ms" % (statistics.median(runs), min(runs)))
EOP
)
    results+=("$(printf '%-22s %-7s connect+publish+disconnect: %s' "$1" mqtt "$out")")
}
measure() { # name conf key cert
    local name=$1 conf=$2 key=$3 cert=$4 v out n
    for v in tls1_3 tls1_2; do
        out=$(OPENSSL_CONF=$conf openssl s_time -connect "127.0.0.1:$port" -new -"$v" -time "$seconds" \
            -cert "$cert" -key "$key" -CAfile ca.pem 2>&1 || true)
        n=$(sed -n 's/^\([0-9]*\) connections in \([0-9.]*\) real.*/\1 \2/p' <<<"$out" | head -n 1)
        if [[ -z $n ]]; then
            results+=("$(printf '%-22s %-7s FAILED: %s' "$name" "$v" "$(tail -n 2 <<<"$out" | tr '\n' ' ')")")
        else
            read -r count secs <<<"$n"
            results+=("$(awk -v n="$name" -v v="$v" -v c="$count" -v s="$secs" \
                'BEGIN { printf "%-22s %-7s %6d handshakes in %5.1f s = %6.2f ms each", n, v, c, s, s * 1000 / c }')")
        fi
    done
    connect_time "$name" "$conf" "$key" "$cert"
}

# file
printf 'openssl_conf = init\n[init]\nproviders = prov\n[prov]\ndefault = dflt\n[dflt]\nactivate = 1\n' >file.cnf
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout file.key -out file.csr -subj /CN=file 2>/dev/null
sign file.csr file.pem
measure "file (PEM key)" file.cnf file.key file.pem

# PKCS#11 (SoftHSM2)
softhsm=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -n 1 || true)
if [[ -n $softhsm && -f $modules/pkcs11.so ]]; then
    mkdir tokens
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" >softhsm2.conf
    export SOFTHSM2_CONF=$work/softhsm2.conf
    softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
    printf '1234\n' >pin && chmod 600 pin
    cat >p11.cnf <<EOC
openssl_conf = init
[init]
providers = prov
[prov]
default = dflt
pkcs11 = p11
[dflt]
activate = 1
[p11]
module = $modules/pkcs11.so
pkcs11-module-path = $softhsm
pkcs11-module-token-pin = file:$work/pin
pkcs11-module-quirks = no-deinit no-operation-state
activate = 1
EOC
    OPENSSL_CONF=p11.cnf openssl genpkey -propquery '?provider=pkcs11' -algorithm EC -pkeyopt group:P-256 \
        -pkeyopt 'pkcs11_uri:pkcs11:token=bench;object=k;id=%01' >/dev/null 2>&1 || true
    # The URI PEM the pkcs11 plugin writes (pkcs11-provider 1.0 has no encoder for it).
    /usr/bin/python3 - <<'EOP' >p11.key
import base64
def tlv(tag, b):
    n = len(b)
    l = bytes([n]) if n < 128 else bytes([0x81, n])
    return bytes([tag]) + l + b
der = tlv(0x30, tlv(0x1a, b"PKCS#11 Provider URI v1.0") + tlv(0x0c, b"pkcs11:token=bench;object=k;id=%01;type=private"))
b = base64.b64encode(der).decode()
print("-----BEGIN PKCS#11 PROVIDER URI-----")
print("\n".join(b[i:i+64] for i in range(0, len(b), 64)))
print("-----END PKCS#11 PROVIDER URI-----")
EOP
    OPENSSL_CONF=p11.cnf openssl req -new -key p11.key -subj /CN=pkcs11 -out p11.csr 2>/dev/null &&
        sign p11.csr p11.pem && measure "pkcs11 (SoftHSM2)" p11.cnf p11.key p11.pem ||
        results+=("pkcs11 (SoftHSM2)      could not make a token key")
else
    results+=("pkcs11                 skipped: SoftHSM2 or pkcs11-provider is not installed")
fi

# TPM (swtpm)
tpm_version=$(dpkg-query -W -f='${Version}' tpm2-openssl 2>/dev/null || true)
if [[ -n $tpm_version ]] && dpkg --compare-versions "$tpm_version" ge 1.2 && command -v swtpm >/dev/null; then
    tport=$(free_port)
    mkdir tpmstate
    swtpm socket --tpm2 --server "type=tcp,bindaddr=127.0.0.1,port=$tport" \
        --ctrl "type=tcp,bindaddr=127.0.0.1,port=$((tport + 1))" --tpmstate dir=tpmstate \
        --flags not-need-init,startup-clear >swtpm.log 2>&1 &
    pids+=($!)
    sleep 0.3
    export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$tport" TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=$tport"
    tpm2_createprimary -C o -G ecc -c primary.ctx >/dev/null
    tpm2_evictcontrol -C o -c primary.ctx 0x81000001 >/dev/null
    tpm2_flushcontext -t
    printf 'openssl_conf = init\n[init]\nproviders = prov\n[prov]\ndefault = dflt\ntpm2 = tpm\n[dflt]\nactivate = 1\n[tpm]\nmodule = %s/tpm2.so\nactivate = 1\n' \
        "$modules" >tpm.cnf
    OPENSSL_CONF=tpm.cnf openssl genpkey -propquery '?provider=tpm2' -algorithm EC -pkeyopt group:P-256 \
        -pkeyopt parent:0x81000001 -out tpm.key 2>/dev/null
    OPENSSL_CONF=tpm.cnf openssl req -new -key tpm.key -subj /CN=tpm -out tpm.csr 2>/dev/null
    sign tpm.csr tpm.pem
    measure "tpm (swtpm)" tpm.cnf tpm.key tpm.pem
else
    results+=("tpm                    skipped: needs swtpm and tpm2-openssl >= 1.2 (have: ${tpm_version:-none})")
fi

echo "TLS handshake per provider (mutual TLS, EC P-256, full handshakes, loopback; $(openssl version))"
printf '%s\n' "${results[@]}"
