"""localcore for a fleet: the soak's LocalCore (scratch data directory, mosquitto on a free
127.0.0.1 port, stop/start on the same port, each child in its own process group), plus N things
registered in one registry write (`localcore issue-batch`) and a console identity whose policy
adds what the simulator's observers need to the repository's console policy.
"""
import copy
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))

from soak_localcore import SOAK_CONSOLE_POLICY, HarnessError, LocalCore  # noqa: E402

CONSOLE_POLICY_NAME = "fleet-console"


def fleet_console_policy():
    """The soak's console policy (cloud/policies/console.json plus Publish on the robot shadow's
    update topic, for desired-state changes) plus lifecycle events, as the real console has."""
    policy = copy.deepcopy(SOAK_CONSOLE_POLICY)
    for statement in policy["Statement"]:
        if statement["Action"] == ["iot:Subscribe"]:
            statement["Resource"].append("arn:aws:iot:*:*:topicfilter/$aws/events/presence/*")
        elif statement["Action"] == ["iot:Receive"]:
            statement["Resource"].append("arn:aws:iot:*:*:topic/$aws/events/presence/*")
    return policy


class FleetLocalCore(LocalCore):
    # mosquitto queues at most 1,000 messages for an offline persistent session by default; the
    # presence watcher must not lose the connected events of 1,000 gateways that reconnect before
    # it does after a broker restart.
    EXTRA_CONF = "max_queued_messages 1000000\n"

    def _write_conf(self):
        super()._write_conf()
        with open(os.path.join(self.dir, "mosquitto.conf"), "a") as f:
            f.write(self.EXTRA_CONF)

    def setup_fleet(self, prefix, count):
        """init, the console identity and `count` things with their certificates. Returns
        (names, seconds the batch registration took)."""
        import time
        self.cli("init")
        policy_file = os.path.join(self.pki, "fleet-console.json")
        with open(policy_file, "w") as f:
            json.dump(fleet_console_policy(), f)
        self.cli("put-policy", CONSOLE_POLICY_NAME, policy_file)
        self.cli("issue-claim-cert", "--fleet-wide", "--policy", CONSOLE_POLICY_NAME, "--cn", "fleet-console",
                 "--lifetime", "1y", "--out", os.path.join(self.pki, "console"))
        t = time.monotonic()
        out = self.cli("issue-batch", "--prefix", prefix, "--count", str(count), "--out",
                       os.path.join(self.pki, "things"))
        took = time.monotonic() - t
        names = [line.split()[0] for line in out.splitlines() if line.strip()]
        if len(names) != count:
            raise HarnessError(f"localcore issue-batch registered {len(names)} things, not {count}")
        return names, took

    def thing_cert(self, name):
        return os.path.join(self.pki, "things", name + ".pem"), os.path.join(self.pki, "things", name + ".key")

    def console_cert(self):
        return os.path.join(self.pki, "console.pem"), os.path.join(self.pki, "console.key")

    def pid(self):
        return self.proc.pid if self.running() else None
