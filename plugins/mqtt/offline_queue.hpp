// Messages waiting to be sent: published while the connection is down, held back by the publish
// pace (publish_pacer.hpp), or refused by the broker and queued again for a retry. Bounded by
// count and bytes. What does not fit is dropped by policy and reported to the caller, which counts
// and logs it: nothing vanishes silently.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace iotgw::plugins::mqtt {

struct OutMessage {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    unsigned sends = 0;  // times it was handed to the broker and refused (requeue)
    // When its MQTT 5 message expiry runs out (from when it was published into the pipeline), so
    // that time spent in this queue counts against it: nullopt for a message that never expires.
    std::optional<std::chrono::steady_clock::time_point> expires = std::nullopt;
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
            if (retried_ > 0) --retried_;
        }
        bytes_ += m.bytes();
        q_.push_back(std::move(m));
        return dropped;
    }

    // Puts back a message the broker refused, ahead of every message not yet sent and behind the
    // ones refused before it, so refused messages go again in the order they were first sent.
    // Returns what was dropped to make room, as push() does: under Drop::oldest the oldest
    // messages are the refused ones (this one included), under Drop::newest the not yet sent ones.
    std::vector<OutMessage> requeue(OutMessage m) {
        std::vector<OutMessage> dropped;
        if (max_messages_ == 0 || m.bytes() > max_bytes_) {
            dropped.push_back(std::move(m));
            return dropped;
        }
        while (!fits(m)) {
            if (drop_ == Drop::oldest && retried_ == 0) {
                dropped.push_back(std::move(m));  // older than anything still queued
                return dropped;
            }
            if (drop_ == Drop::newest && q_.size() == retried_) {
                dropped.push_back(std::move(m));  // newer than the refused ones before it
                return dropped;
            }
            auto victim = drop_ == Drop::oldest ? q_.begin() : std::prev(q_.end());
            if (drop_ == Drop::oldest) --retried_;  // the front one is a refused one here
            bytes_ -= victim->bytes();
            dropped.push_back(std::move(*victim));
            q_.erase(victim);
        }
        bytes_ += m.bytes();
        q_.insert(q_.begin() + static_cast<std::ptrdiff_t>(retried_), std::move(m));
        ++retried_;
        return dropped;
    }

    bool empty() const noexcept { return q_.empty(); }
    std::size_t size() const noexcept { return q_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    const OutMessage& front() const { return q_.front(); }
    void pop_front() {
        bytes_ -= q_.front().bytes();
        q_.pop_front();
        if (retried_ > 0) --retried_;
    }
    void clear() noexcept {
        q_.clear();
        bytes_ = 0;
        retried_ = 0;
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
    std::size_t retried_ = 0;  // the first retried_ messages were refused and queued again
};

}  // namespace iotgw::plugins::mqtt
