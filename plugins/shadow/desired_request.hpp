// What the gateway accepts as desired state. Desired is another way to call the AMR, so it is as
// narrow as the call command: "state" is "moving" (start a call) or "idle" (the AMR returns to
// idle by itself: satisfied once it is idle), "target" is an optional call target and only makes
// sense with "moving". Anything else is refused as a whole, reported, and never applied.
#pragma once

#include "document.hpp"

#include <iotgw/amr/call_rules.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace iotgw::plugins::shadow {

struct DesiredCall {
    std::string state;                  // "moving" or "idle"
    std::optional<std::string> target;  // only with "moving"
};

struct DesiredVerdict {
    std::optional<DesiredCall> call;
    std::string problem;  // why it was refused, when `call` is empty
};

inline constexpr std::string_view kDesiredForm =
    R"(desired accepts {"state":"moving"|"idle"} and, with "moving", {"target":"<1..64 bytes>"})";

inline std::string json_type(const Value& v) {
    if (v.IsNull()) return "null";
    if (v.IsBool()) return "a boolean";
    if (v.IsNumber()) return "a number";
    if (v.IsString()) return "a string";
    if (v.IsArray()) return "an array";
    return "an object";
}

// `desired`: the desired keys to act on, as an object.
inline DesiredVerdict judge_desired(const Value& desired) {
    DesiredVerdict out;
    auto refuse = [&](std::string why) {
        out.problem = std::move(why) + "; " + std::string(kDesiredForm);
        return out;
    };
    if (!desired.IsObject()) return refuse("desired is " + json_type(desired) + ", not an object");
    const Value* state = nullptr;
    const Value* target = nullptr;
    for (const auto& m : desired.GetObject()) {
        const std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (key == "state") {
            state = &m.value;
        } else if (key == "target") {
            target = &m.value;
        } else {
            std::string shown(key.substr(0, 64));
            for (char& c : shown)
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
            return refuse("unknown desired key '" + shown + "'");
        }
    }
    if (state == nullptr) return refuse("desired has 'target' without 'state'");
    if (!state->IsString()) return refuse("desired.state must be a string, got " + json_type(*state));
    const std::string_view s(state->GetString(), state->GetStringLength());
    if (s != "moving" && s != "idle") {
        std::string shown(s.substr(0, 32));
        for (char& c : shown)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
        return refuse("desired.state '" + shown + "' is not a state the AMR can be asked for");
    }
    DesiredCall call{std::string(s), std::nullopt};
    if (target != nullptr) {
        if (s != "moving") return refuse("desired.target only goes with desired.state \"moving\"");
        if (!target->IsString()) return refuse("desired.target must be a string, got " + json_type(*target));
        const std::string_view t(target->GetString(), target->GetStringLength());
        if (t.empty() || t.size() > amr::kMaxTargetLength)
            return refuse("desired.target is " + std::to_string(t.size()) +
                          " bytes long; it must have 1 to " + std::to_string(amr::kMaxTargetLength));
        for (char c : t)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                return refuse("desired.target contains a control character");
        call.target = std::string(t);
    }
    out.call = std::move(call);
    return out;
}

}  // namespace iotgw::plugins::shadow
