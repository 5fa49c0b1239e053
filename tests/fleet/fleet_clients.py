"""The fleet simulator's MQTT clients (paho-mqtt from Debian's python3-paho-mqtt), all with the
fleet-console identity (client ids console-*):

- PresenceWatcher: a persistent session (clean_session = false, QoS 1) on
  $aws/events/presence/+/+, localcore's lifecycle events. The broker keeps the events that arrive
  while it is away (also across a broker restart: mosquitto saves its sessions on SIGTERM), so
  every connect of a reconnect storm is seen, with the broker's epoch-ms `timestamp`.
- Tap: what the gateways publish. MQTT 5 with retain-as-published, so the retain flag shows how
  each message was published; filters amr/# and the robot shadow's whole tree.
- ConsoleSession: what a fleet console receives: the wildcard forms of the filters the browser
  console subscribes per AMR (client/public/js/app.js), counted per topic class.
- Operator: sends calls (amr/<thing>/cmd/call, as the console's 呼出し button) and desired-state
  changes, and times call -> status `moving` with that call's id, and call -> result.
"""
import json
import os
import socket
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))

import paho.mqtt.client as mqtt  # noqa: E402

from mqtt_loop import Loop  # noqa: E402
from soak_clients import json_object, result_text, tls_client  # noqa: E402
from fleet_report import topic_class  # noqa: E402
import ssl  # noqa: E402

# The browser console's per-AMR filters (client/public/js/app.js onConnected) with + for the thing.
CONSOLE_FILTERS = [
    "amr/+/status",
    "amr/+/heartbeat",
    "amr/+/cmd/result",
    "$aws/things/+/shadow/name/robot/get/accepted",
    "$aws/things/+/shadow/name/robot/get/rejected",
    "$aws/things/+/shadow/name/robot/update/documents",
    "$aws/events/presence/connected/+",
    "$aws/events/presence/disconnected/+",
]


class Counter:
    """Messages and payload bytes per topic class (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.msgs = {}
        self.bytes = {}
        self.retained = {}

    def add(self, cls, size, retained=False):
        with self.lock:
            self.msgs[cls] = self.msgs.get(cls, 0) + 1
            self.bytes[cls] = self.bytes.get(cls, 0) + size
            if retained:
                self.retained[cls] = self.retained.get(cls, 0) + 1

    def snapshot(self):
        with self.lock:
            return {"msgs": dict(self.msgs), "bytes": dict(self.bytes), "retained": dict(self.retained)}


def diff(after, before):
    """Counter snapshots: what was counted between the two."""
    return {k: {c: v - before[k].get(c, 0) for c, v in after[k].items() if v - before[k].get(c, 0)}
            for k in after}


def nodelay(client):
    """TCP_NODELAY on the client's socket, as the gateway (plugins/mqtt tcp_nodelay.cpp) and
    localcore do: with Nagle on, a client that sends a call while it acknowledges deliveries waits
    for the peer's delayed ACK (40 ms and more on loopback), which the latencies would include."""
    sock = client.socket()
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _connect(c, port, **kwargs):
    c.connect("localhost", port, keepalive=30, **kwargs)
    return Loop(c)


def _console_client(lc, client_id, clean_session, observer, subscribed=None):
    """(client, its Loop): MQTT 3.1.1 with the fleet-console identity, calling `observer`'s
    _on_connect and _on_message, setting `subscribed` on each SUBACK, connected. The observer's
    state must exist before: the callbacks start with the connection."""
    cert, key = lc.console_cert()
    c = tls_client(client_id, clean_session, lc.ca(), cert, key)
    c.on_connect = observer._on_connect
    c.on_message = observer._on_message
    if subscribed is not None:
        c.on_subscribe = lambda *a: subscribed.set()
    return c, _connect(c, lc.port)


class PresenceWatcher:
    def __init__(self, lc, client_id="console-fleet-presence"):
        self.lock = threading.Lock()
        self.events = []  # (eventType, clientId, broker timestamp s, received monotonic)
        self.state = {}  # clientId -> (timestamp ms, "connected"|"disconnected") of its latest event
        self.subscribed = threading.Event()
        self.c, self.loop = _console_client(lc, client_id, False, self, self.subscribed)

    def _on_connect(self, client, userdata, flags, rc):
        nodelay(client)
        if rc == 0 and not flags.get("session present"):
            client.subscribe("$aws/events/presence/+/+", qos=1)
        elif rc == 0:
            self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        try:
            ev = json.loads(msg.payload)
            kind, cid, ts = ev["eventType"], ev["clientId"], int(ev["timestamp"])
        except (ValueError, KeyError, TypeError):
            return
        with self.lock:
            self.events.append((kind, cid, ts / 1000.0, time.monotonic()))
            if kind in ("connected", "disconnected"):
                prev = self.state.get(cid)
                # Events of one client may arrive out of order across a restart: the newest wins
                # (a disconnect and the next connect in one tick: the connect is published later).
                if prev is None or ts >= prev[0]:
                    self.state[cid] = (ts, kind)

    def connected(self, names):
        with self.lock:
            return sum(1 for n in names if self.state.get(n, (0, ""))[1] == "connected")

    def events_since(self, wall_s, kinds=("connected",), names=None):
        """[(clientId, broker time s)] of events of `kinds` stamped at or after `wall_s`."""
        with self.lock:
            return [(cid, ts) for kind, cid, ts, _ in self.events
                    if kind in kinds and ts >= wall_s and (names is None or cid in names)]

    def close(self):
        self.loop.close()


class Tap:
    def __init__(self, lc, client_id="console-fleet-tap"):
        cert, key = lc.console_cert()
        self.counter = Counter()
        self.call_delays_ms = []
        # MQTT 5: retain-as-published keeps the retain flag of live messages as the publisher set it.
        self.c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
        self.c.tls_set(ca_certs=lc.ca(), certfile=cert, keyfile=key, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.c.reconnect_delay_set(min_delay=1, max_delay=2)
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.loop = _connect(self.c, lc.port, clean_start=True)

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        nodelay(client)
        if rc == 0:
            opts = mqtt.SubscribeOptions(qos=1, retainAsPublished=True)
            client.subscribe([("amr/#", opts), ("$aws/things/+/shadow/name/robot/#", opts)])

    def _on_message(self, client, userdata, msg):
        cls = topic_class(msg.topic)
        self.counter.add(cls, len(msg.payload), bool(msg.retain))
        if cls == "cmd/call":
            # How long the broker took to pass a call on (its `ts` is the operator's clock, the same
            # machine's): tells the broker's share of the call latency from the gateway's.
            try:
                delay_ms = time.time() * 1000 - int(json.loads(msg.payload)["ts"])
            except (ValueError, KeyError, TypeError):
                return
            with self.counter.lock:
                self.call_delays_ms.append(delay_ms)

    def close(self):
        self.loop.close()


class ConsoleSession:
    def __init__(self, lc, index):
        self.counter = Counter()
        self.c, self.loop = _console_client(lc, f"console-fleet-{index}", True, self)

    def _on_connect(self, client, userdata, flags, rc):
        nodelay(client)
        if rc == 0:
            # QoS 1, as the browser console subscribes (client/public/js/mqtt_link.js says why).
            client.subscribe([(f, 1) for f in CONSOLE_FILTERS])

    def _on_message(self, client, userdata, msg):
        self.counter.add(topic_class(msg.topic), len(msg.payload), bool(msg.retain))

    def close(self):
        self.loop.close()


class Operator:
    def __init__(self, lc, client_id="console-fleet-operator"):
        self.lock = threading.Lock()
        self.sent = {}  # call id -> (thing, monotonic sent, phase)
        self.status_at = {}  # call id -> monotonic time of the status `moving` with its id
        self.result = {}  # call id -> (monotonic time, "accepted" | "refused:<reason>" | ...)
        self.desired_sent = 0
        self.skipped_offline = 0
        self.sent_wall = {}  # call id -> epoch s sent (to match the gateways' log time stamps)
        self.ready = threading.Event()
        self.c, self.loop = _console_client(lc, client_id, True, self, self.ready)

    def _on_connect(self, client, userdata, flags, rc):
        nodelay(client)
        if rc == 0:
            client.subscribe([("amr/+/status", 1), ("amr/+/cmd/result", 1)])

    def _on_message(self, client, userdata, msg):
        now = time.monotonic()
        doc = json_object(msg.payload)
        if doc is None:
            return
        with self.lock:
            if msg.topic.endswith("/status"):
                cid = doc.get("command_id")
                if doc.get("state") == "moving" and cid in self.sent and cid not in self.status_at:
                    self.status_at[cid] = now
            elif msg.topic.endswith("/cmd/result"):
                cid = doc.get("id")
                if cid in self.sent and cid not in self.result:
                    self.result[cid] = (now, result_text(doc))

    def call(self, thing, phase):
        if not self.c.is_connected():
            self.skipped_offline += 1
            return
        cid = "fleet-" + uuid.uuid4().hex[:20]
        with self.lock:
            self.sent[cid] = (thing, time.monotonic(), phase)
            self.sent_wall[cid] = time.time()
        self.c.publish(f"amr/{thing}/cmd/call", json.dumps({"id": cid, "ts": int(time.time() * 1000)}), qos=1)

    def desire_moving(self, thing):
        if not self.c.is_connected():
            self.skipped_offline += 1
            return
        self.desired_sent += 1
        self.c.publish(f"$aws/things/{thing}/shadow/name/robot/update",
                       json.dumps({"state": {"desired": {"state": "moving"}}}), qos=1)

    def records(self):
        """Per call: thing, phase, epoch s sent, ms to status / result (None: not seen)."""
        def ms(at, t0):
            return None if at is None else round((at - t0) * 1000, 2)

        with self.lock:
            return {cid: {"thing": t, "phase": p, "sent": self.sent_wall.get(cid),
                          "to_status_ms": ms(self.status_at.get(cid), t0),
                          "to_result_ms": ms(self.result[cid][0] if cid in self.result else None, t0),
                          "result": self.result[cid][1] if cid in self.result else None}
                    for cid, (t, t0, p) in self.sent.items()}

    def figures(self, phase, grace_s=5.0):
        """Latencies (ms) and outcomes of the calls sent in `phase`."""
        now = time.monotonic()
        with self.lock:
            ids = [cid for cid, (_, _, p) in self.sent.items() if p == phase]
            to_status = [(self.status_at[c] - self.sent[c][1]) * 1000 for c in ids if c in self.status_at]
            to_result = [(self.result[c][0] - self.sent[c][1]) * 1000 for c in ids if c in self.result]
            outcomes = {}
            for c in ids:
                if c in self.result:
                    o = self.result[c][1]
                elif now - self.sent[c][1] > grace_s:
                    o = "unanswered"
                else:
                    o = "pending"
                outcomes[o] = outcomes.get(o, 0) + 1
        return {"sent": len(ids), "to_status_ms": to_status, "to_result_ms": to_result, "outcomes": outcomes}

    def close(self):
        self.loop.close()
