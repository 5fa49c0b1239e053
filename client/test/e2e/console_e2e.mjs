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
    writeFileSync(join(work, "gateway.toml"), toml);
    const startGateway = () => start("iotgw", bin("iotgw"), ["run", "--config", join(work, "gateway.toml")]);
    let gateway = startGateway();

    // The observer: an independent console-token client.
    const observed = { beats: [], statuses: [], presence: [] };
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
        if (topic.endsWith("/heartbeat") && !packet.retain) observed.beats.push({ at, text });
        if (topic.endsWith("/status")) observed.statuses.push({ at, text });
        if (topic.endsWith("/get/accepted")) observed.lastGet = JSON.parse(text);
        if (topic.startsWith("$aws/events/presence/")) observed.presence.push(JSON.parse(text));
    });
    await new Promise((res, rej) => {
        observer.once("connect", res);
        observer.once("error", rej);
    });
    await observer.subscribeAsync(
        [`amr/${THING}/heartbeat`, `amr/${THING}/status`, `$aws/things/${THING}/shadow/name/robot/get/accepted`,
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
    const pc = await newPage("pc", { width: 1366, height: 900, pixelRatio: 1, mobile: false, touch: false });
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
    await stop(gateway);
    await stop(broker);
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
