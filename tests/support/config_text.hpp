// The TOML of a gateway config, built table by table, for tests that need a config but are not
// about its syntax: a test names only its instances and pipelines. The text follows the calls in
// order, one line per key, starting with an empty line and the [gateway] table on line 2 (as a
// raw string literal that opens with a line break does), so a diagnostic's line number can be read
// off the calls. Tests of the config loader itself write their TOML by hand.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace iotgw::test {

class ConfigText {
public:
    // [gateway] with thing = `thing`.
    explicit ConfigText(const std::string& thing = "AMR-001");

    // [sources.<name>] type = "<type>", then `fields` (TOML lines, "" for none).
    ConfigText& source(const std::string& name, const std::string& type, const std::string& fields = "");
    ConfigText& processor(const std::string& name, const std::string& type, const std::string& fields = "");
    ConfigText& sink(const std::string& name, const std::string& type, const std::string& fields = "");
    ConfigText& connection(const std::string& name, const std::string& type, const std::string& fields = "");
    ConfigText& credentials(const std::string& name, const std::string& type, const std::string& fields = "");
    // [[pipelines]] from `from` through `via` (left out when empty) to `to`.
    ConfigText& pipeline(const std::string& name, const std::string& from, const std::vector<std::string>& to,
                         const std::vector<std::string>& via = {});
    // The device's file credentials "device" (`cert`, `key`, trusting `ca`) and the MQTT connection
    // "cloud" with them to a broker on localhost:`port`, reconnecting within 100-500 ms: how the
    // end-to-end tests connect the gateway. `mqtt_fields` adds to the connection.
    ConfigText& device_link(const std::filesystem::path& cert, const std::filesystem::path& key,
                            const std::filesystem::path& ca, int port, const std::string& mqtt_fields = "");
    // The `jobs` processor "jobs" (its `fields`: handlers, journal, ...) wired to the connection
    // "cloud" as plugins/jobs/sample.toml wires it: notify-next through it to the connection, the
    // replies to start-next, update and get ending at it.
    ConfigText& jobs(const std::string& fields);
    // TOML written as is (e.g. a table the builder has no call for).
    ConfigText& raw(const std::string& toml);

    const std::string& text() const noexcept { return text_; }
    operator const std::string&() const noexcept { return text_; }

private:
    ConfigText& table(const std::string& section, const std::string& name, const std::string& type,
                      const std::string& fields);

    std::string text_;
};

}  // namespace iotgw::test
