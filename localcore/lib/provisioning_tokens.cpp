// Certificate ownership tokens: random bearer tokens, stored only as SHA-256 hashes in
// DATA/provisioning/tokens.json so pending registrations survive a broker restart.
#include <algorithm>
#include <array>
#include <limits>
#include <map>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <iotgw/sdk/json_parse.hpp>

#include "provisioning.hpp"
#include "sha256_hex.hpp"

namespace localcore {

namespace {

constexpr std::size_t kTokenBytes = 32;

std::string random_token() {
    std::array<unsigned char, kTokenBytes> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        ERR_clear_error();
        throw Error("cannot draw random bytes for an ownership token; check the OpenSSL installation");
    }
    std::array<unsigned char, 4 * ((kTokenBytes + 2) / 3) + 1> text{};
    const int n = EVP_EncodeBlock(text.data(), bytes.data(), static_cast<int>(bytes.size()));
    return std::string(reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(n));
}

}  // namespace

OwnershipTokenStore::OwnershipTokenStore(std::filesystem::path file)
    : file_(std::move(file)), next_expiry_ms_(std::numeric_limits<std::int64_t>::max()) {
    auto text = read_file_if_exists(file_);
    if (!text) return;
    const auto corrupt = [&](const std::string& what) {
        return Error(file_.string() + " is corrupt (" + what +
                     "); restore it, or delete it to forget the pending RegisterThing tokens (their "
                     "PENDING_ACTIVATION certificates then stay until `localcore` removes them)");
    };
    rapidjson::Document doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, *text); !parsed)
        throw corrupt("not a JSON object: " + parsed.message);
    if (!doc.IsObject()) throw corrupt("not a JSON object");
    auto tokens = doc.FindMember("tokens");
    if (tokens == doc.MemberEnd() || !tokens->value.IsArray()) throw corrupt("no \"tokens\" array");
    for (const auto& t : tokens->value.GetArray()) {
        if (!t.IsObject()) throw corrupt("a token entry is not an object");
        auto hash = t.FindMember("tokenSha256");
        auto cert = t.FindMember("certificateId");
        auto expires = t.FindMember("expiresMs");
        if (hash == t.MemberEnd() || !hash->value.IsString() || hash->value.GetStringLength() != 64 ||
            cert == t.MemberEnd() || !cert->value.IsString() || expires == t.MemberEnd() ||
            !expires->value.IsInt64())
            throw corrupt("a token entry lacks tokenSha256, certificateId or expiresMs");
        entries_[hash->value.GetString()] = Entry{cert->value.GetString(), expires->value.GetInt64()};
    }
    recompute_next_expiry();
}

void OwnershipTokenStore::recompute_next_expiry() {
    next_expiry_ms_ = std::numeric_limits<std::int64_t>::max();
    for (const auto& [_, e] : entries_) next_expiry_ms_ = std::min(next_expiry_ms_, e.expires_ms);
}

void OwnershipTokenStore::save() {
    rapidjson::StringBuffer buffer;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("version");
    w.Int(1);
    w.Key("tokens");
    w.StartArray();
    for (const auto& [hash, e] : entries_) {
        w.StartObject();
        w.Key("tokenSha256");
        w.String(hash.c_str(), static_cast<rapidjson::SizeType>(hash.size()));
        w.Key("certificateId");
        w.String(e.certificate_id.c_str(), static_cast<rapidjson::SizeType>(e.certificate_id.size()));
        w.Key("expiresMs");
        w.Int64(e.expires_ms);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::error_code ec;
    const auto dir = file_.parent_path();
    if (!std::filesystem::is_directory(dir, ec)) {
        std::filesystem::create_directories(dir, ec);
        if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message() + "; check permissions");
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
    write_file_atomic(file_, std::string_view(buffer.GetString(), buffer.GetSize()), 0600);
}

std::string OwnershipTokenStore::issue(std::string_view certificate_id, std::int64_t expires_ms) {
    auto token = random_token();
    const auto hash = sha256_hex(token);
    entries_[hash] = Entry{std::string(certificate_id), expires_ms};
    try {
        save();
    } catch (...) {
        entries_.erase(hash);  // memory and file stay in step
        throw;
    }
    next_expiry_ms_ = std::min(next_expiry_ms_, expires_ms);
    return token;
}

std::optional<OwnershipTokenStore::Entry> OwnershipTokenStore::find(std::string_view token,
                                                                    std::int64_t now_ms) const {
    auto it = entries_.find(sha256_hex(token));
    if (it == entries_.end() || now_ms >= it->second.expires_ms) return std::nullopt;
    return it->second;
}

bool OwnershipTokenStore::expired(std::string_view token, std::int64_t now_ms) const {
    auto it = entries_.find(sha256_hex(token));
    return it != entries_.end() && now_ms >= it->second.expires_ms;
}

void OwnershipTokenStore::remove(std::string_view token) {
    auto it = entries_.find(sha256_hex(token));
    if (it == entries_.end()) return;
    const auto kept = *it;
    entries_.erase(it);
    try {
        save();
    } catch (...) {
        entries_.insert(kept);
        throw;
    }
    recompute_next_expiry();
}

std::vector<OwnershipTokenStore::Entry> OwnershipTokenStore::expired_entries(std::int64_t now_ms) const {
    std::vector<Entry> out;
    if (now_ms < next_expiry_ms_) return out;
    for (const auto& [_, e] : entries_)
        if (now_ms >= e.expires_ms) out.push_back(e);
    return out;
}

void OwnershipTokenStore::remove_expired(std::int64_t now_ms) {
    if (now_ms < next_expiry_ms_) return;
    auto kept = entries_;
    std::erase_if(entries_, [&](const auto& kv) { return now_ms >= kv.second.expires_ms; });
    try {
        save();
    } catch (...) {
        entries_ = std::move(kept);
        throw;
    }
    recompute_next_expiry();
}

}  // namespace localcore
