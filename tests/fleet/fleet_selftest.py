#!/usr/bin/python3
"""The fleet simulator's arithmetic and parsing, checked without any process or socket: the
percentile, connects per second, the storm model against a connect quota, the topic classes of
the message table and the gateway log lines the first-reconnect delays are read from. Run by
ctest (fleet_selftest)."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleet_report as report  # noqa: E402
from fleet_report import topic_class  # noqa: E402
from fleet_gateways import RECONNECT_IN, RETRYING_IN, log_time  # noqa: E402


class PercentileTest(unittest.TestCase):
    def test_nearest_rank(self):
        values = list(range(1, 101))
        self.assertEqual(report.percentile(values, 50), 50)
        self.assertEqual(report.percentile(values, 99), 99)
        self.assertEqual(report.percentile(values, 100), 100)
        self.assertEqual(report.percentile([7], 99), 7)
        self.assertIsNone(report.percentile([], 50))


class PerSecondTest(unittest.TestCase):
    def test_counts_per_whole_second_from_the_origin(self):
        self.assertEqual(report.per_second([100.1, 100.9, 101.0, 103.5], 100.0), [2, 1, 0, 1])
        self.assertEqual(report.per_second([], 0.0), [])

    def test_times_before_the_origin_are_not_counted(self):
        self.assertEqual(report.per_second([99.5, 100.5], 100.0), [1])


class BackoffTest(unittest.TestCase):
    def test_full_jitter_below_the_doubling_ceiling_and_never_under_the_floor(self):
        rng = random.Random(3)
        for attempt, ceiling in ((0, 1.0), (1, 2.0), (3, 8.0), (10, 120.0)):
            draws = [report.backoff_delay(rng, attempt, 1.0, 120.0) for _ in range(2000)]
            self.assertGreaterEqual(min(draws), 0.1)
            self.assertLessEqual(max(draws), ceiling)
            self.assertGreater(max(draws), 0.9 * ceiling)


class StormTest(unittest.TestCase):
    def test_a_spread_wider_than_fleet_over_quota_needs_no_retry(self):
        # 1,000 first attempts spread evenly over 10 s: 100 per second, under a quota of 500.
        first = [i / 100.0 for i in range(1000)]
        sim = report.simulate_storm(1000, 500, first, seed=5)
        self.assertLessEqual(max(sim["accepted_per_s"]), 500)
        self.assertEqual(sum(sim["accepted_per_s"]), 1000)
        self.assertIsNotNone(sim["all_back_s"])

    def test_a_one_second_spread_over_quota_is_refused_and_retried_until_all_are_back(self):
        first = [0.1 + 0.9 * i / 999 for i in range(1000)]
        sim = report.simulate_storm(10000, 500, first, seed=5)
        self.assertGreater(sim["peak_attempts_per_s"], 500)  # the storm the quota refuses
        self.assertLessEqual(max(sim["accepted_per_s"]), 500)
        self.assertEqual(sum(sim["accepted_per_s"]), 10000)
        self.assertGreater(sim["refused"], 0)
        self.assertGreaterEqual(sim["all_back_s"], 10000 / 500 - 1)

    def test_an_outage_refuses_every_attempt_until_the_endpoint_is_back(self):
        sim = report.simulate_storm(100, 1000, [0.5], outage_s=5.0, seed=2)
        self.assertEqual(sum(sim["accepted_per_s"][:5]), 0)
        self.assertEqual(sum(sim["accepted_per_s"]), 100)


class TopicClassTest(unittest.TestCase):
    def test_the_thing_name_is_dropped(self):
        self.assertEqual(topic_class("amr/AMR-0001/status"), "status")
        self.assertEqual(topic_class("amr/AMR-0001/cmd/result"), "cmd/result")
        self.assertEqual(topic_class("$aws/things/AMR-7/shadow/name/robot/update/documents"),
                         "shadow:update/documents")
        self.assertEqual(topic_class("$aws/events/presence/connected/AMR-7"), "presence:connected")
        self.assertEqual(topic_class("other/topic"), "other/topic")


class LogLineTest(unittest.TestCase):
    # The exact lines plugins/mqtt logs (mqtt.cpp on_lost / fail_attempt, seconds_text "%.1fs").
    def test_first_reconnect_delay(self):
        line = ("<4>2026-12-05T00:55:50.730Z connections.cloud: connection to localhost:49401 lost: "
                "connection lost; reconnecting in 0.4s")
        self.assertEqual(RECONNECT_IN.search(line).group(1), "0.4")
        self.assertAlmostEqual(log_time(line), 1796432150.730)
        self.assertIsNone(log_time("no time stamp"))

    def test_retry_delay(self):
        line = ("<4>2026-12-05T00:55:50.730Z connections.cloud: cannot connect to localhost:40123 as "
                "'AMR-0001': TCP/TLS connect failure; retrying in 1.7s")
        self.assertEqual(RETRYING_IN.search(line).group(1), "1.7")


if __name__ == "__main__":
    unittest.main()
