// The SigV4 presigner (public/js/sigv4.js) against the AWS SigV4 test suite (query-string form), and
// the AWS IoT variant: service iotdevicegateway, path /mqtt, session token appended after signing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadScripts } from "./load_script.mjs";

const suiteDir =
    process.env.SIGV4_TEST_SUITE || new URL("../../../../shared/reference/sigv4-test-suite", import.meta.url).pathname;
const { sigv4 } = loadScripts(["js/sigv4.js"]).IotConsole;

// request.txt: "METHOD PATH?QUERY HTTP/1.1", headers (a line starting with a space continues the
// previous value), a blank line, the body.
function parseRequest(text) {
    const [head, ...rest] = text.split(/\r?\n\r?\n/);
    const body = rest.join("\n\n");
    const lines = head.split(/\r?\n/);
    const m = /^(\S+) (.*) HTTP\/1\.1$/.exec(lines[0]);
    assert.ok(m, "bad request line: " + lines[0]);
    const target = m[2];
    const q = target.indexOf("?");
    const path = q < 0 ? target : target.slice(0, q);
    const query =
        q < 0
            ? []
            : target
                  .slice(q + 1)
                  .split("&")
                  .filter((s) => s.length > 0)
                  .map((pair) => {
                      const eq = pair.indexOf("=");
                      const k = eq < 0 ? pair : pair.slice(0, eq);
                      const v = eq < 0 ? "" : pair.slice(eq + 1);
                      return [decodeURIComponent(k), decodeURIComponent(v)];
                  });
    const headers = [];
    for (const line of lines.slice(1)) {
        if (line === "") continue;
        if (/^\s/.test(line) && headers.length) headers[headers.length - 1][1] += " " + line.trim();
        else {
            const c = line.indexOf(":");
            headers.push([line.slice(0, c), line.slice(c + 1)]);
        }
    }
    return { method: m[1], path, query, headers, body };
}

function queryOfSignedRequest(text) {
    const line = text.split("\n")[0];
    const target = line.slice(line.indexOf(" ") + 1, line.lastIndexOf(" HTTP/1.1"));
    return new URLSearchParams(target.slice(target.indexOf("?") + 1));
}

const cases = existsSync(suiteDir)
    ? readdirSync(suiteDir).filter((d) => existsSync(join(suiteDir, d, "context.json")))
    : [];

test("the test suite is there", () => {
    assert.ok(cases.length >= 30, `expected the AWS SigV4 test suite in ${suiteDir}, found ${cases.length} cases`);
});

for (const name of cases) {
    test(`sigv4 test suite: ${name} (query form)`, async () => {
        const dir = join(suiteDir, name);
        const read = (f) => readFileSync(join(dir, f), "utf8");
        const ctx = JSON.parse(read("context.json"));
        const request = parseRequest(read("request.txt"));
        request.normalizePath = ctx.normalize;
        const out = await sigv4.presign(request, {
            region: ctx.region,
            service: ctx.service,
            credentials: {
                accessKeyId: ctx.credentials.access_key_id,
                secretAccessKey: ctx.credentials.secret_access_key,
                sessionToken: ctx.credentials.token,
            },
            date: new Date(ctx.timestamp),
            expiresSeconds: ctx.expiration_in_seconds,
            signSessionToken: !ctx.omit_session_token,
        });
        assert.equal(out.canonicalRequest, read("query-canonical-request.txt"));
        assert.equal(out.stringToSign, read("query-string-to-sign.txt"));
        assert.equal(out.signature, read("query-signature.txt").trim());
        // The signed request carries the same parameters (order aside), the token included.
        const expected = queryOfSignedRequest(read("query-signed-request.txt"));
        const got = new URLSearchParams(out.query.map(([k, v]) => [k, v]));
        assert.deepEqual([...got.entries()].sort(), [...expected.entries()].sort());
    });
}

// The IoT variant. Expected values computed independently of sigv4.js with node:crypto below, for
// fixed inputs; the token must be in the URL but not in the canonical query.
test("AWS IoT WebSocket URL: iotdevicegateway, /mqtt, token appended after signing", async () => {
    const { createHash, createHmac } = await import("node:crypto");
    const credentials = {
        accessKeyId: "ASIAEXAMPLEKEYID",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        sessionToken: "IQoJb3JpZ2luX2VjEPT//////////wEaDmFwLW5vcnRoZWFzdC0x+Token/with==",
    };
    const endpoint = "a1b2c3d4e5f6g7-ats.iot.ap-northeast-1.amazonaws.com";
    const url = await sigv4.presignIotUrl({
        endpoint,
        region: "ap-northeast-1",
        credentials,
        date: new Date("2026-11-01T09:30:15Z"),
        expiresSeconds: 300,
    });
    const parsed = new URL(url);
    assert.equal(parsed.protocol, "wss:");
    assert.equal(parsed.host, endpoint);
    assert.equal(parsed.pathname, "/mqtt");
    const p = parsed.searchParams;
    assert.equal(p.get("X-Amz-Security-Token"), credentials.sessionToken);
    assert.equal(p.get("X-Amz-Credential"), "ASIAEXAMPLEKEYID/20261101/ap-northeast-1/iotdevicegateway/aws4_request");
    assert.equal(p.get("X-Amz-Date"), "20261101T093015Z");
    assert.equal(p.get("X-Amz-SignedHeaders"), "host");
    // The token comes after the signature: it was not signed.
    const keys = [...p.keys()];
    assert.ok(keys.indexOf("X-Amz-Security-Token") > keys.indexOf("X-Amz-Signature"));

    const canonical = [
        "GET",
        "/mqtt",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLEKEYID%2F20261101%2Fap-northeast-1%2Fiotdevicegateway%2Faws4_request&X-Amz-Date=20261101T093015Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host",
        "host:" + endpoint + "\n",
        "host",
        createHash("sha256").update("").digest("hex"),
    ].join("\n");
    const sts = [
        "AWS4-HMAC-SHA256",
        "20261101T093015Z",
        "20261101/ap-northeast-1/iotdevicegateway/aws4_request",
        createHash("sha256").update(canonical).digest("hex"),
    ].join("\n");
    let key = createHmac("sha256", "AWS4" + credentials.secretAccessKey).update("20261101").digest();
    for (const part of ["ap-northeast-1", "iotdevicegateway", "aws4_request"])
        key = createHmac("sha256", key).update(part).digest();
    assert.equal(p.get("X-Amz-Signature"), createHmac("sha256", key).update(sts).digest("hex"));
    // '+', '/' and '=' of the token are percent-encoded in the URL, not left raw.
    assert.ok(url.includes("X-Amz-Security-Token=IQoJb3JpZ2luX2VjEPT%2F%2F%2F"), url);
    assert.ok(!url.includes("Token/with=="));
});

test("the suite's omit_session_token case matches the IoT rule (token outside the signature)", async () => {
    const dir = join(suiteDir, "post-sts-header-after");
    const ctx = JSON.parse(readFileSync(join(dir, "context.json"), "utf8"));
    assert.equal(ctx.omit_session_token, true);
    assert.ok(!readFileSync(join(dir, "query-canonical-request.txt"), "utf8").includes("X-Amz-Security-Token"));
});
