// The internal event bus: names, filters, retained replay, end of subscriptions at stop.
#include "config_text.hpp"
#include "test_plugins.hpp"
#include "test_support.hpp"

#include <iotgw/core/gateway.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace iotgw::test {
namespace {

const std::string kConfig = ConfigText()
                                .source("a", "probe")
                                .source("b", "probe")
                                .sink("x", "collect")
                                .pipeline("p1", "a", {"x"})
                                .pipeline("p2", "b", {"x"});

struct Seen {
    std::vector<std::string> events;
    static void fn(void* user, const char* event, const char* payload) {
        static_cast<Seen*>(user)->events.push_back(std::string(event) + " " + payload);
    }
};

class EventsTest : public ::testing::Test {
protected:
    void SetUp() override {
        Recorder::get().reset();
        register_test_plugins(registry_);
        auto cfg = test_config(registry_, kConfig);
        std::string error;
        ASSERT_TRUE(gw_.start(std::move(*cfg), error)) << error;
        api_ = core::host_api_table();
        a_ = probe_handle("a");
        b_ = probe_handle("b");
    }
    // Declared before the gateway: subscriptions must not outlive what they write to, and the
    // gateway's stop at teardown still delivers "stopping".
    Seen seen;
    Seen at_stop;
    CapturingLog log_;
    core::PluginRegistry registry_{core::host_api_table()};
    boost::asio::io_context io_;
    core::Gateway gw_{io_, log_.logger()};
    const iotgw_host_api* api_ = nullptr;
    iotgw_host_instance* a_ = nullptr;
    iotgw_host_instance* b_ = nullptr;
};

TEST_F(EventsTest, InstanceEventsAreNamespacedAndMatchedByFilter) {
    ASSERT_NE(api_->event_subscribe(b_, "$iotgw/instance/a/+", &Seen::fn, &seen), 0u);
    EXPECT_EQ(api_->event_publish(a_, "connected", "{\"up\":true}", 0), IOTGW_OK);
    EXPECT_EQ(api_->event_publish(b_, "connected", "{}", 0), IOTGW_OK);  // b's own: filtered out
    EXPECT_EQ(seen.events, (std::vector<std::string>{"$iotgw/instance/a/connected {\"up\":true}"}));
}

TEST_F(EventsTest, RetainedEventsAreReplayedToLaterSubscribersLastValueOnly) {
    EXPECT_EQ(api_->event_publish(a_, "link", "{\"n\":1}", 1), IOTGW_OK);
    EXPECT_EQ(api_->event_publish(a_, "link", "{\"n\":2}", 1), IOTGW_OK);
    EXPECT_EQ(api_->event_publish(a_, "blip", "{}", 0), IOTGW_OK);  // not retained
    ASSERT_NE(api_->event_subscribe(b_, "$iotgw/#", &Seen::fn, &seen), 0u);
    // The core's retained "started" came first, then the instance's last "link".
    ASSERT_EQ(seen.events.size(), 2u);
    EXPECT_EQ(seen.events[0].rfind("$iotgw/core/started {\"thing\":\"AMR-001\"", 0), 0u) << seen.events[0];
    EXPECT_EQ(seen.events[1], "$iotgw/instance/a/link {\"n\":2}");
}

TEST_F(EventsTest, SubscriptionsEndWithUnsubscribeAndAtStop) {
    uint32_t id = api_->event_subscribe(b_, "$iotgw/instance/a/e", &Seen::fn, &seen);
    api_->event_publish(a_, "e", "1", 0);
    api_->event_unsubscribe(b_, id);
    api_->event_publish(a_, "e", "2", 0);
    EXPECT_EQ(seen.events, (std::vector<std::string>{"$iotgw/instance/a/e 1"}));

    api_->event_subscribe(b_, "$iotgw/core/#", &Seen::fn, &at_stop);
    at_stop.events.clear();  // drop the replayed "started"
    gw_.stop();
    // "stopping" is delivered while b is still running; nothing after.
    EXPECT_EQ(at_stop.events, (std::vector<std::string>{"$iotgw/core/stopping {}"}));
}

TEST_F(EventsTest, BadNamesAndFiltersAreRefused) {
    EXPECT_EQ(api_->event_publish(a_, "a/b", "{}", 0), IOTGW_ERR_FAILED);
    EXPECT_EQ(api_->event_publish(a_, "", "{}", 0), IOTGW_ERR_FAILED);
    EXPECT_EQ(api_->event_publish(a_, "x#", "{}", 0), IOTGW_ERR_FAILED);
    EXPECT_EQ(api_->event_subscribe(b_, "$iotgw/#/x", &Seen::fn, &seen), 0u);
    EXPECT_EQ(api_->event_subscribe(b_, "", &Seen::fn, &seen), 0u);
}

TEST_F(EventsTest, ANullPayloadIsDeliveredAsJsonNull) {
    api_->event_subscribe(b_, "$iotgw/instance/a/+", &Seen::fn, &seen);
    api_->event_publish(a_, "ping", nullptr, 0);
    EXPECT_EQ(seen.events, (std::vector<std::string>{"$iotgw/instance/a/ping null"}));
}

}  // namespace
}  // namespace iotgw::test
