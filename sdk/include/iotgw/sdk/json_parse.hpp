// Parsing JSON that comes from outside (MQTT payloads, files an operator edits) into a RapidJSON
// DOM without letting the input choose how deep the call stack goes.
//
// RapidJSON's default parser recurses once per nesting level: a 128 KB MQTT payload of "[[[[..."
// is ~131,000 levels and overflows the stack (debug and ASan builds first), taking the whole
// process down with it. parse_json() parses iteratively (kParseIterativeFlag: the parser keeps
// its state on the heap), validates UTF-8 inside strings, refuses a raw NUL byte (RapidJSON would
// silently stop reading there) and stops at the first container nested deeper than `max_depth`,
// so every DOM it returns is shallow enough for RapidJSON's recursive walks (copy, compare,
// Writer/Accept) and for the caller's own.
//
// Numbers are converted here, not by RapidJSON: its default conversion is off by one unit in the
// last place for many ordinary values (458.12455122160236 becomes 458.12455122160242), so a
// position written to a shadow came back changed, and its full-precision mode reaches undefined
// behaviour in RapidJSON 1.1 (a clz of 0 in diyfp.h, found by our fuzzers). The reader hands the
// number's text over (kParseNumbersAsStringsFlag) and std::from_chars converts it, correctly
// rounded, into the same kinds RapidJSON would choose (an integer when it fits 64 bits).
//
// Use it for every payload a plugin receives, into a document sized for one message
// (<iotgw/sdk/json_document.hpp> says why):
//   iotgw::sdk::MessageDocument doc;
//   if (auto r = iotgw::sdk::parse_json(doc, payload); !r) return refuse(r.message);
//
// Header-only; needs RapidJSON's headers (Debian: rapidjson-dev), which the CMake target
// iotgw::json provides (find_package(iotgw-sdk COMPONENTS json)). Not included by <iotgw/sdk.hpp>,
// so plugins that never parse JSON do not need RapidJSON.
#pragma once

#include <iotgw/sdk/json_document.hpp>

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <clocale>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <locale.h>
#include <string>
#include <system_error>
#include <string_view>
#include <utility>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

// The default nesting limit. The deepest JSON the gateway or localcore legitimately handles is a
// stored shadow's metadata (document, "metadata", "desired", 5 levels, {"timestamp"}: 9 levels;
// AWS caps desired/reported at 6 below "state") and a provisioning template (under 10), so 64
// leaves ample room for other plugins' payloads while any recursive walk of the result stays
// within a few KB of stack.
inline constexpr unsigned kJsonMaxDepth = 64;

// Whether strings must be valid UTF-8. Check it (the default) unless the caller only salvages a
// field from text already known to be refused, e.g. to echo a clientToken in the refusal.
enum class JsonUtf8 { validate, as_is };

enum class JsonError {
    none,
    syntax,    // not JSON (also: empty text, trailing garbage, a number beyond a double's range)
    encoding,  // invalid UTF-8 inside a string
    too_deep,  // a container nested deeper than the limit
    nul_byte,  // a raw NUL byte, which JSON text never contains
};

struct JsonParseResult {
    JsonError error = JsonError::none;
    std::size_t offset = 0;  // byte offset of the problem in the text
    std::string message;     // "" on success, else what and where, e.g. "nesting deeper than 64 at offset 64"

    explicit operator bool() const { return error == JsonError::none; }
};

namespace detail {

// The double `text` (JSON number syntax, already checked by the reader) denotes, correctly
// rounded; false if it is beyond a double's range. A value too small for a double becomes 0 or
// the nearest subnormal, as RapidJSON does.
inline bool json_text_to_double(const char* text, std::size_t n, double& out) {
    const auto r = std::from_chars(text, text + n, out);
    if (r.ec == std::errc{}) return true;
    if (r.ec != std::errc::result_out_of_range) return false;
    // from_chars reports underflow and overflow alike and leaves `out` alone: strtod in the C
    // locale (JSON's '.' whatever the process locale) says which, with the rounded value.
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
    const std::string copy(text, n);
    out = strtod_l(copy.c_str(), nullptr, c_locale);
    return !std::isinf(out);
}

// A JSON number's text as RapidJSON's own conversion would type it: an integer (Int64 when
// negative, Uint64 otherwise) when it has no fraction or exponent and fits 64 bits, else a double.
template <typename Handler>
bool json_number(Handler& h, const char* text, std::size_t n) {
    bool integral = true;
    for (std::size_t i = 0; i < n; ++i)
        if (text[i] == '.' || text[i] == 'e' || text[i] == 'E') integral = false;
    if (integral) {
        if (text[0] == '-') {
            std::int64_t i = 0;
            if (std::from_chars(text, text + n, i).ec == std::errc{}) return h.Int64(i);
        } else {
            std::uint64_t u = 0;
            if (std::from_chars(text, text + n, u).ec == std::errc{}) return h.Uint64(u);
        }
    }
    double d = 0;
    return json_text_to_double(text, n, d) && h.Double(d);
}

// Forwards SAX events to `inner` and refuses the first container that would exceed `max_depth`.
template <typename Handler>
class DepthLimitedHandler {
public:
    DepthLimitedHandler(Handler& inner, unsigned max_depth) : inner_(inner), max_depth_(max_depth) {}

    bool too_deep() const { return too_deep_; }
    bool too_big() const { return too_big_; }

    bool Null() { return inner_.Null(); }
    bool Bool(bool b) { return inner_.Bool(b); }
    bool Int(int i) { return inner_.Int(i); }
    bool Uint(unsigned u) { return inner_.Uint(u); }
    bool Int64(std::int64_t i) { return inner_.Int64(i); }
    bool Uint64(std::uint64_t u) { return inner_.Uint64(u); }
    bool Double(double d) { return inner_.Double(d); }
    // Every number arrives as text (kParseNumbersAsStringsFlag) and is converted here.
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        if (json_number(inner_, s, n)) return true;
        too_big_ = true;  // the only way a number the reader accepted can fail (or the inner handler)
        return false;
    }
    bool String(const char* s, rapidjson::SizeType n, bool copy) { return inner_.String(s, n, copy); }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) { return inner_.Key(s, n, copy); }
    bool StartObject() { return enter() && inner_.StartObject(); }
    bool EndObject(rapidjson::SizeType members) {
        --depth_;
        return inner_.EndObject(members);
    }
    bool StartArray() { return enter() && inner_.StartArray(); }
    bool EndArray(rapidjson::SizeType elements) {
        --depth_;
        return inner_.EndArray(elements);
    }

private:
    bool enter() {
        if (depth_ >= max_depth_) {
            too_deep_ = true;
            return false;  // the reader stops with kParseErrorTermination at this bracket
        }
        ++depth_;
        return true;
    }

    Handler& inner_;
    unsigned max_depth_;
    unsigned depth_ = 0;
    bool too_deep_ = false;
    bool too_big_ = false;
};

inline JsonParseResult json_failure(JsonError error, std::size_t offset, std::string what) {
    return {error, offset, std::move(what) + " at offset " + std::to_string(offset)};
}

}  // namespace detail

// Parses `text` into `doc`. On failure `doc` is Null and the result says what and where; `doc`'s
// own HasParseError() is not set by this function, so test the result, not the document.
inline JsonParseResult parse_json(rapidjson::Document& doc, std::string_view text,
                                  unsigned max_depth = kJsonMaxDepth, JsonUtf8 utf8 = JsonUtf8::validate) {
    doc.SetNull();
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
        return detail::json_failure(JsonError::nul_byte, nul, "NUL byte");

    rapidjson::MemoryStream memory(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(memory);
    rapidjson::Reader reader;
    rapidjson::ParseResult parsed;
    bool too_deep = false;
    bool too_big = false;
    auto generator = [&](rapidjson::Document& sink) {
        detail::DepthLimitedHandler<rapidjson::Document> limited(sink, max_depth);
        constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;
        parsed = utf8 == JsonUtf8::validate
                     ? reader.Parse<kFlags | rapidjson::kParseValidateEncodingFlag>(in, limited)
                     : reader.Parse<kFlags>(in, limited);
        too_deep = limited.too_deep();
        too_big = limited.too_big();
        return !parsed.IsError();
    };
    doc.Populate(generator);
    if (!parsed.IsError()) return {};
    doc.SetNull();
    if (too_deep)
        return detail::json_failure(JsonError::too_deep, parsed.Offset(),
                                    "nesting deeper than " + std::to_string(max_depth));
    // RapidJSON's own words for the same refusal, which its reader makes for most such numbers.
    if (too_big) return detail::json_failure(JsonError::syntax, parsed.Offset(), "Number too big to be stored in double");
    std::string what = rapidjson::GetParseError_En(parsed.Code());
    if (!what.empty() && what.back() == '.')
        what.pop_back();  // "Invalid value." -> "Invalid value at offset 0"
    return detail::json_failure(parsed.Code() == rapidjson::kParseErrorStringInvalidEncoding
                                    ? JsonError::encoding
                                    : JsonError::syntax,
                                parsed.Offset(), std::move(what));
}

}  // namespace sdk
}  // namespace iotgw
