#include <iotgw/core/diagnostics.hpp>

#include <utility>

namespace iotgw::core {

std::string SourcePos::str() const {
    std::string out = file;
    // A line without a file still helps ("12:5"), but a column without a line does not.
    if (line > 0) {
        if (!out.empty()) out += ':';
        out += std::to_string(line);
        if (column > 0) out += ':' + std::to_string(column);
    }
    return out;
}

std::string Diagnostic::str() const {
    std::string out = where.str();
    if (!out.empty()) out += ": ";
    out += severity == Severity::error ? "error: " : "warning: ";
    out += message;
    return out;
}

void Diagnostics::error(SourcePos where, std::string message) {
    items_.push_back({Severity::error, std::move(where), std::move(message)});
    ++errors_;
}

void Diagnostics::warning(SourcePos where, std::string message) {
    items_.push_back({Severity::warning, std::move(where), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
    errors_ += other.errors_;
}

}  // namespace iotgw::core
