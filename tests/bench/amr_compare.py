#!/usr/bin/python3
"""Side-by-side benchmark: the gateway vs the seed's reference device server
(../shared/baselines/seed_server.py) on one TLS mosquitto on loopback, in one run.

Figures (printed, never asserted — timing on a shared machine is information, not a verdict):
  idle memory: private (RssAnon), PSS, VmRSS; idle CPU % of a core and voluntary context
  switches per second over the idle window; command-to-status latency p50/p99 over N calls
  (move time 0, calls spaced so the device stays under AWS's per-connection publish rate) next
  to a bare mosquitto round trip measured in the same run; time from start to the first status
  published.

Usage: amr_compare.py --iotgw BIN --plugin-dir DIR --dev-pki SCRIPT --seed-server PY
                      [--idle-seconds 60] [--calls 1000] [--call-interval-ms 40] [--deadline 900]
                      [--work DIR]

Bounded: the whole run has a deadline (SIGALRM), and a server that misses
MAX_CONSECUTIVE_MISSES calls in a row is reported as failed instead of being waited on for
every remaining call. On failure the tails of the gateway, seed server and broker logs are
printed so the cause is visible in the CI output.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import paho.mqtt.client as mqtt

THING_GW = "AMR-001"
THING_SEED = "AMR-002"
MAX_CONSECUTIVE_MISSES = 5

phase = "starting"  # what the run is doing, for the deadline message


class BenchFailure(Exception):
    pass


def on_deadline(signum, frame):
    raise BenchFailure(f"the benchmark exceeded its deadline while {phase}")


def print_log_tails(work, names=("gateway.log", "seed.log", os.path.join("broker", "mosquitto.log"))):
    for name in names:
        path = os.path.join(work, name)
        try:
            with open(path, errors="replace") as f:
                tail = f.read()[-3000:]
        except OSError:
            continue
        print(f"--- last lines of {name} ---", file=sys.stderr)
        print(tail, file=sys.stderr)


def new_client(client_id):
    # paho-mqtt 2.x (Debian 13) wants the callback API version first; 1.6 (Debian 12) has none.
    if hasattr(mqtt, "CallbackAPIVersion"):
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id)
    return mqtt.Client(client_id=client_id)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, work, pki):
        self.port = free_port()
        self.dir = os.path.join(work, "broker")
        os.makedirs(self.dir, exist_ok=True)
        acl = os.path.join(self.dir, "acl")
        with open(acl, "w") as f:
            f.write("user bench\ntopic readwrite amr/#\ntopic readwrite bench/#\n"
                    "pattern readwrite amr/%u/#\npattern readwrite $aws/things/%u/#\n")
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"""per_listener_settings false
listener {self.port} 127.0.0.1
cafile {pki}/ca.pem
certfile {pki}/server.pem
keyfile {pki}/server.key
require_certificate true
use_identity_as_username true
allow_anonymous false
acl_file {acl}
set_tcp_nodelay true
persistence false
log_dest file {self.dir}/mosquitto.log
user {os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name}
""")
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start: " + open(f"{self.dir}/mosquitto.log").read()[-2000:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Observer:
    """A console-like client (cert CN 'bench'): subscribes to amr/#, sends calls, times replies."""

    def __init__(self, broker, pki):
        self.c = new_client("bench-observer")
        self.c.tls_set(ca_certs=f"{pki}/ca.pem", certfile=f"{pki}/bench.pem", keyfile=f"{pki}/bench.key",
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.cond = threading.Condition()
        self.events = []  # (monotonic time, topic, payload)
        self.c.on_message = self._on_message
        self.c.connect("localhost", broker.port, keepalive=60)
        # Measure the servers, not Nagle's algorithm on the observer's own socket (a small
        # publish would wait ~40 ms for the ACK of the previous one).
        self.c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.c.loop_start()
        self._sub("amr/#")
        self._sub("bench/#")

    def _sub(self, flt):
        done = threading.Event()
        self.c.on_subscribe = lambda *a: done.set()
        self.c.subscribe(flt, qos=1)
        done.wait(5)

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.events.append((time.monotonic(), msg.topic, msg.payload.decode("utf-8", "replace"), msg.retain))
            self.cond.notify_all()

    def wait(self, pred, timeout=10.0, since=0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events[since:]:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.events)

    def publish(self, topic, payload, retain=False):
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def proc_figures(pid):
    def status_fields():
        out = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
        return out

    st = status_fields()
    pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return {"rss_kb": int(st["VmRSS"].split()[0]), "anon_kb": int(st["RssAnon"].split()[0]), "pss_kb": pss}


def cpu_and_switches(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    switches = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        switches += int(line.split()[1])
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK"), switches


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def gateway_config(work, pki, port, thing):
    path = os.path.join(work, "gateway.toml")
    with open(path, "w") as f:
        f.write(f"""[gateway]
thing = "{thing}"
log_level = "warning"
[credentials.dev]
type = "file"
cert = "{pki}/{thing}.pem"
key = "{pki}/{thing}.key"
ca = "{pki}/ca.pem"
[connections.cloud]
type = "mqtt"
endpoint = "localhost"
port = {port}
credentials = "dev"
[processors.amr]
type = "amr_call"
move_time = "0s"
[processors.status]
type = "status"
connection = "cloud"
[sources.heartbeat]
type = "heartbeat"
period = "10s"
[[pipelines]]
name = "call"
from = "cloud:amr/${{thing}}/cmd/call"
via = ["amr", "status"]
to = ["cloud"]
[[pipelines]]
name = "heartbeat"
from = "heartbeat"
to = ["cloud"]
""")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iotgw", required=True)
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--dev-pki", required=True)
    ap.add_argument("--seed-server", required=True)
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--call-interval-ms", type=float, default=40,
                    help="time between the starts of two calls (default 40: 25 calls/s, each call publishes "
                         "a moving and an idle status, 50 publishes/s, under AWS's 100 per second per connection)")
    ap.add_argument("--deadline", type=int, default=900, help="seconds the whole run may take")
    ap.add_argument("--work")
    args = ap.parse_args()
    global phase
    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(args.deadline)

    work = args.work or tempfile.mkdtemp(prefix="iotgw-amr-bench-")
    pki = os.path.join(work, "pki")
    children = []
    broker = None
    observer = None
    failed = False
    try:
        subprocess.run([args.dev_pki, "init", pki], check=True, stdout=subprocess.DEVNULL)
        for name in (THING_GW, THING_SEED, "bench"):
            subprocess.run([args.dev_pki, "device", pki, name], check=True, stdout=subprocess.DEVNULL)
        broker = Broker(work, pki)
        observer = Observer(broker, pki)
        for thing in (THING_GW, THING_SEED):  # no retained status from an earlier run
            observer.publish(f"amr/{thing}/status", "", retain=True)

        # --- start to first status ---
        def start_gateway():
            cfg = gateway_config(work, pki, broker.port, THING_GW)
            return subprocess.Popen([args.iotgw, "run", "--config", cfg, "--plugin-dir", args.plugin_dir],
                                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "gateway.log"), "w"))

        def start_seed():
            env = dict(os.environ, BROKER_HOST="localhost", BROKER_PORT=str(broker.port), CA=f"{pki}/ca.pem",
                       CERT=f"{pki}/{THING_SEED}.pem", KEY=f"{pki}/{THING_SEED}.key", THING=THING_SEED,
                       MOVE_S="0", HB_S="10")
            shim = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_seed_server.py")
            return subprocess.Popen([sys.executable, shim, args.seed_server], env=env, stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(work, "seed.log"), "w"))

        results = {}
        procs = {}
        phase = "waiting for the first status of each server"
        for name, thing, start in (("iotgw", THING_GW, start_gateway), ("seed_server.py", THING_SEED, start_seed)):
            mark = observer.mark()
            t0 = time.monotonic()
            p = start()
            children.append(p)
            procs[name] = p
            e = observer.wait(lambda ev: ev[1] == f"amr/{thing}/status" and ev[2], 15, since=mark)
            if not e:
                if name == "iotgw":
                    raise BenchFailure(f"{name} published no status on amr/{thing}/status within 15 s of its start")
                # The baseline is someone else's script: if it cannot run here, measure the gateway
                # alone and say so, rather than failing the product's benchmark.
                print(f"amr_compare: WARNING: the baseline {name} published no status within 15 s; "
                      "its column is left empty", file=sys.stderr)
                print_log_tails(work, ("seed.log",))
                del procs[name]
                continue
            results[name] = {"start_ms": (e[0] - t0) * 1000}

        # --- idle: both at once, same window ---
        phase = "measuring idle CPU and memory"
        time.sleep(2)  # let start-up settle
        before = {n: cpu_and_switches(p.pid) for n, p in procs.items()}
        time.sleep(args.idle_seconds)
        after = {n: cpu_and_switches(p.pid) for n, p in procs.items()}
        for n, p in procs.items():
            if p.poll() is not None:
                raise BenchFailure(f"{n} exited (status {p.returncode}) during the idle window")
            cpu = (after[n][0] - before[n][0]) / args.idle_seconds * 100
            sw = (after[n][1] - before[n][1]) / args.idle_seconds
            results[n].update(proc_figures(p.pid), idle_cpu_pct=cpu, ctx_per_s=sw)

        # --- bare broker round trip ---
        phase = "measuring the bare broker round trip"
        rtts = []
        misses = 0
        for i in range(args.calls):
            mark = observer.mark()
            token = uuid.uuid4().hex
            t0 = time.monotonic()
            observer.c.publish("bench/rtt", token, qos=1)
            e = observer.wait(lambda ev: ev[1] == "bench/rtt" and ev[2] == token, 5, since=mark)
            if e:
                rtts.append((e[0] - t0) * 1000)
                misses = 0
            else:
                misses += 1
                if misses >= MAX_CONSECUTIVE_MISSES:
                    raise BenchFailure(f"{misses} of the observer's own messages in a row did not come back "
                                       "from the broker")

        # --- command to status ---
        for name, thing in (("iotgw", THING_GW), ("seed_server.py", THING_SEED)):
            if name not in procs:
                continue
            phase = f"sending calls to {name}"
            lat = []
            misses = 0
            next_call = time.monotonic()
            for i in range(args.calls):
                # Calls start call_interval apart, so the device's publishes stay under AWS's
                # per-connection rate; back to back, the gateway's pacer (90/s) would hold them
                # and the figure would measure the pace, not the gateway.
                time.sleep(max(0.0, next_call - time.monotonic()))
                next_call = time.monotonic() + args.call_interval_ms / 1000
                mark = observer.mark()
                cmd = json.dumps({"id": uuid.uuid4().hex[:16], "ts": int(time.time() * 1000)})
                t0 = time.monotonic()
                observer.c.publish(f"amr/{thing}/cmd/call", cmd, qos=1)
                e = observer.wait(lambda ev: ev[1] == f"amr/{thing}/status" and '"moving"' in ev[2], 5, since=mark)
                if e:
                    lat.append((e[0] - t0) * 1000)
                    misses = 0
                else:
                    misses += 1
                    if misses >= MAX_CONSECUTIVE_MISSES:
                        state = "exited" if procs[name].poll() is not None else "still running"
                        raise BenchFailure(f"{name} ({state}) answered none of {misses} calls in a row "
                                           f"(call {i + 1} of {args.calls}) with a moving status")
                # Wait for idle again so calls never overlap a move.
                observer.wait(lambda ev: ev[1] == f"amr/{thing}/status" and '"idle"' in ev[2], 5, since=mark)
            results[name]["lat_p50"] = percentile(lat, 50) if lat else float("nan")
            results[name]["lat_p99"] = percentile(lat, 99) if lat else float("nan")
            results[name]["lat_n"] = len(lat)

        print(f"\n== AMR device server: iotgw vs the seed's reference (seed_server.py), one TLS mosquitto on loopback ==")
        print(f"idle window {args.idle_seconds:.0f} s, {args.calls} calls {args.call_interval_ms:g} ms apart, move time 0; bare mosquitto QoS1 round trip "
              f"p50 {percentile(rtts, 50):.2f} ms p99 {percentile(rtts, 99):.2f} ms")
        hdr = f"{'':16}{'RssAnon MB':>11}{'PSS MB':>9}{'VmRSS MB':>10}{'idle CPU %':>11}{'ctxsw/s':>9}" \
              f"{'cmd->status p50 ms':>20}{'p99 ms':>8}{'start->status ms':>18}"
        print(hdr)
        for n in ("iotgw", "seed_server.py"):
            if n not in procs:
                print(f"{n:16}  (did not run here; see the warning above)")
                continue
            r = results[n]
            print(f"{n:16}{r['anon_kb'] / 1024:11.2f}{r['pss_kb'] / 1024:9.2f}{r['rss_kb'] / 1024:10.2f}"
                  f"{r['idle_cpu_pct']:11.3f}{r['ctx_per_s']:9.2f}{r['lat_p50']:20.2f}{r['lat_p99']:8.2f}"
                  f"{r['start_ms']:18.1f}")
        g = results["iotgw"]
        print(f"targets: RssAnon <= 2 MB: {g['anon_kb'] / 1024:.2f} MB; idle CPU <= 0.1 %: {g['idle_cpu_pct']:.3f} %; "
              f"p99 within 1 ms of the bare round trip p99 ({percentile(rtts, 99):.2f} ms): {g['lat_p99']:.2f} ms; "
              f"start to first status <= 250 ms: {g['start_ms']:.1f} ms")
        return 0
    except BenchFailure as e:
        failed = True
        print(f"amr_compare: FAILED: {e}", file=sys.stderr)
        print_log_tails(work)
        return 1
    finally:
        phase = "cleaning up"
        signal.alarm(60)  # clean-up is bounded too
        for p in children:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if observer:
            observer.close()
        if broker:
            broker.stop()
        if not args.work and not failed:
            shutil.rmtree(work, ignore_errors=True)
        signal.alarm(0)


if __name__ == "__main__":
    sys.exit(main())
