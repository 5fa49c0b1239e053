// What the fuzz targets share: splitting one input into header lines and a document, and the
// invariant check. Plain text lines rather than FuzzedDataProvider's binary layout, so the seed
// corpus can be real documents from the repository with their context written above them,
// readable and editable by hand, and a reproducer reads as a test case.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace iotgw::fuzz {

class LineReader {
public:
    LineReader(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

    // The next line without its '\n' (the whole remainder when there is no '\n' left).
    std::string_view line() {
        const size_t end = rest_.find('\n');
        const std::string_view out = rest_.substr(0, end);
        rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
        return out;
    }

    // Everything not read yet.
    std::string_view rest() const { return rest_; }

private:
    std::string_view rest_;
};

}  // namespace iotgw::fuzz

// Fails the run at once when an invariant of the code under test breaks: libFuzzer reports the
// abort as a crash and saves the input. Names the invariant, so a finding says what went wrong,
// not only where.
#define IOTGW_FUZZ_CHECK(condition)                                                                  \
    do {                                                                                             \
        if (!(condition)) {                                                                          \
            std::fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                            \
        }                                                                                            \
    } while (0)
