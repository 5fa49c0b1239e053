// The fleet provisioning exchange over the claim connection (docs/aws-iot-core.md section 5):
// connect with the claim certificate, subscribe to the reply topics, then
// CreateCertificateFromCsr (or CreateKeysAndCertificate with method = "create_keys") and
// RegisterThing with the template. Its result is a certificate registered for this gateway's
// thing; what happens to it next (store, promote, prove) is the plugin's business, so a restart
// can resume there without this exchange.
//
// Every failure is one sentence that says which step failed and what to check; the plugin keeps
// the current certificate and retries (a refusal of RegisterThing on a slower backoff). Runs on the loop
// thread, like ClaimSession.
#pragma once

#include "claim_session.hpp"
#include "provisioning_messages.hpp"

#include <iotgw/sdk.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace iotgw::plugins::fleet_provisioning {

struct ClaimExchangeSettings {
    std::string endpoint;
    int port = 8883;
    std::string alpn;
    std::string client_id;  // never the thing name: that would take over the production connection
    std::string template_name;
    std::vector<std::pair<std::string, std::string>> parameters;
    bool create_keys = false;                  // CreateKeysAndCertificate instead of CreateCertificateFromCsr
    std::chrono::milliseconds timeout{30000};  // per operation
};

class ClaimExchange {
public:
    // `error` is "" on success; `issued` then holds the certificate (and, with create_keys, its key).
    // `refused`: RegisterThing was refused (is_refusal: the pre-provisioning hook said no, e.g. a
    // locked thing), which the plugin retries on its slower backoff.
    using Done =
        std::function<void(const std::string& error, bool refused, const CreatedCertificate& issued)>;

    ClaimExchange(sdk::Host host, ClaimExchangeSettings settings, const sdk::Credentials& claim);
    ClaimExchange(const ClaimExchange&) = delete;
    ClaimExchange& operator=(const ClaimExchange&) = delete;

    // `csr` is the PEM request ("" with create_keys). `done` runs once, unless close() comes first.
    void run(const std::string& csr, Done done);
    // Disconnects the claim connection; no callback runs afterwards.
    void close() noexcept;

private:
    std::string csr_topic() const;
    std::string provision_topic() const;
    void subscribe_replies(const std::string& csr);
    void request_certificate(const std::string& csr);
    void register_thing(const CreatedCertificate& created);
    void fail(const std::string& why, bool refused = false);

    sdk::Host host_;
    const ClaimExchangeSettings settings_;
    const std::string claim_cert_;  // for the log
    Done done_;
    std::unique_ptr<ClaimSession> session_;
};

}  // namespace iotgw::plugins::fleet_provisioning
