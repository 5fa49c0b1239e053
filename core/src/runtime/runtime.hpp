// Internals of one running config: nodes (plugin instances), compiled pipelines and the
// routes messages take. Private to the core; Gateway is the public face.
#pragma once

#include <utility>  // before Asio, see gateway.hpp

#include <iotgw/core/config_control.hpp>
#include <iotgw/core/gateway.hpp>
#include <iotgw/core/gateway_config.hpp>
#include <iotgw/core/log.hpp>
#include <iotgw/core/metrics.hpp>
#include <iotgw/plugin_abi.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace iotgw::core {

class Runtime;
struct Pipeline;
struct Node;

// Whether callbacks queued for an instance (posts, timers) may still run. Shared with queued
// work so a handler that outlives its node can tell, without touching the freed node.
struct NodeLife {
    std::atomic<bool> accepting{false};
};

enum class NodeState { created, starting, running, stopped };

// A dry run (`iotgw check`, the factory step, the check before a reload) only creates the
// instances. In it, get_credentials also answers for a credentials instance that is created but
// not started, so a plugin can check at create what it would otherwise find only at start (e.g.
// fleet_provisioning: a claim certificate that names another device). A real run hands out
// credentials of running instances only.
enum class RuntimeMode { run, dry_run };

// Where an emission continues: stage `next` of `pipeline`, or its sinks when next == stages.size().
struct Route {
    Pipeline* pipeline;
    uint32_t next;
};

struct InputRoutes {
    uint32_t endpoint_id;
    std::vector<Route> routes;
};

}  // namespace iotgw::core

// Host-side definitions of the opaque ABI handles.
struct iotgw_host_instance {
    iotgw::core::Runtime* runtime;
    iotgw::core::Node* node;
};

struct iotgw_delivery {
    iotgw::core::Pipeline* pipeline;
    uint32_t index;  // stage index, or kSinkIndex
};

// Asio's cancel() (and a re-arm, and destroying the steady_timer) cannot recall a handler whose
// deadline has passed and which is already queued to run: it runs with success. So each wait
// carries the arm generation it was made for, and its handler calls the plugin only if the
// generation is still current. Every arm, cancel and destroy moves the generation on; the
// counter is shared with the queued handlers, so one that outlives the timer reads it without
// touching the freed timer. This makes cancel and destroy final, as the ABI promises.
struct iotgw_timer {
    iotgw_timer(boost::asio::io_context& io, iotgw::core::Node* n, void (*f)(void*), void* u)
        : timer(io), node(n), fn(f), user(u) {}
    iotgw_timer(const iotgw_timer&) = delete;
    iotgw_timer& operator=(const iotgw_timer&) = delete;
    ~iotgw_timer() { ++*generation; }

    // Stops the current wait, including a handler already queued.
    void disarm() noexcept {
        ++*generation;
        timer.cancel();
    }

    boost::asio::steady_timer timer;
    iotgw::core::Node* node;
    void (*fn)(void*);
    void* user;
    std::shared_ptr<uint64_t> generation = std::make_shared<uint64_t>(0);
};

// A plugin's file descriptor watched on the loop (ABI 1.4). The ABI promises level-triggered
// waits; Asio's epoll registration is edge-triggered. Boost 1.74 and 1.83 re-register the fd
// (EPOLL_CTL_MOD) for each wait, which reports a level already present, but host_fd_watch_arm
// also asks poll() after starting the waits, so that the promise does not rest on that detail
// and both events, when both hold, come in one call. The descriptor is released, never closed:
// the fd stays the plugin's. Each wait carries the arm generation, as a timer's does.
struct iotgw_fd_watch {
    iotgw_fd_watch(boost::asio::io_context& io, iotgw::core::Node* n, int fd, void (*f)(void*, uint32_t),
                   void* u)
        : descriptor(io, fd), node(n), fn(f), user(u) {}
    iotgw_fd_watch(const iotgw_fd_watch&) = delete;
    iotgw_fd_watch& operator=(const iotgw_fd_watch&) = delete;
    ~iotgw_fd_watch() {
        ++*generation;
        (void)descriptor.release();  // cancels the waits; the plugin closes the fd
    }

    // Stops the current waits, including a readiness already queued.
    void disarm() noexcept {
        ++*generation;
        boost::system::error_code ignored;
        descriptor.cancel(ignored);
    }

    boost::asio::posix::stream_descriptor descriptor;
    iotgw::core::Node* node;
    void (*fn)(void*, uint32_t);
    void* user;
    std::shared_ptr<uint64_t> generation = std::make_shared<uint64_t>(0);
};

namespace iotgw::core {

inline constexpr uint32_t kSinkIndex = UINT32_MAX;
// Emissions nested deeper than this are a loop (e.g. a sink that re-emits into a pipeline
// ending at itself): refused and logged instead of overflowing the stack.
inline constexpr int kMaxEmitDepth = 64;

// Logs the first few failures of a stage per window, then counts the rest: a stage failing on
// every message of a busy pipeline must not flood the journal.
struct ErrorBudget {
    int64_t window_start_ns = 0;
    uint32_t logged = 0;
    uint64_t suppressed = 0;
};

struct Node {
    const InstanceConfig* config = nullptr;
    const iotgw_plugin_descriptor* desc = nullptr;
    std::string label;  // "processors.dedup": how logs name it
    void* instance = nullptr;
    NodeState state = NodeState::created;
    iotgw_host_instance handle{};
    std::shared_ptr<NodeLife> life = std::make_shared<NodeLife>();
    std::vector<Route> own_routes;           // where emissions without delivery/endpoint go
    std::vector<InputRoutes> input_routes;   // per INPUT endpoint
    std::unordered_set<iotgw_timer*> timers; // live timers, freed if the plugin forgets them
    std::unordered_set<iotgw_fd_watch*> fd_watches;  // likewise for fd watches (ABI 1.4)

    const std::vector<Route>* routes_for(uint32_t endpoint_id) const noexcept;
};

// An instance's subscription to internal events (host API event_subscribe).
struct EventSubscription {
    uint32_t id;
    Node* node;
    std::string filter;
    void (*fn)(void*, const char*, const char*);
    void* user;
    bool active;
};

struct RetainedEvent {
    std::string name;
    std::string payload;
};

struct SinkTarget {
    Node* node;
    uint32_t endpoint_id;
};

struct Pipeline {
    const PipelineConfig* config = nullptr;
    std::vector<Node*> stages;
    std::vector<SinkTarget> sinks;
    std::vector<ErrorBudget> budgets;  // stages first, then sinks
    iotgw_counter* received = nullptr;
    iotgw_counter* delivered = nullptr;
    iotgw_counter* failed = nullptr;
};

class Runtime {
public:
    Runtime(boost::asio::io_context& io, Logger& log, Metrics& metrics, std::thread::id loop_thread,
            GatewayConfig config, RuntimeMode mode);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    bool create(std::string& error);
    bool start(std::string& error);
    void stop() noexcept;

    const GatewayConfig& config() const noexcept { return config_; }
    boost::asio::io_context& io() noexcept { return io_; }
    Logger& log() noexcept { return log_; }
    Metrics& metrics() noexcept { return metrics_; }
    bool on_loop_thread() const noexcept { return std::this_thread::get_id() == loop_thread_; }
    RuntimeMode mode() const noexcept { return mode_; }
    // What `iotgw run --remote-config` lets plugins do with the configuration; null otherwise
    // (and always in a dry run).
    ConfigControl* config_control() const noexcept { return config_control_; }
    void set_config_control(ConfigControl* c) noexcept { config_control_ = c; }
    Node* find(std::string_view name) noexcept;

    // The message path; called by the host API's emit.
    int emit(Node& from, const iotgw_delivery* delivery, uint32_t endpoint_id, const iotgw_message& msg);

    // Internal events: delivered synchronously to running subscribers whose filter matches;
    // retained ones (the last per name) are replayed to later subscribers.
    int publish_event(const std::string& name, std::string_view payload, bool retain);
    uint32_t subscribe_events(Node& node, std::string filter, void (*fn)(void*, const char*, const char*),
                              void* user);
    void unsubscribe_events(Node& node, uint32_t id) noexcept;

private:
    void dispatch(Pipeline& p, uint32_t index, const iotgw_message& msg);
    void deliver_to_sinks(Pipeline& p, const iotgw_message& msg);
    void report_failure(Pipeline& p, uint32_t budget_index, const Node& node, const char* role, int rc,
                        const iotgw_error& err);
    bool compile_pipelines(std::string& error);
    void destroy_all() noexcept;
    std::string describe(const Node& n) const;

    boost::asio::io_context& io_;
    Logger& log_;
    Metrics& metrics_;
    std::thread::id loop_thread_;
    GatewayConfig config_;
    RuntimeMode mode_;
    std::vector<std::unique_ptr<Node>> nodes_;  // start order
    std::vector<std::unique_ptr<Pipeline>> pipelines_;
    size_t started_ = 0;  // nodes_[0, started_) have been started
    int depth_ = 0;       // nesting of emit/publish_event: a loop guard
    std::vector<EventSubscription> subscriptions_;
    std::vector<RetainedEvent> retained_;  // publication order
    uint32_t next_subscription_id_ = 1;
    ConfigControl* config_control_ = nullptr;
};

}  // namespace iotgw::core
