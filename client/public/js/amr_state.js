// The console's model of one AMR, built only from what arrives over MQTT. No DOM, no network: the
// connection code feeds it messages and asks it what to show and whether to resync (Shadow GET).
//
// Rules (seed: "Shadow を権威にし version 前進のみ採用。ギャップ検知で Shadow GET 再同期",
// "ハートビート 10 秒、25 秒欠落で「通信不良」"):
// - The `robot` shadow is the authority for idle/moving. A whole document (get/accepted,
//   update/documents) is applied only if its version is newer than the one held; an older one is
//   ignored and counted as stale; the same version again is ignored silently.
// - The retained status topic (and presence events) say whether the AMR is online: the gateway's
//   Will sets {"state":"offline"} when it vanishes. A status that disagrees with the shadow is a
//   detected gap: the caller GETs the shadow after a short grace (the shadow update normally follows
//   the status within milliseconds).
// - Heartbeats (docs/watched-heartbeat.md): a heartbeat is late after 2.5 x the `period_ms` the last
//   one announced, and never sooner than `heartbeatTimeoutMs` (25 s): 25 s for the 10 s heartbeat of
//   a watched AMR, 12.5 min for the 5 min heartbeat of one nobody watches. A retained heartbeat
//   (delivered at subscribe time) counts from its own timestamp, never from its delivery. A heartbeat
//   sequence that jumps (missed beats) or goes back (gateway restarted) asks for a resync, and so do
//   the moment the link turns bad and the moment it recovers.
// - Watched (the card is open and the broker acknowledged its watch message: watch()): the gateway
//   answers the watch with a heartbeat at once and then beats every 10 s. A refused watch is no
//   watch: the AMR stays slow and is judged by its period, as in the fleet view. Until a heartbeat
//   newer than the start of the watch arrives, a last heartbeat older than 25 s is not yet a fault
//   (the AMR was in its slow mode): the link shows 確認中 (checking) for up to 25 s, then 通信不良
//   if still none came. A heartbeat that was already late by its own period stays 通信不良: the
//   fleet view said so, and hiding it would only flicker.
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});

    var STATE_LABELS = { idle: "待機中", moving: "移動中", offline: "オフライン", unknown: "不明" };
    var LINK_LABELS = { none: "未受信", good: "正常", checking: "確認中", bad: "通信不良" };
    var LATE_FACTOR = 2.5; // periods without a heartbeat before it is late (the seed: 25 s for 10 s)
    var RESULT_LABELS = { accepted: "受付", refused: "拒否", duplicate: "重複" };
    var REASON_LABELS = {
        busy: "移動中のため",
        stale: "古い指令のため",
        future: "時刻のずれ",
        duplicate: "同じ指令 ID",
        driver_error: "ロボットが応答しない",
        not_json: "不正な形式",
        not_object: "不正な形式",
        bad_id: "不正な ID",
        bad_ts: "不正な時刻",
        bad_target: "不正な行き先",
        oversized: "大きすぎる指令",
        timeout: "応答なし",
    };

    function isObject(v) {
        return v !== null && typeof v === "object" && !Array.isArray(v);
    }

    function AmrModel(thing, options) {
        options = options || {};
        this.thing = thing;
        this.heartbeatTimeoutMs = options.heartbeatTimeoutMs || 25000;
        this.statusGraceMs = options.statusGraceMs || 2000;
        this.shadowVersion = null; // the version of the document held
        this.reported = {};
        this.status = null; // last status message
        this.online = null; // null: not known yet
        this.lastBeatAt = null; // local clock (ms) of the last heartbeat
        this.beat = null;
        this.linkBad = false;
        this.link = "none"; // LINK_LABELS key, as of the last tick (view() judges at its own time)
        this.watchedSince = null; // local clock (ms) when this console began watching, null: not watched
        this.lastResult = null;
        this.pendingCall = null; // {id, sentAt}
        this.staleIgnored = 0;
        this.disagreeSince = null; // when status and shadow started to disagree
        this.events = []; // {at, text} for the operator's log, newest last
    }

    AmrModel.prototype.note = function (now, text) {
        this.events.push({ at: now, text: text });
        if (this.events.length > 50) this.events.shift();
    };

    // The movement state the shadow (or, before any shadow, the status) says.
    AmrModel.prototype.movement = function () {
        var s = this.reported.state;
        if (this.shadowVersion !== null && (s === "idle" || s === "moving")) return s;
        if (this.status && (this.status.state === "idle" || this.status.state === "moving")) return this.status.state;
        return "unknown";
    };

    AmrModel.prototype.trackDisagreement = function (now) {
        var st = this.status && this.status.state;
        var disagree =
            this.online === true &&
            this.shadowVersion !== null &&
            (st === "idle" || st === "moving") &&
            st !== this.reported.state;
        if (!disagree) this.disagreeSince = null;
        else if (this.disagreeSince === null) this.disagreeSince = now;
    };

    // amr/<thing>/status. Returns {resync: bool}.
    AmrModel.prototype.onStatus = function (payload, now) {
        if (!isObject(payload) || typeof payload.state !== "string") return { resync: false };
        var wasOnline = this.online;
        this.status = payload;
        this.online = payload.state !== "offline";
        if (wasOnline === true && !this.online) this.note(now, "オフラインになりました");
        if (wasOnline === false && this.online) this.note(now, "オンラインに戻りました");
        this.trackDisagreement(now);
        // Back online: the shadow may have moved on while we were not looking.
        return { resync: wasOnline === false && this.online };
    };

    // $aws/events/presence/{connected|disconnected}/<thing>.
    AmrModel.prototype.onPresence = function (eventType, now) {
        if (eventType === "disconnected" && this.online !== false) {
            this.online = false;
            this.note(now, "ゲートウェイの接続が切れました");
        }
        return { resync: false };
    };

    // amr/<thing>/heartbeat. `retained`: delivered from the broker's store, not live.
    AmrModel.prototype.onHeartbeat = function (payload, retained, now) {
        if (!isObject(payload) || typeof payload.seq !== "number") return { resync: false };
        var at = now;
        if (retained) at = typeof payload.ts === "number" ? Math.min(now, payload.ts) : null;
        var resync = false;
        var prev = this.beat;
        if (!retained && prev) {
            if (payload.seq < prev.seq || (typeof payload.uptime_ms === "number" && payload.uptime_ms < prev.uptime_ms)) {
                this.note(now, "ゲートウェイが再起動しました");
                resync = true;
            } else if (payload.seq > prev.seq + 1) {
                this.note(now, "ハートビートの欠落を検知しました (" + (payload.seq - prev.seq - 1) + " 回)");
                resync = true;
            }
        }
        this.beat = payload;
        if (at !== null && (this.lastBeatAt === null || at >= this.lastBeatAt)) this.lastBeatAt = at;
        if (!retained && this.online === null) this.online = true;
        var tick = this.tick(now);
        return { resync: resync || tick.resync };
    };

    // How long after the last heartbeat it is late: 2.5 periods as that heartbeat announced them,
    // never less than heartbeatTimeoutMs (also for a heartbeat without period_ms).
    AmrModel.prototype.lateAfterMs = function () {
        var period = this.beat && typeof this.beat.period_ms === "number" && this.beat.period_ms > 0 ? this.beat.period_ms : 0;
        return Math.max(this.heartbeatTimeoutMs, LATE_FACTOR * period);
    };

    // The card of this AMR opened (or the page was shown again, or the console reconnected) and the
    // broker acknowledged its watch message (PUBACK): the gateway should answer with a heartbeat at once.
    AmrModel.prototype.watch = function (now) {
        this.watchedSince = now;
    };

    AmrModel.prototype.unwatch = function () {
        this.watchedSince = null;
    };

    // "none" | "good" | "checking" | "bad" (see the rules at the top).
    AmrModel.prototype.judgeLink = function (now) {
        if (this.lastBeatAt === null) return this.beat !== null ? "bad" : "none";
        var age = now - this.lastBeatAt;
        if (age >= this.lateAfterMs()) return "bad";
        if (this.watchedSince === null || this.lastBeatAt >= this.watchedSince || age < this.heartbeatTimeoutMs) return "good";
        // Watched, nothing since the watch began, and the last heartbeat too old for a watched AMR.
        return now - this.watchedSince < this.heartbeatTimeoutMs ? "checking" : "bad";
    };

    function duration(ms) {
        var s = Math.round(ms / 1000);
        if (s < 60) return s + " 秒";
        return Math.floor(s / 60) + " 分" + (s % 60 ? " " + (s % 60) + " 秒" : "");
    }

    // Periodic check. Returns {resync: bool} when the link just turned bad or recovered, or when a
    // status/shadow disagreement outlived its grace period.
    AmrModel.prototype.tick = function (now) {
        var link = this.judgeLink(now);
        var bad = link === "bad";
        var resync = false;
        if (link === "checking" && this.link !== "checking")
            this.note(now, "ハートビートを確認中です（" + duration(now - this.lastBeatAt) + "前の受信）");
        this.link = link;
        if (bad !== this.linkBad) {
            this.linkBad = bad;
            var why =
                this.watchedSince !== null && this.lastBeatAt !== null && this.lastBeatAt < this.watchedSince &&
                now - this.lastBeatAt < this.lateAfterMs()
                    ? "表示してから " + duration(now - this.watchedSince) + "以上ハートビートが届いていません"
                    : "ハートビートが " + duration(this.lateAfterMs()) + "以上届いていません";
            this.note(now, bad ? "通信不良: " + why : "ハートビートが戻りました");
            resync = true;
        }
        if (this.pendingCall && now - this.pendingCall.sentAt > 10000) {
            this.lastResult = { id: this.pendingCall.id, result: "refused", reason: "timeout", at: now };
            this.note(now, "呼出し " + this.pendingCall.id + " に応答がありません");
            this.pendingCall = null;
        }
        if (this.disagreeSince !== null && now - this.disagreeSince >= this.statusGraceMs) {
            this.disagreeSince = now; // at most one GET per grace period
            resync = true;
        }
        return { resync: resync };
    };

    // A whole shadow document: {state:{reported,desired}, version} (get/accepted, or the `current`
    // of update/documents). Returns {applied, stale}.
    AmrModel.prototype.applyDocument = function (doc, source, now) {
        if (!isObject(doc) || typeof doc.version !== "number") return { applied: false, stale: false };
        if (this.shadowVersion !== null && doc.version <= this.shadowVersion) {
            if (doc.version < this.shadowVersion) {
                this.staleIgnored += 1;
                this.note(
                    now,
                    "古い版 v" + doc.version + " を無視しました（表示中 v" + this.shadowVersion + "、" + source + "）"
                );
                return { applied: false, stale: true };
            }
            return { applied: false, stale: false };
        }
        var state = isObject(doc.state) ? doc.state : {};
        this.reported = isObject(state.reported) ? state.reported : {};
        this.shadowVersion = doc.version;
        this.trackDisagreement(now);
        return { applied: true, stale: false };
    };

    // $aws/things/<thing>/shadow/name/robot/<op>/<kind>.
    AmrModel.prototype.onShadow = function (op, kind, payload, now) {
        if (op === "get" && kind === "accepted") return this.applyDocument(payload, "GET", now);
        if (op === "update" && kind === "documents" && isObject(payload))
            return this.applyDocument(payload.current, "update/documents", now);
        if (op === "get" && kind === "rejected" && isObject(payload) && payload.code === 404)
            this.note(now, "Shadow がまだありません（ゲートウェイの最初の報告待ち）");
        return { applied: false, stale: false };
    };

    // amr/<thing>/cmd/result.
    AmrModel.prototype.onResult = function (payload, now) {
        if (!isObject(payload) || typeof payload.result !== "string") return;
        this.lastResult = {
            id: payload.id,
            result: payload.result,
            reason: payload.reason,
            detail: payload.detail,
            at: now,
        };
        if (this.pendingCall && payload.id === this.pendingCall.id) this.pendingCall = null;
    };

    AmrModel.prototype.callSent = function (id, now) {
        this.pendingCall = { id: id, sentAt: now };
        this.note(now, "呼出し " + id + " を送信しました");
    };

    // What the page shows. `connected`: the console's own MQTT connection is up. The link is judged
    // at `now`, not taken from the last tick (up to 500 ms old): a card opened on a slow AMR shows
    // 確認中 in its first render, not 正常 first. tick() still owns what changes state (the log, the
    // resync when the link turns bad or recovers).
    AmrModel.prototype.view = function (now, connected) {
        var state = this.online === false ? "offline" : this.online === null ? "unknown" : this.movement();
        var age = this.lastBeatAt === null ? null : Math.max(0, now - this.lastBeatAt);
        var link = this.judgeLink(now);
        var linkBad = link === "bad";
        var why = null;
        if (!connected) why = "サーバーに接続していません";
        else if (state === "offline") why = "AMR がオフラインです";
        else if (linkBad) why = "通信不良のため呼び出せません";
        else if (this.beat === null) why = "ハートビート待ちです";
        else if (link === "checking") why = "ハートビートを確認中です";
        else if (state === "moving") why = "移動中です";
        else if (state !== "idle") why = "状態を確認中です";
        else if (this.pendingCall) why = "応答待ちです";
        var result = null;
        if (this.lastResult) {
            var r = this.lastResult;
            result = {
                text:
                    (RESULT_LABELS[r.result] || r.result) +
                    (r.reason && r.result !== "duplicate" ? "（" + (REASON_LABELS[r.reason] || r.reason) + "）" : ""),
                ok: r.result === "accepted",
                id: r.id,
                detail: r.detail || "",
            };
        }
        return {
            thing: this.thing,
            state: state,
            stateLabel: STATE_LABELS[state],
            heartbeatAgeMs: age,
            linkBad: linkBad,
            link: link,
            linkLabel: LINK_LABELS[link],
            lateAfterMs: this.lateAfterMs(),
            shadowVersion: this.shadowVersion,
            lastResult: result,
            pendingCall: this.pendingCall ? this.pendingCall.id : null,
            callEnabled: why === null,
            callDisabledReason: why,
            staleIgnored: this.staleIgnored,
            events: this.events.slice(-5),
        };
    };

    NS.AmrModel = AmrModel;
})(typeof window !== "undefined" ? window : globalThis);
