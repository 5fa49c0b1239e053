#!/usr/bin/python3
"""The soak's arithmetic and verdict rules, checked without any process or socket: the slope
that reports memory growth, the heartbeat accounting that decides "uncounted lost message", the
leak bound, and the parsing of the gateway's metrics lines. Run by ctest (soak_selftest)."""
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import soak_procfs  # noqa: E402
import soak_verdict  # noqa: E402
from soak_gateway import METRIC_LINE  # noqa: E402


class SlopeTest(unittest.TestCase):
    def test_a_line_growing_1_kb_per_second_is_3600_kb_per_hour(self):
        points = [(t, 1000 + t) for t in range(0, 600, 5)]
        self.assertAlmostEqual(soak_procfs.slope_per_hour(points), 3600.0)
        self.assertAlmostEqual(soak_procfs.fitted_at(points, 100), 1100.0)

    def test_a_flat_series_with_noise_has_a_small_slope(self):
        points = [(t, 2048 + (4 if t % 10 == 0 else -4)) for t in range(0, 3600, 2)]
        self.assertLess(abs(soak_procfs.slope_per_hour(points)), 1.0)

    def test_too_few_or_simultaneous_points_have_no_slope(self):
        self.assertIsNone(soak_procfs.slope_per_hour([(1, 5)]))
        self.assertIsNone(soak_procfs.slope_per_hour([(1, 5), (1, 7)]))
        self.assertEqual(soak_procfs.fitted_at([(1, 5), (1, 7)], 9), 6)

    def test_a_leak_grows_as_fast_in_the_last_half_as_over_the_whole_window(self):
        points = [(t, 2048 + t / 36) for t in range(600, 3600, 2)]  # +100 kB/h, linear
        whole = soak_procfs.slope_per_hour(points)
        late = soak_procfs.slope_per_hour(soak_procfs.last_half(points))
        self.assertAlmostEqual(whole, 100.0, places=6)
        self.assertAlmostEqual(late, 100.0, places=6)

    def test_memory_still_settling_after_warm_up_grows_mostly_in_the_first_half(self):
        # 150 kB approached with a 10-minute time constant from t = 600 s (malloc arenas and
        # bounded tables filling up): over 600..3600 s the least-squares slope is several %/h of
        # 2 MB, over the last half it is a small fraction of that.
        points = [(t, 2048 + 150 * (1 - math.exp(-(t - 600) / 600))) for t in range(600, 3600, 2)]
        whole = soak_procfs.slope_per_hour(points)
        late = soak_procfs.slope_per_hour(soak_procfs.last_half(points))
        self.assertGreater(whole, 60.0)
        self.assertLess(late, 0.25 * whole)

    def test_the_last_half_is_the_later_half_of_the_time_span(self):
        points = [(10, 1), (20, 2), (30, 3), (40, 4), (50, 5)]
        self.assertEqual(soak_procfs.last_half(points), [(30, 3), (40, 4), (50, 5)])
        self.assertEqual(soak_procfs.last_half([]), [])

    def test_a_live_process_can_be_sampled(self):
        s = soak_procfs.sample(os.getpid())
        self.assertGreater(s["anon_kb"], 0)
        self.assertGreater(s["fds"], 2)
        self.assertGreaterEqual(s["threads"], 1)


class HeartbeatVerdictTest(unittest.TestCase):
    def test_every_seq_received_means_nothing_missing(self):
        self.assertEqual(soak_verdict.missing_heartbeats(5, {1, 2, 3, 4, 5, 6}), [])

    def test_holes_are_the_missing_seqs(self):
        self.assertEqual(soak_verdict.missing_heartbeats(6, {1, 2, 5}), [3, 4, 6])

    def test_a_loss_the_gateway_counted_is_not_a_failure(self):
        self.assertEqual(soak_verdict.uncounted_losses([3, 4], 2), 0)
        self.assertEqual(soak_verdict.uncounted_losses([3, 4], 7), 0)

    def test_a_loss_beyond_the_counted_drops_is_a_failure(self):
        self.assertEqual(soak_verdict.uncounted_losses([3, 4, 6], 2), 1)
        self.assertEqual(soak_verdict.uncounted_losses([9], 0), 1)


class LeakTest(unittest.TestCase):
    def test_growth_within_the_slack_is_not_a_leak(self):
        self.assertFalse(soak_verdict.leaked(12, 16, 4))
        self.assertFalse(soak_verdict.leaked(12, 10, 4))

    def test_growth_beyond_the_slack_is_a_leak(self):
        self.assertTrue(soak_verdict.leaked(12, 17, 4))


class MetricLineTest(unittest.TestCase):
    def test_the_gateway_metrics_line_is_parsed(self):
        line = "<6>2026-12-05T00:11:13.098Z metrics: cloud.queue_dropped = 3"
        m = METRIC_LINE.search(line)
        self.assertEqual((m.group(1), m.group(2)), ("cloud.queue_dropped", "3"))

    def test_a_gauge_value_is_parsed(self):
        m = METRIC_LINE.search("<6>2026-12-05T00:11:13.098Z metrics: cloud.connected = 1.000000")
        self.assertEqual(float(m.group(2)), 1.0)


if __name__ == "__main__":
    unittest.main()
