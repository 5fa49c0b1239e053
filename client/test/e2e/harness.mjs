// What the end-to-end tests share: checks and their tally, bounded waits, free ports, child
// processes that are always ended (whole process groups for chromedriver, whose chromium
// processes outlive it otherwise), and the chromium command line that trusts localcore's server
// key without touching the system trust store.
import { spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { openSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMEDRIVER = process.env.CHROMEDRIVER || "/usr/bin/chromedriver";

export const tally = { passed: 0, failed: 0 };

export function check(name, ok, detail = "") {
    if (ok) tally.passed++;
    else tally.failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? " — " + detail : ""}`);
    return ok;
}

export function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(what, fn, limitMs, stepMs = 100) {
    const end = Date.now() + limitMs;
    let last;
    while (Date.now() < end) {
        last = await fn();
        if (last) return last;
        await sleep(stepMs);
    }
    return null;
}

export function freePort() {
    return new Promise((res, rej) => {
        const s = createServer();
        s.once("error", rej);
        s.listen(0, "127.0.0.1", () => {
            const { port } = s.address();
            s.close(() => res(port));
        });
    });
}

export function portOpen(port) {
    return new Promise((res) => {
        const s = connect(port, "127.0.0.1");
        s.once("connect", () => {
            s.destroy();
            res(true);
        });
        s.once("error", () => res(false));
    });
}

export const children = [];

// Starts a child with its output in WORK/<name>.log. opts.group: the child leads a process group
// of its own, and stop() signals the whole group (chromedriver: the chromium processes it starts
// stay in its group and outlive it otherwise).
export function start(work, name, cmd, args, opts = {}) {
    const log = openSync(join(work, name + ".log"), "a");
    const child = spawn(cmd, args, { stdio: ["ignore", opts.pipeStdout ? "pipe" : log, log], detached: !!opts.group });
    child.logName = name;
    child.group = !!opts.group;
    children.push(child);
    return child;
}

function groupAlive(pgid) {
    try {
        process.kill(-pgid, 0);
        return true;
    } catch {
        return false;
    }
}

function signal(child, sig) {
    try {
        if (child.group) process.kill(-child.pid, sig);
        else child.kill(sig);
    } catch {
        /* already gone */
    }
}

export async function stop(child, sig = "SIGTERM") {
    if (!child) return;
    const exited = child.exitCode !== null || child.signalCode !== null;
    if (exited && !(child.group && groupAlive(child.pid))) return;
    if (!exited) {
        await new Promise((res) => {
            const t = setTimeout(() => signal(child, "SIGKILL"), 5000);
            child.once("exit", () => {
                clearTimeout(t);
                res();
            });
            signal(child, sig);
        });
    } else signal(child, sig);
    // The group's other members (chromium) may outlive the leader by a moment; bounded as above.
    if (child.group && !(await waitFor("group gone", () => !groupAlive(child.pid), 5000))) {
        signal(child, "SIGKILL");
        await waitFor("group killed", () => !groupAlive(child.pid), 2000);
    }
}

export function stopAll() {
    return Promise.all(children.map((c) => stop(c)));
}

// Waits for `child` to print "console: <url>" (client/scripts/serve.py) and returns the URL.
export function serverUrl(child, limitMs = 10000) {
    return new Promise((res, rej) => {
        let out = "";
        const t = setTimeout(() => rej(new Error(`the console server printed no URL in ${limitMs / 1000} s`)), limitMs);
        child.stdout.on("data", (d) => {
            out += d;
            const m = /console: (http:\/\/\S+)/.exec(out);
            if (m) {
                clearTimeout(t);
                res(m[1]);
            }
        });
    });
}

// Headless chromium's arguments. It trusts the broker's certificate through its key's SPKI hash.
export function chromiumArgs(serverPem) {
    const spki = new X509Certificate(readFileSync(serverPem)).publicKey.export({ type: "spki", format: "der" });
    const spkiHash = createHash("sha256").update(spki).digest("base64");
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
        `--ignore-certificate-errors-spki-list=${spkiHash}`,
    ];
}
