// The Device Shadow's MQTT topics for one thing and shadow: the request topics the plugin
// publishes to, and which reply a received topic is (AWS developer guide, device-shadow-mqtt).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iotgw::plugins::shadow {

enum class Reply {
    get_accepted,
    get_rejected,
    update_accepted,
    update_rejected,
    update_delta,
    update_documents,
    delete_accepted,
    delete_rejected,
};

// AWS shadowName: [$a-zA-Z0-9:_-]{1,64}.
inline bool valid_shadow_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '$' || c == ':' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

class Topics {
public:
    // `shadow_name` empty: the classic shadow.
    Topics(std::string_view thing, std::string_view shadow_name)
        : thing_base_("$aws/things/" + std::string(thing) + "/shadow/"),
          prefix_(shadow_name.empty() ? "$aws/things/" + std::string(thing) + "/shadow"
                                      : thing_base_ + "name/" + std::string(shadow_name)) {}

    const std::string& prefix() const noexcept { return prefix_; }
    std::string get() const { return prefix_ + "/get"; }
    std::string update() const { return prefix_ + "/update"; }

    // Which reply of this shadow `topic` is; nullopt for anything else (requests included).
    std::optional<Reply> classify(std::string_view topic) const {
        if (topic.size() <= prefix_.size() + 1 || !topic.starts_with(prefix_) || topic[prefix_.size()] != '/')
            return std::nullopt;
        const std::string_view rest = topic.substr(prefix_.size() + 1);
        if (rest == "get/accepted") return Reply::get_accepted;
        if (rest == "get/rejected") return Reply::get_rejected;
        if (rest == "update/accepted") return Reply::update_accepted;
        if (rest == "update/rejected") return Reply::update_rejected;
        if (rest == "update/delta") return Reply::update_delta;
        if (rest == "update/documents") return Reply::update_documents;
        if (rest == "delete/accepted") return Reply::delete_accepted;
        if (rest == "delete/rejected") return Reply::delete_rejected;
        return std::nullopt;
    }

    // Any shadow topic of this thing: a reply of another shadow means the replies pipeline and
    // `shadow_name` disagree, which deserves a warning rather than silence.
    bool is_shadow_topic_of_thing(std::string_view topic) const { return topic.starts_with(thing_base_); }

private:
    std::string thing_base_;  // $aws/things/<thing>/shadow/
    std::string prefix_;
};

inline const char* to_string(Reply r) noexcept {
    switch (r) {
        case Reply::get_accepted:
            return "get/accepted";
        case Reply::get_rejected:
            return "get/rejected";
        case Reply::update_accepted:
            return "update/accepted";
        case Reply::update_rejected:
            return "update/rejected";
        case Reply::update_delta:
            return "update/delta";
        case Reply::update_documents:
            return "update/documents";
        case Reply::delete_accepted:
            return "delete/accepted";
        case Reply::delete_rejected:
            return "delete/rejected";
    }
    return "reply";
}

}  // namespace iotgw::plugins::shadow
