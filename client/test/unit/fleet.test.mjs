// The fleet view's arithmetic (public/js/fleet.js): list state, counts, order, filter, search,
// the virtualized list's window and the Shadow GET pacer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadScripts } from "./load_script.mjs";

const { fleet, AmrModel } = loadScripts(["js/amr_state.js", "js/fleet.js"]).IotConsole;
const { fleetState, countStates, orderRows, filterRows, visibleWindow, RequestPacer } = fleet;
// The vm context's arrays have another Array.prototype: compare plain copies.
const plain = (v) => JSON.parse(JSON.stringify(v));

test("list state from the model: offline wins over a bad link, a bad link over the movement", () => {
    const m = new AmrModel("AMR-1");
    assert.equal(fleetState(m.view(0, true)), "unknown");
    m.onStatus({ state: "idle" }, 0);
    m.onHeartbeat({ seq: 1, ts: 0, uptime_ms: 0 }, false, 0);
    assert.equal(fleetState(m.view(0, true)), "idle");
    m.onShadow("get", "accepted", { version: 2, state: { reported: { state: "moving" } } }, 10);
    assert.equal(fleetState(m.view(10, true)), "moving");
    m.tick(25000);
    assert.equal(fleetState(m.view(25000, true)), "bad");
    m.onStatus({ state: "offline" }, 25001);
    assert.equal(fleetState(m.view(25001, true)), "offline");
    assert.equal(fleet.LABELS[fleetState(m.view(25001, true))], "オフライン");
    assert.deepEqual(plain(fleet.STATES.map((s) => fleet.LABELS[s])), ["通信不良", "オフライン", "不明", "移動中", "待機中"]);
});

const rows = [
    { thing: "AMR-10", state: "idle" },
    { thing: "AMR-2", state: "idle" },
    { thing: "AMR-3", state: "moving" },
    { thing: "AMR-4", state: "offline" },
    { thing: "AMR-5", state: "bad" },
    { thing: "AMR-1", state: "offline" },
    { thing: "LIFT-1", state: "unknown" },
];

test("counts per state, and all", () => {
    assert.deepEqual(plain(countStates(rows)), { all: 7, bad: 1, offline: 2, unknown: 1, moving: 1, idle: 2 });
    assert.deepEqual(plain(countStates([])), { all: 0, bad: 0, offline: 0, unknown: 0, moving: 0, idle: 0 });
});

test("problems first (通信不良, オフライン), then by name with numbers compared as numbers", () => {
    assert.deepEqual(plain(orderRows(rows).map((r) => r.thing)), ["AMR-5", "AMR-1", "AMR-4", "LIFT-1", "AMR-3", "AMR-2", "AMR-10"]);
    // The input is left as it was.
    assert.equal(rows[0].thing, "AMR-10");
});

test("filter by state and search by name (case-insensitive substring), together", () => {
    assert.deepEqual(plain(filterRows(rows, { state: "offline" }).map((r) => r.thing)), ["AMR-4", "AMR-1"]);
    assert.deepEqual(plain(filterRows(rows, { query: " amr-1" }).map((r) => r.thing)), ["AMR-10", "AMR-1"]);
    assert.deepEqual(plain(filterRows(rows, { state: "idle", query: "1" }).map((r) => r.thing)), ["AMR-10"]);
    assert.equal(filterRows(rows, { state: "", query: "" }).length, rows.length);
    assert.equal(filterRows(rows, { query: "nothing" }).length, 0);
});

test("virtual window: the visible rows plus overscan, clamped at both ends", () => {
    // 1,000 rows of 48 px in a 480 px viewport.
    assert.deepEqual(plain(visibleWindow(0, 480, 48, 1000, 5)), { first: 0, end: 15, top: 0, height: 48000 });
    // Scrolled to row 100 exactly: rows 95..115.
    assert.deepEqual(plain(visibleWindow(4800, 480, 48, 1000, 5)), { first: 95, end: 115, top: 4560, height: 48000 });
    // Half a row in: the partly visible row 110 is included.
    assert.deepEqual(plain(visibleWindow(4824, 480, 48, 1000, 0)), { first: 100, end: 111, top: 4800, height: 48000 });
    // A stale scrollTop past the end (the list got shorter): the last screenful.
    assert.deepEqual(plain(visibleWindow(999999, 480, 48, 20, 2)), { first: 8, end: 20, top: 384, height: 960 });
    // Fewer rows than fit.
    assert.deepEqual(plain(visibleWindow(0, 480, 48, 3, 5)), { first: 0, end: 3, top: 0, height: 144 });
    assert.deepEqual(plain(visibleWindow(0, 480, 48, 0, 5)), { first: 0, end: 0, top: 0, height: 0 });
    // The rendered count does not grow with the fleet.
    const w = visibleWindow(24000, 844, 48, 10000, 5);
    assert.ok(w.end - w.first <= Math.ceil(844 / 48) + 1 + 10, `${w.end - w.first} rows`);
});

test("the pacer: never more than perSecond GETs per second, urgent ones first", () => {
    const p = new RequestPacer({ perSecond: 10, burst: 10 });
    for (let i = 0; i < 1000; i++) p.request(`AMR-${i}`, false);
    p.request("AMR-999", true); // the operator opened it: it jumps the queue
    p.request("AMR-5", false); // already queued: no duplicate
    assert.equal(p.pending(), 1000);
    const first = p.take(0);
    assert.equal(first.length, 10);
    assert.equal(first[0], "AMR-999");
    assert.equal(p.take(0).length, 0, "no token left in the same instant");
    assert.equal(p.take(50).length, 0, "half a token after 50 ms");
    assert.equal(p.take(100).length, 1);
    // Over 10 simulated seconds, polled every 100 ms: 10 per second.
    let sent = 0;
    for (let t = 200; t <= 10100; t += 100) sent += p.take(t).length;
    assert.equal(sent, 100);
    // A long pause refills only up to the burst.
    assert.equal(p.take(60000).length, 10);
    assert.equal(p.pending(), 1000 - 10 - 1 - 100 - 10);
});

test("the pacer: urgency upgrades a queued request, cancel drops it", () => {
    const p = new RequestPacer({ perSecond: 1, burst: 1 });
    p.request("A", false);
    p.request("B", false);
    p.request("B", true);
    p.request("B", true);
    assert.equal(p.pending(), 2);
    assert.deepEqual(plain(p.take(0)), ["B"]);
    p.cancel("A");
    assert.equal(p.pending(), 0);
    assert.deepEqual(plain(p.take(5000)), []);
});
