// The Jobs MQTT API's request payloads (parsed and checked) and replies (written as AWS does),
// jobs.hpp says whose rules.
#include "jobs.hpp"

#include <iotgw/sdk/json_document.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <tuple>

namespace localcore::jobs {
namespace {

using Value = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

Rejection invalid(std::string message) { return Rejection{"InvalidRequest", std::move(message), false}; }

bool detail_key_ok(std::string_view k, std::size_t max_bytes) {
    if (k.empty() || k.size() > max_bytes) return false;
    for (char c : k)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
              c == '_' || c == '-'))
            return false;
    return true;
}

// 1..max characters (UTF-8 code points; parse_json has checked the encoding), none a control
// character (AWS: [^\p{C}]+; C0, DEL and C1 here, the ones a log or a console would mangle).
bool detail_value_ok(std::string_view v, std::size_t max_chars) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto c = static_cast<unsigned char>(v[i]);
        if (c < 0x20 || c == 0x7F) return false;
        if (c == 0xC2 && i + 1 < v.size() && static_cast<unsigned char>(v[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(v[i + 1]) <= 0x9F)
            return false;
        if ((c & 0xC0) != 0x80) ++chars;
    }
    return chars >= 1 && chars <= max_chars;
}

std::optional<Rejection> read_details(const Value& v, const Limits& limits,
                                      std::optional<StatusDetails>& out) {
    if (!v.IsObject()) return invalid("statusDetails must be an object of strings");
    StatusDetails details;
    for (const auto& m : v.GetObject()) {
        const std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (!detail_key_ok(key, limits.max_detail_key_bytes))
            return invalid("statusDetails key '" + std::string(key.substr(0, 64)) +
                           "' must be 1-128 characters of [a-zA-Z0-9:_-]");
        if (!m.value.IsString()) return invalid("statusDetails." + std::string(key) + " must be a string");
        const std::string_view value(m.value.GetString(), m.value.GetStringLength());
        if (!detail_value_ok(value, limits.max_detail_value_chars))
            return invalid("statusDetails." + std::string(key) +
                           " must be 1-1024 characters without control characters");
        details[std::string(key)] = std::string(value);
    }
    out = std::move(details);
    return std::nullopt;
}

std::optional<Rejection> read_int(const Value& doc, const char* name, std::optional<std::int64_t>& out) {
    if (!doc.HasMember(name)) return std::nullopt;
    const Value& v = doc[name];
    if (!v.IsInt64()) return invalid(std::string(name) + " must be an integer");
    out = v.GetInt64();
    return std::nullopt;
}

std::optional<Rejection> read_bool(const Value& doc, const char* name, bool& out) {
    if (!doc.HasMember(name)) return std::nullopt;
    if (!doc[name].IsBool()) return invalid(std::string(name) + " must be true or false");
    out = doc[name].GetBool();
    return std::nullopt;
}

std::optional<Rejection> read_token(const Value& doc, const Limits& limits, std::string& out) {
    if (!doc.HasMember("clientToken")) return std::nullopt;
    const Value& v = doc["clientToken"];
    if (!v.IsString() || v.GetStringLength() == 0 || v.GetStringLength() > limits.max_client_token_bytes)
        return invalid("clientToken must be a string of 1-64 bytes");
    out.assign(v.GetString(), v.GetStringLength());
    return std::nullopt;
}

std::optional<Rejection> read_step_timeout(const Value& doc, const Limits& limits,
                                           std::optional<std::int64_t>& out) {
    if (auto r = read_int(doc, "stepTimeoutInMinutes", out)) return r;
    if (out && *out != -1 && (*out < 1 || *out > limits.max_step_timeout_minutes))
        return invalid("stepTimeoutInMinutes must be 1-" + std::to_string(limits.max_step_timeout_minutes) +
                       ", or -1 to clear the step timeout");
    return std::nullopt;
}

// The request document, or InvalidJson / InvalidRequest when it is not a JSON object.
std::optional<Rejection> parse_object(iotgw::sdk::MessageDocument& doc, std::string_view payload,
                                      const Limits& limits) {
    if (payload.size() > limits.max_request_bytes)
        return invalid("the request is " + std::to_string(payload.size()) + " bytes; at most " +
                       std::to_string(limits.max_request_bytes));
    if (payload.empty()) {
        doc.SetObject();  // AWS accepts an empty payload where every field is optional
        return std::nullopt;
    }
    if (auto parsed = iotgw::sdk::parse_json(doc, payload); !parsed)
        return Rejection{"InvalidJson", "the request is not valid JSON: " + parsed.message, false};
    if (!doc.IsObject()) return Rejection{"InvalidJson", "the request must be a JSON object", false};
    return std::nullopt;
}

void write_string(Writer& w, std::string_view key, std::string_view value) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_int(Writer& w, std::string_view key, std::int64_t value) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.Int64(value);
}

void write_details(Writer& w, const StatusDetails& details) {
    w.Key("statusDetails");
    w.StartObject();
    for (const auto& [k, v] : details) write_string(w, k, v);
    w.EndObject();
}

void write_document(Writer& w, const std::string& document) {
    w.Key("jobDocument");
    // Stored as validated JSON text when the job was created.
    w.RawValue(document.data(), document.size(), rapidjson::kObjectType);
}

void write_summary_fields(Writer& w, const Execution& e) {
    write_string(w, "jobId", e.job_id);
    write_int(w, "queuedAt", e.queued_at);
    if (e.started_at) write_int(w, "startedAt", *e.started_at);
    write_int(w, "lastUpdatedAt", e.last_updated_at);
    write_int(w, "versionNumber", e.version);
    write_int(w, "executionNumber", e.execution_number);
}

void write_execution(Writer& w, const Execution& e, bool include_job_document) {
    w.StartObject();
    write_string(w, "jobId", e.job_id);
    write_string(w, "thingName", e.thing);
    if (include_job_document) write_document(w, e.document);
    write_string(w, "status", to_string(e.status));
    write_details(w, e.status_details);
    write_int(w, "queuedAt", e.queued_at);
    if (e.started_at) write_int(w, "startedAt", *e.started_at);
    write_int(w, "lastUpdatedAt", e.last_updated_at);
    write_int(w, "versionNumber", e.version);
    write_int(w, "executionNumber", e.execution_number);
    w.EndObject();
}

void write_state(Writer& w, const Execution& e) {
    w.Key("executionState");
    w.StartObject();
    write_string(w, "status", to_string(e.status));
    write_details(w, e.status_details);
    write_int(w, "versionNumber", e.version);
    w.EndObject();
}

void write_tail(Writer& w, std::int64_t now, const std::string& client_token) {
    write_int(w, "timestamp", now);
    if (!client_token.empty()) write_string(w, "clientToken", client_token);
}

}  // namespace

std::variant<UpdateRequest, Rejection> parse_update_request(std::string_view payload, const Limits& limits) {
    iotgw::sdk::MessageDocument doc;
    if (auto r = parse_object(doc, payload, limits)) return *r;
    UpdateRequest req;
    if (auto r = read_token(doc, limits, req.client_token)) return *r;
    if (!doc.HasMember("status")) return invalid("status is required on every update");
    if (!doc["status"].IsString()) return invalid("status must be a string");
    const auto status =
        parse_status(std::string_view(doc["status"].GetString(), doc["status"].GetStringLength()));
    if (!status || (*status != Status::in_progress && *status != Status::succeeded &&
                    *status != Status::failed && *status != Status::rejected))
        return invalid("status must be IN_PROGRESS, SUCCEEDED, FAILED or REJECTED");
    req.status = *status;
    if (doc.HasMember("statusDetails"))
        if (auto r = read_details(doc["statusDetails"], limits, req.status_details)) return *r;
    if (auto r = read_int(doc, "expectedVersion", req.expected_version)) return *r;
    if (auto r = read_int(doc, "executionNumber", req.execution_number)) return *r;
    if (auto r = read_bool(doc, "includeJobExecutionState", req.include_job_execution_state)) return *r;
    if (auto r = read_bool(doc, "includeJobDocument", req.include_job_document)) return *r;
    if (auto r = read_step_timeout(doc, limits, req.step_timeout_minutes)) return *r;
    return req;
}

std::variant<StartNextRequest, Rejection> parse_start_next_request(std::string_view payload,
                                                                   const Limits& limits) {
    iotgw::sdk::MessageDocument doc;
    if (auto r = parse_object(doc, payload, limits)) return *r;
    StartNextRequest req;
    if (auto r = read_token(doc, limits, req.client_token)) return *r;
    if (doc.HasMember("statusDetails"))
        if (auto r = read_details(doc["statusDetails"], limits, req.status_details)) return *r;
    if (auto r = read_step_timeout(doc, limits, req.step_timeout_minutes)) return *r;
    if (req.step_timeout_minutes && *req.step_timeout_minutes == -1)
        return invalid("stepTimeoutInMinutes must be 1-" + std::to_string(limits.max_step_timeout_minutes));
    return req;
}

std::variant<DescribeRequest, Rejection> parse_describe_request(std::string_view payload,
                                                                const Limits& limits) {
    iotgw::sdk::MessageDocument doc;
    if (auto r = parse_object(doc, payload, limits)) return *r;
    DescribeRequest req;
    if (auto r = read_token(doc, limits, req.client_token)) return *r;
    if (auto r = read_int(doc, "executionNumber", req.execution_number)) return *r;
    if (auto r = read_bool(doc, "includeJobDocument", req.include_job_document)) return *r;
    return req;
}

std::variant<PendingRequest, Rejection> parse_pending_request(std::string_view payload,
                                                              const Limits& limits) {
    iotgw::sdk::MessageDocument doc;
    if (auto r = parse_object(doc, payload, limits)) return *r;
    PendingRequest req;
    if (auto r = read_token(doc, limits, req.client_token)) return *r;
    return req;
}

std::string client_token_of(std::string_view payload) {
    iotgw::sdk::MessageDocument doc;
    if (payload.size() > Limits{}.max_request_bytes || !iotgw::sdk::parse_json(doc, payload) ||
        !doc.IsObject() || !doc.HasMember("clientToken") || !doc["clientToken"].IsString() ||
        doc["clientToken"].GetStringLength() > Limits{}.max_client_token_bytes)
        return "";
    return std::string(doc["clientToken"].GetString(), doc["clientToken"].GetStringLength());
}

std::string execution_json(const Execution& e, bool include_job_document) {
    rapidjson::StringBuffer out;
    Writer w(out);
    write_execution(w, e, include_job_document);
    return out.GetString();
}

std::string update_accepted_json(const Execution& e, const UpdateRequest& r, std::int64_t now) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    if (r.include_job_execution_state) write_state(w, e);
    if (r.include_job_document) write_document(w, e.document);
    write_tail(w, now, r.client_token);
    w.EndObject();
    return out.GetString();
}

std::string start_next_accepted_json(const Execution* e, const std::string& client_token, std::int64_t now) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    if (e) {
        w.Key("execution");
        write_execution(w, *e, true);
    }
    write_tail(w, now, client_token);
    w.EndObject();
    return out.GetString();
}

std::string rejected_json(const Rejection& r, const Execution* e, const std::string& client_token,
                          std::int64_t now) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    write_string(w, "code", r.code);
    write_string(w, "message", r.message);
    write_tail(w, now, client_token);
    if (r.include_state && e) write_state(w, *e);
    w.EndObject();
    return out.GetString();
}

namespace {

// The summaries of the executions in `status`, oldest first.
void write_summaries(Writer& w, const std::vector<Execution>& executions, Status status) {
    std::vector<const Execution*> order;
    for (const auto& e : executions)
        if (e.status == status) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Execution* a, const Execution* b) {
        return std::tie(a->queued_at, a->job_id) < std::tie(b->queued_at, b->job_id);
    });
    w.StartArray();
    for (const Execution* e : order) {
        w.StartObject();
        write_summary_fields(w, *e);
        w.EndObject();
    }
    w.EndArray();
}

}  // namespace

std::string pending_json(const std::vector<Execution>& executions, const std::string& client_token,
                         std::int64_t now) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    w.Key("inProgressJobs");
    write_summaries(w, executions, Status::in_progress);
    w.Key("queuedJobs");
    write_summaries(w, executions, Status::queued);
    write_tail(w, now, client_token);
    w.EndObject();
    return out.GetString();
}

std::string describe_accepted_json(const Execution& e, bool include_job_document,
                                   const std::string& client_token, std::int64_t now) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    w.Key("execution");
    write_execution(w, e, include_job_document);
    write_tail(w, now, client_token);
    w.EndObject();
    return out.GetString();
}

std::string notify_json(const std::vector<Execution>& executions, std::int64_t now) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    write_int(w, "timestamp", now);
    w.Key("jobs");
    w.StartObject();
    std::vector<const Execution*> order;
    for (const auto& e : executions) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Execution* a, const Execution* b) {
        return std::tie(a->queued_at, a->job_id) < std::tie(b->queued_at, b->job_id);
    });
    for (Status s : {Status::in_progress, Status::queued}) {
        bool any = false;
        for (const Execution* p : order) {
            const Execution& e = *p;
            if (e.status != s) continue;
            if (!any) {
                const std::string_view key = to_string(s);
                w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
                w.StartArray();
                any = true;
            }
            w.StartObject();
            write_summary_fields(w, e);
            w.EndObject();
        }
        if (any) w.EndArray();
    }
    w.EndObject();
    w.EndObject();
    return out.GetString();
}

std::string notify_next_json(const Execution* next, std::int64_t now) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    write_int(w, "timestamp", now);
    if (next) {
        w.Key("execution");
        write_execution(w, *next, true);
    }
    w.EndObject();
    return out.GetString();
}

}  // namespace localcore::jobs
