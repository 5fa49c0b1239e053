// Persistent session records (session_records.hpp): RapidJSON in, JsonOut out.
#include "session_records.hpp"

#include <rapidjson/document.h>

#include <system_error>

#include "atomic_file.hpp"
#include "json_out.hpp"
#include "sha256_hex.hpp"

namespace localcore::broker {
namespace {

constexpr int kFormatVersion = 1;

std::string serialize(const SessionRecord& r) {
    JsonOut out;
    out.field("format_version", kFormatVersion)
        .field("client_id", r.client_id)
        .field("certificate_id", r.certificate_id)
        .object("certificate_subject", r.certificate_subject)
        .field("token_id", r.token_id)
        .field("token_policy", r.token_policy)
        .field("token_expires_at", r.token_expires_at);
    return out.done();
}

std::string string_member(const rapidjson::Value& doc, const char* name, const std::filesystem::path& file) {
    const auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString())
        throw Error(file.string() + ": \"" + name + "\" is missing or not a string; delete the file (the session's " +
                    "queued messages are then refused until the client connects again)");
    return {it->value.GetString(), it->value.GetStringLength()};
}

SessionRecord parse(const std::string& text, const std::filesystem::path& file) {
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsObject())
        throw Error(file.string() + " is not a JSON object; delete it (the session's queued messages are then "
                                    "refused until the client connects again)");
    const auto version = doc.FindMember("format_version");
    if (version == doc.MemberEnd() || !version->value.IsInt() || version->value.GetInt() != kFormatVersion)
        throw Error(file.string() + " has an unknown format_version (this localcore reads 1); delete it");
    SessionRecord r;
    r.client_id = string_member(doc, "client_id", file);
    r.certificate_id = string_member(doc, "certificate_id", file);
    r.token_id = string_member(doc, "token_id", file);
    r.token_policy = string_member(doc, "token_policy", file);
    const auto expires = doc.FindMember("token_expires_at");
    const auto subject = doc.FindMember("certificate_subject");
    if (expires == doc.MemberEnd() || !expires->value.IsInt64() || subject == doc.MemberEnd() ||
        !subject->value.IsObject())
        throw Error(file.string() + ": token_expires_at or certificate_subject is missing or of the wrong type; "
                                    "delete the file");
    r.token_expires_at = expires->value.GetInt64();
    for (const auto& field : subject->value.GetObject()) {
        if (!field.value.IsString())
            throw Error(file.string() + ": certificate_subject." + field.name.GetString() +
                        " is not a string; delete the file");
        r.certificate_subject[field.name.GetString()] = field.value.GetString();
    }
    return r;
}

}  // namespace

SessionRecords::SessionRecords(const std::filesystem::path& data_dir) : dir_(data_dir / "sessions") {}

std::filesystem::path SessionRecords::path_for(const std::string& client_id) const {
    return dir_ / (sha256_hex(client_id) + ".json");
}

void SessionRecords::save(const SessionRecord& record) {
    const auto file = path_for(record.client_id);
    const std::string text = serialize(record);
    if (const auto existing = read_file_if_exists(file); existing && *existing == text) return;
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw Error("cannot create " + dir_.string() + ": " + ec.message() + "; check the data directory");
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, ec);  // certificate ids, subjects
    write_file_atomic(file, text, 0600);
}

std::optional<SessionRecord> SessionRecords::find(const std::string& client_id) const {
    const auto file = path_for(client_id);
    const auto text = read_file_if_exists(file);
    if (!text) return std::nullopt;
    SessionRecord r = parse(*text, file);
    if (r.client_id != client_id)
        throw Error(file.string() + " names client '" + r.client_id + "', not '" + client_id + "'; delete it");
    return r;
}

void SessionRecords::remove(const std::string& client_id) {
    const auto file = path_for(client_id);
    std::error_code ec;
    if (!std::filesystem::remove(file, ec) && ec)
        throw Error("cannot delete " + file.string() + ": " + ec.message() + "; check the data directory");
}

}  // namespace localcore::broker
