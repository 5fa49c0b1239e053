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
// Use it for every payload a plugin receives:
//   rapidjson::Document doc;
//   if (auto r = iotgw::sdk::parse_json(doc, payload); !r) return refuse(r.message);
//
// Header-only; needs RapidJSON's headers (Debian: rapidjson-dev), which the CMake target
// iotgw::json provides (find_package(iotgw-sdk COMPONENTS json)). Not included by <iotgw/sdk.hpp>,
// so plugins that never parse JSON do not need RapidJSON.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstddef>
#include <cstdint>
#include <string>
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
    syntax,    // not JSON (also: empty text, trailing garbage)
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

// Forwards SAX events to `inner` and refuses the first container that would exceed `max_depth`.
template <typename Handler>
class DepthLimitedHandler {
public:
    DepthLimitedHandler(Handler& inner, unsigned max_depth) : inner_(inner), max_depth_(max_depth) {}

    bool too_deep() const { return too_deep_; }

    bool Null() { return inner_.Null(); }
    bool Bool(bool b) { return inner_.Bool(b); }
    bool Int(int i) { return inner_.Int(i); }
    bool Uint(unsigned u) { return inner_.Uint(u); }
    bool Int64(std::int64_t i) { return inner_.Int64(i); }
    bool Uint64(std::uint64_t u) { return inner_.Uint64(u); }
    bool Double(double d) { return inner_.Double(d); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return inner_.RawNumber(s, n, copy); }
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
    auto generator = [&](rapidjson::Document& sink) {
        detail::DepthLimitedHandler<rapidjson::Document> limited(sink, max_depth);
        constexpr unsigned kIterative = rapidjson::kParseIterativeFlag;
        parsed = utf8 == JsonUtf8::validate
                     ? reader.Parse<kIterative | rapidjson::kParseValidateEncodingFlag>(in, limited)
                     : reader.Parse<kIterative>(in, limited);
        too_deep = limited.too_deep();
        return !parsed.IsError();
    };
    doc.Populate(generator);
    if (!parsed.IsError()) return {};
    doc.SetNull();
    if (too_deep)
        return detail::json_failure(JsonError::too_deep, parsed.Offset(),
                                    "nesting deeper than " + std::to_string(max_depth));
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
