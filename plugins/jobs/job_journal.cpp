#include "job_journal.hpp"

#include <iotgw/plugins/common/durable_file.hpp>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/json_parse.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace iotgw::plugins::jobs {
namespace {

// A job document is at most 32 KB (AWS); the rest of an entry is small.
constexpr std::size_t kMaxJournalBytes = std::size_t{256} * 1024;

[[noreturn]] void damaged(const std::string& path, const std::string& why) {
    throw sdk::Error("jobs: the journal " + path + " is damaged (" + why + ")");
}

std::string required_string(const rapidjson::Value& doc, const char* key, const std::string& path) {
    const auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsString()) damaged(path, std::string("\"") + key + "\" is not a string");
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

int64_t required_int(const rapidjson::Value& doc, const char* key, const std::string& path) {
    const auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsInt64()) damaged(path, std::string("\"") + key + "\" is not an integer");
    return it->value.GetInt64();
}

void put(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key, const std::string& value) {
    w.Key(key);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

std::optional<JournalEntry> JobJournal::load() const {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        if (!common::path_exists(path_)) return std::nullopt;
        throw sdk::Error("jobs: cannot read the journal " + path_ + ": " + common::errno_text());
    }
    std::ostringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    if (content.size() > kMaxJournalBytes) damaged(path_, std::to_string(content.size()) + " bytes");
    sdk::MessageDocument doc;
    if (const auto parsed = sdk::parse_json(doc, content); !parsed) damaged(path_, "not JSON: " + parsed.message);
    if (!doc.IsObject()) damaged(path_, "not a JSON object");
    JournalEntry e;
    e.job_id = required_string(doc, "job_id", path_);
    if (e.job_id.empty()) damaged(path_, "an empty \"job_id\"");
    e.execution_number = required_int(doc, "execution_number", path_);
    e.version = required_int(doc, "version", path_);
    e.operation = required_string(doc, "operation", path_);
    e.handler = required_string(doc, "handler", path_);
    e.document = required_string(doc, "document", path_);
    e.resume_state = required_string(doc, "resume_state", path_);
    if (doc.HasMember("final_status")) {
        e.final_status = required_string(doc, "final_status", path_);
        if (*e.final_status != "SUCCEEDED" && *e.final_status != "FAILED" && *e.final_status != "REJECTED")
            damaged(path_, "\"final_status\" is " + *e.final_status);
        e.final_details = required_string(doc, "final_details", path_);
    }
    return e;
}

void JobJournal::save(const JournalEntry& e) const {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    w.StartObject();
    put(w, "job_id", e.job_id);
    w.Key("execution_number");
    w.Int64(e.execution_number);
    w.Key("version");
    w.Int64(e.version);
    put(w, "operation", e.operation);
    put(w, "handler", e.handler);
    put(w, "document", e.document);
    put(w, "resume_state", e.resume_state);
    if (e.final_status) {
        put(w, "final_status", *e.final_status);
        put(w, "final_details", e.final_details);
    }
    w.EndObject();
    // The directory on first use (under StateDirectory=, which systemd makes): owner only.
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) throw sdk::Error("jobs: cannot create " + dir.string() + " for the journal: " + ec.message());
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
    common::write_file_atomic(path_, std::string(out.GetString(), out.GetSize()) + "\n", 0600);
}

void JobJournal::clear() const { common::remove_file_durably(path_); }

void JobJournal::set_aside() const {
    if (!common::path_exists(path_)) return;
    common::rename_file(path_, path_ + ".damaged");
    common::fsync_dir(path_);
}

}  // namespace iotgw::plugins::jobs
