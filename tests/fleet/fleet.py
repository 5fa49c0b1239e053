#!/usr/bin/python3
"""The fleet simulator: N real `iotgw` processes (one per simulated AMR) against one localcore
(mosquitto + the localcore plugin) on this machine, under a configurable load, with faults.

Setup: a scratch localcore; N things with their certificates in one registry write (`localcore
issue-batch`); N gateway configs (configs/local.toml's pipelines, simulated driver); the gateways
started at --spawn-rate per second (and, with --max-connecting K, never more than K of them
still connecting), each in its own process group.

Load (for --duration seconds, and on through the faults): calls at --calls-per-hour per AMR on
amr/<thing>/cmd/call (the topic the console's 呼出し button uses; the simulated AMR moves for
--move-time), desired-state changes at --desired-per-hour per AMR on the robot shadow, heartbeats
every --heartbeat-period (retained unless --heartbeat-retain false), and --consoles console
sessions subscribed with the wildcard forms of the browser console's filters.

Faults, in this order (each can be switched off): a network pause (the broker SIGSTOPped for
--pause seconds), --kill-share of the AMRs killed (SIGKILL: the broker sends their Will) and
started again, and a broker restart (SIGTERM, start on the same port).

Report (a table on stdout, --json FILE for the figures): the time until all N were connected;
after each fault the time until all were back; for the broker restart the reconnect storm:
connects per second (from localcore's lifecycle events $aws/events/presence/connected/<thing>,
stamped by the broker), peak, time until all were back, CONNACK refusals (connect_failed events),
the first-attempt delays the gateways logged and how well they fit the plugin's model (uniform
from 1 s to reconnect_spread), and the storm that model makes for a larger fleet (--storm-fleet)
against AWS's per-account connect quota (--connect-quota, and 3,000/s); localcore's CPU
seconds and memory; the gateways' total memory and CPU; messages per topic class per AMR per hour
(published, retained, delivered to one console); call -> status `moving` and call -> result
latency p50/p99 under load.

Exit status: 0; 1 when localcore crashed, or not all N connected (at start, or back after a
fault) within the bounds (--connect-timeout, --recover-timeout); 2 when it could not set itself up.
Everything runs on 127.0.0.1 in a scratch directory (kept with --work); Ctrl-C/SIGTERM stop every
child; the run has an overall deadline.
"""
import collections
import json
import math
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

import fleet_report as report
from fleet_gateways import Fleet, cpu_seconds, rss_kb, write_config
from fleet_localcore import FleetLocalCore, HarnessError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import soak_cli  # noqa: E402
import soak_procfs  # noqa: E402

# Who publishes each topic class (for the message table).
PUBLISHER = {"cmd/call": "console", "shadow:update": "gateway+console"}


def publisher_of(cls):
    if cls in PUBLISHER:
        return PUBLISHER[cls]
    if cls.startswith("shadow:") and cls.split("/")[-1] in ("accepted", "rejected", "documents", "delta"):
        return "service"
    if cls.startswith("presence:"):
        return "service"
    return "gateway"


class Stopped(BaseException):
    pass


def on_signal(signum, frame):
    raise Stopped(f"signal {signum}")


def on_deadline(signum, frame):
    raise HarnessError("the fleet simulator exceeded its deadline")


def parse_args(argv):
    ap = soak_cli.parser_with_binaries(__doc__)
    ap.add_argument("--count", type=int, default=10, help="AMRs: gateways started (default 10)")
    ap.add_argument("--prefix", default="AMR-", help="thing names: PREFIX + zero-padded number")
    ap.add_argument("--spawn-rate", type=float, default=50, help="gateways started per second (default 50)")
    ap.add_argument("--max-connecting", type=int, default=0,
                    help="at the start, hold further spawns while this many started gateways are not connected "
                    "yet (0: never hold). N gateways sharing this machine's cores all in a TLS handshake at "
                    "once is a load no fleet of devices has; see docs/scaling.md")
    ap.add_argument("--duration", type=float, default=60, help="seconds of steady load measured (default 60)")
    ap.add_argument("--calls-per-hour", type=float, default=60, help="calls per AMR per hour (default 60)")
    ap.add_argument("--desired-per-hour", type=float, default=6, help="desired changes per AMR per hour (default 6)")
    ap.add_argument("--consoles", type=int, default=1, help="console sessions (default 1)")
    ap.add_argument("--move-time", type=float, default=0.5, help="seconds the AMR moves per call (default 0.5)")
    ap.add_argument("--heartbeat-period", type=float, default=10, help="seconds (default 10)")
    ap.add_argument("--heartbeat-retain", choices=("true", "false"), default="true",
                    help="the heartbeat plugin's retain (default true, the seed's design)")
    ap.add_argument("--reconnect-min", help="the gateways' reconnect_min (default: the plugin's, 1s)")
    ap.add_argument("--reconnect-max", help="the gateways' reconnect_max (default: the plugin's, 120s)")
    ap.add_argument("--reconnect-spread", help="the gateways' reconnect_spread, the window of the first attempt "
                    "after a lost connection (default: the plugin's, 30s or reconnect_max if shorter)")
    ap.add_argument("--mqtt-client", choices=("paho-async", "paho-sync"), default="paho-sync",
                    help="the gateways' MQTT client library, the mqtt connection's `client` (default paho-sync, the plugin's default)")
    ap.add_argument("--pause", type=float, default=5, help="seconds the broker is stopped (SIGSTOP); 0: no pause")
    ap.add_argument("--kill-share", type=float, default=0.1, help="share of AMRs killed and restarted; 0: none")
    ap.add_argument("--no-broker-restart", action="store_true", help="skip the broker restart")
    ap.add_argument("--connect-timeout", type=float, help="bound for all N to connect (default 60 + N / 5 s)")
    ap.add_argument("--recover-timeout", type=float, help="bound for all N to be back after a fault "
                    "(default: 2 x the reconnect maximum + 60 + N / 5 s)")
    ap.add_argument("--storm-fleet", type=int, default=10000, help="fleet size of the storm arithmetic (10000)")
    ap.add_argument("--connect-quota", type=float, default=500,
                    help="AWS IoT Core CONNECT requests per second per account used by the storm arithmetic")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--work", help="scratch directory (kept); default: a temporary one, removed after a pass")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    if a.count < 1 or a.spawn_rate <= 0 or a.duration <= 0 or a.consoles < 0 or not 0 <= a.kill_share <= 1:
        ap.error("--count >= 1, --spawn-rate > 0, --duration > 0, --consoles >= 0, 0 <= --kill-share <= 1")
    if a.max_connecting < 0:
        ap.error("--max-connecting must be >= 0 (0: never hold a spawn)")
    for opt in ("reconnect_min", "reconnect_max", "reconnect_spread"):
        text = getattr(a, opt)
        if text is not None and seconds_of(text) is None:
            ap.error(f"--{opt.replace('_', '-')}: cannot read the duration '{text}' (use e.g. 500ms, 5s, 2m)")
    model = backoff_model(a)
    if model["spread"] > model["maximum"]:
        # iotgw check refuses it (no attempt waits longer than the maximum): every gateway would
        # fail to start.
        ap.error(f"--reconnect-spread {a.reconnect_spread} is longer than --reconnect-max "
                 f"{a.reconnect_max or '120s'}: the gateways refuse that (no attempt waits longer than the maximum)")
    if a.connect_timeout is None:
        a.connect_timeout = 60 + a.count / 5
    if a.recover_timeout is None:
        a.recover_timeout = 2 * model["maximum"] + 60 + a.count / 5
    return a


def seconds_of(text):
    """Seconds of a duration as the gateway config takes it ("500ms", "5s", "2m"); None when it
    cannot be read."""
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m)", text)
    if not m:
        return None
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]


def backoff_model(a):
    """The gateways' reconnect settings in seconds, as the mqtt plugin reads them: reconnect_min
    1 s and reconnect_max 120 s unless given, reconnect_spread as given or the plugin's default
    (30 s, or reconnect_max if shorter)."""
    maximum = seconds_of(a.reconnect_max) if a.reconnect_max else 120.0
    spread = seconds_of(a.reconnect_spread) if a.reconnect_spread else None
    return {"minimum": seconds_of(a.reconnect_min) if a.reconnect_min else 1.0, "maximum": maximum,
            "spread": report.effective_spread(spread, maximum)}


class Sim:
    def __init__(self, a, work):
        self.a = a
        self.work = work
        self.lc = FleetLocalCore(a.localcore, work)
        self.fleet = Fleet(a.iotgw, a.plugin_dir, work)
        self.rng = random.Random(a.seed)
        self.names = []
        self.clients = []
        self.presence = self.tap = self.operator = None
        self.consoles = []
        self.phase = "start"
        self.stop_load = threading.Event()
        self.load_thread = None
        self.broker_cpu_before_restarts = 0.0
        self.expected_broker_down = False
        self.failures = []
        self.out = {"args": {k: v for k, v in vars(a).items()}}
        self.t0 = time.monotonic()

    def say(self, text):
        print(f"[{time.monotonic() - self.t0:7.1f} s] {text}", flush=True)

    # ---- setup ----

    def setup(self):
        self.names, batch_s = self.lc.setup_fleet(self.a.prefix, self.a.count)
        self.out["registration"] = {"things": len(self.names), "seconds": round(batch_s, 3)}
        self.say(f"registered {len(self.names)} things with certificates in {batch_s:.2f} s (localcore issue-batch)")
        self.out["mqtt_client"] = self.a.mqtt_client
        self.lc.start()
        for n in self.names:
            cert, key = self.lc.thing_cert(n)
            write_config(self.fleet.config_path(n), n, cert, key, self.lc.ca(), self.lc.port, self.a.move_time,
                         self.a.heartbeat_period, self.a.reconnect_min, self.a.reconnect_max,
                         reconnect_spread=self.a.reconnect_spread, mqtt_client=self.a.mqtt_client,
                         heartbeat_retain=self.a.heartbeat_retain == "true")
        # Imported here, not at the top: fleet_clients needs paho-mqtt, and the selftests import
        # this module for its argument parsing on machines without it (the Debian 13 chroot).
        from fleet_clients import ConsoleSession, Operator, PresenceWatcher, Tap
        self.presence = PresenceWatcher(self.lc)
        if not self.presence.subscribed.wait(15):
            raise HarnessError("the presence watcher did not subscribe within 15 s")
        self.tap = Tap(self.lc)
        self.consoles = [ConsoleSession(self.lc, i) for i in range(self.a.consoles)]
        self.operator = Operator(self.lc)
        if not self.operator.ready.wait(15):
            raise HarnessError("the operator client did not subscribe within 15 s")
        self.say(f"localcore on 127.0.0.1:{self.lc.port}; presence watcher, tap, {len(self.consoles)} console(s) "
                 "and the operator connected")

    # ---- waiting for the fleet ----

    def wait_all_connected(self, since_wall, names, bound, what):
        """Waits until every name has a `connected` event stamped at or after `since_wall` and is
        connected now. Returns (seconds from since_wall to the last such event, {name: first
        connect time}) or (None, ...) after `bound` seconds."""
        deadline = time.monotonic() + bound
        names = set(names)
        last_report = time.monotonic()
        while True:
            self.check_crashes()
            firsts = {}
            for cid, ts in self.presence.events_since(since_wall, ("connected",), names):
                firsts.setdefault(cid, ts)
            if len(firsts) == len(names) and self.presence.connected(names) == len(names):
                return max(firsts.values()) - since_wall, firsts
            if time.monotonic() > deadline:
                self.failures.append(f"{what}: only {len(firsts)} of {len(names)} connected within {bound:.0f} s")
                self.say(self.failures[-1])
                return None, firsts
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                self.say(f"{what}: {len(firsts)} of {len(names)} connected")
            time.sleep(0.2)

    def check_crashes(self):
        if not self.expected_broker_down and not self.lc.running():
            raise HarnessCrash("localcore (mosquitto) exited: " + self.lc.log_tail(1500))
        for t, status in self.fleet.check_exits().items():
            self.failures.append(f"gateway {t} exited by itself with status {status}")
            self.say(self.failures[-1])

    # ---- load ----

    def load_loop(self):
        """Poisson arrivals of calls and desired changes over random AMRs, until stopped."""
        n = len(self.names)
        call_rate = n * self.a.calls_per_hour / 3600.0
        desired_rate = n * self.a.desired_per_hour / 3600.0
        rng = random.Random(self.a.seed + 1)
        now = time.monotonic()
        next_call = now + (rng.expovariate(call_rate) if call_rate > 0 else math.inf)
        next_desired = now + (rng.expovariate(desired_rate) if desired_rate > 0 else math.inf)
        while not self.stop_load.is_set():
            now = time.monotonic()
            while now >= next_call:
                self.operator.call(rng.choice(self.names), self.phase)
                next_call += rng.expovariate(call_rate)
            while now >= next_desired:
                self.operator.desire_moving(rng.choice(self.names))
                next_desired += rng.expovariate(desired_rate)
            self.stop_load.wait(max(0.005, min(next_call, next_desired) - time.monotonic()))

    def counters(self):
        return {"tap": self.tap.counter.snapshot(), "consoles": [c.counter.snapshot() for c in self.consoles],
                "desired_sent": self.operator.desired_sent}

    def broker_cpu(self):
        pid = self.lc.pid()
        try:
            return self.broker_cpu_before_restarts + (cpu_seconds(pid) if pid else 0.0)
        except OSError:
            return self.broker_cpu_before_restarts

    def broker_memory(self):
        pid = self.lc.pid()
        try:
            s = soak_procfs.sample(pid)
            return {"rss_kb": rss_kb(pid), "anon_kb": s["anon_kb"], "fds": s["fds"]}
        except (OSError, TypeError):
            return {}

    # ---- phases ----

    def start_fleet(self):
        since = time.time()
        t = time.monotonic()
        may_start = None
        if self.a.max_connecting > 0:
            def may_start(started):
                return len(started) - self.presence.connected(started) < self.a.max_connecting
        self.fleet.start(self.names, self.a.spawn_rate, alive=self.lc.running, may_start=may_start)
        spawn_s = time.monotonic() - t
        took, _ = self.wait_all_connected(since, self.names, self.a.connect_timeout, "start")
        self.out["start"] = {"spawn_s": round(spawn_s, 2), "all_connected_s": took and round(took, 2),
                             "max_connecting": self.a.max_connecting}
        self.say(f"started {len(self.names)} gateways in {spawn_s:.1f} s; all connected after "
                 f"{report.fmt(took)} s")
        return took is not None

    def steady_load(self):
        self.phase = "load"
        time.sleep(2)  # the first heartbeats and shadow GETs after connecting are not steady state
        c0, cpu0, gw0, w0 = self.counters(), self.broker_cpu(), self.fleet.usage(), time.monotonic()
        tap_delays0 = len(self.tap.call_delays_ms)
        self.load_thread = threading.Thread(target=self.load_loop, daemon=True)
        self.load_thread.start()
        end = time.monotonic() + self.a.duration
        while time.monotonic() < end:
            self.check_crashes()
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        c1, cpu1, gw1, w1 = self.counters(), self.broker_cpu(), self.fleet.usage(), time.monotonic()
        self.phase = "faults"
        hours = (w1 - w0) / 3600.0
        n = len(self.names)
        from fleet_clients import diff
        tap = diff(c1["tap"], c0["tap"])
        cons = [diff(a, b) for a, b in zip(c1["consoles"], c0["consoles"])]
        classes = sorted(set(tap["msgs"]) | {k for c in cons for k in c["msgs"]})
        rows = []
        for cls in classes:
            pub = tap["msgs"].get(cls, 0)
            if cls == "shadow:update":  # the operator's desired changes are not the gateways'
                pub_gw = pub - (c1["desired_sent"] - c0["desired_sent"])
            else:
                pub_gw = pub
            delivered = sum(c["msgs"].get(cls, 0) for c in cons) / len(cons) if cons else None
            rows.append({
                "topic_class": cls, "publisher": publisher_of(cls),
                "published_per_amr_hour": round(pub / n / hours, 2),
                "published_by_gateways_per_amr_hour":
                    round(pub_gw / n / hours, 2) if publisher_of(cls).startswith("gateway") else 0,
                "retained_share": round(tap["retained"].get(cls, 0) / pub, 3) if pub else None,
                # Payload bytes as published (the tap), else as delivered (a console).
                "avg_payload_bytes": round(tap["bytes"].get(cls, 0) / pub, 1) if pub else round(
                    sum(c["bytes"].get(cls, 0) for c in cons) / max(1, sum(c["msgs"].get(cls, 0) for c in cons)), 1),
                "delivered_per_console_per_amr_hour":
                    None if delivered is None else round(delivered / n / hours, 2),
            })
        lat = self.operator.figures("load")
        tap_delays = self.tap.call_delays_ms[tap_delays0:]
        self.out["load"] = {
            "seconds": round(w1 - w0, 1),
            "messages": rows,
            "broker_cpu_s": round(cpu1 - cpu0, 2),
            "broker_cpu_share_of_one_core": round((cpu1 - cpu0) / (w1 - w0), 3),
            "broker_memory": self.broker_memory(),
            "gateways": {"count": gw1["count"], "rss_mb_total": round(gw1["rss_kb"] / 1024, 1),
                         "pss_mb_total": round(gw1["pss_kb"] / 1024, 1),
                         "anon_mb_total": round(gw1["anon_kb"] / 1024, 1),
                         "rss_mb_each": round(gw1["rss_kb"] / 1024 / max(1, gw1["count"]), 2),
                         "anon_mb_each": round(gw1["anon_kb"] / 1024 / max(1, gw1["count"]), 2),
                         "fds_each": round(gw1["fds"] / max(1, gw1["count"]), 1),
                         "threads_each": round(gw1["threads"] / max(1, gw1["count"]), 1),
                         "cpu_s": round(gw1["cpu_s"] - gw0["cpu_s"], 2),
                         "cpu_share_of_one_core": round((gw1["cpu_s"] - gw0["cpu_s"]) / (w1 - w0), 3)},
            "calls": {"sent": lat["sent"], "outcomes": lat["outcomes"],
                      "to_status_ms_p50": report.percentile(lat["to_status_ms"], 50, 1),
                      "to_status_ms_p99": report.percentile(lat["to_status_ms"], 99, 1),
                      "to_result_ms_p50": report.percentile(lat["to_result_ms"], 50, 1),
                      "to_result_ms_p99": report.percentile(lat["to_result_ms"], 99, 1),
                      "desired_sent": c1["desired_sent"] - c0["desired_sent"],
                      "call_to_tap_ms_p50": report.percentile(tap_delays, 50, 1),
                      "call_to_tap_ms_p99": report.percentile(tap_delays, 99, 1)},
        }
        calls = self.out["load"]["calls"]
        self.say(f"load: {lat['sent']} calls, call->status p50 {report.fmt(calls['to_status_ms_p50'])} ms "
                 f"p99 {report.fmt(calls['to_status_ms_p99'])} ms; localcore "
                 f"{self.out['load']['broker_cpu_share_of_one_core'] * 100:.1f} % of a core")

    def network_pause(self):
        t = self.a.pause
        pid = self.lc.pid()
        since = time.time()
        self.phase = "pause"
        self.say(f"network pause: localcore stopped (SIGSTOP) for {t:.0f} s")
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(t)
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed = time.time()
        time.sleep(2)
        disc = [c for c, _ in self.presence.events_since(since, ("disconnected",), set(self.names))]
        # Those that dropped must be back.
        back, _ = (0.0, None) if not disc else self.wait_all_connected(resumed, set(disc), self.a.recover_timeout,
                                                                       "after the pause")
        lat = self.operator.figures("pause")
        self.out["pause"] = {"seconds": t, "disconnects": len(disc), "all_back_after_resume_s": back and round(back, 2),
                             "calls_sent": lat["sent"], "outcomes": lat["outcomes"],
                             "to_status_ms_p50": report.percentile(lat["to_status_ms"], 50, 1),
                             "to_status_ms_max": max(lat["to_status_ms"]) if lat["to_status_ms"] else None}
        self.say(f"pause: {len(disc)} gateways disconnected; calls during it: {lat['outcomes']}")
        self.phase = "faults"

    def kill_share(self):
        k = max(1, math.ceil(self.a.kill_share * len(self.names)))
        victims = self.rng.sample(self.names, k)
        since = time.time()
        self.fleet.kill(victims)
        self.say(f"killed {k} gateways (SIGKILL)")
        # The broker sees the sockets close: disconnected events (and the Will) for each.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            gone = {c for c, _ in self.presence.events_since(since, ("disconnected",), set(victims))}
            if len(gone) == k:
                break
            time.sleep(0.2)
        seen_gone = time.time() - since
        restart_at = time.time()
        self.fleet.start(victims, self.a.spawn_rate, alive=self.lc.running)
        back, _ = self.wait_all_connected(restart_at, victims, self.a.recover_timeout, "killed AMRs restarted")
        self.out["kill"] = {"killed": k, "disconnect_seen_s": round(seen_gone, 2),
                            "all_back_after_restart_s": back and round(back, 2)}
        self.say(f"killed AMRs: disconnects seen after {seen_gone:.1f} s, all back {report.fmt(back)} s after restart")

    def broker_restart(self):
        offsets = self.fleet.log_offsets()
        self.broker_cpu_before_restarts = self.broker_cpu()
        stop_wall = time.time()
        self.expected_broker_down = True
        self.lc.stop()
        stopped_wall = time.time()
        self.lc.start()
        up_wall = time.time()
        self.expected_broker_down = False
        self.say(f"broker restarted: stop took {stopped_wall - stop_wall:.2f} s, down for {up_wall - stop_wall:.2f} s")
        took, firsts = self.wait_all_connected(up_wall, self.names, self.a.recover_timeout, "after the broker restart")
        times = sorted(firsts.values())
        bins = report.per_second(times, up_wall)
        refusals = self.presence.events_since(stop_wall, ("connect_failed",))
        first, retries, first_at, back_at = self.fleet.reconnect_delays_since(offsets)
        # The gateways' own CONNACK times (their log stamps, ms): the storm as the clients saw it.
        # The presence events' stamps are the broker's side (when it accepted each connection).
        back_bins = report.per_second(sorted(back_at.values()), stop_wall)
        # When the first attempts happened, per second from the broker's stop: the storm the
        # fleet makes by itself (on AWS the endpoint would be up all along).
        attempt_bins = report.per_second(sorted(first_at.values()), stop_wall)
        fd = sorted(first.values())
        # Each gateway's own first attempt -> CONNACK (its log stamps): what one attempt takes when
        # the broker is up (paho's receive loop adds ~1 s to a fresh socket: docs/scaling.md).
        to_connack = sorted(back_at[t] - first_at[t] for t in first_at if t in back_at)
        # The plugin's model (fleet_report.first_delay): the storm of --storm-fleet gateways, and
        # how well this run's measured first delays (logged with 0.1 s resolution) fit it.
        model = backoff_model(self.a)
        low, high = report.first_delay_window(model["spread"], model["minimum"], model["maximum"])
        fit = report.uniform_fit(fd, low, high, resolution=0.1)
        storm = {}
        for quota in sorted({self.a.connect_quota, 3000.0}):
            sim = report.simulate_storm(self.a.storm_fleet, quota, seed=self.a.seed, **model)
            storm[str(int(quota))] = {"peak_attempts_per_s": sim["peak_attempts_per_s"],
                                      "peak_accepted_per_s": max(sim["accepted_per_s"]),
                                      "refused_attempts": sim["refused"], "all_back_s": sim["all_back_s"],
                                      "attempts_per_s_first_10": sim["attempts_per_s"][:10]}
        unthrottled = report.simulate_storm(self.a.storm_fleet, math.inf, seed=self.a.seed, **model)
        first_bins = report.per_second(fd, 0.0) if fd else []
        self.out["broker_restart"] = {
            "down_s": round(up_wall - stop_wall, 2),
            "all_back_after_up_s": took and round(took, 2),
            "connects_per_s_from_up": bins,
            "peak_connects_per_s": max(bins) if bins else 0,
            "connect_failed_events": len(refusals),
            "first_attempt_delay_s": {"count": len(fd), "min": fd[0] if fd else None,
                                      "p50": report.percentile(fd, 50), "p90": report.percentile(fd, 90),
                                      "max": fd[-1] if fd else None, "per_second": first_bins,
                                      # The gateway logs the delay with one decimal (seconds_text).
                                      "per_100ms": {f"{k:.1f}": v for k, v in sorted(
                                          collections.Counter(round(d, 1) for d in fd).items())}},
            "first_attempts_per_s_from_stop": attempt_bins,
            "connacks_per_s_from_stop": back_bins,
            "peak_connacks_per_s": max(back_bins) if back_bins else 0,
            "all_back_after_stop_s_gateway_logs":
                round(max(back_at.values()) - stop_wall, 2) if len(back_at) == len(self.names) else None,
            "retry_delays_logged": len(retries),
            "first_attempt_to_connack_s": {"count": len(to_connack),
                                           "p50": report.percentile(to_connack, 50, 3),
                                           "p90": report.percentile(to_connack, 90, 3),
                                           "max": round(to_connack[-1], 3) if to_connack else None},
            "storm_model": {"fleet": self.a.storm_fleet,
                            "reconnect_min_s": model["minimum"], "reconnect_max_s": model["maximum"],
                            "reconnect_spread_s": model["spread"], "first_delay_window_s": [low, high],
                            "measured_fit": fit,
                            "unthrottled_peak_attempts_per_s": unthrottled["peak_attempts_per_s"],
                            "unthrottled_all_back_s": unthrottled["all_back_s"],
                            "by_quota": storm},
        }
        self.say(f"storm: peak {max(bins) if bins else 0} connects/s, all back {report.fmt(took)} s after the "
                 f"broker was up, {len(refusals)} connect_failed; first attempts {report.fmt(fd[0] if fd else None)}"
                 f"..{report.fmt(fd[-1] if fd else None)} s")

    def finish(self):
        """Every step runs even when one before it fails: no child may outlive the run."""
        self.stop_load.set()
        if self.load_thread:
            self.load_thread.join(5)
        self.out["broker_cpu_s_total"] = round(self.broker_cpu(), 2)
        if self.operator is not None:
            # Every call, for a closer look (e.g. against the gateways' logs, which name each id).
            with open(os.path.join(self.work, "calls.json"), "w") as f:
                json.dump(self.operator.records(), f)
        try:
            bad = self.fleet.stop_all()
            self.out["gateways_stopped_badly"] = {k: str(v) for k, v in bad.items()}
        finally:
            try:
                for c in [self.operator, self.tap, self.presence, *self.consoles]:
                    if c is not None:
                        try:
                            c.close()
                        except Exception as e:  # noqa: BLE001 (a client's trouble must not keep the broker up)
                            print(f"fleet: closing an MQTT client: {e}", file=sys.stderr)
            finally:
                self.lc.stop()


class HarnessCrash(Exception):
    """localcore exited while it should have been running."""


def print_report(out, failures):
    print()
    print(report.table(report.summary_rows(out), ["figure", "value"]))
    if out.get("load"):
        print()
        print(report.table([[m["topic_class"], m["publisher"], m["published_per_amr_hour"],
                             report.fmt(m["retained_share"], 2), m["avg_payload_bytes"],
                             m["delivered_per_console_per_amr_hour"]] for m in out["load"]["messages"]],
                           ["topic class", "published by", "published /AMR/h", "retained", "avg bytes",
                            "delivered to a console /AMR/h"]))
    print()
    print("result: " + ("FAIL: " + "; ".join(failures) if failures else "pass"))


def main(argv):
    a = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGALRM, on_deadline)
    # The overall deadline: every bounded wait at its bound, plus spawning and slack.
    signal.alarm(int(a.connect_timeout + a.duration + 3 * a.recover_timeout + a.pause
                     + 2 * a.count / a.spawn_rate + 300))
    work = a.work or tempfile.mkdtemp(prefix="iotgw-fleet-")
    os.makedirs(work, exist_ok=True)
    sim = Sim(a, work)
    status = 0
    try:
        sim.setup()
        if sim.start_fleet():
            sim.steady_load()
            if a.pause > 0:
                sim.network_pause()
            if a.kill_share > 0:
                sim.kill_share()
            if not a.no_broker_restart:
                sim.broker_restart()
        status = 1 if sim.failures else 0
    except HarnessCrash as e:
        sim.failures.append(str(e))
        status = 1
    except HarnessError as e:
        print(f"fleet: {e}", file=sys.stderr)
        status = 2
    except Stopped as e:
        print(f"fleet: stopped by {e}", file=sys.stderr)
        status = 2
    finally:
        signal.alarm(90)  # the cleanup is bounded too
        try:
            sim.finish()
        finally:
            signal.alarm(0)
    if "registration" in sim.out:
        print_report(sim.out, sim.failures)
    sim.out["failures"] = sim.failures
    if a.json:
        with open(a.json, "w") as f:
            json.dump(sim.out, f, indent=1)
    if a.work is None and status == 0:
        shutil.rmtree(work, ignore_errors=True)
    elif status != 0:
        print(f"fleet: scratch directory kept: {work}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
