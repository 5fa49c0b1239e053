// The Jobs MQTT API served from the job store (jobs_service.hpp).
#include "jobs_service.hpp"

#include <algorithm>
#include <variant>

#include "shadow.hpp"

namespace localcore {
namespace {

using jobs::Execution;
using jobs::Rejection;

constexpr std::string_view kPrefix = "$aws/things/";
constexpr std::string_view kJobs = "/jobs/";

struct JobsTopic {
    std::string thing;
    std::string_view rest;  // after ".../jobs/"
};

std::optional<JobsTopic> split(std::string_view topic) {
    if (!topic.starts_with(kPrefix)) return std::nullopt;
    const std::string_view after = topic.substr(kPrefix.size());
    const auto slash = after.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string_view thing = after.substr(0, slash);
    const std::string_view tail = after.substr(slash);
    if (!tail.starts_with(kJobs) || tail.size() == kJobs.size()) return std::nullopt;
    return JobsTopic{std::string(thing), tail.substr(kJobs.size())};
}

std::int64_t seconds(std::int64_t now_ms) { return now_ms / 1000; }

// The pending executions as the subscribers were told them: id, status and version of each.
std::string pending_fingerprint(const std::vector<Execution>& all) {
    std::vector<std::string> parts;
    for (const auto& e : all)
        if (!jobs::is_terminal(e.status))
            parts.push_back(e.job_id + ":" + std::string(jobs::to_string(e.status)) + ":" +
                            std::to_string(e.version));
    std::sort(parts.begin(), parts.end());
    std::string out;
    for (const auto& p : parts) out += p + ";";
    return out;
}

bool expire_all(std::vector<Execution>& all, std::int64_t now) {
    bool changed = false;
    for (auto& e : all) changed = jobs::expire_timeouts(e, now) || changed;
    return changed;
}

// One request on a thing's jobs topics: the thing, the payload, the time and the topic its
// reply goes to with "accepted" or "rejected" appended.
struct Request {
    const std::string& thing;
    std::string_view payload;
    std::int64_t now;
    std::string reply_base;
};

// The reply to one request, and whether it changed the thing's executions (then they are saved).
struct Reply {
    OutboundMessage message;
    bool changed = false;
};

Reply accepted(const Request& r, std::string json, bool changed = false) {
    return {{r.reply_base + "accepted", std::move(json), false}, changed};
}

Reply rejected(const Request& r, const Rejection& why, const Execution* e) {
    return {{r.reply_base + "rejected", jobs::rejected_json(why, e, jobs::client_token_of(r.payload), r.now),
             false}};
}

Rejection not_found(const Request& r, std::string_view job_id) {
    return {"ResourceNotFound",
            "Job execution " + std::string(job_id) + " of thing " + r.thing + " not found", false};
}

// $aws/things/<thing>/jobs/get: the pending executions.
Reply get_pending(const std::vector<Execution>& all, const Request& r) {
    const auto req = jobs::parse_pending_request(r.payload);
    if (const auto* why = std::get_if<Rejection>(&req)) return rejected(r, *why, nullptr);
    return accepted(r, jobs::pending_json(all, std::get<jobs::PendingRequest>(req).client_token, r.now));
}

// .../jobs/start-next: starts the next queued execution, or describes the one in progress.
Reply start_next(std::vector<Execution>& all, const Request& r) {
    const auto req = jobs::parse_start_next_request(r.payload);
    if (const auto* why = std::get_if<Rejection>(&req)) return rejected(r, *why, nullptr);
    const auto& start = std::get<jobs::StartNextRequest>(req);
    Execution* next = jobs::next_pending(all);
    bool changed = false;
    if (next && next->status == jobs::Status::queued) {
        jobs::start(*next, start, r.now);
        changed = true;
    }
    return accepted(r, jobs::start_next_accepted_json(next, start.client_token, r.now), changed);
}

// .../jobs/<jobId>/get and .../jobs/<jobId>/update.
Reply execution_request(std::vector<Execution>& all, const Request& r, std::string_view job_id,
                        std::string_view action) {
    if (!jobs::is_valid_job_id(job_id) || (action != "get" && action != "update"))
        return rejected(r, Rejection{"InvalidTopic", "The topic is not one of the Jobs API's", false},
                        nullptr);
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Execution& e) { return e.job_id == job_id; });
    if (action == "get") {
        const auto req = jobs::parse_describe_request(r.payload);
        if (const auto* why = std::get_if<Rejection>(&req)) return rejected(r, *why, nullptr);
        const auto& d = std::get<jobs::DescribeRequest>(req);
        if (it == all.end() || (d.execution_number && *d.execution_number != it->execution_number))
            return rejected(r, not_found(r, job_id), nullptr);
        return accepted(r, jobs::describe_accepted_json(*it, d.include_job_document, d.client_token, r.now));
    }
    const auto req = jobs::parse_update_request(r.payload);
    if (const auto* why = std::get_if<Rejection>(&req)) return rejected(r, *why, nullptr);
    const auto& u = std::get<jobs::UpdateRequest>(req);
    if (it == all.end()) return rejected(r, not_found(r, job_id), nullptr);
    if (const auto why = jobs::apply_update(*it, u, r.now)) return rejected(r, *why, &*it);
    return accepted(r, jobs::update_accepted_json(*it, u, r.now), true);
}

}  // namespace

JobsService::JobsService(const std::filesystem::path& data_dir) : store_(data_dir) {}

bool JobsService::is_request_topic(std::string_view topic) {
    const auto t = split(topic);
    return t && is_valid_thing_name(t->thing) && !is_response_topic(topic);
}

bool JobsService::is_response_topic(std::string_view topic) {
    const auto t = split(topic);
    if (!t) return false;
    return t->rest == "notify" || t->rest == "notify-next" || t->rest.ends_with("/accepted") ||
           t->rest.ends_with("/rejected");
}

std::vector<OutboundMessage> JobsService::handle(std::string_view topic, std::string_view payload,
                                                 std::int64_t now_ms) {
    const auto t = split(topic);
    if (!t || !is_valid_thing_name(t->thing)) return {};
    try {
        return handle_for(t->thing, t->rest, payload, seconds(now_ms));
    } catch (const Error& e) {
        if (error_sink_) error_sink_(e.what());
        const Rejection internal{"InternalError", "Internal service failure", false};
        return {OutboundMessage{
            std::string(topic) + "/rejected",
            jobs::rejected_json(internal, nullptr, jobs::client_token_of(payload), seconds(now_ms)), false}};
    }
}

std::vector<OutboundMessage> JobsService::handle_for(const std::string& thing, std::string_view op,
                                                     std::string_view payload, std::int64_t now) {
    const Request request{thing, payload, now,
                          std::string(kPrefix) + thing + std::string(kJobs) + std::string(op) + "/"};
    const auto lock = store_.lock();
    std::vector<Execution> all = store_.load(thing);
    // Timeouts that fell due end first, so no request sees an execution that already timed out.
    const bool expired = expire_all(all, now);

    Reply reply;
    if (op == "get") {
        reply = get_pending(all, request);
    } else if (op == "start-next") {
        reply = start_next(all, request);
    } else {
        const auto slash = op.find('/');
        const std::string_view action =
            slash == std::string_view::npos ? std::string_view() : op.substr(slash + 1);
        reply = execution_request(all, request, op.substr(0, slash), action);
    }
    if (expired || reply.changed) store_.save(thing, all);
    std::vector<OutboundMessage> out{std::move(reply.message)};
    announce(thing, all, now, out);
    return out;
}

void JobsService::announce(const std::string& thing, const std::vector<Execution>& all, std::int64_t now,
                           std::vector<OutboundMessage>& out) {
    const std::string fingerprint = pending_fingerprint(all);
    auto& last = announced_[thing];
    if (fingerprint == last) return;
    last = fingerprint;
    const std::string base = std::string(kPrefix) + thing + std::string(kJobs);
    out.push_back({base + "notify", jobs::notify_json(all, now), false});
    out.push_back({base + "notify-next", jobs::notify_next_json(jobs::next_pending(all), now), false});
}

std::vector<OutboundMessage> JobsService::tick(std::int64_t now_ms) {
    const std::int64_t now = seconds(now_ms);
    std::vector<OutboundMessage> out;
    std::vector<std::string> things;
    try {
        things = store_.things();
    } catch (const Error& e) {
        if (error_sink_) error_sink_(e.what());
        return out;
    }
    for (const std::string& thing : things) {
        try {
            const auto lock = store_.lock();
            std::vector<Execution> all = store_.load(thing);
            if (expire_all(all, now)) store_.save(thing, all);
            announce(thing, all, now, out);
        } catch (const Error& e) {
            if (error_sink_) error_sink_(e.what());
        }
    }
    return out;
}

}  // namespace localcore
