#include "localcore_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mqtt/async_client.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace localcore::conformance {
namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";
constexpr const char* kMosquittoPub = "/usr/bin/mosquitto_pub";
constexpr const char* kMosquittoSub = "/usr/bin/mosquitto_sub";
constexpr const char* kStdbuf = "/usr/bin/stdbuf";
constexpr const char* kSetpriv = "/usr/bin/setpriv";
constexpr auto kBrokerReady = 10s;
constexpr auto kBrokerStopGrace = 5s;

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string joined(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
    return out;
}

std::string last_lines(const std::string& text, std::size_t n) {
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t i = 0; i < n; ++i) {
        if (pos == 0) return text;
        const auto nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) return text;
        pos = nl;
    }
    return text.substr(pos + 1);
}

// A port the kernel considers free now; another process may take it before mosquitto binds it,
// so start_broker retries with a new one when mosquitto says "Address already in use".
std::uint16_t pick_free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const int e = errno;
        close(fd);
        throw std::runtime_error(std::string("cannot pick a free loopback port: ") + std::strerror(e));
    }
    close(fd);
    return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

std::unique_ptr<mqtt::async_client> make_v5_client(const std::string& uri, const std::string& id) {
    auto opts = mqtt::create_options_builder().mqtt_version(5).finalize();
#if __has_include(<mqtt/event.h>)  // paho.mqtt.cpp >= 1.5: persistence is a variant
    return std::make_unique<mqtt::async_client>(uri, id, opts, mqtt::NO_PERSISTENCE);
#else
    return std::make_unique<mqtt::async_client>(uri, id, opts,
                                                static_cast<mqtt::iclient_persistence*>(nullptr));
#endif
}

}  // namespace

const char* const kConsolePolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["arn:aws:iot:*:*:client/console-*"]},
    {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": ["arn:aws:iot:*:*:topicfilter/$aws/events/*"]},
    {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": ["arn:aws:iot:*:*:topic/$aws/events/*"]}
  ]
})";

CommandResult run_program(const std::vector<std::string>& args, const fs::path& log,
                          std::chrono::milliseconds limit) {
    ChildProcess child(args, log);
    CommandResult result;
    result.status = child.wait_exit(limit);
    if (result.status < 0) {
        child.signal(SIGKILL);
        child.wait_exit(5s);
    }
    result.output = child.log();
    return result;
}

rapidjson::Document parse_json(const std::string& text) {
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    if (doc.HasParseError()) {
        ADD_FAILURE() << "not JSON: " << text;
        doc.SetNull();
    }
    return doc;
}

std::string json_string(const rapidjson::Value& object, const char* member) {
    if (!object.IsObject()) return "";
    const auto it = object.FindMember(member);
    if (it == object.MemberEnd() || !it->value.IsString()) return "";
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

const rapidjson::Value* json_at(const rapidjson::Value& value, std::initializer_list<const char*> path) {
    const rapidjson::Value* at = &value;
    for (const char* member : path) {
        if (!at->IsObject()) return nullptr;
        const auto it = at->FindMember(member);
        if (it == at->MemberEnd()) return nullptr;
        at = &it->value;
    }
    return at;
}

std::optional<std::int64_t> json_int(const rapidjson::Value& value, std::initializer_list<const char*> path) {
    const rapidjson::Value* at = json_at(value, path);
    if (at == nullptr || !at->IsInt64()) return std::nullopt;
    return at->GetInt64();
}

std::optional<std::string> json_str(const rapidjson::Value& value, std::initializer_list<const char*> path) {
    const rapidjson::Value* at = json_at(value, path);
    if (at == nullptr || !at->IsString()) return std::nullopt;
    return std::string(at->GetString(), at->GetStringLength());
}

bool json_has(const rapidjson::Value& value, std::initializer_list<const char*> path) {
    return json_at(value, path) != nullptr;
}

// ---------------------------------------------------------------------------------------------
// Subscriber

Subscriber::Subscriber(const std::vector<std::string>& args, fs::path log) : process_(args, std::move(log)) {}

std::optional<std::string> Subscriber::wait_suback(std::chrono::milliseconds limit) {
    if (!process_.wait_for("Subscribed (mid: ", limit)) return std::nullopt;
    const std::string text = output();
    const auto at = text.find("Subscribed (mid: ");
    const auto colon = text.find("): ", at);
    const auto eol = text.find('\n', colon);
    if (colon == std::string::npos) return std::nullopt;
    return trim(text.substr(colon + 3, eol == std::string::npos ? std::string::npos : eol - colon - 3));
}

std::vector<Subscriber::Message> Subscriber::messages() const {
    // With -d, every message is announced by "Client ID received PUBLISH (..., 'TOPIC', ...)" and
    // then printed by -v as "TOPIC PAYLOAD" on the next line; at QoS 1 the "Client ID sending
    // PUBACK" line may come in between.
    std::vector<Message> out;
    std::istringstream in(output());
    std::string line;
    std::optional<std::string> announced;
    while (std::getline(in, line)) {
        if (line.starts_with("Client ") && line.find(" received PUBLISH (") != std::string::npos) {
            const auto open = line.find(", '");
            const auto close = line.rfind("', ...");
            announced = open == std::string::npos || close == std::string::npos || close < open + 3
                            ? std::nullopt
                            : std::optional<std::string>(line.substr(open + 3, close - open - 3));
            continue;
        }
        if (announced && line.starts_with("Client ") && line.find(" sending PUBACK (") != std::string::npos)
            continue;
        if (announced && line.starts_with(*announced + " ")) {
            out.push_back(Message{*announced, line.substr(announced->size() + 1)});
        } else if (announced && line == *announced) {
            out.push_back(Message{*announced, ""});
        }
        announced.reset();
    }
    return out;
}

std::optional<Subscriber::Message> Subscriber::wait_message(const std::function<bool(const Message&)>& pred,
                                                            std::chrono::milliseconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        for (const auto& m : messages())
            if (pred(m)) return m;
        if (std::chrono::steady_clock::now() >= end) return std::nullopt;
        std::this_thread::sleep_for(20ms);
    }
}

std::optional<Subscriber::Message> Subscriber::wait_topic(const std::string& topic,
                                                          std::chrono::milliseconds limit) const {
    return wait_message([&](const Message& m) { return m.topic == topic; }, limit);
}

// ---------------------------------------------------------------------------------------------
// Mqtt5Probe

Mqtt5Probe::Mqtt5Probe(const TestMqttClient::Endpoint& endpoint, const std::string& client_id)
    : endpoint_(endpoint),
      client_(make_v5_client("ssl://" + endpoint.host + ":" + std::to_string(endpoint.port), client_id)) {}

Mqtt5Probe::Mqtt5Probe(const WebSocket& listener, const std::string& client_id)
    : endpoint_{"localhost", listener.port, listener.ca, {}, {}},
      client_(make_v5_client("wss://localhost:" + std::to_string(listener.port) + "/mqtt", client_id)) {}

Mqtt5Probe::~Mqtt5Probe() {
    try {
        if (client_->is_connected()) client_->disconnect()->wait_for(2s);
    } catch (...) {
        // Best effort: the broker may have closed the connection already.
    }
}

std::string Mqtt5Probe::connect() { return connect_with(std::nullopt); }

std::string Mqtt5Probe::connect(const std::string& user_name, const std::string& password) {
    return connect_with(std::pair{user_name, password});
}

std::string Mqtt5Probe::connect_with(const std::optional<std::pair<std::string, std::string>>& login) {
    mqtt::ssl_options_builder ssl;
    ssl.trust_store(endpoint_.ca.string()).verify(true);
    if (!endpoint_.cert.empty()) ssl.key_store(endpoint_.cert.string()).private_key(endpoint_.key.string());
    mqtt::connect_options_builder builder;
    builder.mqtt_version(5);
    builder.clean_start(true);
    if (login) builder.user_name(login->first).password(login->second);
    builder.connect_timeout(5s).keep_alive_interval(30s).ssl(ssl.finalize());
    const auto options = builder.finalize();
    // As in TestMqttClient: paho sometimes fails a connect under load with a bare failure (-1)
    // although nothing refused it; a refusal fails every attempt the same way.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
        try {
            if (!client_->connect(options)->wait_for(5s)) return "no CONNACK within 5 s";
            return "";
        } catch (const mqtt::exception& e) {
            if (e.get_return_code() != -1 || std::chrono::steady_clock::now() + 500ms > deadline)
                return e.what();
        }
    }
}

int Mqtt5Probe::publish_qos1(const std::string& topic, const std::string& payload) {
    try {
        auto tok = client_->publish(topic, payload.data(), payload.size(), 1, false);
        if (!tok->wait_for(10s)) return -1;
        return tok->get_reason_code();
    } catch (const mqtt::exception& e) {
        return e.get_reason_code();
    }
}

int Mqtt5Probe::subscribe(const std::string& filter) {
    try {
        auto tok = client_->subscribe(filter, 1);
        if (!tok->wait_for(10s)) return -1;
        const auto codes = tok->get_subscribe_response().get_reason_codes();
        return codes.empty() ? tok->get_reason_code() : codes.front();
    } catch (const mqtt::exception& e) {
        return e.get_reason_code();
    }
}

bool Mqtt5Probe::connected() const { return client_->is_connected(); }

// ---------------------------------------------------------------------------------------------
// LocalCore

LocalCore::LocalCore(LocalCoreOptions options) : options_(std::move(options)) {
    cli({"init", "--policies", (fs::path(LOCALCORE_SOURCE_DIR) / "cloud" / "policies").string()});
    put_policy("console", kConsolePolicy);
    cli({"create-thing", "AMR-001"});
    cli({"create-thing", "AMR-002"});
    amr1 = issue_cert("AMR-001");
    amr2 = issue_cert("AMR-002");
    claim = claim_for("AMR-001");
    console = issue_claim_cert("console", "console");
}

LocalCore::~LocalCore() {
    try {
        stop_broker();
    } catch (...) {
        // ChildProcess's destructor still SIGKILLs and reaps it.
    }
}

LocalCore::FileServer LocalCore::start_file_server(const fs::path& dir) {
    FileServer s;
    s.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/python3", HTTPS_TEST_SERVER, "--dir", dir.string(), "--cert",
                                 (data_dir() / "ca" / "server.pem").string(), "--key",
                                 (data_dir() / "ca" / "server.key").string()},
        fresh_path("https-server") += ".log");
    if (!s.process->wait_for("port ", 10s)) {
        ADD_FAILURE() << "the HTTPS file server did not start: " << s.process->log();
        return s;
    }
    std::smatch m;
    const std::string log = s.process->log();
    if (std::regex_search(log, m, std::regex("port (\\d+)")))
        s.base_url = "https://127.0.0.1:" + m[1].str();
    else
        ADD_FAILURE() << "no port in the HTTPS file server's output: " << log;
    return s;
}

fs::path LocalCore::fresh_path(const std::string& stem) {
    return dir_.path() / (stem + "-" + std::to_string(++counter_));
}

CommandResult LocalCore::cli_result(const std::vector<std::string>& args) {
    std::vector<std::string> full{LOCALCORE_BINARY, "--data", data_dir().string()};
    full.insert(full.end(), args.begin(), args.end());
    return run_program(full, fresh_path("cli") += ".log");
}

std::string LocalCore::cli(const std::vector<std::string>& args) {
    const CommandResult r = cli_result(args);
    if (r.status != 0)
        throw std::runtime_error("localcore " + joined(args) + " failed (status " + std::to_string(r.status) +
                                 "):\n" + r.output);
    return r.output;
}

void LocalCore::create_job(const std::string& thing, const std::string& job_id, const std::string& document) {
    const fs::path file = fresh_path("job") += ".json";
    {
        std::ofstream out(file);
        out << document;
    }
    cli({"create-job", "--thing", thing, "--document", file.string(), "--job-id", job_id});
}

std::optional<std::string> LocalCore::wait_job_status(const std::string& thing, const std::string& job_id,
                                                      const std::string& status, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string last;
    do {
        last = cli({"describe-job", "--thing", thing, "--job-id", job_id});
        if (last.find("\"status\":\"" + status + "\"") != std::string::npos) return last;
        std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "job " << job_id << " of " << thing << " is not " << status << ": " << last;
    return std::nullopt;
}

Identity LocalCore::issue_cert(const std::string& thing, const std::string& policy,
                               const std::string& status) {
    const fs::path prefix = fresh_path(thing);
    const std::string id = trim(cli(
        {"issue-cert", "--thing", thing, "--out", prefix.string(), "--policy", policy, "--status", status}));
    return Identity{fs::path(prefix) += ".pem", fs::path(prefix) += ".key", id};
}

Identity LocalCore::issue_claim_cert(const std::string& policy, const std::string& cn) {
    const fs::path prefix = fresh_path(cn);
    // The output ends with the id; the fleet-wide mode's warning comes before it.
    const std::string out = trim(
        cli({"issue-claim-cert", "--fleet-wide", "--out", prefix.string(), "--policy", policy, "--cn", cn}));
    const std::string id = out.substr(out.find_last_of('\n') + 1);
    return Identity{fs::path(prefix) += ".pem", fs::path(prefix) += ".key", id};
}

const Identity& LocalCore::claim_for(const std::string& thing) {
    if (const auto it = claims_.find(thing); it != claims_.end()) return it->second;
    const fs::path prefix = fresh_path(thing + "-claim");
    const std::string id = trim(cli({"issue-claim-cert", "--thing", thing, "--out", prefix.string()}));
    return claims_.emplace(thing, Identity{fs::path(prefix) += ".pem", fs::path(prefix) += ".key", id})
        .first->second;
}

void LocalCore::put_policy(const std::string& name, const std::string& json) {
    const fs::path file = fresh_path("policy-" + name) += ".json";
    std::ofstream(file) << json;
    cli({"put-policy", name, file.string()});
}

std::string LocalCore::cert_status(const std::string& cert_id) {
    const CommandResult r = cli_result({"describe", "cert", cert_id});
    if (r.status != 0) return "";
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("status: ")) return trim(line.substr(8));
    return "";
}

void LocalCore::write_conf() {
    std::vector<std::string> args{"mosquitto-conf", "--port", std::to_string(port_), "--plugin",
                                  LOCALCORE_PLUGIN, "--mqtt311-unauthorized", options_.mqtt311_unauthorized};
    if (!options_.templates_dir.empty())
        args.insert(args.end(), {"--templates", options_.templates_dir.string()});
    std::string conf = cli(args);
    // Everything to stderr (the child's log file), including every packet: it is the diagnosis.
    conf += "log_dest stderr\nlog_type all\n";
    std::ofstream out(dir_.path() / "mosquitto.conf", std::ios::trunc);
    out << conf;
    if (!out) throw std::runtime_error("cannot write " + (dir_.path() / "mosquitto.conf").string());
}

bool LocalCore::wait_listening(ChildProcess& broker, const fs::path& log) {
    const auto deadline = std::chrono::steady_clock::now() + kBrokerReady;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!broker.running()) return false;
        // "running" is logged after every listener is bound: with an accepted connection it
        // proves the port is this mosquitto's.
        if (read_text(log).find(" running") != std::string::npos && port_accepts(port_)) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

void LocalCore::start_broker() {
    if (broker_ && broker_->running()) return;
    const bool first = port_ == 0;
    for (int attempt = 1;; ++attempt) {
        if (first) {
            port_ = pick_free_port();
            write_conf();
        }
        const fs::path log = fresh_path("mosquitto") += ".log";
        broker_logs_.push_back(log);
        std::vector<std::string> command{kMosquitto, "-c", (dir_.path() / "mosquitto.conf").string()};
        // If this test process crashes, its broker must not outlive it: setpriv sets the parent-death
        // signal and execs mosquitto (same pid, so stop_broker's signals reach mosquitto).
        if (fs::exists(kSetpriv)) command.insert(command.begin(), {kSetpriv, "--pdeathsig", "KILL"});
        broker_ = std::make_unique<ChildProcess>(command, log);
        if (wait_listening(*broker_, log)) return;
        broker_->signal(SIGKILL);
        broker_->wait_exit(5s);
        const std::string why = read_text(log);
        broker_.reset();
        if (first && attempt < 5 && why.find("Address already in use") != std::string::npos) continue;
        throw std::runtime_error("mosquitto did not start listening on 127.0.0.1:" + std::to_string(port_) +
                                 " within 10 s; conf:\n" + read_text(dir_.path() / "mosquitto.conf") +
                                 "--- log:\n" + last_lines(why, 30));
    }
}

void LocalCore::stop_broker() {
    if (!broker_) return;
    if (broker_->running()) {
        broker_->signal(SIGTERM);
        if (broker_->wait_exit(kBrokerStopGrace) < 0) {
            broker_->signal(SIGKILL);
            broker_->wait_exit(5s);
        }
    }
    broker_.reset();
}

void LocalCore::restart_broker() {
    stop_broker();
    start_broker();
}

void LocalCore::set_plugin_option(const std::string& key, const std::string& value) {
    const fs::path file = dir_.path() / "mosquitto.conf";
    std::istringstream in(read_text(file));
    std::string conf;
    bool placed = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("plugin_opt_" + key + " ")) continue;
        conf += line + "\n";
        // Right after the plugin's first option, so the option belongs to the localcore plugin
        // whatever the conf says after it.
        if (!placed && line.starts_with("plugin_opt_data_dir ")) {
            conf += "plugin_opt_" + key + " " + value + "\n";
            placed = true;
        }
    }
    if (!placed)
        throw std::runtime_error(file.string() + " has no plugin_opt_data_dir line to put plugin_opt_" + key +
                                 " after");
    std::ofstream out(file, std::ios::trunc);
    out << conf;
    if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::string LocalCore::broker_log() const {
    std::string out;
    for (const auto& log : broker_logs_) out += read_text(log);
    return out;
}

bool LocalCore::wait_broker_log(const std::string& needle, std::chrono::milliseconds limit,
                                std::size_t times) const {
    const auto count = [&] {
        const std::string text = broker_log();
        std::size_t n = 0;
        for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
        return n;
    };
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (count() >= times) return true;
        std::this_thread::sleep_for(20ms);
    }
    return count() >= times;
}

TestMqttClient::Endpoint LocalCore::endpoint(const Identity& identity) const {
    return TestMqttClient::Endpoint{"localhost", port_, ca(), identity.cert, identity.key};
}

std::unique_ptr<TestMqttClient> LocalCore::client(const Identity& identity, const std::string& client_id,
                                                  Mqtt version) const {
    return std::make_unique<TestMqttClient>(endpoint(identity), client_id, version == Mqtt::v5 ? 5 : 4);
}

std::unique_ptr<TestMqttClient> LocalCore::connect(const Identity& identity, const std::string& client_id,
                                                   Mqtt version) const {
    auto c = client(identity, client_id, version);
    if (!c->connect(5s)) {
        ADD_FAILURE() << "client '" << client_id << "' could not connect: " << c->last_error()
                      << "\n--- broker log:\n"
                      << last_lines(broker_log(), 20);
        return nullptr;
    }
    return c;
}

std::unique_ptr<Mqtt5Probe> LocalCore::probe(const Identity& identity, const std::string& client_id) const {
    return std::make_unique<Mqtt5Probe>(endpoint(identity), client_id);
}

std::vector<std::string> LocalCore::client_args(const char* program, const Identity& identity,
                                                const std::string& client_id, Mqtt version) const {
    return {program,
            "--cafile",
            ca().string(),
            "--cert",
            identity.cert.string(),
            "--key",
            identity.key.string(),
            "-h",
            "localhost",
            "-p",
            std::to_string(port_),
            "-i",
            client_id,
            "-V",
            version == Mqtt::v5 ? "mqttv5" : "mqttv311",
            "-d"};
}

CommandResult LocalCore::pub(const Identity& identity, const std::string& client_id, const std::string& topic,
                             const std::string& message, int qos, Mqtt version,
                             const std::vector<std::string>& extra) {
    auto args = client_args(kMosquittoPub, identity, client_id, version);
    for (const std::string& a :
         {std::string("-t"), topic, std::string("-m"), message, std::string("-q"), std::to_string(qos)})
        args.push_back(a);
    args.insert(args.end(), extra.begin(), extra.end());
    return run_program(args, fresh_path("pub-" + client_id) += ".log", 15s);
}

std::unique_ptr<Subscriber> LocalCore::sub(const Identity& identity, const std::string& client_id,
                                           const std::vector<std::string>& filters, int seconds, int count,
                                           Mqtt version) {
    auto args = client_args(kMosquittoSub, identity, client_id, version);
    // mosquitto_sub flushes stdout only after printing a message, so its -d lines (the SUBACK)
    // would sit in the buffer of a redirected stdout: line-buffer it. stdbuf execs the program,
    // so the process id (for kill -9) stays the client's.
    args.insert(args.begin(), {kStdbuf, "-oL"});
    args.push_back("-v");
    for (const auto& f : filters) {
        args.push_back("-t");
        args.push_back(f);
    }
    args.push_back("-W");
    args.push_back(std::to_string(seconds));
    if (count > 0) {
        args.push_back("-C");
        args.push_back(std::to_string(count));
    }
    auto s = std::make_unique<Subscriber>(args, fresh_path("sub-" + client_id) += ".log");
    if (!s->wait_suback(10s))
        ADD_FAILURE() << "mosquitto_sub '" << client_id << "' got no SUBACK:\n"
                      << s->output() << "\n--- broker log:\n"
                      << last_lines(broker_log(), 20);
    return s;
}

void LocalCoreTest::SetUp() {
    lc = std::make_unique<LocalCore>();
    lc->start_broker();
}

}  // namespace localcore::conformance
