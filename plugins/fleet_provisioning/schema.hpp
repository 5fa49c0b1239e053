// Config schema of the `fleet_provisioning` source.
#pragma once

#include <iotgw/sdk.hpp>

namespace iotgw::plugins::fleet_provisioning {

using iotgw::sdk::Field;

inline constexpr iotgw_config_field kFields[] = {
    Field::ref("credentials", IOTGW_KIND_CREDENTIALS,
               "The production credentials: renewed on the device (their plugin must support renewal, "
               "e.g. `file` with await_provisioning = true for first boot).")
        .required(),
    Field::ref("claim_credentials", IOTGW_KIND_CREDENTIALS,
               "The claim credentials, used only to provision and renew (policy cloud/policies/claim.json).")
        .required(),
    Field::ref("connection", IOTGW_KIND_CONNECTION,
               "The production connection (an `mqtt` instance using `credentials`): its link event proves "
               "a new certificate, and the rotation report goes out through it.")
        .required(),
    Field::string("endpoint",
                  "Broker host name for the claim connection (the production connection's endpoint).")
        .required(),
    Field::integer("port", "Broker TCP port for the claim connection.")
        .with_default("8883")
        .at_least(1)
        .at_most(65535),
    Field::string(
        "alpn", "ALPN protocol for the claim connection; empty: none, except \"x-amzn-mqtt-ca\" on port 443.")
        .with_default("\"\""),
    Field::string("client_id",
                  "Client id of the claim connection (the claim policy allows `claim-*`); never the "
                  "thing name, which would take over the production connection.")
        .with_default("\"claim-${thing}\""),
    Field::string("template", "Fleet provisioning template name ([0-9A-Za-z_-]{1,36}).")
        .with_default("\"amr\""),
    Field::map("parameters", "Template parameters sent with RegisterThing.")
        .with_default("{SerialNumber = \"${thing}\"}"),
    Field::string("subject", "Common name in the CSR (AWS keeps the CSR's subject).")
        .with_default("\"${thing}\""),
    Field::number("rotate_at", "Rotate once this share of the certificate's lifetime has passed.")
        .with_default("0.8")
        .at_least(0.0)
        .at_most(1.0),
    Field::duration("rotate_before", "Rotate at the latest this long before expiry.")
        .with_default("\"30d\"")
        .at_least(0),
    Field::duration("jitter", "Random extra delay before a rotation starts (spreads a fleet).")
        .with_default("\"6h\"")
        .at_least(0),
    Field::duration("retry_min", "First delay after a failed attempt (exponential backoff, full jitter).")
        .with_default("\"1m\"")
        .at_least(100),
    Field::duration("retry_max", "Upper bound of the retry delay.").with_default("\"6h\"").at_least(100),
    Field::duration("refused_retry_min",
                    "First delay after RegisterThing was refused (403 / AccessDenied: the pre-provisioning "
                    "hook said no, e.g. a locked thing); doubles per refusal, full jitter.")
        .with_default("\"1m\"")
        .at_least(100),
    Field::duration("refused_retry_max",
                    "Upper bound of the delay after refusals: a lock is lifted only by an operator, so no "
                    "retry storm; a success resets it.")
        .with_default("\"6h\"")
        .at_least(100),
    Field::string("claim_scope",
                  "\"device\": the claim certificate names this device (its subject CN is the thing name; "
                  "checked at start, and provisioning refuses to start when it names another device). "
                  "\"fleet\": a fleet-wide claim certificate, the weaker mode (any device holding it can "
                  "register any serial); warned at every start.")
        .with_default("\"device\"")
        .one_of("device|fleet"),
    Field::duration("request_timeout", "Time allowed for the claim connection and each request's reply.")
        .with_default("\"30s\"")
        .at_least(100),
    Field::duration("prove_timeout",
                    "After a promotion, how long the production connection has to connect with the new "
                    "certificate before the previous one is restored.")
        .with_default("\"1m\"")
        .at_least(100),
    Field::string("method",
                  "How the certificate is made: \"csr\" (CreateCertificateFromCsr: the key is made by the "
                  "credentials provider and never leaves it) or \"create_keys\" (CreateKeysAndCertificate: "
                  "AWS makes the key and sends it over the claim connection; weaker, only for `file` "
                  "credentials, and the claim policy must allow $aws/certificates/create/json).")
        .with_default("\"csr\"")
        .one_of("csr|create_keys"),
    Field::integer("recover_after",
                   "Connects in a row the broker refused (the production connection's link event `refusals`: "
                   "CONNACK not authorized, or closed after CONNECT as AWS does for a revoked or inactive "
                   "certificate; not an unreachable, slow or throttling endpoint) with a certificate this "
                   "gateway checked as valid, after which it gets a new one through the claim certificate; "
                   "0: never.")
        .with_default("3")
        .at_least(0),
    Field::duration(
        "recover_spread",
        "Before such a recovery, a random wait of up to this long (uniform), abandoned if the "
        "connection succeeds meanwhile: a fleet refused at once spreads its provisioning requests "
        "over it (fleet size / the provisioning requests per second the account can take).")
        .with_default("\"1m\"")
        .at_least(0)
        .at_most(86400000),
    Field::duration("clock_wait",
                    "How long to wait for a synchronised clock (kernel NTP state or systemd-timesyncd) "
                    "before judging certificate expiry on an unconfirmed one, with a warning.")
        .with_default("\"5m\"")
        .at_least(0),
    Field::string("clock_sync_file",
                  "File whose existence says the clock is synchronised (systemd-timesyncd's); empty: only "
                  "the kernel's NTP state counts.")
        .with_default("\"/run/systemd/timesync/synchronized\""),
    Field::string("earliest_time",
                  "A wall-clock time before which the clock is certainly wrong (YYYY-MM-DD, UTC); nothing is "
                  "judged, provisioned or rotated while the clock is earlier. Empty: this build's date.")
        .with_default("\"\""),
};

}  // namespace iotgw::plugins::fleet_provisioning
