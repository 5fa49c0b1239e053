// Fleet provisioning: AWS IoT's MQTT API CreateKeysAndCertificate, CreateCertificateFromCsr and
// RegisterThing (docs/aws-iot-core.md section 5) as a broker-independent engine. The
// mosquitto plugin hands it each PUBLISH on a request topic and publishes what it returns, so the same
// claim-certificate flow a device runs against AWS runs against localcore unchanged.
//
// Three parts:
// - provisioning_template*.cpp: provisioning templates (Parameters, Mappings, Resources,
//   DeviceConfiguration and the intrinsic functions) parsed into a checked form (_parse.cpp, the form
//   in provisioning_template_expr.hpp) and evaluated (_evaluate.cpp).
// - provisioning_tokens.cpp: certificate ownership tokens, persisted so a broker restart keeps them.
// - provisioning_handler.cpp: the request topics, payloads, replies and registry changes.
// - provisioning_hook.cpp: the pre-provisioning hook's rules, built in (AWS: a Lambda).
// cloud/provisioning/README.md documents the behaviour, the error codes and the choices made where
// AWS documents nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atomic_file.hpp"
#include "ca.hpp"
#include "outbound_message.hpp"
#include "registry.hpp"

namespace localcore {

// Who published a request, as the broker knows it from the TLS connection.
struct RequesterContext {
    std::string client_id;
    std::string certificate_id;        // the connection's certificate (SHA-256 DER hex)
    std::optional<std::string> thing;  // the thing attached to that cert whose name == client id, if any
};

struct ProvisioningOptions {
    // Template `NAME` is the file `NAME-template.json` here (cloud/provisioning/amr-template.json is
    // the template `amr`, the name the AWS deployment gives it). `NAME-hook.json` beside it gives the
    // template the built-in pre-provisioning hook (provisioning_hook.hpp).
    std::filesystem::path templates_dir;
    std::chrono::seconds certificate_lifetime{365 * 24 * 3600};
    std::chrono::seconds ownership_token_ttl{3600};
    // More certificates awaiting RegisterThing than this and CreateKeysAndCertificate /
    // CreateCertificateFromCsr answer 429 ThrottlingException: a leaked claim certificate must not be
    // able to grow the registry without bound (AWS throttles these calls too).
    std::size_t max_pending_certificates = 1000;
};

// ---------------------------------------------------------------------------------------------------
// Provisioning templates

// A template AWS would refuse when it is created (CreateProvisioningTemplate). Message:
// "template 'NAME' /JSON/pointer: what is wrong; what to do".
struct TemplateError : Error {
    using Error::Error;
};

// A template that is valid but cannot be evaluated with the request's parameters (a missing
// parameter, a thing name the parameters make invalid, a mapping key that does not exist, ...).
struct TemplateParameterError : Error {
    using Error::Error;
};

// OverrideSettings: what to do with a property of a thing that already exists.
enum class OverrideAction { do_nothing, replace, fail, merge };

// What an evaluated template asks of the registry.
struct ProvisioningPlan {
    struct ThingPart {
        std::string logical_name;
        std::string name;
        // nullopt when the template has no AttributePayload (existing attributes then stay).
        std::optional<std::map<std::string, std::string>> attributes;
        OverrideAction attributes_override = OverrideAction::do_nothing;
    };
    struct PolicyPart {
        std::string logical_name;
        std::string name;
        // Set for a PolicyDocument: the policy is created (or replaced) under `name`, which is the
        // SHA-256 of the document as AWS does. Unset for a PolicyName, which must already exist.
        std::optional<std::string> document;
    };
    std::optional<ThingPart> thing;
    std::string certificate_logical_name;
    CertStatus certificate_status = CertStatus::Active;
    std::vector<PolicyPart> policies;
    std::map<std::string, std::string> device_configuration;
};

class ProvisioningTemplate {
public:
    // AWS's rule for template names: [0-9A-Za-z_-]{1,36}. Anything else names no template, which also
    // keeps every name inside the templates directory.
    static bool valid_name(std::string_view name);
    // dir / "NAME-template.json"; `name` must be valid_name.
    static std::filesystem::path file_for(const std::filesystem::path& dir, std::string_view name);

    // Checks everything that does not depend on parameters; throws TemplateError.
    static ProvisioningTemplate parse(std::string_view json, std::string name);
    // nullopt when the file does not exist; TemplateError when it is not a valid template.
    static std::optional<ProvisioningTemplate> load(const std::filesystem::path& dir, std::string_view name);

    const std::string& name() const;
    // The declared parameters (without AWS::IoT::Certificate::Id) and their defaults.
    const std::map<std::string, std::optional<std::string>>& parameters() const;

    // `parameters` from the request; AWS::IoT::Certificate::Id is always `certificate_id` (a request
    // cannot override it). Throws TemplateParameterError.
    ProvisioningPlan evaluate(const std::map<std::string, std::string>& parameters,
                              std::string_view certificate_id) const;

    struct Impl;

private:
    explicit ProvisioningTemplate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;
};

// ---------------------------------------------------------------------------------------------------
// Certificate ownership tokens

// Bearer tokens binding a RegisterThing call to the certificate just created (as on AWS, whoever
// presents the token may register that certificate). Only SHA-256 hashes of the tokens are stored, so
// the file grants nothing to its readers. One owner per file (the broker plugin): the content is
// cached in memory and every change is written through atomically.
class OwnershipTokenStore {
public:
    struct Entry {
        std::string certificate_id;
        std::int64_t expires_ms = 0;  // the token is valid while now < expires_ms
    };

    // Loads `file` if it exists; throws Error when it is corrupt.
    explicit OwnershipTokenStore(std::filesystem::path file);

    // A new random token (32 bytes from RAND_bytes, base64) for `certificate_id`; persisted.
    std::string issue(std::string_view certificate_id, std::int64_t expires_ms);
    // The entry of a token that exists and has not expired at now_ms.
    std::optional<Entry> find(std::string_view token, std::int64_t now_ms) const;
    // True when the token exists but expired (for a precise rejection message).
    bool expired(std::string_view token, std::int64_t now_ms) const;
    // Removes a token (used, or its certificate could not be stored); persisted.
    void remove(std::string_view token);
    // The entries expired at now_ms, without removing them.
    std::vector<Entry> expired_entries(std::int64_t now_ms) const;
    // Removes every entry expired at now_ms; persisted.
    void remove_expired(std::int64_t now_ms);

    std::size_t size() const { return entries_.size(); }
    // The earliest expiry, or INT64_MAX when empty: expire() does nothing before it.
    std::int64_t next_expiry_ms() const { return next_expiry_ms_; }
    const std::filesystem::path& file() const { return file_; }

private:
    void save();
    void recompute_next_expiry();
    std::filesystem::path file_;
    std::map<std::string, Entry> entries_;  // by SHA-256 of the token, hex
    std::int64_t next_expiry_ms_;
};

// ---------------------------------------------------------------------------------------------------
// The MQTT API

class FleetProvisioning {
public:
    // data_dir: tokens persisted in data_dir/provisioning/tokens.json (atomic writes) so a broker
    // restart keeps them.
    FleetProvisioning(Registry& registry, const Ca& ca, std::filesystem::path data_dir, ProvisioningOptions);

    // $aws/certificates/create/{json,cbor}, $aws/certificates/create-from-csr/{json,cbor},
    // $aws/provisioning-templates/NAME/provision/{json,cbor}.
    static bool is_request_topic(std::string_view topic);

    // Returns replies; every reply has only_to_requester = true (AWS answers only the requesting
    // connection). Never throws: failures become a /rejected reply. Rejection messages never contain
    // tokens or keys, so the plugin may log them.
    std::vector<OutboundMessage> handle(std::string_view topic, std::string_view payload,
                                        const RequesterContext&, std::int64_t now_ms);

    // Deletes certificates still PENDING_ACTIVATION (and attached to nothing) whose ownership token
    // expired (AWS deletes them after 1 h) and drops expired tokens. Called by the plugin about once a
    // second; without an expired token it does no I/O. Throws Error when the registry cannot be
    // written; nothing is dropped then, so the next call retries.
    void expire(std::int64_t now_ms);

    const OwnershipTokenStore& tokens() const { return tokens_; }

private:
    std::vector<OutboundMessage> create_keys(const std::string& reply_base, std::string_view payload,
                                             std::int64_t now_ms);
    std::vector<OutboundMessage> create_from_csr(const std::string& reply_base, std::string_view payload,
                                                 std::int64_t now_ms);
    // With a pre-provisioning hook (NAME-hook.json next to the template, provisioning_hook.hpp) the
    // hook's refusal is a 403 AccessDenied whose errorMessage carries the reason.
    std::vector<OutboundMessage> register_thing(const std::string& reply_base, std::string_view template_name,
                                                std::string_view payload, const RequesterContext& requester,
                                                std::int64_t now_ms);
    // Stores a new PENDING_ACTIVATION certificate and its token; returns the token.
    std::string store_pending(const std::string& cert_pem, const std::string& cert_id, std::int64_t now_ms);

    Registry& registry_;
    const Ca& ca_;
    ProvisioningOptions options_;
    OwnershipTokenStore tokens_;
};

}  // namespace localcore
