// The gateway's copy of the shadow document: desired, reported, the desired keys' timestamps and
// the version they belong to. Whether a message may change it is version_gate.hpp's decision;
// this only applies what was decided.
//
// Memory: RapidJSON's pool allocator never gives back what SetObject, RemoveMember or CopyFrom
// leave behind, so a document kept for months and changed on every update would grow without
// bound. The document lives in a pool of its own, and once the pool holds more than twice what the
// document needed when last copied (plus some slack), the document is copied into a fresh pool and
// the old one freed. The copy costs the size of the document (at most 8 KB by AWS's limit) and
// happens once per that much garbage, so the cost per update stays constant and the memory stays
// a small multiple of the document.
#pragma once

#include "document.hpp"

#include <iotgw/sdk/json_document.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace iotgw::plugins::shadow {

class Replica {
public:
    Replica() { clear(); }

    // The version held; nullopt when no document is (never synced, or deleted).
    std::optional<int64_t> version() const noexcept { return version_; }
    bool exists() const noexcept { return version_.has_value(); }
    // References into the document stay valid until the next change (which may move it).
    const Value& desired() const { return store_->doc["desired"]; }
    const Value& reported() const { return store_->doc["reported"]; }
    // {"desired":..,"reported":..}: the sections AWS's limits count.
    const rapidjson::Document& state() const noexcept { return store_->doc; }
    // The bytes the document's pool has taken from the heap: what the replica costs.
    std::size_t pool_bytes() const { return store_->pool.Capacity(); }

    // When desired `key` was last set (epoch seconds, from the shadow's metadata); 0 if unknown.
    int64_t desired_timestamp(const std::string& key) const {
        const auto it = desired_ts_.find(key);
        return it == desired_ts_.end() ? 0 : it->second;
    }

    // The whole document (get/accepted, update/documents' "current"): replaces what was held.
    void replace(const Value& state, const Value* metadata, int64_t version) {
        clear();
        merge_sections(state, metadata);
        version_ = version;
        compact_if_bloated();
    }

    // One step: the state of an update/accepted (what the update carried, nulls included).
    void apply_update(const Value& state, const Value* metadata, int64_t version) {
        merge_sections(state, metadata);
        version_ = version;
        compact_if_bloated();
    }

    // One step seen only through its delta: the delta's keys are desired values.
    void apply_delta(const Value& delta, const Value* metadata, int64_t version) {
        merge_into(store_->doc["desired"], delta, store_->pool);
        note_timestamps(delta, metadata);
        version_ = version;
        compact_if_bloated();
    }

    // No document (deleted, or not known): the next whole document starts afresh.
    // A fresh pool: whatever the old document had taken is freed.
    void clear() {
        store_ = std::make_unique<Store>();
        auto& doc = store_->doc;
        doc.SetObject();
        doc.AddMember("desired", Value(rapidjson::kObjectType), store_->pool);
        doc.AddMember("reported", Value(rapidjson::kObjectType), store_->pool);
        live_bytes_ = store_->pool.Size();
        desired_ts_.clear();
        version_.reset();
    }

private:
    // A document and the pool it allocates from; heap-held because the document points at the pool.
    // Its pool takes message-sized chunks, not RapidJSON's 64 KiB: a fresh pool per compaction
    // would otherwise be a 64 KiB malloc for a document of a few KB (json_document.hpp says why
    // that matters).
    struct Store {
        Allocator pool{sdk::kMessageChunkBytes};
        rapidjson::Document doc{&pool};
    };
    // Below this much garbage a copy is not worth it: a few chunks, and copies stay rare.
    static constexpr std::size_t kSlackBytes = 16 * 1024;

    void compact_if_bloated() {
        if (store_->pool.Size() <= 2 * live_bytes_ + kSlackBytes) return;
        auto fresh = std::make_unique<Store>();
        fresh->doc.CopyFrom(store_->doc, fresh->pool);
        store_ = std::move(fresh);
        live_bytes_ = store_->pool.Size();
    }

    // `state`: {"desired":obj|null?, "reported":obj|null?} (a null section removes it whole).
    void merge_sections(const Value& state, const Value* metadata) {
        auto& a = store_->pool;
        auto& doc = store_->doc;
        for (const char* section : {"desired", "reported"}) {
            const auto it = state.FindMember(section);
            if (it == state.MemberEnd()) continue;
            if (it->value.IsNull()) {
                doc[section].SetObject();
                if (std::string_view(section) == "desired") desired_ts_.clear();
                continue;
            }
            if (!it->value.IsObject()) continue;
            merge_into(doc[section], it->value, a);
        }
        const auto d = state.FindMember("desired");
        if (d != state.MemberEnd() && d->value.IsObject()) {
            const Value* meta = nullptr;
            if (metadata != nullptr && metadata->IsObject()) {
                const auto m = metadata->FindMember("desired");
                if (m != metadata->MemberEnd()) meta = &m->value;
            }
            note_timestamps(d->value, meta);
        }
    }

    // `meta` mirrors `changes`: {"key":{"timestamp":T}} for a leaf, nested objects otherwise.
    void note_timestamps(const Value& changes, const Value* meta) {
        for (const auto& m : changes.GetObject()) {
            const std::string key(m.name.GetString(), m.name.GetStringLength());
            if (m.value.IsNull()) {
                desired_ts_.erase(key);
                continue;
            }
            desired_ts_[key] = meta != nullptr && meta->IsObject() ? newest_timestamp(*meta, key) : 0;
        }
        for (auto it = desired_ts_.begin(); it != desired_ts_.end();)
            it = find_member(store_->doc["desired"], it->first) != nullptr ? std::next(it) : desired_ts_.erase(it);
    }

    static int64_t newest_timestamp(const Value& meta, const std::string& key) {
        const Value* m = find_member(meta, key);
        return m == nullptr ? 0 : newest_in(*m, 8);
    }

    static int64_t newest_in(const Value& v, int depth) {
        if (!v.IsObject() || depth == 0) return 0;
        int64_t best = 0;
        for (const auto& m : v.GetObject()) {
            if (std::string_view(m.name.GetString(), m.name.GetStringLength()) == "timestamp" &&
                m.value.IsInt64())
                best = std::max(best, m.value.GetInt64());
            else
                best = std::max(best, newest_in(m.value, depth - 1));
        }
        return best;
    }

    std::unique_ptr<Store> store_;
    std::size_t live_bytes_ = 0;  // the pool's Size() right after the last fresh start or copy
    std::map<std::string, int64_t> desired_ts_;
    std::optional<int64_t> version_;
};

}  // namespace iotgw::plugins::shadow
