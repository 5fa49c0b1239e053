#include <iotgw/core/durable_file.hpp>
#include <iotgw/core/remote_config_files.hpp>
#include <iotgw/core/sha256.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>

namespace iotgw::core {
namespace {

// The configuration may hold key paths and endpoints: readable by the service user only.
constexpr mode_t kFileMode = 0600;

const char* state_name(TrialState s) {
    switch (s) {
        case TrialState::pending:
            return "pending";
        case TrialState::confirmed:
            return "confirmed";
        case TrialState::rolled_back:
            return "rolled_back";
        case TrialState::none:
            break;
    }
    return "none";
}

std::optional<TrialState> state_of(std::string_view name) {
    for (TrialState s : {TrialState::pending, TrialState::confirmed, TrialState::rolled_back})
        if (name == state_name(s)) return s;
    return std::nullopt;
}

}  // namespace

RemoteConfigFiles::RemoteConfigFiles(std::filesystem::path file) : file_(std::move(file)) {}

bool RemoteConfigFiles::active() const { return files::file_exists(file_.string()); }

std::optional<TrialRecord> RemoteConfigFiles::record() const {
    const std::string path = state().string();
    if (!files::file_exists(path)) return std::nullopt;
    const std::string text = files::read_file(path);
    rapidjson::Document doc;
    if (auto r = sdk::parse_json(doc, text); !r) throw std::runtime_error(path + ": not JSON: " + r.message);
    auto fail = [&](const std::string& what) { return std::runtime_error(path + ": " + what); };
    if (!doc.IsObject()) throw fail("not a JSON object");
    auto str = [&](const char* key, bool required) -> std::string {
        const auto it = doc.FindMember(key);
        if (it == doc.MemberEnd()) {
            if (required) throw fail(std::string("no \"") + key + "\"");
            return {};
        }
        if (!it->value.IsString()) throw fail(std::string("\"") + key + "\" is not a string");
        return {it->value.GetString(), it->value.GetStringLength()};
    };
    auto num = [&](const char* key) -> int64_t {
        const auto it = doc.FindMember(key);
        if (it == doc.MemberEnd() || !it->value.IsInt64())
            throw fail(std::string("\"") + key + "\" is not a whole number");
        return it->value.GetInt64();
    };
    TrialRecord r;
    r.job_id = str("job", true);
    const auto state = state_of(str("state", true));
    if (!state) throw fail("\"state\" is not pending, confirmed or rolled_back");
    r.state = *state;
    r.deadline_unix = num("deadline");
    r.starts = static_cast<int>(num("starts"));
    const auto prev = doc.FindMember("had_previous");
    if (prev == doc.MemberEnd() || !prev->value.IsBool()) throw fail("\"had_previous\" is not true or false");
    r.had_previous = prev->value.GetBool();
    r.sha256 = str("sha256", true);
    r.reason = str("reason", false);
    return r;
}

void RemoteConfigFiles::write_record(const TrialRecord& r) const {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    w.StartObject();
    w.Key("job");
    w.String(r.job_id.c_str(), static_cast<rapidjson::SizeType>(r.job_id.size()));
    w.Key("state");
    w.String(state_name(r.state));
    w.Key("deadline");
    w.Int64(r.deadline_unix);
    w.Key("starts");
    w.Int(r.starts);
    w.Key("had_previous");
    w.Bool(r.had_previous);
    w.Key("sha256");
    w.String(r.sha256.c_str(), static_cast<rapidjson::SizeType>(r.sha256.size()));
    if (!r.reason.empty()) {
        w.Key("reason");
        w.String(r.reason.c_str(), static_cast<rapidjson::SizeType>(r.reason.size()));
    }
    w.EndObject();
    files::write_file_durably(state().string(), std::string(out.GetString(), out.GetSize()) + "\n",
                              kFileMode);
}

void RemoteConfigFiles::apply(const std::string& job_id, std::string_view toml, int64_t deadline_unix) {
    TrialRecord r;
    r.job_id = job_id;
    r.state = TrialState::pending;
    r.deadline_unix = deadline_unix;
    r.sha256 = core::sha256_hex(toml);
    // The first apply makes the directory (in the service's state directory).
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path().empty() ? "." : file_.parent_path(), ec);
    if (ec)
        throw std::runtime_error("cannot make the directory " + file_.parent_path().string() + ": " +
                                 ec.message());
    // 1. What runs now becomes the previous. A pending trial of an earlier job never becomes a
    //    previous: its own previous (the last confirmed) stays.
    const auto last = record();
    if (last && last->state == TrialState::pending) {
        r.had_previous = last->had_previous;
    } else if (active()) {
        files::write_file_durably(previous().string(), files::read_file(file_.string()), kFileMode);
        r.had_previous = true;
    } else {
        files::remove_file_durably(previous().string());
        r.had_previous = false;
    }
    // 2. The record, with the new text's digest, before the text: a start that finds a pending
    //    record whose digest the file does not match rolls back.
    write_record(r);
    // 3. The new configuration.
    files::write_file_durably(file_.string(), std::string(toml), kFileMode);
}

void RemoteConfigFiles::confirm() {
    auto r = record();
    if (!r || r->state != TrialState::pending) throw std::runtime_error("no configuration is on trial");
    r->state = TrialState::confirmed;
    write_record(*r);
}

void RemoteConfigFiles::roll_back(const std::string& reason) {
    auto r = record();
    if (!r || r->state != TrialState::pending) throw std::runtime_error("no configuration is on trial");
    // The record first: if the power goes between the two steps, the next start finds a
    // rolled-back record and the file it names is restored again (or was).
    r->state = TrialState::rolled_back;
    r->reason = reason;
    write_record(*r);
    if (r->had_previous) {
        // After an apply whose text was never written the file still holds the previous one:
        // writing it again could only fail the way that apply did (a full disk).
        std::string before = files::read_file(previous().string());
        if (!active() || files::read_file(file_.string()) != before)
            files::write_file_durably(file_.string(), before, kFileMode);
    } else {
        files::remove_file_durably(file_.string());
    }
}

int RemoteConfigFiles::count_start() {
    auto r = record();
    if (!r || r->state != TrialState::pending) return 0;
    ++r->starts;
    write_record(*r);
    return r->starts;
}

bool RemoteConfigFiles::file_matches(const TrialRecord& r) const {
    if (!active()) return false;
    return core::sha256_hex(files::read_file(file_.string())) == r.sha256;
}

}  // namespace iotgw::core
