// DOM rendering: one card per AMR, the connection badge, screens. Builds elements with
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
        this.link.className = "link " + (v.linkBad ? "bad" : v.linkLabel === "正常" ? "good" : "");
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

    NS.ui = { el: el, AmrCard: AmrCard, show: show, setConnection: setConnection, showError: showError, clock: clock };
})(typeof window !== "undefined" ? window : globalThis);
