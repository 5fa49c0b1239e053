// The console's wiring: config -> credentials provider (local token or Cognito) -> MQTT link ->
// per-AMR models -> the fleet list (more than one AMR) and the card of one AMR.
// Topics (plugins/amr_call, heartbeat, status, shadow READMEs):
//   amr/<thing>/status (retained; the gateway's Will sets {"state":"offline"}),
//   amr/<thing>/heartbeat (every 10 s while a console watches, else 5 min; period_ms says which),
//   amr/<thing>/cmd/result, amr/<thing>/cmd/call (ours),
//   $aws/things/<thing>/shadow/name/robot/{get/accepted,get/rejected,update/documents}, .../get (ours),
//   $aws/events/presence/{connected,disconnected}/<thing>,
//   amr/<thing>/watch (ours, retained with an expiry, while its card is open: watch.js).
(function (root) {
    "use strict";
    var NS = root.IotConsole;
    var ui = NS.ui;
    var doc = root.document;
    var SHADOW = "robot";

    function shadowTopic(thing, rest) {
        return "$aws/things/" + thing + "/shadow/name/" + SHADOW + "/" + rest;
    }

    function parse(text) {
        try {
            return JSON.parse(text);
        } catch (e) {
            return null;
        }
    }

    var THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;
    var RENDER_DELAY_MS = 100; // messages coalesce into at most one render per 100 ms

    // The tab's sessionStorage, or null where reading it throws (storage disabled by policy).
    function sessionStore(win) {
        try {
            return win.sessionStorage || null;
        } catch (e) {
            return null;
        }
    }

    function Console(config, provider) {
        var self = this;
        this.config = config;
        this.provider = provider;
        this.amrs = {}; // thing -> {model, card (made when first shown), sync: {at, gets, inFlightSince, why}}
        this.things = []; // every known thing: config.things, then those the wildcard filters discovered
        this.tokenCounter = 0;
        this.grid = doc.getElementById("amr-list");
        this.filter = { state: "", query: "" };
        this.detail = null; // the thing whose card is open over the fleet list
        this.onScreen = {}; // thing -> true: the rows (or the card) the operator sees now
        this.renderTimer = null;
        // Shadow GETs, spread: see fleet.js (RequestPacer) and client/README.md.
        this.pacer = new NS.fleet.RequestPacer({ perSecond: config.shadowGetsPerSecond || 10 });
        this.fleetList = new ui.FleetList({
            onOpen: function (thing) {
                self.open(thing);
            },
            onFilter: function (state) {
                self.filter.state = state;
                self.render();
            },
            onSearch: function (text) {
                self.filter.query = text;
                self.render();
            },
            onScroll: function () {
                self.scheduleRender();
            },
        });
        doc.getElementById("detail-back").addEventListener("click", function () {
            self.open(null);
        });
        config.things.forEach(function (thing) {
            self.addThing(thing);
        });
        this.link = new NS.MqttLink({
            connectParams: function (hint) {
                return provider.connectParams(hint);
            },
            onConnected: function () {
                self.onConnected();
            },
            onMessage: function (topic, text, packet) {
                self.onMessage(topic, text, packet);
            },
            onState: function (state, detail) {
                if (state !== "connected") self.watcher.setConnected(false);
                ui.setConnection(state, detail);
                self.render();
            },
        });
        // The open card keeps its AMR's heartbeat fast (docs/watched-heartbeat.md); the fleet view
        // does not watch.
        var hooks = NS.watchModelHooks(
            function (thing) {
                return self.amrs[thing] ? self.amrs[thing].model : null;
            },
            Date.now,
            function () {
                self.scheduleRender();
            }
        );
        this.watcher = new NS.WatchScheduler({
            publish: function (topic, text, options) {
                return self.link.publish(topic, text, options);
            },
            consoleId: NS.consoleSessionId(root.crypto, sessionStore(root)),
            leaseS: config.watchLeaseS,
            onWatched: hooks.onWatched,
            onEnd: hooks.onEnd,
            onError: hooks.onError,
            setInterval: function (fn, ms) {
                return root.setInterval(fn, ms);
            },
            clearInterval: function (id) {
                root.clearInterval(id);
            },
        });
        var visibility = function () {
            self.watcher.setVisible(doc.visibilityState !== "hidden");
        };
        doc.addEventListener("visibilitychange", visibility);
        root.addEventListener("pageshow", visibility);
        root.addEventListener("pagehide", function () {
            self.watcher.setVisible(false);
        });
        visibility();
    }

    Console.prototype.addThing = function (thing) {
        if (this.amrs[thing] || !THING_NAME.test(thing)) return null;
        var model = new NS.AmrModel(thing, { heartbeatTimeoutMs: this.config.heartbeatTimeoutMs });
        this.amrs[thing] = { model: model, card: null, sync: { at: null, gets: 0, inFlightSince: 0, why: "" } };
        this.things.push(thing);
        return this.amrs[thing];
    };

    // The card of one AMR, made the first time it is shown (a fleet of 1,000 keeps 1,000 models
    // but only the cards an operator opened).
    Console.prototype.cardOf = function (thing) {
        var self = this;
        var a = this.amrs[thing];
        if (!a.card) {
            a.card = new ui.AmrCard(thing, {
                onCall: function (t) {
                    self.call(t);
                },
                onResync: function (t) {
                    self.resync(t, "手動", true);
                },
            });
            this.grid.appendChild(a.card.root);
        }
        return a.card;
    };

    // One AMR: its card is the page. More: the fleet list, and a card when one is opened.
    Console.prototype.fleetMode = function () {
        return this.things.length > 1;
    };

    Console.prototype.open = function (thing) {
        this.detail = thing && this.amrs[thing] ? thing : null;
        if (this.detail) this.resync(this.detail, "表示", true);
        this.render();
    };

    Console.prototype.start = function () {
        var self = this;
        this.link.start();
        this.timer = root.setInterval(function () {
            self.tick();
        }, 500);
    };

    Console.prototype.onConnected = function () {
        var self = this;
        var generation = this.link.generation;
        this.link
            .subscribe(NS.fleet.FILTERS)
            .then(function () {
                // The link dropped or was replaced while the SUBACK was on its way: the watcher was
                // told it is disconnected, and the next connection subscribes (and watches) itself.
                if (!self.link.connected || self.link.generation !== generation) return;
                // Watching starts once the heartbeats can arrive: the gateway answers at once.
                self.watcher.setConnected(true);
                // Every (re)connect: the state may have moved on while we were away. What the
                // operator sees is fetched first; the rest of the fleet follows at the pacer's rate.
                self.things.forEach(function (t) {
                    self.amrs[t].sync.inFlightSince = 0;
                    self.resync(t, "接続", !!self.onScreen[t] || !self.fleetMode());
                });
            })
            .catch(function (err) {
                ui.setConnection("waiting", err.message);
            });
    };

    // Asks for a Shadow GET: queued in the pacer (urgent: the operator is looking at it) and sent
    // by pump() when the rate allows; at most one in flight per AMR (a reply or 5 s ends it).
    Console.prototype.resync = function (thing, why, urgent) {
        var a = this.amrs[thing];
        if (!a) return;
        a.sync.why = why;
        this.pacer.request(thing, urgent === undefined ? !!this.onScreen[thing] || !this.fleetMode() : urgent);
        this.pump();
    };

    Console.prototype.pump = function () {
        if (!this.link.connected) return;
        var now = Date.now();
        var self = this;
        this.pacer.take(now).forEach(function (thing) {
            self.sendGet(thing, now);
        });
    };

    Console.prototype.sendGet = function (thing, now) {
        var a = this.amrs[thing];
        if (now - a.sync.inFlightSince < 5000) return;
        a.sync.inFlightSince = now;
        a.sync.gets += 1;
        var token = "console-" + ++this.tokenCounter;
        this.link.publish(shadowTopic(thing, "get"), JSON.stringify({ clientToken: token })).catch(function () {
            a.sync.inFlightSince = 0;
        });
        a.model.note(now, "Shadow を取得します（" + a.sync.why + "）");
        this.scheduleRender();
    };

    Console.prototype.onMessage = function (topic, text, packet) {
        var now = Date.now();
        var parts = topic.split("/");
        var payload = parse(text);
        var thing, result;
        if (parts[0] === "amr" && parts.length >= 3) {
            thing = parts[1];
            var rest = parts.slice(2).join("/");
            // A status or heartbeat of an AMR not in config.things: the fleet has grown (or this
            // is localcore, whose console policy receives every AMR). Its shadow follows.
            if (!this.amrs[thing] && (rest === "status" || rest === "heartbeat") && this.addThing(thing))
                this.resync(thing, "発見", false);
            if (!this.amrs[thing]) return;
            var m = this.amrs[thing].model;
            if (rest === "status") result = m.onStatus(payload, now);
            else if (rest === "heartbeat") result = m.onHeartbeat(payload, !!packet.retain, now);
            else if (rest === "cmd/result") this.onResult(thing, payload, now);
        } else if (parts[0] === "$aws" && parts[1] === "things" && this.amrs[parts[2]]) {
            thing = parts[2];
            var op = parts[parts.length - 2];
            var kind = parts[parts.length - 1];
            if (op === "get") this.amrs[thing].sync.inFlightSince = 0;
            result = this.amrs[thing].model.onShadow(op, kind, payload, now);
            if (result.applied && op === "get") this.amrs[thing].sync.at = now;
            result = { resync: false };
        } else if (parts[0] === "$aws" && parts[1] === "events" && this.amrs[parts[4]]) {
            thing = parts[4];
            result = this.amrs[thing].model.onPresence(parts[3], now);
        }
        if (thing && result && result.resync) this.resync(thing, "欠落検知");
        this.scheduleRender();
    };

    Console.prototype.onResult = function (thing, payload, now) {
        var a = this.amrs[thing];
        var pending = a.model.pendingCall;
        a.model.onResult(payload, now);
        if (a.card && pending && payload && payload.id === pending.id) {
            a.movingSeen = false;
            a.feedbackAt = now;
            if (payload.result === "accepted") a.card.setFeedback("受付されました。AMR が移動を開始します", "good");
            else a.card.setFeedback("拒否されました: " + (payload.detail || payload.reason || payload.result), "bad");
        }
    };

    Console.prototype.call = function (thing) {
        var a = this.amrs[thing];
        var now = Date.now();
        if (!a.model.view(now, this.link.connected).callEnabled) return;
        var id = "call-" + NS.randomHex(8);
        var command = { id: id, ts: now };
        a.model.callSent(id, now);
        a.card.setFeedback("送信中…", "");
        this.render();
        var self = this;
        this.link
            .publish("amr/" + thing + "/cmd/call", JSON.stringify(command))
            .then(function () {
                if (a.model.pendingCall && a.model.pendingCall.id === id) a.card.setFeedback("送信しました。応答を待っています…", "");
                self.render();
            })
            .catch(function (err) {
                a.model.pendingCall = null;
                a.card.setFeedback("送信できませんでした: " + err.message, "bad");
                self.render();
            });
    };

    Console.prototype.tick = function () {
        var now = Date.now();
        var self = this;
        this.things.forEach(function (t) {
            if (self.amrs[t].model.tick(now).resync) self.resync(t, "欠落検知");
        });
        this.pump();
        this.render();
    };

    Console.prototype.scheduleRender = function () {
        var self = this;
        if (this.renderTimer) return;
        this.renderTimer = root.setTimeout(function () {
            self.render();
        }, RENDER_DELAY_MS);
    };

    Console.prototype.renderCard = function (thing, now) {
        var a = this.amrs[thing];
        var card = this.cardOf(thing);
        var v = a.model.view(now, this.link.connected);
        // An accepted call's feedback ends with the move (the result stays in 最後の指令); a
        // neutral one ("送信しました…") ends with its wait.
        var kind = card.feedbackKind;
        if (kind === "good" && v.state === "moving") a.movingSeen = true;
        var moveOver = kind === "good" && v.state !== "moving" && (a.movingSeen || now - a.feedbackAt > 10000);
        if (card.feedbackText && !v.pendingCall && (moveOver || kind === "")) card.setFeedback("", "");
        card.render(v, a.sync);
    };

    Console.prototype.render = function () {
        var now = Date.now();
        var self = this;
        if (this.renderTimer) root.clearTimeout(this.renderTimer);
        this.renderTimer = null;
        var fleet = this.fleetMode();
        var shown = fleet ? this.detail : this.things[0] || null;
        // The watch first (a closed card's AMR is unwatched, judged by its period again), so the
        // views below are judged with it.
        this.watcher.setThing(shown);
        doc.getElementById("fleet").hidden = !fleet || !!this.detail;
        doc.getElementById("detail-back").hidden = !fleet || !this.detail;
        this.things.forEach(function (t) {
            var card = self.amrs[t].card;
            if (card) card.root.hidden = t !== shown;
        });
        var onScreen = {};
        if (shown) {
            this.renderCard(shown, now);
            onScreen[shown] = true;
        }
        if (fleet && !this.detail) {
            var rows = this.things.map(function (t) {
                var v = self.amrs[t].model.view(now, self.link.connected);
                return { thing: t, view: v, state: NS.fleet.fleetState(v) };
            });
            var visible = this.fleetList.render(
                NS.fleet.countStates(rows),
                this.filter,
                NS.fleet.orderRows(NS.fleet.filterRows(rows, this.filter))
            );
            visible.forEach(function (t) {
                onScreen[t] = true;
                // A row scrolled into view whose shadow was never fetched: fetch it now (on demand).
                var a = self.amrs[t];
                if (!a.sync.at && !self.onScreen[t] && self.link.connected) self.resync(t, a.sync.why || "表示", true);
            });
        }
        this.onScreen = onScreen;
        var exp = this.provider.expiresAt();
        doc.getElementById("credentials").textContent = exp ? "認証期限 " + ui.clock(exp) : "";
    };

    function startAws(config) {
        var auth = new NS.CognitoAuth(config);
        var passkeys = new NS.Passkeys(config, auth);
        doc.getElementById("signin-button").addEventListener("click", function () {
            auth.signIn();
        });
        doc.getElementById("register-button").addEventListener("click", function () {
            root.location.assign(auth.registerPasskeyUrl());
        });
        doc.getElementById("signout-button").addEventListener("click", function () {
            auth.signOut();
        });
        doc.getElementById("passkeys-button").addEventListener("click", function () {
            showPasskeys(passkeys);
        });
        doc.getElementById("passkeys-back").addEventListener("click", function () {
            ui.show("screen-main");
        });
        doc.getElementById("passkeys-register").addEventListener("click", function () {
            root.location.assign(auth.registerPasskeyUrl());
        });
        auth.completeSignIn()
            .then(function (signedIn) {
                if (!signedIn) return ui.show("screen-signin");
                doc.getElementById("account").hidden = false;
                ui.show("screen-main");
                var app = new Console(config, auth);
                app.start();
                // Renew the Identity Pool credentials ahead of expiry, so a reconnect never waits for them.
                root.setInterval(function () {
                    auth.awsCredentials().catch(function () {});
                }, 60000);
            })
            .catch(function (err) {
                ui.show("screen-signin");
                doc.getElementById("signin-error").textContent = err.message;
            });
    }

    function showPasskeys(passkeys) {
        ui.show("screen-passkeys");
        var list = doc.getElementById("passkey-list");
        var status = doc.getElementById("passkey-status");
        status.textContent = "読み込み中…";
        while (list.firstChild) list.removeChild(list.firstChild);
        passkeys
            .list()
            .then(function (items) {
                status.textContent = items.length ? items.length + " 件のパスキーが登録されています" : "登録されたパスキーはありません";
                items.forEach(function (p) {
                    var li = ui.el("li", "passkey");
                    li.appendChild(ui.el("span", "passkey-name", p.name));
                    li.appendChild(ui.el("span", "passkey-date", "登録 " + p.createdAt.toLocaleString("ja-JP")));
                    var del = ui.el("button", "small-button danger", "削除");
                    del.type = "button";
                    del.addEventListener("click", function () {
                        if (!root.confirm("「" + p.name + "」を削除します。この端末ではサインインできなくなります。よろしいですか？")) return;
                        del.disabled = true;
                        passkeys
                            .remove(p.id)
                            .then(function () {
                                showPasskeys(passkeys);
                            })
                            .catch(function (err) {
                                del.disabled = false;
                                status.textContent = "削除できませんでした: " + err.message;
                            });
                    });
                    li.appendChild(del);
                    list.appendChild(li);
                });
            })
            .catch(function (err) {
                status.textContent = "一覧を取得できませんでした: " + err.message;
            });
    }

    function main() {
        var config = root.IOT_CONSOLE_CONFIG;
        var errors = NS.checkConfig(config);
        if (!root.mqtt) errors.push("MQTT ライブラリ (vendor/mqtt) を読み込めませんでした");
        if (errors.length) return ui.showError(errors);
        doc.getElementById("mode").textContent = config.mode === "local" ? "ローカル (localcore)" : "AWS";
        if (config.mode === "aws") return startAws(config);
        ui.show("screen-main");
        var app = new Console(config, new NS.LocalCredentials(config));
        app.start();
    }

    NS.Console = Console; // for the unit tests (test/unit/app.test.mjs)

    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", main);
    else main();
})(window);
