// The gateway's copy of the shadow document: desired, reported, the desired keys' timestamps and
// the version they belong to. Whether a message may change it is version_gate.hpp's decision;
// this only applies what was decided.
#pragma once

#include "document.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace iotgw::plugins::shadow {

class Replica {
public:
    Replica() { clear(); }

    // The version held; nullopt when no document is (never synced, or deleted).
    std::optional<int64_t> version() const noexcept { return version_; }
    bool exists() const noexcept { return version_.has_value(); }
    const Value& desired() const { return doc_["desired"]; }
    const Value& reported() const { return doc_["reported"]; }
    // {"desired":..,"reported":..}: the sections AWS's limits count.
    const rapidjson::Document& state() const noexcept { return doc_; }

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
    }

    // One step: the state of an update/accepted (what the update carried, nulls included).
    void apply_update(const Value& state, const Value* metadata, int64_t version) {
        merge_sections(state, metadata);
        version_ = version;
    }

    // One step seen only through its delta: the delta's keys are desired values.
    void apply_delta(const Value& delta, const Value* metadata, int64_t version) {
        auto& a = doc_.GetAllocator();
        merge_into(doc_["desired"], delta, a);
        note_timestamps(delta, metadata);
        version_ = version;
    }

    // No document (deleted, or not known): the next whole document starts afresh.
    void clear() {
        doc_.SetObject();
        auto& a = doc_.GetAllocator();
        doc_.AddMember("desired", Value(rapidjson::kObjectType), a);
        doc_.AddMember("reported", Value(rapidjson::kObjectType), a);
        desired_ts_.clear();
        version_.reset();
    }

private:
    // `state`: {"desired":obj|null?, "reported":obj|null?} (a null section removes it whole).
    void merge_sections(const Value& state, const Value* metadata) {
        auto& a = doc_.GetAllocator();
        for (const char* section : {"desired", "reported"}) {
            const auto it = state.FindMember(section);
            if (it == state.MemberEnd()) continue;
            if (it->value.IsNull()) {
                doc_[section].SetObject();
                if (std::string_view(section) == "desired") desired_ts_.clear();
                continue;
            }
            if (!it->value.IsObject()) continue;
            merge_into(doc_[section], it->value, a);
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
            it = find_member(doc_["desired"], it->first) != nullptr ? std::next(it) : desired_ts_.erase(it);
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

    rapidjson::Document doc_;
    std::map<std::string, int64_t> desired_ts_;
    std::optional<int64_t> version_;
};

}  // namespace iotgw::plugins::shadow
