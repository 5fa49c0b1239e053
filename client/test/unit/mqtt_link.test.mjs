// The connection (public/js/mqtt_link.js) with local credentials (public/js/local_credentials.js):
// when the broker ends the connection itself (localcore: the console token expired or was
// revoked, or the websocket connection reached its duration cap) or refuses the credentials at
// CONNECT, the next attempt fetches a fresh token instead of presenting the old one again; a plain
// network loss reuses a token that is still fresh. mqtt.js and fetch are replaced by fakes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { loadScripts } from "./load_script.mjs";

function harness() {
    const timers = [];
    const clients = [];
    let issued = 0;
    const fakeMqtt = {
        connect(url, options) {
            const client = new EventEmitter();
            client.url = url;
            client.options = options;
            client.end = () => {};
            client.published = [];
            client.subscribed = [];
            client.subscribe = (filters, opts, cb) => {
                client.subscribed.push({ filters, opts });
                cb(null, filters.map((topic) => ({ topic, qos: client.grantedQos === undefined ? opts.qos : client.grantedQos })));
            };
            client.publish = (topic, text, opts, cb) => {
                client.published.push({ topic, text, opts });
                cb(null, { reasonCode: client.pubackReason || 0 });
            };
            clients.push(client);
            return client;
        },
    };
    const fetch = async (url, init) => {
        assert.equal(url, "/local-credentials");
        assert.equal(init.method, "POST");
        issued += 1;
        const now = Math.floor(Date.now() / 1000);
        const body = { username: "console-token", token: "lct1.token-" + issued, client_prefix: "console-", issued_at: now, expires_at: now + 3600 };
        return { ok: true, status: 200, json: async () => body };
    };
    const ctx = loadScripts(["js/local_credentials.js", "js/mqtt_link.js"], {
        mqtt: fakeMqtt,
        fetch,
        setTimeout: (fn, ms) => timers.push({ fn, ms }) - 1,
        clearTimeout: (id) => {
            if (timers[id]) timers[id].fn = null;
        },
    });
    const NS = ctx.IotConsole;
    const config = { local: { brokerUrl: "wss://localhost:18884/mqtt", credentialsUrl: "/local-credentials" } };
    const credentials = new NS.LocalCredentials(config);
    const states = [];
    const connected = [];
    const link = new NS.MqttLink({
        connectParams: (hint) => credentials.connectParams(hint),
        onConnected: () => connected.push(clients.length),
        onMessage: () => {},
        onState: (state, detail) => states.push({ state, detail }),
    });
    // Lets the connect promise chain (connectParams, fetch) run.
    const settle = () => new Promise((r) => setImmediate(r));
    // Runs the reconnect timer (the backoff), the one with a delay of at most 30 s.
    const fireBackoff = async () => {
        const t = timers.find((x) => x.fn && x.ms <= 30000);
        assert.ok(t, "a reconnect is scheduled");
        const fn = t.fn;
        t.fn = null;
        fn();
        await settle();
    };
    return { link, clients, states, connected, settle, fireBackoff, issuedCount: () => issued };
}

const password = (client) => client.options.password;

test("a DISCONNECT from the broker (token expired or revoked) makes the next connect use a fresh token", async () => {
    const h = harness();
    h.link.start();
    await h.settle();
    assert.equal(h.clients.length, 1);
    assert.equal(password(h.clients[0]), "lct1.token-1");
    h.clients[0].emit("connect");
    assert.equal(h.link.connected, true);

    // mosquitto's kick: DISCONNECT 0x98 (administrative action), then the socket closes.
    h.clients[0].emit("disconnect", { cmd: "disconnect", reasonCode: 0x98 });
    h.clients[0].emit("close");
    assert.equal(h.link.connected, false);
    assert.match(h.states.at(-1).detail, /サーバーが接続を終了しました/);
    await h.fireBackoff();
    assert.equal(h.clients.length, 2);
    assert.equal(password(h.clients[1]), "lct1.token-2", "a new token, not the one the broker ended");
    assert.equal(h.clients[1].options.clientId, h.clients[0].options.clientId, "the same client id");
    h.clients[1].emit("connect");
    assert.deepEqual(h.connected, [1, 2]);
});

test("a CONNACK refusing the credentials makes the next attempt fetch a fresh token", async () => {
    const h = harness();
    h.link.start();
    await h.settle();
    const refused = Object.assign(new Error("Connection refused: Not authorized"), { code: 135 });
    h.clients[0].emit("error", refused);
    h.clients[0].emit("close");
    await h.fireBackoff();
    assert.equal(password(h.clients[1]), "lct1.token-2");
});

test("a lost connection reuses the token while it is fresh", async () => {
    const h = harness();
    h.link.start();
    await h.settle();
    h.clients[0].emit("connect");
    h.clients[0].emit("close"); // no DISCONNECT packet: the network, not the broker
    await h.fireBackoff();
    assert.equal(password(h.clients[1]), "lct1.token-1");
    assert.equal(h.issuedCount(), 1);
    // ...and after the next broker DISCONNECT, a new one again.
    h.clients[1].emit("connect");
    h.clients[1].emit("disconnect", { cmd: "disconnect", reasonCode: 0x98 });
    h.clients[1].emit("close");
    await h.fireBackoff();
    assert.equal(password(h.clients[2]), "lct1.token-2");
});

test("publish: QoS 1; the watch message retained with the MQTT 5 Message Expiry Interval; a refusing PUBACK rejects", async () => {
    const h = harness();
    h.link.start();
    await h.settle();
    const c = h.clients[0];
    assert.equal(c.options.protocolVersion, 5, "MQTT 5: the expiry needs it");
    await assert.rejects(h.link.publish("amr/AMR-001/cmd/call", "{}"), /接続していません/);
    c.emit("connect");
    await h.link.publish("amr/AMR-001/cmd/call", "{}");
    await h.link.publish("amr/AMR-001/watch", '{"lease_s":90}', { retain: true, expiryS: 90 });
    assert.deepEqual(JSON.parse(JSON.stringify(c.published.map((p) => p.opts))), [
        { qos: 1 },
        { qos: 1, retain: true, properties: { messageExpiryInterval: 90 } },
    ]);
    c.pubackReason = 0x87;
    await assert.rejects(h.link.publish("amr/AMR-001/watch", "{}", { retain: true, expiryS: 90 }), /reason 135/);
});

test("subscribe: QoS 1 (a QoS 0 delivery is dropped when the broker's queue for the page is full, as at the fleet view's retained snapshot); a refused filter rejects", async () => {
    const h = harness();
    h.link.start();
    await h.settle();
    const c = h.clients[0];
    c.emit("connect");
    await h.link.subscribe(["amr/+/status", "amr/+/heartbeat"]);
    assert.deepEqual(JSON.parse(JSON.stringify(c.subscribed)), [{ filters: ["amr/+/status", "amr/+/heartbeat"], opts: { qos: 1 } }]);
    c.grantedQos = 128;
    await assert.rejects(h.link.subscribe(["amr/+/status"]), /購読が拒否されました: amr\/\+\/status/);
});
