#include "config_text.hpp"

namespace iotgw::test {
namespace {

// ["a", "b"]
std::string toml_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (const auto& item : items) out += (out.size() > 1 ? ", \"" : "\"") + item + "\"";
    return out + "]";
}

// `fields` as whole lines: a final newline added when missing.
std::string lines(const std::string& fields) {
    return fields.empty() || fields.back() == '\n' ? fields : fields + "\n";
}

}  // namespace

ConfigText::ConfigText(const std::string& thing) : text_("\n[gateway]\nthing = \"" + thing + "\"\n") {}

ConfigText& ConfigText::table(const std::string& section, const std::string& name, const std::string& type,
                              const std::string& fields) {
    text_ += "[" + section + "." + name + "]\ntype = \"" + type + "\"\n" + lines(fields);
    return *this;
}

ConfigText& ConfigText::source(const std::string& name, const std::string& type, const std::string& fields) {
    return table("sources", name, type, fields);
}
ConfigText& ConfigText::processor(const std::string& name, const std::string& type,
                                  const std::string& fields) {
    return table("processors", name, type, fields);
}
ConfigText& ConfigText::sink(const std::string& name, const std::string& type, const std::string& fields) {
    return table("sinks", name, type, fields);
}
ConfigText& ConfigText::connection(const std::string& name, const std::string& type,
                                   const std::string& fields) {
    return table("connections", name, type, fields);
}
ConfigText& ConfigText::credentials(const std::string& name, const std::string& type,
                                    const std::string& fields) {
    return table("credentials", name, type, fields);
}

ConfigText& ConfigText::pipeline(const std::string& name, const std::string& from,
                                 const std::vector<std::string>& to, const std::vector<std::string>& via) {
    text_ += "[[pipelines]]\nname = \"" + name + "\"\nfrom = \"" + from + "\"\n";
    if (!via.empty()) text_ += "via = " + toml_list(via) + "\n";
    text_ += "to = " + toml_list(to) + "\n";
    return *this;
}

ConfigText& ConfigText::jobs(const std::string& fields) {
    return processor("jobs", "jobs", fields)
        .pipeline("jobs", "cloud:$aws/things/${thing}/jobs/notify-next", {"cloud"}, {"jobs"})
        .pipeline("jobs-start-next", "cloud:$aws/things/${thing}/jobs/start-next/+", {"jobs"})
        .pipeline("jobs-update", "cloud:$aws/things/${thing}/jobs/+/update/+", {"jobs"})
        .pipeline("jobs-get", "cloud:$aws/things/${thing}/jobs/+/get/+", {"jobs"});
}

ConfigText& ConfigText::device_link(const std::filesystem::path& cert, const std::filesystem::path& key,
                                    const std::filesystem::path& ca, int port,
                                    const std::string& mqtt_fields) {
    credentials(
        "device", "file",
        "cert = \"" + cert.string() + "\"\nkey = \"" + key.string() + "\"\nca = \"" + ca.string() + "\"");
    return connection(
        "cloud", "mqtt",
        "endpoint = \"localhost\"\nport = " + std::to_string(port) +
            "\ncredentials = \"device\"\nreconnect_min = \"100ms\"\nreconnect_max = \"500ms\"\n" +
            lines(mqtt_fields));
}

ConfigText& ConfigText::raw(const std::string& toml) {
    text_ += lines(toml);
    return *this;
}

}  // namespace iotgw::test
