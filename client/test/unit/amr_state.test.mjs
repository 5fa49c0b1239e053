// The AMR model (public/js/amr_state.js): version gate, heartbeat bounds, resync triggers, call
// button rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadScripts } from "./load_script.mjs";

const { AmrModel } = loadScripts(["js/amr_state.js"]).IotConsole;
const doc = (version, state) => ({ state: { reported: { state } }, version });

function online(now = 1000) {
    const m = new AmrModel("AMR-001");
    m.onStatus({ state: "idle", seq: 1 }, now);
    m.onShadow("get", "accepted", doc(5, "idle"), now);
    m.onHeartbeat({ seq: 1, ts: now, uptime_ms: 0 }, false, now);
    return m;
}

test("only newer shadow versions are applied; older ones are counted as stale", () => {
    const m = online();
    assert.equal(m.onShadow("update", "documents", { current: doc(6, "moving") }, 1100).applied, true);
    assert.equal(m.view(1100, true).state, "moving");
    const r = m.onShadow("get", "accepted", doc(4, "idle"), 1200);
    assert.deepEqual([r.applied, r.stale], [false, true]);
    assert.equal(m.view(1200, true).state, "moving");
    assert.equal(m.view(1200, true).shadowVersion, 6);
    assert.equal(m.staleIgnored, 1);
    // The same version again: ignored, not stale.
    const again = m.onShadow("get", "accepted", doc(6, "idle"), 1300);
    assert.deepEqual([again.applied, again.stale], [false, false]);
    assert.equal(m.staleIgnored, 1);
});

test("the link turns bad exactly at the heartbeat timeout, once, and asks for a resync", () => {
    const m = online(0);
    assert.equal(m.tick(24999).resync, false);
    assert.equal(m.view(24999, true).linkLabel, "正常");
    assert.equal(m.tick(25000).resync, true);
    assert.equal(m.view(25000, true).linkLabel, "通信不良");
    assert.equal(m.view(25000, true).callEnabled, false);
    assert.equal(m.tick(26000).resync, false);
    // A heartbeat brings it back, with a resync.
    assert.equal(m.onHeartbeat({ seq: 2, ts: 27000, uptime_ms: 10000 }, false, 27000).resync, true);
    assert.equal(m.view(27000, true).linkLabel, "正常");
});

test("a retained heartbeat counts from its own timestamp, not its delivery", () => {
    const m = new AmrModel("AMR-001");
    m.onStatus({ state: "idle" }, 100000);
    m.onHeartbeat({ seq: 9, ts: 60000, uptime_ms: 90000 }, true, 100000);
    assert.equal(m.view(100000, true).heartbeatAgeMs, 40000);
    assert.equal(m.view(100000, true).linkBad, true);
    // A timestamp ahead of our clock (skew) counts from delivery.
    const n = new AmrModel("AMR-001");
    n.onHeartbeat({ seq: 9, ts: 200000, uptime_ms: 90000 }, true, 100000);
    assert.equal(n.view(100000, true).heartbeatAgeMs, 0);
});

test("missed heartbeats and a gateway restart ask for a resync", () => {
    const m = online(0);
    assert.equal(m.onHeartbeat({ seq: 2, ts: 10000, uptime_ms: 10000 }, false, 10000).resync, false);
    assert.equal(m.onHeartbeat({ seq: 4, ts: 30000, uptime_ms: 30000 }, false, 20000).resync, true);
    assert.equal(m.onHeartbeat({ seq: 1, ts: 31000, uptime_ms: 0 }, false, 21000).resync, true);
});

test("offline (the Will) disables the call; back online asks for a resync", () => {
    const m = online();
    m.onStatus({ state: "offline" }, 2000);
    const v = m.view(2000, true);
    assert.equal(v.state, "offline");
    assert.equal(v.stateLabel, "オフライン");
    assert.equal(v.callEnabled, false);
    assert.equal(m.onStatus({ state: "idle", seq: 1 }, 3000).resync, true);
    m.onPresence("disconnected", 4000);
    assert.equal(m.view(4000, true).state, "offline");
});

test("a status that disagrees with the shadow for the grace period asks for a GET", () => {
    const m = online(0);
    m.onStatus({ state: "moving", seq: 2 }, 100);
    assert.equal(m.tick(1000).resync, false);
    assert.equal(m.tick(2100).resync, true);
    m.onShadow("update", "documents", { current: doc(6, "moving") }, 2200);
    assert.equal(m.tick(5000).resync, false);
});

test("the call button: enabled only when idle, online, linked, connected and not waiting", () => {
    const m = online(0);
    assert.equal(m.view(100, true).callEnabled, true);
    assert.equal(m.view(100, false).callEnabled, false);
    m.callSent("call-1", 200);
    assert.equal(m.view(300, true).callEnabled, false);
    m.onResult({ id: "call-1", result: "accepted", state: "moving" }, 400);
    assert.equal(m.view(400, true).lastResult.text, "受付");
    assert.equal(m.view(400, true).callEnabled, true);
    m.onResult({ id: "call-2", result: "refused", reason: "busy", detail: "moving" }, 500);
    assert.equal(m.view(500, true).lastResult.text, "拒否（移動中のため）");
    // No result within 10 s: reported, button released.
    m.callSent("call-3", 1000);
    m.tick(11001);
    assert.equal(m.view(11001, true).lastResult.text, "拒否（応答なし）");
    assert.equal(m.view(11001, true).pendingCall, null);
});
