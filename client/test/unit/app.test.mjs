// The page's wiring (public/js/app.js) where it can be checked without a DOM: what happens when
// the subscriptions of a connection are granted. The link is a fake whose SUBACK the test controls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadScripts } from "./load_script.mjs";

// app.js runs main() once the document is loaded: a document still "loading" keeps it waiting.
const page = { document: { readyState: "loading", addEventListener() {} }, addEventListener() {} };
// The scripts register themselves on `window` when there is one: the fake page.
loadScripts(["js/amr_state.js", "js/fleet.js", "js/watch.js", "js/app.js"], { window: page });
const NS = page.IotConsole;

const settle = () => new Promise((r) => setImmediate(r));

// A Console with just what onConnected() uses: the link, the watch scheduler, no AMRs.
function connectedConsole() {
    const subacks = [];
    const link = {
        connected: true,
        generation: 1,
        subscribe: () => new Promise((resolve, reject) => subacks.push({ resolve, reject })),
    };
    const watcher = { calls: [], setConnected(v) { this.calls.push(v); } };
    const app = Object.assign(Object.create(NS.Console.prototype), { link, watcher, things: [], amrs: {} });
    return { app, link, watcher, subacks };
}

test("granted subscriptions start the watch on the connection that asked for them", async () => {
    const { app, watcher, subacks } = connectedConsole();
    app.onConnected();
    subacks[0].resolve();
    await settle();
    assert.deepEqual(watcher.calls, [true]);
});

test("a SUBACK arriving after the link dropped does not mark the watcher connected", async () => {
    const { app, link, watcher, subacks } = connectedConsole();
    app.onConnected();
    link.connected = false; // onState("waiting"): the watcher was told it is disconnected
    subacks[0].resolve();
    await settle();
    assert.deepEqual(watcher.calls, []);
});

test("a SUBACK of a replaced connection does not start the watch before the new one's subscriptions", async () => {
    const { app, link, watcher, subacks } = connectedConsole();
    app.onConnected();
    link.generation = 2; // reconnected: a new client, its own subscribe still to come
    subacks[0].resolve();
    await settle();
    assert.deepEqual(watcher.calls, []);
});
