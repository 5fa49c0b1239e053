#include "mqtt_limits.hpp"

#include "mosquitto_api.hpp"

#include <algorithm>

#include "localcore_broker.hpp"
#include "jobs_service.hpp"
#include "provisioning.hpp"
#include "shadow.hpp"

namespace localcore::broker {
namespace {

std::string_view strip_exempt_prefix(std::string_view topic) {
    for (std::string_view prefix : {std::string_view("$aws/rules/"), std::string_view("$share/")}) {
        if (topic.starts_with(prefix)) {
            const auto end = topic.find('/', prefix.size());
            return end == std::string_view::npos ? std::string_view() : topic.substr(end + 1);
        }
    }
    return topic;
}

bool ends_with_reply(std::string_view topic) {
    return topic.ends_with("/accepted") || topic.ends_with("/rejected");
}

}  // namespace

int counted_slashes(std::string_view topic) {
    const std::string_view rest = strip_exempt_prefix(topic);
    return static_cast<int>(std::count(rest.begin(), rest.end(), '/'));
}

bool is_service_only_topic(std::string_view topic) {
    if (topic.starts_with("$aws/events/")) return true;
    if (is_shadow_response_topic(topic)) return true;
    if (JobsService::is_response_topic(topic)) return true;
    if ((topic.starts_with("$aws/certificates/") || topic.starts_with("$aws/provisioning-templates/")) &&
        ends_with_reply(topic))
        return true;
    return false;
}

bool subscribed(const ClientState& state, std::string_view topic) {
    const std::string t(topic);
    for (const std::string& filter : state.subscriptions) {
        bool match = false;
        if (mosquitto_topic_matches_sub(filter.c_str(), t.c_str(), &match) == MOSQ_ERR_SUCCESS && match)
            return true;
    }
    return false;
}

}  // namespace localcore::broker
