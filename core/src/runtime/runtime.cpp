#include "runtime.hpp"

#include <iotgw/core/kinds.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace iotgw::core {
namespace {

constexpr int64_t kErrorWindowNs = 10'000'000'000;  // 10 s
constexpr uint32_t kErrorsLoggedPerWindow = 5;

int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

const char* error_text(const iotgw_error& err) noexcept {
    return err.message[0] != '\0' ? err.message : "(the plugin gave no reason)";
}

// An older plugin may hand us a shorter iotgw_message: read what it has, zero the rest.
const iotgw_message* normalized(const iotgw_message& m, iotgw_message& scratch) noexcept {
    if (m.size >= sizeof(iotgw_message)) return &m;
    std::memset(&scratch, 0, sizeof scratch);
    std::memcpy(&scratch, &m, m.size);
    scratch.size = sizeof scratch;
    return &scratch;
}

}  // namespace

const std::vector<Route>* Node::routes_for(uint32_t endpoint_id) const noexcept {
    for (const auto& r : input_routes)
        if (r.endpoint_id == endpoint_id) return &r.routes;
    return nullptr;
}

Runtime::Runtime(boost::asio::io_context& io, Logger& log, Metrics& metrics, std::thread::id loop_thread,
                 GatewayConfig config, RuntimeMode mode)
    : io_(io), log_(log), metrics_(metrics), loop_thread_(loop_thread), config_(std::move(config)), mode_(mode) {
    nodes_.reserve(config_.instances.size());
    for (const auto& ic : config_.instances) {
        auto n = std::make_unique<Node>();
        n->config = &ic;
        n->desc = ic.plugin->descriptor;
        n->label = std::string(kind_table(ic.kind)) + "." + ic.name;
        n->handle = iotgw_host_instance{this, n.get()};
        nodes_.push_back(std::move(n));
    }
}

Runtime::~Runtime() {
    stop();
    destroy_all();
}

Node* Runtime::find(std::string_view name) noexcept {
    for (auto& n : nodes_)
        if (n->config->name == name) return n.get();
    return nullptr;
}

std::string Runtime::describe(const Node& n) const {
    std::string s = "instance '" + n.config->name + "' ([" + n.label + "]";
    if (!n.config->where.file.empty()) s += " at " + n.config->where.str();
    s += ", plugin '" + n.config->type + "' from " + n.config->plugin->origin + ")";
    return s;
}

bool Runtime::create(std::string& error) {
    // In start order: an instance is created after the ones it refers to (a dry run's
    // get_credentials relies on it).
    for (auto& n : nodes_) {
        iotgw_error err{};
        void* inst = nullptr;
        int rc = n->desc->create(&n->handle, n->config->config.get(), &inst, &err);
        if (rc != IOTGW_OK || inst == nullptr) {
            error = describe(*n) + " failed to initialise: " +
                    (rc == IOTGW_OK ? "create returned no instance" : error_text(err));
            if (rc == IOTGW_ERR_CONFIG) error += " (fix the instance's config)";
            return false;
        }
        n->instance = inst;
    }
    return compile_pipelines(error);
}

bool Runtime::compile_pipelines(std::string& error) {
    for (const auto& pc : config_.pipelines) {
        auto p = std::make_unique<Pipeline>();
        p->config = &pc;
        const std::string prefix = "pipeline." + pc.name + ".";
        p->received = metrics_.counter(prefix + "received", "messages that entered the pipeline");
        p->delivered = metrics_.counter(prefix + "delivered", "messages that reached the sinks");
        p->failed = metrics_.counter(prefix + "failed", "stage or sink failures");

        auto open = [&](const EndpointRef& ref, uint32_t direction, Node*& node, uint32_t& id) {
            node = find(ref.instance);
            id = 0;
            if (node == nullptr) {  // the loader guarantees this; a bug if it happens
                error = "pipeline '" + pc.name + "' refers to unknown instance '" + ref.instance + "'";
                return false;
            }
            if (ref.address.empty()) return true;
            if (node->desc->open_endpoint == nullptr) {
                error = "pipeline '" + pc.name + "': " + describe(*node) + " has no endpoints, so '" +
                        ref.text() + "' cannot be addressed";
                return false;
            }
            iotgw_error err{};
            int rc = node->desc->open_endpoint(node->instance, direction, ref.address.c_str(), &id, &err);
            if (rc != IOTGW_OK || id == 0) {
                error = "pipeline '" + pc.name + "' (" + ref.where.str() + "): " + describe(*node) +
                        " refused endpoint '" + ref.address + "': " +
                        (rc == IOTGW_OK ? "no endpoint id returned" : error_text(err));
                return false;
            }
            return true;
        };

        for (const auto& v : pc.via) {
            Node* n = nullptr;
            uint32_t id = 0;
            if (!open(v, IOTGW_ENDPOINT_OUTPUT, n, id)) return false;
            p->stages.push_back(n);
        }
        for (const auto& t : pc.to) {
            Node* n = nullptr;
            uint32_t id = 0;
            if (!open(t, IOTGW_ENDPOINT_OUTPUT, n, id)) return false;
            p->sinks.push_back({n, id});
        }
        p->budgets.resize(p->stages.size() + p->sinks.size());

        Node* src = nullptr;
        uint32_t in_id = 0;
        if (!open(pc.from, IOTGW_ENDPOINT_INPUT, src, in_id)) return false;
        Route entry{p.get(), 0};
        if (in_id == 0) {
            src->own_routes.push_back(entry);
        } else {
            auto it = std::find_if(src->input_routes.begin(), src->input_routes.end(),
                                   [&](const InputRoutes& r) { return r.endpoint_id == in_id; });
            if (it == src->input_routes.end()) {
                src->input_routes.push_back({in_id, {}});
                it = std::prev(src->input_routes.end());
            }
            it->routes.push_back(entry);
        }
        // A processor emitting on its own (e.g. a move finished) continues after its position.
        for (uint32_t i = 0; i < p->stages.size(); ++i) p->stages[i]->own_routes.push_back({p.get(), i + 1});
        pipelines_.push_back(std::move(p));
    }
    return true;
}

bool Runtime::start(std::string& error) {
    for (; started_ < nodes_.size(); ++started_) {
        Node& n = *nodes_[started_];
        n.state = NodeState::starting;
        n.life->accepting = true;
        iotgw_error err{};
        int rc = n.desc->start != nullptr ? n.desc->start(n.instance, &err) : IOTGW_OK;
        if (rc != IOTGW_OK) {
            error = describe(n) + " failed to start: " + error_text(err);
            n.life->accepting = false;
            n.state = NodeState::stopped;
            // Its own stop is not called (it did not start); the ones before it are, in reverse.
            stop();
            return false;
        }
        n.state = NodeState::running;
    }
    return true;
}

void Runtime::stop() noexcept {
    // Stop everything first so nothing emits into an instance that has already stopped.
    for (auto& n : nodes_) n->life->accepting = false;
    while (started_ > 0) {
        Node& n = *nodes_[--started_];
        if (n.state == NodeState::running || n.state == NodeState::starting) {
            n.state = NodeState::stopped;
            if (n.desc->stop != nullptr) n.desc->stop(n.instance);
        }
        for (auto* t : n.timers) t->disarm();
        for (auto* w : n.fd_watches) w->disarm();
        for (auto& sub : subscriptions_)
            if (sub.node == &n) sub.active = false;
    }
}

void Runtime::destroy_all() noexcept {
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
        Node& n = **it;
        if (n.instance != nullptr && n.desc->destroy != nullptr) n.desc->destroy(n.instance);
        n.instance = nullptr;
        if (!n.timers.empty()) {
            log_.debug(n.label, std::to_string(n.timers.size()) + " timer(s) not destroyed by the plugin; freed");
            for (auto* t : n.timers) delete t;
            n.timers.clear();
        }
        if (!n.fd_watches.empty()) {
            log_.debug(n.label, std::to_string(n.fd_watches.size()) +
                                    " fd watch(es) not destroyed by the plugin; freed");
            for (auto* w : n.fd_watches) delete w;
            n.fd_watches.clear();
        }
    }
}

int Runtime::emit(Node& from, const iotgw_delivery* delivery, uint32_t endpoint_id, const iotgw_message& raw) {
    if (from.state != NodeState::running && from.state != NodeState::starting) return IOTGW_ERR_STOPPED;
    iotgw_message scratch;
    const iotgw_message& msg = *normalized(raw, scratch);
    if (depth_ >= kMaxEmitDepth) {
        log_.error(from.label, "message to '" + std::string(msg.topic, msg.topic_len) +
                                   "' dropped: emissions nested " + std::to_string(kMaxEmitDepth) +
                                   " deep, the pipelines form a loop through this instance");
        return IOTGW_ERR_FAILED;
    }
    ++depth_;
    int rc = IOTGW_OK;
    if (delivery != nullptr) {
        Pipeline* p = delivery->pipeline;
        if (delivery->index == kSinkIndex || delivery->index >= p->stages.size() ||
            p->stages[delivery->index] != &from) {
            // A sink (or another instance's delivery) has nowhere further down to go.
            rc = IOTGW_ERR_FAILED;
        } else {
            dispatch(*p, delivery->index + 1, msg);
        }
    } else {
        const std::vector<Route>* routes = endpoint_id == 0 ? &from.own_routes : from.routes_for(endpoint_id);
        if (routes == nullptr) {
            rc = IOTGW_ERR_NOT_FOUND;
        } else {
            for (const Route& r : *routes) {
                if (r.next == 0) r.pipeline->received->value.fetch_add(1, std::memory_order_relaxed);
                dispatch(*r.pipeline, r.next, msg);
            }
        }
    }
    --depth_;
    return rc;
}

void Runtime::dispatch(Pipeline& p, uint32_t index, const iotgw_message& msg) {
    if (index >= p.stages.size()) {
        deliver_to_sinks(p, msg);
        return;
    }
    Node& n = *p.stages[index];
    if (n.state != NodeState::running) return;
    iotgw_delivery d{&p, index};
    iotgw_error err;
    err.message[0] = '\0';
    int rc = n.desc->on_message(n.instance, &d, 0, &msg, &err);
    if (rc != IOTGW_OK) report_failure(p, index, n, "stage", rc, err);
}

void Runtime::deliver_to_sinks(Pipeline& p, const iotgw_message& msg) {
    p.delivered->value.fetch_add(1, std::memory_order_relaxed);
    const auto stage_count = static_cast<uint32_t>(p.stages.size());
    for (uint32_t i = 0; i < p.sinks.size(); ++i) {
        const SinkTarget& t = p.sinks[i];
        Node& n = *t.node;
        if (n.state != NodeState::running) continue;
        iotgw_delivery d{&p, kSinkIndex};
        iotgw_error err;
        err.message[0] = '\0';
        // One failing sink does not keep the message from the others.
        int rc = n.desc->on_message(n.instance, &d, t.endpoint_id, &msg, &err);
        if (rc != IOTGW_OK) report_failure(p, stage_count + i, n, "sink", rc, err);
    }
}

void Runtime::report_failure(Pipeline& p, uint32_t budget_index, const Node& node, const char* role, int rc,
                             const iotgw_error& err) {
    p.failed->value.fetch_add(1, std::memory_order_relaxed);
    ErrorBudget& b = p.budgets[budget_index];
    const int64_t now = now_ns();
    if (now - b.window_start_ns >= kErrorWindowNs) {
        if (b.suppressed > 0)
            log_.error("pipeline " + p.config->name,
                       std::string(role) + " '" + node.config->name + "': " + std::to_string(b.suppressed) +
                           " more failures in the last window were not logged");
        b = ErrorBudget{now, 0, 0};
    }
    if (b.logged >= kErrorsLoggedPerWindow) {
        ++b.suppressed;
        return;
    }
    ++b.logged;
    const uint32_t position = budget_index < p.stages.size() ? budget_index + 1 : budget_index - static_cast<uint32_t>(p.stages.size()) + 1;
    log_.error("pipeline " + p.config->name,
               std::string(role) + " " + std::to_string(position) + " '" + node.config->name + "' (" + node.label +
                   ") failed (status " + std::to_string(rc) + "): " + error_text(err) +
                   "; the message was dropped for this " + role + ", the pipeline goes on");
}

}  // namespace iotgw::core
