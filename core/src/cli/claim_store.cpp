#include "claim_store.hpp"

#include <iotgw/core/config_value.hpp>
#include <iotgw/core/version.hpp>

#include <memory>
#include <stdexcept>

namespace iotgw::cli::factory {
namespace {

// The in-process instance through which the factory step calls the host API: it does nothing
// itself, it only owns the handle the host calls need. One per process (the factory commands
// start one ClaimStore).
iotgw_host_instance* g_agent = nullptr;

int agent_create(iotgw_host_instance* self, const iotgw_config*, void** out, iotgw_error*) {
    g_agent = self;
    *out = self;  // any non-null pointer: the agent has no state of its own
    return IOTGW_OK;
}
int agent_start(void*, iotgw_error*) { return IOTGW_OK; }
void agent_stop(void*) {}
void agent_destroy(void*) { g_agent = nullptr; }

const iotgw_plugin_descriptor* agent_entry(const iotgw_host_api*) {
    static const iotgw_plugin_descriptor descriptor = [] {
        iotgw_plugin_descriptor d{};
        d.size = sizeof d;
        d.abi_version = IOTGW_MAKE_ABI_VERSION(1, 1);
        d.kind = IOTGW_KIND_SOURCE;
        d.name = "factory_agent";
        d.version = iotgw::core::gateway_version();
        d.description = "iotgw factory: calls the claim credentials' renewal operations.";
        d.config_field_size = sizeof(iotgw_config_field);
        d.create = &agent_create;
        d.start = &agent_start;
        d.stop = &agent_stop;
        d.destroy = &agent_destroy;
        return d;
    }();
    return &descriptor;
}

struct Completion {
    bool done = false;
    RenewalResult result;
};

void on_done(void* user, int status, const char* output, const char* error) {
    auto* c = static_cast<Completion*>(user);
    c->done = true;
    c->result.status = status;
    c->result.output = output != nullptr ? output : "";
    c->result.error = error != nullptr ? error : "";
}

// The claim instance alone (plus the agent that depends on it), no pipelines.
core::GatewayConfig claim_only(const core::GatewayConfig& full, const std::string& claim,
                               const core::LoadedPlugin* agent_plugin, int log_level) {
    core::GatewayConfig c;
    c.file = full.file;
    c.overlays = full.overlays;
    c.gateway = full.gateway;
    c.gateway.log_level = log_level;
    const core::InstanceConfig* ic = full.instance(claim);
    if (ic == nullptr) throw std::runtime_error("no instance named '" + claim + "'");
    core::InstanceConfig copy = *ic;
    copy.config = std::make_shared<iotgw_config>(*ic->config);
    if (ic->plugin->field("await_provisioning") != nullptr) {
        core::ConfigValue yes;
        yes.type = IOTGW_TYPE_BOOL;
        yes.data = true;
        copy.config->values["await_provisioning"] = yes;
    }
    c.instances.push_back(std::move(copy));

    core::InstanceConfig agent;
    agent.name = "factory";
    agent.kind = IOTGW_KIND_SOURCE;
    agent.type = agent_plugin->name;
    agent.plugin = agent_plugin;
    agent.config = std::make_shared<iotgw_config>();
    agent.depends_on = {claim};
    c.instances.push_back(std::move(agent));
    return c;
}

}  // namespace

ClaimStore::ClaimStore(core::PluginRegistry& registry, const core::GatewayConfig& config,
                       const std::string& claim_instance, int log_level)
    : gateway_(io_, log_), claim_(claim_instance) {
    const core::LoadedPlugin* agent = registry.find(IOTGW_KIND_SOURCE, "factory_agent");
    if (agent == nullptr) agent = registry.add_builtin(&agent_entry, "builtin:factory_agent");
    if (agent == nullptr) throw std::runtime_error("the factory agent was refused by the plugin registry");
    config_ = claim_only(config, claim_instance, agent, log_level);
}

ClaimStore::~ClaimStore() { gateway_.stop(); }

bool ClaimStore::start(std::string& error) {
    if (!gateway_.start(config_, error)) return false;
    if (g_agent == nullptr) {
        error = "the factory agent did not start";
        return false;
    }
    return true;
}

CurrentCredentials ClaimStore::current() {
    CurrentCredentials out;
    iotgw_credentials c{};
    c.size = sizeof c;
    iotgw_error err{};
    const int rc = core::host_api_table()->get_credentials(g_agent, claim_.c_str(), &c, &err);
    if (rc != IOTGW_OK) {
        out.why_not = err.message[0] != '\0' ? err.message : "status " + std::to_string(rc);
        return out;
    }
    out.usable = true;
    out.cert_path = c.cert_chain_path != nullptr ? c.cert_chain_path : "";
    out.not_after = c.not_after_unix;
    return out;
}

RenewalResult ClaimStore::renew(uint32_t op, const std::string& input) {
    Completion c;
    iotgw_error err{};
    const int rc = core::host_api_table()->credentials_renew(g_agent, claim_.c_str(), op, input.data(),
                                                             input.size(), &on_done, &c, &err);
    if (rc != IOTGW_OK) return RenewalResult{rc, "", err.message};
    // This thread is the loop thread: run the loop until the completion has been delivered.
    while (!c.done) {
        io_.restart();
        if (io_.run_one() == 0 && !c.done)
            return RenewalResult{IOTGW_ERR_FAILED, "",
                                 "the credentials provider never completed the operation"};
    }
    return c.result;
}

}  // namespace iotgw::cli::factory
