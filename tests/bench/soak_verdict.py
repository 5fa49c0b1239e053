"""The soak's pass/fail rules, as pure functions (tested by soak_selftest.py): what counts as a
lost message and what counts as a leak. Everything else the soak prints is a figure."""


def missing_heartbeats(beats_sent, received_seqs):
    """The seqs 1..beats_sent the subscriber never received (the heartbeat plugin numbers its
    beats from 1 and a skipped period consumes no seq, so any hole is a message that was lost)."""
    return [s for s in range(1, beats_sent + 1) if s not in received_seqs]


def uncounted_losses(missing, counted_drops):
    """How many of the missing heartbeats the gateway did not account for. `counted_drops` is
    every message it counted as dropped (offline queue, failed publishes, heartbeat pipeline
    failures), whatever the topic: generous to the gateway, so a failure here is a real loss."""
    return max(0, len(missing) - counted_drops)


def leaked(baseline, at_end, slack):
    """True when a count (fds, threads) at the end exceeds the baseline by more than `slack`."""
    return at_end > baseline + slack
