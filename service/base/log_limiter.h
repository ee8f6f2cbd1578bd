// LogLimiter: logs a repeating problem at most once per interval, with how many times it
// happened in between, so a failing disk or a misbehaving client cannot flood ringlogd's log.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace ringlog {

class LogLimiter {
  public:
    using Clock = std::chrono::steady_clock;
    explicit LogLimiter(Clock::duration interval = std::chrono::seconds(10))
        : interval_(interval) {}

    // Returns the number of occurrences suppressed since the last report when this one should be
    // logged, or nothing when it should be counted and suppressed.
    std::optional<uint64_t> allow(Clock::time_point now = Clock::now()) {
        if (reported_ && now - last_ < interval_) {
            ++suppressed_;
            return std::nullopt;
        }
        reported_ = true;
        last_ = now;
        uint64_t n = suppressed_;
        suppressed_ = 0;
        return n;
    }

  private:
    Clock::duration interval_;
    Clock::time_point last_{};
    bool reported_ = false;
    uint64_t suppressed_ = 0;
};

}  // namespace ringlog
