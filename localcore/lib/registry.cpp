#include "registry.hpp"

#include <algorithm>
#include <chrono>

#include <rapidjson/document.h>
#include <iotgw/sdk/json_parse.hpp>

namespace localcore {
namespace {

RegistryData load(const std::filesystem::path& file) {
    auto text = read_file_if_exists(file);
    if (!text) return {};
    return parse_registry_json(*text, file);
}

bool is_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

Certificate& cert_in(RegistryData& data, const std::string& id) {
    auto it = data.certificates.find(id);
    if (it == data.certificates.end())
        throw Error("certificate " + id + " does not exist; list them with `localcore list certs`");
    return it->second;
}

void require_thing(const RegistryData& data, std::string_view name) {
    validate_thing_name(name);
    if (!data.things.count(std::string(name)))
        throw Error("thing '" + std::string(name) +
                    "' does not exist; create it with `localcore create-thing " + std::string(name) + "`");
}

void require_policy(const RegistryData& data, std::string_view name) {
    validate_policy_name(name);
    if (!data.policies.count(std::string(name)))
        throw Error("policy '" + std::string(name) + "' does not exist; add it with `localcore put-policy " +
                    std::string(name) + " FILE`");
}

void insert_sorted(std::vector<std::string>& v, std::string_view value) {
    auto it = std::lower_bound(v.begin(), v.end(), value);
    if (it == v.end() || *it != value) v.insert(it, std::string(value));
}

void erase_value(std::vector<std::string>& v, std::string_view value) {
    v.erase(std::remove(v.begin(), v.end(), value), v.end());
}

std::string resolve_id(const RegistryData& data, std::string_view id_or_prefix) {
    const std::string key = lower(id_or_prefix);
    if (key.size() < 8 || key.size() > 64 || !is_hex(key))
        throw Error("certificate id '" + std::string(id_or_prefix) +
                    "' is not an id or a prefix of at least 8 hex characters; "
                    "copy it from `localcore list certs`");
    if (data.certificates.count(key)) return key;
    auto it = data.certificates.lower_bound(key);
    if (it == data.certificates.end() || it->first.compare(0, key.size(), key) != 0)
        throw Error("no certificate id starts with " + key + "; list them with `localcore list certs`");
    auto next = std::next(it);
    if (next != data.certificates.end() && next->first.compare(0, key.size(), key) == 0)
        throw Error("certificate id prefix " + key +
                    " matches more than one certificate; give more characters");
    return it->first;
}

}  // namespace

Registry Registry::open(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw Error("data directory " + dir.string() + " does not exist; create it with `localcore --data " +
                    dir.string() + " init`");
    Registry r(dir);
    (void)load(r.file());  // refuse a corrupt file now rather than at the first use
    return r;
}

RegistryData Registry::snapshot() const { return load(file()); }

void Registry::update(const std::function<void(RegistryData&)>& change) {
    FileLock lock(dir_ / "registry.lock");
    RegistryData data = load(file());
    change(data);
    write_file_atomic(file(), registry_to_json(data), 0600);
}

std::optional<Thing> Registry::thing(std::string_view name) const {
    auto data = snapshot();
    auto it = data.things.find(std::string(name));
    if (it == data.things.end()) return std::nullopt;
    return it->second;
}

std::optional<Certificate> Registry::certificate(std::string_view id) const {
    auto data = snapshot();
    auto it = data.certificates.find(lower(id));
    if (it == data.certificates.end()) return std::nullopt;
    return it->second;
}

std::optional<PolicyRecord> Registry::policy(std::string_view name) const {
    auto data = snapshot();
    auto it = data.policies.find(std::string(name));
    if (it == data.policies.end()) return std::nullopt;
    return it->second;
}

std::vector<Thing> Registry::things() const {
    std::vector<Thing> out;
    for (auto& [_, t] : snapshot().things) out.push_back(t);
    return out;
}

std::vector<Certificate> Registry::certificates() const {
    std::vector<Certificate> out;
    for (auto& [_, c] : snapshot().certificates) out.push_back(c);
    return out;
}

std::vector<PolicyRecord> Registry::policies() const {
    std::vector<PolicyRecord> out;
    for (auto& [_, p] : snapshot().policies) out.push_back(p);
    return out;
}

std::optional<Certificate> Registry::find_certificate_by_der_fingerprint(
    std::string_view fingerprint_hex) const {
    return certificate(fingerprint_hex);
}

std::string Registry::resolve_certificate_id(std::string_view id_or_prefix) const {
    return resolve_id(snapshot(), id_or_prefix);
}

void Registry::create_thing(std::string_view name, std::map<std::string, std::string> attributes) {
    validate_thing_name(name);
    update([&](RegistryData& data) {
        if (data.things.count(std::string(name)))
            throw Error("thing '" + std::string(name) + "' already exists; choose another name");
        data.things.emplace(std::string(name), Thing{std::string(name), std::move(attributes)});
    });
}

void Registry::set_thing_attribute(std::string_view thing, std::string_view key, std::string_view value) {
    update([&](RegistryData& data) {
        require_thing(data, thing);
        data.things.at(std::string(thing)).attributes[std::string(key)] = std::string(value);
    });
}

std::string Registry::add_certificate(std::string_view pem, CertStatus status,
                                      const std::vector<std::string>& things,
                                      const std::vector<std::string>& policies) {
    const auto info = inspect_certificate_pem(pem);
    update([&](RegistryData& data) {
        if (data.certificates.count(info.fingerprint))
            throw Error("certificate " + info.fingerprint + " is already registered; nothing to do");
        for (const auto& t : things) require_thing(data, t);
        for (const auto& p : policies) require_policy(data, p);
        Certificate c;
        c.id = info.fingerprint;
        c.pem = std::string(pem);
        c.status = status;
        c.created = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
        c.not_after = info.not_after;
        c.subject_cn = info.subject_cn;
        for (const auto& t : things) insert_sorted(c.things, t);
        for (const auto& p : policies) insert_sorted(c.policies, p);
        data.certificates.emplace(c.id, std::move(c));
    });
    return info.fingerprint;
}

void Registry::set_status(std::string_view cert_id, CertStatus status) {
    if (status == CertStatus::PendingActivation)
        throw Error(
            "status PENDING_ACTIVATION cannot be set, only given when a certificate is issued; "
            "use ACTIVE, INACTIVE or REVOKED");
    update([&](RegistryData& data) {
        auto& c = cert_in(data, resolve_id(data, cert_id));
        if (c.status == CertStatus::Revoked && status != CertStatus::Revoked)
            throw Error("certificate " + c.id +
                        " is REVOKED and revocation is permanent; "
                        "issue a new certificate instead");
        c.status = status;
    });
}

void Registry::attach_thing(std::string_view cert_id, std::string_view thing) {
    update([&](RegistryData& data) {
        auto& c = cert_in(data, resolve_id(data, cert_id));
        require_thing(data, thing);
        insert_sorted(c.things, thing);
    });
}

void Registry::detach_thing(std::string_view cert_id, std::string_view thing) {
    update([&](RegistryData& data) { erase_value(cert_in(data, resolve_id(data, cert_id)).things, thing); });
}

void Registry::attach_policy(std::string_view cert_id, std::string_view policy_name) {
    update([&](RegistryData& data) {
        auto& c = cert_in(data, resolve_id(data, cert_id));
        require_policy(data, policy_name);
        insert_sorted(c.policies, policy_name);
    });
}

void Registry::detach_policy(std::string_view cert_id, std::string_view policy_name) {
    update([&](RegistryData& data) {
        erase_value(cert_in(data, resolve_id(data, cert_id)).policies, policy_name);
    });
}

void Registry::put_policy(std::string_view name, std::string_view json_text) {
    validate_policy_name(name);
    rapidjson::Document doc;
    if (const auto parsed = iotgw::sdk::parse_json(doc, json_text); !parsed)
        throw Error("policy '" + std::string(name) + "' is not a JSON object (" + parsed.message +
                    "); fix the policy document");
    if (!doc.IsObject())
        throw Error("policy '" + std::string(name) + "' is not a JSON object; fix the policy document");
    update([&](RegistryData& data) {
        data.policies[std::string(name)] = PolicyRecord{std::string(name), std::string(json_text)};
    });
}

}  // namespace localcore
