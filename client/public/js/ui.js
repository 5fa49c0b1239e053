// DOM rendering: the AMR card, the fleet list, the connection badge, screens. Builds elements with
// createElement/textContent only (no innerHTML: nothing received can become markup) and styles with
// classes only (the CSP allows no inline style).
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});
    var doc = root.document;

    function el(tag, className, text) {
        var e = doc.createElement(tag);
        if (className) e.className = className;
        if (text !== undefined) e.textContent = text;
        return e;
    }

    function row(label, valueClass) {
        var dt = el("dt", "", label);
        var dd = el("dd", valueClass);
        return { dt: dt, dd: dd };
    }

    function formatAge(ms) {
        if (ms === null) return "—";
        var s = Math.floor(ms / 1000);
        if (s < 60) return s + " 秒前";
        if (s < 3600) return Math.floor(s / 60) + " 分前";
        return Math.floor(s / 3600) + " 時間前";
    }

    function clock(ms) {
        var d = new Date(ms);
        function two(n) {
            return (n < 10 ? "0" : "") + n;
        }
        return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
    }

    // handlers: {onCall(thing), onResync(thing)}
    function AmrCard(thing, handlers) {
        var card = el("section", "amr-card");
        card.setAttribute("data-thing", thing);
        card.setAttribute("aria-labelledby", "title-" + thing);
        var head = el("header", "amr-head");
        var title = el("h2", "amr-name", thing);
        title.id = "title-" + thing;
        this.state = el("p", "amr-state state-unknown", "不明");
        this.state.setAttribute("data-field", "state");
        this.state.setAttribute("aria-live", "polite");
        head.appendChild(title);
        head.appendChild(this.state);
        card.appendChild(head);

        var dl = el("dl", "amr-facts");
        var link = row("通信", "link");
        var hb = row("ハートビート", "hb-age");
        var ver = row("Shadow 版", "version");
        var res = row("最後の指令", "result");
        [link, hb, ver, res].forEach(function (r) {
            r.dd.setAttribute("data-field", r.dd.className);
            var wrap = el("div", "fact");
            wrap.appendChild(r.dt);
            wrap.appendChild(r.dd);
            dl.appendChild(wrap);
        });
        this.link = link.dd;
        this.hb = hb.dd;
        this.version = ver.dd;
        this.result = res.dd;
        card.appendChild(dl);

        this.call = el("button", "call-button", "呼出し");
        this.call.type = "button";
        this.call.setAttribute("data-field", "call");
        this.call.addEventListener("click", function () {
            handlers.onCall(thing);
        });
        card.appendChild(this.call);
        this.feedback = el("p", "feedback");
        this.feedback.setAttribute("data-field", "feedback");
        this.feedback.setAttribute("role", "status");
        card.appendChild(this.feedback);

        var tools = el("div", "amr-tools");
        var resync = el("button", "small-button", "再同期");
        resync.type = "button";
        resync.setAttribute("data-field", "resync");
        resync.addEventListener("click", function () {
            handlers.onResync(thing);
        });
        this.synced = el("span", "synced");
        this.synced.setAttribute("data-field", "synced");
        tools.appendChild(resync);
        tools.appendChild(this.synced);
        card.appendChild(tools);

        this.log = el("ul", "amr-log");
        this.log.setAttribute("data-field", "log");
        card.appendChild(this.log);
        this.root = card;
        this.feedbackText = "";
        this.feedbackKind = "";
    }

    AmrCard.prototype.setFeedback = function (text, kind) {
        this.feedbackText = text;
        this.feedbackKind = kind || "";
    };

    // v: AmrModel.view(); sync: {at, gets}
    AmrCard.prototype.render = function (v, sync) {
        this.state.textContent = v.stateLabel;
        this.state.className = "amr-state state-" + v.state;
        this.root.setAttribute("data-state", v.state);
        this.link.textContent = v.linkLabel;
        // 確認中 (checking: the card just opened, the fresh heartbeat not there yet) is neutral.
        this.link.className = "link " + (v.linkBad ? "bad" : v.link === "good" ? "good" : v.link === "checking" ? "checking" : "");
        this.link.setAttribute("data-link", v.link);
        this.root.classList.toggle("link-bad", v.linkBad);
        this.hb.textContent = formatAge(v.heartbeatAgeMs);
        this.version.textContent = v.shadowVersion === null ? "—" : "v" + v.shadowVersion;
        this.version.setAttribute("data-version", v.shadowVersion === null ? "" : String(v.shadowVersion));
        if (v.lastResult) {
            this.result.textContent = v.lastResult.text + (v.lastResult.id ? "　" + v.lastResult.id : "");
            this.result.className = "result " + (v.lastResult.ok ? "good" : "bad");
            this.result.title = v.lastResult.detail;
        } else {
            this.result.textContent = "—";
        }
        this.call.disabled = !v.callEnabled;
        this.call.title = v.callDisabledReason || "";
        // The call's own feedback while it is relevant; otherwise why the button is disabled.
        var own =
            this.feedbackText &&
            (v.callEnabled || v.pendingCall || (this.feedbackKind === "good" && v.state === "moving"));
        this.feedback.textContent = own ? this.feedbackText : v.callDisabledReason || "";
        this.feedback.className = "feedback " + (own ? this.feedbackKind : "muted");
        this.synced.textContent = sync.at ? "同期 " + clock(sync.at) : "";
        this.synced.setAttribute("data-gets", String(sync.gets));
        this.synced.setAttribute("data-stale", String(v.staleIgnored));
        while (this.log.firstChild) this.log.removeChild(this.log.firstChild);
        for (var i = v.events.length - 1; i >= 0; i--)
            this.log.appendChild(el("li", "", clock(v.events[i].at) + "　" + v.events[i].text));
    };

    // The fleet list: counts per state (each a filter button), a name search and a virtualized
    // list: only the rows in view (plus a few each side) exist in the DOM, reused as the list
    // scrolls, so 1,000 AMRs cost what 20 do. Rows have a fixed height (ROW_HEIGHT, the CSS
    // .fleet-row height) so the window is arithmetic (fleet.visibleWindow), not measurement.
    // The list's height and the rows' offsets are set through the CSSOM (element.style), which
    // the CSP's style-src 'self' allows; only style attributes in markup would be refused.
    var ROW_HEIGHT = 48;

    // handlers: {onOpen(thing), onFilter(state), onSearch(text), onScroll()}
    function FleetList(handlers) {
        var self = this;
        this.root = doc.getElementById("fleet");
        this.counts = doc.getElementById("fleet-counts");
        this.search = doc.getElementById("fleet-search");
        this.summary = doc.getElementById("fleet-summary");
        this.scroller = doc.getElementById("fleet-scroll");
        this.rowsBox = doc.getElementById("fleet-rows");
        this.pool = []; // row elements, reused
        this.countButtons = {};
        ["all"].concat(NS.fleet.STATES).forEach(function (state) {
            var b = el("button", "count-button count-" + state);
            b.type = "button";
            b.setAttribute("data-count", state);
            b.setAttribute("aria-pressed", state === "all" ? "true" : "false");
            var label = el("span", "count-label", state === "all" ? "すべて" : NS.fleet.LABELS[state]);
            var n = el("span", "count-number", "0");
            b.appendChild(label);
            b.appendChild(n);
            b.addEventListener("click", function () {
                handlers.onFilter(state === "all" ? "" : state);
            });
            self.counts.appendChild(b);
            self.countButtons[state] = { button: b, number: n };
        });
        this.search.addEventListener("input", function () {
            handlers.onSearch(self.search.value);
        });
        this.scroller.addEventListener("scroll", function () {
            handlers.onScroll();
        }, { passive: true });
        this.rowsBox.addEventListener("click", function (e) {
            var row = e.target.closest ? e.target.closest(".fleet-row") : null;
            if (row && row.getAttribute("data-row-thing")) handlers.onOpen(row.getAttribute("data-row-thing"));
        });
    }

    FleetList.prototype.makeRow = function () {
        var row = el("button", "fleet-row");
        row.type = "button";
        row.setAttribute("role", "listitem");
        // Kept beside the element, not on it: a button already has a `name` property.
        var cells = { row: row, name: el("span", "row-name"), state: el("span", "row-state"), link: el("span", "row-link"), hb: el("span", "row-hb") };
        [cells.name, cells.state, cells.link, cells.hb].forEach(function (c) {
            row.appendChild(c);
        });
        this.rowsBox.appendChild(row);
        return cells;
    };

    // counts: fleet.countStates(); filter: {state, query}; rows: the filtered, ordered rows
    // [{thing, state, view}]. Returns the window drawn (the things now on screen).
    FleetList.prototype.render = function (counts, filter, rows) {
        var self = this;
        Object.keys(this.countButtons).forEach(function (state) {
            var c = self.countButtons[state];
            c.number.textContent = String(counts[state]);
            c.button.setAttribute("aria-pressed", (filter.state || "all") === state ? "true" : "false");
        });
        this.summary.textContent =
            rows.length === counts.all ? counts.all + " 台" : counts.all + " 台中 " + rows.length + " 台を表示";
        var w = NS.fleet.visibleWindow(this.scroller.scrollTop, this.scroller.clientHeight || 480, ROW_HEIGHT, rows.length, 5);
        this.rowsBox.style.height = w.height + "px";
        var needed = w.end - w.first;
        while (this.pool.length < needed) this.pool.push(this.makeRow());
        for (var i = 0; i < this.pool.length; i++) {
            var cells = this.pool[i];
            var row = cells.row;
            if (i >= needed) {
                row.hidden = true;
                row.removeAttribute("data-row-thing");
                continue;
            }
            var r = rows[w.first + i];
            var v = r.view;
            row.hidden = false;
            row.style.transform = "translateY(" + (w.top + i * ROW_HEIGHT) + "px)";
            row.setAttribute("data-row-thing", r.thing);
            row.setAttribute("data-state", r.state);
            cells.name.textContent = r.thing;
            cells.state.textContent = NS.fleet.LABELS[r.state];
            cells.state.className = "row-state state-" + r.state;
            cells.link.textContent = v.linkLabel;
            cells.link.className = "row-link" + (v.linkBad ? " bad" : "");
            cells.hb.textContent = formatAge(v.heartbeatAgeMs);
        }
        return rows.slice(w.first, w.end).map(function (r) {
            return r.thing;
        });
    };

    function show(id) {
        ["screen-main", "screen-signin", "screen-passkeys", "screen-error"].forEach(function (s) {
            var e = doc.getElementById(s);
            if (e) e.hidden = s !== id;
        });
    }

    function setConnection(state, detail) {
        var badge = doc.getElementById("connection");
        var labels = { connecting: "接続中…", connected: "接続済み", waiting: "再接続待ち", stopped: "停止" };
        badge.textContent = labels[state] || state;
        badge.className = "connection conn-" + state;
        badge.setAttribute("data-state", state);
        badge.title = detail;
        var d = doc.getElementById("connection-detail");
        d.textContent = state === "connected" ? "" : detail;
    }

    function showError(lines) {
        var list = doc.getElementById("error-list");
        while (list.firstChild) list.removeChild(list.firstChild);
        lines.forEach(function (l) {
            list.appendChild(el("li", "", l));
        });
        show("screen-error");
    }

    NS.ui = { el: el, AmrCard: AmrCard, FleetList: FleetList, show: show, setConnection: setConnection, showError: showError, clock: clock };
})(typeof window !== "undefined" ? window : globalThis);
