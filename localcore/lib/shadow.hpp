// AWS IoT Device Shadow service as a pure engine: the broker plugin hands it every PUBLISH on a
// shadow request topic and publishes whatever it returns. No broker types and no global state;
// the plugin calls it from mosquitto's single thread, so nothing here locks.
//
// Behaviour follows AWS IoT Core's Device Shadow service (developer guide: device-shadow-mqtt,
// device-shadow-document, device-shadow-data-flow, device-shadow-error-messages). Choices where AWS
// is ambiguous are listed above ShadowService.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "outbound_message.hpp"

namespace localcore {

struct ShadowLimits {
    // desired + reported serialized bytes after the merge (metadata excluded) -> 413.
    std::size_t max_state_bytes = 8192;
    // Nesting levels of desired/reported, the section object itself counting as level 1, so
    // 6 allows 5 levels inside it (AWS: "maximum is 6"). Arrays count as levels like objects.
    int max_depth = 6;
    std::size_t max_client_token_bytes = 64;
    // Whole request payload -> 413 before anything else is looked at.
    std::size_t max_request_bytes = 128 * 1024;
    // AWS quota "Requests per second per thing" (Device Shadow, not adjustable): every get,
    // update and delete of the thing's classic and named shadows counts, from every connection;
    // beyond it -> 429. 0 = unlimited (tests of other behaviour that send bursts).
    unsigned requests_per_second_per_thing = 20;
    // How many things' request rates are remembered at once: memory stays bounded however many
    // thing names clients use (see ShadowRateLimiter).
    std::size_t max_tracked_things = 10000;
};

// Parsed request topic: $aws/things/{thing}/shadow[/name/{shadow}]/{get|update|delete}
struct ShadowRequestTopic {
    enum class Op { get, update, delete_ };
    std::string thing;
    std::string shadow;  // empty = classic shadow
    Op op = Op::get;
    std::string prefix;  // P: $aws/things/{thing}/shadow or $aws/things/{thing}/shadow/name/{shadow}
};

// thingName [a-zA-Z0-9:_-]{1,128}; shadowName [$a-zA-Z0-9:_-]{1,64} (AWS API_GetThingShadow).
bool is_valid_thing_name(std::string_view name);
bool is_valid_shadow_name(std::string_view name);

// nullopt for anything that is not a request topic with valid names, response topics included.
// A named shadow called "$classic" is refused too: that name is the classic shadow's file name.
std::optional<ShadowRequestTopic> parse_shadow_request_topic(std::string_view topic);

// P/{get,update,delete}/{accepted,rejected} and P/update/{delta,documents}. Only the shape is
// checked, not the name rules: the plugin uses this to refuse client publishes, and a wildcard
// subscriber to $aws/things/+/shadow/# would see a spoofed reply even under an invalid name.
bool is_shadow_response_topic(std::string_view topic);

// Building blocks of the service, public so they can be tested on their own.
namespace shadow {

using Value = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

struct Rejection {
    int code;
    std::string message;
};

// Metadata mirroring `value`: a leaf (null included) becomes {"timestamp":T}, an object maps each
// member to its metadata, and an array becomes the array of its elements' metadata (AWS and
// AWS's own local implementation, Greengrass shadow manager, both do this).
Value metadata_for(const Value& value, std::int64_t timestamp, Allocator& alloc);

// Applies a validated update `request_state` (an object with optional desired/reported, or null
// meaning both are removed) to `state` and `metadata`, both objects {desired?, reported?}.
// Objects merge recursively, null deletes a key, arrays and scalars replace the old value. An
// object left empty by the merge is removed (and a section left empty disappears), so stored
// documents never hold empty objects outside arrays.
void merge_state(Value& state, Value& metadata, const Value& request_state, std::int64_t timestamp,
                 Allocator& alloc);

// Every desired leaf that reported lacks or holds with another value, path kept. Arrays and
// scalars compare as whole values (numbers numerically: 1 equals 1.0). Empty object when in sync.
Value compute_delta(const Value& desired, const Value* reported, Allocator& alloc);

// The desired-side metadata of the delta's paths (what AWS sends with /update/delta).
Value delta_metadata(const Value& delta, const Value* desired_metadata, Allocator& alloc);

// Container nesting depth: a scalar is 0, {} or [] is 1, {"a":[1]} is 2. Descends at most
// `limit` + 1 levels, so deep input cannot exhaust the stack; any result above `limit` only
// means "too deep".
int nesting_depth(const Value& value, int limit);

// Path of the first null inside an array (also inside objects within arrays), e.g.
// "desired.colors[1]"; nullopt when there is none. Only call on input within the depth limit.
std::optional<std::string> find_null_in_array(const Value& value, const std::string& path);

std::string to_json(const Value& value);

// Bytes of desired + reported as compact JSON: the quantity AWS limits to 8 KB.
std::size_t state_bytes(const Value& state);

// Decoded request payload. `doc` is Null for an empty get/delete payload.
struct Payload {
    rapidjson::Document doc;
    std::optional<std::string> client_token;  // echoed in every reply when it is a string
    std::optional<Rejection> rejection;
};

// Size (413), encoding (415), JSON syntax and clientToken (400) checks shared by all operations.
// get and delete accept an empty payload and ignore everything but clientToken; update needs a
// JSON object.
Payload parse_payload(std::string_view payload, bool is_update, const ShadowLimits& limits);

struct UpdateRequest {
    std::optional<std::int64_t> version;
    const Value* state = nullptr;  // into Payload::doc; null Value = clear both sections
};

// The update-specific 400s: version, state/desired/reported node types, unknown state nodes,
// nesting depth and nulls in arrays.
std::optional<Rejection> validate_update(const Value& request, const ShadowLimits& limits,
                                         UpdateRequest& out);

bool is_valid_utf8(std::string_view text);

// One shadow as persisted under DIR/shadows/<thing>/<shadow name or "$classic">.json:
//   live:      {"format_version":1,"version":V,"state":{...},"metadata":{...}}
//   tombstone: {"format_version":1,"version":V,"deleted":true}
// The tombstone keeps the version counter, so a shadow re-created after a delete continues the
// numbering as AWS does within 48 h (the emulator never restarts it).
struct Stored {
    enum class Status { absent, deleted, live };
    Status status = Status::absent;
    std::int64_t version = 0;  // 0 when absent
    rapidjson::Document doc;   // live: the parsed file, with "state" and "metadata"; else Null

    Value& state() { return doc["state"]; }
    Value& metadata() { return doc["metadata"]; }
};

class Store {
public:
    explicit Store(std::filesystem::path dir);
    std::filesystem::path path_for(std::string_view thing, std::string_view shadow) const;
    // Throws Error naming the file when it cannot be read or is corrupt; never modifies it.
    Stored load(std::string_view thing, std::string_view shadow) const;
    void save_live(std::string_view thing, std::string_view shadow, std::int64_t version, const Value& state,
                   const Value& metadata) const;
    void save_tombstone(std::string_view thing, std::string_view shadow, std::int64_t version) const;

private:
    std::filesystem::path root_;  // DIR/shadows
};

}  // namespace shadow

// The per-thing request rate: a token bucket per thing holding at most `per_second` requests
// and refilled at `per_second` per second, so a burst of `per_second` is served and then one
// request every 1/per_second s. Time is the caller's epoch milliseconds; a clock going back
// refills nothing. At most `max_tracked` buckets are kept: a bucket that is full again is the
// same as none and is dropped first; if none is, the fullest one is forgotten (the least
// throttled thing gets a fresh burst, never the one being throttled).
class ShadowRateLimiter {
public:
    ShadowRateLimiter(unsigned per_second, std::size_t max_tracked);
    // Takes one request from `thing`'s bucket; false (and nothing taken) when it is empty.
    bool allow(std::string_view thing, std::int64_t now_ms);
    std::size_t tracked() const { return buckets_.size(); }

private:
    // Whole requests are 1000 units, so refilling per millisecond stays in integers.
    struct Bucket {
        std::int64_t units = 0;
        std::int64_t last_ms = 0;
    };
    std::int64_t refilled(const Bucket& bucket, std::int64_t now_ms) const;
    void make_room(std::int64_t now_ms);

    std::int64_t per_second_;
    std::int64_t capacity_;  // units
    std::size_t max_tracked_;
    std::unordered_map<std::string, Bucket> buckets_;
};

// Choices where AWS is ambiguous or unverified:
// - 404 for a missing shadow says "No shadow exists with name: '<name>'" with the thing name for
//   the classic shadow and the shadow name for a named one (as AWS answers both).
// - Delete keeps the version (tombstone); the next update continues from it, forever.
// - A request version is compared with the current version; for a shadow that does not exist
//   that is 0, or the version it had when deleted.
// - {"state":null} is accepted and clears both sections; the shadow stays (version + 1).
// - update/accepted echoes the request's state as sent (nulls included) with metadata mirroring
//   it; {"state":null} is echoed as {"desired":null,"reported":null}.
// - /update/delta follows every accepted update whose resulting delta is non-empty.
// - Every rejection carries "timestamp"; clientToken is echoed whenever the request had a string
//   clientToken, even an over-long one, so callers can always correlate.
// - A null anywhere inside an array (also in an object in an array) is 400, message
//   "Invalid JSON: arrays cannot contain null (at <path>)": AWS's exact text is not documented.
// - A corrupt shadow file gets 500 "Internal service failure" and is left untouched; the reason,
//   naming the file, goes to the error sink.
// - Any thing name has shadows, registered or not (AWS needs none: the policy decides who may
//   use them); "Thing not found" is never answered.
// - Over the request rate: 429 "Too Many Requests" on the request's rejected topic (AWS documents
//   the code, not the message text). Malformed requests count too; the 429 still echoes the
//   clientToken.
class ShadowService {
public:
    // dir: the data directory; shadows persist under dir/shadows/<thing>/<shadow or "$classic">.json
    // via write_file_atomic.
    ShadowService(std::filesystem::path dir, ShadowLimits limits);

    // Receives the reason behind each 500 (corrupt file, failed write) so the plugin can log it.
    void set_error_sink(std::function<void(std::string_view)> sink) { error_sink_ = std::move(sink); }

    // Handles one request; returns the messages to publish (normal fan-out).
    // now_ms: epoch milliseconds; documents carry epoch seconds (now_ms / 1000).
    std::vector<OutboundMessage> handle(const ShadowRequestTopic& topic, std::string_view payload,
                                        std::int64_t now_ms);

private:
    std::vector<OutboundMessage> get(const ShadowRequestTopic& topic, const shadow::Payload& request,
                                     std::int64_t timestamp) const;
    std::vector<OutboundMessage> update(const ShadowRequestTopic& topic, const shadow::Payload& request,
                                        std::int64_t timestamp) const;
    std::vector<OutboundMessage> remove(const ShadowRequestTopic& topic, const shadow::Payload& request,
                                        std::int64_t timestamp) const;

    shadow::Store store_;
    ShadowLimits limits_;
    ShadowRateLimiter rate_;
    std::function<void(std::string_view)> error_sink_;
};

}  // namespace localcore
