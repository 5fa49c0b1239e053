#!/usr/bin/python3
"""The fleet simulator's arithmetic and parsing, checked without any process or socket: the
percentile, connects per second, the storm model against a connect quota, the topic classes of
the message table and the gateway log lines the first-reconnect delays are read from. Run by
ctest (fleet_selftest)."""
import contextlib
import io
import os
import random
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleet_report as report  # noqa: E402
from fleet_report import topic_class  # noqa: E402
from fleet_gateways import RECONNECT_IN, RETRYING_IN, log_time, write_config  # noqa: E402


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
    """fleet_report's copy of plugins/common Backoff::delay as plugins/mqtt configures it
    (reconnect_backoff.hpp: full jitter, floor 1 s)."""

    def test_full_jitter_from_the_one_second_floor_up_to_the_doubling_ceiling(self):
        rng = random.Random(3)
        for attempt, ceiling in ((1, 2.0), (3, 8.0), (10, 120.0), (40, 120.0)):
            draws = [report.backoff_delay(rng, attempt, 1.0, 120.0) for _ in range(4000)]
            self.assertGreaterEqual(min(draws), 1.0)
            self.assertLessEqual(max(draws), ceiling)
            # Drawn from above the floor, not raised to it: no pile-up on exactly 1 s.
            self.assertLess(min(draws), 1.0 + 0.02 * (ceiling - 1.0))
            self.assertGreater(max(draws), ceiling - 0.02 * (ceiling - 1.0))
            self.assertLess(draws.count(1.0), 20)
        # Attempt 0's ceiling is reconnect_min itself: with the default 1 s, exactly the floor.
        self.assertEqual({report.backoff_delay(rng, 0, 1.0, 120.0) for _ in range(100)}, {1.0})

    def test_draws_are_whole_milliseconds(self):
        rng = random.Random(4)
        for d in [report.backoff_delay(rng, 5, 1.0, 120.0) for _ in range(500)]:
            self.assertAlmostEqual(d * 1000, round(d * 1000), places=6)

    def test_no_two_attempts_of_one_gateway_within_a_second(self):
        # MqttReconnect.NoTwoAttemptsOfOneGatewayWithinASecond: settings below a second are raised
        # to AWS's one CONNECT per second per client id.
        rng = random.Random(5)
        for attempt in range(20):
            for _ in range(50):
                self.assertGreaterEqual(report.backoff_delay(rng, attempt, 0.1, 0.5), 1.0)
                self.assertGreaterEqual(report.first_delay(rng, 0.3, 0.1, 0.5), 1.0)


class FirstDelayTest(unittest.TestCase):
    """The first attempt after a lost connection: Backoff::spread over reconnect_spread."""

    def test_the_default_window_is_thirty_seconds_or_reconnect_max_if_shorter(self):
        # mqtt_settings.cpp: unset, reconnect_spread = min(kDefaultReconnectSpread, reconnect_max).
        self.assertEqual(report.effective_spread(None, 120.0), 30.0)
        self.assertEqual(report.effective_spread(None, 10.0), 10.0)
        self.assertEqual(report.effective_spread(5.0, 120.0), 5.0)
        self.assertEqual(report.effective_spread(0.0, 120.0), 0.0)

    def test_uniform_from_one_second_to_the_window(self):
        rng = random.Random(6)
        n = 29000
        draws = [report.first_delay(rng, 30.0, 1.0, 120.0) for _ in range(n)]
        self.assertGreaterEqual(min(draws), 1.0)
        self.assertLessEqual(max(draws), 30.0)
        self.assertLess(min(draws), 1.05)
        self.assertGreater(max(draws), 29.95)
        self.assertAlmostEqual(sum(draws) / n, 15.5, delta=0.2)
        per_second = report.per_second(draws, 0.0)
        self.assertEqual(per_second[0], 0)  # nothing below the 1 s floor
        for count in per_second[1:30]:  # about 1,000 in each whole second from 1 to 30
            self.assertTrue(850 < count < 1150, per_second)

    def test_the_window_is_capped_by_the_maximum(self):
        rng = random.Random(7)
        self.assertLessEqual(max(report.first_delay(rng, 30.0, 1.0, 5.0) for _ in range(500)), 5.0)

    def test_a_zero_window_draws_from_reconnect_min(self):
        # MqttReconnect.TheSpreadIsCappedByTheMaximumAndZeroMeansReconnectMin
        rng = random.Random(8)
        draws = [report.first_delay(rng, 0.0, 2.0, 120.0) for _ in range(500)]
        self.assertGreaterEqual(min(draws), 1.0)
        self.assertLessEqual(max(draws), 2.0)

    def test_ten_thousand_gateways_stay_under_five_hundred_first_attempts_per_second(self):
        # MqttReconnect.TenThousandGatewaysCutOffAtOnceStayUnderFiveHundredConnectsPerSecond, with
        # the model's draws: the mean is 10,000 / 29 = 345 per second.
        rng = random.Random(9)
        per_second = report.per_second([report.first_delay(rng, 30.0, 1.0, 120.0) for _ in range(10000)], 0.0)
        self.assertLess(max(per_second), 500)
        self.assertGreater(max(per_second), 300)


class FitTest(unittest.TestCase):
    """The measured first delays (logged with 0.1 s resolution) against the model's uniform window."""

    def test_delays_spread_over_the_window_fit(self):
        measured = [round(1.0 + 29.0 * (i + 0.5) / 100, 1) for i in range(100)]
        fit = report.uniform_fit(measured, 1.0, 30.0, resolution=0.1)
        self.assertLess(fit["ks_distance"], 0.02)
        self.assertLess(fit["ks_distance"], fit["ks_critical_5pct"])
        self.assertAlmostEqual(fit["mean"], 15.5, delta=0.1)
        self.assertEqual(fit["model_mean"], 15.5)

    def test_the_old_first_delay_does_not_fit(self):
        # The plugin before reconnect_spread: uniform(0, reconnect_min), 100 ms floor.
        rng = random.Random(10)
        measured = [round(max(0.1, rng.uniform(0.0, 1.0)), 1) for _ in range(100)]
        fit = report.uniform_fit(measured, 1.0, 30.0, resolution=0.1)
        self.assertGreater(fit["ks_distance"], fit["ks_critical_5pct"])

    def test_rounding_to_the_log_resolution_is_not_a_misfit(self):
        # A narrow window: 0.1 s steps are a large share of it, and must not count as distance.
        measured = [1.0] * 5 + [1.1] * 10 + [1.2] * 10 + [1.3] * 10 + [1.4] * 10 + [1.5] * 5
        fit = report.uniform_fit(measured, 1.0, 1.5, resolution=0.1)
        self.assertLess(fit["ks_distance"], 0.01)


class StormTest(unittest.TestCase):
    def test_a_spread_wider_than_fleet_over_quota_needs_no_retry(self):
        # 1,000 first attempts spread evenly over 10 s: 100 per second, under a quota of 500.
        first = [1.0 + i / 100.0 for i in range(1000)]
        sim = report.simulate_storm(1000, 500, first, seed=5)
        self.assertLessEqual(max(sim["accepted_per_s"]), 500)
        self.assertEqual(sum(sim["accepted_per_s"]), 1000)
        self.assertEqual(sim["refused"], 0)
        self.assertIsNotNone(sim["all_back_s"])

    def test_a_one_second_spread_over_quota_is_refused_and_retried_until_all_are_back(self):
        first = [1.0 + i / 999 for i in range(1000)]
        sim = report.simulate_storm(10000, 500, first, seed=5)
        self.assertGreater(sim["peak_attempts_per_s"], 500)  # the storm the quota refuses
        self.assertLessEqual(max(sim["accepted_per_s"]), 500)
        self.assertEqual(sum(sim["accepted_per_s"]), 10000)
        self.assertGreater(sim["refused"], 0)
        self.assertGreaterEqual(sim["all_back_s"], 10000 / 500 - 1)

    def test_an_outage_refuses_every_attempt_until_the_endpoint_is_back(self):
        sim = report.simulate_storm(100, 1000, [1.5], outage_s=5.0, seed=2)
        self.assertEqual(sum(sim["accepted_per_s"][:5]), 0)
        self.assertEqual(sum(sim["accepted_per_s"]), 100)
        self.assertGreater(sim["refused"], 0)

    def test_without_measured_delays_the_plugin_default_window_keeps_10000_under_500_per_second(self):
        sim = report.simulate_storm(10000, 500, seed=11)
        self.assertEqual(sim["attempts_per_s"][0], 0)  # nobody before the 1 s floor
        self.assertLess(sim["peak_attempts_per_s"], 500)
        self.assertEqual(sim["refused"], 0)
        self.assertEqual(sum(sim["accepted_per_s"]), 10000)
        self.assertLessEqual(sim["all_back_s"], 30.0)
        self.assertGreater(sim["all_back_s"], 29.0)

    def test_the_window_follows_reconnect_spread_and_reconnect_max(self):
        short = report.simulate_storm(10000, 1e9, spread=5.0, seed=12)
        self.assertLessEqual(short["all_back_s"], 5.0)
        self.assertGreater(short["peak_attempts_per_s"], 2000)  # 10,000 over 4 s
        capped = report.simulate_storm(10000, 1e9, maximum=10.0, seed=12)  # unset spread: min(30 s, max)
        self.assertLessEqual(capped["all_back_s"], 10.0)

    def test_a_window_too_short_for_the_quota_is_refused_and_retried(self):
        sim = report.simulate_storm(10000, 500, spread=5.0, seed=13)
        self.assertGreater(sim["refused"], 0)
        self.assertLessEqual(max(sim["accepted_per_s"]), 500)
        self.assertEqual(sum(sim["accepted_per_s"]), 10000)
        self.assertGreaterEqual(sim["all_back_s"], 10000 / 500)


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


class GatewayConfigTest(unittest.TestCase):
    def write(self, **backoff):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "AMR-1.toml")
            write_config(path, "AMR-1", "/c.pem", "/k.pem", "/ca.pem", 1883, 0.5, 10, **backoff)
            with open(path) as f:
                return f.read()

    def test_reconnect_spread_is_written_when_given(self):
        text = self.write(reconnect_min="2s", reconnect_max="60s", reconnect_spread="10s")
        self.assertIn('reconnect_min = "2s"\n', text)
        self.assertIn('reconnect_max = "60s"\n', text)
        self.assertIn('reconnect_spread = "10s"\n', text)
        self.assertIn('key = "/k.pem"\n', text)

    def test_the_plugin_default_when_not_given(self):
        text = self.write(reconnect_min=None, reconnect_max=None, reconnect_spread=None)
        self.assertNotIn("reconnect_", text)

    def test_heartbeat_retain_is_the_seeds_unless_switched_off(self):
        # The cost benchmark (tests/bench/heartbeat_cost.py) runs the seed's retained heartbeat
        # and the slow design's unretained one.
        self.assertIn("\nretain = true\n", self.write(reconnect_min=None, reconnect_max=None))
        text = self.write(reconnect_min=None, reconnect_max=None, heartbeat_retain=False)
        self.assertIn('[sources.heartbeat]\ntype = "heartbeat"\nperiod = "10000ms"\nretain = false\n', text)


class SummaryTest(unittest.TestCase):
    """The printed table's storm rows: with the default 30 s reconnect_spread the storm lasts ~32 s
    (measured at 1,000 AMRs), so a row cut at 20 seconds hid its last third."""

    @staticmethod
    def out_with_storm(seconds):
        bins = [0, 0] + [35] * (seconds - 3) + [7]
        return {
            "registration": {"things": 1000, "seconds": 1.1},
            "start": {"all_connected_s": 8.2, "spawn_s": 6.6},
            "broker_restart": {
                "down_s": 0.37, "all_back_after_up_s": 30.9, "all_back_after_stop_s_gateway_logs": 31.2,
                "connacks_per_s_from_stop": bins, "peak_connacks_per_s": 35, "connects_per_s_from_up": bins,
                "connect_failed_events": 0, "first_attempts_per_s_from_stop": bins,
                "first_attempt_delay_s": {"min": 1.0, "p50": 15.1, "p90": 26.8, "max": 30.0, "count": 1000},
                "storm_model": {"fleet": 10000, "first_delay_window_s": [1.0, 30.0], "measured_fit": None,
                                "unthrottled_peak_attempts_per_s": 376, "unthrottled_all_back_s": 30.0,
                                "by_quota": {}},
            },
        }

    def row(self, out, figure):
        return dict(report.summary_rows(out))[figure]

    def test_a_thirty_second_storm_is_printed_to_its_last_second(self):
        out = self.out_with_storm(32)
        for figure in ("storm: CONNACKs per s from stop (gateway logs)",
                       "storm: connected events per s from up (presence)", "first attempts per s (from stop)"):
            self.assertEqual(self.row(out, figure), str(out["broker_restart"]["connacks_per_s_from_stop"]))

    def test_a_storm_longer_than_a_row_says_how_many_seconds_are_left_out(self):
        out = self.out_with_storm(150)
        text = self.row(out, "storm: CONNACKs per s from stop (gateway logs)")
        self.assertTrue(text.startswith("[0, 0, 35, 35"), text)
        self.assertIn("90 more seconds in the JSON", text)


class CommandLineTest(unittest.TestCase):
    BINARIES = ["--iotgw", "/x/iotgw", "--plugin-dir", "/x/plugins", "--localcore", "/x/localcore"]

    def test_reconnect_spread_is_passed_on_and_modelled(self):
        import fleet
        a = fleet.parse_args(self.BINARIES + ["--reconnect-spread", "10s"])
        self.assertEqual(a.reconnect_spread, "10s")
        self.assertEqual(fleet.backoff_model(a), {"minimum": 1.0, "maximum": 120.0, "spread": 10.0})
        # Unset: the plugin's default, 30 s or reconnect_max if shorter.
        self.assertEqual(fleet.backoff_model(fleet.parse_args(self.BINARIES))["spread"], 30.0)
        self.assertEqual(fleet.backoff_model(fleet.parse_args(self.BINARIES + ["--reconnect-max", "20s"])),
                         {"minimum": 1.0, "maximum": 20.0, "spread": 20.0})

    def test_a_spread_longer_than_the_maximum_is_refused_as_iotgw_check_would(self):
        import fleet
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit):
            fleet.parse_args(self.BINARIES + ["--reconnect-spread", "3m"])
        self.assertIn("--reconnect-spread 3m is longer than --reconnect-max", err.getvalue())


if __name__ == "__main__":
    unittest.main()
