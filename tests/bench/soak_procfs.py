"""What the soak reads about the gateway process from /proc, and the arithmetic on it.

Only the kernel's own accounting is used: RssAnon and Threads from /proc/PID/status (RssAnon is
the process's private anonymous memory, the figure a leak makes grow), Pss from
/proc/PID/smaps_rollup (shared libraries counted by share) and the entries of /proc/PID/fd.
"""
import os


def sample(pid):
    """{'anon_kb', 'pss_kb', 'fds', 'threads'} of a live process; raises OSError once it is gone."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    pss_kb = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss_kb = int(line.split()[1])
                break
    return {
        "anon_kb": int(fields["RssAnon"].split()[0]),
        "pss_kb": pss_kb,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(fields["Threads"]),
    }


def slope_per_hour(points):
    """Least-squares slope of [(seconds, value), ...] in value units per hour; None for < 2 points
    or when every point has the same time."""
    n = len(points)
    if n < 2:
        return None
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in points)
    if var_t == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var_t * 3600.0


def last_half(points):
    """The points in the later half of their time span. Memory that is still settling after the
    warm-up (malloc arenas reaching their working size, tables filling up to their bound) grows
    mostly early and then flattens, while a leak grows at the same rate throughout: the slope over
    the last half tells the two apart where the slope over the whole window does not."""
    if not points:
        return []
    middle = (points[0][0] + points[-1][0]) / 2
    return [p for p in points if p[0] >= middle]


def fitted_at(points, t):
    """The least-squares line through `points` evaluated at time `t` (the mean when flat)."""
    n = len(points)
    mean_t = sum(p[0] for p in points) / n
    mean_v = sum(p[1] for p in points) / n
    per_hour = slope_per_hour(points)
    if per_hour is None:
        return mean_v
    return mean_v + per_hour / 3600.0 * (t - mean_t)
