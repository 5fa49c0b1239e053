// At most N warnings per minute about bad input: a flood of malformed messages must not flood
// the journal (each is still counted).
#pragma once

#include <cstdint>

namespace iotgw::plugins::shadow {

class LogBudget {
public:
    static constexpr int kPerWindow = 20;
    static constexpr int64_t kWindowNs = 60'000'000'000;

    // True if a line may be logged now; `suppressed_before` gets how many were held back in the
    // window that just ended (to be summarised), else 0.
    bool allow(int64_t now_ns, int& suppressed_before) {
        suppressed_before = 0;
        if (now_ns - window_start_ns_ >= kWindowNs) {
            suppressed_before = suppressed_;
            window_start_ns_ = now_ns;
            in_window_ = 0;
            suppressed_ = 0;
        }
        if (in_window_ >= kPerWindow) {
            ++suppressed_;
            return false;
        }
        ++in_window_;
        return true;
    }

private:
    int64_t window_start_ns_ = INT64_MIN / 2;
    int in_window_ = 0;
    int suppressed_ = 0;
};

}  // namespace iotgw::plugins::shadow
