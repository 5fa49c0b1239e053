#!/usr/bin/python3
"""The cost of the heartbeat (issue 18, docs/watched-heartbeat.md): AWS IoT Core metered messages
per AMR per month by message type, for (a) the seed's design (a heartbeat every 10 s, retained,
always) and (b) the watched heartbeat (10 s retained while a console's card is open, 5 min
otherwise, retained unless --slow-retain false), and the monthly message bill at 100 / 1,000 /
10,000 AMRs.

What is measured: two runs of the fleet simulator (tests/fleet: real `iotgw` gateways against
localcore, a console session subscribed with the browser console's fleet-view filters, calls as
the console's 呼出し button sends them): one with the seed's retained heartbeat, one with an
unretained one. Each run counts, per heartbeat, the publishes, the retains (the retain flag as
published) and the deliveries to the console, and per call every message of the call's
round trip by topic class (publishes, retains, deliveries to the console and to the gateway,
shadow requests). Counting per message, not per hour, lets a short run with a short heartbeat
period give the same per-message figures as a month at 10 s or 5 min; the period only
multiplies them.

What is modelled (printed with the figures): the month (30 days); consoles (one per
--amrs-per-console AMRs, each open --console-hours a month, one card open at a time, so each AMR
is watched console_hours / amrs_per_console hours); each card session (--card-minutes long) adds
one heartbeat at once and up to one lease (--lease) of fast heartbeats after it closes; the watch
refresh (one retained QoS 1 message every --refresh while watched, delivered to the gateway): it
is counted from this schedule, not measured, because plugins/watch is not part of this run;
--calls-per-day calls; --connects-per-day (re)connects per AMR with their lifecycle events.

Metering: tests/bench/metering.py (AWS's rules, with links). Prices: list prices to be confirmed
in the AWS Pricing Calculator.

Exit status: 0 (the cost target, (b) <= 10 % of (a) at 10,000 AMRs, is printed as met or
missed; it does not fail the run); 1 when a run crashed or its counts are impossible (no
heartbeat, a retain flag other than configured, a console receiving more or far fewer
heartbeats than were published, no call answered); 2 when it could not set itself up.
"""
import argparse
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fleet"))

import metering  # noqa: E402
import soak_gateway  # noqa: E402

MONTH_HOURS = 30 * 24
FLEETS = (100, 1_000, 10_000)
TARGET_SHARE = 0.10
# The gateway's subscriptions per (re)connect (configs/local.toml: the call and the shadow reply
# pipelines; the watched design adds amr/<thing>/watch), one SUBSCRIBE each. Each message on a
# topic they match is one delivery to the gateway.
GATEWAY_FILTERS_SEED = ("amr/{t}/cmd/call",) + tuple(
    "$aws/things/{t}/shadow/name/robot/" + f for _, f in soak_gateway.SHADOW_REPLY_PIPELINES)
GATEWAY_FILTERS_WATCHED = GATEWAY_FILTERS_SEED + ("amr/{t}/watch",)
# Remote jobs (configs/aws.toml; not in the seed's design): the jobs processor's four filters.
JOBS_FILTERS = ("$aws/things/{t}/jobs/notify-next", "$aws/things/{t}/jobs/start-next/+",
                "$aws/things/{t}/jobs/+/update/+", "$aws/things/{t}/jobs/+/get/+")
# A start-next request ({"clientToken":..., "stepTimeoutInMinutes":...}) and the reply when no job
# is pending ({"timestamp":..., "clientToken":...}), bytes, about this size.
START_NEXT_BYTES, START_NEXT_REPLY_BYTES = 90, 70
WATCH_PAYLOAD = '{"thing":"%s","console":"console-0123456789abcdef","lease_s":90}'


class Model:
    """The month and the operators (docs/watched-heartbeat.md, "Cost")."""

    def __init__(self, fast_period_s=10.0, slow_period_s=300.0, amrs_per_console=50, console_hours=8 * 22,
                 card_minutes=10.0, lease_s=90.0, refresh_s=30.0, calls_per_day=100.0, connects_per_day=1.0,
                 console_qos=1):
        self.fast_period_s = fast_period_s
        self.slow_period_s = slow_period_s
        self.amrs_per_console = amrs_per_console
        self.console_hours = console_hours
        self.card_minutes = card_minutes
        self.lease_s = lease_s
        self.refresh_s = refresh_s
        self.calls_per_day = calls_per_day
        self.connects_per_day = connects_per_day
        # The browser console subscribes at QoS 1 (client/public/js/mqtt_link.js says why), so each
        # delivery to it is two metered messages with its PUBACK; console_qos=0 shows the saving a
        # QoS 0 console would make.
        self.console_qos = console_qos
        self.slow_retain = True  # plugins/watch's default

    def watched_hours(self):
        """Hours a month one AMR's card is open: one card at a time per console."""
        return self.console_hours / self.amrs_per_console

    def card_sessions(self):
        """Card sessions a month per AMR (0 with an endless session: a lower bound)."""
        if math.isinf(self.card_minutes):
            return 0.0
        return self.watched_hours() * 60 / self.card_minutes

    def fast_hours(self):
        """Hours of fast heartbeats a month: while watched, plus up to one lease after each
        session (a lease runs out; nothing releases it)."""
        return self.watched_hours() + self.card_sessions() * self.lease_s / 3600

    def console_share(self):
        """The share of the month a console sees a given AMR (its fleet view is open)."""
        return self.console_hours / MONTH_HOURS


def units(topic, payload_bytes):
    return metering.message_units(metering.publish_size(topic, payload_bytes))


def console_pubacks(model, deliveries):
    """The console's PUBACKs for heartbeat deliveries: a row only when it subscribes at QoS 1."""
    return [("heartbeat PUBACK from the console", deliveries)] if model.console_qos == 1 else []


def heartbeat_rows_seed(model, hb, topic):
    """(a): the seed's heartbeat all month. `hb`: per heartbeat published, retained (0..1),
    delivered per console, average payload bytes (measured)."""
    u = units(topic, hb["bytes"])
    beats = MONTH_HOURS * 3600 / model.fast_period_s
    seen = model.console_hours * 3600 / model.fast_period_s
    return [
        ("heartbeat publish", beats * hb["published"] * u),
        ("heartbeat retain", beats * hb["retained"] * u),
        ("heartbeat delivery to the console", seen * hb["delivered_per_console"] * u),
    ] + console_pubacks(model, seen * hb["delivered_per_console"])


def heartbeat_rows_watched(model, fast, slow, topic):
    """(b): fast (10 s, retained: `fast` measured) while watched, slow (5 min, retained or not as
    `model.slow_retain`: `slow` measured) otherwise; the console sees fast beats while it watches and slow ones for the
    rest of its hours."""
    fh = model.fast_hours()
    fast_beats = fh * 3600 / model.fast_period_s + model.card_sessions()  # + the `now` beat per session
    slow_beats = (MONTH_HOURS - fh) * 3600 / model.slow_period_s
    fast_seen = fast_beats
    slow_seen = max(0.0, model.console_hours - fh) * 3600 / model.slow_period_s
    uf, us = units(topic, fast["bytes"]), units(topic, slow["bytes"])
    seen = fast_seen * fast["delivered_per_console"] + slow_seen * slow["delivered_per_console"]
    return [
        ("heartbeat publish", fast_beats * fast["published"] * uf + slow_beats * slow["published"] * us),
        ("heartbeat retain", fast_beats * fast["retained"] * uf + slow_beats * slow["retained"] * us),
        ("heartbeat delivery to the console",
         fast_seen * fast["delivered_per_console"] * uf + slow_seen * slow["delivered_per_console"] * us),
    ] + console_pubacks(model, seen)


def watch_rows(model, watch_bytes, topic):
    """The watch refresh, from the console's schedule (not measured): one retained QoS 1 publish
    when a card opens and every refresh_s while it is open, delivered to the gateway (QoS 1)."""
    n = model.watched_hours() * 3600 / model.refresh_s + model.card_sessions()
    u = units(topic, watch_bytes)
    return [
        ("watch refresh publish", n * u),
        ("watch refresh retain", n * u),
        ("watch delivery to the gateway", n * u),
        ("watch PUBACK from the gateway", n),
    ]


def call_rows(model, per_call):
    """Calls, results, status and shadow traffic: the measured per-call counts times the calls a
    month. `per_call`: {"inbound", "retained", "to_console", "to_gateway", "shadow_ops"}
    metered messages (or operations) per call."""
    calls = model.calls_per_day * 30
    return [
        ("calls: publishes (call, status, result, shadow update)", calls * per_call["inbound"]),
        ("calls: retains (status)", calls * per_call["retained"]),
        ("calls: deliveries to the gateway, with its PUBACK", calls * per_call["to_gateway"]),
        ("calls: deliveries to the console" + (", with its PUBACK" if model.console_qos else " (QoS 0: no PUBACK)"),
         calls * per_call["to_console"]),
    ]


def console_get_rows(model, get_accepted_bytes, thing):
    """The console's shadow GETs of one AMR (modelled; the runs' console does not send them): one
    when its card opens and one per console day when the fleet view loads (each console is open
    on 22 days). Each is a QoS 1 publish and its get/accepted delivered to the console."""
    days = model.console_hours / 8
    n = model.card_sessions() + days
    topic = f"$aws/things/{thing}/shadow/name/robot/get"
    return [("console shadow GETs (card opens, fleet view loads): request and reply",
             n * (metering.inbound_publish(metering.publish_size(topic, 0), retain=False)
                  + metering.delivery(metering.publish_size(topic + "/accepted", get_accepted_bytes),
                                      qos=model.console_qos)))], \
        n * metering.shadow_operations(get_accepted_bytes)


def connect_rows(model, filters, thing):
    """(Re)connects: CONNECT with the Will, one SUBSCRIBE per filter, the connected and
    disconnected lifecycle events delivered to the console (QoS 1) while its fleet view is open."""
    n = model.connects_per_day * 30
    will = metering.connect(f"amr/{thing}/status", len('{"state":"offline"}'))
    subs = sum(metering.subscribe([f.format(t=thing)]) for f in filters)
    event_bytes = 260  # a connected/disconnected event's JSON, about this size
    events = 2 * n * model.console_share() * metering.delivery(
        metering.publish_size(f"$aws/events/presence/disconnected/{thing}", event_bytes), qos=model.console_qos)
    return [
        ("(re)connects: CONNECT and SUBSCRIBE", n * (will + subs)),
        ("lifecycle events delivered to the console", events),
    ]


def jobs_rows(model, thing, gateway_qos=1):
    """Remote jobs in (b): at every (re)connect one SUBSCRIBE per jobs filter and a start-next
    request, whose reply (no job pending) is delivered to the gateway with its PUBACK. The jobs
    themselves (a config or health job now and then) are too rare to show and are left out."""
    n = model.connects_per_day * 30
    subs = sum(metering.subscribe([f.format(t=thing)]) for f in JOBS_FILTERS)
    request = metering.inbound_publish(
        metering.publish_size(f"$aws/things/{thing}/jobs/start-next", START_NEXT_BYTES), retain=False)
    reply = metering.delivery(
        metering.publish_size(f"$aws/things/{thing}/jobs/start-next/accepted", START_NEXT_REPLY_BYTES),
        qos=gateway_qos)
    return [("remote jobs: SUBSCRIBE and start-next at each (re)connect", n * (subs + request + reply))]


def per_call_figures(run, thing, console_qos=1):
    """Metered messages per call from a run's counts (topic classes other than the heartbeat and
    the lifecycle events)."""
    tap, con, calls = run["tap"], run["console"], run["calls"]
    inbound = retained = to_console = to_gateway = shadow_ops = 0.0
    detail = []
    for cls in sorted(set(tap["msgs"]) | set(con["msgs"])):
        if cls == "heartbeat" or cls.startswith("presence:"):
            continue
        pub = tap["msgs"].get(cls, 0)
        size = tap["bytes"].get(cls, 0) / pub if pub else 0
        topic = topic_of(cls, thing)
        u = units(topic, size)
        service = cls.startswith("shadow:") and cls not in ("shadow:update", "shadow:get")
        row = {"class": cls, "published": pub / calls, "retained": tap["retained"].get(cls, 0) / calls,
               "to_console": con["msgs"].get(cls, 0) / calls, "avg_bytes": round(size, 1)}
        if not service:  # what clients publish; the shadow service's responses are only deliveries
            inbound += row["published"] * u
            retained += row["retained"] * u
        if cls in ("shadow:update", "shadow:get"):
            shadow_ops += row["published"] * metering.shadow_operations(size)
        # The gateway's filters: its call topic and its shadow's reply topics.
        gw = pub if gateway_receives(topic, thing) else 0
        row["to_gateway"] = gw / calls
        to_gateway += row["to_gateway"] * metering.delivery(metering.publish_size(topic, size), qos=1)
        to_console += row["to_console"] * metering.delivery(metering.publish_size(topic, size), qos=console_qos)
        detail.append(row)
    return {"inbound": inbound, "retained": retained, "to_console": to_console, "to_gateway": to_gateway,
            "shadow_ops": shadow_ops}, detail


def topic_matches(topic_filter, topic):
    """MQTT filter matching (`+` one level, `#` the rest), enough for the gateway's filters."""
    f, t = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(f) == len(t)


def gateway_receives(topic, thing, filters=GATEWAY_FILTERS_WATCHED):
    return any(topic_matches(f.format(t=thing), topic) for f in filters)


def topic_of(cls, thing):
    """A topic of a class (fleet_report.topic_class backwards), for its metered size."""
    if cls.startswith("shadow:"):
        return f"$aws/things/{thing}/shadow/name/robot/{cls[len('shadow:'):]}"
    return f"amr/{thing}/{cls}"


def heartbeat_figures(run):
    tap, con = run["tap"], run["console"]
    pub = tap["msgs"].get("heartbeat", 0)
    return {"published": 1.0 if pub else 0.0,
            "retained": tap["retained"].get("heartbeat", 0) / pub if pub else 0.0,
            "delivered_per_console": con["msgs"].get("heartbeat", 0) / pub if pub else 0.0,
            "bytes": tap["bytes"].get("heartbeat", 0) / pub if pub else 0.0,
            "count": pub}


def impossible(run, retain, a):
    """Counts that cannot be (a broken run), as a list of texts."""
    bad = []
    hb = heartbeat_figures(run)
    n, expected = a.count, a.count * run["seconds"] / a.heartbeat_period
    if hb["count"] == 0:
        bad.append("no heartbeat was published")
    elif abs(hb["count"] - expected) > a.count + 0.1 * expected:
        bad.append(f"{hb['count']} heartbeats published, {expected:.0f} expected from {n} gateways over "
                   f"{run['seconds']:.1f} s at {a.heartbeat_period:g} s")
    if hb["count"] and hb["retained"] != (1.0 if retain else 0.0):
        bad.append(f"{hb['retained'] * 100:.0f} % of heartbeats were published retained; configured retain = {retain}")
    delivered = run["console"]["msgs"].get("heartbeat", 0)
    if hb["count"] and abs(delivered - hb["count"]) > max(2 * n, 0.05 * hb["count"]):
        bad.append(f"the console received {delivered} of {hb['count']} heartbeats")
    if run["calls"] <= 0 or run["answered"] <= 0:
        bad.append(f"no call answered ({run['answered']} of {run['calls']})")
    return bad


def measure(a, retain, work):
    """One fleet run: N gateways with the heartbeat retained or not, one console; counts over a
    window of a.duration seconds of calls. Returns the raw counts."""
    import fleet
    argv = ["--iotgw", a.iotgw, "--plugin-dir", a.plugin_dir, "--localcore", a.localcore,
            "--count", str(a.count), "--duration", str(a.duration), "--heartbeat-period", str(a.heartbeat_period),
            "--heartbeat-retain", "true" if retain else "false", "--calls-per-hour", str(a.calls_per_hour),
            "--desired-per-hour", "0", "--consoles", "1", "--pause", "0", "--kill-share", "0",
            "--no-broker-restart", "--work", work, "--seed", str(a.seed)]
    fa = fleet.parse_args(argv)
    sim = fleet.Sim(fa, work)
    try:
        sim.setup()
        if not sim.start_fleet():
            raise fleet.HarnessError("not all gateways connected: " + "; ".join(sim.failures))
        sim.phase = "load"
        time.sleep(2)  # the first heartbeats and shadow GETs after connecting are not steady state
        c0, t0 = sim.counters(), time.monotonic()
        sim.load_thread = threading.Thread(target=sim.load_loop, daemon=True)
        sim.load_thread.start()
        end = t0 + a.duration
        while time.monotonic() < end:
            sim.check_crashes()
            time.sleep(min(0.5, max(0.0, end - time.monotonic())))
        sim.stop_load.set()
        sim.load_thread.join(5)
        # The last calls' status, result and shadow messages: the simulated AMR moves for
        # --move-time; heartbeats in these seconds are counted on both sides alike.
        time.sleep(fa.move_time + 2)
        c1, t1 = sim.counters(), time.monotonic()
        sim.check_crashes()
        if sim.failures:
            raise fleet.HarnessCrash("; ".join(sim.failures))
        figures = sim.operator.figures("load")
        from fleet_clients import diff
        return {"tap": diff(c1["tap"], c0["tap"]), "console": diff(c1["consoles"][0], c0["consoles"][0]),
                "calls": figures["sent"], "answered": sum(v for k, v in figures["outcomes"].items()
                                                          if k not in ("pending", "unanswered")),
                "seconds": t1 - t0, "thing": sim.names[0]}
    finally:
        sim.finish()


def month_tables(model, hb_seed, hb_fast, hb_slow, per_call, thing, get_accepted_bytes):
    """The rows of (a) and (b), and the Device Shadow operations a month (both designs)."""
    topic = f"amr/{thing}/heartbeat"
    gets, get_ops = console_get_rows(model, get_accepted_bytes, thing)
    common = call_rows(model, per_call) + gets
    a_rows = heartbeat_rows_seed(model, hb_seed, topic) + common + connect_rows(model, GATEWAY_FILTERS_SEED, thing)
    watch_bytes = len(WATCH_PAYLOAD % thing)
    b_rows = (heartbeat_rows_watched(model, hb_fast, hb_slow, topic)
              + watch_rows(model, watch_bytes, f"amr/{thing}/watch") + common
              + connect_rows(model, GATEWAY_FILTERS_WATCHED, thing) + jobs_rows(model, thing))
    return a_rows, b_rows, per_call["shadow_ops"] * model.calls_per_day * 30 + get_ops


def share_at(a_total, b_total, fleet=10_000):
    """(b)'s message bill over (a)'s for `fleet` AMRs (tiered prices: not the ratio of counts)."""
    return metering.message_bill(b_total * fleet)[0] / metering.message_bill(a_total * fleet)[0]


def calls_for_target(model, tables, target=TARGET_SHARE, fleet=10_000, most=10_000.0):
    """The most calls per AMR per day (to 0.1) at which (b)'s bill is still within `target` of
    (a)'s at `fleet` AMRs: calls cost the same in both designs, so the more calls, the closer
    the two bills. `tables(model)` gives (a_rows, b_rows) for a model. None when even no calls
    miss the target; `most` when it is met up to it."""
    import copy

    def share(calls_per_day):
        m = copy.copy(model)
        m.calls_per_day = calls_per_day
        a_rows, b_rows = tables(m)
        return share_at(sum(v for _, v in a_rows), sum(v for _, v in b_rows), fleet)

    if share(0.0) > target:
        return None
    if share(most) <= target:
        return most
    lo, hi = 0.0, most  # share(lo) <= target < share(hi); the share grows with the calls
    while hi - lo > 0.05:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if share(mid) <= target else (lo, mid)
    return lo


def fmt_int(x):
    return f"{x:,.0f}"


def fmt_usd(x):
    return f"${x:,.0f}" if x >= 100 else f"${x:,.2f}"


def print_report(model, a_rows, b_rows, shadow_ops_month, hb_runs, detail, runs):
    import fleet_report as report
    print()
    print("Measured per heartbeat (fleet simulator, 1 console subscribed to every AMR):")
    print(report.table([[name, r["count"], f"{r['published']:.2f}", f"{r['retained']:.2f}",
                         f"{r['delivered_per_console']:.3f}", f"{r['bytes']:.1f}"] for name, r in hb_runs],
                       ["run", "heartbeats", "publishes each", "retained each", "deliveries to the console each",
                        "payload bytes"]))
    print()
    calls = runs[0]["calls"]
    print(f"Measured per call (run (a), {calls} calls; every message class but heartbeats and lifecycle events):")
    print(report.table([[d["class"], f"{d['published']:.2f}", f"{d['retained']:.2f}", f"{d['to_gateway']:.2f}",
                         f"{d['to_console']:.2f}", d["avg_bytes"]] for d in detail],
                       ["topic class", "published", "retained", "to the gateway", "to the console", "avg bytes"]))
    print()
    print(f"Model: 30 days; one console per {model.amrs_per_console} AMRs, open {model.console_hours:g} h a month; "
          f"one card open at a time, so each AMR is watched {model.watched_hours():.2f} h; card sessions of "
          f"{model.card_minutes:g} min ({model.card_sessions():.1f} a month per AMR), each adding a `now` heartbeat "
          f"and up to one {model.lease_s:g} s lease of fast heartbeats ({model.fast_hours():.2f} h fast in all); "
          f"fast {model.fast_period_s:g} s retained, slow {model.slow_period_s:g} s "
          f"{'retained' if model.slow_retain else 'not retained'}; the watch "
          f"refresh every {model.refresh_s:g} s while watched, counted from this schedule (plugins/watch is "
          f"not in this run); {model.calls_per_day:g} calls a day; {model.connects_per_day:g} (re)connect(s) a "
          f"day. QoS 1 deliveries add the receiver's PUBACK (metered by AWS): the gateway's; the console "
          f"subscribes at QoS {model.console_qos}.")
    print()
    print("Metered messages per AMR per month (AWS IoT Core rules: tests/bench/metering.py):")
    names = [n for n, _ in b_rows]
    for n, _ in a_rows:
        if n not in names:
            names.append(n)
    a, b = dict(a_rows), dict(b_rows)
    rows = [[n, fmt_int(a[n]) if n in a else "-", fmt_int(b[n]) if n in b else "-"] for n in names]
    ta, tb = sum(a.values()), sum(b.values())
    rows.append(["total", fmt_int(ta), fmt_int(tb)])
    rows.append(["Device Shadow operations (billed apart)", fmt_int(shadow_ops_month), fmt_int(shadow_ops_month)])
    print(report.table(rows, ["message type", "(a) seed: 10 s retained always", "(b) watched heartbeat"]))
    print()
    print("Monthly IoT Core message bill (list prices, to be confirmed in the AWS Pricing Calculator: "
          "USD 1.00 per million up to 1 billion, 0.80 for the next 4 billion, 0.70 beyond):")
    bill_rows, share_at = [], {}
    for n in FLEETS:
        ba, _ = metering.message_bill(ta * n)
        bb, _ = metering.message_bill(tb * n)
        share_at[n] = bb / ba
        bill_rows.append([f"{n:,} AMRs", f"{ta * n / 1e6:,.1f} M -> {fmt_usd(ba)}",
                          f"{tb * n / 1e6:,.2f} M -> {fmt_usd(bb)}", f"{bb / ba * 100:.1f} %"])
    print(report.table(bill_rows, ["fleet", "(a) seed", "(b) watched", "(b)/(a)"]))
    print()
    hb = ("heartbeat", "watch")
    ha = sum(v for k, v in a.items() if k.startswith(hb))
    hbb = sum(v for k, v in b.items() if k.startswith(hb))
    print(f"heartbeat and watch messages alone: (a) {fmt_int(ha)}, (b) {fmt_int(hbb)} per AMR per month "
          f"({hbb / ha * 100:.1f} %); everything else is the same in both ({fmt_int(ta - ha)} in (a), "
          f"{fmt_int(tb - hbb)} in (b)) and is {(tb - hbb) / tb * 100:.0f} % of (b)")
    share = share_at[10_000]
    print(f"target: the message bill at 10,000 AMRs at most {TARGET_SHARE * 100:.0f} % of (a): "
          f"{share * 100:.1f} % -> {'met' if share <= TARGET_SHARE else 'MISSED'}")
    return {"a_total": ta, "b_total": tb, "share_10000": share}


def parse_args(argv):
    import soak_cli
    ap = soak_cli.parser_with_binaries(__doc__)
    ap.formatter_class = argparse.RawDescriptionHelpFormatter
    ap.add_argument("--count", type=int, default=5, help="gateways per run (default 5)")
    ap.add_argument("--duration", type=float, default=30, help="seconds counted per run (default 30)")
    ap.add_argument("--heartbeat-period", type=float, default=2,
                    help="the runs' heartbeat period, s (default 2: more heartbeats in a short run; "
                    "counted per heartbeat)")
    ap.add_argument("--calls-per-hour", type=float, default=360,
                    help="calls per AMR per hour in the runs (default 360)")
    ap.add_argument("--calls-per-day", type=float, default=100, help="calls per AMR per day in the month (default 100)")
    ap.add_argument("--connects-per-day", type=float, default=1, help="(re)connects per AMR per day (default 1)")
    ap.add_argument("--amrs-per-console", type=int, default=50)
    ap.add_argument("--console-hours", type=float, default=8 * 22, help="hours a console is open a month (176)")
    ap.add_argument("--card-minutes", type=float, default=10, help="minutes a card stays open per session (10)")
    ap.add_argument("--slow-retain", choices=("true", "false"), default="true",
                    help="whether (b)'s slow heartbeats are retained (default true, as plugins/watch's "
                    "slow_retain: otherwise the broker keeps the last fast one; its README says why)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", help="scratch directory (kept); default: a temporary one")
    a = ap.parse_args(argv)
    if a.count < 1 or a.duration <= 0 or a.heartbeat_period < 1 or a.calls_per_hour <= 0:
        ap.error("--count >= 1, --duration > 0, --heartbeat-period >= 1 (the plugin's minimum), --calls-per-hour > 0")
    return a


def on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv):
    a = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    work = a.work or tempfile.mkdtemp(prefix="iotgw-hbcost-")
    import fleet
    runs, failures = [], []
    status = 0
    # The whole run's deadline: two fleet setups, windows and cleanups.
    signal.signal(signal.SIGALRM, fleet.on_deadline)
    signal.alarm(int(2 * (a.duration + 200 + a.count / 5)))
    try:
        for name, retain in (("(a) seed: retained", True), ("(b) slow: not retained", False)):
            print(f"run {name}: {a.count} gateways, heartbeat every {a.heartbeat_period:g} s, "
                  f"{a.duration:g} s counted", flush=True)
            run = measure(a, retain, os.path.join(work, "retained" if retain else "unretained"))
            bad = impossible(run, retain, a)
            failures += [f"{name}: {b}" for b in bad]
            runs.append(run)
    except (fleet.HarnessError, KeyboardInterrupt) as e:
        print(f"heartbeat_cost: {e}", file=sys.stderr)
        status = 2
    except fleet.HarnessCrash as e:
        failures.append(str(e))
    finally:
        signal.alarm(0)
    if status == 0 and len(runs) == 2:
        model = Model(card_minutes=a.card_minutes, amrs_per_console=a.amrs_per_console,
                      console_hours=a.console_hours, calls_per_day=a.calls_per_day, connects_per_day=a.connects_per_day)
        thing = runs[0]["thing"]  # its length is in each metered size
        hb_seed, hb_unretained = heartbeat_figures(runs[0]), heartbeat_figures(runs[1])
        # Per heartbeat the counts do not depend on the period: (b)'s slow beats are the retained
        # run's figures when they are retained, the other run's when not.
        model.slow_retain = a.slow_retain == "true"
        hb_slow = hb_seed if model.slow_retain else hb_unretained
        per_call, detail = per_call_figures(runs[0], thing, model.console_qos)
        # The shadow document as the console's GET would return it: the size of the documents
        # messages the run saw (previous and current state: larger than a GET's reply).
        docs = runs[0]["tap"]
        get_bytes = (docs["bytes"].get("shadow:update/documents", 0)
                     / max(1, docs["msgs"].get("shadow:update/documents", 0)))
        a_rows, b_rows, shadow_ops = month_tables(model, hb_seed, hb_seed, hb_slow, per_call, thing, get_bytes)
        print_report(model, a_rows, b_rows, shadow_ops,
                     [("retained", hb_seed), ("not retained", hb_unretained)], detail, runs)
        # Calls cost the same in both designs, so whether the target can be met depends on how many
        # there are: the break-even rate, for the site to compare with its own.
        per_call_metered = per_call["inbound"] + per_call["retained"] + per_call["to_gateway"] + per_call["to_console"]
        most = calls_for_target(
            model, lambda m: month_tables(m, hb_seed, hb_seed, hb_slow, per_call, thing, get_bytes)[:2])
        if most is None:
            print("the target is missed even without calls")
        else:
            print(f"the target is met up to {most:.1f} calls per AMR per day ({per_call_metered:.1f} metered "
                  f"messages per call as measured); the model assumes {model.calls_per_day:g}")
    if failures:
        print("\nresult: FAIL: " + "; ".join(failures))
        status = status or 1
    elif status == 0:
        print("\nresult: pass (counts possible; the target is information)")
    if a.work is None and status == 0:
        shutil.rmtree(work, ignore_errors=True)
    elif status != 0:
        print(f"heartbeat_cost: scratch directory kept: {work}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
