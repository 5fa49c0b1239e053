#include "job_messages.hpp"

#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/job_id.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace iotgw::plugins::jobs {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using Value = rapidjson::Value;

// AWS's statusDetails limits (UpdateJobExecution).
constexpr std::size_t kMaxDetailKeyChars = 128;
constexpr std::size_t kMaxDetailValueChars = 1024;
constexpr std::size_t kMaxOperationChars = 64;

[[noreturn]] void malformed(std::string_view topic, const std::string& why) {
    throw sdk::Error("jobs: malformed message on '" + std::string(topic) + "': " + why);
}

std::string text_of(const Value& v) {
    rapidjson::StringBuffer out;
    Writer w(out);
    v.Accept(w);
    return std::string(out.GetString(), out.GetSize());
}

std::optional<std::string> string_field(const Value& obj, const char* name, std::string_view topic) {
    const auto it = obj.FindMember(name);
    if (it == obj.MemberEnd()) return std::nullopt;
    if (!it->value.IsString()) malformed(topic, std::string("\"") + name + "\" is not a string");
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int64_t> int_field(const Value& obj, const char* name, std::string_view topic) {
    const auto it = obj.FindMember(name);
    if (it == obj.MemberEnd()) return std::nullopt;
    if (!it->value.IsInt64()) malformed(topic, std::string("\"") + name + "\" is not an integer");
    return it->value.GetInt64();
}

ExecutionInfo execution_of(const Value& e, std::string_view topic) {
    if (!e.IsObject()) malformed(topic, "\"execution\" is not an object");
    ExecutionInfo out;
    auto id = string_field(e, "jobId", topic);
    if (!id || id->empty()) malformed(topic, "the execution has no \"jobId\"");
    if (!sdk::is_job_id(*id)) malformed(topic, "\"jobId\" is not a job id (1-64 of a-z, A-Z, 0-9, _ and -)");
    out.job_id = std::move(*id);
    out.status = string_field(e, "status", topic).value_or("");
    out.version = int_field(e, "versionNumber", topic).value_or(0);
    out.execution_number = int_field(e, "executionNumber", topic).value_or(0);
    if (const auto doc = e.FindMember("jobDocument"); doc != e.MemberEnd()) {
        if (!doc->value.IsObject()) malformed(topic, "\"jobDocument\" is not an object");
        out.document = text_of(doc->value);
    }
    return out;
}

std::optional<ExecutionInfo> optional_execution(const Value& root, std::string_view topic) {
    const auto it = root.FindMember("execution");
    if (it == root.MemberEnd() || it->value.IsNull()) return std::nullopt;
    return execution_of(it->value, topic);
}

void read_state(Reply& r, const Value& root, std::string_view topic) {
    const auto st = root.FindMember("executionState");
    if (st == root.MemberEnd()) return;
    if (!st->value.IsObject()) malformed(topic, "\"executionState\" is not an object");
    r.state_status = string_field(st->value, "status", topic);
    r.state_version = int_field(st->value, "versionNumber", topic);
}

void fill_rejection(Reply& r, const Value& root, std::string_view topic) {
    r.kind = ReplyKind::rejected;
    r.code = string_field(root, "code", topic).value_or("");
    if (r.code.empty()) malformed(topic, "a rejection without \"code\"");
    r.message = string_field(root, "message", topic).value_or("");
    read_state(r, root, topic);
}

bool detail_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
           c == '-';
}

// Cut to at most `n` characters (UTF-8 code points), control characters replaced by spaces.
std::string detail_value(std::string_view v, std::size_t n) {
    std::string out;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < v.size();) {
        const auto c = static_cast<unsigned char>(v[i]);
        const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
        if (chars == n) break;
        if (c < 0x20 || c == 0x7F)
            out.push_back(' ');
        else
            out.append(v.substr(i, std::min(len, v.size() - i)));
        i += len;
        ++chars;
    }
    return out;
}

void write_string(Writer& w, const char* key, const std::string& value) {
    w.Key(key);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

std::optional<Reply> parse_reply(const JobTopics& topics, std::string_view topic, std::string_view payload) {
    if (topic.substr(0, topics.base().size()) != topics.base()) return std::nullopt;
    const std::string_view rest = topic.substr(topics.base().size());

    Reply r;
    bool accepted = false;
    if (rest == "notify-next") {
        r.kind = ReplyKind::notify_next;
    } else if (rest == "start-next/accepted" || rest == "start-next/rejected") {
        r.request = "start-next";
        accepted = rest.ends_with("/accepted");
    } else {
        // <jobId>/update/accepted, <jobId>/get/rejected, ...
        const std::size_t first = rest.find('/');
        if (first == std::string_view::npos || first == 0) return std::nullopt;
        const std::string_view tail = rest.substr(first + 1);
        if (tail != "update/accepted" && tail != "update/rejected" && tail != "get/accepted" &&
            tail != "get/rejected")
            return std::nullopt;
        r.job_id = std::string(rest.substr(0, first));
        r.request = std::string(tail.substr(0, tail.find('/')));
        accepted = tail.ends_with("/accepted");
    }

    sdk::MessageDocument doc;
    if (const auto parsed = sdk::parse_json(doc, payload); !parsed) malformed(topic, "not JSON: " + parsed.message);
    if (!doc.IsObject()) malformed(topic, "not a JSON object");
    r.client_token = string_field(doc, "clientToken", topic).value_or("");

    if (r.kind == ReplyKind::notify_next) {
        r.execution = optional_execution(doc, topic);
        return r;
    }
    if (!accepted) {
        fill_rejection(r, doc, topic);
        return r;
    }
    if (r.request == "start-next") {
        r.kind = ReplyKind::start_next_accepted;
        r.execution = optional_execution(doc, topic);
    } else if (r.request == "update") {
        r.kind = ReplyKind::update_accepted;
        read_state(r, doc, topic);
    } else {
        r.kind = ReplyKind::get_accepted;
        r.execution = optional_execution(doc, topic);
        if (!r.execution) malformed(topic, "a get reply without \"execution\"");
    }
    return r;
}

std::string start_next_request(const std::string& client_token, int64_t step_timeout_minutes) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    write_string(w, "clientToken", client_token);
    w.Key("stepTimeoutInMinutes");
    w.Int64(step_timeout_minutes);
    w.EndObject();
    return std::string(out.GetString(), out.GetSize());
}

std::string update_request(const std::string& status, const std::string& details_json, int64_t expected_version,
                           std::optional<int64_t> step_timeout_minutes, const std::string& client_token) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    write_string(w, "status", status);
    if (!details_json.empty()) {
        w.Key("statusDetails");
        w.RawValue(details_json.c_str(), details_json.size(), rapidjson::kObjectType);
    }
    w.Key("expectedVersion");
    w.Int64(expected_version);
    if (step_timeout_minutes) {
        w.Key("stepTimeoutInMinutes");
        w.Int64(*step_timeout_minutes);
    }
    // The reply then carries the execution's new version: the next update's expectedVersion.
    w.Key("includeJobExecutionState");
    w.Bool(true);
    write_string(w, "clientToken", client_token);
    w.EndObject();
    return std::string(out.GetString(), out.GetSize());
}

std::string get_request(const std::string& client_token) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    // With the document: a resumed job needs its presigned URLs made afresh.
    w.Key("includeJobDocument");
    w.Bool(true);
    write_string(w, "clientToken", client_token);
    w.EndObject();
    return std::string(out.GetString(), out.GetSize());
}

std::variant<std::string, DocumentProblem> operation_of(std::string_view document, std::size_t max_bytes) {
    if (document.size() > max_bytes)
        return DocumentProblem{"document_too_large", "the job document is " + std::to_string(document.size()) +
                                                         " bytes, more than this gateway takes (" +
                                                         std::to_string(max_bytes) + ")"};
    sdk::MessageDocument doc;
    if (const auto parsed = sdk::parse_json(doc, document); !parsed)
        return DocumentProblem{"invalid_document", "the job document is not JSON: " + parsed.message};
    if (!doc.IsObject()) return DocumentProblem{"invalid_document", "the job document is not a JSON object"};
    const auto it = doc.FindMember("operation");
    if (it == doc.MemberEnd())
        return DocumentProblem{"invalid_document", "the job document names no \"operation\""};
    if (!it->value.IsString())
        return DocumentProblem{"invalid_document", "the job document's \"operation\" is not a string"};
    const std::string op(it->value.GetString(), it->value.GetStringLength());
    const bool ok = !op.empty() && op.size() <= kMaxOperationChars && std::all_of(op.begin(), op.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!ok)
        return DocumentProblem{"invalid_document", "the job document's \"operation\" must be 1-64 characters of "
                                                   "a-z, 0-9, _ and -"};
    return op;
}

std::string status_details(std::string_view handler_details, const std::string& reason, const std::string& message) {
    rapidjson::StringBuffer out;
    Writer w(out);
    w.StartObject();
    auto put = [&](std::string_view key, std::string_view value) {
        if (key.empty() || value.empty()) return;
        std::string k(key.substr(0, kMaxDetailKeyChars));
        std::replace_if(k.begin(), k.end(), [](char c) { return !detail_key_char(c); }, '_');
        const std::string v = detail_value(value, kMaxDetailValueChars);
        w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
        w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    };
    put("reason", reason);
    put("message", message);
    if (!handler_details.empty()) {
        sdk::MessageDocument doc;
        if (sdk::parse_json(doc, handler_details) && doc.IsObject()) {
            for (const auto& m : doc.GetObject()) {
                const std::string_view k(m.name.GetString(), m.name.GetStringLength());
                if (k == "reason" || k == "message" || !m.value.IsString()) continue;
                put(k, std::string_view(m.value.GetString(), m.value.GetStringLength()));
            }
        }
    }
    w.EndObject();
    return std::string(out.GetString(), out.GetSize());
}

}  // namespace iotgw::plugins::jobs
