"""The fleet simulator's arithmetic: percentiles, connects per second, the reconnect-storm model
for a larger fleet, and the printed table. Pure functions (tested by fleet_selftest.py)."""
import math
import random


def percentile(values, p, digits=None):
    """Nearest-rank percentile (p in 0..100) of a list; None when empty. Rounded to `digits`
    decimals when given."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k] if digits is None else round(s[k], digits)


def per_second(times, origin):
    """[count in [origin+i, origin+i+1)) for i = 0..]: connects per second from `origin`."""
    if not times:
        return []
    bins = [0] * max(0, math.floor(max(times) - origin) + 1)
    for t in times:
        i = math.floor(t - origin)  # not int(): -0.5 must not land in second 0
        if i >= 0:
            bins[i] += 1
    return bins


# plugins/mqtt/reconnect_backoff.hpp kSameClientIdConnectInterval: no two attempts of one gateway
# less than 1 s apart (AWS accepts one CONNECT per second per client id), reconnect_min raised to it.
SAME_CLIENT_ID_INTERVAL_S = 1.0
# plugins/mqtt/mqtt_settings.hpp kDefaultReconnectSpread: the first attempt's window when unset.
DEFAULT_RECONNECT_SPREAD_S = 30.0


def _uniform_ms(rng, lo_s, hi_s):
    """std::uniform_int_distribution over whole milliseconds [lo, hi], in seconds: the plugin
    draws integers of std::chrono::milliseconds."""
    return rng.randint(round(lo_s * 1000), round(hi_s * 1000)) / 1000.0


def _bounds(minimum, maximum, floor):
    """Backoff's constructor: min raised to the floor, max raised to min."""
    lo = max(minimum, floor)
    return lo, max(maximum, lo)


def backoff_delay(rng, attempt, minimum, maximum, floor=SAME_CLIENT_ID_INTERVAL_S):
    """plugins/common Backoff::delay with full jitter (seconds): the ceiling min * 2^attempt, at
    most max; a whole-millisecond draw from [floor, ceiling], never below the floor (drawn from
    above it, not raised to it, so nobody piles up on the floor). `attempt` n is the n-th failure
    in a row (plugins/mqtt: delay(failures_++), so the retry after the spread first attempt is
    attempt 1, ceiling 2 * reconnect_min)."""
    lo, hi = _bounds(minimum, maximum, floor)
    ceiling = min(lo * (2 ** min(attempt, 30)), hi)
    return max(floor, _uniform_ms(rng, min(floor, ceiling), ceiling))


def effective_spread(spread, maximum):
    """reconnect_spread as plugins/mqtt reads it (mqtt_settings.cpp): the configured value, or
    kDefaultReconnectSpread (30 s) when unset, or reconnect_max if that is shorter."""
    return min(DEFAULT_RECONNECT_SPREAD_S, maximum) if spread is None else spread


def first_delay_window(spread, minimum, maximum, floor=SAME_CLIENT_ID_INTERVAL_S):
    """(low, high) seconds of the first attempt after a loss: Backoff::spread's [floor,
    min(spread, max)], or for a zero window delay(0)'s [floor, reconnect_min]."""
    lo_min, hi_max = _bounds(minimum, maximum, floor)
    hi = min(spread, hi_max) if spread > 0 else min(lo_min, hi_max)
    return min(floor, hi), hi


def first_delay(rng, spread, minimum, maximum, floor=SAME_CLIENT_ID_INTERVAL_S):
    """The first attempt after a lost connection, when no attempt has failed since the last
    connection that lived >= 10 s or since the start (plugins/mqtt on_lost: failures_ is 0 ->
    delay_after_loss(attempt 0) -> Backoff::spread): a whole-millisecond draw from
    first_delay_window, never below the floor."""
    lo, hi = first_delay_window(spread, minimum, maximum, floor)
    return max(floor, _uniform_ms(rng, lo, hi))


def uniform_fit(delays, lo, hi, resolution=0.0):
    """How well measured first delays fit the model's uniform [lo, hi]: the Kolmogorov-Smirnov
    distance D (largest gap between the measured and the model's cumulative share) and the 5 %
    critical value 1.36 / sqrt(n) (a D above it says the delays do not follow the model). The
    gateway logs delays rounded to `resolution` (0.1 s), so a logged v stands for
    [v - resolution/2, v + resolution/2): the model's share is read at that interval's ends, and
    rounding alone adds no distance."""
    if not delays or hi <= lo:
        return None
    s = sorted(delays)
    n = len(s)

    def cdf(x):
        return min(1.0, max(0.0, (x - lo) / (hi - lo)))

    d = 0.0
    i = 0
    while i < n:
        j = i
        while j < n and s[j] == s[i]:
            j += 1
        # Below this value the measured share is i/n, after it j/n.
        d = max(d, abs(i / n - cdf(s[i] - resolution / 2)), abs(j / n - cdf(s[i] + resolution / 2)))
        i = j
    return {"count": n, "ks_distance": round(d, 4), "ks_critical_5pct": round(1.36 / math.sqrt(n), 4),
            "mean": round(sum(s) / n, 3), "model_mean": (lo + hi) / 2, "model_low": lo, "model_high": hi}


def simulate_storm(fleet, quota_per_s, first_delays=None, minimum=1.0, maximum=120.0, spread=None, outage_s=0.0,
                   seed=1, limit_s=3600.0):
    """A fleet of `fleet` gateways that all lost a stable connection at t = 0 against an endpoint
    that is back after `outage_s` and accepts at most `quota_per_s` CONNECTs per second (AWS's
    per-account quota: the rest are refused, counted as failed attempts). Each gateway's first
    attempt is drawn from `first_delays` (measured, seconds) when given, else from the plugin's
    window (first_delay: reconnect_spread `spread`, unset = the plugin's default); later ones
    follow the plugin's backoff (attempt 1, 2, ... after each failure). An attempt is refused at
    once (AWS answers a throttled CONNECT within a round trip); paho's ~1 s per connect attempt
    on a fresh socket (docs/scaling.md) would only space retries further.

    Returns {'attempts_per_s': [...], 'accepted_per_s': [...], 'peak_attempts_per_s',
    'refused', 'all_back_s'}."""
    import heapq
    rng = random.Random(seed)
    window = effective_spread(spread, maximum)

    def first():
        return rng.choice(first_delays) if first_delays else first_delay(rng, window, minimum, maximum)

    heap = [(first(), 1) for _ in range(fleet)]
    heapq.heapify(heap)
    attempts, accepted = {}, {}
    refused = 0
    last = 0.0
    while heap:
        t, next_attempt = heapq.heappop(heap)
        if t > limit_s:
            break
        sec = int(t)
        attempts[sec] = attempts.get(sec, 0) + 1
        if t >= outage_s and accepted.get(sec, 0) < quota_per_s:
            accepted[sec] = accepted.get(sec, 0) + 1
            last = max(last, t)
            continue
        refused += 1
        heapq.heappush(heap, (t + backoff_delay(rng, next_attempt, minimum, maximum), next_attempt + 1))
    n = max(list(attempts) + [0]) + 1
    return {
        "attempts_per_s": [attempts.get(i, 0) for i in range(n)],
        "accepted_per_s": [accepted.get(i, 0) for i in range(n)],
        "peak_attempts_per_s": max(attempts.values()) if attempts else 0,
        "refused": refused,
        "all_back_s": last if not heap else None,
    }


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table(rows, headers):
    """A Markdown table (also readable as plain text)."""
    cells = [[fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in cells:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(out)


def _pair(a, b, unit):
    return f"{fmt(a)} / {fmt(b)} {unit}"


# Seconds of a per-second list printed in one row: the default reconnect_spread (30 s) makes a
# ~32 s storm, and 2 x reconnect_max would make an unreadable row; the JSON has every second.
PER_SECOND_SHOWN = 60


def _per_second_text(bins):
    if len(bins) <= PER_SECOND_SHOWN:
        return str(bins)
    return f"{str(bins[:PER_SECOND_SHOWN])[:-1]}, ...] ({len(bins) - PER_SECOND_SHOWN} more seconds in the JSON)"


def summary_rows(out):
    """The [figure, value] rows of the printed summary, from the JSON figures."""
    reg, st = out["registration"], out.get("start", {})
    rows = [["things registered (issue-batch)", f"{reg['things']} in {reg['seconds']} s"],
            ["start: all connected after", f"{fmt(st.get('all_connected_s'))} s (spawned in {st.get('spawn_s')} s)"]]
    ld = out.get("load")
    if ld:
        g, bm, c = ld["gateways"], ld["broker_memory"], ld["calls"]
        rows += [
            ["load window", f"{ld['seconds']} s"],
            ["localcore CPU", f"{ld['broker_cpu_s']} s ({ld['broker_cpu_share_of_one_core'] * 100:.1f} % of a core)"],
            ["localcore RSS / RssAnon / fds",
             f"{bm.get('rss_kb', 0) / 1024:.1f} MB / {bm.get('anon_kb', 0) / 1024:.1f} MB / {bm.get('fds')}"],
            ["gateways: RSS total (each)", f"{g['rss_mb_total']} MB ({g['rss_mb_each']} MB)"],
            ["gateways: PSS total / RssAnon each", f"{g['pss_mb_total']} MB / {g['anon_mb_each']} MB"],
            ["gateways: fds / threads each", f"{g['fds_each']} / {g['threads_each']}"],
            ["gateways: CPU", f"{g['cpu_s']} s ({g['cpu_share_of_one_core'] * 100:.1f} % of a core)"],
            ["calls sent / outcomes", f"{c['sent']} / {c['outcomes']}"],
            ["call -> status moving p50 / p99", _pair(c["to_status_ms_p50"], c["to_status_ms_p99"], "ms")],
            ["call -> delivered to the tap p50 / p99", _pair(c["call_to_tap_ms_p50"], c["call_to_tap_ms_p99"], "ms")],
            ["call -> result p50 / p99", _pair(c["to_result_ms_p50"], c["to_result_ms_p99"], "ms")],
        ]
    if "pause" in out:
        p = out["pause"]
        rows.append([f"pause {p['seconds']} s: disconnects / calls",
                     f"{p['disconnects']} / {p['outcomes']}, max call->status {fmt(p['to_status_ms_max'])} ms"])
    if "kill" in out:
        k = out["kill"]
        rows.append(["killed AMRs: all back after restart",
                     f"{k['killed']} killed, {fmt(k['all_back_after_restart_s'])} s"])
    if "broker_restart" in out:
        b = out["broker_restart"]
        f = b["first_attempt_delay_s"]
        model = b["storm_model"]
        rows += [
            ["broker restart: down", f"{b['down_s']} s"],
            ["storm: all back after broker up (presence)", f"{fmt(b['all_back_after_up_s'])} s"],
            ["storm: all back after stop (gateway logs)", f"{fmt(b['all_back_after_stop_s_gateway_logs'])} s"],
            ["storm: CONNACKs per s from stop (gateway logs)", _per_second_text(b["connacks_per_s_from_stop"])],
            ["storm: peak CONNACKs/s (gateway logs)", str(b["peak_connacks_per_s"])],
            ["storm: connected events per s from up (presence)", _per_second_text(b["connects_per_s_from_up"])],
            ["storm: CONNACK refusals (connect_failed)", str(b["connect_failed_events"])],
            ["first attempts per s (from stop)", _per_second_text(b["first_attempts_per_s_from_stop"])],
            ["first attempt delay: min/p50/p90/max", f"{f['min']}/{f['p50']}/{f['p90']}/{f['max']} s (n={f['count']})"],
        ]
        c = b.get("first_attempt_to_connack_s")
        if c:
            rows.append(["first attempt -> CONNACK p50/p90/max", f"{fmt(c['p50'], 3)}/{fmt(c['p90'], 3)}/"
                         f"{fmt(c['max'], 3)} s (n={c['count']})"])
        lo, hi = model["first_delay_window_s"]
        fit = model.get("measured_fit")
        if fit:
            rows.append([f"first delays vs the model, uniform {fmt(lo)}-{fmt(hi)} s",
                         f"mean {fit['mean']} s (model {fit['model_mean']} s), KS distance {fit['ks_distance']} "
                         f"({'within' if fit['ks_distance'] <= fit['ks_critical_5pct'] else 'ABOVE'} the 5 % "
                         f"critical value {fit['ks_critical_5pct']})"])
        rows.append([f"model: {model['fleet']} AMRs, unthrottled",
                     f"peak {model['unthrottled_peak_attempts_per_s']} attempts/s, all back "
                     f"{fmt(model['unthrottled_all_back_s'])} s"])
        for q, s in model["by_quota"].items():
            rows.append([f"model: {model['fleet']} AMRs vs {q}/s quota",
                         f"peak {s['peak_attempts_per_s']} attempts/s, {s['refused_attempts']} refused, "
                         f"all back {fmt(s['all_back_s'])} s"])
    return rows


def topic_class(topic):
    """'status', 'cmd/result', 'shadow:update/accepted', 'presence:connected', ...: the topic
    without the thing name, so counts add up per kind of message."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == "amr":
        return "/".join(parts[2:])
    if topic.startswith("$aws/things/") and len(parts) >= 7 and parts[3:6] == ["shadow", "name", "robot"]:
        return "shadow:" + "/".join(parts[6:])
    if topic.startswith("$aws/events/presence/") and len(parts) >= 5:
        return "presence:" + parts[3]
    return topic
