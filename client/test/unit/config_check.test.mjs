// config.js validation (public/js/config_check.js): the schema in client/README.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadScripts } from "./load_script.mjs";

const { checkConfig } = loadScripts(["js/config_check.js"]).IotConsole;
const aws = {
    mode: "aws",
    things: ["AMR-001"],
    region: "ap-northeast-1",
    userPoolId: "ap-northeast-1_AbCdEf123",
    clientId: "1h2j3k4l5m6n7o8p9q0r1s2t3u",
    identityPoolId: "ap-northeast-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    iotEndpoint: "a1b2c3d4e5f6g7-ats.iot.ap-northeast-1.amazonaws.com",
    cognitoDomain: "https://console.auth.ap-northeast-1.amazoncognito.com",
    redirectUri: "https://d111111abcdef8.cloudfront.net/",
};

test("valid aws and local configs pass", () => {
    assert.deepEqual([...checkConfig(aws)], []);
    assert.deepEqual(
        [...checkConfig({ mode: "local", things: ["AMR-001"], local: { brokerUrl: "wss://localhost:18884/mqtt", credentialsUrl: "/local-credentials" } })],
        []
    );
});

test("each bad field is named", () => {
    assert.match(checkConfig(undefined)[0], /window.IOT_CONSOLE_CONFIG/);
    assert.match(checkConfig({ ...aws, mode: "x" }).join(), /mode/);
    assert.match(checkConfig({ ...aws, things: [] }).join(), /things/);
    assert.match(checkConfig({ ...aws, things: ["a/b"] }).join(), /things/);
    assert.match(checkConfig({ ...aws, userPoolId: "nope" }).join(), /userPoolId/);
    assert.match(checkConfig({ ...aws, cognitoDomain: "https://x/" }).join(), /cognitoDomain/);
    assert.match(checkConfig({ ...aws, iotEndpoint: "wss://x" }).join(), /iotEndpoint/);
    assert.match(checkConfig({ mode: "local", things: ["A"] }).join(), /local.brokerUrl/);
});

test("shadowGetsPerSecond: optional, above 0 and at most 20 (AWS's per-thing shadow rate bounds a sane console rate)", () => {
    assert.deepEqual([...checkConfig({ ...aws, shadowGetsPerSecond: 10 })], []);
    assert.deepEqual([...checkConfig({ ...aws, shadowGetsPerSecond: 0.5 })], []);
    for (const bad of [0, 21, "10", -1])
        assert.match(checkConfig({ ...aws, shadowGetsPerSecond: bad }).join(), /shadowGetsPerSecond/, String(bad));
});

test("watchLeaseS: optional, whole seconds from 15 to 300 (the watch message's lease, docs/watched-heartbeat.md)", () => {
    assert.deepEqual([...checkConfig({ ...aws, watchLeaseS: 90 })], []);
    assert.deepEqual([...checkConfig({ ...aws, watchLeaseS: 15 })], []);
    assert.deepEqual([...checkConfig({ ...aws, watchLeaseS: 300 })], []);
    // Below 15 s the refreshes (every third of the lease) would cost more than the heartbeat.
    for (const bad of [0, 2, 3, 14, 301, 3600, 1.5, "90", -90])
        assert.match(checkConfig({ ...aws, watchLeaseS: bad }).join(), /watchLeaseS/, String(bad));
    // Above the gateways' max_lease (5 min) the lease would be cut to 5 min but refreshed only
    // every third of the longer one: the AMR would fall back to slow while its card is open.
    assert.match(checkConfig({ ...aws, watchLeaseS: 301 }).join(), /max_lease/);
});
