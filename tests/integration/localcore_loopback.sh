# shellcheck shell=bash
# Sourced by the integration scripts that need the cloud: localcore (mosquitto 2.0 with the
# localcore plugin) on a free 127.0.0.1 port, with a scratch data directory and thing AMR-001
# holding a device certificate (policy "device"). The caller defines fail() and kills the broker
# in its EXIT trap with lc_stop.
#   lc_start <localcore binary> <dir>   init in <dir>/localcore, AMR-001's key and certificate as
#                                       <dir>/AMR-001.key|.pem, the broker (log <dir>/mosquitto.log);
#                                       sets lc_port, lc_ca and lc_pid
#   lc ARGS...                          the localcore command on that data directory
#   lc_wait_job <thing> <job id> <status> <seconds>
#                                       describe-job until the execution has <status>; prints it, or
#                                       the last output on stderr and returns 1 after <seconds>
#   lc_stop                             SIGTERM to the broker, at most 5 s, then SIGKILL
# lc_port, lc_ca and lc_pid are for the caller.
# shellcheck disable=SC2034
lc_bin=""
lc_data=""
lc_port=""
lc_ca=""
lc_pid=""

lc() { "$lc_bin" --data "$lc_data" "$@"; }

lc_start() {
    lc_bin=$1
    local dir=$2
    lc_data=$dir/localcore
    lc init >/dev/null || fail "localcore init failed"
    lc create-thing AMR-001 >/dev/null
    lc issue-cert --thing AMR-001 --policy device --out "$dir/AMR-001" >/dev/null
    lc_ca=$lc_data/ca/ca.pem
    lc_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    {
        lc mosquitto-conf --port "$lc_port"
        echo "log_dest file $dir/mosquitto.log"
    } >"$dir/mosquitto.conf"
    # Killed with this script even if it is killed (setpriv sets the parent-death signal and execs).
    local guard=()
    [[ ! -x /usr/bin/setpriv ]] || guard=(/usr/bin/setpriv --pdeathsig KILL)
    "${guard[@]}" /usr/sbin/mosquitto -c "$dir/mosquitto.conf" &
    lc_pid=$!
    local i
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$lc_port") 2>/dev/null && return 0
        kill -0 "$lc_pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$dir/mosquitto.log" >&2 || true
    fail "localcore's broker did not listen on 127.0.0.1:$lc_port within 10 s"
}

lc_wait_job() {
    local thing=$1 id=$2 status=$3 deadline=$((SECONDS + $4)) out=""
    while ((SECONDS < deadline)); do
        out=$(lc describe-job --thing "$thing" --job-id "$id" 2>&1) || true
        if [[ $out == *"\"status\":\"$status\""* ]]; then
            printf '%s\n' "$out"
            return 0
        fi
        sleep 0.2
    done
    echo "job $id of $thing is not $status after $4 s: $out" >&2
    return 1
}

lc_stop() {
    [[ -n $lc_pid ]] || return 0
    kill -TERM "$lc_pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$lc_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$lc_pid" 2>/dev/null || true
    wait "$lc_pid" 2>/dev/null || true
    lc_pid=""
}
