"""N real `iotgw run` processes, one per simulated AMR: their configs (configs/local.toml's
pipelines: calls, status, the robot shadow, heartbeats, with the simulated driver), starting them
at a bounded rate, killing and restarting some, what their logs say about reconnects, and their
memory and CPU from /proc.

Each gateway is the soak's Gateway (its own session/process group, log to a file); stopping the
fleet signals every group first and then waits once for all, so 1,000 gateways stop in seconds.
"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))

import soak_procfs  # noqa: E402
from soak_gateway import Gateway, amr_toml, toml_string  # noqa: E402

# "connection to localhost:PORT lost: <why>; reconnecting in 0.4s" (plugins/mqtt, seconds_text:
# one decimal) — the first attempt's delay after a lost connection.
RECONNECT_IN = re.compile(r"connections\.cloud: connection to \S+ lost: .*; reconnecting in ([0-9.]+)s")
# "cannot connect to ...: <why>; retrying in 1.3s": logged once per distinct failure (repeats are
# debug lines, not shown at log_level info).
RETRYING_IN = re.compile(r"connections\.cloud: cannot connect to .*; retrying in ([0-9.]+)s")

CONNECTED = re.compile(r"connections\.cloud: connected to ")
# The gateway's log lines start with "<priority>2026-12-05T00:55:50.730Z ".
LOG_TIME = re.compile(r"^<\d>(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log_time(line):
    """Epoch seconds of a gateway log line, None when it has no time stamp."""
    m = LOG_TIME.match(line)
    if not m:
        return None
    import calendar
    date, frac = m.group(1).split(".")
    return calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1000.0


def write_config(path, thing, cert, key, ca, port, move_time_s, heartbeat_period_s, reconnect_min, reconnect_max,
                 reconnect_spread=None, heartbeat_retain=True, mqtt_client="paho-sync"):
    """The reconnect settings are durations as the config takes them ("20s"); None leaves the
    plugin's default. `heartbeat_retain`: the heartbeat plugin's `retain`. `mqtt_client`: the
    connection's `client` (the MQTT client library)."""
    q = toml_string
    backoff = ""
    for setting, value in (("reconnect_min", reconnect_min), ("reconnect_max", reconnect_max),
                           ("reconnect_spread", reconnect_spread)):
        if value:
            backoff += f"{setting} = {q(value)}\n"
    with open(path, "w") as f:
        f.write(f"""# Written by tests/fleet/fleet.py: configs/local.toml for one simulated AMR of the fleet.
[gateway]
thing = "{thing}"
log_level = "info"
stop_timeout = "5s"

[credentials.device]
type = "file"
cert = {q(cert)}
key = {q(key)}
ca = {q(ca)}

[connections.cloud]
type = "mqtt"
endpoint = "localhost"
port = {port}
credentials = "device"
client_id = "${{thing}}"
mqtt_version = "5"
client = {q(mqtt_client)}
keepalive = "30s"
{backoff}will_topic = "amr/${{thing}}/status"
will_payload = '{{"state":"offline"}}'
offline_queue_messages = 1000
offline_queue_bytes = 1048576
offline_drop = "oldest"

""")
        f.write(amr_toml(move_time_s, heartbeat_period_s, heartbeat_retain))


def cpu_seconds(pid):
    """utime + stime of a live process (/proc/PID/stat fields 14 and 15); OSError once it is gone."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Fleet:
    def __init__(self, iotgw, plugin_dir, work):
        self.iotgw = iotgw
        self.plugin_dir = plugin_dir
        self.dir = os.path.join(work, "gateways")
        os.makedirs(self.dir, exist_ok=True)
        self.gateways = {}  # thing -> Gateway
        self.exited = {}  # thing -> exit status of a gateway that stopped by itself
        self.cpu_of_gone = 0.0  # CPU seconds of gateways killed on purpose (counted at kill time)

    def config_path(self, thing):
        return os.path.join(self.dir, thing + ".toml")

    def log_path(self, thing):
        return os.path.join(self.dir, thing + ".log")

    def start(self, things, rate_per_s, alive=None, may_start=None, hold_bound_s=60.0):
        """Starts the gateways, at most `rate_per_s` per second. `alive()` is checked between
        batches (returns False to stop early, e.g. the broker died). `may_start(started)`, when
        given, holds the next start while it returns False (`started`: the things started by this
        call so far), for at most `hold_bound_s` per gateway; the time held counts in the spawn time."""
        interval = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        next_at = time.monotonic()
        started = []
        for thing in things:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if may_start is not None:
                hold_until = time.monotonic() + hold_bound_s
                while not may_start(started) and time.monotonic() < hold_until:
                    if alive is not None and not alive():
                        return
                    time.sleep(0.02)
            next_at = max(next_at + interval, time.monotonic())
            if alive is not None and not alive():
                return
            # Append: a restarted gateway keeps its earlier log above.
            gw = Gateway.__new__(Gateway)
            self._spawn(gw, thing)
            self.gateways[thing] = gw
            started.append(thing)

    def _spawn(self, gw, thing):
        # Gateway.__init__ truncates the log; a restarted AMR's log must keep its history, so
        # rename the old one first.
        log = self.log_path(thing)
        if os.path.exists(log):
            n = 1
            while os.path.exists(f"{log}.{n}"):
                n += 1
            os.rename(log, f"{log}.{n}")
        Gateway.__init__(gw, self.iotgw, self.plugin_dir, self.config_path(thing), log)

    def pids(self):
        return {t: g.pid for t, g in self.gateways.items() if g.running()}

    def check_exits(self):
        """Gateways that exited by themselves since the last call: {thing: status}."""
        new = {}
        for t, g in self.gateways.items():
            if t not in self.exited and g.proc.poll() is not None:
                self.exited[t] = g.proc.returncode
                new[t] = g.proc.returncode
        return new

    def kill(self, things):
        """SIGKILL (no clean disconnect: the broker sends the Will), as a power loss would."""
        for t in things:
            g = self.gateways.get(t)
            if g is None or not g.running():
                continue
            try:
                self.cpu_of_gone += cpu_seconds(g.pid)
            except OSError:
                pass
            try:
                os.killpg(g.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            g.proc.wait()
            self.exited.pop(t, None)
            del self.gateways[t]

    def log_offsets(self):
        out = {}
        for t in self.gateways:
            try:
                out[t] = os.path.getsize(self.log_path(t))
            except OSError:
                out[t] = 0
        return out

    def reconnect_delays_since(self, offsets):
        """For each gateway, the delay it chose for its first reconnect attempt after `offsets`
        (log sizes taken before a disturbance), and every 'retrying in' delay it logged after.
        Returns ({thing: first delay s}, [retry delays s], {thing: epoch s of the first attempt}
        (the lost line's time stamp + its delay), {thing: epoch s of the CONNACK that ended it}
        (the gateway's "connected to" line))."""
        first, retries, first_at, back_at = {}, [], {}, {}
        for t in self.gateways:
            try:
                with open(self.log_path(t), "rb") as f:
                    f.seek(offsets.get(t, 0))
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            for line in text.splitlines():
                m = RECONNECT_IN.search(line)
                if m and t not in first:
                    first[t] = float(m.group(1))
                    at = log_time(line)
                    if at is not None:
                        first_at[t] = at + first[t]
                    continue
                m = RETRYING_IN.search(line)
                if m and t in first:
                    retries.append(float(m.group(1)))
                    continue
                if t in first and CONNECTED.search(line):
                    at = log_time(line)
                    if at is not None:
                        back_at[t] = at
                    break
        return first, retries, first_at, back_at

    def usage(self):
        """{'count', 'rss_kb', 'pss_kb', 'anon_kb', 'cpu_s', 'fds', 'threads'}: totals over the
        live gateways (PSS counts shared libraries once across the fleet; RSS counts them per
        process), plus the CPU seconds of gateways killed on purpose."""
        tot = {"count": 0, "rss_kb": 0, "pss_kb": 0, "anon_kb": 0, "cpu_s": self.cpu_of_gone, "fds": 0, "threads": 0}
        for pid in self.pids().values():
            try:
                s = soak_procfs.sample(pid)
                tot["rss_kb"] += rss_kb(pid)
                tot["cpu_s"] += cpu_seconds(pid)
            except OSError:
                continue
            tot["count"] += 1
            tot["pss_kb"] += s["pss_kb"]
            tot["anon_kb"] += s["anon_kb"]
            tot["fds"] += s["fds"]
            tot["threads"] += s["threads"]
        return tot

    def stop_all(self, grace=15.0):
        """SIGTERM to every gateway's group, one bounded wait for all, SIGKILL for the rest.
        Returns {thing: status} of those that did not exit with 0 on SIGTERM."""
        live = {t: g for t, g in self.gateways.items() if g.running()}
        for g in live.values():
            try:
                os.killpg(g.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(g.proc.poll() is None for g in live.values()):
            time.sleep(0.1)
        bad = {}
        for t, g in live.items():
            if g.proc.poll() is None:
                try:
                    os.killpg(g.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                g.proc.wait()
                bad[t] = "killed after SIGTERM grace"
            elif g.proc.returncode != 0:
                bad[t] = g.proc.returncode
        return bad
