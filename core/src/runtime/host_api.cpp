// The host-API table: what a plugin can ask of the gateway. Every function is noexcept in
// effect — nothing may unwind into plugin code compiled by another toolchain.
#include "runtime.hpp"

#include <iotgw/core/config_value.hpp>
#include <iotgw/core/kinds.hpp>
#include <iotgw/core/version.hpp>

#include <boost/asio/post.hpp>

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <exception>
#include <string_view>
#include <vector>

namespace iotgw::core {
namespace {

// Queued work for a plugin: runs fn(user, 0) if the instance still accepts work, else
// fn(user, 1); and if the loop is destroyed with the work still queued, the destructor makes
// the cancelled call, so the plugin always gets to free `user` exactly once.
class PostedCall {
public:
    PostedCall(void (*fn)(void*, int), void* user, std::shared_ptr<NodeLife> life)
        : fn_(fn), user_(user), life_(std::move(life)) {}
    PostedCall(PostedCall&& o) noexcept : fn_(std::exchange(o.fn_, nullptr)), user_(o.user_), life_(std::move(o.life_)) {}
    PostedCall(const PostedCall&) = delete;
    PostedCall& operator=(const PostedCall&) = delete;
    PostedCall& operator=(PostedCall&&) = delete;
    ~PostedCall() {
        if (fn_ != nullptr) fn_(user_, 1);
    }
    void operator()() {
        auto fn = std::exchange(fn_, nullptr);
        fn(user_, life_->accepting.load() ? 0 : 1);
    }

private:
    void (*fn_)(void*, int);
    void* user_;
    std::shared_ptr<NodeLife> life_;
};

void host_log(iotgw_host_instance* self, int level, const char* message) {
    if (message == nullptr) return;
    if (self == nullptr) {
        // Before any instance exists (entry point) there is no runtime: log to stderr directly.
        Logger fallback;
        fallback.log(level, "plugin", message);
        return;
    }
    self->runtime->log().log(level, self->node->label, message);
}

int host_log_enabled(iotgw_host_instance* self, int level) {
    return self != nullptr && self->runtime->log().enabled(level) ? 1 : 0;
}

int host_emit(iotgw_host_instance* self, const iotgw_delivery* delivery, uint32_t endpoint_id,
              const iotgw_message* message) {
    if (self == nullptr || message == nullptr || message->size < offsetof(iotgw_message, reserved))
        return IOTGW_ERR_FAILED;
    Runtime& rt = *self->runtime;
    if (!rt.on_loop_thread()) return IOTGW_ERR_WRONG_THREAD;
    try {
        return rt.emit(*self->node, delivery, endpoint_id, *message);
    } catch (const std::bad_alloc&) {
        return IOTGW_ERR_NO_MEMORY;
    } catch (...) {
        return IOTGW_ERR_FAILED;
    }
}

int host_post(iotgw_host_instance* self, void (*fn)(void*, int), void* user) {
    if (self == nullptr || fn == nullptr) return IOTGW_ERR_FAILED;
    try {
        boost::asio::post(self->runtime->io(), PostedCall(fn, user, self->node->life));
        return IOTGW_OK;
    } catch (...) {
        return IOTGW_ERR_NO_MEMORY;
    }
}

int64_t host_monotonic_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

iotgw_timer* host_timer_create(iotgw_host_instance* self, void (*fn)(void*), void* user) {
    if (self == nullptr || fn == nullptr || !self->runtime->on_loop_thread()) return nullptr;
    try {
        auto* t = new iotgw_timer(self->runtime->io(), self->node, fn, user);
        self->node->timers.insert(t);
        return t;
    } catch (...) {
        return nullptr;
    }
}

int host_timer_arm_at(iotgw_timer* t, int64_t deadline_ns) {
    if (t == nullptr) return IOTGW_ERR_FAILED;
    if (!t->node->handle.runtime->on_loop_thread()) return IOTGW_ERR_WRONG_THREAD;
    if (!t->node->life->accepting) return IOTGW_ERR_STOPPED;
    using clock = std::chrono::steady_clock;
    // A new arm supersedes the last one, even if that one's handler is already queued.
    t->disarm();
    t->timer.expires_at(clock::time_point(std::chrono::duration_cast<clock::duration>(std::chrono::nanoseconds(deadline_ns))));
    // The handler must not touch `t` unless this arm is still current: after a cancel or a
    // re-arm it is stale, and after a destroy `t` is freed (runtime.hpp, iotgw_timer).
    auto life = t->node->life;
    auto handler = [t, life, generation = t->generation,
                    armed = *t->generation](const boost::system::error_code& ec) {
        if (ec || !life->accepting || *generation != armed) return;
        t->fn(t->user);
    };
    t->timer.async_wait(std::move(handler));
    return IOTGW_OK;
}

void host_timer_cancel(iotgw_timer* t) {
    if (t != nullptr) t->disarm();
}

void host_timer_destroy(iotgw_timer* t) {
    if (t == nullptr) return;
    t->node->timers.erase(t);
    delete t;  // ~iotgw_timer moves the generation on: a queued handler leaves `t` alone
}

// ---- ABI 1.4: file descriptors on the loop ----

iotgw_fd_watch* host_fd_watch_create(iotgw_host_instance* self, int fd, void (*fn)(void*, uint32_t),
                                     void* user) {
    if (self == nullptr || fn == nullptr || fd < 0 || !self->runtime->on_loop_thread()) return nullptr;
    try {
        // Asio registers the fd with epoll here; one epoll cannot watch (a regular file, say)
        // throws, and the plugin gets NULL.
        auto* w = new iotgw_fd_watch(self->runtime->io(), self->node, fd, fn, user);
        self->node->fd_watches.insert(w);
        return w;
    } catch (...) {
        return nullptr;
    }
}

// What poll() says is ready now, of the events asked for; an error or hang-up is every one.
uint32_t ready_now(int fd, uint32_t events) {
    pollfd p{};
    p.fd = fd;
    if ((events & IOTGW_FD_READABLE) != 0) p.events |= POLLIN;
    if ((events & IOTGW_FD_WRITABLE) != 0) p.events |= POLLOUT;
    if (::poll(&p, 1, 0) <= 0) return 0;
    if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return events;
    uint32_t ready = 0;
    if ((p.revents & POLLIN) != 0) ready |= IOTGW_FD_READABLE;
    if ((p.revents & POLLOUT) != 0) ready |= IOTGW_FD_WRITABLE;
    return ready & events;
}

int host_fd_watch_arm(iotgw_fd_watch* w, uint32_t events) {
    if (w == nullptr) return IOTGW_ERR_FAILED;
    if (!w->node->handle.runtime->on_loop_thread()) return IOTGW_ERR_WRONG_THREAD;
    if (!w->node->life->accepting) return IOTGW_ERR_STOPPED;
    w->disarm();  // a new arm replaces the last one
    events &= IOTGW_FD_READABLE | IOTGW_FD_WRITABLE;
    if (events == 0) return IOTGW_OK;
    auto life = w->node->life;
    // One-shot: the first readiness disarms the other wait before the plugin hears of it.
    auto deliver = [w, life, generation = w->generation](uint64_t armed, uint32_t ready) {
        if (!life->accepting || *generation != armed) return;
        w->disarm();
        w->fn(w->user, ready);
    };
    try {
        const uint64_t armed = *w->generation;
        using boost::asio::posix::stream_descriptor;
        if ((events & IOTGW_FD_READABLE) != 0)
            w->descriptor.async_wait(stream_descriptor::wait_read,
                                     [deliver, armed](const boost::system::error_code& ec) {
                                         if (!ec) deliver(armed, IOTGW_FD_READABLE);
                                     });
        if ((events & IOTGW_FD_WRITABLE) != 0)
            w->descriptor.async_wait(stream_descriptor::wait_write,
                                     [deliver, armed](const boost::system::error_code& ec) {
                                         if (!ec) deliver(armed, IOTGW_FD_WRITABLE);
                                     });
        // Ready already: say so now, with everything that holds (from the loop, as the ABI
        // promises; a later arm or destroy still drops it). See iotgw_fd_watch in runtime.hpp.
        if (const uint32_t ready = ready_now(w->descriptor.native_handle(), events); ready != 0)
            boost::asio::post(w->descriptor.get_executor(),
                              [deliver, armed, ready] { deliver(armed, ready); });
    } catch (...) {
        w->disarm();
        return IOTGW_ERR_FAILED;
    }
    return IOTGW_OK;
}

void host_fd_watch_destroy(iotgw_fd_watch* w) {
    if (w == nullptr) return;
    w->node->fd_watches.erase(w);
    delete w;  // ~iotgw_fd_watch moves the generation on: a queued readiness leaves `w` alone
}

iotgw_counter* host_counter(iotgw_host_instance* self, const char* name, const char* help) {
    if (self == nullptr || name == nullptr) return nullptr;
    try {
        return self->runtime->metrics().counter(self->node->config->name + "." + name, help ? help : "");
    } catch (...) {
        return nullptr;
    }
}

void host_counter_add(iotgw_counter* c, uint64_t delta) {
    if (c != nullptr) c->value.fetch_add(delta, std::memory_order_relaxed);
}

iotgw_gauge* host_gauge(iotgw_host_instance* self, const char* name, const char* help) {
    if (self == nullptr || name == nullptr) return nullptr;
    try {
        return self->runtime->metrics().gauge(self->node->config->name + "." + name, help ? help : "");
    } catch (...) {
        return nullptr;
    }
}

void host_gauge_set(iotgw_gauge* g, double v) {
    if (g != nullptr) g->value.store(v, std::memory_order_relaxed);
}

const char* host_instance_name(iotgw_host_instance* self) {
    return self != nullptr ? self->node->config->name.c_str() : "";
}

const char* host_thing_name(iotgw_host_instance* self) {
    return self != nullptr ? self->runtime->config().gateway.thing.c_str() : "";
}

void set_error(iotgw_error* err, const std::string& text) {
    if (err == nullptr) return;
    std::snprintf(err->message, sizeof err->message, "%s", text.c_str());
}

// Which credentials instances may be asked: renewal needs a running one; reading the current
// credentials may also ask a created one during a dry run (RuntimeMode).
enum class Need { running, readable };

// The credentials instance `name` in the state `need` asks for, or a status with `err` filled in.
int find_credentials(iotgw_host_instance* self, const char* name, Need need, Node*& out, iotgw_error* err) {
    if (self == nullptr || name == nullptr) return IOTGW_ERR_FAILED;
    if (!self->runtime->on_loop_thread()) return IOTGW_ERR_WRONG_THREAD;
    Node* n = self->runtime->find(name);
    if (n == nullptr || n->config->kind != IOTGW_KIND_CREDENTIALS) {
        set_error(err, std::string("no credentials instance named '") + name + "'");
        return IOTGW_ERR_NOT_FOUND;
    }
    // Instances are created in start order, so one that refers to `name` comes after it; one
    // not created (yet) is not available all the same.
    const bool created_in_dry_run = need == Need::readable && self->runtime->mode() == RuntimeMode::dry_run &&
                                    n->state == NodeState::created && n->instance != nullptr;
    if (n->state != NodeState::running && !created_in_dry_run) {
        set_error(err, std::string("credentials instance '") + name + "' is not running");
        return IOTGW_ERR_STOPPED;
    }
    out = n;
    return IOTGW_OK;
}

// The ABI 1.1 renewal functions of `n`, or nullptr (with `err` filled in) for a 1.0 provider or
// one that cannot renew: the size check keeps us from reading past an older plugin's struct.
const iotgw_credentials_api* renewal_api(const Node& n, iotgw_error* err) {
    const auto* api = static_cast<const iotgw_credentials_api*>(n.desc->kind_api);
    constexpr std::size_t need = offsetof(iotgw_credentials_api, get_pending) + sizeof(void*);
    if (api->size < need || api->renew == nullptr || api->get_pending == nullptr) {
        set_error(err, "credentials instance '" + n.config->name + "' (plugin '" + n.config->type +
                           "') cannot renew its key and certificate on the device: use a credentials plugin "
                           "that supports renewal (e.g. `file`)");
        return nullptr;
    }
    return api;
}

// Copy only as much as the caller's struct holds.
void copy_credentials(const iotgw_credentials& tmp, iotgw_credentials* out) {
    const uint32_t n_copy = std::min<uint32_t>(out->size != 0 ? out->size : sizeof tmp, sizeof tmp);
    const uint32_t caller_size = out->size;
    std::memcpy(out, &tmp, n_copy);
    out->size = caller_size;
}

int host_get_credentials(iotgw_host_instance* self, const char* name, iotgw_credentials* out, iotgw_error* err) {
    if (out == nullptr) return IOTGW_ERR_FAILED;
    Node* n = nullptr;
    if (int rc = find_credentials(self, name, Need::readable, n, err); rc != IOTGW_OK) return rc;
    const auto* api = static_cast<const iotgw_credentials_api*>(n->desc->kind_api);
    iotgw_credentials tmp{};
    tmp.size = sizeof tmp;
    int rc = api->get(n->instance, &tmp, err);
    if (rc != IOTGW_OK) return rc;
    copy_credentials(tmp, out);
    return IOTGW_OK;
}

int host_credentials_renew(iotgw_host_instance* self, const char* name, uint32_t op, const char* input,
                           size_t input_len, iotgw_renewal_done done, void* user, iotgw_error* err) {
    if (done == nullptr || (input == nullptr && input_len != 0)) return IOTGW_ERR_FAILED;
    Node* n = nullptr;
    if (int rc = find_credentials(self, name, Need::running, n, err); rc != IOTGW_OK) return rc;
    const auto* api = renewal_api(*n, err);
    if (api == nullptr) return IOTGW_ERR_UNSUPPORTED;
    return api->renew(n->instance, op, input != nullptr ? input : "", input_len, done, user, err);
}

int host_get_pending_credentials(iotgw_host_instance* self, const char* name, iotgw_credentials* out,
                                 iotgw_error* err) {
    if (out == nullptr) return IOTGW_ERR_FAILED;
    Node* n = nullptr;
    if (int rc = find_credentials(self, name, Need::running, n, err); rc != IOTGW_OK) return rc;
    const auto* api = renewal_api(*n, err);
    if (api == nullptr) return IOTGW_ERR_UNSUPPORTED;
    iotgw_credentials tmp{};
    tmp.size = sizeof tmp;
    int rc = api->get_pending(n->instance, &tmp, err);
    if (rc != IOTGW_OK) return rc;
    copy_credentials(tmp, out);
    return IOTGW_OK;
}


// ---- ABI 1.3: job handlers, reached by name like credentials ----

// The running job handler instance `name`, or a status with `err` filled in.
int find_job_handler(iotgw_host_instance* self, const char* name, Node*& out, iotgw_error* err) {
    if (self == nullptr || name == nullptr) return IOTGW_ERR_FAILED;
    if (!self->runtime->on_loop_thread()) return IOTGW_ERR_WRONG_THREAD;
    Node* n = self->runtime->find(name);
    if (n == nullptr || n->config->kind != IOTGW_KIND_JOB_HANDLER) {
        set_error(err, std::string("no job handler instance named '") + name + "'");
        return IOTGW_ERR_NOT_FOUND;
    }
    if (n->state != NodeState::running) {
        set_error(err, std::string("job handler instance '") + name + "' is not running");
        return IOTGW_ERR_STOPPED;
    }
    out = n;
    return IOTGW_OK;
}

const iotgw_job_handler_api* job_api(const Node& n) {
    // The descriptor check refused handlers whose interface is shorter than ABI 1.3's.
    return static_cast<const iotgw_job_handler_api*>(n.desc->kind_api);
}

int host_job_describe(iotgw_host_instance* self, const char* name, const char** operations,
                      int64_t* step_timeout_ms, iotgw_error* err) {
    if (operations == nullptr || step_timeout_ms == nullptr) return IOTGW_ERR_FAILED;
    Node* n = nullptr;
    if (int rc = find_job_handler(self, name, n, err); rc != IOTGW_OK) return rc;
    return job_api(*n)->describe(n->instance, operations, step_timeout_ms, err);
}

int host_job_start(iotgw_host_instance* self, const char* name, const iotgw_job* job,
                   const iotgw_job_report* report, iotgw_error* err) {
    if (job == nullptr || report == nullptr || report->done == nullptr || report->progress == nullptr ||
        job->job_id == nullptr || job->document == nullptr)
        return IOTGW_ERR_FAILED;
    Node* n = nullptr;
    if (int rc = find_job_handler(self, name, n, err); rc != IOTGW_OK) return rc;
    return job_api(*n)->start(n->instance, job, report, err);
}

void host_job_cancel(iotgw_host_instance* self, const char* name, const char* job_id) {
    if (job_id == nullptr) return;
    Node* n = nullptr;
    if (find_job_handler(self, name, n, nullptr) != IOTGW_OK) return;
    job_api(*n)->cancel(n->instance, job_id);
}

const char* host_gateway_version() { return gateway_version(); }

void host_metrics_read(iotgw_host_instance* self, void (*fn)(void*, const char*, double, int), void* user) {
    if (self == nullptr || fn == nullptr || !self->runtime->on_loop_thread()) return;
    for (const MetricSample& m : self->runtime->metrics().snapshot()) fn(user, m.name.c_str(), m.value, m.is_counter ? 1 : 0);
}

// ---- ABI 1.3: the gateway's own configuration (the `config` job handler) ----

// The control of this run, or a status with `err` filled in.
int find_config_control(iotgw_host_instance* self, ConfigControl*& out, iotgw_error* err) {
    if (self == nullptr) return IOTGW_ERR_FAILED;
    if (!self->runtime->on_loop_thread()) return IOTGW_ERR_WRONG_THREAD;
    out = self->runtime->config_control();
    if (out == nullptr) {
        set_error(
            err, "this gateway was not started with a remote configuration file (iotgw run --remote-config)");
        return IOTGW_ERR_UNSUPPORTED;
    }
    return IOTGW_OK;
}

int report_problems(const std::vector<std::string>& problems, void (*problem)(void*, const char*), void* user,
                    iotgw_error* err) {
    if (problems.empty()) return IOTGW_OK;
    for (const auto& p : problems)
        if (problem != nullptr) problem(user, p.c_str());
    set_error(err, std::to_string(problems.size()) +
                       " problem(s) in the configuration; the first: " + problems.front());
    return IOTGW_ERR_CONFIG;
}

// C++ exceptions stop at the ABI boundary, as everywhere in this table.
template <class F>
int guarded(iotgw_error* err, F&& f) {
    try {
        return f();
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return IOTGW_ERR_FAILED;
    } catch (...) {
        set_error(err, "unknown exception");
        return IOTGW_ERR_EXCEPTION;
    }
}

int host_config_check(iotgw_host_instance* self, const char* toml, size_t len,
                      void (*problem)(void*, const char*), void* user, iotgw_error* err) {
    if (toml == nullptr) return IOTGW_ERR_FAILED;
    ConfigControl* c = nullptr;
    if (int rc = find_config_control(self, c, err); rc != IOTGW_OK) return rc;
    return guarded(
        err, [&] { return report_problems(c->check(std::string_view(toml, len)), problem, user, err); });
}

int host_config_apply(iotgw_host_instance* self, const char* job_id, const char* toml, size_t len,
                      int64_t trial_ms, void (*problem)(void*, const char*), void* user, iotgw_error* err) {
    if (toml == nullptr || job_id == nullptr || *job_id == '\0') return IOTGW_ERR_FAILED;
    if (trial_ms < 1000) {
        set_error(err, "the trial must be at least 1 s");
        return IOTGW_ERR_CONFIG;
    }
    ConfigControl* c = nullptr;
    if (int rc = find_config_control(self, c, err); rc != IOTGW_OK) return rc;
    return guarded(err, [&] {
        const auto trial =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::milliseconds(trial_ms));
        return report_problems(c->apply(job_id, std::string_view(toml, len), trial), problem, user, err);
    });
}

int host_config_trial(iotgw_host_instance* self, const char* job_id, uint32_t* state, iotgw_error* reason) {
    if (job_id == nullptr || state == nullptr) return IOTGW_ERR_FAILED;
    ConfigControl* c = nullptr;
    if (int rc = find_config_control(self, c, reason); rc != IOTGW_OK) return rc;
    return guarded(reason, [&] {
        std::string why;
        *state = static_cast<uint32_t>(c->trial_state(job_id, why));
        set_error(reason, why);
        return IOTGW_OK;
    });
}

int host_config_confirm(iotgw_host_instance* self, const char* job_id, iotgw_error* err) {
    if (job_id == nullptr) return IOTGW_ERR_FAILED;
    ConfigControl* c = nullptr;
    if (int rc = find_config_control(self, c, err); rc != IOTGW_OK) return rc;
    return guarded(err, [&] {
        std::string error;
        if (c->confirm(job_id, error)) return IOTGW_OK;
        set_error(err, error);
        return IOTGW_ERR_NOT_FOUND;
    });
}

// Event names are topic levels: no separators or wildcards inside one.
bool valid_event_name(const char* e) {
    if (e == nullptr || *e == '\0') return false;
    for (const char* p = e; *p != '\0'; ++p)
        if (*p == '/' || *p == '+' || *p == '#') return false;
    return true;
}

int host_event_publish(iotgw_host_instance* self, const char* event, const char* payload_json, int retain) {
    if (self == nullptr || !valid_event_name(event)) return IOTGW_ERR_FAILED;
    if (!self->runtime->on_loop_thread()) return IOTGW_ERR_WRONG_THREAD;
    try {
        return self->runtime->publish_event("$iotgw/instance/" + self->node->config->name + "/" + event,
                                            payload_json != nullptr ? payload_json : "", retain != 0);
    } catch (...) {
        return IOTGW_ERR_NO_MEMORY;
    }
}

uint32_t host_event_subscribe(iotgw_host_instance* self, const char* filter,
                              void (*fn)(void*, const char*, const char*), void* user) {
    if (self == nullptr || filter == nullptr || fn == nullptr || !self->runtime->on_loop_thread()) return 0;
    try {
        return self->runtime->subscribe_events(*self->node, filter, fn, user);
    } catch (...) {
        return 0;
    }
}

void host_event_unsubscribe(iotgw_host_instance* self, uint32_t id) {
    if (self != nullptr && self->runtime->on_loop_thread()) self->runtime->unsubscribe_events(*self->node, id);
}

const iotgw_host_api kHostApi = [] {
    iotgw_host_api a{};
    a.size = sizeof(iotgw_host_api);
    a.abi_version = IOTGW_ABI_VERSION;
    a.log = &host_log;
    a.log_enabled = &host_log_enabled;
    a.emit = &host_emit;
    a.post = &host_post;
    a.monotonic_ns = &host_monotonic_ns;
    a.timer_create = &host_timer_create;
    a.timer_arm_at = &host_timer_arm_at;
    a.timer_cancel = &host_timer_cancel;
    a.timer_destroy = &host_timer_destroy;
    a.counter = &host_counter;
    a.counter_add = &host_counter_add;
    a.gauge = &host_gauge;
    a.gauge_set = &host_gauge_set;
    a.config_string = &config_string;
    a.config_int = &config_int;
    a.config_double = &config_double;
    a.config_bool = &config_bool;
    a.config_duration_ms = &config_duration_ms;
    a.config_array_size = &config_array_size;
    a.config_array_string = &config_array_string;
    a.config_map_size = &config_map_size;
    a.config_map_entry = &config_map_entry;
    a.instance_name = &host_instance_name;
    a.thing_name = &host_thing_name;
    a.get_credentials = &host_get_credentials;
    a.event_publish = &host_event_publish;
    a.event_subscribe = &host_event_subscribe;
    a.event_unsubscribe = &host_event_unsubscribe;
    a.credentials_renew = &host_credentials_renew;
    a.get_pending_credentials = &host_get_pending_credentials;
    a.job_describe = &host_job_describe;
    a.job_start = &host_job_start;
    a.job_cancel = &host_job_cancel;
    a.gateway_version = &host_gateway_version;
    a.metrics_read = &host_metrics_read;
    a.config_check = &host_config_check;
    a.config_apply = &host_config_apply;
    a.config_trial = &host_config_trial;
    a.config_confirm = &host_config_confirm;
    a.fd_watch_create = &host_fd_watch_create;
    a.fd_watch_arm = &host_fd_watch_arm;
    a.fd_watch_destroy = &host_fd_watch_destroy;
    return a;
}();

}  // namespace

const iotgw_host_api* host_api_table() noexcept { return &kHostApi; }

}  // namespace iotgw::core
