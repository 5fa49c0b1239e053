#include "test_plugins.hpp"

#include <iotgw/sdk.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

namespace iotgw::test {
namespace {

using sdk::Field;

std::mutex g_instances_mutex;
std::map<std::string, class Probe*> g_probes;
std::map<std::string, class Loopback*> g_connections;

// --- sources.probe: emits when the test calls probe_emit; fails start if asked to ---
constexpr iotgw_config_field kProbeFields[] = {
    Field::boolean("fail_start", "throw from start()").with_default("false"),
    Field::ref("credentials", IOTGW_KIND_CREDENTIALS, "credentials to read at start"),
};

class Probe final : public sdk::Source {
public:
    Probe(sdk::Host host, const sdk::Config& cfg)
        : Source(host), fail_start_(cfg.boolean("fail_start")), credentials_(cfg.optional_string("credentials")) {
        Recorder::get().event("create:" + host.instance_name());
        std::lock_guard lock(g_instances_mutex);
        g_probes[host.instance_name()] = this;
    }
    ~Probe() override {
        Recorder::get().event("destroy:" + host().instance_name());
        std::lock_guard lock(g_instances_mutex);
        g_probes.erase(host().instance_name());
    }
    void start() override {
        if (fail_start_) throw sdk::Error("simulated start failure");
        if (credentials_) {
            auto c = host().credentials(*credentials_);
            Recorder::get().event("credentials:" + c.cert_chain_path + "|" + c.private_key_path);
        }
        Recorder::get().event("start:" + host().instance_name());
    }
    void stop() noexcept override { Recorder::get().event("stop:" + host().instance_name()); }
    int emit_now(const std::string& topic, const std::string& payload) {
        iotgw_message m = sdk::Message{topic, payload, 1, false}.to_c();
        return sdk::detail::host_api().emit(host().get(), nullptr, 0, &m);
    }

private:
    bool fail_start_;
    std::optional<std::string> credentials_;
};

// --- processors.tag: appends its suffix; throws on payload "fail"; drops payload "drop" ---
constexpr iotgw_config_field kTagFields[] = {
    Field::string("suffix", "appended to the payload").required(),
};

class Tag final : public sdk::Processor {
public:
    Tag(sdk::Host host, const sdk::Config& cfg) : Processor(host), suffix_(cfg.string("suffix")) {
        Recorder::get().event("create:" + host.instance_name());
    }
    ~Tag() override { Recorder::get().event("destroy:" + host().instance_name()); }
    void start() override { Recorder::get().event("start:" + host().instance_name()); }
    void stop() noexcept override { Recorder::get().event("stop:" + host().instance_name()); }
    void on_message(const sdk::Delivery& d, uint32_t, const sdk::Message& m) override {
        if (m.payload == "fail") throw std::runtime_error("payload says fail");
        if (m.payload == "drop") return;
        std::string out = std::string(m.payload) + suffix_;
        sdk::Message next = m;
        next.payload = out;
        forward(d, next);
    }

private:
    std::string suffix_;
};

// --- processors.delayed: holds each message and emits it on its own initiative after a delay ---
constexpr iotgw_config_field kDelayedFields[] = {
    Field::duration("delay", "how long to hold a message").with_default("\"10ms\""),
};

class Delayed final : public sdk::Processor {
public:
    Delayed(sdk::Host host, const sdk::Config& cfg)
        : Processor(host), delay_(cfg.duration("delay")), timer_(host.timer([this] { release(); })) {}
    void stop() noexcept override { timer_.cancel(); }
    void on_message(const sdk::Delivery&, uint32_t, const sdk::Message& m) override {
        held_topic_ = m.topic;
        held_payload_ = std::string(m.payload) + "+later";
        timer_.arm_in(delay_);
    }

private:
    void release() { host().emit(sdk::Message{held_topic_, held_payload_, 0, false}); }
    std::chrono::milliseconds delay_;
    sdk::Timer timer_;
    std::string held_topic_, held_payload_;
};

// --- sinks.collect: records; throws on payload containing "sinkfail" ---
constexpr iotgw_config_field kCollectFields[] = {
    Field::boolean("fail_start", "throw from start()").with_default("false"),
};

class Collect final : public sdk::Sink {
public:
    Collect(sdk::Host host, const sdk::Config& cfg) : Sink(host), fail_start_(cfg.boolean("fail_start")) {
        Recorder::get().event("create:" + host.instance_name());
    }
    ~Collect() override { Recorder::get().event("destroy:" + host().instance_name()); }
    void start() override {
        if (fail_start_) throw sdk::Error("simulated start failure");
        Recorder::get().event("start:" + host().instance_name());
    }
    void stop() noexcept override { Recorder::get().event("stop:" + host().instance_name()); }
    void on_message(const sdk::Delivery&, uint32_t endpoint, const sdk::Message& m) override {
        if (m.payload.find("sinkfail") != std::string_view::npos) throw std::runtime_error("sink refuses");
        Recorder::get().message({host().instance_name(), std::string(m.topic), std::string(m.payload), endpoint,
                                 m.qos, m.retain});
    }

private:
    bool fail_start_;
};

// --- connections.loopback: endpoints are addresses; OUTPUT messages are recorded with their
// endpoint id, INPUT endpoints emit what the test injects ---
constexpr iotgw_config_field kLoopbackFields[] = {
    Field::ref("credentials", IOTGW_KIND_CREDENTIALS, "credentials instance").required(),
};

class Loopback final : public sdk::Connection {
public:
    Loopback(sdk::Host host, const sdk::Config& cfg) : Connection(host), credentials_(cfg.string("credentials")) {
        Recorder::get().event("create:" + host.instance_name());
        std::lock_guard lock(g_instances_mutex);
        g_connections[host.instance_name()] = this;
    }
    ~Loopback() override {
        Recorder::get().event("destroy:" + host().instance_name());
        std::lock_guard lock(g_instances_mutex);
        g_connections.erase(host().instance_name());
    }
    void start() override { Recorder::get().event("start:" + host().instance_name()); }
    void stop() noexcept override { Recorder::get().event("stop:" + host().instance_name()); }
    uint32_t open_endpoint(sdk::Direction dir, std::string_view address) override {
        if (address == "refuse") throw sdk::Error("address 'refuse' is refused");
        auto& list = dir == sdk::Direction::input ? inputs_ : outputs_;
        auto it = std::find(list.begin(), list.end(), address);
        if (it != list.end()) return static_cast<uint32_t>(it - list.begin()) + 1 + (dir == sdk::Direction::input ? 0 : 1000);
        list.emplace_back(address);
        return static_cast<uint32_t>(list.size()) + (dir == sdk::Direction::input ? 0 : 1000);
    }
    void on_message(const sdk::Delivery&, uint32_t endpoint, const sdk::Message& m) override {
        std::string address = endpoint > 1000 ? outputs_.at(endpoint - 1001) : "";
        Recorder::get().message({host().instance_name(), address.empty() ? std::string(m.topic) : address,
                                 std::string(m.payload), endpoint, m.qos, m.retain});
    }
    int receive(const std::string& address, const std::string& payload) {
        auto it = std::find(inputs_.begin(), inputs_.end(), address);
        if (it == inputs_.end()) return IOTGW_ERR_NOT_FOUND;
        iotgw_message m = sdk::Message{address, payload, 1, false}.to_c();
        return sdk::detail::host_api().emit(host().get(), nullptr, static_cast<uint32_t>(it - inputs_.begin()) + 1, &m);
    }

private:
    std::string credentials_;
    std::vector<std::string> inputs_, outputs_;
};

// --- credentials.static: fixed paths ---
constexpr iotgw_config_field kStaticFields[] = {
    Field::string("cert", "certificate chain path").required(),
    Field::string("key", "key path").required(),
};

class StaticCredentials final : public sdk::CredentialsProvider {
public:
    StaticCredentials(sdk::Host host, const sdk::Config& cfg)
        : CredentialsProvider(host), cert_(cfg.string("cert")), key_(cfg.string("key")) {
        Recorder::get().event("create:" + host.instance_name());
    }
    ~StaticCredentials() override { Recorder::get().event("destroy:" + host().instance_name()); }
    void start() override { Recorder::get().event("start:" + host().instance_name()); }
    void stop() noexcept override { Recorder::get().event("stop:" + host().instance_name()); }
    sdk::Credentials credentials() override { return {cert_, key_, "", 0}; }

private:
    std::string cert_, key_;
};

template <class T>
sdk::PluginInfo info(const char* name, std::span<const iotgw_config_field> fields) {
    return {.abi_major = 1, .abi_minor = 0, .name = name, .version = "0.0.1", .description = "test plugin",
            .fields = fields};
}

const iotgw_plugin_descriptor* probe_entry(const iotgw_host_api* h) {
    static const auto i = info<Probe>("probe", kProbeFields);
    return sdk::detail::entry<Probe>(h, i);
}
const iotgw_plugin_descriptor* tag_entry(const iotgw_host_api* h) {
    static const auto i = info<Tag>("tag", kTagFields);
    return sdk::detail::entry<Tag>(h, i);
}
const iotgw_plugin_descriptor* delayed_entry(const iotgw_host_api* h) {
    static const auto i = info<Delayed>("delayed", kDelayedFields);
    return sdk::detail::entry<Delayed>(h, i);
}
const iotgw_plugin_descriptor* collect_entry(const iotgw_host_api* h) {
    static const auto i = info<Collect>("collect", kCollectFields);
    return sdk::detail::entry<Collect>(h, i);
}
const iotgw_plugin_descriptor* loopback_entry(const iotgw_host_api* h) {
    static const auto i = info<Loopback>("loopback", kLoopbackFields);
    return sdk::detail::entry<Loopback>(h, i);
}
const iotgw_plugin_descriptor* static_entry(const iotgw_host_api* h) {
    static const auto i = info<StaticCredentials>("static", kStaticFields);
    return sdk::detail::entry<StaticCredentials>(h, i);
}

}  // namespace

Recorder& Recorder::get() {
    static Recorder r;
    return r;
}

void Recorder::reset() {
    std::lock_guard lock(mutex_);
    messages_.clear();
    events_.clear();
}

void Recorder::message(Recorded r) {
    std::lock_guard lock(mutex_);
    messages_.push_back(std::move(r));
}

void Recorder::event(std::string e) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(e));
}

std::vector<Recorded> Recorder::messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
}

std::vector<Recorded> Recorder::messages_of(const std::string& instance) const {
    std::lock_guard lock(mutex_);
    std::vector<Recorded> out;
    for (const auto& m : messages_)
        if (m.instance == instance) out.push_back(m);
    return out;
}

std::vector<std::string> Recorder::events() const {
    std::lock_guard lock(mutex_);
    return events_;
}

int probe_emit(const std::string& instance, const std::string& topic, const std::string& payload) {
    Probe* p = nullptr;
    {
        std::lock_guard lock(g_instances_mutex);
        auto it = g_probes.find(instance);
        if (it == g_probes.end()) return IOTGW_ERR_NOT_FOUND;
        p = it->second;
    }
    return p->emit_now(topic, payload);
}

iotgw_host_instance* probe_handle(const std::string& instance) {
    std::lock_guard lock(g_instances_mutex);
    auto it = g_probes.find(instance);
    return it == g_probes.end() ? nullptr : it->second->host().get();
}

int connection_receive(const std::string& instance, const std::string& address, const std::string& payload) {
    Loopback* c = nullptr;
    {
        std::lock_guard lock(g_instances_mutex);
        auto it = g_connections.find(instance);
        if (it == g_connections.end()) return IOTGW_ERR_NOT_FOUND;
        c = it->second;
    }
    return c->receive(address, payload);
}

void register_test_plugins(core::PluginRegistry& registry) {
    for (auto entry : {&probe_entry, &tag_entry, &delayed_entry, &collect_entry, &loopback_entry, &static_entry})
        ASSERT_NE(registry.add_builtin(entry, "builtin:test"), nullptr) << "test plugin refused by the registry";
}

std::optional<core::GatewayConfig> test_config(core::PluginRegistry& registry, const std::string& toml,
                                               const std::string& name) {
    core::Diagnostics diags;
    core::LoadOptions opts;
    opts.use_default_plugin_dirs = false;
    auto cfg = core::load_config_text(toml, name, registry, diags, opts);
    std::string all;
    for (const auto& d : diags.items()) all += d.str() + "\n";
    EXPECT_TRUE(cfg.has_value()) << all;
    return cfg;
}

}  // namespace iotgw::test
