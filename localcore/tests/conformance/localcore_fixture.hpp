// Conformance harness: a scratch localcore data directory (the `localcore` command), a real
// mosquitto 2.0 with the localcore plugin on a free 127.0.0.1 port, and independent MQTT clients
// (mosquitto_pub / mosquitto_sub processes, the paho-based TestMqttClient, and a paho MQTT 5 probe
// that reports PUBACK / SUBACK reason codes). Every child process is reaped and every wait is
// bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "child_process.hpp"
#include "test_mqtt_client.hpp"
#include "test_support.hpp"

namespace mqtt {
class async_client;
}

namespace localcore::conformance {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using iotgw::test::ChildProcess;
using iotgw::test::TempDir;
using iotgw::test::TestMqttClient;

struct CommandResult {
    int status = -1;     // exit status; -1 when it did not finish in time (it is killed then)
    std::string output;  // stdout and stderr
};

// Runs `args` (args[0] is the program's path) to completion, at most `limit`; the output goes
// through `log`.
CommandResult run_program(const std::vector<std::string>& args, const fs::path& log,
                          std::chrono::milliseconds limit = 30s);

// A client certificate and its key, with the registry's certificate id when it is registered.
struct Identity {
    fs::path cert, key;
    std::string cert_id;
};

enum class Mqtt { v311, v5 };

struct LocalCoreOptions {
    std::string mqtt311_unauthorized = "disconnect";  // mosquitto-conf --mqtt311-unauthorized
    fs::path templates_dir;  // mosquitto-conf --templates; empty: the repository's cloud/provisioning
};

// JSON helpers. parse_json fails the current test (ADD_FAILURE) on bad JSON and returns Null.
rapidjson::Document parse_json(const std::string& text);
std::string json_string(const rapidjson::Value& object, const char* member);  // "" if absent
// The value at a member path (e.g. {"state", "reported", "speed"}), nullptr when a step is missing.
const rapidjson::Value* json_at(const rapidjson::Value& value, std::initializer_list<const char*> path);
// Typed values at a path; nullopt when missing or of another type.
std::optional<std::int64_t> json_int(const rapidjson::Value& value, std::initializer_list<const char*> path);
std::optional<std::string> json_str(const rapidjson::Value& value, std::initializer_list<const char*> path);
bool json_has(const rapidjson::Value& value, std::initializer_list<const char*> path);
// A policy allowing Connect as console-*, Subscribe/Receive on $aws/events/*: a wide lifecycle
// event subscriber like the operator console.
extern const char* const kConsolePolicy;

// One mosquitto_sub process started with -d -v: its SUBACK and messages are read from its output.
class Subscriber {
public:
    struct Message {
        std::string topic, payload;
    };
    Subscriber(const std::vector<std::string>& args, fs::path log);
    // Waits for the "Subscribed (mid: N): codes" line (mosquitto_sub -d); returns the codes
    // (e.g. "0" or "135"), or nullopt when none came within `limit`.
    std::optional<std::string> wait_suback(std::chrono::milliseconds limit = 10s);
    std::vector<Message> messages() const;
    std::optional<Message> wait_message(const std::function<bool(const Message&)>& pred,
                                        std::chrono::milliseconds limit = 10s) const;
    std::optional<Message> wait_topic(const std::string& topic, std::chrono::milliseconds limit = 10s) const;
    std::string output() const { return process_.log(); }
    void kill(int sig) { process_.signal(sig); }
    int wait_exit(std::chrono::milliseconds limit) { return process_.wait_exit(limit); }

private:
    ChildProcess process_;
};

// MQTT 5 reason codes exactly as paho reports them (TestMqttClient only says success/failure).
class Mqtt5Probe {
public:
    Mqtt5Probe(const TestMqttClient::Endpoint& endpoint, const std::string& client_id);
    // A TLS WebSocket listener (wss://localhost:PORT/mqtt), reached without a client certificate:
    // the browser console's way in.
    struct WebSocket {
        std::uint16_t port = 0;
        fs::path ca;
    };
    Mqtt5Probe(const WebSocket& listener, const std::string& client_id);
    ~Mqtt5Probe();
    Mqtt5Probe(const Mqtt5Probe&) = delete;
    Mqtt5Probe& operator=(const Mqtt5Probe&) = delete;
    // Empty string on success, else the error. With the endpoint's client certificate, if any.
    std::string connect();
    // The same with a user name and password in CONNECT (a console token).
    std::string connect(const std::string& user_name, const std::string& password);
    // PUBACK reason code of a QoS 1 PUBLISH; -1 when no PUBACK came within 10 s.
    int publish_qos1(const std::string& topic, const std::string& payload);
    // SUBACK reason code of a one-filter SUBSCRIBE at QoS 1; -1 when none came within 10 s.
    int subscribe(const std::string& filter);
    bool connected() const;

private:
    std::string connect_with(const std::optional<std::pair<std::string, std::string>>& login);

    TestMqttClient::Endpoint endpoint_;
    std::unique_ptr<mqtt::async_client> client_;
};

// The localcore data directory, its broker, and the standard identities:
// things AMR-001 and AMR-002 with one `device` certificate each, a `claim` certificate, and a
// `console` certificate (policy kConsolePolicy).
class LocalCore {
public:
    explicit LocalCore(LocalCoreOptions options = {});
    ~LocalCore();
    LocalCore(const LocalCore&) = delete;
    LocalCore& operator=(const LocalCore&) = delete;

    const fs::path& scratch() const { return dir_.path(); }
    fs::path data_dir() const { return dir_.path() / "data"; }
    fs::path ca() const { return data_dir() / "ca" / "ca.pem"; }
    std::uint16_t port() const { return port_; }

    // `localcore --data DIR args...`: the output, or a thrown std::runtime_error with it.
    std::string cli(const std::vector<std::string>& args);
    CommandResult cli_result(const std::vector<std::string>& args);
    Identity issue_cert(const std::string& thing, const std::string& policy = "device",
                        const std::string& status = "ACTIVE");
    // A certificate attached to no thing, with `policy` and subject CN `cn`: `issue-claim-cert
    // --fleet-wide` (the weaker mode's command, also the way to make a console or test identity).
    Identity issue_claim_cert(const std::string& policy = "claim", const std::string& cn = "localcore-claim");
    // `thing`'s own claim certificate (`issue-claim-cert --thing`: CN = thing, policy claim), issued
    // on first use and then the same for the fixture's lifetime. It connects only as claim-<thing>.
    const Identity& claim_for(const std::string& thing);
    void put_policy(const std::string& name, const std::string& json);
    // `describe cert ID`'s status line ("ACTIVE", ...), "" when it is not registered.
    std::string cert_status(const std::string& cert_id);
    // A fresh path prefix in the scratch directory (for keys, CSRs, logs).
    fs::path fresh_path(const std::string& stem);

    // Jobs as an operator makes and reads them: `create-job` with `document` (JSON text) as the
    // job document, and `describe-job` until the execution's status is `status` (its output), or
    // nullopt after `limit`, with a test failure that shows the last output.
    void create_job(const std::string& thing, const std::string& job_id, const std::string& document);
    std::optional<std::string> wait_job_status(const std::string& thing, const std::string& job_id,
                                               const std::string& status, std::chrono::milliseconds limit = 20s);

    // A loopback HTTPS server for the files of `dir` (the download tests' server, with its
    // faults: plugins/common/https/tests/process/https_test_server.py), its certificate from this
    // localcore's CA, so a client trusting ca() verifies it. Empty base_url (and a test failure
    // with its log) when it does not start.
    struct FileServer {
        std::unique_ptr<ChildProcess> process;
        std::string base_url;  // "https://127.0.0.1:<port>"
    };
    FileServer start_file_server(const fs::path& dir);

    // The broker. start_broker writes the conf (mosquitto-conf output + log settings) the first
    // time and reuses it, so a restart keeps the port and the persistence directory.
    void start_broker();
    void stop_broker();  // SIGTERM (mosquitto saves persistence), bounded wait, then SIGKILL
    void restart_broker();
    // Sets `plugin_opt_<key> <value>` in the broker's conf (replacing an earlier value of that key),
    // e.g. ("device_cert_lifetime", "10m"); the broker reads it at its next start (restart_broker).
    void set_plugin_option(const std::string& key, const std::string& value);
    std::string broker_log() const;  // every run's log, oldest first
    bool wait_broker_log(const std::string& needle, std::chrono::milliseconds limit = 5s,
                         std::size_t times = 1) const;

    // Clients.
    TestMqttClient::Endpoint endpoint(const Identity& identity) const;
    std::unique_ptr<TestMqttClient> client(const Identity& identity, const std::string& client_id,
                                           Mqtt version = Mqtt::v311) const;
    // A connected client; fails the test (and returns nullptr) when it cannot connect.
    std::unique_ptr<TestMqttClient> connect(const Identity& identity, const std::string& client_id,
                                            Mqtt version = Mqtt::v311) const;
    std::unique_ptr<Mqtt5Probe> probe(const Identity& identity, const std::string& client_id) const;
    // mosquitto_pub / mosquitto_sub argument lists up to and including the client options.
    std::vector<std::string> client_args(const char* program, const Identity& identity,
                                         const std::string& client_id, Mqtt version) const;
    // mosquitto_pub -d ... -t topic -m message -q qos [extra]: bounded.
    CommandResult pub(const Identity& identity, const std::string& client_id, const std::string& topic,
                      const std::string& message, int qos = 1, Mqtt version = Mqtt::v311,
                      const std::vector<std::string>& extra = {});
    // mosquitto_sub -d -v -t each filter -W seconds [-C count]; waits for its SUBACK (a failure
    // if none came).
    std::unique_ptr<Subscriber> sub(const Identity& identity, const std::string& client_id,
                                    const std::vector<std::string>& filters, int seconds = 10, int count = 0,
                                    Mqtt version = Mqtt::v311);

    // claim is AMR-001's own claim certificate (claim_for("AMR-001")).
    Identity amr1, amr2, claim, console;

private:
    void write_conf();
    bool wait_listening(ChildProcess& broker, const fs::path& log);

    TempDir dir_;
    LocalCoreOptions options_;
    std::uint16_t port_ = 0;
    int counter_ = 0;
    std::vector<fs::path> broker_logs_;
    std::map<std::string, Identity> claims_;  // claim_for's certificates by thing
    std::unique_ptr<ChildProcess> broker_;
};

// Gtest fixture: a LocalCore with its broker running.
class LocalCoreTest : public ::testing::Test {
protected:
    void SetUp() override;
    std::unique_ptr<LocalCore> lc;
};

}  // namespace localcore::conformance
