// The fleet view's arithmetic, with no DOM and no network: the state of one AMR as the list shows
// it, counts per state, the order (problems first), the state filter and name search, the window
// of rows a virtualized list renders, and the pacer that spreads Shadow GETs under AWS's quotas.
// ui.js draws what these return; app.js feeds them AmrModel views.
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});

    // The console subscribes with these wildcard filters, whatever the fleet's size: AWS allows 8
    // filters per SUBSCRIBE and 50 subscriptions per connection, so a set of filters per AMR would
    // stop at 6 AMRs. Which AMRs' messages actually arrive is the policy's business: on AWS the
    // browser role's iot:Receive names each configured thing, and its iot:Subscribe allows exactly
    // these filters (cloud/lib/policy-files.ts, checked against this list by cloud/test).
    var FILTERS = [
        "amr/+/status",
        "amr/+/heartbeat",
        "amr/+/cmd/result",
        "$aws/things/+/shadow/name/robot/get/accepted",
        "$aws/things/+/shadow/name/robot/get/rejected",
        "$aws/things/+/shadow/name/robot/update/documents",
        "$aws/events/presence/connected/+",
        "$aws/events/presence/disconnected/+",
    ];

    // List states in display order: problems first (an operator scanning 1,000 AMRs looks for
    // what needs attention), then what is still being learnt, then the normal states.
    var FLEET_STATES = ["bad", "offline", "unknown", "moving", "idle"];
    var FLEET_LABELS = { bad: "通信不良", offline: "オフライン", unknown: "不明", moving: "移動中", idle: "待機中" };
    var RANK = {};
    FLEET_STATES.forEach(function (s, i) {
        RANK[s] = i;
    });

    // One AMR's list state from AmrModel.view(): offline wins (the gateway said so: its Will or a
    // presence event), then a bad link (the heartbeat is late: 2.5 of its periods, at least 25 s; the AMR may be anywhere), then the
    // movement the shadow says.
    function fleetState(view) {
        if (view.state === "offline") return "offline";
        if (view.linkBad) return "bad";
        if (view.state === "idle" || view.state === "moving") return view.state;
        return "unknown";
    }

    // rows: [{thing, state}] -> {bad: n, offline: n, unknown: n, moving: n, idle: n, all: n}
    function countStates(rows) {
        var counts = { all: rows.length };
        FLEET_STATES.forEach(function (s) {
            counts[s] = 0;
        });
        for (var i = 0; i < rows.length; i++) counts[rows[i].state] += 1;
        return counts;
    }

    // Thing names compared so that AMR-2 comes before AMR-10 (numeric runs as numbers).
    var collator = typeof Intl !== "undefined" ? new Intl.Collator("en", { numeric: true }) : null;
    function compareNames(a, b) {
        if (collator) return collator.compare(a, b);
        return a < b ? -1 : a > b ? 1 : 0;
    }

    // Problems first (FLEET_STATES order), then by name. Returns a new array.
    function orderRows(rows) {
        return rows.slice().sort(function (a, b) {
            return RANK[a.state] - RANK[b.state] || compareNames(a.thing, b.thing);
        });
    }

    // filter: {state: one of FLEET_STATES or "" for all, query: text the name must contain
    // (case-insensitive, surrounding blanks ignored)}.
    function filterRows(rows, filter) {
        var state = (filter && filter.state) || "";
        var query = ((filter && filter.query) || "").trim().toLowerCase();
        return rows.filter(function (r) {
            return (!state || r.state === state) && (!query || r.thing.toLowerCase().indexOf(query) >= 0);
        });
    }

    // The rows a list of `total` fixed-height rows must render to fill a viewport of `viewHeight`
    // scrolled to `scrollTop`, plus `overscan` rows each side so a fast scroll shows no gap.
    // Returns {first, end (exclusive), top (px offset of row `first`), height (px of all rows)}.
    function visibleWindow(scrollTop, viewHeight, rowHeight, total, overscan) {
        overscan = overscan === undefined ? 5 : overscan;
        var height = total * rowHeight;
        if (total === 0 || rowHeight <= 0) return { first: 0, end: 0, top: 0, height: 0 };
        // A stale scrollTop (the list just got shorter) is clamped to the last screenful.
        var maxTop = Math.max(0, height - viewHeight);
        var top = Math.min(Math.max(0, scrollTop), maxTop);
        var first = Math.max(0, Math.floor(top / rowHeight) - overscan);
        var end = Math.min(total, Math.ceil((top + viewHeight) / rowHeight) + overscan);
        return { first: first, end: end, top: first * rowHeight, height: height };
    }

    // Spreads Shadow GETs over time: at most `perSecond` requests per second (a token bucket of
    // `burst` tokens), urgent ones (what the operator looks at: visible rows, the open card, 再同期,
    // a detected gap) before background ones (the rest of the fleet after a connect). A thing is
    // queued at most once; asking again with higher urgency moves it forward. No timers here: the
    // caller asks take(now) what to send now.
    //
    // Why: AWS limits Device Shadow requests per thing (20/s) and per account; on connect a fleet
    // console must not send 1,000 GETs in one burst (the gateways' own shadow updates share the
    // account quota), and rows nobody looks at can wait.
    function RequestPacer(options) {
        options = options || {};
        this.perSecond = options.perSecond || 10;
        this.burst = options.burst || this.perSecond;
        this.tokens = this.burst;
        this.last = null;
        this.urgent = []; // thing names, oldest first
        this.background = [];
        this.queued = {}; // thing -> "urgent" | "background"
    }

    RequestPacer.prototype.request = function (thing, urgent) {
        var where = this.queued[thing];
        if (where === "urgent" || (where === "background" && !urgent)) return;
        if (where === "background") this.background.splice(this.background.indexOf(thing), 1);
        this.queued[thing] = urgent ? "urgent" : "background";
        (urgent ? this.urgent : this.background).push(thing);
    };

    RequestPacer.prototype.cancel = function (thing) {
        var where = this.queued[thing];
        if (!where) return;
        var list = where === "urgent" ? this.urgent : this.background;
        list.splice(list.indexOf(thing), 1);
        delete this.queued[thing];
    };

    RequestPacer.prototype.pending = function () {
        return this.urgent.length + this.background.length;
    };

    // The things to GET now (urgent first), as many as the bucket allows.
    RequestPacer.prototype.take = function (now) {
        if (this.last !== null) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
        this.last = now;
        var out = [];
        while (this.tokens >= 1 && (this.urgent.length || this.background.length)) {
            var thing = this.urgent.length ? this.urgent.shift() : this.background.shift();
            delete this.queued[thing];
            this.tokens -= 1;
            out.push(thing);
        }
        return out;
    };

    NS.fleet = {
        FILTERS: FILTERS,
        STATES: FLEET_STATES,
        LABELS: FLEET_LABELS,
        fleetState: fleetState,
        countStates: countStates,
        orderRows: orderRows,
        filterRows: filterRows,
        compareNames: compareNames,
        visibleWindow: visibleWindow,
        RequestPacer: RequestPacer,
    };
})(typeof window !== "undefined" ? window : globalThis);
