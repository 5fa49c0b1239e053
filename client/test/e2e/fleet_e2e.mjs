#!/usr/bin/env node
// The console's fleet view end to end: headless Chromium against localcore with N simulated AMRs
// (default 1,000). Checks what the view must do (counts per state, problems first, filter,
// search, a list that renders only the visible rows, a row opens the AMR's card and 「一覧に戻る」
// comes back, Shadow GETs spread over time) and prints, without asserting them, the figures a
// busy CI machine cannot promise: first render time, main-thread busy time while idle, JS heap
// over the soak, each with its target.
//
// The AMRs are simulated, not real gateways: MQTT connections of 50 AMRs each publish what a
// gateway publishes and the console reads: the retained status, a retained heartbeat every 10 s,
// and a `robot` shadow update. They use a console token whose policy (written here, loaded into
// this run's localcore only) allows exactly those publishes. The console itself gets the ordinary
// console token (policy `console`, cloud/policies/console.json) from client/scripts/serve.py.
//
// Usage: node test/e2e/fleet_e2e.mjs BUILD_DIR      (Node.js >= 18)
//   FLEET_E2E_AMRS=1000          how many AMRs
//   FLEET_E2E_SOAK_SECONDS=30    how long the page watches before the heap is read again (the
//                                10-minute figure in docs/scaling.md: FLEET_E2E_SOAK_SECONDS=600)
// Writes screenshots (fleet-pc-1366x768.png, fleet-phone-390x844.png, fleet-card-*.png) to
// BUILD_DIR/client-screenshots/ and prints "e2e: N passed, N failed".
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { Session, driverReady } from "./webdriver.mjs";
import {
    CHROMEDRIVER, CHROMIUM, check, chromiumArgs, freePort, portOpen, serverUrl, sleep, start, stopAll, tally, waitFor,
} from "./harness.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const build = resolve(process.argv[2] || join(repo, "build/release"));
const bin = (name) => join(build, "bin", name);
const work = join(build, "fleet-e2e");
const shots = join(build, "client-screenshots");
const N = Number(process.env.FLEET_E2E_AMRS || 1000);
const SOAK_S = Number(process.env.FLEET_E2E_SOAK_SECONDS || 30);
// 50 AMRs per simulator connection, each connection's publishes kept under AWS's (and
// localcore's) 100 publishes per second per connection.
const PER_CONNECTION = 50;
const SIM_PUBLISHES_PER_SECOND = 80;
const HEARTBEAT_MS = 10000;
const GETS_PER_SECOND = 10; // the console's default pacer rate (config shadowGetsPerSecond)
const cleanups = [];

const thingName = (i) => "AMR-" + String(i + 1).padStart(4, "0");
// The simulated fleet's states, fixed per index so the expected counts are known: every 50th AMR
// offline (its Will said so), every 40th (not offline) with a heartbeat older than 25 s
// (通信不良), every 10th of the rest moving, the others idle.
function simState(i) {
    if (i % 50 === 7) return "offline";
    if (i % 40 === 3) return "bad";
    if (i % 10 === 5) return "moving";
    return "idle";
}

function localcore(...args) {
    return execFileSync(bin("localcore"), ["--data", join(work, "data"), ...args], { encoding: "utf8" });
}

// One MQTT connection publishing for a batch of simulated AMRs.
async function simConnection(url, ca, things, index) {
    const token = JSON.parse(localcore("issue-console-token", "--policy", "fleet-sim", "--client-prefix", "fleet-sim-", "--json", "yes"));
    const client = mqtt.connect(url, {
        ca, clientId: `fleet-sim-${index}`, username: token.username, password: token.token, protocolVersion: 5, reconnectPeriod: 1000,
    });
    cleanups.push(() => client.end(true));
    await new Promise((res, rej) => {
        client.once("connect", res);
        client.once("error", rej);
    });
    const beats = {};
    const now = Date.now();
    let sent = 0;
    const paced = async (topic, payload, opts) => {
        // Under the per-connection publish rate: a throttled PUBLISH would be dropped.
        const due = now + (sent++ * 1000) / SIM_PUBLISHES_PER_SECOND;
        if (due > Date.now()) await sleep(due - Date.now());
        await client.publishAsync(topic, payload, opts);
    };
    for (const { name, state } of things) {
        const reported = state === "moving" ? "moving" : "idle";
        await paced(`$aws/things/${name}/shadow/name/robot/update`, JSON.stringify({ state: { reported: { state: reported } } }), { qos: 1 });
        await paced(`amr/${name}/status`, JSON.stringify({ state: state === "offline" ? "offline" : reported, seq: 1 }), { qos: 1, retain: true });
        // 通信不良: one retained heartbeat from a minute ago, and no more.
        if (state === "bad") await paced(`amr/${name}/heartbeat`, JSON.stringify({ seq: 1, ts: now - 60000, uptime_ms: 1000 }), { qos: 1, retain: true });
        if (state === "offline") continue;
        if (state !== "bad") beats[name] = { seq: 0, started: now };
    }
    // Heartbeats every 10 s per AMR, the AMRs spread evenly over the period (as a real fleet's
    // start times are), retained like the gateway's.
    const names = Object.keys(beats);
    let next = 0;
    const beat = (name) => {
        const b = beats[name];
        b.seq += 1;
        const ts = Date.now();
        client.publish(`amr/${name}/heartbeat`, JSON.stringify({ seq: b.seq, ts, uptime_ms: ts - b.started }), { qos: 0, retain: true });
    };
    names.forEach(beat);
    const stepMs = Math.max(10, Math.floor(HEARTBEAT_MS / Math.max(1, names.length)));
    const timer = setInterval(() => {
        // As many as are due in one step (names.length per 10 s).
        const due = Math.max(1, Math.round((names.length * stepMs) / HEARTBEAT_MS));
        for (let k = 0; k < due && names.length; k++) {
            beat(names[next]);
            next = (next + 1) % names.length;
        }
    }, stepMs);
    cleanups.push(() => clearInterval(timer));
    return client;
}

async function metrics(page) {
    const { metrics: list } = await page.cdp("Performance.getMetrics");
    return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

async function heapAfterGc(page) {
    await page.cdp("HeapProfiler.collectGarbage");
    return (await metrics(page)).JSHeapUsedSize;
}

const mb = (bytes) => (bytes / 1048576).toFixed(1) + " MB";

async function main() {
    for (const b of ["localcore"])
        if (!existsSync(bin(b))) throw new Error(`${bin(b)} is missing; build the targets localcore localcore_mosquitto`);
    for (const b of [CHROMIUM, CHROMEDRIVER])
        if (!existsSync(b)) throw new Error(`${b} is missing (Debian: apt-get install chromium chromium-driver)`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    mkdirSync(shots, { recursive: true });
    console.log(`fleet e2e: ${N} simulated AMRs, soak ${SOAK_S} s`);

    localcore("init");
    // The simulator's policy: publish what a gateway publishes for the console, nothing else.
    const simPolicy = {
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: ["iot:Connect"], Resource: ["arn:aws:iot:REGION:ACCOUNT_ID:client/fleet-sim-*"] },
            {
                Effect: "Allow",
                Action: ["iot:Publish", "iot:RetainPublish"],
                Resource: [
                    "arn:aws:iot:REGION:ACCOUNT_ID:topic/amr/*/status",
                    "arn:aws:iot:REGION:ACCOUNT_ID:topic/amr/*/heartbeat",
                    "arn:aws:iot:REGION:ACCOUNT_ID:topic/$aws/things/*/shadow/name/robot/update",
                ],
            },
        ],
    };
    writeFileSync(join(work, "fleet-sim-policy.json"), JSON.stringify(simPolicy));
    localcore("put-policy", "fleet-sim", join(work, "fleet-sim-policy.json"));
    const mqttPort = await freePort();
    const wsPort = await freePort();
    const conf = localcore("mosquitto-conf", "--port", String(mqttPort), "--websockets", String(wsPort));
    writeFileSync(join(work, "mosquitto.conf"), conf + "log_dest stderr\n");
    start(work, "mosquitto", "/usr/sbin/mosquitto", ["-c", join(work, "mosquitto.conf")]);
    if (!(await waitFor("broker", () => portOpen(wsPort), 10000)))
        throw new Error("mosquitto did not open its websocket port; see " + join(work, "mosquitto.log"));
    const brokerUrl = `wss://localhost:${wsPort}/mqtt`;
    const ca = readFileSync(join(work, "data/ca/ca.pem"));

    // The fleet, and the counts the page must show.
    const fleet = Array.from({ length: N }, (_, i) => ({ name: thingName(i), state: simState(i) }));
    const expected = { all: N, bad: 0, offline: 0, unknown: 0, moving: 0, idle: 0 };
    fleet.forEach((a) => expected[a.state]++);
    // Registered, as real AMRs are (older localcore builds answer a shadow of an unregistered
    // thing with 404).
    const regStart = Date.now();
    for (const a of fleet) localcore("create-thing", a.name);
    console.log(`info: registered ${N} things in ${Date.now() - regStart} ms`);
    const simStart = Date.now();
    await Promise.all(
        Array.from({ length: Math.ceil(N / PER_CONNECTION) }, (_, k) =>
            simConnection(brokerUrl, ca, fleet.slice(k * PER_CONNECTION, (k + 1) * PER_CONNECTION), k))
    );
    console.log(`info: the simulator published ${N} statuses and shadows in ${Date.now() - simStart} ms; heartbeats: ${N - expected.offline - expected.bad} AMRs every 10 s`);

    // An observer counts the page's Shadow GETs by their replies (clientToken console-<n>).
    const obsToken = JSON.parse(localcore("issue-console-token", "--json", "yes"));
    const observer = mqtt.connect(brokerUrl, { ca, clientId: "console-fleet-observer", username: obsToken.username, password: obsToken.token, protocolVersion: 5 });
    cleanups.push(() => observer.end(true));
    const getReplies = [];
    observer.on("message", (topic, payload) => {
        try {
            const doc = JSON.parse(payload.toString());
            if (/^console-\d+$/.test(doc.clientToken || "")) getReplies.push(Date.now());
        } catch {
            /* not JSON: not a reply */
        }
    });
    await new Promise((res, rej) => {
        observer.once("connect", res);
        observer.once("error", rej);
    });
    await observer.subscribeAsync(["$aws/things/+/shadow/name/robot/get/accepted", "$aws/things/+/shadow/name/robot/get/rejected"], { qos: 0 });

    // The console's web server: config.things names the first 10; the page discovers the rest
    // from the retained statuses its wildcard subscription delivers.
    const server = start(work, "console-server", "/usr/bin/python3", [
        join(repo, "client/scripts/serve.py"), "--port", "0", "--localcore", bin("localcore"), "--data", join(work, "data"),
        "--broker-url", brokerUrl, "--things", fleet.slice(0, 10).map((a) => a.name).join(","),
    ], { pipeStdout: true });
    const url = await serverUrl(server);

    const driverPort = await freePort();
    const driverUrl = `http://127.0.0.1:${driverPort}`;
    start(work, "chromedriver", CHROMEDRIVER, [`--port=${driverPort}`], { group: true });
    if (!(await waitFor("chromedriver", () => driverReady(driverUrl), 10000)))
        throw new Error("chromedriver did not get ready in 10 s; see " + join(work, "chromedriver.log"));
    const args = chromiumArgs(join(work, "data/ca/server.pem"));
    const problems = [];
    const newPage = async (name, deviceMetrics) => {
        const page = await Session.create(driverUrl, {
            binary: CHROMIUM,
            // performance.memory's figures are coarse unless precise memory info is on.
            args: [...args, "--enable-precise-memory-info", `--user-data-dir=${join(work, "chromium-" + name)}`],
            mobileEmulation: { deviceMetrics },
        });
        cleanups.push(() => page.close());
        page.collect = async () => {
            for (const e of await page.log())
                if (e.level === "WARNING" || e.level === "SEVERE") problems.push(`${name} ${e.source} ${e.level}: ${e.message}`);
        };
        return page;
    };

    const pc = await newPage("pc", { width: 1366, height: 768, pixelRatio: 1, mobile: false, touch: false });
    await pc.cdp("Performance.enable");
    await pc.goto(url);
    // First render: polled in the page; performance.now() counts from the navigation's start.
    const readCounts = () => pc.execute(`
        const n = (s) => Number((document.querySelector('[data-count="' + s + '"] .count-number') || {}).textContent || 0);
        return { t: performance.now(), rows: document.querySelectorAll('.fleet-row:not([hidden])').length,
                 all: n("all"), bad: n("bad"), offline: n("offline"), unknown: n("unknown"), moving: n("moving"), idle: n("idle") };`);
    let firstRows = null;
    const allListed = await waitFor("all AMRs listed", async () => {
        const c = await readCounts();
        if (!firstRows && c.rows > 0) firstRows = c;
        return c.all === N && c.rows > 0 ? c : null;
    }, 30000, 25);
    check(`the fleet list shows all ${N} AMRs (config.things named 10; the rest discovered from retained statuses)`, !!allListed, JSON.stringify(await readCounts()));
    console.log(`figure: first render (first rows on screen): ${firstRows ? Math.round(firstRows.t) + " ms" : "never"} after navigation start (target ≤ 2000 ms)`);
    console.log(`figure: first render of the whole fleet (${N} counted and listed): ${allListed ? Math.round(allListed.t) + " ms" : "never"} after navigation start (target ≤ 2000 ms)`);

    const settled = await waitFor("counts", async () => {
        const c = await readCounts();
        return ["all", "bad", "offline", "unknown", "moving", "idle"].every((k) => c[k] === expected[k]) ? c : null;
    }, 20000, 200);
    check("counts per state match the simulated fleet (通信不良, オフライン, 移動中, 待機中)", !!settled, `page ${JSON.stringify(await readCounts())}, expected ${JSON.stringify(expected)}`);

    const domRows = await pc.execute("return document.querySelectorAll('.fleet-row').length");
    check(`only the visible rows exist in the DOM (${domRows} row elements for ${N} AMRs)`, domRows > 0 && domRows <= 40, String(domRows));
    const firstRowState = await pc.locator(".fleet-row:not([hidden])").getAttribute("data-state");
    check("problems first: the top row is 通信不良", firstRowState === "bad", firstRowState);
    await pc.screenshot({ path: join(shots, "fleet-pc-1366x768.png") });

    // Shadow GETs: spread at the pacer's rate, never a burst of N.
    await sleep(3000);
    const perSecond = {};
    for (const at of getReplies) perSecond[Math.floor(at / 1000)] = (perSecond[Math.floor(at / 1000)] || 0) + 1;
    const peak = Math.max(0, ...Object.values(perSecond));
    check(`Shadow GETs are spread: at most ${2 * GETS_PER_SECOND} replies in any second (rate ${GETS_PER_SECOND}/s, burst ${GETS_PER_SECOND})`, peak > 0 && peak <= 2 * GETS_PER_SECOND,
        `peak ${peak}/s, ${getReplies.length} GETs so far for ${N} AMRs`);

    // Filter by state: the オフライン count button.
    await pc.locator('[data-count="offline"]').click();
    const offlineOnly = await waitFor("filter", async () => {
        const states = await pc.execute("return [...document.querySelectorAll('.fleet-row:not([hidden])')].map((r) => r.getAttribute('data-state'))");
        return states.length > 0 && states.every((s) => s === "offline") ? states : null;
    }, 5000);
    const summary = ((await pc.locator("#fleet-summary").textContent()) || "").trim();
    check("filter オフライン: only offline rows, the summary says how many of all", !!offlineOnly && summary === `${N} 台中 ${expected.offline} 台を表示`, summary);
    await pc.locator('[data-count="all"]').click();

    // Search by name.
    const target = fleet.find((a, i) => a.state === "moving" && i > N / 2) || fleet[N - 1];
    await pc.locator("#fleet-search").type(target.name);
    const found = await waitFor("search", async () => {
        const things = await pc.execute("return [...document.querySelectorAll('.fleet-row:not([hidden])')].map((r) => r.getAttribute('data-row-thing'))");
        return things.length === 1 && things[0] === target.name ? things : null;
    }, 5000);
    check(`search 「${target.name}」: exactly that row`, !!found, JSON.stringify(found));

    // A row opens the card (fetching its shadow on demand), 「一覧に戻る」 comes back.
    await pc.locator(`.fleet-row[data-row-thing="${target.name}"]`).click();
    const cardField = (f) => pc.locator(`[data-thing="${target.name}"] [data-field="${f}"]`);
    const card = await waitFor("card", async () => {
        const state = ((await cardField("state").textContent()) || "").trim();
        const version = await cardField("version").getAttribute("data-version");
        const fleetHidden = await pc.execute("return document.getElementById('fleet').hidden");
        return state === "移動中" && version && fleetHidden ? { state, version } : null;
    }, 10000);
    check("a row opens the AMR's card (移動中, shadow version fetched), the list hidden", !!card, JSON.stringify(card));
    await pc.screenshot({ path: join(shots, "fleet-card-pc-1366x768.png") });
    await pc.locator("#detail-back").click();
    const back = await waitFor("back", async () => {
        const r = await pc.execute("return [document.getElementById('fleet').hidden, document.querySelector('[data-thing=\"" + target.name + "\"]').hidden, document.querySelectorAll('.fleet-row:not([hidden])').length]");
        return r[0] === false && r[1] === true && r[2] === 1 ? r : null;
    }, 5000);
    check("「一覧に戻る」: the list again, with the search kept", !!back);
    await pc.locator("#fleet-search").clear();
    await pc.execute("document.getElementById('fleet-search').dispatchEvent(new Event('input'))");

    // The phone: the same fleet at 390x844.
    const phone = await newPage("phone", { width: 390, height: 844, pixelRatio: 2, mobile: true, touch: true });
    await phone.goto(url);
    const phoneListed = await waitFor("phone", async () =>
        Number((await phone.locator('[data-count="all"] .count-number').textContent()) || 0) === N, 30000, 100);
    check("a second console at phone width lists the fleet", !!phoneListed);
    await sleep(1000);
    await phone.screenshot({ path: join(shots, "fleet-phone-390x844.png") });
    await phone.close();

    // Idle: nothing clicked, heartbeats arriving (N/10 per second). Main-thread busy time from
    // the DevTools' TaskDuration; heap after a forced GC, at the start and the end of the soak.
    await sleep(2000);
    const heap0 = await heapAfterGc(pc);
    const m0 = await metrics(pc);
    const t0 = Date.now();
    await sleep(10000);
    const m1 = await metrics(pc);
    const busy = (m1.TaskDuration - m0.TaskDuration) / ((Date.now() - t0) / 1000);
    console.log(`figure: main thread busy while idle: ${(busy * 100).toFixed(1)} % (${Math.round(busy * 1000)} ms per s; script ${Math.round(((m1.ScriptDuration - m0.ScriptDuration) / ((Date.now() - t0) / 1000)) * 1000)} ms per s) with ${Math.round((N - expected.offline - expected.bad) / 10)} heartbeats/s arriving (target: well under 10 %)`);
    const samples = [[0, heap0]];
    const soakEnd = t0 + SOAK_S * 1000;
    while (Date.now() < soakEnd) {
        await sleep(Math.min(60000, Math.max(0, soakEnd - Date.now())));
        samples.push([Math.round((Date.now() - t0) / 1000), await heapAfterGc(pc)]);
    }
    const heap1 = samples[samples.length - 1][1];
    const memory = await pc.execute("return performance.memory ? performance.memory.usedJSHeapSize : null");
    console.log(`figure: JS heap after GC: ${samples.map(([s, h]) => `${s} s ${mb(h)}`).join(", ")} (${SOAK_S} s soak; target: flat); performance.memory.usedJSHeapSize ${memory === null ? "n/a" : mb(memory)}`);
    console.log(`figure: heap change over the soak: ${((heap1 - heap0) / 1024).toFixed(0)} KiB (${(((heap1 - heap0) / heap0) * 100).toFixed(1)} %)`);

    await pc.collect();
    check("no console errors, CSP violations or failed requests", problems.length === 0, problems.join(" | "));
}

async function cleanup() {
    for (const c of cleanups.reverse()) {
        try {
            await c();
        } catch {
            /* already gone */
        }
    }
    await stopAll();
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
    process.once(sig, () => {
        console.log(`FAIL the fleet e2e test was stopped by ${sig}`);
        stopAll().finally(() => process.exit(1));
    });

const limitMs = (SOAK_S + 180) * 1000;
const hardLimit = setTimeout(() => {
    console.log(`FAIL the fleet e2e test did not finish within ${limitMs / 1000} s`);
    tally.failed++;
    cleanup().finally(() => process.exit(1));
}, limitMs);

try {
    await main();
} catch (e) {
    check("the fleet e2e run completes", false, e.stack || String(e));
}
clearTimeout(hardLimit);
await cleanup();
console.log(`e2e: ${tally.passed} passed, ${tally.failed} failed (screenshots in ${shots}, logs in ${work})`);
process.exit(tally.failed ? 1 : 0);
