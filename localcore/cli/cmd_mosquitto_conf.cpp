// mosquitto-conf: the broker configuration that makes mosquitto behave like AWS IoT Core's
// endpoint for this data directory.
#include <cstdio>
#include <iostream>
#include <memory>
#include <regex>

#include <pwd.h>
#include <unistd.h>
#include <sys/stat.h>

#include "atomic_file.hpp"
#include "cli.hpp"

namespace localcore::cli {
namespace {

// mosquitto started as root drops to user `mosquitto`, which cannot read the 0600 server key:
// run it as the owner of the data directory's keys instead.
std::string key_owner(const std::filesystem::path& key) {
    struct stat st {};
    if (::stat(key.c_str(), &st) != 0)
        throw Error("cannot read " + key.string() + "; re-run `localcore init` or check permissions");
    if (const passwd* pw = ::getpwuid(st.st_uid)) return pw->pw_name;
    throw Error("the owner (uid " + std::to_string(st.st_uid) + ") of " + key.string() +
                " has no user name; chown the data directory to a named user");
}

// The plugin installed beside this executable: the installed layout first (bin/ -> the libdir
// chosen at configure time), then the build tree's (bin/ -> lib/localcore/).
std::filesystem::path default_plugin_path() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    const auto bin = exe.parent_path();
    for (const char* relative : {LOCALCORE_PLUGIN_FROM_BINDIR, "../lib/localcore/localcore_mosquitto.so"}) {
        const auto candidate = (bin / relative).lexically_normal();
        if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
    }
    return {};
}

// "2.0.11" from `mosquitto -h` (its first line names the version), or "" when unknown.
std::string installed_mosquitto_version() {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen("/usr/sbin/mosquitto -h 2>&1", "r"), &::pclose);
    if (!pipe) return {};
    char line[256] = {};
    if (std::fgets(line, sizeof line, pipe.get()) == nullptr) return {};
    std::cmatch m;
    if (std::regex_search(line, m, std::regex(R"(version (\d+)\.(\d+)\.(\d+))")))
        return m[1].str() + "." + m[2].str() + "." + m[3].str();
    return {};
}

// mosquitto before 2.0.15 leaks on some plugin paths (a replaced topic in MESSAGE, targeted
// replies the broker drops): say so in the generated file, where an operator reads it.
std::string version_note() {
    const std::string version = installed_mosquitto_version();
    if (version.empty()) return {};
    int major = 0, minor = 0, patch = 0;
    if (std::sscanf(version.c_str(), "%d.%d.%d", &major, &minor, &patch) != 3) return {};
    if (major > 2 || (major == 2 && (minor > 0 || patch >= 15))) return "# mosquitto " + version + "\n";
    return "# mosquitto " + version + ": works, but leaks a little on some plugin paths; prefer 2.0.21\n"
           "# (Debian 13, or bookworm-backports on Debian 12)\n";
}

int parse_port(const std::string& option, const std::string& text) {
    int port = 0;
    try {
        std::size_t used = 0;
        port = std::stoi(text, &used);
        if (used != text.size()) port = 0;
    } catch (const std::exception&) {
        port = 0;
    }
    if (port < 1 || port > 65535)
        throw UsageError("invalid " + option + " '" + text + "'; use a TCP port from 1 to 65535");
    return port;
}

}  // namespace

void cmd_mosquitto_conf(const Args& args) {
    args.allow_options({"--port", "--plugin", "--mqtt311-unauthorized", "--templates", "--websockets"});
    args.expect_positional(
        0,
        "--data DIR mosquitto-conf [--port 8883] [--plugin PATH] "
        "[--mqtt311-unauthorized disconnect|suback_failure] [--templates DIR] [--websockets PORT]");
    const int port = parse_port("--port", args.option_or("--port", "8883"));
    const auto websockets_text = args.option("--websockets");
    const int websockets = websockets_text ? parse_port("--websockets", *websockets_text) : 0;
    if (websockets == port)
        throw UsageError("--websockets must differ from --port (" + std::to_string(port) + ")");
    const auto data = std::filesystem::absolute(args.data()).lexically_normal();
    const auto ca = data / "ca";
    std::error_code ec;
    if (!std::filesystem::exists(ca / "ca.pem", ec))
        throw Error(data.string() + " has no CA; create it with `localcore --data " + data.string() +
                    " init`");

    std::filesystem::path plugin = args.option_or("--plugin", "");
    if (plugin.empty()) plugin = default_plugin_path();
    if (plugin.empty() || !std::filesystem::is_regular_file(plugin, ec))
        throw Error("the localcore mosquitto plugin (localcore_mosquitto.so) was not found" +
                    (plugin.empty() ? std::string() : " at " + plugin.string()) +
                    "; build the target localcore_mosquitto or pass --plugin PATH");
    plugin = std::filesystem::absolute(plugin).lexically_normal();
    const std::filesystem::path templates =
        std::filesystem::absolute(args.option_or("--templates", LOCALCORE_TEMPLATE_DIR)).lexically_normal();
    const std::string denial = args.option_or("--mqtt311-unauthorized", "disconnect");
    if (denial != "disconnect" && denial != "suback_failure")
        throw UsageError("invalid --mqtt311-unauthorized '" + denial + "'; use disconnect or suback_failure");
    std::filesystem::create_directories(data / "mosquitto", ec);

    std::cout << "# mosquitto.conf for localcore data directory " << data.string() << "\n"
              << "# generated by `localcore mosquitto-conf`; run: mosquitto -c THIS_FILE\n"
              << version_note()
              << "per_listener_settings false\n"
              << "user " << key_owner(ca / "server.key") << "\n"
              << "listener " << port << " 127.0.0.1\n"
              << "cafile " << (ca / "ca.pem").string() << "\n"
              << "certfile " << (ca / "server.pem").string() << "\n"
              << "keyfile " << (ca / "server.key").string() << "\n"
              << "require_certificate true\n"
              << "# No use_identity_as_username: with it mosquitto never calls the plugin's BASIC_AUTH,\n"
              << "# which authenticates the certificate against the registry and sets the username.\n"
              << "allow_anonymous false\n"
              << "# Without it every TLS 1.3 CONNACK waits ~40 ms on Nagle.\n"
              << "set_tcp_nodelay true\n"
              << "# AWS IoT Core supports QoS 0 and 1 only; MQTT 5 CONNACK says Maximum QoS 1.\n"
              << "max_qos 1\n"
              << "# AWS: at most 100 unacknowledged QoS 1 messages per direction.\n"
              << "max_inflight_messages 100\n"
              << "# AWS refuses payloads over 128 KB. The plugin checks the payload only once mosquitto has\n"
              << "# read the whole packet; this cap makes mosquitto close a connection as soon as a packet\n"
              << "# header announces more, before buffering it (mosquitto 2.0 applies it to the MQTT\n"
              << "# listeners; its websocket code does not, where the plugin's check stays the limit).\n"
              << "# 140288 = 131072 (128 KiB payload) + 8192 (MQTT 5\n"
              << "# user properties, AWS's limit) + 1024 (fixed header, 2 + 256-byte topic, packet id, the\n"
              << "# other properties). MQTT 5 clients see it as the CONNACK's Maximum Packet Size.\n"
              << "max_packet_size 140288\n"
              << "# AWS: keep-alive 30..1200 s; 0 or more than 1200 becomes 1200. mosquitto 2.0 applies this\n"
              << "# to MQTT 5 clients only (CONNACK Server Keep Alive 1200) and has no lower bound.\n"
              << "max_keepalive 1200\n"
              << "# AWS ends a persistent session that stays disconnected for an hour (the default); MQTT 5\n"
              << "# clients may ask for less with their session expiry interval.\n"
              << "persistent_client_expiration 1h\n"
              << "persistence true\n"
              << "persistence_location " << (data / "mosquitto").string() << "/\n"
              << "plugin " << plugin.string() << "\n"
              << "plugin_opt_data_dir " << data.string() << "\n"
              << "plugin_opt_provisioning_templates " << templates.string() << "\n"
              << "plugin_opt_mqtt311_unauthorized " << denial << "\n";
    if (websockets == 0) return;
    // The browser console's listener (AWS: wss://<endpoint>/mqtt). Browsers cannot practically
    // present a client certificate, so it asks for none: clients authenticate with a console token
    // (`localcore issue-console-token`) as the MQTT password, checked by the plugin, which applies
    // the token's policy to every operation. `lo`, not 127.0.0.1: with an address, mosquitto's
    // websockets listener binds every interface.
    std::cout << "# The browser console: MQTT over WSS, console tokens (`localcore issue-console-token`).\n"
              << "listener " << websockets << " lo\n"
              << "protocol websockets\n"
              << "certfile " << (ca / "server.pem").string() << "\n"
              << "keyfile " << (ca / "server.key").string() << "\n"
              << "require_certificate false\n";
}

}  // namespace localcore::cli
