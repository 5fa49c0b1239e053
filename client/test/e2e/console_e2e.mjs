#!/usr/bin/env node
// End to end: the console page in headless Chromium (Debian's /usr/bin/chromium, driven by
// Debian's chromedriver over WebDriver; ./webdriver.mjs says why not playwright-core) against
// localcore (mosquitto + plugin, TLS websocket listener, console tokens) and the real gateway (bin/iotgw with configs/local.toml's pipelines), served by
// client/scripts/serve.py with the CSP. An independent observer (mqtt.js in node, with its own
// console token) watches the broker so the page's claims are checked against what really happened.
//
// Usage: node test/e2e/console_e2e.mjs BUILD_DIR      (Node.js >= 18)
// Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian: chromium chromium-driver, the same
// release); CHROMEDRIVER=/path overrides the driver.
// Writes screenshots (390x844 phone, 1366x900 PC) to BUILD_DIR/client-screenshots/ and prints
// "e2e: N passed, N failed". Every child is killed at the end, whatever happens; every wait is bounded.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { Session, driverReady } from "./webdriver.mjs";
import {
    CHROMEDRIVER, CHROMIUM, check, chromiumArgs, freePort, portOpen, serverUrl, sleep, start as startIn, stop, stopAll, tally, waitFor,
} from "./harness.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const build = resolve(process.argv[2] || join(repo, "build/release"));
const bin = (name) => join(build, "bin", name);
const work = join(build, "client-e2e");
const shots = join(build, "client-screenshots");
const THING = "AMR-001";
const HEARTBEAT_TIMEOUT_MS = 25000; // the seed's bound; the page's default
// The watched heartbeat (docs/watched-heartbeat.md), shortened so the fall back fits in the run:
// the page's lease (config.js watchLeaseS, refreshed every third of it) and the gateway's slow
// period (configs/local.toml's 5 min, rewritten below). The fast period stays the real 10 s.
const WATCH_LEASE_S = 15;
const FAST_PERIOD_MS = 10000;
// 30 s: longer than the 25 s a console allows after a fast heartbeat, so a fall back that waits
// one slow period after the last fast heartbeat shows up as a gap (checked below).
const SLOW_PERIOD_MS = 30000;

const start = (...args) => startIn(work, ...args);
const cleanups = [];

function localcore(...args) {
    return execFileSync(bin("localcore"), ["--data", join(work, "data"), ...args], { encoding: "utf8" });
}

async function main() {
    for (const b of ["localcore", "iotgw"])
        if (!existsSync(bin(b))) throw new Error(`${bin(b)} is missing; build the targets iotgw iotgw_plugins localcore localcore_mosquitto`);
    for (const b of [CHROMIUM, CHROMEDRIVER])
        if (!existsSync(b)) throw new Error(`${b} is missing (Debian: apt-get install chromium chromium-driver)`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    mkdirSync(shots, { recursive: true });

    // localcore: CA, policies (cloud/policies, console.json included), the thing and its certificate.
    localcore("init");
    localcore("create-thing", THING);
    localcore("issue-cert", "--thing", THING, "--policy", "device", "--out", join(work, THING));
    const mqttPort = await freePort();
    const wsPort = await freePort();
    const conf = localcore("mosquitto-conf", "--port", String(mqttPort), "--websockets", String(wsPort));
    writeFileSync(join(work, "mosquitto.conf"), conf + "log_dest stderr\n");
    const broker = start("mosquitto", "/usr/sbin/mosquitto", ["-c", join(work, "mosquitto.conf")]);
    if (!(await waitFor("broker", () => portOpen(wsPort), 10000)))
        throw new Error("mosquitto did not open its websocket port; see " + join(work, "mosquitto.log"));

    // The gateway: configs/local.toml with this run's certificate paths and port.
    const ca = join(work, "data/ca/ca.pem");
    let toml = readFileSync(join(repo, "configs/local.toml"), "utf8");
    toml = toml
        .replace(/"\.\.\/build\/demo\/pki\/AMR-001\.pem"/, JSON.stringify(join(work, THING + ".pem")))
        .replace(/"\.\.\/build\/demo\/pki\/AMR-001\.key"/, JSON.stringify(join(work, THING + ".key")))
        .replace(/"\.\.\/build\/demo\/pki\/ca\.pem"/, JSON.stringify(ca))
        .replace(/^port = 18883$/m, "port = " + mqttPort);
    if (!toml.includes("port = " + mqttPort) || toml.includes("\"../build/demo"))
        throw new Error("configs/local.toml changed shape: cannot derive the test's gateway config");
    // The watch processor's slow period and the heartbeat's starting period: 20 s instead of 5 min.
    const watchSection = /(\[processors\.watch\][^[]*?slow_period = )"[^"]*"/;
    const hasWatch = /^type = "watch"$/m.test(toml) && watchSection.test(toml) && /from = "cloud:amr\/\$\{thing\}\/watch"/.test(toml);
    check("configs/local.toml runs the watch processor on amr/${thing}/watch (docs/watched-heartbeat.md)", hasWatch);
    toml = toml
        .replace(watchSection, `$1"${SLOW_PERIOD_MS / 1000}s"`)
        .replace(/(\[sources\.heartbeat\][^[]*?period = )"[^"]*"/, `$1"${SLOW_PERIOD_MS / 1000}s"`);
    writeFileSync(join(work, "gateway.toml"), toml);
    const startGateway = () => start("iotgw", bin("iotgw"), ["run", "--config", join(work, "gateway.toml")]);
    let gateway = startGateway();

    // The observer: an independent console-token client.
    const observed = { beats: [], statuses: [], presence: [], watches: [] };
    const token = JSON.parse(localcore("issue-console-token", "--json", "yes"));
    const observer = mqtt.connect(`wss://localhost:${wsPort}/mqtt`, {
        ca: readFileSync(ca),
        clientId: "console-e2e-observer",
        username: token.username,
        password: token.token,
        protocolVersion: 5,
        reconnectPeriod: 1000,
    });
    cleanups.push(() => observer.end(true));
    observer.on("message", (topic, payload, packet) => {
        const at = Date.now();
        const text = payload.toString();
        if (topic.endsWith("/heartbeat") && !packet.retain) {
            let period = null;
            try {
                period = JSON.parse(text).period_ms;
            } catch {
                /* counted as a beat all the same */
            }
            observed.beats.push({ at, text, period });
        }
        if (topic.endsWith("/watch") && payload.length)
            observed.watches.push({ at, body: JSON.parse(text), expiry: packet.properties ? packet.properties.messageExpiryInterval : undefined });
        if (topic.endsWith("/status")) observed.statuses.push({ at, text });
        if (topic.endsWith("/get/accepted")) observed.lastGet = JSON.parse(text);
        if (topic.startsWith("$aws/events/presence/")) observed.presence.push(JSON.parse(text));
    });
    await new Promise((res, rej) => {
        observer.once("connect", res);
        observer.once("error", rej);
    });
    await observer.subscribeAsync(
        [`amr/${THING}/heartbeat`, `amr/${THING}/status`, `amr/${THING}/watch`, `$aws/things/${THING}/shadow/name/robot/get/accepted`,
         "$aws/events/presence/connected/+", "$aws/events/presence/disconnected/+"],
        { qos: 1 }
    );
    const shadowVersion = async () => {
        observed.lastGet = null;
        await observer.publishAsync(`$aws/things/${THING}/shadow/name/robot/get`, JSON.stringify({ clientToken: "e2e" }), { qos: 1 });
        const doc = await waitFor("get", () => observed.lastGet, 5000);
        return doc ? doc.version : null;
    };

    // The console's web server.
    const server = start("console-server", "/usr/bin/python3", [
        join(repo, "client/scripts/serve.py"),
        "--port", "0",
        "--localcore", bin("localcore"),
        "--data", join(work, "data"),
        "--broker-url", `wss://localhost:${wsPort}/mqtt`,
        "--things", THING,
        "--watch-lease-s", String(WATCH_LEASE_S),
    ], { pipeStdout: true });
    const url = await serverUrl(server);

    const driverPort = await freePort();
    const driverUrl = `http://127.0.0.1:${driverPort}`;
    start("chromedriver", CHROMEDRIVER, [`--port=${driverPort}`], { group: true });
    if (!(await waitFor("chromedriver", () => driverReady(driverUrl), 10000)))
        throw new Error("chromedriver did not get ready in 10 s; see " + join(work, "chromedriver.log"));
    // One browser per page, each with its own profile (the SPKI list needs one) and its viewport
    // set by device-metrics emulation (a window size would include the browser's frame).
    const pages = [];
    const newPage = async (name, deviceMetrics) => {
        const page = await Session.create(driverUrl, {
            binary: CHROMIUM,
            args: [...chromiumArgs(join(work, "data/ca/server.pem")), `--user-data-dir=${join(work, "chromium-" + name)}`],
            mobileEmulation: { deviceMetrics },
        });
        cleanups.push(() => page.close());
        pages.push({ name, page });
        return page;
    };

    // Console errors and warnings, uncaught exceptions, CSP violations and failed requests all
    // reach the browser log (WARNING or SEVERE); drained after every step that may cause some.
    const problems = [];
    const collectProblems = async () => {
        for (const { name, page } of pages)
            for (const e of await page.log())
                if (e.level === "WARNING" || e.level === "SEVERE") problems.push(`${name} ${e.source} ${e.level}: ${e.message}`);
    };
    // The gateway is up (its retained status) and has had time for its first, slow heartbeat, so
    // a heartbeat right after the page opens is the answer to the page's watch message.
    await waitFor("gateway up", () => observed.statuses.some((m) => /"idle"/.test(m.text)), 15000);
    await sleep(2500);
    const pc = await newPage("pc", { width: 1366, height: 900, pixelRatio: 1, mobile: false, touch: false });
    const openedAt = Date.now();
    await pc.goto(url);
    const csp = (await fetch(url, { signal: AbortSignal.timeout(10000) })).headers.get("content-security-policy") || "";
    check("the page is served with the CSP", /script-src 'self';/.test(csp) && /object-src 'none'/.test(csp) && /frame-ancestors 'none'/.test(csp) && csp.includes(`wss://localhost:${wsPort}`), csp);
    const pcViewport = await pc.viewport();
    check("the PC page is 1366x900", JSON.stringify(pcViewport) === "[1366,900,1]", JSON.stringify(pcViewport));
    const card = pc.locator(`[data-thing="${THING}"]`);
    const field = (page, f) => page.locator(`[data-thing="${THING}"] [data-field="${f}"]`);
    const text = async (page, f) => ((await field(page, f).textContent()) || "").trim();

    const ready = await waitFor("idle", async () => (await text(pc, "state")) === "待機中" && (await text(pc, "link")) === "正常" && (await field(pc, "call").isEnabled()), 20000);
    check("connects, shows 待機中 with a good link, 呼出し enabled", !!ready, `state=${await text(pc, "state")} link=${await text(pc, "link")}`);
    // The open card watches its AMR: a retained watch with a lease, then a heartbeat at once.
    const watch = await waitFor("watch", () => observed.watches.find((w) => w.at >= openedAt), 10000);
    check("the open card publishes the watch message (thing, a random console id, lease_s, expiry = lease)",
        !!watch && watch.body.thing === THING && /^[0-9a-f-]{36}$/.test(watch.body.console) && watch.body.lease_s === WATCH_LEASE_S &&
        watch.expiry > 0 && watch.expiry <= WATCH_LEASE_S, JSON.stringify(watch));
    const fresh = watch && (await waitFor("fresh beat", () => observed.beats.find((b) => b.at >= watch.at), 5000, 50));
    check("the gateway answers the watch with a heartbeat within 2 s, announcing the fast period",
        !!fresh && fresh.at - watch.at <= 2000 && fresh.period === FAST_PERIOD_MS,
        fresh ? `${fresh.at - watch.at} ms after the watch, period_ms ${fresh.period}` : "no heartbeat");
    const hbAge = await text(pc, "hb-age");
    check("the card shows that heartbeat (正常, a few seconds old)", (await text(pc, "link")) === "正常" && /^[0-4] 秒前$/.test(hbAge), hbAge);
    // Retained with an expiry: a console subscribing now finds the watch, with what is left of its lease.
    const late = await lateSubscriber(wsPort, ca, "console-e2e-late-1", `amr/${THING}/watch`);
    check("the watch is retained on the broker with its expiry", !!late && late.retain && late.expiry > 0 && late.expiry <= WATCH_LEASE_S, JSON.stringify(late));
    const v0 = Number(await field(pc, "version").getAttribute("data-version"));
    check("shows the shadow version it got from the service", v0 > 0 && v0 === (await shadowVersion()), `page v${v0}`);
    await pc.screenshot({ path: join(shots, "pc-1366x900-idle.png"), fullPage: true });

    // A second console at phone width, watching the same AMR.
    const phone = await newPage("phone", { width: 390, height: 844, pixelRatio: 2, mobile: true, touch: true });
    await phone.goto(url);
    const phoneViewport = await phone.viewport();
    check("the phone page is 390x844 at 2 device pixels per CSS pixel", JSON.stringify(phoneViewport) === "[390,844,2]", JSON.stringify(phoneViewport));
    check("a second console (phone width) shows 待機中", !!(await waitFor("phone idle", async () => (await text(phone, "state")) === "待機中" && (await text(phone, "link")) === "正常", 20000)));
    await phone.screenshot({ path: join(shots, "phone-390x844-idle.png"), fullPage: true });
    await collectProblems();

    // A call: 移動中, then 待機中 again after move_time (5 s).
    const t0 = Date.now();
    await field(pc, "call").click();
    const moving = await waitFor("moving", async () => (await text(pc, "state")) === "移動中", 5000, 50);
    check("呼出し → 移動中", !!moving, `after ${Date.now() - t0} ms`);
    check("the button is disabled while moving", !(await field(pc, "call").isEnabled()));
    const fb = await waitFor("feedback", async () => /受付/.test(await text(pc, "feedback")) && /受付/.test(await text(pc, "result")), 5000);
    check("visible feedback and the command result (受付)", !!fb, `${await text(pc, "feedback")} / ${await text(pc, "result")}`);
    const phoneMoving = await waitFor("phone moving", async () => (await text(phone, "state")) === "移動中", 5000);
    check("a second console (phone width) sees 移動中 too", !!phoneMoving);
    await phone.screenshot({ path: join(shots, "phone-390x844-moving.png"), fullPage: true });
    await collectProblems();
    const back = await waitFor("idle again", async () => (await text(pc, "state")) === "待機中", 10000, 50);
    check("→ 待機中 after the move", !!back, `after ${Date.now() - t0} ms`);
    const v1 = Number(await field(pc, "version").getAttribute("data-version"));
    check("the shadow version advanced with the move", v1 >= v0 + 2, `v${v0} → v${v1}`);

    // The gateway killed: its Will says offline at once; 通信不良 when no heartbeat for 25 s.
    await waitFor("a live heartbeat", () => observed.beats.length > 0, 12000);
    const killedAt = Date.now();
    await stop(gateway, "SIGKILL");
    const lastBeat = observed.beats.length ? observed.beats[observed.beats.length - 1].at : killedAt;
    const lastPeriod = observed.beats.length ? observed.beats[observed.beats.length - 1].period : null;
    check("while the card is open the heartbeat is the fast one", lastPeriod === FAST_PERIOD_MS, `period_ms ${lastPeriod}`);

    const offline = await waitFor("offline", async () => (await text(pc, "state")) === "オフライン", 5000, 50);
    check("gateway killed → オフライン (Will)", !!offline, `after ${Date.now() - killedAt} ms`);
    check("呼出し is disabled while offline, with the reason shown", !(await field(pc, "call").isEnabled()) && (await text(pc, "feedback")) === "AMR がオフラインです", await text(pc, "feedback"));
    const bad = await waitFor("link bad", async () => (await text(pc, "link")) === "通信不良", HEARTBEAT_TIMEOUT_MS + 5000, 100);
    const badAfter = Date.now() - lastBeat;
    check("通信不良 25 s after the last heartbeat (bounds 24–27 s)", !!bad && badAfter >= HEARTBEAT_TIMEOUT_MS - 1000 && badAfter <= HEARTBEAT_TIMEOUT_MS + 2000, `${badAfter} ms after the last heartbeat`);
    await pc.screenshot({ path: join(shots, "pc-1366x900-offline.png"), fullPage: true });
    await phone.screenshot({ path: join(shots, "phone-390x844-offline.png"), fullPage: true });
    await collectProblems();
    const getsBefore = Number(await field(pc, "synced").getAttribute("data-gets"));

    // Restarted: back online, heartbeats again, resynced by a Shadow GET to the service's version.
    const restartAt = Date.now();
    gateway = startGateway();
    const online = await waitFor("online", async () => (await text(pc, "state")) === "待機中" && (await text(pc, "link")) === "正常", 15000);
    check("gateway restarted → 待機中, link 正常", !!online, `after ${Date.now() - restartAt} ms`);
    const resynced = await waitFor("resync", async () => {
        const gets = Number(await field(pc, "synced").getAttribute("data-gets"));
        const v = Number(await field(pc, "version").getAttribute("data-version"));
        return gets > getsBefore && v === (await shadowVersion()) ? { gets, v } : null;
    }, 10000, 500);
    check("resync after the restart: a Shadow GET, the page at the service's version", !!resynced, JSON.stringify(resynced));
    check("呼出し enabled again", await field(pc, "call").isEnabled());

    // A stale shadow version: the service answers a GET with an older document (an old copy put
    // back on disk; localcore reads the file on every request). The page must keep what it has.
    const held = Number(await field(pc, "version").getAttribute("data-version"));
    const file = join(work, "data/shadows", THING, "robot.json");
    const original = readFileSync(file, "utf8");
    const old = JSON.parse(original);
    old.version = held - 2;
    old.state.reported.state = "moving";
    writeFileSync(file + ".tmp", JSON.stringify(old));
    renameSync(file + ".tmp", file);
    const staleBefore = Number(await field(pc, "synced").getAttribute("data-stale"));
    await sleep(5100); // the page sends at most one GET per 5 s per AMR
    await field(pc, "resync").click();
    const ignored = await waitFor("stale ignored", async () => Number(await field(pc, "synced").getAttribute("data-stale")) > staleBefore, 5000);
    check("a stale shadow version (GET reply) is ignored", !!ignored && (await text(pc, "state")) === "待機中" && Number(await field(pc, "version").getAttribute("data-version")) === held, `${await text(pc, "state")} v${await field(pc, "version").getAttribute("data-version")}; log: ${(await text(pc, "log")).slice(0, 120)}`);
    writeFileSync(file + ".tmp", original);
    renameSync(file + ".tmp", file);
    await pc.screenshot({ path: join(shots, "pc-1366x900-idle-after-resync.png"), fullPage: true });
    await phone.screenshot({ path: join(shots, "phone-390x844-idle-after-resync.png"), fullPage: true });
    await collectProblems();

    // Revocation (issue 16, finding 4): the operator revokes the PC page's console token by the id
    // its lifecycle events carry; localcore ends the live connection (AUTH_ERROR), and the page
    // fetches a fresh token and reconnects with the same client id, its card state intact.
    const conn = pc.locator("#connection");
    const pcClient = await conn.getAttribute("title");
    const connectedEvent = [...observed.presence].reverse().find((e) => e.eventType === "connected" && e.clientId === pcClient);
    const principal = connectedEvent ? connectedEvent.principalIdentifier : "";
    const cardBefore = { state: await text(pc, "state"), version: await field(pc, "version").getAttribute("data-version"), result: await text(pc, "result") };
    const seen = observed.presence.length;
    const later = (type) => observed.presence.slice(seen).find((e) => e.eventType === type && e.clientId === pcClient);
    check("the page's connection names its token (principalIdentifier console-token/<id>)", /^console-token\/[0-9a-f]{32}$/.test(principal), `${pcClient}: ${principal}`);
    localcore("revoke-console-token", "--id", principal);
    const ended = await waitFor("disconnected", () => later("disconnected"), 10000);
    check("revoke-console-token ends the page's live connection (AUTH_ERROR)", !!ended && ended.disconnectReason === "AUTH_ERROR", JSON.stringify(ended));
    const again = await waitFor("reconnected", () => later("connected"), 15000);
    check("the page reconnects with a fresh token and the same client id", !!again && again.principalIdentifier !== principal && again.principalIdentifier.startsWith("console-token/"), JSON.stringify(again));
    const intact = await waitFor("state kept", async () => {
        const card = { state: await text(pc, "state"), version: await field(pc, "version").getAttribute("data-version"), result: await text(pc, "result") };
        return (await conn.getAttribute("data-state")) === "connected" && (await field(pc, "call").isEnabled()) && JSON.stringify(card) === JSON.stringify(cardBefore) ? card : null;
    }, 10000);
    check("after the reconnect the card keeps its state (待機中, shadow version, last command)", !!intact, `${JSON.stringify(cardBefore)} → ${await text(pc, "state")} v${await field(pc, "version").getAttribute("data-version")} ${await text(pc, "result")}`);
    await pc.screenshot({ path: join(shots, "pc-1366x900-after-token-revocation.png"), fullPage: true });
    await collectProblems();

    check("no console errors, CSP violations or failed requests", problems.length === 0, problems.join(" | "));

    // Both pages closed: no release message; the leases run out and the gateway falls back to its
    // slow heartbeat; the retained watch expires from the broker.
    for (const { page } of pages) await page.close();
    const closedAt = Date.now();
    const slow = await waitFor("slow beat", () => observed.beats.find((b) => b.at > closedAt && b.period === SLOW_PERIOD_MS),
        (WATCH_LEASE_S * 1000 + SLOW_PERIOD_MS) + 10000, 200);
    check(`pages closed → the heartbeat falls back to the slow period within the lease + one slow period`, !!slow,
        slow ? `${slow.at - closedAt} ms after closing` : `beats since: ${JSON.stringify(observed.beats.filter((b) => b.at > closedAt).map((b) => b.period))}`);
    // What every console judges by: until the first slow heartbeat arrives, the last one announces
    // 10 s, so a gap over 25 s is a false 通信不良 in every fleet view; and the retained heartbeat
    // is what a console loading later judges by first.
    if (slow) {
        const i = observed.beats.indexOf(slow);
        const gap = i > 0 ? slow.at - observed.beats[i - 1].at : null;
        check("the fall back leaves no gap a console would call 通信不良 (≤ 25 s from the last fast heartbeat to the first slow one)",
            gap !== null && gap <= HEARTBEAT_TIMEOUT_MS, `${gap} ms`);
        const retained = await lateSubscriber(wsPort, ca, "console-e2e-late-3", `amr/${THING}/heartbeat`);
        check("after the fall back the retained heartbeat announces the slow period (what a console loading now judges by)",
            !!retained && retained.body.period_ms === SLOW_PERIOD_MS, JSON.stringify(retained));
    }
    // The PC page's refreshes (lease_s / 3 apart, at once after its reconnect): its lease never ran
    // out while it was open, the token revocation's reconnect included.
    const own = observed.watches.filter((w) => watch && w.body.console === watch.body.console && w.at <= closedAt).map((w) => w.at);
    const gaps = own.slice(1).map((at, i) => at - own[i]);
    check(`the open page refreshed its watch every lease_s / 3 (${WATCH_LEASE_S / 3} s), never letting the lease run out`,
        own.length >= Math.floor((closedAt - openedAt) / (WATCH_LEASE_S * 1000)) * 3 - 3 && Math.max(...gaps) < WATCH_LEASE_S * 1000,
        `${own.length} watch messages in ${Math.round((closedAt - openedAt) / 1000)} s, longest gap ${Math.max(...gaps)} ms`);
    const after = observed.watches.filter((w) => w.at > closedAt + 1000);
    check("closing sends no watch (no release message)", after.length === 0, JSON.stringify(after));
    const lastWatch = observed.watches.length ? observed.watches[observed.watches.length - 1].at : closedAt;
    await sleep(Math.max(0, lastWatch + WATCH_LEASE_S * 1000 + 1000 - Date.now()));
    const gone = await lateSubscriber(wsPort, ca, "console-e2e-late-2", `amr/${THING}/watch`);
    check("the retained watch has expired from the broker one lease after the last refresh", gone === null, JSON.stringify(gone));
    await stop(gateway);
    await stop(broker);
}

// A fresh console-token client that subscribes to `topic` and returns the retained message it
// gets ({retain, expiry, body}), or null when none came within 2 s.
async function lateSubscriber(wsPort, ca, clientId, topic) {
    const token = JSON.parse(localcore("issue-console-token", "--json", "yes"));
    const c = mqtt.connect(`wss://localhost:${wsPort}/mqtt`, {
        ca: readFileSync(ca), clientId, username: token.username, password: token.token, protocolVersion: 5, reconnectPeriod: 0,
    });
    try {
        await new Promise((res, rej) => {
            c.once("connect", res);
            c.once("error", rej);
        });
        let got = null;
        c.on("message", (topic, payload, packet) => {
            if (payload.length) got = { retain: packet.retain, expiry: packet.properties ? packet.properties.messageExpiryInterval : undefined, body: JSON.parse(payload.toString()) };
        });
        await c.subscribeAsync(topic, { qos: 1 });
        return await waitFor("retained " + topic, () => got, 2000);
    } finally {
        c.end(true);
    }
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

// Ctrl-C or the caller's timeout signals our process group, which chromedriver's is not: end
// every child here (chromium quits on SIGTERM; no graceful session ends, they could hang).
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
    process.once(sig, () => {
        console.log(`FAIL the e2e test was stopped by ${sig}`);
        stopAll().finally(() => process.exit(1));
    });

const hardLimit = setTimeout(() => {
    console.log("FAIL the e2e test did not finish within 4 minutes");
    tally.failed++;
    cleanup().finally(() => process.exit(1));
}, 240000);

try {
    await main();
} catch (e) {
    check("the e2e run completes", false, e.stack || String(e));
}
clearTimeout(hardLimit);
await cleanup();
console.log(`e2e: ${tally.passed} passed, ${tally.failed} failed (screenshots in ${shots}, logs in ${work})`);
process.exit(tally.failed ? 1 : 0);
