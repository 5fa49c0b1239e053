// `iotgw run`: load, validate, start, then serve signals until stopped.
//
// Signals are taken by a dedicated thread with sigwait() rather than on the event loop: if a
// plugin wedges the loop, SIGTERM must still end the process within the stop timeout, and a
// second SIGTERM/SIGINT ends it at once.
#include "cli.hpp"
#include "remote_config_control.hpp"
#include "run_state.hpp"

#include <iotgw/core/gateway.hpp>
#include <iotgw/core/heap_trim.hpp>
#include <iotgw/core/plugin_registry.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

namespace iotgw::cli {
namespace {

// SIGUSR2 is ours: the main thread sends it to end the signal thread once the loop has returned.
sigset_t handled_signals() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&s, sig);
    return s;
}

std::optional<core::GatewayConfig> load_file(RunState& st, core::PluginRegistry& registry) {
    core::Diagnostics diags;
    auto config = core::load_config(st.config_file, registry, diags, load_options(st.options));
    for (const auto& d : diags.items())
        st.log.log(d.severity == core::Severity::error ? IOTGW_LOG_ERROR : IOTGW_LOG_WARNING, "config", d.str());
    if (config && st.options.log_level) config->gateway.log_level = *st.options.log_level;
    return config;
}

// Loads the file that runs now (st.config_file); a remote configuration that does not load is
// rolled back or set aside, and what runs then is loaded instead.
std::optional<core::GatewayConfig> load(RunState& st, core::PluginRegistry& registry,
                                        RemoteConfigControl* remote) {
    auto config = load_file(st, registry);
    if (!config && remote != nullptr && st.config_file != st.packaged_file &&
        remote->recover_from("does not load")) {
        st.config_file = remote->effective_file();
        config = load_file(st, registry);
    }
    return config;
}

void reload(RunState& st, core::Gateway& gw, core::PluginRegistry& registry, RemoteConfigControl* remote) {
    if (remote != nullptr) st.config_file = remote->effective_file();
    st.log.notice("iotgw", "reloading " + st.config_file.string());
    st.systemd.reloading();
    auto config = load(st, registry, remote);
    if (!config) {
        st.log.error("iotgw", "reload refused: the new configuration is invalid (see above); still running the previous one");
        st.systemd.ready("reload refused: invalid configuration; running the previous one");
        return;
    }
    std::string error;
    // Let the new plugins check their config while the old ones still serve.
    if (!core::Gateway::dry_run(st.io, st.log, *config, error)) {
        st.log.error("iotgw", "reload refused: " + error + "; still running the previous configuration");
        st.systemd.ready("reload refused; running the previous configuration");
        return;
    }
    st.stop_timeout_ms = config->gateway.stop_timeout_ms;
    const bool reloaded = gw.reload(std::move(*config), error);
    if (!reloaded && !gw.running()) {
        st.log.error("iotgw", "no configuration is running any more; exiting");
        st.io.stop();
        return;
    }
    // The previous configuration runs again: a remote one on trial goes back on disk too.
    if (!reloaded && remote != nullptr && st.config_file != st.packaged_file &&
        remote->recover_from("does not start: " + error))
        st.config_file = remote->effective_file();
    if (remote != nullptr) remote->arm_trial_timer();
    st.systemd.ready(error.empty() ? "running (reloaded)" : "running the previous configuration: " + error);
}

void log_metrics(RunState& st, core::Gateway& gw) {
    for (const auto& m : gw.metrics().snapshot()) {
        std::string v = m.is_counter ? std::to_string(static_cast<uint64_t>(m.value)) : std::to_string(m.value);
        st.log.info("metrics", m.name + " = " + v);
    }
}

// Runs on its own thread; everything it does to the gateway is posted onto the loop.
void signal_loop(RunState& st, core::Gateway& gw, core::PluginRegistry& registry,
                 RemoteConfigControl* remote) {
    const sigset_t set = handled_signals();
    bool stopping = false;
    timespec deadline{};
    for (;;) {
        int sig = 0;
        if (!stopping) {
            if (sigwait(&set, &sig) != 0) continue;
        } else {
            timespec now{};
            clock_gettime(CLOCK_MONOTONIC, &now);
            int64_t left_ns = (deadline.tv_sec - now.tv_sec) * 1'000'000'000LL + (deadline.tv_nsec - now.tv_nsec);
            if (left_ns <= 0) {
                st.log.error("iotgw", "did not stop within the stop timeout (" +
                                          std::to_string(st.stop_timeout_ms.load()) + " ms); exiting now");
                _exit(kExitFailure);
            }
            timespec wait{static_cast<time_t>(left_ns / 1'000'000'000), static_cast<long>(left_ns % 1'000'000'000)};
            sig = sigtimedwait(&set, nullptr, &wait);
            if (sig < 0) continue;  // EAGAIN: re-check the deadline; EINTR: wait again
        }
        switch (sig) {
            case SIGUSR2:
                return;
            case SIGTERM:
            case SIGINT:
                if (stopping) {
                    st.log.error("iotgw", "second stop signal: exiting immediately");
                    _exit(kExitFailure);
                }
                stopping = true;
                clock_gettime(CLOCK_MONOTONIC, &deadline);
                {
                    const int64_t t = st.stop_timeout_ms.load() + 1000;  // the plugins' budget plus our own
                    deadline.tv_sec += static_cast<time_t>(t / 1000);
                    deadline.tv_nsec += static_cast<long>((t % 1000) * 1'000'000);
                    if (deadline.tv_nsec >= 1'000'000'000) {
                        deadline.tv_sec += 1;
                        deadline.tv_nsec -= 1'000'000'000;
                    }
                }
                st.log.notice("iotgw", std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": stopping");
                boost::asio::post(st.io, [&st, &gw] {
                    st.systemd.stopping();
                    gw.stop();
                    st.io.stop();
                });
                break;
            case SIGHUP:
                if (!stopping) {
                    st.log.notice("iotgw", "SIGHUP");
                    boost::asio::post(st.io,
                                      [&st, &gw, &registry, remote] { reload(st, gw, registry, remote); });
                }
                break;
            case SIGUSR1:
                boost::asio::post(st.io, [&st, &gw] { log_metrics(st, gw); });
                break;
            default:
                break;
        }
    }
}

}  // namespace

int run_command(const Options& o) {
    // Block before any thread exists, so every thread (paho's included) inherits the mask and
    // only the signal thread ever receives these signals.
    const sigset_t set = handled_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    // The registry outlives the loop and the gateway: plugin code must stay mapped until the
    // last instance and queued callback are gone.
    core::PluginRegistry registry(core::host_api_table());
    RunState st;
    st.packaged_file = o.configs.front();
    st.config_file = st.packaged_file;
    st.options = o;
    if (o.log_level) st.log.set_level(*o.log_level);

    core::Gateway gw(st.io, st.log);
    std::unique_ptr<RemoteConfigControl> remote;
    if (!o.remote_config.empty()) {
        // A job's apply (and a trial's end) reloads from the loop, after the caller returned.
        remote = std::make_unique<RemoteConfigControl>(
            st, registry, o.remote_config, [&st, &gw, &registry, &remote] {
                boost::asio::post(st.io,
                                  [&st, &gw, &registry, &remote] { reload(st, gw, registry, remote.get()); });
            });
        st.config_file = remote->prepare_start();
        gw.set_config_control(remote.get());
    }
    if (st.config_file != st.packaged_file)
        st.log.notice("iotgw", "running the configuration applied by a job: " + st.config_file.string());

    auto config = load(st, registry, remote.get());
    if (!config) {
        st.log.error("iotgw", "refusing to start: " + st.config_file.string() +
                                  " is invalid (run `iotgw check --config " + st.config_file.string() +
                                  "` for the full list)");
        return kExitConfig;
    }
    st.stop_timeout_ms = config->gateway.stop_timeout_ms;

    std::string error;
    // Started from inside the loop so plugins may emit from start().
    int exit_code = kExitOk;
    boost::asio::post(st.io, [&] {
        bool started = gw.start(std::move(*config), error);
        // A remote configuration that does not start: the previous (or the packaged) one does.
        if (!started && remote && st.config_file != st.packaged_file &&
            remote->recover_from("does not start: " + error)) {
            st.config_file = remote->effective_file();
            if (auto again = load(st, registry, remote.get())) started = gw.start(std::move(*again), error);
        }
        if (!started) {
            st.log.error("iotgw", "refusing to start: " + error);
            exit_code = error.find("failed to initialise") != std::string::npos ? kExitConfig : kExitFailure;
            st.io.stop();
            return;
        }
        if (remote) remote->arm_trial_timer();
        st.systemd.ready("running " + st.config_file.string());
        st.systemd.start_watchdog();
    });

    // A gateway whose instances wait only on the network has no pending Asio work of its own:
    // the guard keeps run() blocking until a stop signal calls io.stop().
    auto work = boost::asio::make_work_guard(st.io);
    // Free heap pages go back to the kernel every few minutes (heap_trim.hpp says why).
    core::HeapTrimmer heap_trimmer(st.io, core::kHeapTrimInterval);
    heap_trimmer.start();
    std::thread signals([&] { signal_loop(st, gw, registry, remote.get()); });
    st.io.run();
    gw.stop();
    pthread_kill(signals.native_handle(), SIGUSR2);
    signals.join();
    if (exit_code == kExitOk) st.log.notice("iotgw", "stopped");
    return exit_code;
}

}  // namespace iotgw::cli
