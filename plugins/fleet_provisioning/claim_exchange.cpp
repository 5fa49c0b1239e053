#include "claim_exchange.hpp"

#include <iotgw/plugins/common/fault_point.hpp>
#include <iotgw/plugins/common/trust_store.hpp>

#include <exception>

namespace iotgw::plugins::fleet_provisioning {
namespace {

ClaimSettings session_settings(const ClaimExchangeSettings& s, const sdk::Credentials& claim) {
    ClaimSettings out;
    out.server_uri = "ssl://" + s.endpoint + ":" + std::to_string(s.port);
    out.client_id = s.client_id;
    out.tls.trust_store = common::trust_store_or_system(claim.ca_path);
    out.tls.cert_chain = claim.cert_chain_path;
    out.tls.private_key = claim.private_key_path;
    out.tls.alpn = s.alpn;
    out.timeout = s.timeout;
    return out;
}

}  // namespace

ClaimExchange::ClaimExchange(sdk::Host host, ClaimExchangeSettings settings, const sdk::Credentials& claim)
    : host_(host),
      settings_(std::move(settings)),
      claim_cert_(claim.cert_chain_path),
      session_(std::make_unique<ClaimSession>(host, session_settings(settings_, claim))) {}

void ClaimExchange::close() noexcept { session_->close(); }

void ClaimExchange::fail(const std::string& why, bool refused) { done_(why, refused, {}); }

// CreateKeysAndCertificate with `create_keys`, else CreateCertificateFromCsr.
std::string ClaimExchange::csr_topic() const {
    return settings_.create_keys ? "$aws/certificates/create/json" : "$aws/certificates/create-from-csr/json";
}

std::string ClaimExchange::provision_topic() const {
    return "$aws/provisioning-templates/" + settings_.template_name + "/provision/json";
}

void ClaimExchange::run(const std::string& csr, Done done) {
    done_ = std::move(done);
    session_->connect([this, csr](const std::string& error) {
        if (!error.empty()) {
            fail("cannot connect with the claim certificate " + claim_cert_ + " as '" + settings_.client_id +
                 "': " + error +
                 " (under TLS 1.3 a revoked, inactive or unknown claim certificate looks like this; "
                 "check its status in the registry)");
            return;
        }
        subscribe_replies(csr);
    });
}

// AWS sends the replies only to the requesting connection, so they are subscribed first.
void ClaimExchange::subscribe_replies(const std::string& csr) {
    session_->subscribe({csr_topic() + "/accepted", csr_topic() + "/rejected",
                         provision_topic() + "/accepted", provision_topic() + "/rejected"},
                        [this, csr](const std::string& err) {
                            if (!err.empty()) {
                                fail(err);
                                return;
                            }
                            request_certificate(csr);
                        });
}

void ClaimExchange::request_certificate(const std::string& csr) {
    const bool create_keys = settings_.create_keys;
    const std::string api = create_keys ? "CreateKeysAndCertificate" : "CreateCertificateFromCsr";
    session_->request(csr_topic(), create_keys ? std::string("{}") : create_from_csr_request(csr),
                      [this, api, create_keys](const std::string& err, const ClaimSession::Reply& reply) {
                          if (!err.empty()) return fail(api + ": " + err);
                          if (!reply.accepted)
                              return fail(api + " was rejected: " + describe_rejection(reply.payload));
                          CreatedCertificate created;
                          try {
                              created = create_keys ? parse_created_keys(reply.payload)
                                                    : parse_created_certificate(reply.payload);
                          } catch (const std::exception& e) {
                              return fail(e.what());
                          }
                          common::fault_point("fleet.certificate_created");
                          register_thing(created);
                      });
}

// The template must register the certificate for this very thing: the device policy allows the
// production connection no other client id.
void ClaimExchange::register_thing(const CreatedCertificate& created) {
    session_->request(
        provision_topic(), register_thing_request(created.ownership_token, settings_.parameters),
        [this, created](const std::string& err, const ClaimSession::Reply& reply) {
            if (!err.empty()) return fail("RegisterThing: " + err);
            if (!reply.accepted)
                return fail("RegisterThing with template '" + settings_.template_name +
                                "' was rejected: " + describe_rejection(reply.payload),
                            is_refusal(parse_rejection(reply.payload)));
            std::string thing;
            try {
                thing = parse_registered_thing(reply.payload);
            } catch (const std::exception& e) {
                return fail(e.what());
            }
            if (thing != host_.thing())
                return fail("the template registered the certificate for thing '" + thing +
                            "', but this gateway is '" + host_.thing() + "' (check `parameters`)");
            session_->close();
            done_("", false, created);
        });
}

}  // namespace iotgw::plugins::fleet_provisioning
