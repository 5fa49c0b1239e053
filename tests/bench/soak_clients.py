"""The soak's MQTT clients (paho-mqtt, Debian's python3-paho-mqtt 1.6 or 2.x), all with the
console certificate except the intruder:

- HeartbeatWatcher: a persistent session (clean_session = false) subscribed at QoS 1 to the
  heartbeats, so the broker keeps what arrives while it is away (also across broker restarts:
  mosquitto saves its sessions on SIGTERM). It records every heartbeat's seq, and the ids of the
  calls the broker delivers (to tell where an unanswered call was lost).
- Console: a persistent session too; sends calls at a fixed rate and desired-state changes to the
  robot shadow, and counts the results, statuses and the shadow documents the gateway's reports
  produce.
- Intruder: connects once with the gateway's client id (a second certificate of the same thing,
  which the device policy allows), the client-id takeover.
"""
import json
import ssl
import threading
import time
import uuid

import paho.mqtt.client as mqtt

from mqtt_loop import Loop
from soak_localcore import THING
from soak_verdict import missing_heartbeats


def new_client(client_id, clean_session):
    # paho-mqtt 2.x (Debian 13) wants the callback API version first; 1.6 (Debian 12) has none.
    if hasattr(mqtt, "CallbackAPIVersion"):
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id, clean_session=clean_session)
    return mqtt.Client(client_id=client_id, clean_session=clean_session)


def tls_client(client_id, clean_session, ca, cert, key):
    c = new_client(client_id, clean_session)
    c.tls_set(ca_certs=ca, certfile=cert, keyfile=key, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    # Bounded reconnects while the broker restarts (paho's loop thread reconnects by itself).
    c.reconnect_delay_set(min_delay=1, max_delay=2)
    return c


def json_object(payload):
    """The payload's JSON object; None for anything else (a message we cannot read is skipped)."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def result_text(doc):
    """A call result's outcome: "accepted", "refused:<reason>", "duplicate", ..."""
    r = doc.get("result")
    return f"refused:{doc.get('reason')}" if r == "refused" else str(r)


class HeartbeatWatcher:
    def __init__(self, lc, client_id="console-soak-heartbeats"):
        self.topic = f"amr/{THING}/heartbeat"
        # Also the calls, as the broker delivers them to any subscriber: an unanswered call seen
        # here reached the broker (so the gateway's side lost it), one not seen never got there.
        self.call_topic = f"amr/{THING}/cmd/call"
        self.lock = threading.Lock()
        self.call_ids = set()
        self.seqs = set()
        self.received = 0  # deliveries, duplicates included
        self.duplicates = 0
        self.restarts_seen = 0  # seq went back to 1 after a higher one: the gateway restarted
        self.max_seq = 0
        self.connects = 0
        self.sessions_lost = 0  # reconnects where the broker had no session for us
        self.subscribed = threading.Event()
        self.c = tls_client(client_id, False, lc.ca(), f"{lc.pki}/console.pem", f"{lc.pki}/console.key")
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.on_message = self._on_message
        self.c.connect("localhost", lc.port, keepalive=30)
        self.loop = Loop(self.c)

    def _on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            return
        self.connects += 1
        if not flags.get("session present"):
            if self.connects > 1:
                self.sessions_lost += 1
            client.subscribe([(self.topic, 1), (self.call_topic, 1)])

    def _on_message(self, client, userdata, msg):
        if msg.topic == self.call_topic:
            try:
                cid = json.loads(msg.payload).get("id")
            except (ValueError, AttributeError):
                return
            with self.lock:
                self.call_ids.add(cid)
            return
        try:
            seq = int(json.loads(msg.payload)["seq"])
        except (ValueError, KeyError, TypeError):
            return
        with self.lock:
            self.received += 1
            if seq in self.seqs:
                self.duplicates += 1
            if seq == 1 and self.max_seq > 1:
                self.restarts_seen += 1
            self.seqs.add(seq)
            self.max_seq = max(self.max_seq, seq)

    def missing_up_to(self, last):
        """The seqs 1..last never received."""
        with self.lock:
            return missing_heartbeats(last, self.seqs)

    def close(self):
        self.loop.close()


class Console:
    def __init__(self, lc, client_id="console-soak"):
        self.prefix = f"amr/{THING}"
        self.shadow = f"$aws/things/{THING}/shadow/name/robot"
        self.lock = threading.Lock()
        self.sent = {}  # call id -> monotonic time sent
        self.results = {}  # call id -> "accepted" | "refused:<reason>" | "duplicate"
        self.statuses = 0
        self.reported_updates = 0  # shadow documents whose reported state changed
        self.desired_sent = 0
        self.desired_results = {}  # "accepted" / "refused:<reason>" -> count
        self.skipped_offline = 0  # calls not sent because the console itself was disconnected
        # A persistent session too: results published while the console reconnects after a
        # broker restart wait for it, so an unanswered call is one the gateway never answered.
        self.c = tls_client(client_id, False, lc.ca(), f"{lc.pki}/console.pem", f"{lc.pki}/console.key")
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.connect("localhost", lc.port, keepalive=30)
        self.loop = Loop(self.c)

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0 and not flags.get("session present"):
            for t in (f"{self.prefix}/cmd/result", f"{self.prefix}/status", f"{self.shadow}/update/documents"):
                client.subscribe(t, qos=1)

    def _on_message(self, client, userdata, msg):
        doc = json_object(msg.payload)
        if doc is None:
            return
        with self.lock:
            if msg.topic.endswith("/cmd/result"):
                cid = doc.get("id")
                if cid in self.sent and cid not in self.results:
                    self.results[cid] = result_text(doc)
            elif msg.topic.endswith("/status"):
                self.statuses += 1
            elif msg.topic.endswith("/update/documents"):
                prev = (doc.get("previous") or {}).get("state", {}).get("reported", {})
                cur = (doc.get("current") or {}).get("state", {}).get("reported", {})
                if prev.get("state") != cur.get("state") or prev.get("command_id") != cur.get("command_id"):
                    self.reported_updates += 1
                dr = cur.get("desired_result")
                if isinstance(dr, dict) and dr != prev.get("desired_result"):
                    key = dr.get("result") if dr.get("result") != "refused" else f"refused:{dr.get('reason')}"
                    self.desired_results[key] = self.desired_results.get(key, 0) + 1

    def connected(self):
        return self.c.is_connected()

    def call(self):
        if not self.connected():
            self.skipped_offline += 1
            return
        cid = "soak-" + uuid.uuid4().hex[:20]
        cmd = json.dumps({"id": cid, "ts": int(time.time() * 1000)})
        with self.lock:
            self.sent[cid] = time.monotonic()
        self.c.publish(f"{self.prefix}/cmd/call", cmd, qos=1)

    def desire_moving(self):
        if not self.connected():
            return
        self.desired_sent += 1
        self.c.publish(f"{self.shadow}/update", json.dumps({"state": {"desired": {"state": "moving"}}}), qos=1)

    def unanswered(self, answer_grace_s=5.0):
        """{id: monotonic time sent} of the calls without a result `answer_grace_s` after they were sent."""
        now = time.monotonic()
        with self.lock:
            return {cid: t for cid, t in self.sent.items() if cid not in self.results and now - t > answer_grace_s}

    def call_figures(self, answer_grace_s=5.0):
        """(sent, answered, unanswered older than the grace, {outcome: count})."""
        now = time.monotonic()
        with self.lock:
            outcomes = {}
            for r in self.results.values():
                outcomes[r] = outcomes.get(r, 0) + 1
            late = sum(1 for cid, t in self.sent.items() if cid not in self.results and now - t > answer_grace_s)
            return len(self.sent), len(self.results), late, outcomes

    def close(self):
        self.loop.close()


def take_over_once(lc, gateway, hold_s=2.0, limit_s=15.0):
    """Connects with the gateway's client id (MQTT 3.1.1, clean session, the way a second device
    with a copied config would), waits until the gateway logs the takeover, holds the id for
    `hold_s`, then leaves cleanly. Returns True when the gateway reported the takeover."""
    before = gateway.counts["taken_over"]
    c = tls_client(THING, True, lc.ca(), f"{lc.pki}/intruder.pem", f"{lc.pki}/intruder.key")
    connected = threading.Event()
    c.on_connect = lambda client, userdata, flags, rc: connected.set() if rc == 0 else None
    c.connect("localhost", lc.port, keepalive=30)
    c.loop_start()
    try:
        connected.wait(limit_s)
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            gateway.read_new()
            if gateway.counts["taken_over"] > before:
                break
            time.sleep(0.1)
        time.sleep(hold_s)
    finally:
        c.loop_stop()
        c.disconnect()
    return gateway.counts["taken_over"] > before
