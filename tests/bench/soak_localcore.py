"""localcore for the soak: a scratch data directory made with the `localcore` command (CA,
policies of cloud/policies, thing AMR-001 and its certificates) and its mosquitto, which the soak
stops and starts again on the same port (SIGTERM: mosquitto saves its persistence, as a broker
update or a host restart would).

Every child is started in a session of its own, so stop() can end it with its whole process
group; nothing listens anywhere but 127.0.0.1.
"""
import json
import os
import signal
import socket
import subprocess
import time

THING = "AMR-001"

# The soak's console: the repository's console policy (cloud/policies/console.json) plus Publish on
# the robot shadow's update topic, so it can set desired state as an operator tool would.
SOAK_CONSOLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/console-*"]},
        {"Effect": "Allow", "Action": ["iot:Subscribe"],
         "Resource": ["arn:aws:iot:*:*:topicfilter/amr/*",
                      "arn:aws:iot:*:*:topicfilter/$aws/things/*/shadow/name/robot/*"]},
        {"Effect": "Allow", "Action": ["iot:Receive"],
         "Resource": ["arn:aws:iot:*:*:topic/amr/*", "arn:aws:iot:*:*:topic/$aws/things/*/shadow/name/robot/*"]},
        {"Effect": "Allow", "Action": ["iot:Publish"],
         "Resource": ["arn:aws:iot:*:*:topic/amr/*/cmd/call",
                      "arn:aws:iot:*:*:topic/$aws/things/*/shadow/name/robot/update"]},
    ],
}


class HarnessError(Exception):
    """The soak could not set up or drive its environment (not a finding about the gateway)."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def stop_process(proc, grace=5.0):
    """SIGTERM to the child's process group, a bounded wait, then SIGKILL. Returns the status."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return proc.returncode


class LocalCore:
    def __init__(self, localcore_bin, work):
        self.bin = localcore_bin
        self.data = os.path.join(work, "localcore")
        self.dir = os.path.join(work, "broker")
        self.pki = os.path.join(work, "pki")
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.pki, exist_ok=True)
        self.port = None
        self.proc = None
        self.starts = 0

    def cli(self, *args):
        r = subprocess.run([self.bin, "--data", self.data, *args], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise HarnessError(f"localcore {' '.join(args)} failed (status {r.returncode}): "
                               f"{(r.stderr or r.stdout).strip()}")
        return r.stdout.strip()

    def ca(self):
        return os.path.join(self.data, "ca", "ca.pem")

    def setup(self, gateway_cert_lifetime):
        """Registry, CA and identities. Returns the paths the soak needs."""
        self.cli("init")
        policy_file = os.path.join(self.pki, "soak-console.json")
        with open(policy_file, "w") as f:
            json.dump(SOAK_CONSOLE_POLICY, f)
        self.cli("put-policy", "soak-console", policy_file)
        self.cli("create-thing", THING)
        ids = {}
        # The gateway's production certificate, short-lived so fleet_provisioning rotates it
        # during the run; a second device certificate of the same thing for the takeover; the
        # thing's own claim certificate (the rotation's claim connection); the console.
        ids["gateway"] = self.cli("issue-cert", "--thing", THING, "--out", os.path.join(self.pki, "gateway"),
                                  "--lifetime", gateway_cert_lifetime).splitlines()[-1]
        ids["intruder"] = self.cli("issue-cert", "--thing", THING,
                                   "--out", os.path.join(self.pki, "intruder")).splitlines()[-1]
        ids["claim"] = self.cli("issue-claim-cert", "--thing", THING,
                                "--out", os.path.join(self.pki, "claim")).splitlines()[-1]
        ids["console"] = self.cli("issue-claim-cert", "--fleet-wide", "--policy", "soak-console", "--cn",
                                  "soak-console", "--lifetime", "1y",
                                  "--out", os.path.join(self.pki, "console")).splitlines()[-1]
        return ids

    def cert_status(self, cert_id):
        for line in self.cli("describe", "cert", cert_id).splitlines():
            if line.startswith("status:"):
                return line.split(":", 1)[1].strip()
        return ""

    def _write_conf(self):
        conf = self.cli("mosquitto-conf", "--port", str(self.port))
        log = os.path.join(self.dir, "mosquitto.log")
        with open(os.path.join(self.dir, "mosquitto.conf"), "w") as f:
            f.write(conf + f"\nlog_dest file {log}\nlog_type error\nlog_type warning\nlog_type notice\n"
                    "log_type information\nconnection_messages true\n")

    def start(self):
        """Starts mosquitto; the first start picks a free loopback port, later ones reuse it."""
        first = self.port is None
        for attempt in range(5):
            if self.port is None:
                self.port = free_port()
                self._write_conf()
            out = open(os.path.join(self.dir, "mosquitto.stdout"), "a")
            self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", os.path.join(self.dir, "mosquitto.conf")],
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            out.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if port_accepts(self.port):
                    self.starts += 1
                    return
                time.sleep(0.05)
            stop_process(self.proc)
            if not first:
                # The gateway knows this port: another one would not be a restart. Someone may
                # hold it for a moment (a client's ephemeral port); try again shortly.
                time.sleep(1)
                continue
            self.port = None  # taken before mosquitto bound it: pick another one
        raise HarnessError("mosquitto did not start; the end of its log:\n" + self.log_tail())

    def stop(self):
        stop_process(self.proc, grace=10.0)
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars=3000):
        for name in ("mosquitto.log", "mosquitto.stdout"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text = f.read()[-chars:]
                if text:
                    return text
            except OSError:
                continue
        return "(no broker log)"
