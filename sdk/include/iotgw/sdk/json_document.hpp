// A RapidJSON document sized for one message.
//
// A default rapidjson::Document takes its first 64 KiB pool chunk for the first value it stores,
// however small the message, and frees it with the document. A gateway parses several small
// payloads a second (statuses, results, shadow replies, link events), so that was a 64 KiB malloc
// and free per message; under the soak (tests/bench/soak.py) this churn, interleaved with the
// long-lived allocations of paho and the plugins, left glibc's heap growing by tens of KB an hour
// with nothing leaked. MessageDocument's pool takes kMessageChunkBytes at a time instead: a typical
// payload fits in the first chunk, and chunks of one size are reused from glibc's free lists.
// Larger documents simply take more chunks (a chunk is never smaller than the value that needs it).
//
// It is a rapidjson::Document (public base), so it goes wherever one does:
//   iotgw::sdk::MessageDocument doc;
//   if (auto r = iotgw::sdk::parse_json(doc, payload); !r) return refuse(r.message);
// and it can be moved: the pool lives on the heap, so values (and pointers to them) stay where they
// are. Copying is not offered, as for rapidjson::Document.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <memory>

// Not "namespace iotgw::sdk": GCC rejects attributes on a nested namespace definition.
namespace iotgw {
namespace [[gnu::visibility("hidden")]] sdk {

// Bytes per pool chunk of a MessageDocument: above most payloads a gateway sees (a status is
// ~100 bytes, a shadow reply a few hundred), far below RapidJSON's 64 KiB default.
inline constexpr std::size_t kMessageChunkBytes = 4096;

namespace detail {
// Holds the pool; a base class so that it is built before the rapidjson::Document that uses it.
struct MessagePool {
    std::unique_ptr<rapidjson::Document::AllocatorType> pool =
        std::make_unique<rapidjson::Document::AllocatorType>(kMessageChunkBytes);
};
}  // namespace detail

class MessageDocument : private detail::MessagePool, public rapidjson::Document {
    // Moving and destroying rely on it: the pool is freed (or handed over) before the document's
    // values are destroyed, which is safe only because those destructors never touch the pool.
    static_assert(!rapidjson::Document::AllocatorType::kNeedFree,
                  "MessageDocument assumes a pool allocator whose values need no freeing");

public:
    MessageDocument() : rapidjson::Document(pool.get()) {}
    explicit MessageDocument(rapidjson::Type type) : rapidjson::Document(type, pool.get()) {}
    MessageDocument(MessageDocument&&) noexcept = default;
    MessageDocument& operator=(MessageDocument&&) noexcept = default;
    MessageDocument(const MessageDocument&) = delete;
    MessageDocument& operator=(const MessageDocument&) = delete;
    ~MessageDocument() = default;

    // Hides rapidjson::Document::Swap, which swaps the documents' allocator pointers but not the
    // pools that own the memory: after it, destroying one document would free the other's values.
    MessageDocument& Swap(MessageDocument& other) noexcept {
        pool.swap(other.pool);
        rapidjson::Document::Swap(other);
        return *this;
    }
};

}  // namespace sdk
}  // namespace iotgw
