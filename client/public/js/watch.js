// The watch message (docs/watched-heartbeat.md): while the card of one AMR is open and the page
// visible, this console keeps a lease on that AMR's fast heartbeat by publishing
//   amr/<thing>/watch  {"thing","console","lease_s"}  retained, QoS 1, Message Expiry Interval = lease_s
// at once and then every lease_s / 3 (one lost refresh does not end the lease). Nothing is sent
// when the card closes or the page is hidden: the lease runs out by itself. A "release" message
// would let any console cut another console's lease short (see the design).
// Retained, so a gateway that restarts finds the watch at once; with the expiry, so the watch of a
// console that crashed disappears from the broker when its lease ends.
// No DOM, no MQTT: the page tells it what is shown, whether the page is visible and whether the
// connection is up, and gives it a publish function and the timer functions (tests use fakes).
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});

    var DEFAULT_LEASE_S = 90;

    // The gateway's alphabet for console ids (plugins/watch: 1-128 of A-Z a-z 0-9 : _ . -).
    var CONSOLE_ID_PATTERN = /^[A-Za-z0-9:_.-]{1,128}$/;
    var CONSOLE_ID_KEY = "iotgw.consoleId";

    function randomId(crypto) {
        if (crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
        var bytes = new Uint8Array(16);
        crypto.getRandomValues(bytes);
        return Array.prototype.map
            .call(bytes, function (b) {
                return (b < 16 ? "0" : "") + b.toString(16);
            })
            .join("");
    }

    // A random id per browser tab: it tells the gateway's leases apart, nothing more (not a user).
    // Kept in the tab's sessionStorage, so a reload goes on refreshing the same lease instead of
    // starting a second one that the gateway would count as another console until the first one
    // ran out. A tab duplicated by the browser copies it, and the two tabs then share one lease,
    // which either keeps alive. Without storage (private mode may refuse it) a new id per load.
    function consoleSessionId(crypto, storage) {
        var id = null;
        try {
            id = storage ? storage.getItem(CONSOLE_ID_KEY) : null;
        } catch (e) {
            id = null;
        }
        if (typeof id === "string" && CONSOLE_ID_PATTERN.test(id)) return id;
        id = randomId(crypto);
        try {
            if (storage) storage.setItem(CONSOLE_ID_KEY, id);
        } catch (e) {
            // Not kept: this load still works, a reload gets another id.
        }
        return id;
    }

    function watchTopic(thing) {
        return "amr/" + thing + "/watch";
    }

    // options: {
    //   publish: (topic, text, {retain, expiryS}) => Promise   (rejects when not sent or refused),
    //   consoleId: string, leaseS: number (default 90),
    //   onBegin: (thing) => void   a watch (re)starts: card opened, page shown again, reconnected,
    //   onWatched: (thing) => void   the broker acknowledged a publish of this watch (first PUBACK
    //              of each watch only): from now on the gateway is answering with fast heartbeats,
    //   onEnd: (thing) => void   it stops: card closed, page hidden, disconnected,
    //   onError: (thing, err) => void   a publish failed (first failure of each watch only),
    //   setInterval, clearInterval: the timer functions
    // }
    function WatchScheduler(options) {
        this.publishFn = options.publish;
        this.consoleId = options.consoleId;
        this.leaseS = options.leaseS || DEFAULT_LEASE_S;
        this.onBegin = options.onBegin || function () {};
        this.onWatched = options.onWatched || function () {};
        this.onEnd = options.onEnd || function () {};
        this.onError = options.onError || function () {};
        this.setIntervalFn = options.setInterval;
        this.clearIntervalFn = options.clearInterval;
        this.thing = null; // the AMR whose card is open
        this.visible = true;
        this.connected = false;
        this.active = null; // the AMR being watched now (refresh timer running), or null
        this.timer = null;
        this.session = 0; // counts watches, so a late PUBACK or failure of an ended one is ignored
        this.acked = false;
        this.errorReported = false;
        this.sent = 0;
    }

    WatchScheduler.prototype.refreshMs = function () {
        return Math.round((this.leaseS * 1000) / 3);
    };

    WatchScheduler.prototype.setThing = function (thing) {
        this.thing = thing || null;
        this.update();
    };

    WatchScheduler.prototype.setVisible = function (visible) {
        this.visible = !!visible;
        this.update();
    };

    // A (re)connect restarts the watch: what was published while the link was down never left,
    // and the lease may have run out meanwhile.
    WatchScheduler.prototype.setConnected = function (connected) {
        connected = !!connected;
        if (connected === this.connected) return;
        this.connected = connected;
        this.stop();
        this.update();
    };

    WatchScheduler.prototype.stop = function () {
        if (this.timer !== null) this.clearIntervalFn(this.timer);
        this.timer = null;
        var was = this.active;
        this.active = null;
        this.session += 1;
        if (was) this.onEnd(was);
    };

    WatchScheduler.prototype.update = function () {
        var want = this.thing && this.visible && this.connected ? this.thing : null;
        if (want === this.active) return;
        this.stop();
        if (!want) return;
        var self = this;
        this.active = want;
        this.session += 1;
        this.acked = false;
        this.errorReported = false;
        this.onBegin(want);
        this.send(want);
        this.timer = this.setIntervalFn(function () {
            self.send(want);
        }, this.refreshMs());
    };

    WatchScheduler.prototype.send = function (thing) {
        var self = this;
        var session = this.session;
        var text = JSON.stringify({ thing: thing, console: this.consoleId, lease_s: this.leaseS });
        var acked = function () {
            if (self.session !== session || self.acked) return;
            self.acked = true;
            self.onWatched(thing);
        };
        var report = function (err) {
            if (self.session !== session || self.errorReported) return;
            self.errorReported = true;
            self.onError(thing, err);
        };
        this.sent += 1;
        try {
            Promise.resolve(this.publishFn(watchTopic(thing), text, { retain: true, expiryS: this.leaseS })).then(acked, report);
        } catch (err) {
            report(err);
        }
    };

    // The scheduler's callbacks for the page: what the watch means to the AMR's model (amr_state.js).
    //   modelOf(thing) -> AmrModel or null, clock() -> ms, changed() -> the page should render again.
    // The model expects the gateway's answer (確認中, then 通信不良 25 s on) only once the broker
    // acknowledged the watch: a refused one (the console policy or role without the watch topic,
    // PUBACK >= 0x80) leaves the AMR in its slow mode, and the card must keep judging it by the
    // period its heartbeats announce, or it would show a false 通信不良 and disable calls.
    function modelHooks(modelOf, clock, changed) {
        return {
            onWatched: function (thing) {
                var m = modelOf(thing);
                if (m) m.watch(clock());
                changed();
            },
            onEnd: function (thing) {
                var m = modelOf(thing);
                if (m) m.unwatch();
            },
            onError: function (thing, err) {
                var m = modelOf(thing);
                if (m) {
                    m.unwatch();
                    m.note(clock(), "表示中の通知（watch）を送れません: " + err.message);
                }
                changed();
            },
        };
    }

    NS.WatchScheduler = WatchScheduler;
    NS.watchModelHooks = modelHooks;
    NS.consoleSessionId = consoleSessionId;
    NS.watchTopic = watchTopic;
    NS.DEFAULT_WATCH_LEASE_S = DEFAULT_LEASE_S;
})(typeof window !== "undefined" ? window : globalThis);
