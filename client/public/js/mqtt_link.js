// One MQTT-over-WebSocket connection (mqtt.js, MQTT 5) that keeps itself up: on any loss it waits
// (exponential backoff 1 s -> 30 s with jitter), asks for fresh connect parameters (a new presigned
// URL or a renewed local token: credentials may have expired meanwhile) and connects again. mqtt.js's
// own reconnect is off because it would reuse the old, possibly expired, URL and password.
// When the broker itself ended the connection (an MQTT DISCONNECT from the server: localcore sends
// one when the console token expires or is revoked, or the websocket connection reaches its
// duration cap, as AWS ends a SigV4 connection after 24 h) or refused the credentials in CONNACK,
// the next attempt asks for new credentials ({renew: true}) rather than presenting the same ones.
// Nothing else is reset: the page's state (cards, last known status) lives outside the link.
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});

    // options: {
    //   connectParams: ({renew}) => Promise<{url, clientId, username?, password?}>
    //                  (renew: the broker ended or refused the last credentials; get new ones),
    //   onConnected: (link) => void   (subscribe and resync here),
    //   onMessage: (topic, text, packet) => void,
    //   onState: (state, detail) => void   state: "connecting" | "connected" | "waiting" | "stopped"
    // }
    function MqttLink(options) {
        this.options = options;
        this.client = null;
        this.attempt = 0;
        this.timer = null;
        this.stopped = true;
        this.connected = false;
        this.generation = 0; // ignores events of clients that were replaced
        this.renewCredentials = false;
    }

    // CONNACK reason codes (MQTT 5) that refuse the credentials themselves: 0x86 bad user name or
    // password, 0x87 not authorized, 0x8C bad authentication method.
    var CREDENTIALS_REFUSED = [0x86, 0x87, 0x8c];

    MqttLink.prototype.start = function () {
        this.stopped = false;
        this.connect();
    };

    MqttLink.prototype.stop = function () {
        this.stopped = true;
        clearTimeout(this.timer);
        if (this.client) this.client.end(true);
        this.client = null;
        this.setState("stopped", "");
    };

    MqttLink.prototype.setState = function (state, detail) {
        this.connected = state === "connected";
        if (this.options.onState) this.options.onState(state, detail || "");
    };

    MqttLink.prototype.backoffMs = function () {
        var base = Math.min(30000, 1000 * Math.pow(2, Math.max(0, this.attempt - 1)));
        return Math.round(base / 2 + Math.random() * (base / 2));
    };

    MqttLink.prototype.retryLater = function (why) {
        if (this.stopped || this.timer) return;
        var self = this;
        var delay = this.backoffMs();
        this.setState("waiting", why + "。" + Math.round(delay / 1000) + " 秒後に再接続します");
        this.timer = setTimeout(function () {
            self.timer = null;
            self.connect();
        }, delay);
    };

    MqttLink.prototype.connect = function () {
        if (this.stopped) return;
        var self = this;
        var generation = ++this.generation;
        var renew = this.renewCredentials;
        this.renewCredentials = false;
        this.attempt += 1;
        if (this.client) this.client.end(true);
        this.client = null;
        this.setState("connecting", "接続中（" + this.attempt + " 回目）");
        Promise.resolve()
            .then(function () {
                return self.options.connectParams({ renew: renew });
            })
            .then(function (params) {
                if (generation !== self.generation || self.stopped) return;
                var client = root.mqtt.connect(params.url, {
                    protocolVersion: 5,
                    clientId: params.clientId,
                    username: params.username,
                    password: params.password,
                    clean: true,
                    keepalive: 30,
                    reconnectPeriod: 0,
                    connectTimeout: 10000,
                    resubscribe: false,
                    // mqtt.js would otherwise run its timers in a Worker made from a blob: URL, which
                    // the CSP (no worker-src blob:) rightly refuses.
                    timerVariant: "native",
                });
                self.client = client;
                client.on("connect", function () {
                    if (generation !== self.generation) return;
                    self.attempt = 0;
                    self.setState("connected", params.clientId);
                    self.options.onConnected(self);
                });
                client.on("message", function (topic, payload, packet) {
                    if (generation !== self.generation) return;
                    self.options.onMessage(topic, new TextDecoder().decode(payload), packet);
                });
                // The broker ends the connection: its DISCONNECT arrives before the socket closes.
                client.on("disconnect", function (packet) {
                    if (generation !== self.generation) return;
                    self.renewCredentials = true;
                    var code = packet && typeof packet.reasonCode === "number" ? packet.reasonCode : 0;
                    self.lastError = "サーバーが接続を終了しました (reason 0x" + code.toString(16) + ")。認証情報を更新します";
                });
                client.on("error", function (err) {
                    if (generation !== self.generation) return;
                    if (err && CREDENTIALS_REFUSED.indexOf(err.code) >= 0) self.renewCredentials = true;
                    self.lastError = err && err.message ? err.message : String(err);
                });
                client.on("close", function () {
                    if (generation !== self.generation) return;
                    self.connected = false;
                    self.retryLater("接続が切れました" + (self.lastError ? "（" + self.lastError + "）" : ""));
                    self.lastError = "";
                });
            })
            .catch(function (err) {
                if (generation !== self.generation) return;
                self.retryLater("接続情報を取得できません（" + (err && err.message ? err.message : err) + "）");
            });
    };

    // Resolves when the broker granted every filter; rejects naming the refused ones.
    //
    // QoS 1, although AWS IoT meters the console's PUBACK of every delivery and the console has no
    // session to resume: a broker flow-controls QoS 1 deliveries (a window in flight, the rest
    // queued) but drops QoS 0 ones once a client's outgoing queue is full. At subscribe time the
    // fleet view receives every AMR's retained status and heartbeat at once; at QoS 0, mosquitto
    // dropped part of 2,000 of them ("Outgoing messages are being dropped", the fleet e2e test),
    // and an AMR whose late heartbeat was dropped showed 待機中 instead of 通信不良.
    MqttLink.prototype.subscribe = function (filters) {
        var client = this.client;
        return new Promise(function (resolve, reject) {
            if (!client) return reject(new Error("未接続"));
            client.subscribe(filters, { qos: 1 }, function (err, granted) {
                if (err) return reject(err);
                var refused = (granted || []).filter(function (g) {
                    return g.qos >= 128;
                });
                if (refused.length)
                    return reject(
                        new Error(
                            "購読が拒否されました: " +
                                refused
                                    .map(function (g) {
                                        return g.topic;
                                    })
                                    .join(", ")
                        )
                    );
                resolve();
            });
        });
    };

    // QoS 1; resolves on PUBACK. options: {retain, expiryS} (expiryS: the MQTT 5 Message Expiry
    // Interval: the broker drops the message, a retained one too, once it is that old).
    MqttLink.prototype.publish = function (topic, text, options) {
        var client = this.client;
        var connected = this.connected;
        var opts = { qos: 1 };
        if (options && options.retain) opts.retain = true;
        if (options && options.expiryS) opts.properties = { messageExpiryInterval: options.expiryS };
        return new Promise(function (resolve, reject) {
            if (!client || !connected) return reject(new Error("サーバーに接続していません"));
            client.publish(topic, text, opts, function (err, packet) {
                if (err) return reject(err);
                if (packet && packet.reasonCode && packet.reasonCode >= 128)
                    return reject(new Error("送信が拒否されました (reason " + packet.reasonCode + ")"));
                resolve();
            });
        });
    };

    NS.MqttLink = MqttLink;
})(typeof window !== "undefined" ? window : globalThis);
