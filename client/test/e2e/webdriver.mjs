// A minimal W3C WebDriver client for the e2e test: Debian's chromedriver (package chromium-driver)
// drives Debian's chromium; this file speaks the WebDriver HTTP protocol with node's built-in fetch.
//
// Why chromedriver and not playwright-core: Debian 12 ships Node.js 18 and playwright-core needs
// Node.js 20 since 1.62; the last release for Node.js 18 (1.61) speaks the DevTools protocol of
// Chromium 149, while Debian's security updates move chromium on (156 and counting), so a pinned
// old playwright-core drifts further from the browser with every update. chromedriver is built
// from the same source as chromium and Debian updates both together, so the driver always matches
// the browser, on Debian 12 and 13 alike, with no npm dependency and any Node.js >= 18.
//
// Two chromedriver extensions are used, both long-standing and what Selenium relies on:
// "goog:loggingPrefs" + POST /se/log for the browser's console log (console errors and warnings,
// uncaught exceptions, CSP violations, failed requests all land there), and POST /goog/cdp/execute
// for a full-page screenshot (W3C screenshots cover the viewport only) and the fleet test's
// performance figures (Performance.getMetrics, HeapProfiler.collectGarbage).

import { writeFileSync } from "node:fs";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf"; // the W3C web element identifier key
const REQUEST_TIMEOUT_MS = 60000; // a bound on every request (a new session starts chromium)
const CLOSE_TIMEOUT_MS = 10000; // ending a session: the caller kills what is left after this

export class WebDriverError extends Error {}

async function request(method, url, body, timeoutMs = REQUEST_TIMEOUT_MS) {
    const res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json; charset=utf-8" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json;
    try {
        json = JSON.parse(text);
    } catch {
        throw new WebDriverError(`${method} ${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    const value = json.value;
    if (!res.ok || (value && typeof value === "object" && typeof value.error === "string"))
        throw new WebDriverError(`${method} ${url}: ${value?.error}: ${value?.message}`);
    return value;
}

// Is chromedriver at driverUrl ready for a new session? (false while it starts or when it is gone)
export async function driverReady(driverUrl) {
    try {
        return (await request("GET", `${driverUrl}/status`, undefined, 2000)).ready === true;
    } catch {
        return false;
    }
}

// One browser (one chromium process tree) with one window.
export class Session {
    // chromeOptions: goog:chromeOptions (binary, args, mobileEmulation, ...).
    static async create(driverUrl, chromeOptions) {
        const value = await request("POST", `${driverUrl}/session`, {
            capabilities: {
                alwaysMatch: {
                    browserName: "chrome",
                    pageLoadStrategy: "normal", // navigation returns after the load event
                    timeouts: { implicit: 0, pageLoad: 15000, script: 10000 },
                    "goog:chromeOptions": chromeOptions,
                    "goog:loggingPrefs": { browser: "ALL" },
                },
            },
        });
        return new Session(`${driverUrl}/session/${value.sessionId}`);
    }

    constructor(base) {
        this.base = base;
        this.closed = false;
    }

    cmd(method, path, body) {
        return request(method, this.base + path, body);
    }

    goto(url) {
        return this.cmd("POST", "/url", { url });
    }

    // Runs `script` (a function body; `arguments` are args) in the page and returns its value.
    execute(script, args = []) {
        return this.cmd("POST", "/execute/sync", { script, args });
    }

    // A DevTools protocol command (chromedriver's goog/cdp/execute): Performance.getMetrics,
    // HeapProfiler.collectGarbage, ...
    cdp(cmd, params = {}) {
        return this.cmd("POST", "/goog/cdp/execute", { cmd, params });
    }

    // The page's size in CSS pixels: [innerWidth, innerHeight, devicePixelRatio].
    viewport() {
        return this.cmd("POST", "/execute/sync", { script: "return [innerWidth, innerHeight, devicePixelRatio]", args: [] });
    }

    // Like playwright's locator: the element is looked up again on every call, so a re-rendered
    // element is found afresh and a missing one reads as null/false instead of throwing.
    locator(css) {
        const find = async () => {
            try {
                return (await this.cmd("POST", "/element", { using: "css selector", value: css }))[ELEMENT];
            } catch (e) {
                if (/no such element/.test(e.message)) return null;
                throw e;
            }
        };
        const on = async (missing, fn) => {
            const id = await find();
            if (!id) {
                if (missing instanceof Error) throw missing;
                return missing;
            }
            return fn(`/element/${id}`);
        };
        return {
            textContent: () => on(null, (e) => this.cmd("GET", `${e}/property/textContent`)),
            getAttribute: (name) => on(null, (e) => this.cmd("GET", `${e}/attribute/${encodeURIComponent(name)}`)),
            isEnabled: () => on(false, (e) => this.cmd("GET", `${e}/enabled`)),
            click: () => on(new WebDriverError(`click: no element ${css}`), (e) => this.cmd("POST", `${e}/click`, {})),
            clear: () => on(new WebDriverError(`clear: no element ${css}`), (e) => this.cmd("POST", `${e}/clear`, {})),
            type: (text) => on(new WebDriverError(`type: no element ${css}`), (e) => this.cmd("POST", `${e}/value`, { text })),
        };
    }

    // Browser log entries ({level, source, message, timestamp}) since the last call.
    log() {
        return this.cmd("POST", "/se/log", { type: "browser" });
    }

    // A PNG of the page, written to path: with fullPage the whole page beyond the viewport (as
    // playwright's screenshot({fullPage: true})), else the viewport (the W3C screenshot).
    async screenshot({ path, fullPage = false }) {
        let base64;
        if (fullPage) {
            const cdp = (cmd, params = {}) => this.cmd("POST", "/goog/cdp/execute", { cmd, params });
            const { width, height } = (await cdp("Page.getLayoutMetrics")).cssContentSize;
            const clip = { x: 0, y: 0, width, height, scale: 1 };
            base64 = (await cdp("Page.captureScreenshot", { format: "png", captureBeyondViewport: true, clip })).data;
        } else {
            base64 = await this.cmd("GET", "/screenshot");
        }
        const png = Buffer.from(base64, "base64");
        writeFileSync(path, png);
        return png;
    }

    // Ends the session: chromedriver quits this chromium.
    async close() {
        if (this.closed) return;
        this.closed = true;
        await request("DELETE", this.base, undefined, CLOSE_TIMEOUT_MS);
    }
}
