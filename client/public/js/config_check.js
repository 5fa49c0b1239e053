// Checks window.IOT_CONSOLE_CONFIG (config.js, public identifiers only; schema in client/README.md)
// and says, in Japanese for the operator and with the key name for the administrator, what is wrong.
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});
    var THING = /^[a-zA-Z0-9:_-]{1,128}$/;

    function checkConfig(c) {
        var errors = [];
        function need(key, pattern, what) {
            var v = key.split(".").reduce(function (o, k) {
                return o && typeof o === "object" ? o[k] : undefined;
            }, c);
            if (typeof v !== "string" || !pattern.test(v))
                errors.push("config.js の " + key + " が正しくありません（" + what + "）");
        }
        if (!c || typeof c !== "object")
            return ["config.js が読み込めません（window.IOT_CONSOLE_CONFIG がありません）"];
        if (c.mode !== "aws" && c.mode !== "local") errors.push('config.js の mode は "aws" か "local" です');
        if (!Array.isArray(c.things) || c.things.length === 0 || !c.things.every(function (t) {
                return typeof t === "string" && THING.test(t);
            }))
            errors.push("config.js の things は AMR の thing 名の配列です（例: [\"AMR-001\"]）");
        if (c.heartbeatTimeoutMs !== undefined && !(c.heartbeatTimeoutMs >= 1000))
            errors.push("config.js の heartbeatTimeoutMs は 1000 以上のミリ秒です");
        // The watch message's lease (docs/watched-heartbeat.md), refreshed every third of it. The
        // gateways cut a lease to their max_lease (plugins/watch, default 5 min), so a longer one
        // would be refreshed too rarely: a 3600 s lease refreshed every 20 min lapses after 5 and
        // the open card's AMR falls back to slow. Hence at most 300 s. At least 15 s: each refresh
        // is a retained QoS 1 message (four metered AWS IoT messages with its delivery to the
        // gateway and PUBACK), and a 3 s lease would send one every second, far more than the 10 s
        // heartbeat it keeps fast; the gateways raise any lease below their min_lease (10 s) anyway.
        if (c.watchLeaseS !== undefined &&
            !(typeof c.watchLeaseS === "number" && c.watchLeaseS % 1 === 0 && c.watchLeaseS >= 15 && c.watchLeaseS <= 300))
            errors.push(
                "config.js の watchLeaseS は 15 以上 300 以下の整数の秒です（既定 90。短すぎると表示中の通知が頻繁に送られて通信料が増え、ゲートウェイの max_lease（既定 5 分）を超えるリースは短く切られ、更新が間に合わなくなります）"
            );
        // The fleet view's Shadow GET rate (fleet.js RequestPacer); above AWS's 20 requests per
        // second per thing it could only ever be throttled.
        if (c.shadowGetsPerSecond !== undefined &&
            !(typeof c.shadowGetsPerSecond === "number" && c.shadowGetsPerSecond > 0 && c.shadowGetsPerSecond <= 20))
            errors.push("config.js の shadowGetsPerSecond は 0 より大きく 20 以下の数です（既定 10）");
        if (c.mode === "aws") {
            need("region", /^[a-z]{2}(-[a-z]+)+-\d$/, "例: ap-northeast-1");
            need("userPoolId", /^[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]+$/, "例: ap-northeast-1_AbCdEf123");
            need("clientId", /^[a-z0-9]{1,128}$/, "アプリクライアント ID");
            need("identityPoolId", /^[a-z]{2}(-[a-z]+)+-\d:[0-9a-f-]{36}$/, "例: ap-northeast-1:0000…");
            need("iotEndpoint", /^[a-z0-9-]+(\.[a-z0-9-]+)+$/, "例: xxxx-ats.iot.ap-northeast-1.amazonaws.com");
            need("cognitoDomain", /^https:\/\/[^\s/]+$/, "managed login のドメイン（https://…、末尾の / なし）");
            need("redirectUri", /^https?:\/\/\S+$/, "このページの URL");
        }
        if (c.mode === "local") {
            need("local.brokerUrl", /^wss?:\/\/\S+$/, "例: wss://localhost:18884/mqtt");
            need("local.credentialsUrl", /^\/\S*$/, "例: /local-credentials");
        }
        return errors;
    }

    NS.checkConfig = checkConfig;
})(typeof window !== "undefined" ? window : globalThis);
