// Messages published while the connection is down, bounded by count and bytes. What does not fit
// is dropped by policy and reported to the caller, which counts and logs it: nothing vanishes
// silently.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace iotgw::plugins::mqtt {

struct OutMessage {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    std::size_t bytes() const noexcept { return topic.size() + payload.size(); }
};

class OfflineQueue {
public:
    enum class Drop { oldest, newest };

    OfflineQueue(std::size_t max_messages, std::size_t max_bytes, Drop drop)
        : max_messages_(max_messages), max_bytes_(max_bytes), drop_(drop) {}

    // Adds `m`; returns the messages dropped to make room (possibly `m` itself), in drop order.
    std::vector<OutMessage> push(OutMessage m) {
        std::vector<OutMessage> dropped;
        if (max_messages_ == 0 || m.bytes() > max_bytes_ || (drop_ == Drop::newest && !fits(m))) {
            dropped.push_back(std::move(m));
            return dropped;
        }
        while (!fits(m)) {
            bytes_ -= q_.front().bytes();
            dropped.push_back(std::move(q_.front()));
            q_.pop_front();
        }
        bytes_ += m.bytes();
        q_.push_back(std::move(m));
        return dropped;
    }

    bool empty() const noexcept { return q_.empty(); }
    std::size_t size() const noexcept { return q_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    const OutMessage& front() const { return q_.front(); }
    void pop_front() {
        bytes_ -= q_.front().bytes();
        q_.pop_front();
    }
    void clear() noexcept {
        q_.clear();
        bytes_ = 0;
    }

private:
    bool fits(const OutMessage& m) const noexcept {
        return q_.size() + 1 <= max_messages_ && bytes_ + m.bytes() <= max_bytes_;
    }

    std::size_t max_messages_;
    std::size_t max_bytes_;
    Drop drop_;
    std::deque<OutMessage> q_;
    std::size_t bytes_ = 0;
};

}  // namespace iotgw::plugins::mqtt
