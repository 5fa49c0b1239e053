"""The gateway under soak: its config (the demo's pipelines — calls, status, the robot shadow,
heartbeats — plus fleet_provisioning for the certificate rotation), its process, and what it says
about itself: the log, and the metrics it logs on SIGUSR1 ("metrics: <name> = <value>").
"""
import os
import re
import signal
import subprocess
import time

from soak_localcore import THING, stop_process

METRIC_LINE = re.compile(r"metrics: (\S+) = (\S+)$")
CALL_ID = re.compile(r"'(soak-[0-9a-f]+)'")

# Log lines the soak counts (what the gateway says about reconnects, takeovers, the rotation and
# every message it dropped).
NEEDLES = {
    "connected": "connections.cloud: connected to ",
    "taken_over": "was taken over by another connection",
    "rotation_started": "rotation started",
    "rotation_succeeded": "rotation succeeded",
    "rotation_failed": "rotation failed",
    "queue_full": "offline queue full",
    "queue_dropped_more": "offline queue dropped ",
    "dropped_at_stop": "still in the offline queue: they are dropped",
    "publish_failed": "connections.cloud: publish to '",
}


def duration_text(seconds):
    return f"{int(round(seconds * 1000))}ms"


def toml_string(text):
    """A TOML basic string of `text` (paths from mkdtemp and names of our own: no quotes or
    backslashes to escape)."""
    return '"' + text + '"'


def toml_list(texts):
    return "[" + ", ".join(toml_string(t) for t in texts) + "]"


def pipeline_toml(name, source, to, via=()):
    """One [[pipelines]] table, after a blank line."""
    via_line = f"via = {toml_list(via)}\n" if via else ""
    return f"\n[[pipelines]]\nname = {toml_string(name)}\nfrom = {toml_string(source)}\n{via_line}to = {toml_list(to)}\n"


# configs/local.toml's shadow reply pipelines: name, filter under the shadow's topic (not
# update/documents: plugins/shadow/README.md, "Subscriptions").
SHADOW_REPLY_PIPELINES = (("shadow", "+/accepted"), ("shadow-rejected", "+/rejected"), ("shadow-delta", "update/delta"))


def amr_toml(move_time_s, heartbeat_period_s, heartbeat_retain=True):
    """configs/local.toml's AMR: the call processor with the simulated driver, status, the robot
    shadow, heartbeats, and their pipelines on the connection `cloud`. The soak and the fleet
    simulator (tests/fleet/fleet_gateways.py) both write it, so their gateways do the same work.
    `heartbeat_retain`: the heartbeat plugin's `retain` (the fleet's cost benchmark runs both)."""
    q = toml_string
    return f"""[processors.amr]
type = "amr_call"
driver = "simulated"
move_time = {q(duration_text(move_time_s))}
command_ttl = "30s"

[processors.status]
type = "status"
connection = "cloud"

[processors.shadow]
type = "shadow"
connection = "cloud"
shadow_name = "robot"

[sources.heartbeat]
type = "heartbeat"
period = {q(duration_text(heartbeat_period_s))}
retain = {"true" if heartbeat_retain else "false"}
""" + (pipeline_toml("call", "cloud:amr/${thing}/cmd/call", ["cloud"], via=["amr", "status", "shadow"])
       + "".join(pipeline_toml(name, "cloud:$aws/things/${thing}/shadow/name/robot/" + f, ["shadow"])
                 for name, f in SHADOW_REPLY_PIPELINES)
       + pipeline_toml("heartbeat", "heartbeat", ["cloud"]))


def write_config(path, lc, work, move_time_s, heartbeat_period_s, takeover_backoff_s, rotate_before_s,
                 mqtt_client="paho-sync"):
    prod = os.path.join(work, "prod")
    os.makedirs(prod, exist_ok=True)
    sync_flag = os.path.join(work, "clock-synchronized")  # stands in for systemd-timesyncd's flag
    with open(sync_flag, "w") as f:
        f.write("\n")
    q = toml_string
    with open(path, "w") as f:
        f.write(f"""# Written by tests/bench/soak.py: configs/local.toml's pipelines against a scratch localcore,
# with fleet_provisioning rotating a short-lived certificate during the run.
[gateway]
thing = "{THING}"
log_level = "info"
stop_timeout = "5s"

[credentials.prod]
type = "file"
cert = {q(os.path.join(prod, "cert.pem"))}
key = {q(os.path.join(prod, "key.pem"))}
ca = {q(lc.ca())}

[credentials.claim]
type = "file"
cert = {q(os.path.join(lc.pki, "claim.pem"))}
key = {q(os.path.join(lc.pki, "claim.key"))}
ca = {q(lc.ca())}

[connections.cloud]
type = "mqtt"
endpoint = "localhost"
port = {lc.port}
credentials = "prod"
mqtt_version = "5"
client = {q(mqtt_client)}
keepalive = "30s"
reconnect_min = "500ms"
reconnect_max = "5s"
# The default (1 min + jitter) would leave the AMR offline for most of a short CI run.
takeover_backoff = {q(duration_text(takeover_backoff_s))}
will_topic = "amr/${{thing}}/status"
will_payload = '{{"state":"offline"}}'
offline_queue_messages = 1000
offline_queue_bytes = 1048576
offline_drop = "oldest"

[sources.provisioning]
type = "fleet_provisioning"
credentials = "prod"
claim_credentials = "claim"
connection = "cloud"
endpoint = "localhost"
port = {lc.port}
# Due once, {int(rotate_before_s)} s before the certificate's expiry (see soak.py: mid-run).
rotate_at = 1.0
rotate_before = {q(str(int(rotate_before_s)) + "s")}
jitter = "0s"
retry_min = "2s"
retry_max = "30s"
request_timeout = "10s"
prove_timeout = "30s"
clock_sync_file = {q(sync_flag)}

""")
        # The rotation's report and its reply, after configs/local.toml's pipelines.
        f.write(amr_toml(move_time_s, heartbeat_period_s)
                + pipeline_toml("rotation-report", "provisioning", ["cloud:amr/${thing}/certificate/rotated"])
                + pipeline_toml("rotation-reply", "cloud:amr/${thing}/certificate/rotated/+", ["provisioning"]))
    return prod


class Gateway:
    def __init__(self, iotgw, plugin_dir, config, log_path, wrapper=()):
        """`wrapper`: words put before the gateway's command line (a profiler, soak.py's
        --gateway-wrapper). It must exec the gateway in its own process (`env`, `valgrind`): the
        soak reads /proc of this pid and signals it."""
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([*wrapper, iotgw, "run", "--config", config, "--plugin-dir", plugin_dir],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._log.close()
        self.pid = self.proc.pid
        self._offset = 0
        self.counts = dict.fromkeys(NEEDLES, 0)
        self.errors = []  # error lines ("<3>"), in order
        self.metrics = {}
        self._metric_lines = 0

    def running(self):
        return self.proc.poll() is None

    def read_new(self):
        """The log lines written since the last call; counts NEEDLES and keeps metrics and errors."""
        with open(self.log_path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        # Only whole lines: the rest is read next time.
        end = data.rfind(b"\n") + 1
        self._offset += end
        lines = data[:end].decode("utf-8", "replace").splitlines()
        for line in lines:
            for key, needle in NEEDLES.items():
                if needle in line:
                    self.counts[key] += 1
            if line.startswith("<3>"):
                self.errors.append(line)
            m = METRIC_LINE.search(line)
            if m:
                self._metric_lines += 1
                try:
                    self.metrics[m.group(1)] = float(m.group(2))
                except ValueError:
                    pass
        return lines

    def refresh_metrics(self, limit=5.0):
        """SIGUSR1, then the block of metric lines it logs (one block, written from the loop in
        one go): done when new metric lines came and the log stopped growing for 0.3 s."""
        before = self._metric_lines
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + limit
        quiet_since = None
        while time.monotonic() < deadline:
            got = self.read_new()
            if self._metric_lines > before:
                if got:
                    quiet_since = time.monotonic()
                elif quiet_since is not None and time.monotonic() - quiet_since >= 0.3:
                    return True
                elif quiet_since is None:
                    quiet_since = time.monotonic()
            time.sleep(0.05)
        return self._metric_lines > before

    def metric(self, name):
        return int(self.metrics.get(name, 0))

    def lines_with(self, needle):
        with open(self.log_path, errors="replace") as f:
            return [line.rstrip("\n") for line in f if needle in line]

    def stop(self):
        return stop_process(self.proc, grace=10.0)

    def call_ids_seen(self):
        """The ids of every call the gateway logged (accepted, refused, done)."""
        seen = set()
        with open(self.log_path, errors="replace") as f:
            for line in f:
                if "processors.amr: " in line:
                    seen.update(CALL_ID.findall(line))
        return seen

    def log_tail(self, chars=4000):
        with open(self.log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(self.log_path) - chars))
            return f.read().decode("utf-8", "replace")
