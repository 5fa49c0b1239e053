#include "cli.hpp"
#include "time_text.hpp"

namespace localcore::cli {

std::optional<std::string> Args::option(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
}

std::string Args::option_or(const std::string& name, const std::string& fallback) const {
    return option(name).value_or(fallback);
}

std::string Args::required_option(const std::string& name) const {
    auto v = option(name);
    if (!v || v->empty()) throw UsageError(command + " needs " + name + "; see `localcore --help`");
    return *v;
}

void Args::expect_positional(std::size_t count, const std::string& usage) const {
    if (positional.size() != count)
        throw UsageError(command + " takes " + std::to_string(count) + " argument" + (count == 1 ? "" : "s") +
                         ", got " + std::to_string(positional.size()) + "; usage: localcore " + usage);
}

void Args::allow_options(const std::set<std::string>& allowed) const {
    for (const auto& [name, _] : options)
        if (!allowed.count(name))
            throw UsageError("unknown option " + name + " for " + command + "; see `localcore --help`");
}

std::filesystem::path Args::data() const {
    if (!data_dir || data_dir->empty())
        throw UsageError("no data directory given; pass --data DIR before the command or set LOCALCORE_DATA");
    return *data_dir;
}

std::string format_time(long long epoch_seconds) { return utc_iso8601(epoch_seconds); }

}  // namespace localcore::cli
