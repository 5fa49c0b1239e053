// Shadow persistence: one JSON file per shadow, replaced atomically, read fresh on every request
// so the files stay the single source of truth (an operator can inspect or remove them).
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <iotgw/sdk/json_parse.hpp>

#include <system_error>

#include "atomic_file.hpp"
#include "shadow.hpp"

namespace localcore::shadow {
namespace {

constexpr int kFormatVersion = 1;
constexpr const char* kClassicFileName = "$classic";
// Far above any depth an update can create (max_depth plus the file's own levels); only there so
// a damaged or hand-made file cannot exhaust the stack in the recursive document functions.
constexpr int kMaxFileDepth = 64;

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& what) {
    throw Error("shadow file " + path.string() + " is corrupt (" + what +
                "); restore it from a backup, or delete it to drop that shadow");
}

void check_sections(const Value& node, const char* node_name, const std::filesystem::path& path) {
    if (!node.IsObject()) corrupt(path, std::string("\"") + node_name + "\" is not an object");
    for (const auto& m : node.GetObject()) {
        const std::string name(m.name.GetString(), m.name.GetStringLength());
        if (name != "desired" && name != "reported")
            corrupt(path, std::string("\"") + node_name + "\" has an unknown member \"" + name + "\"");
        if (!m.value.IsObject()) corrupt(path, std::string(node_name) + "." + name + " is not an object");
    }
}

std::string serialize(std::int64_t version, const Value* state, const Value* metadata) {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    w.StartObject();
    w.Key("format_version");
    w.Int(kFormatVersion);
    w.Key("version");
    w.Int64(version);
    if (state == nullptr) {
        w.Key("deleted");
        w.Bool(true);
    } else {
        w.Key("state");
        state->Accept(w);
        w.Key("metadata");
        metadata->Accept(w);
    }
    w.EndObject();
    std::string text(buf.GetString(), buf.GetSize());
    text += '\n';
    return text;
}

void write(const std::filesystem::path& path, const std::string& text) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
        throw Error("cannot create directory " + path.parent_path().string() + ": " + ec.message() +
                    "; check that the data directory is writable");
    write_file_atomic(path, text, 0600);
}

}  // namespace

Store::Store(std::filesystem::path dir) : root_(std::move(dir) / "shadows") {}

std::filesystem::path Store::path_for(std::string_view thing, std::string_view shadow) const {
    // Names are validated by the topic parser: [a-zA-Z0-9:_-] and '$', never '/', '.' or "..".
    const std::string file = std::string(shadow.empty() ? kClassicFileName : shadow) + ".json";
    return root_ / std::string(thing) / file;
}

Stored Store::load(std::string_view thing, std::string_view shadow) const {
    const auto path = path_for(thing, shadow);
    Stored out;
    const auto text = read_file_if_exists(path);
    if (!text) return out;

    auto& doc = out.doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, *text, kMaxFileDepth); !parsed)
        corrupt(path, "invalid JSON: " + parsed.message);
    if (!doc.IsObject()) corrupt(path, "the top level is not an object");
    if (nesting_depth(doc, kMaxFileDepth) > kMaxFileDepth)
        corrupt(path, "nested deeper than " + std::to_string(kMaxFileDepth) + " levels");
    const auto format = doc.FindMember("format_version");
    if (format == doc.MemberEnd() || !format->value.IsInt() || format->value.GetInt() != kFormatVersion)
        corrupt(path, "missing or unsupported format_version; this localcore reads version " +
                          std::to_string(kFormatVersion));
    const auto version = doc.FindMember("version");
    if (version == doc.MemberEnd() || !version->value.IsInt64() || version->value.GetInt64() < 0)
        corrupt(path, "\"version\" is not a non-negative integer");
    out.version = version->value.GetInt64();

    const auto deleted = doc.FindMember("deleted");
    if (deleted != doc.MemberEnd()) {
        if (!deleted->value.IsBool()) corrupt(path, "\"deleted\" is not a boolean");
        if (deleted->value.GetBool()) {
            out.status = Stored::Status::deleted;
            doc.SetNull();
            return out;
        }
    }
    const auto state = doc.FindMember("state");
    const auto metadata = doc.FindMember("metadata");
    if (state == doc.MemberEnd()) corrupt(path, "\"state\" is missing");
    if (metadata == doc.MemberEnd()) corrupt(path, "\"metadata\" is missing");
    check_sections(state->value, "state", path);
    check_sections(metadata->value, "metadata", path);
    out.status = Stored::Status::live;
    return out;
}

void Store::save_live(std::string_view thing, std::string_view shadow, std::int64_t version,
                      const Value& state, const Value& metadata) const {
    write(path_for(thing, shadow), serialize(version, &state, &metadata));
}

void Store::save_tombstone(std::string_view thing, std::string_view shadow, std::int64_t version) const {
    write(path_for(thing, shadow), serialize(version, nullptr, nullptr));
}

}  // namespace localcore::shadow
