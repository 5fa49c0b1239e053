// The mqtt connection against a real mosquitto with mutual TLS, in a real gateway: publish and
// subscribe, the link event, offline queue across a broker restart, queue overflow, client-id
// takeover with the Will, the offline status on a clean stop, scope and AWS-limit refusals, and
// TLS refusals (host name, foreign CA). Each behaviour runs with MQTT 3.1.1 and 5 where it differs.
#include "gateway_harness.hpp"
#include "mosquitto_broker.hpp"
#include "test_mqtt_client.hpp"

#include <iotgw/plugins/common/certificate_info.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace iotgw::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kLong = std::chrono::milliseconds(15000);

struct Version {
    const char* config;                  // mqtt_version in the gateway config
    int client;                          // TestMqttClient's version
    const char* library = "paho-async";  // the connection's `client`
};

void PrintTo(const Version& v, std::ostream* os) { *os << "MQTT " << v.config << ", " << v.library; }

std::string param_name(const Version& v) {
    return std::string(v.client == 4 ? "v311" : "v5") +
           (std::string(v.library) == "paho-sync" ? "_sync" : "");
}

class MqttBroker : public ::testing::TestWithParam<Version> {
protected:
    TempDir tmp;
    DevPki pki{tmp.path() / "pki"};
    DevPki::Device gw = pki.device("AMR-001");
    MosquittoBroker broker{pki};
    GatewayHarness h;

    // A gateway with credentials "dev", connection "cloud" (fast reconnects), the link event fed
    // to the sink "seen" as "received events/link {...}", plus `extra` (instances, pipelines).
    std::string config(const std::string& conn_extra, const std::string& extra,
                       const DevPki::Device* cert = nullptr,
                       const std::string& endpoint = "localhost") const {
        const DevPki::Device& c = cert ? *cert : gw;
        return R"(
[gateway]
thing = "AMR-001"
[credentials.dev]
type = "file"
cert = ")" + c.cert.string() +
               R"("
key = ")" + c.key.string() +
               R"("
ca = ")" + pki.ca.string() +
               R"("
[connections.cloud]
type = "mqtt"
endpoint = ")" +
               endpoint +
               R"("
port = )" + std::to_string(broker.port()) +
               R"(
credentials = "dev"
mqtt_version = ")" +
               GetParam().config +
               R"("
client = ")" + GetParam().library +
               R"("
reconnect_min = "100ms"
reconnect_max = "500ms"
takeover_backoff = "3s"
connect_timeout = "5s"
)" + conn_extra +
               R"(
[sources.links]
type = "events"
events = ["$iotgw/instance/cloud/link"]
topic = "events/{event}"
[sinks.seen]
type = "fixture_sink"
[[pipelines]]
name = "links"
from = "links"
to = ["seen"]
)" + extra;
    }

    std::string ticker(const std::string& fields) const {
        return R"(
[sources.ticker]
type = "tick"
)" + fields + R"(
[[pipelines]]
name = "out"
from = "ticker"
to = ["cloud"]
)";
    }

    // A fixture source "exp" publishing QoS 1 "e" on amr/AMR-001/exp with the message expiry
    // `expiry_s`, plus `fields`, piped to the connection.
    std::string expiring_source(int expiry_s, const std::string& fields) const {
        return R"(
[sources.exp]
type = "fixture_source"
topic = "amr/AMR-001/exp"
payload = "e"
qos = 1
expiry_s = )" + std::to_string(expiry_s) + "\n" + fields + R"(
[[pipelines]]
name = "exp"
from = "exp"
to = ["cloud"]
)";
    }

    uint64_t counter(const std::string& name) { return h.gateway().metrics().counter_value("cloud." + name); }
    double gauge(const std::string& name) {
        for (const auto& s : h.gateway().metrics().snapshot())
            if (s.name == "cloud." + name) return s.value;
        return -1;
    }
    bool logged(const std::string& needle) { return !h.lines_with(needle).empty(); }
    bool wait_logged(const std::string& needle, std::chrono::milliseconds limit = kLong) {
        return h.run_until([&] { return logged(needle); }, limit);
    }
    bool wait_connected(uint64_t n = 1) {
        return h.run_until([&] { return counter("connects") >= n; }, kLong);
    }
    std::unique_ptr<TestMqttClient> observer(const std::string& id = "observer") {
        auto c = std::make_unique<TestMqttClient>(broker, gw, id, GetParam().client);
        EXPECT_TRUE(c->connect()) << c->last_error();
        return c;
    }
};

std::vector<int> seqs(const std::vector<TestMqttClient::Received>& got, const std::string& topic) {
    std::vector<int> out;
    for (const auto& r : got)
        if (r.topic == topic) out.push_back(std::stoi(r.payload));
    return out;
}

TEST_P(MqttBroker, ConnectsWithMutualTlsAndAnnouncesTheLink) {
    ASSERT_EQ(h.start(config("", ticker(R"(topic = "amr/${thing}/status"
payload = "{\"state\":\"online\"}"
qos = 1
retain = true
count = 1
interval = "10ms")"))),
              "");
    // paho.mqtt.c's synchronous client does not hand out the flag under MQTT 5: the field is
    // left out rather than guessed.
    const bool flag_known = !(GetParam().client == 5 && std::string(GetParam().library) == "paho-sync");
    ASSERT_TRUE(wait_logged(std::string("received events/link {\"connected\":true,") +
                            (flag_known ? "\"session_present\":false," : "") + "\"reconnects\":0," +
                            "\"certificate_id\":\"" +
                            plugins::common::read_certificate_info(gw.cert.string())->id + "\"}"))
        << h.log().joined();
    ASSERT_TRUE(h.run_until([&] { return counter("published") == 1; }, kLong)) << h.log().joined();
    EXPECT_EQ(gauge("connected"), 1.0);

    // A subscriber that comes later still sees the retained status.
    auto late = observer();
    late->subscribe("amr/AMR-001/status");
    auto got = late->wait_for([](const auto& r) { return r.topic == "amr/AMR-001/status"; }, 5s);
    ASSERT_TRUE(got) << broker.log();
    EXPECT_EQ(got->payload, "{\"state\":\"online\"}");
    EXPECT_TRUE(got->retained);
    EXPECT_EQ(got->qos, 1);
}

TEST_P(MqttBroker, AnInputEndpointFeedsItsPipeline) {
    ASSERT_EQ(h.start(config("", R"(
[[pipelines]]
name = "cmd"
from = "cloud:amr/${thing}/cmd/+"
to = ["seen"]
)")),
              "");
    ASSERT_TRUE(wait_connected()) << h.log().joined();
    auto cloud = observer("console");
    // The subscription is made right after CONNACK; publish until it is in place.
    bool seen = false;
    for (int i = 0; i < 50 && !seen; ++i) {
        cloud->publish("amr/AMR-001/cmd/call", "{\"go\":1}", 1);
        seen = h.run_until([&] { return logged("received amr/AMR-001/cmd/call {\"go\":1}"); }, 200ms);
    }
    ASSERT_TRUE(seen) << h.log().joined();
    EXPECT_GE(counter("received"), 1u);
    // Not subscribed: another command topic of this thing is not delivered.
    cloud->publish("amr/AMR-001/other", "x", 1);
    cloud->publish("amr/AMR-001/cmd/stop", "halt", 1);
    ASSERT_TRUE(wait_logged("received amr/AMR-001/cmd/stop halt"));
    EXPECT_FALSE(logged("received amr/AMR-001/other"));
}

// A message's expiry (ABI 1.2, e.g. a retained watch) goes out as the MQTT 5 Message Expiry
// Interval, so the broker drops it, and its retained copy, when it runs out; MQTT 3.1.1 has none.
TEST_P(MqttBroker, AMessageExpiryIsPublishedAsTheMqtt5Property) {
    auto obs = observer();
    obs->subscribe("amr/AMR-001/exp");
    ASSERT_EQ(h.start(config("", expiring_source(30, R"(interval = "100ms")"))), "");
    ASSERT_TRUE(wait_connected()) << h.log().joined();
    // Messages emitted before the connect waited in the queue, and that time counts against them.
    // The ones after it go at once: 30 s, rounded up from what is left.
    const auto sent_at_once = [&] { return counter("published") >= 5 && gauge("queue_depth") == 0; };
    ASSERT_TRUE(h.run_until(sent_at_once, kLong)) << h.log().joined();
    const std::size_t before = obs->count("amr/AMR-001/exp");
    ASSERT_TRUE(h.run_until([&] { return obs->count("amr/AMR-001/exp") >= before + 2; }, kLong))
        << h.log().joined();
    std::vector<TestMqttClient::Received> got;
    for (const auto& r : obs->received())
        if (r.topic == "amr/AMR-001/exp") got.push_back(r);
    for (const auto& r : got) {
        if (GetParam().client == 5) {
            ASSERT_TRUE(r.expiry_s.has_value());
            EXPECT_GE(*r.expiry_s, 15u);
            EXPECT_LE(*r.expiry_s, 30u);
        } else {
            EXPECT_FALSE(r.expiry_s.has_value());
        }
    }
    if (GetParam().client == 5) {
        EXPECT_EQ(got.back().expiry_s, 30u);
    }
}

// A message whose expiry runs out while the link is down is not sent when it comes back. Over
// MQTT 3.1.1, which has no expiry, it is sent like any other.
TEST_P(MqttBroker, AMessageWhoseExpiryRanOutInTheQueueIsNotSent) {
    const bool v5 = GetParam().client == 5;
    // No broker yet: both sources emit their 3 messages into the offline queue.
    broker.stop();
    ASSERT_EQ(h.start(config("", expiring_source(1, "interval = \"200ms\"\ncount = 3") +
                                     ticker(R"(topic = "amr/${thing}/seq"
payload = "{seq}"
qos = 1
interval = "200ms"
count = 3)"))),
              "");
    ASSERT_TRUE(h.run_until([&] { return gauge("queue_depth") >= 6; }, kLong)) << h.log().joined();
    h.run_for(2500ms);  // the 1-s expiry of every queued "exp" message runs out
    broker.start();
    auto obs = observer();
    obs->subscribe("amr/AMR-001/#");
    ASSERT_TRUE(h.run_until([&] { return counter("published") >= 3 && gauge("queue_depth") == 0; }, kLong))
        << h.log().joined();
    EXPECT_EQ(counter("expired"), v5 ? 3u : 0u);
    EXPECT_EQ(counter("queue_dropped"), 0u);
    ASSERT_TRUE(h.run_until([&] { return obs->count("amr/AMR-001/seq") >= 3; }, kLong)) << h.log().joined();
    if (!v5) {
        EXPECT_TRUE(h.run_until([&] { return obs->count("amr/AMR-001/exp") >= 3; }, kLong)) << h.log().joined();
    }
    EXPECT_EQ(obs->count("amr/AMR-001/exp"), v5 ? 0u : 3u);
}

TEST_P(MqttBroker, MessagesPublishedWhileTheBrokerIsDownAreQueuedAndFlushedInOrder) {
    ASSERT_EQ(h.start(config("", ticker(R"(topic = "amr/${thing}/seq"
payload = "{seq}"
qos = 1
interval = "50ms")"))),
              "");
    ASSERT_TRUE(wait_connected()) << h.log().joined();
    auto before = observer();
    before->subscribe("amr/AMR-001/seq");
    ASSERT_TRUE(h.run_until([&] { return before->count("amr/AMR-001/seq") >= 3; }, kLong))
        << h.log().joined();

    broker.stop();
    ASSERT_TRUE(wait_logged("received events/link {\"connected\":false")) << h.log().joined();
    ASSERT_TRUE(h.run_until([&] { return gauge("queue_depth") >= 5; }, kLong)) << h.log().joined();
    const auto queued = static_cast<uint64_t>(gauge("queue_depth"));  // the loop is paused from here on
    const auto published_before = counter("published");

    broker.start();
    auto after = observer();  // subscribed before the gateway can reconnect (its loop is paused)
    after->subscribe("amr/AMR-001/seq");
    // The loop runs again from here: the ticker goes on and the queue grows until the reconnect.
    ASSERT_TRUE(wait_logged("\"reconnects\":1,")) << h.log().joined();
    const auto sent_lines = h.lines_with("message(s) queued while offline");
    ASSERT_FALSE(sent_lines.empty());
    const std::string& last_sent = sent_lines.back();
    const uint64_t flushed = std::stoull(last_sent.substr(last_sent.find("sent ") + 5));
    EXPECT_GE(flushed, queued) << last_sent;
    // Exact count: every message the ticker emitted was acknowledged by the broker.
    ASSERT_TRUE(h.run_until(
        [&] { return counter("published") == h.gateway().metrics().counter_value("ticker.emitted"); }, kLong))
        << counter("published") << " published, " << h.gateway().metrics().counter_value("ticker.emitted")
        << " emitted";
    EXPECT_GT(counter("published"), published_before + queued - 1);
    EXPECT_EQ(counter("queue_dropped"), 0u);
    EXPECT_EQ(gauge("queue_depth"), 0.0);
    EXPECT_GE(counter("reconnect_attempts"), 1u);
    EXPECT_EQ(counter("disconnects"), 1u);

    // Nothing lost and nothing out of order: together the two observers saw 1..max without a
    // gap, and the second saw the queued messages in increasing order (a message in flight when
    // the broker went away may arrive twice, which QoS 1 allows).
    ASSERT_TRUE(after->wait_for_count("amr/AMR-001/seq", flushed, 10s));
    const auto after_seqs = seqs(after->received(), "amr/AMR-001/seq");
    const int max_seen = *std::max_element(after_seqs.begin(), after_seqs.end());
    std::set<int> all;
    for (int s : seqs(before->received(), "amr/AMR-001/seq")) all.insert(s);
    int last = 0;
    for (int s : after_seqs) {
        if (s > last) {
            EXPECT_EQ(s, last == 0 ? s : last + 1) << "gap after " << last;
            last = s;
        }
        all.insert(s);
    }
    ASSERT_GT(max_seen, 0);
    ASSERT_FALSE(all.empty());
    // From the first message the first observer saw (it subscribed after the gateway connected).
    for (int s = *all.begin(); s <= max_seen; ++s)
        EXPECT_TRUE(all.count(s)) << "message " << s << " was lost";
}

// Publishes written to the socket but not acknowledged when the connection goes: paho reports
// them failed (rc -1, -3 or -11; in a resumed session it would later send them again from freed
// memory: a garbage topic the broker refuses as malformed at every reconnect). They must be sent
// again from the gateway's own queue, and none may be counted as failed or lost.
TEST_P(MqttBroker, PublishesInFlightWhenTheBrokerDiesAreSentAgainFromTheQueue) {
    ASSERT_EQ(h.start(config("", ticker(R"(topic = "amr/${thing}/seq"
payload = "{seq}"
qos = 1
interval = "20ms")"))),
              "");
    ASSERT_TRUE(wait_connected()) << h.log().joined();
    auto before = observer();
    before->subscribe("amr/AMR-001/seq");
    ASSERT_TRUE(h.run_until([&] { return before->count("amr/AMR-001/seq") >= 3; }, kLong))
        << h.log().joined();

    // Frozen, the broker reads nothing: what the gateway publishes now stays in flight.
    broker.freeze();
    h.run_for(600ms);
    const auto emitted_while_frozen = h.gateway().metrics().counter_value("ticker.emitted");
    broker.kill_hard();
    ASSERT_TRUE(wait_logged("received events/link {\"connected\":false")) << h.log().joined();
    broker.start();
    auto after = observer();
    after->subscribe("amr/AMR-001/seq");
    ASSERT_TRUE(wait_logged("\"reconnects\":1,")) << h.log().joined();
    ASSERT_TRUE(h.run_until(
        [&] { return counter("published") >= h.gateway().metrics().counter_value("ticker.emitted"); }, kLong))
        << counter("published") << " published, " << h.gateway().metrics().counter_value("ticker.emitted")
        << " emitted, " << counter("publish_failed") << " failed\n"
        << h.log().joined();
    EXPECT_EQ(counter("publish_failed"), 0u) << h.log().joined();
    EXPECT_EQ(counter("queue_dropped"), 0u);
    EXPECT_GE(counter("publish_retried"), 1u) << "nothing was in flight: the test did not test anything";

    // Every message emitted while the broker was frozen reached a subscriber after the restart
    // (the frozen broker never delivered them; the killed one kept nothing).
    std::set<int> seen;
    for (int s : seqs(before->received(), "amr/AMR-001/seq")) seen.insert(s);
    ASSERT_TRUE(h.run_until(
        [&] {
            for (int s : seqs(after->received(), "amr/AMR-001/seq")) seen.insert(s);
            for (int s = *seen.begin(); s <= static_cast<int>(emitted_while_frozen); ++s)
                if (!seen.count(s)) return false;
            return true;
        },
        kLong))
        << "a message emitted while the broker was frozen never arrived\n"
        << h.log().joined();
}

TEST_P(MqttBroker, AFullOfflineQueueDropsTheOldestAndCountsEveryDrop) {
    broker.stop();
    ASSERT_EQ(h.start(config("offline_queue_messages = 3\n", ticker(R"(topic = "amr/${thing}/seq"
payload = "{seq}"
qos = 1
count = 10
interval = "10ms")"))),
              "");
    ASSERT_TRUE(h.run_until([&] { return counter("queue_dropped") == 7; }, kLong)) << h.log().joined();
    EXPECT_EQ(h.lines_with("offline queue full").size(), 1u) << h.log().joined();
    EXPECT_EQ(gauge("queue_depth"), 3.0);

    broker.start();
    auto obs = observer();
    obs->subscribe("amr/AMR-001/seq");
    ASSERT_TRUE(h.run_until([&] { return counter("published") == 3; }, kLong)) << h.log().joined();
    ASSERT_TRUE(obs->wait_for_count("amr/AMR-001/seq", 3, 10s));
    EXPECT_EQ(seqs(obs->received(), "amr/AMR-001/seq"), (std::vector<int>{8, 9, 10}));
    EXPECT_TRUE(logged("offline queue dropped 6 more message(s) while disconnected")) << h.log().joined();
}

TEST_P(MqttBroker, DropNewestKeepsTheFirstMessages) {
    broker.stop();
    ASSERT_EQ(h.start(config("offline_queue_messages = 3\noffline_drop = \"newest\"\n",
                             ticker(R"(topic = "amr/${thing}/seq"
payload = "{seq}"
qos = 1
count = 10
interval = "10ms")"))),
              "");
    ASSERT_TRUE(h.run_until([&] { return counter("queue_dropped") == 7; }, kLong)) << h.log().joined();
    broker.start();
    auto obs = observer();
    obs->subscribe("amr/AMR-001/seq");
    ASSERT_TRUE(h.run_until([&] { return counter("published") == 3; }, kLong)) << h.log().joined();
    ASSERT_TRUE(obs->wait_for_count("amr/AMR-001/seq", 3, 10s));
    EXPECT_EQ(seqs(obs->received(), "amr/AMR-001/seq"), (std::vector<int>{1, 2, 3}));
}

TEST_P(MqttBroker, ATakeoverOfTheClientIdIsDetectedAndBackedOffAndTheWillIsPublished) {
    auto watcher = observer("watcher");
    watcher->subscribe("amr/AMR-001/status");
    ASSERT_EQ(h.start(config("", "")), "");
    ASSERT_TRUE(wait_connected()) << h.log().joined();

    TestMqttClient intruder(broker, gw, "AMR-001", GetParam().client);
    ASSERT_TRUE(intruder.connect()) << intruder.last_error();
    // The broker closes the gateway's connection and publishes its Will.
    auto will = watcher->wait_for([](const auto& r) { return r.payload == "{\"state\":\"offline\"}"; }, 10s);
    ASSERT_TRUE(will) << broker.log();
    const std::string taken = "client id AMR-001 was taken over by another connection";
    // Without a reason code (3.1.1; mosquitto closes without 0x8E) one quick loss is not yet a
    // takeover: the gateway reconnects, and a second intruder makes it two in a row.
    ASSERT_TRUE(h.run_until([&] { return logged(taken) || counter("connects") >= 2; }, kLong))
        << h.log().joined();
    std::optional<TestMqttClient> second;
    if (!logged(taken)) {
        second.emplace(broker, gw, "AMR-001", GetParam().client);
        ASSERT_TRUE(second->connect()) << second->last_error();
        ASSERT_TRUE(wait_logged(taken)) << h.log().joined();
    }
    EXPECT_EQ(counter("takeovers"), 1u);
    EXPECT_TRUE(logged("(another gateway or client uses the same client id)"));
    EXPECT_TRUE(logged("received events/link {\"connected\":false,\"reason\":\"client id taken over"))
        << h.log().joined();
    // takeover_backoff is 3 s: no reconnect within the next second.
    const auto connects = counter("connects");
    h.run_for(1000ms);
    EXPECT_EQ(counter("connects"), connects);
}

TEST_P(MqttBroker, ACleanStopPublishesTheOfflineStatus) {
    auto watcher = observer("watcher");
    watcher->subscribe("amr/AMR-001/status");
    ASSERT_EQ(h.start(config("", "")), "");
    ASSERT_TRUE(wait_connected()) << h.log().joined();
    h.gateway().stop();
    auto got = watcher->wait_for([](const auto& r) { return r.payload == "{\"state\":\"offline\"}"; }, 10s);
    ASSERT_TRUE(got) << h.log().joined() << broker.log();
    // A later subscriber sees it too: it is retained.
    auto late = observer("late");
    late->subscribe("amr/AMR-001/status");
    auto retained = late->wait_for([](const auto& r) { return r.topic == "amr/AMR-001/status"; }, 5s);
    ASSERT_TRUE(retained);
    EXPECT_EQ(retained->payload, "{\"state\":\"offline\"}");
    EXPECT_TRUE(retained->retained);
}

#if defined(IOTGW_MQTT_TEST_SYNC)
// paho-sync is the default: a connection without a `client` line uses it (and says so).
TEST_P(MqttBroker, WithoutAClientLineTheConnectionUsesPahoSync) {
    std::string text = config("", "");
    const std::string line = std::string("client = \"") + GetParam().library + "\"\n";
    const auto at = text.find(line);
    ASSERT_NE(at, std::string::npos);
    text.erase(at, line.size());
    ASSERT_EQ(h.start(text), "");
    EXPECT_TRUE(h.run_until_logged("MQTT client library: paho-sync (libpaho-mqtt3cs)"));
    EXPECT_TRUE(h.run_until_logged("connected to localhost", std::chrono::seconds(10)));
}
#endif

// Every behaviour with both client libraries (the `client` setting): this file is built twice,
// once per library (CMakeLists.txt: mqtt_plugin_sync_broker_tests defines IOTGW_MQTT_TEST_SYNC).
#if defined(IOTGW_MQTT_TEST_SYNC)
INSTANTIATE_TEST_SUITE_P(Versions, MqttBroker,
                         ::testing::Values(Version{"3.1.1", 4, "paho-sync"}, Version{"5", 5, "paho-sync"}),
                         [](const auto& p) { return param_name(p.param); });
#else
INSTANTIATE_TEST_SUITE_P(Versions, MqttBroker, ::testing::Values(Version{"3.1.1", 4}, Version{"5", 5}),
                         [](const auto& p) { return param_name(p.param); });
#endif

// Refusals do not depend on the protocol version: MQTT 5 only.
class MqttRefusals : public MqttBroker {};

TEST_P(MqttRefusals, EndpointsOutsideTheTopicScopeAreRefusedAtStart) {
    std::string error = h.start(config("", R"(
[[pipelines]]
name = "x"
from = "links"
to = ["cloud:amr/AMR-002/status"]
)"));
    EXPECT_NE(error.find("publish topic 'amr/AMR-002/status' is outside topic_scope [\"amr/AMR-001/#\", "
                         "\"$aws/things/AMR-001/#\"]"),
              std::string::npos)
        << error;
    GatewayHarness h2;
    error = h2.start(config("", R"(
[[pipelines]]
name = "x"
from = "cloud:amr/#"
to = ["seen"]
)"));
    EXPECT_NE(error.find("subscription 'amr/#' is outside topic_scope"), std::string::npos) << error;
}

TEST_P(MqttRefusals, OversizedPayloadsAndTooDeepTopicsAreRefusedWithTheRule) {
    ASSERT_EQ(h.start(config("", R"(
[sources.deep]
type = "tick"
topic = "amr/${thing}/a/b/c/d/e/f/g"
count = 1
interval = "10ms"
[sources.big]
type = "fixture_source"
topic = "amr/AMR-001/big"
payload = ")" + std::string(131073, 'x') +
                                     R"("
count = 1
interval = "10ms"
[[pipelines]]
name = "deep"
from = "deep"
to = ["cloud"]
[[pipelines]]
name = "big"
from = "big"
to = ["cloud"]
)")),
              "");
    ASSERT_TRUE(wait_logged("has 8 '/' separators; AWS IoT allows at most 7")) << h.log().joined();
    EXPECT_TRUE(logged("cannot publish to 'amr/AMR-001/a/b/c/d/e/f/g'"));
    ASSERT_TRUE(wait_logged("the payload is 131073 bytes; AWS IoT allows at most 131072"))
        << h.log().joined();
    EXPECT_EQ(counter("published"), 0u);
}

TEST_P(MqttRefusals, AServerCertificateForAnotherHostNameIsRefused) {
    // "127.1" reaches the broker on 127.0.0.1, but the server certificate names neither it
    // (DNS:localhost, IP:127.0.0.1): with host-name verification on, the handshake must fail.
    ASSERT_EQ(h.start(config("", "", nullptr, "127.1")), "");
    ASSERT_TRUE(wait_logged("cannot connect to 127.1:")) << h.log().joined();
    h.run_for(300ms);
    EXPECT_EQ(counter("connects"), 0u) << h.log().joined();
    EXPECT_TRUE(logged("received events/link {\"connected\":false")) << h.log().joined();
}

TEST_P(MqttRefusals, AClientCertificateFromAnotherCaIsRefusedWithAClearLine) {
    const auto foreign = pki.device("AMR-001-foreign", "--ca other");
    ASSERT_EQ(h.start(config("client_id = \"AMR-001\"\n", "", &foreign)), "");
    ASSERT_TRUE(wait_logged("cannot connect to localhost:")) << h.log().joined();
    // Under TLS 1.3 the broker's alert arrives after the client's side of the handshake: paho
    // reports a failed handshake or, if CONNECT was written first, a close before CONNACK. Both
    // lines name the certificate to check.
    const auto lines = h.lines_with("cannot connect to localhost:");
    EXPECT_NE(lines[0].find("that " + foreign.cert.string() + " is valid"), std::string::npos) << lines[0];
    EXPECT_EQ(counter("connects"), 0u);
}

#if defined(IOTGW_MQTT_TEST_SYNC)
INSTANTIATE_TEST_SUITE_P(V5, MqttRefusals, ::testing::Values(Version{"5", 5, "paho-sync"}),
                         [](const auto& p) { return param_name(p.param); });
#else
INSTANTIATE_TEST_SUITE_P(V5, MqttRefusals, ::testing::Values(Version{"5", 5}),
                         [](const auto& p) { return param_name(p.param); });
#endif

}  // namespace
}  // namespace iotgw::test
