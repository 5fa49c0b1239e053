// Local mode (localcore): the demo's web server hands out console tokens (`localcore
// issue-console-token`), as an Identity Pool hands out credentials on AWS. The token is the MQTT
// password on localcore's websocket listener; the broker applies its policy (cloud/policies/
// console.json) to every operation. Renewed before it expires, so a reconnect never presents an
// expired token; and fetched again at once when the broker ended or refused the connection
// (localcore closes a connection whose token expired or was revoked: see MqttLink).
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});

    function randomHex(bytes) {
        var a = new Uint8Array(bytes);
        root.crypto.getRandomValues(a);
        return Array.prototype.map
            .call(a, function (b) {
                return (b < 16 ? "0" : "") + b.toString(16);
            })
            .join("");
    }

    function LocalCredentials(config, onChange) {
        this.config = config;
        this.onChange = onChange || function () {};
        this.current = null; // {username, token, client_prefix, expires_at (epoch s)}
        this.suffix = randomHex(6);
        this.renewTimer = null;
    }

    // Renew at 80 % of the lifetime (at least 30 s before the end).
    LocalCredentials.prototype.fresh = function () {
        if (!this.current) return false;
        var lifeMs = (this.current.expires_at - this.current.issued_at) * 1000;
        var renewAt = this.current.issued_at * 1000 + Math.min(lifeMs * 0.8, lifeMs - 30000);
        return Date.now() < renewAt;
    };

    LocalCredentials.prototype.fetchToken = function () {
        var self = this;
        return root
            .fetch(this.config.local.credentialsUrl, {
                method: "POST",
                // A custom header makes a cross-site request preflight (and fail): only this page gets tokens.
                headers: { "X-Console-Request": "1" },
                cache: "no-store",
            })
            .then(function (r) {
                if (!r.ok) throw new Error("認証情報の取得に失敗しました (HTTP " + r.status + ")");
                return r.json();
            })
            .then(function (c) {
                if (!c || typeof c.token !== "string" || typeof c.expires_at !== "number")
                    throw new Error("認証情報の形式が不正です");
                self.current = c;
                self.scheduleRenew();
                self.onChange(c);
                return c;
            });
    };

    LocalCredentials.prototype.scheduleRenew = function () {
        var self = this;
        clearTimeout(this.renewTimer);
        var lifeMs = (this.current.expires_at - this.current.issued_at) * 1000;
        var due = this.current.issued_at * 1000 + Math.min(lifeMs * 0.8, lifeMs - 30000) - Date.now();
        this.renewTimer = setTimeout(function () {
            self.fetchToken().catch(function () {
                // The next connect attempt tries again and reports the failure.
                self.current = null;
            });
        }, Math.max(1000, due));
    };

    // For MqttLink. hint.renew: the broker ended or refused the current token (revoked, expired,
    // or the connection's duration cap), so it is not presented again even if it looks fresh.
    LocalCredentials.prototype.connectParams = function (hint) {
        var self = this;
        var renew = !!(hint && hint.renew);
        var ready = this.fresh() && !renew ? Promise.resolve(this.current) : this.fetchToken();
        return ready.then(function (c) {
            return {
                url: self.config.local.brokerUrl,
                clientId: c.client_prefix + self.suffix,
                username: c.username,
                password: c.token,
            };
        });
    };

    LocalCredentials.prototype.expiresAt = function () {
        return this.current ? this.current.expires_at * 1000 : null;
    };

    NS.LocalCredentials = LocalCredentials;
    NS.randomHex = randomHex;
})(typeof window !== "undefined" ? window : globalThis);
