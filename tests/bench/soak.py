#!/usr/bin/python3
"""Soak: the real gateway (`iotgw run`) against localcore for a while, under load and disturbance,
watching its memory, file descriptors and threads, and every heartbeat it sends.

Load: calls at --call-rate per second (the simulated AMR moves for --move-time), a heartbeat every
--heartbeat-period, a desired-state change of the robot shadow every --desired-every (each one a
call made by the gateway and reported back). Disturbance: the broker (mosquitto + the localcore
plugin) restarted every --broker-restart-every seconds, one client-id takeover (another device
certificate of the same thing connecting with the gateway's client id) and one certificate
rotation (fleet_provisioning renewing a short-lived certificate through the claim connection).

Printed every --report-every seconds: RssAnon and PSS, open fds, threads, reconnects, heartbeats
received by a persistent QoS 1 subscriber and the gaps in their seq, calls answered. At the end:
RssAnon after warm-up vs at the end and its least-squares slope per hour (over the whole window and
over its last half, where the target is judged), fds and threads vs the warm-up baseline, and
every missing heartbeat set against the drops the gateway counted.

It fails (exit status 1) only on:
  - a crash: the gateway exits during the run, or not with status 0 when stopped at the end;
  - a leak of fds or threads: at the end (load stopped, connected) more than --fd-slack fds or
    --thread-slack threads above the baseline taken after warm-up;
  - an uncounted lost message: more heartbeats missing at the subscriber than the gateway
    counted as dropped (offline queue drops, failed publishes, heartbeat pipeline failures).
Memory is a figure, not a verdict (target: RssAnon growth <= 1 % per hour over the last half of
the window after warm-up).
Exit status 2: the soak could not set itself up (bad usage, localcore or mosquitto not starting).

Usage: soak.py --iotgw BIN --plugin-dir DIR --localcore BIN [--duration 180] [--work DIR] ...
Long run: soak.py ... --duration 3600 --report-every 300 > /tmp/soak-1h.log 2>&1
Everything runs on 127.0.0.1 (free ports) in a scratch directory, removed after a passing run
unless --work is given; every child runs in its own process group, ended on exit or signal.
"""
import math
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time

import soak_cli
import soak_procfs
import soak_verdict
from soak_clients import Console, HeartbeatWatcher, take_over_once
from soak_gateway import Gateway, write_config
from soak_localcore import HarnessError, LocalCore, THING

LINE = "-" * 118


class Stopped(BaseException):
    """A signal asked the soak to stop (cleanup still runs)."""


def on_signal(signum, frame):
    raise Stopped(f"signal {signum}")


def on_deadline(signum, frame):
    raise HarnessError("the soak exceeded its deadline")


def mid_period(fraction, duration, period):
    """Half-way between two broker restarts, at or after `fraction` of the run: one disturbance at
    a time, so each is seen on its own."""
    return (math.floor(fraction * duration / period) + 0.5) * period


def clusters(times, gap=3.0):
    """"12.0-19.9 s (80), 120.1-121.3 s (13)": the times grouped where they are < `gap` apart."""
    out = []
    for t in times:
        if out and t - out[-1][1] < gap:
            out[-1][1] = t
            out[-1][2] += 1
        else:
            out.append([t, t, 1])
    return ", ".join(f"{a:.1f}-{b:.1f} s ({n})" for a, b, n in out)


def parse_args(argv):
    ap = soak_cli.parser_with_binaries(__doc__)
    ap.add_argument("--duration", type=float, default=180, help="seconds of load (default 180)")
    ap.add_argument("--warmup", type=float, help="seconds excluded from the slope and baselines "
                    "(default: 20 %% of the duration, at most 300)")
    ap.add_argument("--broker-restart-every", type=float, default=60, help="seconds; 0: never (default 60)")
    ap.add_argument("--mqtt-client", choices=("paho-async", "paho-sync"), default="paho-sync",
                    help="the gateway's MQTT client library, the mqtt connection's `client` (default paho-sync, the plugin's default)")
    ap.add_argument("--call-rate", type=float, default=10, help="calls per second (default 10)")
    ap.add_argument("--move-time", type=float, default=0.05, help="seconds the AMR moves per call (default 0.05)")
    ap.add_argument("--heartbeat-period", type=float, default=1, help="seconds (default 1)")
    ap.add_argument("--desired-every", type=float, default=5, help="seconds between desired changes (default 5)")
    ap.add_argument("--takeover-at", type=float, help="second of the takeover (default: mid-period after 25 %%)")
    ap.add_argument("--rotation-at", type=float, help="second the rotation is due (default: mid-period after 50 %%)")
    ap.add_argument("--takeover-backoff", type=float, default=5, help="the gateway's takeover_backoff, s (default 5)")
    ap.add_argument("--sample-every", type=float, default=2, help="seconds between /proc samples (default 2)")
    ap.add_argument("--report-every", type=float, default=30, help="seconds between table rows (default 30)")
    ap.add_argument("--fd-slack", type=int, default=4, help="fds above the baseline that are not a leak")
    ap.add_argument("--thread-slack", type=int,
                    help="threads above the baseline that are not a leak (default 4 with --mqtt-client "
                    "paho-sync: the async paho library's send and receive threads, which the rotation's "
                    "claim session starts beside the sync library's; 2 with paho-async)")
    ap.add_argument("--work", help="scratch directory (kept); default: a new temporary one")
    ap.add_argument("--gateway-wrapper", default="", metavar="WORDS",
                    help="a command line (shell words) to run the gateway under, e.g. a heap profiler; it "
                    "must exec the gateway in the same process, as `env` and `valgrind` do (not the "
                    "heaptrack script: see tests/bench/README.md)")
    args = ap.parse_args(argv)
    if args.duration <= 0 or args.call_rate < 0 or args.heartbeat_period < 1 or args.report_every <= 0:
        ap.error("--duration and --report-every must be > 0, --call-rate >= 0, --heartbeat-period >= 1")
    period = args.broker_restart_every if args.broker_restart_every > 0 else 60
    if args.thread_slack is None:
        # With paho-sync the connection and fleet_provisioning's claim session use different paho
        # libraries; the async one's single send/receive thread pair (global to the library, so
        # never more than two) appears at the rotation, after the baseline.
        args.thread_slack = 4 if args.mqtt_client == "paho-sync" else 2
    if args.warmup is None:
        args.warmup = min(300.0, 0.2 * args.duration)
    if args.takeover_at is None:
        args.takeover_at = mid_period(0.25, args.duration, period)
    if args.rotation_at is None:
        args.rotation_at = mid_period(0.5, args.duration, period)
    return args


class Soak:
    def __init__(self, args, work):
        self.a = args
        self.work = work
        self.lc = LocalCore(args.localcore, work)
        self.gw = None
        self.watcher = None
        self.console = None
        self.samples = []  # (t, sample dict)
        self.events = []  # (t, text)
        self.failures = []
        self.warnings = []
        self.stop_calls = threading.Event()
        self.t0 = None

    def now(self):
        return time.monotonic() - self.t0

    def event(self, text):
        t = self.now() if self.t0 else 0.0
        self.events.append((t, text))
        print(f"[{t:7.1f} s] {text}", flush=True)

    # ---- setup ----

    def start(self):
        a = self.a
        # The rotation is due `rotation_at` after the certificate is issued: a lifetime of whole
        # minutes (localcore's unit) with some room after it, and rotate_before = the rest.
        lifetime_min = math.ceil((a.rotation_at + 600) / 60)
        rotate_before = lifetime_min * 60 - a.rotation_at
        ids = self.lc.setup(f"{lifetime_min}m")
        self.cert_ids = ids
        self.lc.start()
        prod = write_config(os.path.join(self.work, "gateway.toml"), self.lc, self.work, a.move_time,
                            a.heartbeat_period, a.takeover_backoff, rotate_before, mqtt_client=a.mqtt_client)
        shutil.copy(os.path.join(self.lc.pki, "gateway.pem"), os.path.join(prod, "cert.pem"))
        shutil.copy(os.path.join(self.lc.pki, "gateway.key"), os.path.join(prod, "key.pem"))
        os.chmod(os.path.join(prod, "key.pem"), 0o600)
        # The subscriber is there before the first heartbeat, so every seq from 1 is expected.
        self.watcher = HeartbeatWatcher(self.lc)
        if not self.watcher.subscribed.wait(15):
            raise HarnessError("the heartbeat subscriber got no SUBACK within 15 s:\n" + self.lc.log_tail())
        self.console = Console(self.lc)
        self.t0 = time.monotonic()
        self.gw = Gateway(a.iotgw, a.plugin_dir, os.path.join(self.work, "gateway.toml"),
                          os.path.join(self.work, "gateway.log"), wrapper=shlex.split(a.gateway_wrapper))
        print(f"soak: scratch {self.work}; localcore on 127.0.0.1:{self.lc.port}; gateway pid {self.gw.pid}; "
              f"{a.duration:.0f} s, calls {a.call_rate:g}/s (move {a.move_time:g} s), "
              f"heartbeat {a.heartbeat_period:g} s, "
              f"desired every {a.desired_every:g} s, broker restart every {a.broker_restart_every:g} s, "
              f"takeover at {a.takeover_at:.0f} s, rotation due at ~{a.rotation_at:.0f} s, warm-up {a.warmup:.0f} s",
              flush=True)
        deadline = time.monotonic() + 30
        while self.gw.counts["connected"] == 0:
            if not self.gw.running():
                raise HarnessError("the gateway exited at start:\n" + self.gw.log_tail())
            if time.monotonic() > deadline:
                raise HarnessError("the gateway did not connect within 30 s:\n" + self.gw.log_tail())
            self.gw.read_new()
            time.sleep(0.1)
        self.event("gateway connected")

    # ---- load ----

    def call_loop(self):
        if self.a.call_rate <= 0:
            return
        step = 1.0 / self.a.call_rate
        nxt = time.monotonic()
        while not self.stop_calls.is_set():
            nxt += step
            self.console.call()
            delay = nxt - time.monotonic()
            if delay < -1.0:
                nxt = time.monotonic()  # fell behind (a busy machine): no burst to catch up
            elif delay > 0:
                self.stop_calls.wait(delay)

    # ---- observation ----

    def sample(self):
        try:
            s = soak_procfs.sample(self.gw.pid)
        except (OSError, ValueError):
            return None
        self.samples.append((self.now(), s))
        return s

    def check_alive(self):
        if not self.gw.running():
            if any(f.startswith("crash") for f in self.failures):
                return False
            self.failures.append(f"crash: the gateway exited at {self.now():.1f} s with status "
                                 f"{self.gw.proc.returncode}")
            return False
        return True

    def row(self, header=False):
        if header:
            print(LINE)
            print(f"{'t s':>7}{'RssAnon MB':>11}{'PSS MB':>8}{'fds':>5}{'thr':>5}{'reconn':>7}{'takeov':>7}"
                  f"{'qdrop':>6}{'hb max':>7}{'hb recv':>8}{'hb gaps':>8}{'calls':>7}{'answd':>7}{'late':>6}"
                  f"{'shadow':>7}{'desired':>8}", flush=True)
            print(LINE)
            return
        self.gw.refresh_metrics()
        s = self.samples[-1][1] if self.samples else {"anon_kb": 0, "pss_kb": 0, "fds": 0, "threads": 0}
        w = self.watcher
        gaps = len(w.missing_up_to(w.max_seq))
        sent, answered, late, _ = self.console.call_figures()
        print(f"{self.now():7.0f}{s['anon_kb'] / 1024:11.2f}{s['pss_kb'] / 1024:8.2f}{s['fds']:5d}{s['threads']:5d}"
              f"{max(0, self.gw.metric('cloud.connects') - 1):7d}{self.gw.metric('cloud.takeovers'):7d}"
              f"{self.gw.metric('cloud.queue_dropped'):6d}{w.max_seq:7d}{w.received:8d}{gaps:8d}{sent:7d}"
              f"{answered:7d}{late:6d}{self.console.reported_updates:7d}{self.console.desired_sent:8d}", flush=True)

    # ---- the run ----

    def run(self):
        a = self.a
        caller = threading.Thread(target=self.call_loop, name="calls", daemon=True)
        caller.start()
        next_sample = 0.0
        next_report = a.report_every
        next_restart = a.broker_restart_every if a.broker_restart_every > 0 else math.inf
        next_desired = a.desired_every if a.desired_every > 0 else math.inf
        took_over = False
        self.row(header=True)
        try:
            while self.now() < a.duration:
                if not self.check_alive():
                    return
                t = self.now()
                self.gw.read_new()
                if t >= next_sample:
                    self.sample()
                    next_sample = t + a.sample_every
                if t >= next_restart:
                    self.event("broker restart")
                    self.lc.restart()
                    next_restart += a.broker_restart_every
                if not took_over and t >= a.takeover_at:
                    took_over = True
                    self.event("takeover: another connection with client id " + THING)
                    seen = take_over_once(self.lc, self.gw)
                    self.event("takeover " + ("logged by the gateway" if seen else "NOT logged by the gateway"))
                    if not seen:
                        self.warnings.append("the gateway did not log the client-id takeover")
                if t >= next_desired:
                    self.console.desire_moving()
                    next_desired += a.desired_every
                for key, text in (("rotation_started", "rotation started"),
                                  ("rotation_succeeded", "rotation succeeded"),
                                  ("rotation_failed", "rotation failed")):
                    if self.gw.counts[key] > getattr(self, "_seen_" + key, 0):
                        setattr(self, "_seen_" + key, self.gw.counts[key])
                        self.event(text + " (gateway log)")
                if t >= next_report:
                    self.row()
                    next_report += a.report_every
                time.sleep(0.1)
        finally:
            self.stop_calls.set()
            caller.join(5)

    def settle(self):
        """Load stopped: wait until the gateway is connected and every heartbeat it counted has
        had its chance to arrive (bounded)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.check_alive():
            self.gw.refresh_metrics()
            if self.gw.metric("cloud.connected") == 1 and self.gw.metric("cloud.queue_depth") == 0:
                break
            time.sleep(1)
        else:
            if self.gw.running():
                self.warnings.append("the gateway was not connected with an empty offline queue 90 s after the load")
        beats = self.gw.metric("heartbeat.beats")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.watcher.missing_up_to(beats):
            time.sleep(0.5)
        time.sleep(2)  # stragglers and duplicates
        return beats

    def verdict(self):
        a = self.a
        print(LINE)
        alive = self.check_alive()
        beats = self.settle() if alive else 0
        end = self.sample() if alive else None
        if alive:
            self.gw.refresh_metrics()
        post = [(t, s) for t, s in self.samples if t >= a.warmup]
        w = self.watcher

        # Memory (a figure).
        if len(post) >= 3:
            anon = [(t, s["anon_kb"]) for t, s in post]
            pss = [(t, s["pss_kb"]) for t, s in post]
            anon_slope = soak_procfs.slope_per_hour(anon)
            pss_slope = soak_procfs.slope_per_hour(pss)
            at_warmup = soak_procfs.fitted_at(anon, a.warmup)
            pct = anon_slope / at_warmup * 100 if at_warmup else float("nan")
            # The target is judged on the last half of the window: a leak grows there as fast as
            # over the whole window, while memory still settling after the warm-up (malloc's
            # arenas reaching their working size) grows early and inflates the whole-window slope.
            late = soak_procfs.last_half(anon)
            late_slope = soak_procfs.slope_per_hour(late) if len(late) >= 3 else anon_slope
            late_pct = late_slope / at_warmup * 100 if at_warmup else float("nan")
            print(f"RssAnon: {post[0][1]['anon_kb'] / 1024:.2f} MB after warm-up ({post[0][0]:.0f} s), "
                  f"{post[-1][1]['anon_kb'] / 1024:.2f} MB at the end ({post[-1][0]:.0f} s); "
                  f"slope {anon_slope:+.1f} kB/h = {pct:+.2f} %/h of {at_warmup / 1024:.2f} MB over the "
                  f"{len(anon)} samples after warm-up, {late_slope:+.1f} kB/h = {late_pct:+.2f} %/h over their "
                  f"last half (from {late[0][0] if late else a.warmup:.0f} s; least squares); target <= 1 %/h "
                  f"over the last half: {'met' if late_pct <= 1 else 'NOT met'}")
            print(f"PSS:     {post[0][1]['pss_kb'] / 1024:.2f} MB after warm-up, {post[-1][1]['pss_kb'] / 1024:.2f} MB "
                  f"at the end; slope {pss_slope:+.1f} kB/h")
            if a.duration < 1800:
                print("         (a short run: the slope says little; the 1-hour run's figure is the one to read)")
        else:
            print("memory: too few samples after warm-up for a slope")

        # fds and threads: the end (quiet, connected) against the baseline after warm-up.
        if post and end:
            base_window = [s for t, s in post if t <= a.warmup + max(10.0, 3 * a.sample_every)]
            base_fds = min(s["fds"] for s in base_window)
            base_thr = min(s["threads"] for s in base_window)
            max_fds = max(s["fds"] for _, s in post)
            max_thr = max(s["threads"] for _, s in post)
            print(f"fds:     baseline {base_fds}, max {max_fds}, at the end {end['fds']} "
                  f"(allowed: baseline + {a.fd_slack})")
            print(f"threads: baseline {base_thr}, max {max_thr}, at the end {end['threads']} "
                  f"(allowed: baseline + {a.thread_slack})")
            if soak_verdict.leaked(base_fds, end["fds"], a.fd_slack):
                self.failures.append(f"fd leak: {end['fds']} open at the end vs {base_fds} after warm-up")
            if soak_verdict.leaked(base_thr, end["threads"], a.thread_slack):
                self.failures.append(f"thread leak: {end['threads']} at the end vs {base_thr} after warm-up")

        # Heartbeats: every seq the gateway sent, against what it counted as dropped.
        counted = (self.gw.metric("cloud.queue_dropped") + self.gw.metric("cloud.publish_failed")
                   + self.gw.metric("pipeline.heartbeat.failed"))
        if alive:
            with w.lock:
                missing = soak_verdict.missing_heartbeats(beats, set(w.seqs))
            print(f"heartbeats: {beats} sent (heartbeat.beats), {len(w.seqs)} distinct received by the persistent "
                  f"subscriber ({w.received} deliveries, {w.duplicates} duplicates, {w.sessions_lost} sessions lost), "
                  f"missing {len(missing)}{' ' + str(missing[:20]) if missing else ''}; the gateway counted "
                  f"{counted} dropped (queue_dropped {self.gw.metric('cloud.queue_dropped')}, publish_failed "
                  f"{self.gw.metric('cloud.publish_failed')}, pipeline.heartbeat.failed "
                  f"{self.gw.metric('pipeline.heartbeat.failed')}); skipped periods "
                  f"{self.gw.metric('heartbeat.skipped_periods')}")
            if soak_verdict.uncounted_losses(missing, counted) > 0:
                self.failures.append(f"uncounted lost messages: {len(missing)} heartbeats missing at the subscriber, "
                                     f"{counted} counted as dropped by the gateway (missing seqs {missing[:20]})")
            if w.restarts_seen:
                self.warnings.append(f"the heartbeat seq went back to 1 {w.restarts_seen} time(s) (a restart?)")

        sent, answered, late, outcomes = self.console.call_figures()
        unanswered = self.console.unanswered()
        by_gateway = set(unanswered) & self.gw.call_ids_seen()
        with w.lock:
            at_broker = (set(unanswered) & w.call_ids) - by_gateway
        print(f"calls: {sent} sent, {answered} answered, {late} without a result after 5 s, "
              f"{self.console.skipped_offline} not sent while the console was offline; outcomes "
              f"{dict(sorted(outcomes.items()))}")
        if unanswered:
            # Where each unanswered call was lost, and when it was sent (clustered: each cluster
            # is normally one disturbance in the event lines above).
            print(f"         unanswered: {len(by_gateway)} handled by the gateway (its result lost on the way "
                  f"back), {len(at_broker)} delivered by the broker to the subscriber but never seen by the "
                  f"gateway, {len(unanswered) - len(by_gateway) - len(at_broker)} never delivered by the broker; "
                  f"sent at {clusters(sorted(t - self.t0 for t in unanswered.values()))}")
        print(f"shadow: {self.console.reported_updates} reported changes seen in update/documents; "
              f"{self.console.desired_sent} desired changes sent, "
              f"results {dict(sorted(self.console.desired_results.items()))}")
        print(f"link: {max(0, self.gw.metric('cloud.connects') - 1)} reconnects, {self.gw.metric('cloud.takeovers')} "
              f"takeovers, {self.lc.starts - 1} broker restarts; rotation: {self.gw.counts['rotation_succeeded']} "
              f"succeeded, {self.gw.counts['rotation_failed']} failed")
        if self.gw.counts["rotation_succeeded"] == 0 and a.rotation_at < a.duration:
            self.warnings.append("no certificate rotation succeeded during the run")
        else:
            old = self.lc.cert_status(self.cert_ids["gateway"])
            print(f"         the first certificate is now {old}")

        # The stop: a clean exit is part of not crashing.
        if alive:
            status = self.gw.stop()
            print(f"gateway stopped with status {status}")
            if status != 0:
                self.failures.append(f"crash: the gateway exited with status {status} when stopped with SIGTERM")
        if self.gw.errors:
            print(f"gateway error lines ({len(self.gw.errors)}), first ones:")
            for line in self.gw.errors[:10]:
                print("  " + line)
        for wmsg in self.warnings:
            print("WARNING: " + wmsg)
        for f in self.failures:
            print("FAILED: " + f)
        print("soak: " + ("FAILED" if self.failures else "passed") + f" (scratch {self.work})", flush=True)
        return not self.failures

    def close(self):
        for c in (self.console, self.watcher):
            if c:
                try:
                    c.close()
                except Exception:  # noqa: BLE001 (best effort at cleanup)
                    pass
        if self.gw:
            self.gw.stop()
        self.lc.stop()


def main(argv):
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(int(args.duration) + 300)
    work = args.work or tempfile.mkdtemp(prefix="iotgw-soak-")
    os.makedirs(work, exist_ok=True)
    soak = Soak(args, work)
    ok = False
    try:
        soak.start()
        soak.run()
        ok = soak.verdict()
        if not ok:
            print("--- last lines of the gateway log ---\n" + soak.gw.log_tail(), file=sys.stderr)
        return 0 if ok else 1
    except HarnessError as e:
        print(f"soak: cannot run: {e}", file=sys.stderr)
        return 2
    except Stopped as e:
        print(f"soak: stopped by {e}", file=sys.stderr)
        return 130
    finally:
        signal.alarm(60)  # the cleanup is bounded too
        soak.close()
        signal.alarm(0)
        if ok and not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
