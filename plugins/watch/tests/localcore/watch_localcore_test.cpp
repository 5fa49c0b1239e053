// The watched heartbeat end to end: the real `iotgw` binary against localcore (mosquitto 2.0 +
// the localcore plugin, X.509 and the AWS IoT policies), with MQTT 5 consoles that publish the
// retained watch with a message expiry as docs/watched-heartbeat.md says, and an independent
// subscriber reading the heartbeats' period_ms. Short periods and leases (fast 1 s, slow 4 s,
// leases of 3 s) keep it quick; every wait is bounded and generous, nothing asserts a tight time.
#include "config_text.hpp"
#include "localcore_fixture.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

namespace localcore::conformance {
namespace {

using iotgw::test::ConfigText;

constexpr const char* kBeat = "amr/AMR-001/heartbeat";
constexpr const char* kWatch = "amr/AMR-001/watch";

// A console as the design has it: connects as console-*, publishes (and retains) the watch,
// reads AMR-001's topics. Its own policy, so this test does not depend on cloud/policies.
const char* const kConsolePolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/console-*"]},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:RetainPublish"],
     "Resource": ["arn:aws:iot:*:*:topic/amr/*/watch"]},
    {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": ["arn:aws:iot:*:*:topic/amr/AMR-001/*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": ["arn:aws:iot:*:*:topicfilter/amr/AMR-001/*"]}
  ]
})";

std::string watch_json(const std::string& console, int lease_s, const std::string& thing = "AMR-001") {
    return R"({"thing":")" + thing + R"(","console":")" + console + R"(","lease_s":)" +
           std::to_string(lease_s) + "}";
}

std::optional<int64_t> beat_field(const TestMqttClient::Received& r, const char* field) {
    if (r.topic != kBeat) return std::nullopt;
    return json_int(parse_json(r.payload), {field});
}

class WatchLocalCore : public LocalCoreTest {
protected:
    void SetUp() override {
        LocalCoreTest::SetUp();
        lc->put_policy("watch-console", kConsolePolicy);
        console_id_ = lc->issue_claim_cert("watch-console", "console");
    }

    void TearDown() override {
        if (!::testing::Test::HasFailure()) return;
        if (!previous_logs_.empty()) std::cerr << "--- earlier gateway runs:\n" << previous_logs_ << "\n";
        if (gw_) std::cerr << "--- gateway log:\n" << gw_->log() << "\n";
    }

    fs::path write_config() {
        const std::string toml =
            ConfigText()
                // debug: the connection logs its subscriptions, which start_gateway waits for.
                .raw("log_level = \"debug\"\nstop_timeout = \"2s\"")
                // A takeover is backed off 1 s (+ jitter), not the default minute.
                .device_link(lc->amr1.cert, lc->amr1.key, lc->ca(), lc->port(),
                             "mqtt_version = \"5\"\ntakeover_backoff = \"1s\"")
                // The config's own period: the watch instance replaces it before the first beat.
                .source("heartbeat", "heartbeat", "period = \"1h\"")
                .processor(
                    "watch", "watch",
                    "fast_period = \"1s\"\nslow_period = \"4s\"\nmin_lease = \"1s\"\nmax_lease = \"1m\"")
                .pipeline("heartbeat", "heartbeat", {"cloud"})
                .pipeline("watch", "cloud:amr/${thing}/watch", {"heartbeat"}, {"watch"});
        const fs::path file = lc->fresh_path("gateway") += ".toml";
        std::ofstream(file) << toml;
        return file;
    }

    // Starts the gateway and waits until it runs slow and has subscribed to the watch topic.
    void start_gateway() {
        gw_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{IOTGW_BINARY, "run", "--config", write_config().string(), "--plugin-dir",
                                     IOTGW_BUILD_PLUGIN_DIR},
            lc->fresh_path("gateway") += ".log");
        ASSERT_TRUE(gw_->wait_for("no console watching: heartbeat every 4s, retained", 15s)) << gw_->log();
        ASSERT_TRUE(gw_->wait_for("subscribed to 'amr/AMR-001/watch'", 15s)) << gw_->log();
    }

    void stop_gateway() {
        gw_->signal(SIGTERM);
        EXPECT_EQ(gw_->wait_exit(10s), 0) << gw_->log();
        previous_logs_ += gw_->log();
        gw_.reset();
    }

    // Whether the gateway's metric `name` is `value` in the dump SIGUSR1 makes it log now
    // ("metrics: watch.refused = 3"), not in an earlier one.
    bool metric_is(const std::string& name, const std::string& value, std::chrono::milliseconds limit = 5s) {
        const std::string line = "metrics: " + name + " = " + value + "\n";
        const std::size_t before = gw_->count(line);
        gw_->signal(SIGUSR1);
        return gw_->wait_for(line, limit, before + 1);
    }

    // Whether the metric becomes `value` within `limit`: for a message that may still be on its
    // way through the broker and the pipeline when the test asks.
    bool metric_becomes(const std::string& name, const std::string& value, std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        do {
            if (metric_is(name, value, 1s)) return true;
        } while (std::chrono::steady_clock::now() < deadline);
        return false;
    }

    // Waits until the gateway has connected again (its connects so far: `connects`) and has
    // subscribed to the watch topic on the new connection.
    bool reconnected(std::size_t connects, std::chrono::milliseconds limit) {
        return gw_->wait_for("connected to localhost:", limit, connects + 1) &&
               gw_->wait_for("subscribed to 'amr/AMR-001/watch'", limit, connects + 1);
    }

    // The watch the broker holds now, as a console subscribing now would get it.
    std::optional<TestMqttClient::Received> retained_watch(const std::string& id) {
        auto c = lc->connect(console_id_, id, Mqtt::v5);
        if (!c) return std::nullopt;
        c->subscribe(kWatch, 1);
        return c->wait_for([](const TestMqttClient::Received& r) { return r.topic == kWatch && r.retained; },
                           2s);
    }

    // An independent subscriber to the heartbeats (a console's own connection).
    std::unique_ptr<TestMqttClient> observer(const std::string& id) {
        auto c = lc->connect(console_id_, id, Mqtt::v5);
        if (c) c->subscribe(kBeat, 1);
        return c;
    }

    // One watch, retained, QoS 1, MQTT 5 with the message expiry set to the lease (none when
    // `expiry_s` is negative), by a mosquitto_pub process; true when it was accepted (its PUBACK came).
    bool publish_watch(const std::string& client_id, const std::string& payload, int expiry_s,
                       bool retain = true) {
        std::vector<std::string> extra;
        if (expiry_s >= 0) extra = {"-D", "publish", "message-expiry-interval", std::to_string(expiry_s)};
        if (retain) extra.push_back("-r");
        const CommandResult r = lc->pub(console_id_, client_id, kWatch, payload, 1, Mqtt::v5, extra);
        return r.status == 0;
    }

    // A console that refreshes its watch every second until killed: a mosquitto_pub process.
    std::unique_ptr<ChildProcess> refreshing_console(const std::string& client_id, const std::string& console,
                                                     int lease_s) {
        auto args = lc->client_args("/usr/bin/mosquitto_pub", console_id_, client_id, Mqtt::v5);
        for (const std::string& a :
             {std::string("-t"), std::string(kWatch), std::string("-m"), watch_json(console, lease_s),
              std::string("-q"), std::string("1"), std::string("-r"), std::string("-D"),
              std::string("publish"), std::string("message-expiry-interval"), std::to_string(lease_s),
              std::string("--repeat"), std::string("600"), std::string("--repeat-delay"), std::string("1")})
            args.push_back(a);
        return std::make_unique<ChildProcess>(args, lc->fresh_path("console-" + console) += ".log");
    }

    // Waits for the next heartbeat (after the ones already received) with this period_ms.
    std::optional<TestMqttClient::Received> next_beat_with_period(TestMqttClient& c, int64_t period_ms,
                                                                  std::chrono::milliseconds limit) {
        c.clear();
        return c.wait_for(
            [&](const TestMqttClient::Received& r) { return beat_field(r, "period_ms") == period_ms; },
            limit);
    }

    // Waits for `n` more heartbeats; returns every heartbeat received since the last clear().
    std::vector<TestMqttClient::Received> beats_after(TestMqttClient& c, std::size_t n,
                                                      std::chrono::milliseconds limit) {
        c.wait_for_count(kBeat, c.count(kBeat) + n, limit);
        std::vector<TestMqttClient::Received> beats;
        for (const auto& r : c.received())
            if (r.topic == kBeat) beats.push_back(r);
        return beats;
    }

    // What a console subscribing now gets: the retained heartbeat.
    std::optional<TestMqttClient::Received> retained_beat(const std::string& id) {
        auto c = observer(id);
        if (!c) return std::nullopt;
        return c->wait_for([](const TestMqttClient::Received& r) { return r.topic == kBeat && r.retained; },
                           5s);
    }

    Identity console_id_;
    std::unique_ptr<ChildProcess> gw_;
    std::string previous_logs_;
};

TEST_F(WatchLocalCore, AWatchMakesTheHeartbeatFastAndRetainedAtOnceAndTheLeaseEndSlowAgain) {
    start_gateway();
    auto obs = observer("console-observer");
    ASSERT_TRUE(obs);
    // Slow from the first heartbeat on, whatever the config's own 1h.
    ASSERT_TRUE(next_beat_with_period(*obs, 4000, 10s)) << gw_->log();

    // Cleared before the watch is sent: the fast heartbeat can reach the observer before the
    // publishing process has even exited, and must not be cleared away after it.
    obs->clear();
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 8), 8)) << lc->broker_log();
    // Fast mode at once, shown by a fast heartbeat sent on the watch ("a heartbeat now") well
    // within the slow period (4 s here), not one merely due; the bound leaves room for a busy
    // machine.
    const auto fast = obs->wait_for(
        [&](const TestMqttClient::Received& r) { return beat_field(r, "period_ms") == 1000; }, 3s);
    ASSERT_TRUE(fast) << gw_->log();
    EXPECT_TRUE(gw_->wait_for("period 1000 ms, retain true (a heartbeat now)", 1s)) << gw_->log();
    EXPECT_TRUE(gw_->wait_for("watched by 1 console: heartbeat every 1s, retained", 5s)) << gw_->log();
    // Retained now: a console opening the card gets a fast heartbeat from the broker.
    const auto kept = retained_beat("console-late-1");
    ASSERT_TRUE(kept) << "no retained heartbeat\n" << gw_->log();
    EXPECT_EQ(beat_field(*kept, "period_ms"), 1000) << kept->payload;

    // No refresh: the lease ends 8 s after the watch and the heartbeat slows down (a slow beat at
    // once, then every 4 s, still retained).
    const auto slow = next_beat_with_period(*obs, 4000, 15s);
    ASSERT_TRUE(slow) << gw_->log();
    EXPECT_TRUE(gw_->wait_for("no console watching: heartbeat every 4s, retained", 5s, 2)) << gw_->log();
    // The slow beats are retained too: a console opening now gets one announcing the slow
    // period, not the last fast one (which would look late after 25 s).
    const auto still = retained_beat("console-late-2");
    ASSERT_TRUE(still);
    EXPECT_EQ(beat_field(*still, "period_ms"), 4000) << still->payload;
    EXPECT_GE(beat_field(*still, "seq").value_or(0), beat_field(*slow, "seq").value_or(1 << 30));
    // And the broker dropped the retained watch when its expiry passed: a gateway starting now
    // would not find a stale one.
    auto watch_sub = lc->connect(console_id_, "console-watch-reader", Mqtt::v5);
    ASSERT_TRUE(watch_sub);
    watch_sub->subscribe(kWatch, 1);
    EXPECT_FALSE(
        watch_sub->wait_for([](const TestMqttClient::Received& r) { return r.topic == kWatch; }, 1s));
    EXPECT_TRUE(metric_is("watch.leases", "1")) << gw_->log();
    EXPECT_TRUE(metric_is("watch.watched", "0.000000")) << gw_->log();
}

TEST_F(WatchLocalCore, TwoConsolesOneStopsItStaysFastUntilTheKilledOnesLeaseEnds) {
    start_gateway();
    auto obs = observer("console-observer");
    ASSERT_TRUE(obs);
    // Console B refreshes every second from its own process; console A watches once and stops.
    auto b = refreshing_console("console-b", "card-b", 3);
    ASSERT_TRUE(next_beat_with_period(*obs, 1000, 10s)) << gw_->log() << b->log();
    ASSERT_TRUE(publish_watch("console-a", watch_json("card-a", 3), 3));
    ASSERT_TRUE(gw_->wait_for("watched by 2 consoles", 5s)) << gw_->log();
    ASSERT_TRUE(gw_->wait_for("watched by 1 console\n", 10s)) << gw_->log();  // A's lease ended
    // B still holds its lease: beats keep coming every second, no slow control was sent.
    ASSERT_TRUE(next_beat_with_period(*obs, 1000, 5s)) << gw_->log();
    ASSERT_TRUE(next_beat_with_period(*obs, 1000, 5s)) << gw_->log();
    EXPECT_EQ(gw_->count("no console watching"), 1u) << gw_->log();  // only the start's
    EXPECT_TRUE(metric_is("watch.consoles", "1.000000")) << gw_->log();

    // B is killed (a crashed browser): no goodbye, its lease simply runs out.
    b->signal(SIGKILL);
    EXPECT_GT(b->wait_exit(5s), 0);
    ASSERT_TRUE(next_beat_with_period(*obs, 4000, 15s)) << gw_->log();
    EXPECT_TRUE(gw_->wait_for("no console watching: heartbeat every 4s, retained", 5s, 2)) << gw_->log();
}

TEST_F(WatchLocalCore, AGatewayRestartedWhileWatchedIsFastAgainFromTheRetainedWatch) {
    start_gateway();
    auto obs = observer("console-observer");
    ASSERT_TRUE(obs);
    // One watch with a lease long enough to outlive the restart; the console publishes nothing more.
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 30), 30));
    ASSERT_TRUE(next_beat_with_period(*obs, 1000, 5s)) << gw_->log();
    stop_gateway();

    start_gateway();
    ASSERT_TRUE(gw_->wait_for("watched by 1 console: heartbeat every 1s, retained", 10s)) << gw_->log();
    // The new process's heartbeats (seq from 1 again) are fast.
    const auto fast = obs->wait_for(
        [](const TestMqttClient::Received& r) {
            return beat_field(r, "period_ms") == 1000 && beat_field(r, "uptime_ms") < 10'000 &&
                   beat_field(r, "seq") <= 5;
        },
        10s);
    ASSERT_TRUE(fast) << gw_->log();
    EXPECT_TRUE(metric_is("watch.watched", "1.000000")) << gw_->log();
}

TEST_F(WatchLocalCore, ABrokerRestartWhileWatchedKeepsItFast) {
    start_gateway();
    auto obs = observer("console-observer");
    ASSERT_TRUE(obs);
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 30), 30));
    ASSERT_TRUE(next_beat_with_period(*obs, 1000, 5s)) << gw_->log();
    ASSERT_TRUE(metric_becomes("watch.leases", "1", 5s)) << gw_->log();
    const std::size_t connects = gw_->count("connected to localhost:");

    // SIGTERM: mosquitto saves its persistence (the conf has `persistence true`) and closes every
    // connection; the observer does not reconnect and is replaced below.
    lc->restart_broker();
    ASSERT_TRUE(gw_->wait_for("connection to localhost:", 10s)) << gw_->log();  // "... lost: ..."
    ASSERT_TRUE(reconnected(connects, 15s)) << gw_->log() << "\n--- broker log:\n" << lc->broker_log();

    // The broker kept the retained watch (with its expiry) in its persistence file, so the
    // gateway's SUBSCRIBE on the new connection got it again: one more lease message, a refresh
    // of card-1's lease, no change of mode. (Had the broker lost it, the gateway's own lease, 30 s
    // from the publish, would still hold: the mode does not depend on the connection.)
    const auto kept = retained_watch("console-watch-reader");
    ASSERT_TRUE(kept) << "the broker lost the retained watch\n" << lc->broker_log();
    EXPECT_EQ(kept->payload, watch_json("card-1", 30));
    EXPECT_TRUE(metric_becomes("watch.leases", "2", 5s)) << gw_->log();

    // Every heartbeat since the reconnect is fast (the retained one the new observer gets first
    // included), and no slow control went out across the outage: the only mode lines and
    // controls are the start's slow one and the watch's fast one.
    obs = observer("console-observer-2");
    ASSERT_TRUE(obs);
    const auto beats = beats_after(*obs, 3, 10s);
    ASSERT_GE(beats.size(), 3u) << gw_->log();
    for (const auto& r : beats)
        EXPECT_EQ(beat_field(r, "period_ms"), 1000) << r.payload << "\n" << gw_->log();
    EXPECT_EQ(gw_->count("no console watching"), 1u) << gw_->log();
    EXPECT_EQ(gw_->count("watched by 1 console: heartbeat every 1s"), 1u) << gw_->log();
    EXPECT_EQ(gw_->count("heartbeat control from"), 2u) << gw_->log();
    EXPECT_TRUE(metric_is("watch.watched", "1.000000")) << gw_->log();
}

TEST_F(WatchLocalCore, ATakeoverWhileWatchedKeepsItFast) {
    start_gateway();
    auto obs = observer("console-observer");
    ASSERT_TRUE(obs);
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 30), 30));
    ASSERT_TRUE(next_beat_with_period(*obs, 1000, 5s)) << gw_->log();
    obs->clear();  // from here on every heartbeat must be fast

    // Another connection with the gateway's client id and the same device certificate, as a
    // second gateway with a copied config would make, again and again. mosquitto closes the
    // taken-over connection without DISCONNECT 0x8E, so one loss may be the network and the
    // gateway reconnects at once (throwing the intruder out); a second loss right after
    // connecting is taken for a takeover and backed off (takeover_backoff, 1 s here, plus up to
    // 50 % jitter). The watch does not depend on the connection: no loss may change the mode.
    std::unique_ptr<TestMqttClient> intruder;
    for (std::size_t round = 1; round <= 4 && gw_->count("taken over") == 0; ++round) {
        const std::size_t connects = gw_->count("connected to localhost:");
        intruder = lc->connect(lc->amr1, "AMR-001", Mqtt::v5);
        ASSERT_TRUE(intruder);
        // Wait until the gateway either reconnected (taking the id back) or backed off.
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline && gw_->count("taken over") == 0 &&
               gw_->count("connected to localhost:") <= connects)
            std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(gw_->wait_for("client id AMR-001 was taken over by another connection", 1s)) << gw_->log();
    // The intruder goes away; after its back-off the gateway is back and subscribed again.
    const std::size_t connects = gw_->count("connected to localhost:");
    intruder.reset();
    ASSERT_TRUE(reconnected(connects, 15s)) << gw_->log() << "\n--- broker log:\n" << lc->broker_log();

    // Two more heartbeats after the reconnect; every one since the watch (those queued while
    // offline included) is fast.
    const auto beats = beats_after(*obs, 2, 10s);
    ASSERT_GE(beats.size(), 2u) << gw_->log();
    for (const auto& r : beats)
        EXPECT_EQ(beat_field(r, "period_ms"), 1000) << r.payload << "\n" << gw_->log();
    // Across every loss and reconnect: no slow control, no second fast one.
    EXPECT_EQ(gw_->count("no console watching"), 1u) << gw_->log();
    EXPECT_EQ(gw_->count("watched by 1 console: heartbeat every 1s"), 1u) << gw_->log();
    EXPECT_EQ(gw_->count("heartbeat control from"), 2u) << gw_->log();
    EXPECT_TRUE(metric_is("cloud.takeovers", "1")) << gw_->log();
    EXPECT_TRUE(metric_is("watch.watched", "1.000000")) << gw_->log();
}

TEST_F(WatchLocalCore, ARestartWhileNotWatchedStaysSlow) {
    start_gateway();
    auto obs = observer("console-observer");
    ASSERT_TRUE(obs);
    // A watch whose lease ends before the restart: the gateway slows down and the broker drops
    // the retained watch at its expiry.
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 3), 3));
    ASSERT_TRUE(next_beat_with_period(*obs, 1000, 5s)) << gw_->log();
    ASSERT_TRUE(gw_->wait_for("no console watching: heartbeat every 4s, retained", 10s, 2)) << gw_->log();
    // The broker's expiry runs from the publish, the gateway's lease from the delivery, and
    // mosquitto counts expiry in whole seconds: wait (bounded) until the broker holds no watch,
    // so the restarted gateway cannot find it.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    bool gone = false;
    while (!(gone = !retained_watch("console-watch-reader")) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(gone) << "the expired watch is still retained\n" << lc->broker_log();
    stop_gateway();
    obs->clear();

    start_gateway();
    // The new process's first heartbeat (seq 1) is slow, and so is its second, 4 s later: by then
    // a retained watch, had there been one, would have arrived within a second of subscribing.
    const auto first =
        obs->wait_for([](const TestMqttClient::Received& r) { return beat_field(r, "seq") == 1; }, 10s);
    ASSERT_TRUE(first) << gw_->log();
    EXPECT_EQ(beat_field(*first, "period_ms"), 4000) << first->payload;
    const auto second =
        obs->wait_for([](const TestMqttClient::Received& r) { return beat_field(r, "seq") == 2; }, 10s);
    ASSERT_TRUE(second) << gw_->log();
    EXPECT_EQ(beat_field(*second, "period_ms"), 4000) << second->payload;
    for (const auto& r : obs->received())
        EXPECT_NE(beat_field(r, "period_ms"), 1000) << r.payload << "\n" << gw_->log();
    EXPECT_EQ(gw_->count("watched by"), 0u) << gw_->log();
    EXPECT_EQ(gw_->count("heartbeat control from"), 1u) << gw_->log();  // the start's slow one
    EXPECT_TRUE(metric_is("watch.leases", "0")) << gw_->log();
}

TEST_F(WatchLocalCore, MalformedAndForeignWatchesAreRefusedCountedAndChangeNothing) {
    start_gateway();
    const std::pair<std::string, std::string> cases[] = {
        {"watch me", "watch refused: not JSON"},
        {R"(["AMR-001"])", "watch refused: not a JSON object"},
        {watch_json("card-1", 3, "AMR-002"), R"(watch refused: foreign thing: "thing" is "AMR-002")"},
        {watch_json("card 1", 3), R"(watch refused: "console" may contain only)"},
        {R"({"thing":"AMR-001","console":"card-1","lease_s":2.5})",
         R"(watch refused: "lease_s" must be an integer)"},
    };
    for (const auto& [payload, reason] : cases) {
        // Not retained: a retained bad one would stay and come back on every subscribe.
        ASSERT_TRUE(publish_watch("console-bad", payload, 30, false));
        EXPECT_TRUE(gw_->wait_for(reason, 5s)) << payload << "\n" << gw_->log();
    }
    EXPECT_TRUE(metric_is("watch.refused", std::to_string(std::size(cases)))) << gw_->log();
    EXPECT_TRUE(metric_is("pipeline.watch.failed", std::to_string(std::size(cases)))) << gw_->log();
    EXPECT_TRUE(metric_is("watch.leases", "0")) << gw_->log();
    EXPECT_EQ(gw_->count("watched by"), 0u) << gw_->log();
    // The gateway is still up and still takes a good watch.
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 3), 3));
    EXPECT_TRUE(gw_->wait_for("watched by 1 console: heartbeat every 1s, retained", 5s)) << gw_->log();
}

TEST_F(WatchLocalCore, ARetainedWatchWithoutAnExpiryDoesNotMakeItFastAfterARestart) {
    start_gateway();
    // A console that leaves its watch retained without a message expiry (ours always sets one):
    // the broker would keep it for ever and send it at every subscribe.
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 3), -1));
    // Delivered live, it is a watch like any other: fast for its lease_s, then slow.
    ASSERT_TRUE(gw_->wait_for("watched by 1 console: heartbeat every 1s, retained", 5s)) << gw_->log();
    ASSERT_TRUE(gw_->wait_for("no console watching: heartbeat every 4s, retained", 10s, 2)) << gw_->log();
    ASSERT_TRUE(retained_watch("console-watch-reader")) << "the broker holds no watch\n" << lc->broker_log();
    stop_gateway();

    // The restarted gateway gets the stored copy when it subscribes: refused and counted, not a
    // new lease; the AMR stays slow with nobody watching.
    start_gateway();
    EXPECT_TRUE(gw_->wait_for(R"(console "card-1" left a retained watch without a message expiry)", 5s))
        << gw_->log();
    EXPECT_TRUE(metric_becomes("watch.refused", "1", 5s)) << gw_->log();
    EXPECT_TRUE(metric_is("watch.leases", "0")) << gw_->log();
    EXPECT_EQ(gw_->count("watched by"), 0u) << gw_->log();
}

TEST_F(WatchLocalCore, AWatchLastsNoLongerThanItsMessageExpiry) {
    start_gateway();
    // A watch asking for a minute whose message expires in 3 s: live, the lease is 3 s.
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 60), 3, false));
    ASSERT_TRUE(gw_->wait_for("watched by 1 console: heartbeat every 1s, retained", 5s)) << gw_->log();
    EXPECT_TRUE(gw_->wait_for("no console watching: heartbeat every 4s, retained", 15s, 2)) << gw_->log();

    // Retained with 8 s of expiry and a restart in between: the new process's lease is what is
    // left of the stored copy (mosquitto sends the remaining expiry), not 60 s.
    ASSERT_TRUE(publish_watch("console-1", watch_json("card-1", 60), 8));
    ASSERT_TRUE(gw_->wait_for("watched by 1 console: heartbeat every 1s, retained", 5s, 2)) << gw_->log();
    stop_gateway();
    const auto restarted = std::chrono::steady_clock::now();
    start_gateway();
    ASSERT_TRUE(gw_->wait_for("watched by 1 console: heartbeat every 1s, retained", 5s)) << gw_->log();
    ASSERT_TRUE(gw_->wait_for("no console watching: heartbeat every 4s, retained", 20s, 2)) << gw_->log();
    // Bounded well below the 60 s the payload asks for (the expiry left was at most 8 s).
    EXPECT_LT(std::chrono::steady_clock::now() - restarted, 20s);
}

}  // namespace
}  // namespace localcore::conformance
