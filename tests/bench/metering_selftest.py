#!/usr/bin/python3
"""metering.py and heartbeat_cost.py's month model checked against hand-computed cases, without
any process or socket. Run by ctest (metering_selftest)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import metering as m  # noqa: E402
import heartbeat_cost as hc  # noqa: E402


class MessageUnitsTest(unittest.TestCase):
    def test_five_kb_boundary(self):
        self.assertEqual(m.message_units(0), 1)
        self.assertEqual(m.message_units(1), 1)
        self.assertEqual(m.message_units(5120), 1)
        self.assertEqual(m.message_units(5121), 2)
        # The pricing page's example: an 8 KB message is two messages.
        self.assertEqual(m.message_units(8 * 1024), 2)
        self.assertEqual(m.message_units(10240), 2)
        self.assertEqual(m.message_units(10241), 3)

    def test_the_topic_counts_towards_the_size(self):
        topic = "amr/AMR-0001/heartbeat"  # 22 bytes
        self.assertEqual(m.publish_size(topic, 5098), 5120)
        self.assertEqual(m.inbound_publish(m.publish_size(topic, 5098), retain=False), 1)
        self.assertEqual(m.inbound_publish(m.publish_size(topic, 5099), retain=False), 2)
        # UTF-8 bytes, not characters: 13 characters, 4 + 6 + 7 = 17 bytes.
        self.assertEqual(m.publish_size("amr/ロボ/status", 10), 17 + 10)

    def test_negative_size_is_refused(self):
        with self.assertRaises(ValueError):
            m.message_units(-1)


class PublishAndDeliveryTest(unittest.TestCase):
    def test_a_retained_publish_is_metered_twice(self):
        self.assertEqual(m.inbound_publish(80, retain=True), 2)
        self.assertEqual(m.inbound_publish(80, retain=False), 1)
        self.assertEqual(m.inbound_publish(6000, retain=True), 4)

    def test_a_qos1_delivery_adds_the_subscribers_puback(self):
        self.assertEqual(m.delivery(80, qos=0), 1)
        self.assertEqual(m.delivery(80, qos=1), 2)
        self.assertEqual(m.delivery(6000, qos=1), 3)

    def test_connect_and_subscribe(self):
        # Will '{"state":"offline"}' (19 bytes) on amr/AMR-0001/status (19 bytes).
        self.assertEqual(m.connect("amr/AMR-0001/status", 19), 1)
        self.assertEqual(m.subscribe(["amr/AMR-0001/cmd/call", "amr/AMR-0001/watch"]), 1)

    def test_shadow_operations_in_1_kb_steps(self):
        self.assertEqual(m.shadow_operations(300), 1)
        self.assertEqual(m.shadow_operations(1024), 1)
        self.assertEqual(m.shadow_operations(1025), 2)


class BillTest(unittest.TestCase):
    def test_first_tier(self):
        total, parts = m.message_bill(60_600_000)
        self.assertAlmostEqual(total, 60.6)
        self.assertEqual(len(parts), 1)

    def test_tier_boundaries(self):
        self.assertAlmostEqual(m.message_bill(1_000_000_000)[0], 1000.0)
        # One million past the first billion: at 0.80.
        self.assertAlmostEqual(m.message_bill(1_001_000_000)[0], 1000.8)
        # 6.06 billion: 1,000 + 4,000 x 0.80 + 1,060 x 0.70 = 1,000 + 3,200 + 742.
        total, parts = m.message_bill(6_060_000_000)
        self.assertAlmostEqual(total, 4942.0)
        self.assertEqual([round(usd, 6) for _, usd in parts], [1000.0, 3200.0, 742.0])

    def test_zero_and_negative(self):
        self.assertEqual(m.message_bill(0)[0], 0)
        with self.assertRaises(ValueError):
            m.message_bill(-1)


class MonthModelTest(unittest.TestCase):
    """The month model with hand-made per-message ratios (what a run measures)."""

    def ratios(self, retained):
        # One publish per heartbeat, retained or not, one delivery per subscribed console.
        return {"published": 1.0, "retained": 1.0 if retained else 0.0, "delivered_per_console": 1.0,
                "bytes": 80.0}

    def test_seed_design_heartbeats(self):
        model = hc.Model()
        rows = hc.heartbeat_rows_seed(model, self.ratios(True), topic="amr/AMR-0001/heartbeat")
        by = {r[0]: r[1] for r in rows}
        # 30 days x 8,640 beats a day.
        self.assertEqual(by["heartbeat publish"], 259_200)
        self.assertEqual(by["heartbeat retain"], 259_200)
        # One console (1 per 50 AMRs, each sees its 50) open 176 h: 176 x 360 beats, + PUBACK each.
        self.assertEqual(by["heartbeat delivery to the console"], 63_360)
        self.assertEqual(by["heartbeat PUBACK from the console"], 63_360)

    def test_a_qos0_console_sends_no_puback(self):
        # A QoS 0 console: the same deliveries, no PUBACK row.
        rows = hc.heartbeat_rows_seed(hc.Model(console_qos=0), self.ratios(True), topic="amr/AMR-0001/heartbeat")
        by = {r[0]: r[1] for r in rows}
        self.assertEqual(by["heartbeat delivery to the console"], 63_360)
        self.assertNotIn("heartbeat PUBACK from the console", by)

    def test_watched_hours(self):
        model = hc.Model()
        # 176 h a month per console, one card at a time among 50 AMRs.
        self.assertAlmostEqual(model.watched_hours(), 3.52)
        # Each card session adds up to one lease (90 s) of fast heartbeats after it closes.
        self.assertAlmostEqual(model.fast_hours(), 3.52 + (3.52 * 60 / model.card_minutes) * 90 / 3600)

    def test_watched_design_heartbeats_and_watch(self):
        model = hc.Model(card_minutes=math_inf())
        fast = self.ratios(True)
        slow = self.ratios(False)
        rows = hc.heartbeat_rows_watched(model, fast, slow, topic="amr/AMR-0001/heartbeat")
        by = {r[0]: r[1] for r in rows}
        # Fast: 3.52 h x 360 = 1,267.2; slow: (720 - 3.52) h x 12 = 8,597.76.
        self.assertAlmostEqual(by["heartbeat publish"], 1267.2 + 8597.76)
        self.assertAlmostEqual(by["heartbeat retain"], 1267.2)
        # Console open 176 h: 3.52 h fast, 172.48 h slow.
        self.assertAlmostEqual(by["heartbeat delivery to the console"], 1267.2 + 172.48 * 12)
        w = {r[0]: r[1] for r in hc.watch_rows(model, watch_bytes=60, topic="amr/AMR-0001/watch")}
        # One refresh every 30 s while watched: 3.52 x 120 = 422.4, retained, delivered to the gateway.
        self.assertAlmostEqual(w["watch refresh publish"], 422.4)
        self.assertAlmostEqual(w["watch refresh retain"], 422.4)
        self.assertAlmostEqual(w["watch delivery to the gateway"], 422.4)
        self.assertAlmostEqual(w["watch PUBACK from the gateway"], 422.4)


class ConsoleGetTest(unittest.TestCase):
    def test_one_get_per_card_session_and_per_console_day(self):
        model = hc.Model()  # 21.12 sessions (3.52 h of 10 min cards) + 22 console days
        rows, ops = hc.console_get_rows(model, 400, "AMR-0001")
        # Each: the request (1) and its reply with the console's PUBACK (2).
        self.assertAlmostEqual(rows[0][1], (21.12 + 22) * 3)
        # A QoS 0 console sends no PUBACK.
        rows, _ = hc.console_get_rows(hc.Model(console_qos=0), 400, "AMR-0001")
        self.assertAlmostEqual(rows[0][1], (21.12 + 22) * 2)
        self.assertAlmostEqual(ops, 21.12 + 22)


class CallsForTargetTest(unittest.TestCase):
    """The break-even call rate, on tables simple enough to solve by hand: (a) 1,000,000 and (b)
    10,000 messages per AMR without calls, 1,000 per call a day (all in the first price tier at
    one AMR, so the bill is linear): (b) <= 10 % of (a) while 10,000 + 1,000 c <= 100,000 + 100 c,
    that is c <= 100."""

    @staticmethod
    def tables(model):
        calls = [("calls", 1_000 * model.calls_per_day)]
        return [("heartbeat", 1_000_000)] + calls, [("heartbeat", 10_000)] + calls

    def test_solved_by_hand(self):
        most = hc.calls_for_target(hc.Model(), self.tables, fleet=1)
        self.assertAlmostEqual(most, 100.0, delta=0.05)
        self.assertLessEqual(most, 100.0)

    def test_missed_without_calls_and_met_at_any_rate(self):
        self.assertIsNone(hc.calls_for_target(hc.Model(), lambda m: ([("x", 100)], [("x", 11)]), fleet=1))
        self.assertEqual(hc.calls_for_target(hc.Model(), lambda m: ([("x", 100)], [("x", 5)]), fleet=1,
                                             most=50.0), 50.0)


class GatewayFiltersTest(unittest.TestCase):
    """Which of a call's messages are deliveries to the gateway (configs/local.toml's filters)."""

    def test_replies_and_calls_but_not_documents_nor_requests(self):
        base = "$aws/things/AMR-0001/shadow/name/robot/"
        for topic in ("amr/AMR-0001/cmd/call", "amr/AMR-0001/watch", base + "update/accepted",
                      base + "get/accepted", base + "update/rejected", base + "delete/accepted", base + "update/delta"):
            self.assertTrue(hc.gateway_receives(topic, "AMR-0001"), topic)
        for topic in (base + "update/documents", base + "update", base + "get", "amr/AMR-0001/status",
                      "amr/AMR-0001/cmd/result", "amr/AMR-0002/cmd/call", base + "update/accepted/x"):
            self.assertFalse(hc.gateway_receives(topic, "AMR-0001"), topic)

    def test_wildcards(self):
        self.assertTrue(hc.topic_matches("a/+/c", "a/b/c"))
        self.assertFalse(hc.topic_matches("a/+/c", "a/b/d/c"))
        self.assertTrue(hc.topic_matches("a/#", "a/b/c"))
        self.assertFalse(hc.topic_matches("a/b", "a/b/c"))


class ImpossibleCountsTest(unittest.TestCase):
    """What fails the benchmark: counts a working run cannot give."""

    class Args:
        count, heartbeat_period = 5, 2.0

    @staticmethod
    def make_run(published=80, retained=80, delivered=80, calls=10, answered=10):
        return {"tap": {"msgs": {"heartbeat": published}, "retained": {"heartbeat": retained},
                        "bytes": {"heartbeat": 63 * published}},
                "console": {"msgs": {"heartbeat": delivered}}, "calls": calls, "answered": answered,
                "seconds": 32.5}

    def test_a_working_run(self):
        self.assertEqual(hc.impossible(self.make_run(), True, self.Args), [])
        self.assertEqual(hc.impossible(self.make_run(retained=0), False, self.Args), [])

    def test_retain_flag_other_than_configured(self):
        self.assertIn("published retained", hc.impossible(self.make_run(retained=0), True, self.Args)[0])
        self.assertIn("published retained", hc.impossible(self.make_run(retained=40), False, self.Args)[0])

    def test_no_or_too_few_heartbeats_or_deliveries(self):
        self.assertIn("no heartbeat", hc.impossible(self.make_run(0, 0, 0), True, self.Args)[0])
        self.assertIn("expected", hc.impossible(self.make_run(40, 40, 40), True, self.Args)[0])
        self.assertIn("the console received 60 of 80", hc.impossible(self.make_run(delivered=60), True, self.Args)[0])
        self.assertIn("no call answered", hc.impossible(self.make_run(answered=0), True, self.Args)[0])


def math_inf():
    return float("inf")


if __name__ == "__main__":
    unittest.main()
