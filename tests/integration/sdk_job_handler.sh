#!/usr/bin/env bash
# A third-party job handler, end to end: install the SDK from the build tree, build the example
# sdk/examples/disk_report out of tree against it, check its sample.toml, then run the real
# gateway with the `jobs` processor and that handler against localcore on loopback and create
# jobs as an operator does (`localcore create-job`), reading their end with `describe-job`:
# a disk_report job SUCCEEDED with the file system's space in its status details, one asking for
# more room than there is FAILED not_enough_space, one with a bad document REJECTED by the
# handler, and an operation no handler carries out REJECTED unknown_operation by the processor.
# Usage: sdk_job_handler.sh <iotgw binary> <localcore binary> <build dir> <source dir> <cmake> <c++ compiler>
set -euo pipefail

iotgw=$1
localcore=$2
build_dir=$3
source_dir=$4
cmake=${5:-cmake}
cxx=${6:-c++}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iotgw-sdk-job.XXXXXX")
gw_pid=""
# shellcheck source-path=SCRIPTDIR source=localcore_loopback.sh
source "$(dirname "$0")/localcore_loopback.sh"
# shellcheck source-path=SCRIPTDIR source=sdk_examples.sh
source "$(dirname "$0")/sdk_examples.sh"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [[ -n $gw_pid ]]; then
        kill -KILL "$gw_pid" 2>/dev/null || true
        wait "$gw_pid" 2>/dev/null || true
    fi
    lc_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "FAIL: $*" >&2
    [[ ! -f $tmp/run.log ]] || { echo "--- gateway log:" >&2; tail -n 40 "$tmp/run.log" >&2; }
    exit 1
}
step() { printf '\n--- [%3ds] %s\n' "$SECONDS" "$*"; }
# The string value of statusDetails.<key> in an execution's JSON ("" when absent).
detail() { /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get("statusDetails", {}).get(sys.argv[2], ""))' "$1" "$2"; }
# create_job <id> <document>
create_job() {
    printf '%s' "$2" >"$tmp/$1.json"
    lc create-job --thing AMR-001 --job-id "$1" --document "$tmp/$1.json" >/dev/null
}

step "install the build tree into $tmp/prefix"
install_sdk

step "configure and build sdk/examples/disk_report (SDK 1.3, component json) out of tree"
build_example disk_report

step "iotgw check its sample.toml"
"$iotgw" plugins --plugin-dir "$tmp/plugins" >"$tmp/plugins.txt" 2>&1 || {
    cat "$tmp/plugins.txt"
    fail "iotgw plugins failed"
}
grep -q 'disk_report' "$tmp/plugins.txt" || fail "iotgw plugins does not list disk_report"
"$iotgw" check --config "$source_dir/sdk/examples/disk_report/sample.toml" --plugin-dir "$tmp/plugins" ||
    fail "iotgw check rejected sdk/examples/disk_report/sample.toml"

step "localcore on 127.0.0.1"
lc_start "$localcore" "$tmp"
echo "port $lc_port"

step "iotgw run: the jobs processor with disk_report (out of tree) and health (in tree)"
mkdir -p "$tmp/robot"
cat >"$tmp/gateway.toml" <<TOML
[gateway]
thing = "AMR-001"
plugin_dirs = ["$tmp/plugins"]

[credentials.device]
type = "file"
cert = "$tmp/AMR-001.pem"
key = "$tmp/AMR-001.key"
ca = "$lc_ca"

[connections.cloud]
type = "mqtt"
endpoint = "localhost"
port = $lc_port
credentials = "device"
reconnect_min = "100ms"
reconnect_max = "500ms"

[job_handlers.disk]
type = "disk_report"
path = "$tmp/robot"

[job_handlers.health]
type = "health"

[processors.jobs]
type = "jobs"
handlers = ["disk", "health"]
journal = "$tmp/journal.json"
retry = "2s"

[[pipelines]]
name = "jobs"
from = "cloud:\$aws/things/\${thing}/jobs/notify-next"
via = ["jobs"]
to = ["cloud"]

[[pipelines]]
name = "jobs-start-next"
from = "cloud:\$aws/things/\${thing}/jobs/start-next/+"
to = ["jobs"]

[[pipelines]]
name = "jobs-update"
from = "cloud:\$aws/things/\${thing}/jobs/+/update/+"
to = ["jobs"]

[[pipelines]]
name = "jobs-get"
from = "cloud:\$aws/things/\${thing}/jobs/+/get/+"
to = ["jobs"]
TOML
"$iotgw" run --config "$tmp/gateway.toml" >"$tmp/run.log" 2>&1 &
gw_pid=$!

step "a disk_report job ends SUCCEEDED with the space of $tmp/robot"
create_job disk-1 '{"operation":"disk_report"}'
execution=$(lc_wait_job AMR-001 disk-1 SUCCEEDED 30) || fail "disk-1 did not succeed"
echo "$execution"
[[ $(detail "$execution" path) == "$tmp/robot" ]] || fail "statusDetails.path is not $tmp/robot"
free=$(detail "$execution" free_mb)
total=$(detail "$execution" total_mb)
used=$(detail "$execution" used_percent)
[[ $free =~ ^[0-9]+$ && $total =~ ^[0-9]+$ && $used =~ ^[0-9]+$ ]] ||
    fail "free_mb '$free', total_mb '$total', used_percent '$used' are not whole numbers"
((total > 0 && free <= total && used <= 100)) || fail "free_mb $free, total_mb $total, used_percent $used do not add up"
# df rounds sizes up, the handler down: the same file system's size within 1 MB.
df_total=$(df -B1M --output=size "$tmp/robot" | tail -n 1 | tr -d ' M')
((total == df_total || total + 1 == df_total)) || fail "total_mb $total, but df says $df_total MB"
[[ -z $(detail "$execution" min_free_mb) ]] || fail "min_free_mb reported though the job did not ask"
grep -q 'disk report for job disk-1' "$tmp/run.log" || fail "the handler did not log the report"

step "asking for more room than there is: FAILED not_enough_space, with the space"
create_job disk-2 '{"operation":"disk_report","min_free_mb":1000000000000}'
execution=$(lc_wait_job AMR-001 disk-2 FAILED 20) || fail "disk-2 did not fail"
echo "$execution"
[[ $(detail "$execution" reason) == not_enough_space ]] || fail "disk-2's reason is not not_enough_space"
[[ $(detail "$execution" min_free_mb) == 1000000000000 && -n $(detail "$execution" free_mb) ]] ||
    fail "disk-2's details lack min_free_mb or free_mb"

step "a bad document: REJECTED invalid_document by the handler"
create_job disk-3 '{"operation":"disk_report","min_free_mb":"lots"}'
execution=$(lc_wait_job AMR-001 disk-3 REJECTED 20) || fail "disk-3 was not rejected"
echo "$execution"
[[ $(detail "$execution" reason) == invalid_document ]] || fail "disk-3's reason is not invalid_document"

step "an operation no handler carries out: REJECTED unknown_operation by the processor"
create_job reboot-1 '{"operation":"reboot"}'
execution=$(lc_wait_job AMR-001 reboot-1 REJECTED 20) || fail "reboot-1 was not rejected"
echo "$execution"
[[ $(detail "$execution" reason) == unknown_operation ]] || fail "reboot-1's reason is not unknown_operation"
[[ $(detail "$execution" message) == *"it has: disk_report, health"* ]] ||
    fail "reboot-1's message does not list disk_report and health"

step "SIGTERM: the gateway stops cleanly"
kill -TERM "$gw_pid"
for ((i = 0; i < 100; i++)); do
    kill -0 "$gw_pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$gw_pid" 2>/dev/null && fail "the gateway did not stop within 10 s of SIGTERM"
rc=0
wait "$gw_pid" || rc=$?
gw_pid=""
((rc == 0)) || fail "the gateway exited with status $rc after SIGTERM (expected 0)"
[[ ! -e $tmp/journal.json ]] || fail "the jobs journal was left behind"

echo
echo "PASS: disk_report built out of tree, checked, and its jobs ended SUCCEEDED, FAILED and REJECTED"
