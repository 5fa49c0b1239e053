// Job execution persistence and the operator's commands on it (jobs_store.hpp).
#include "jobs_store.hpp"

#include <iotgw/sdk/json_document.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <system_error>

#include "shadow.hpp"

namespace localcore::jobs {
namespace {

namespace fs = std::filesystem;
using Value = rapidjson::Value;

constexpr int kFormatVersion = 1;

[[noreturn]] void corrupt(const fs::path& path, const std::string& what) {
    throw Error("jobs file " + path.string() + " is corrupt (" + what +
                "); restore it from a backup, or delete it to drop that thing's jobs");
}

const Value& member(const Value& o, const char* name, const fs::path& path) {
    if (!o.HasMember(name)) corrupt(path, std::string("an execution has no \"") + name + "\"");
    return o[name];
}

std::int64_t int_member(const Value& o, const char* name, const fs::path& path) {
    const Value& v = member(o, name, path);
    if (!v.IsInt64()) corrupt(path, std::string("\"") + name + "\" is not an integer");
    return v.GetInt64();
}

std::optional<std::int64_t> optional_int(const Value& o, const char* name, const fs::path& path) {
    if (!o.HasMember(name)) return std::nullopt;
    return int_member(o, name, path);
}

std::string string_member(const Value& o, const char* name, const fs::path& path) {
    const Value& v = member(o, name, path);
    if (!v.IsString()) corrupt(path, std::string("\"") + name + "\" is not a string");
    return std::string(v.GetString(), v.GetStringLength());
}

std::string compact(const Value& v) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    v.Accept(w);
    return out.GetString();
}

Execution read_execution(const Value& o, std::string_view thing, const fs::path& path) {
    if (!o.IsObject()) corrupt(path, "an execution is not an object");
    Execution e;
    e.thing = std::string(thing);
    e.job_id = string_member(o, "jobId", path);
    if (!is_valid_job_id(e.job_id)) corrupt(path, "job id '" + e.job_id + "' is not valid");
    const Value& doc = member(o, "jobDocument", path);
    if (!doc.IsObject()) corrupt(path, "the job document of " + e.job_id + " is not an object");
    e.document = compact(doc);
    const std::string status = string_member(o, "status", path);
    const auto parsed = parse_status(status);
    if (!parsed) corrupt(path, "status '" + status + "' of " + e.job_id + " is not a job execution status");
    e.status = *parsed;
    const Value& details = member(o, "statusDetails", path);
    if (!details.IsObject()) corrupt(path, "the statusDetails of " + e.job_id + " are not an object");
    for (const auto& m : details.GetObject()) {
        if (!m.value.IsString()) corrupt(path, "a statusDetails value of " + e.job_id + " is not a string");
        e.status_details[std::string(m.name.GetString(), m.name.GetStringLength())] =
            std::string(m.value.GetString(), m.value.GetStringLength());
    }
    e.queued_at = int_member(o, "queuedAt", path);
    e.started_at = optional_int(o, "startedAt", path);
    e.last_updated_at = int_member(o, "lastUpdatedAt", path);
    e.version = int_member(o, "versionNumber", path);
    e.execution_number = int_member(o, "executionNumber", path);
    e.step_deadline = optional_int(o, "stepDeadline", path);
    e.in_progress_timeout_minutes = optional_int(o, "inProgressTimeoutInMinutes", path);
    e.in_progress_deadline = optional_int(o, "inProgressDeadline", path);
    return e;
}

void write_optional(rapidjson::PrettyWriter<rapidjson::StringBuffer>& w, const char* key,
                    const std::optional<std::int64_t>& v) {
    if (!v) return;
    w.Key(key);
    w.Int64(*v);
}

std::string serialize(const std::vector<Execution>& executions) {
    rapidjson::StringBuffer out;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(out);
    w.SetIndent(' ', 2);
    w.StartObject();
    w.Key("format");
    w.Int(kFormatVersion);
    w.Key("executions");
    w.StartArray();
    for (const auto& e : executions) {
        w.StartObject();
        w.Key("jobId");
        w.String(e.job_id.c_str(), static_cast<rapidjson::SizeType>(e.job_id.size()));
        w.Key("jobDocument");
        w.RawValue(e.document.data(), e.document.size(), rapidjson::kObjectType);
        w.Key("status");
        const std::string_view status = to_string(e.status);
        w.String(status.data(), static_cast<rapidjson::SizeType>(status.size()));
        w.Key("statusDetails");
        w.StartObject();
        for (const auto& [k, v] : e.status_details) {
            w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
            w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
        }
        w.EndObject();
        w.Key("queuedAt");
        w.Int64(e.queued_at);
        write_optional(w, "startedAt", e.started_at);
        w.Key("lastUpdatedAt");
        w.Int64(e.last_updated_at);
        w.Key("versionNumber");
        w.Int64(e.version);
        w.Key("executionNumber");
        w.Int64(e.execution_number);
        write_optional(w, "stepDeadline", e.step_deadline);
        write_optional(w, "inProgressTimeoutInMinutes", e.in_progress_timeout_minutes);
        write_optional(w, "inProgressDeadline", e.in_progress_deadline);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(out.GetString()) + "\n";
}

void check_thing(std::string_view thing) {
    if (!is_valid_thing_name(thing))
        throw Error("thing name '" + std::string(thing) +
                    "' is not valid; use 1-128 characters of [a-zA-Z0-9:_-]");
}

Execution& find(std::vector<Execution>& all, std::string_view thing, std::string_view job_id) {
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Execution& e) { return e.job_id == job_id; });
    if (it == all.end())
        throw Error("thing '" + std::string(thing) + "' has no job '" + std::string(job_id) +
                    "'; `localcore describe-job` names the ones it has");
    return *it;
}

}  // namespace

bool is_valid_job_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    });
}

JobStore::JobStore(const std::filesystem::path& data_dir) : dir_(data_dir / "jobs") {}

std::filesystem::path JobStore::file(std::string_view thing) const {
    check_thing(thing);
    return dir_ / (std::string(thing) + ".json");
}

std::vector<Execution> JobStore::load(std::string_view thing) const {
    const fs::path path = file(thing);
    const std::optional<std::string> text = read_file_if_exists(path);
    if (!text) return {};
    iotgw::sdk::MessageDocument doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, *text); !parsed) corrupt(path, parsed.message);
    if (!doc.IsObject() || !doc.HasMember("format") || !doc["format"].IsInt() ||
        doc["format"].GetInt() != kFormatVersion || !doc.HasMember("executions") ||
        !doc["executions"].IsArray())
        corrupt(path, "not a localcore jobs file of format " + std::to_string(kFormatVersion));
    std::vector<Execution> out;
    for (const auto& v : doc["executions"].GetArray()) out.push_back(read_execution(v, thing, path));
    return out;
}

void JobStore::save(std::string_view thing, const std::vector<Execution>& executions) const {
    const fs::path path = file(thing);
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec)
        throw Error("cannot create " + dir_.string() + " (" + ec.message() + "); check the data directory");
    write_file_atomic(path, serialize(executions), 0600);
}

std::vector<std::string> JobStore::things() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        if (p.extension() == ".json" && is_valid_thing_name(p.stem().string()))
            out.push_back(p.stem().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

FileLock JobStore::lock() const {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec)
        throw Error("cannot create " + dir_.string() + " (" + ec.message() + "); check the data directory");
    return FileLock(dir_ / ".lock");
}

Execution create_job(const JobStore& store, std::string_view thing, const std::string& job_id,
                     std::string_view document, std::optional<std::int64_t> timeout_minutes,
                     std::int64_t now) {
    check_thing(thing);
    if (!is_valid_job_id(job_id))
        throw Error("job id '" + job_id + "' is not valid; use 1-64 characters of [a-zA-Z0-9_-]");
    if (document.size() > kMaxJobDocumentBytes)
        throw Error("the job document is " + std::to_string(document.size()) + " bytes; AWS allows at most " +
                    std::to_string(kMaxJobDocumentBytes));
    iotgw::sdk::MessageDocument doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, document); !parsed)
        throw Error("the job document is not valid JSON (" + parsed.message + ")");
    if (!doc.IsObject()) throw Error("the job document must be a JSON object");
    if (timeout_minutes && (*timeout_minutes < 1 || *timeout_minutes > kMaxTimeoutMinutes))
        throw Error("the in-progress timeout must be 1-" + std::to_string(kMaxTimeoutMinutes) + " minutes");
    const FileLock lock = store.lock();
    std::vector<Execution> all = store.load(thing);
    if (std::any_of(all.begin(), all.end(), [&](const Execution& e) { return e.job_id == job_id; }))
        throw Error("thing '" + std::string(thing) + "' already has a job '" + job_id +
                    "'; choose another id");
    Execution e;
    e.job_id = job_id;
    e.thing = std::string(thing);
    e.document = compact(doc);
    e.queued_at = now;
    e.last_updated_at = now;
    e.in_progress_timeout_minutes = timeout_minutes;
    all.push_back(e);
    store.save(thing, all);
    return e;
}

Execution cancel_job(const JobStore& store, std::string_view thing, std::string_view job_id,
                     std::int64_t now) {
    const FileLock lock = store.lock();
    std::vector<Execution> all = store.load(thing);
    Execution& e = find(all, thing, job_id);
    if (is_terminal(e.status))
        throw Error("job '" + std::string(job_id) + "' of thing '" + std::string(thing) +
                    "' has already ended (" + std::string(to_string(e.status)) + "); nothing to cancel");
    e.status = Status::canceled;
    e.step_deadline.reset();
    e.in_progress_deadline.reset();
    e.last_updated_at = now;
    ++e.version;
    store.save(thing, all);
    return e;
}

Execution describe_job(const JobStore& store, std::string_view thing, std::string_view job_id) {
    std::vector<Execution> all = store.load(thing);
    return find(all, thing, job_id);
}

}  // namespace localcore::jobs
