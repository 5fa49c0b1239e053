// The watch scheduler (public/js/watch.js, docs/watched-heartbeat.md): the retained watch message
// with its expiry is published when a card opens and every lease_s / 3 while it stays open and the
// page visible; nothing is sent when it closes or the page is hidden; it resumes at once when the
// page is shown again or the connection comes back. Timers are fakes driven by advance().
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadScripts } from "./load_script.mjs";

const NS = loadScripts(["js/amr_state.js", "js/watch.js"]).IotConsole;

// A fake clock: setInterval/clearInterval, advance(ms) runs what falls due, in order.
function fakeTimers() {
    let now = 0;
    let nextId = 1;
    const intervals = new Map();
    return {
        setInterval(fn, ms) {
            const id = nextId++;
            intervals.set(id, { fn, ms, due: now + ms });
            return id;
        },
        clearInterval(id) {
            intervals.delete(id);
        },
        advance(ms) {
            const end = now + ms;
            for (;;) {
                let first = null;
                for (const [id, t] of intervals) if (t.due <= end && (!first || t.due < first[1].due)) first = [id, t];
                if (!first) break;
                now = first[1].due;
                first[1].due += first[1].ms;
                first[1].fn();
            }
            now = end;
        },
        get now() {
            return now;
        },
        get pending() {
            return intervals.size;
        },
    };
}

function harness(options = {}) {
    const timers = fakeTimers();
    const sent = [];
    const events = [];
    const w = new NS.WatchScheduler({
        publish: (topic, text, opts) => {
            sent.push({ at: timers.now, topic, body: JSON.parse(text), opts: { ...opts } });
            return options.refuse ? Promise.reject(new Error("送信が拒否されました (reason 135)")) : Promise.resolve();
        },
        consoleId: "0b7e6a52-7d1c-4f7e-9a55-3c0f1f7f2a10",
        leaseS: options.leaseS,
        onBegin: (thing) => events.push(["begin", thing, timers.now]),
        onEnd: (thing) => events.push(["end", thing, timers.now]),
        onError: (thing, err) => events.push(["error", thing, err.message]),
        setInterval: timers.setInterval,
        clearInterval: timers.clearInterval,
    });
    return { w, timers, sent, events };
}

const settle = () => new Promise((r) => setImmediate(r));

test("opening a card publishes the retained watch with its expiry at once, then every lease_s / 3", () => {
    const { w, timers, sent, events } = harness();
    w.setConnected(true);
    assert.equal(sent.length, 0, "the fleet view (no card) does not watch");
    w.setThing("AMR-001");
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0], {
        at: 0,
        topic: "amr/AMR-001/watch",
        body: { thing: "AMR-001", console: "0b7e6a52-7d1c-4f7e-9a55-3c0f1f7f2a10", lease_s: 90 },
        opts: { retain: true, expiryS: 90 },
    });
    assert.deepEqual(events, [["begin", "AMR-001", 0]]);
    timers.advance(29999);
    assert.equal(sent.length, 1);
    timers.advance(1);
    assert.equal(sent.length, 2);
    timers.advance(60000);
    assert.deepEqual(sent.map((s) => s.at), [0, 30000, 60000, 90000]);
    // The same card shown again (every render) changes nothing.
    w.setThing("AMR-001");
    assert.equal(sent.length, 4);
    assert.equal(timers.pending, 1);
});

test("closing the card stops the refreshes and sends nothing (no release message)", () => {
    const { w, timers, sent, events } = harness();
    w.setConnected(true);
    w.setThing("AMR-001");
    timers.advance(45000);
    assert.equal(sent.length, 2);
    w.setThing(null);
    assert.equal(sent.length, 2, "nothing is published when the card closes");
    assert.equal(timers.pending, 0);
    timers.advance(600000);
    assert.equal(sent.length, 2);
    assert.deepEqual(events.at(-1), ["end", "AMR-001", 45000]);
});

test("a hidden page stops watching; shown again it publishes at once and every 30 s from then", () => {
    const { w, timers, sent, events } = harness();
    w.setConnected(true);
    w.setThing("AMR-001");
    timers.advance(10000);
    w.setVisible(false);
    timers.advance(200000);
    assert.equal(sent.length, 1);
    assert.deepEqual(events.at(-1), ["end", "AMR-001", 10000]);
    w.setVisible(true);
    assert.deepEqual(sent.map((s) => s.at), [0, 210000]);
    assert.deepEqual(events.at(-1), ["begin", "AMR-001", 210000]);
    timers.advance(30000);
    assert.deepEqual(sent.map((s) => s.at), [0, 210000, 240000]);
    // A card opened while the page is hidden waits for the page to be shown.
    w.setVisible(false);
    w.setThing("AMR-002");
    timers.advance(60000);
    assert.equal(sent.length, 3);
    w.setVisible(true);
    assert.equal(sent.at(-1).topic, "amr/AMR-002/watch");
});

test("another card: the new AMR is watched at once, the old one's lease just runs out", () => {
    const { w, timers, sent } = harness();
    w.setConnected(true);
    w.setThing("AMR-001");
    timers.advance(5000);
    w.setThing("AMR-002");
    timers.advance(30000);
    assert.deepEqual(sent.map((s) => [s.at, s.body.thing]), [[0, "AMR-001"], [5000, "AMR-002"], [35000, "AMR-002"]]);
    assert.equal(timers.pending, 1);
});

test("nothing goes out while disconnected; a reconnect publishes at once", () => {
    const { w, timers, sent, events } = harness();
    w.setThing("AMR-001");
    timers.advance(60000);
    assert.equal(sent.length, 0);
    w.setConnected(true);
    assert.equal(sent.length, 1);
    timers.advance(20000);
    w.setConnected(false);
    timers.advance(60000);
    assert.equal(sent.length, 1);
    w.setConnected(true);
    assert.deepEqual(sent.map((s) => s.at), [60000, 140000]);
    assert.deepEqual(events.map((e) => e[0]), ["begin", "end", "begin"]);
});

test("the lease comes from config (refresh every third of it); a refused publish is reported once per watch", async () => {
    const { w, timers, sent, events } = harness({ leaseS: 15, refuse: true });
    w.setConnected(true);
    w.setThing("AMR-001");
    timers.advance(10000);
    assert.deepEqual(sent.map((s) => s.at), [0, 5000, 10000]);
    assert.deepEqual(sent[0].opts, { retain: true, expiryS: 15 });
    assert.equal(sent[0].body.lease_s, 15);
    await settle();
    assert.deepEqual(events.filter((e) => e[0] === "error"), [["error", "AMR-001", "送信が拒否されました (reason 135)"]]);
});

// A stand-in for a tab's sessionStorage.
function memoryStorage() {
    const items = new Map();
    return {
        getItem: (k) => (items.has(k) ? items.get(k) : null),
        setItem: (k, v) => items.set(k, String(v)),
        items,
    };
}

test("a reload keeps the tab's console id, so the gateway counts one lease, not two", () => {
    const tab = memoryStorage();
    const first = NS.consoleSessionId(globalThis.crypto, tab);
    const reloaded = NS.consoleSessionId(globalThis.crypto, tab);
    assert.equal(reloaded, first);
    // Another tab has its own storage, hence its own id and its own lease.
    assert.notEqual(NS.consoleSessionId(globalThis.crypto, memoryStorage()), first);
});

test("a stored console id the gateway would refuse is replaced, and storage errors are survived", () => {
    const tab = memoryStorage();
    tab.setItem("iotgw.consoleId", "not valid: spaces");
    const id = NS.consoleSessionId(globalThis.crypto, tab);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(tab.getItem("iotgw.consoleId"), id);
    tab.setItem("iotgw.consoleId", "x".repeat(129));
    assert.notEqual(NS.consoleSessionId(globalThis.crypto, tab), "x".repeat(129));
    // Storage that throws (disabled, quota): a fresh id each time, no exception.
    const broken = {
        getItem: () => {
            throw new Error("SecurityError");
        },
        setItem: () => {
            throw new Error("QuotaExceededError");
        },
    };
    const a = NS.consoleSessionId(globalThis.crypto, broken);
    const b = NS.consoleSessionId(globalThis.crypto, broken);
    assert.notEqual(a, b);
});

test("the console id is a random UUID without storage (crypto.randomUUID), not a user", () => {
    const a = NS.consoleSessionId(globalThis.crypto);
    const b = NS.consoleSessionId(globalThis.crypto);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a, b);
    // Without randomUUID (an older browser): 32 random hex digits.
    const c = NS.consoleSessionId({ getRandomValues: (arr) => globalThis.crypto.getRandomValues(arr) });
    assert.match(c, /^[0-9a-f]{32}$/);
});

// The page's wiring (watchModelHooks) with a publish whose PUBACK the test controls. The model
// may expect the gateway's answer (確認中, then 通信不良 after 25 s) only once the broker accepted
// the watch: a refused one (console policy or role not deployed yet) leaves the AMR slow.
function wired() {
    const timers = fakeTimers();
    const pubacks = [];
    const model = new NS.AmrModel("AMR-001");
    const hooks = NS.watchModelHooks((thing) => (thing === "AMR-001" ? model : null), () => timers.now, () => {});
    const w = new NS.WatchScheduler({
        publish: () => new Promise((resolve, reject) => pubacks.push({ resolve, reject })),
        consoleId: "c-1",
        ...hooks,
        setInterval: timers.setInterval,
        clearInterval: timers.clearInterval,
    });
    // The last heartbeat, slow (5 min), 240 s before the card opens.
    model.onHeartbeat({ seq: 1, ts: 0, uptime_ms: 1000, period_ms: 300000 }, false, 0);
    timers.advance(240000);
    w.setConnected(true);
    return { w, timers, pubacks, model };
}

test("a refused watch publish: the card judges by period_ms, no 通信不良 25 s later", async () => {
    const { w, timers, pubacks, model } = wired();
    w.setThing("AMR-001");
    pubacks[0].reject(new Error("送信が拒否されました (reason 135)"));
    await settle();
    timers.advance(26000);
    assert.equal(model.judgeLink(timers.now), "good", "266 s of a 5 min period (late after 12.5 min)");
    assert.match(model.events.at(-1).text, /表示中の通知（watch）を送れません: 送信が拒否されました \(reason 135\)/);
    // A later refresh that is accepted (the policy deployed meanwhile) starts the check.
    timers.advance(4000);
    pubacks[1].resolve();
    await settle();
    assert.equal(model.judgeLink(timers.now), "checking");
});

test("確認中 starts once the broker acknowledged the first watch of the session, not before", async () => {
    const { w, timers, pubacks, model } = wired();
    w.setThing("AMR-001");
    assert.equal(model.judgeLink(timers.now), "good", "no PUBACK yet: judged by the 5 min period");
    timers.advance(300);
    pubacks[0].resolve();
    await settle();
    assert.equal(model.judgeLink(timers.now), "checking");
    timers.advance(24999);
    assert.equal(model.judgeLink(timers.now), "checking");
    timers.advance(1);
    assert.equal(model.judgeLink(timers.now), "bad", "no answer 25 s after the acknowledged watch");
    // The card closes; a PUBACK of that session arriving late does not make the model watched.
    w.setThing(null);
    assert.equal(model.judgeLink(timers.now), "good");
    w.setThing("AMR-001");
    w.setThing(null);
    pubacks.at(-1).resolve();
    await settle();
    assert.equal(model.watchedSince, null);
});
