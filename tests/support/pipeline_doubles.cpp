#include "pipeline_doubles.hpp"

#include <iotgw/sdk.hpp>

#include <map>
#include <string_view>

namespace iotgw::test::doubles {
namespace {

std::vector<Seen>& recorded() {
    static std::vector<Seen> v;
    return v;
}

void record(const sdk::Host& host, std::string address, const sdk::Message& m) {
    recorded().push_back({host.instance_name(), std::move(address), std::string(m.topic),
                          std::string(m.payload), m.qos, m.retain});
}

template <class T>
std::map<std::string, T*>& live() {
    static std::map<std::string, T*> m;
    return m;
}

// Registers itself by instance name for the test's helper functions, for its lifetime.
template <class T>
class Named {
public:
    Named(const sdk::Host& host, T* self) : name_(host.instance_name()) { live<T>()[name_] = self; }
    ~Named() { live<T>().erase(name_); }
    Named(const Named&) = delete;
    Named& operator=(const Named&) = delete;

private:
    std::string name_;
};

class Feed final : public sdk::Source {
public:
    Feed(sdk::Host h, const sdk::Config&) : Source(h), named_(h, this) {}
    bool emit(const sdk::Message& m) const {
        try {
            host().emit(m);
            return true;
        } catch (const sdk::Error&) {
            return false;
        }
    }

private:
    Named<Feed> named_;
};

class Record final : public sdk::Sink {
public:
    Record(sdk::Host h, const sdk::Config&) : Sink(h) {}
    void on_message(const sdk::Delivery&, uint32_t, const sdk::Message& m) override { record(host(), "", m); }
};

class Link final : public sdk::Connection {
public:
    Link(sdk::Host h, const sdk::Config&) : Connection(h), named_(h, this) {}

    uint32_t open_endpoint(sdk::Direction direction, std::string_view address) override {
        endpoints_.push_back({direction, std::string(address)});
        return static_cast<uint32_t>(endpoints_.size());
    }
    void on_message(const sdk::Delivery&, uint32_t endpoint_id, const sdk::Message& m) override {
        record(host(), endpoint_id == 0 ? "" : endpoints_.at(endpoint_id - 1).address, m);
    }
    bool receive(const std::string& address, const std::string& topic, const std::string& payload) const {
        for (uint32_t i = 0; i < endpoints_.size(); ++i) {
            if (endpoints_[i].direction != sdk::Direction::input || endpoints_[i].address != address)
                continue;
            try {
                host().emit(sdk::Message{topic, payload, 1, false}, i + 1);
                return true;
            } catch (const sdk::Error&) {
                return false;
            }
        }
        return false;
    }
    bool state(bool connected) const {
        host().publish_event(
            "link", connected ? R"({"connected":true})" : R"({"connected":false,"reason":"test"})", true);
        return true;
    }
    bool event(const std::string& payload) const {
        host().publish_event("link", payload, true);
        return true;
    }

private:
    struct Endpoint {
        sdk::Direction direction;
        std::string address;
    };
    std::vector<Endpoint> endpoints_;
    Named<Link> named_;
};

template <class T>
const iotgw_plugin_descriptor* entry_of(const iotgw_host_api* host, const char* name) {
    const sdk::PluginInfo info{.abi_major = 1,
                               .abi_minor = 0,
                               .name = name,
                               .version = "1.0.0",
                               .description = "test double",
                               .fields = {}};
    return sdk::detail::entry<T>(host, info);
}

const iotgw_plugin_descriptor* feed_entry(const iotgw_host_api* h) { return entry_of<Feed>(h, "test_feed"); }
const iotgw_plugin_descriptor* record_entry(const iotgw_host_api* h) {
    return entry_of<Record>(h, "test_record");
}
const iotgw_plugin_descriptor* link_entry(const iotgw_host_api* h) { return entry_of<Link>(h, "test_link"); }

template <class T>
T* find(const std::string& instance) {
    auto it = live<T>().find(instance);
    return it == live<T>().end() ? nullptr : it->second;
}

}  // namespace

void register_all(core::PluginRegistry& registry) {
    registry.add_builtin(&feed_entry, "builtin:test_feed");
    registry.add_builtin(&record_entry, "builtin:test_record");
    registry.add_builtin(&link_entry, "builtin:test_link");
}

std::vector<Seen> seen() { return recorded(); }

std::vector<Seen> seen_on(const std::string& topic) {
    std::vector<Seen> out;
    for (const auto& s : recorded())
        if (s.topic == topic) out.push_back(s);
    return out;
}

void clear_seen() { recorded().clear(); }

bool feed(const std::string& instance, const std::string& topic, const std::string& payload, int qos,
          bool retain) {
    Feed* f = find<Feed>(instance);
    return f != nullptr && f->emit(sdk::Message{topic, payload, qos, retain});
}

bool link_receive(const std::string& instance, const std::string& address, const std::string& topic,
                  const std::string& payload) {
    Link* l = find<Link>(instance);
    return l != nullptr && l->receive(address, topic, payload);
}

bool link_state(const std::string& instance, bool connected) {
    Link* l = find<Link>(instance);
    return l != nullptr && l->state(connected);
}

bool link_event(const std::string& instance, const std::string& payload) {
    Link* l = find<Link>(instance);
    return l != nullptr && l->event(payload);
}

}  // namespace iotgw::test::doubles
