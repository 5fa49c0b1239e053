// Errors and warnings found while loading a config or plugins, each with where it was found.
// Everything that validates collects into one Diagnostics so `iotgw check` lists all problems
// at once instead of making the operator fix them one run at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iotgw::core {

struct SourcePos {
    std::string file;   // empty if not from a file
    uint32_t line = 0;  // 1-based; 0 unknown
    uint32_t column = 0;

    // "file:line:column", "file:line", "file" or "" — the prefix of a diagnostic.
    std::string str() const;
};

enum class Severity { error, warning };

struct Diagnostic {
    Severity severity = Severity::error;
    SourcePos where;
    std::string message;

    // "configs/x.toml:12:5: error: message"
    std::string str() const;
};

class Diagnostics {
public:
    void error(SourcePos where, std::string message);
    void warning(SourcePos where, std::string message);
    void append(const Diagnostics& other);

    bool has_errors() const noexcept { return errors_ > 0; }
    std::size_t error_count() const noexcept { return errors_; }
    std::size_t warning_count() const noexcept { return items_.size() - errors_; }
    const std::vector<Diagnostic>& items() const noexcept { return items_; }
    bool empty() const noexcept { return items_.empty(); }

private:
    std::vector<Diagnostic> items_;
    std::size_t errors_ = 0;
};

}  // namespace iotgw::core
