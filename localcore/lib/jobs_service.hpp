// The AWS IoT Jobs MQTT API for devices, as the broker plugin serves it: the requests under
// $aws/things/<thing>/jobs/ answered from the job store (jobs_store.hpp) by the engine (jobs.hpp),
// and notify / notify-next published when a thing's pending executions change, whether by its own
// request, by a timeout, or by the CLI (create-job, cancel-job) writing the store. Like the shadow
// service: no broker types, called from mosquitto's single thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "jobs_store.hpp"
#include "outbound_message.hpp"

namespace localcore {

class JobsService {
public:
    explicit JobsService(const std::filesystem::path& data_dir);

    // $aws/things/<thing>/jobs/<anything>: every topic a device may publish a Jobs request to,
    // valid or not (an unknown one is answered InvalidTopic, as AWS does).
    static bool is_request_topic(std::string_view topic);
    // What only the service publishes: .../accepted, .../rejected, notify, notify-next.
    static bool is_response_topic(std::string_view topic);

    // Receives the reason behind each InternalError (a damaged jobs file, a failed write).
    void set_error_sink(std::function<void(std::string_view)> sink) { error_sink_ = std::move(sink); }

    // One request (already authorized); now_ms: epoch milliseconds (replies carry seconds).
    std::vector<OutboundMessage> handle(std::string_view topic, std::string_view payload,
                                        std::int64_t now_ms);

    // Timeouts due by now, and changes the CLI made: notify / notify-next for every thing whose
    // pending executions changed since the service last told its subscribers.
    std::vector<OutboundMessage> tick(std::int64_t now_ms);

private:
    std::vector<OutboundMessage> handle_for(const std::string& thing, std::string_view op,
                                            std::string_view payload, std::int64_t now);
    // notify and notify-next for `thing` when its pending list differs from what was last sent.
    void announce(const std::string& thing, const std::vector<jobs::Execution>& all, std::int64_t now,
                  std::vector<OutboundMessage>& out);

    jobs::JobStore store_;
    std::map<std::string, std::string> announced_;  // thing -> the pending list last notified
    std::function<void(std::string_view)> error_sink_;
};

}  // namespace localcore
