#include <iotgw/core/gateway.hpp>

#include "runtime.hpp"

namespace iotgw::core {

Gateway::Gateway(boost::asio::io_context& io, Logger& log)
    : io_(io), log_(log), loop_thread_(std::this_thread::get_id()) {}

Gateway::~Gateway() { stop(); }

const GatewayConfig* Gateway::config() const noexcept { return runtime_ ? &runtime_->config() : nullptr; }

std::unique_ptr<Runtime> Gateway::build(GatewayConfig config, std::string& error, bool start) {
    auto rt = std::make_unique<Runtime>(io_, log_, metrics_, loop_thread_, std::move(config), RuntimeMode::run);
    rt->set_config_control(config_control_);  // before create: a plugin may ask at create
    if (!rt->create(error)) return nullptr;
    if (start && !rt->start(error)) return nullptr;
    return rt;
}

std::string Gateway::summary() const {
    const GatewayConfig& c = runtime_->config();
    std::string file;
    for (char ch : c.file.string()) {
        if (ch == '"' || ch == '\\') file.push_back('\\');
        file.push_back(ch);
    }
    return "{\"thing\":\"" + c.gateway.thing + "\",\"config\":\"" + file + "\",\"instances\":" +
           std::to_string(c.instances.size()) + ",\"pipelines\":" + std::to_string(c.pipelines.size()) + "}";
}

bool Gateway::start(GatewayConfig config, std::string& error) {
    stop();
    log_.set_level(config.gateway.log_level);
    const auto instances = config.instances.size();
    const auto pipelines = config.pipelines.size();
    const std::string file = config.file.string();
    runtime_ = build(std::move(config), error, true);
    if (!runtime_) return false;
    log_.notice("iotgw", "started " + std::to_string(instances) + " instance(s) and " + std::to_string(pipelines) +
                             " pipeline(s) from " + file);
    runtime_->publish_event("$iotgw/core/started", summary(), true);
    return true;
}

bool Gateway::dry_run(boost::asio::io_context& io, Logger& log, const GatewayConfig& config, std::string& error) {
    Metrics scratch;
    Runtime rt(io, log, scratch, std::this_thread::get_id(), config, RuntimeMode::dry_run);
    return rt.create(error);
}

bool Gateway::reload(GatewayConfig config, std::string& error) {
    if (!runtime_) return start(std::move(config), error);
    // Keep a copy of what runs now so it can be brought back if the new config will not start.
    GatewayConfig previous = runtime_->config();
    runtime_.reset();  // stops and destroys the old instances before the new ones open anything
    log_.set_level(config.gateway.log_level);
    runtime_ = build(std::move(config), error, true);
    if (runtime_) {
        log_.notice("iotgw", "reloaded configuration from " + runtime_->config().file.string());
        runtime_->publish_event("$iotgw/core/reloaded", summary(), true);
        return true;
    }
    log_.error("iotgw", "reload failed: " + error + "; restoring the previous configuration");
    log_.set_level(previous.gateway.log_level);
    std::string restore_error;
    runtime_ = build(std::move(previous), restore_error, true);
    if (runtime_)
        runtime_->publish_event("$iotgw/core/reloaded", summary(), true);
    else
        log_.error("iotgw", "the previous configuration did not start again either: " + restore_error);
    return false;
}

void Gateway::stop() noexcept {
    if (!runtime_) return;
    try {
        runtime_->publish_event("$iotgw/core/stopping", "{}", false);
    } catch (...) {  // stopping goes on regardless
    }
    runtime_.reset();
    log_.info("iotgw", "all instances stopped");
}

}  // namespace iotgw::core
