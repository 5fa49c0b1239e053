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

// docs/watched-heartbeat.md: late after 2.5 x the period the last heartbeat announced, never
// sooner than 25 s.
const beat = (seq, ts, period_ms) => ({ seq, ts, uptime_ms: seq * 1000, period_ms });

test("a heartbeat is late after 2.5 of its announced periods, never sooner than 25 s", () => {
    for (const [period, lateAfter] of [[10000, 25000], [300000, 750000], [5000, 25000], [undefined, 25000], [0, 25000]]) {
        const m = new AmrModel("AMR-001");
        m.onStatus({ state: "idle" }, 0);
        m.onHeartbeat(beat(1, 0, period), false, 0);
        assert.equal(m.view(0, true).lateAfterMs, lateAfter, `period ${period}`);
        assert.equal(m.tick(lateAfter - 1).resync, false, `period ${period}`);
        assert.equal(m.view(lateAfter - 1, true).linkLabel, "正常", `period ${period}`);
        assert.equal(m.tick(lateAfter).resync, true, `period ${period}`);
        assert.equal(m.view(lateAfter, true).linkLabel, "通信不良", `period ${period}`);
    }
    // The slow (5 min) heartbeat: 通信不良 at 12.5 min, said so in the log.
    const m = new AmrModel("AMR-001");
    m.onHeartbeat(beat(1, 0, 300000), false, 0);
    m.tick(750000);
    assert.match(m.events.at(-1).text, /通信不良: ハートビートが 12 分 30 秒以上届いていません/);
    // A retained slow heartbeat (delivered at subscribe time) counts from its own ts.
    const r = new AmrModel("AMR-001");
    r.onHeartbeat(beat(7, 100000, 300000), true, 400000);
    assert.equal(r.view(400000, true).linkLabel, "正常");
    r.tick(849999);
    assert.equal(r.view(849999, true).linkLabel, "正常");
    r.tick(850000);
    assert.equal(r.view(850000, true).linkLabel, "通信不良");
});

test("a card opening on a slow AMR shows 確認中 until the fresh heartbeat, not 通信不良", () => {
    const m = new AmrModel("AMR-001");
    m.onStatus({ state: "idle" }, 0);
    m.onShadow("get", "accepted", doc(5, "idle"), 0);
    m.onHeartbeat(beat(1, 0, 300000), false, 0);
    m.tick(120000);
    assert.equal(m.view(120000, true).linkLabel, "正常", "the fleet view: 2 min of a 5 min period is fine");
    m.watch(120000);
    assert.equal(m.tick(120000).resync, false);
    let v = m.view(120000, true);
    assert.deepEqual([v.linkLabel, v.link, v.linkBad], ["確認中", "checking", false]);
    assert.equal(v.callEnabled, false);
    assert.equal(v.callDisabledReason, "ハートビートを確認中です");
    assert.match(m.events.at(-1).text, /ハートビートを確認中です（2 分前の受信）/);
    // The gateway's answer (a heartbeat at once, the fast period): 正常, button enabled.
    m.onHeartbeat(beat(2, 121500, 10000), false, 121500);
    v = m.view(121500, true);
    assert.deepEqual([v.linkLabel, v.callEnabled], ["正常", true]);
    // From then on the fast rule: 25 s.
    m.tick(146499);
    assert.equal(m.view(146499, true).linkLabel, "正常");
    m.tick(146500);
    assert.equal(m.view(146500, true).linkLabel, "通信不良");
});

test("no fresh heartbeat within 25 s of opening the card: 通信不良", () => {
    const m = new AmrModel("AMR-001");
    m.onHeartbeat(beat(1, 0, 300000), false, 0);
    m.watch(60000);
    m.tick(60000);
    assert.equal(m.view(84999, true).linkLabel, "確認中");
    assert.equal(m.tick(84999).resync, false);
    assert.equal(m.tick(85000).resync, true);
    const v = m.view(85000, true);
    assert.deepEqual([v.linkLabel, v.linkBad], ["通信不良", true]);
    assert.match(m.events.at(-1).text, /通信不良: 表示してから 25 秒以上ハートビートが届いていません/);
    // The card closes: judged by the slow period again (1 min 25 s of 12.5 min: fine).
    m.unwatch();
    m.tick(85500);
    assert.equal(m.view(85500, true).linkLabel, "正常");
});

test("a recent heartbeat needs no check; one already late by its own period stays 通信不良", () => {
    const fresh = new AmrModel("AMR-001");
    fresh.onHeartbeat(beat(1, 0, 10000), false, 0);
    fresh.watch(5000);
    fresh.tick(5000);
    assert.equal(fresh.view(5000, true).linkLabel, "正常");
    const late = new AmrModel("AMR-001");
    late.onHeartbeat(beat(1, 0, 300000), false, 0);
    late.tick(800000);
    assert.equal(late.view(800000, true).linkLabel, "通信不良");
    late.watch(800000);
    late.tick(800000);
    assert.equal(late.view(800000, true).linkLabel, "通信不良");
    late.onHeartbeat(beat(2, 801000, 10000), false, 801000);
    assert.equal(late.view(801000, true).linkLabel, "正常");
});

test("view() judges the link at the time asked, not at the last tick: an opening card shows 確認中 at once", () => {
    const m = new AmrModel("AMR-001");
    m.onStatus({ state: "idle" }, 0);
    m.onShadow("get", "accepted", doc(5, "idle"), 0);
    m.onHeartbeat(beat(1, 0, 300000), false, 0);
    m.tick(239500);
    m.watch(240000);
    let v = m.view(240000, true);
    assert.deepEqual([v.link, v.linkLabel, v.callEnabled], ["checking", "確認中", false]);
    // And 25 s later 通信不良, before the page's next tick.
    v = m.view(265000, true);
    assert.deepEqual([v.link, v.linkBad, v.callEnabled], ["bad", true, false]);
});
