// LiveFeed: the records of one container most recently persisted, for its followers.
//
// The consumer publishes each batch after the driver wrote it, but only while someone follows,
// so an unfollowed container pays one uncontended lock per batch and no copies. The feed keeps
// at most kMaxBytes of records: a follower that reads too slowly falls off its end and is told
// how many records it missed; it never holds the writer, the consumer or other followers back.
//
// The seam between a follower's history (read from disk) and its live records is exact because
// record times are strictly increasing per container and publishing, counting followers and
// remembering the last persisted time happen under one lock: when follow() returns P, every
// record stamped <= P is on disk, and every later one will be in the feed.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "drivers/log_driver.h"

namespace ringlog {

class LiveFeed {
  public:
    static constexpr size_t kMaxBytes = 8 << 20;  // about 60,000 short records

    struct Position {
        int64_t persisted_through = INT64_MIN;  // history ends here (inclusive)
        uint64_t next_index = 0;                // the first live entry for this follower
        uint64_t oldest_index = 0;              // the oldest entry kept (see retainUnfollowed)
    };

    // Keep the last `records` even with no follower (DriverDescriptor::live_backlog).
    void retainUnfollowed(size_t records);

    // Consumer side. Returns true when the event loop should be woken to feed followers (once
    // until it has looked: wake-ups are coalesced).
    bool publish(std::span<const RecordView> records);
    void close();  // the container is drained: followers end once they have it all

    // Event loop side.
    Position follow();
    void unfollow();

    struct Batch {
        std::vector<StoredRecord> records;
        uint64_t next_index = 0;
        uint64_t missed = 0;  // records evicted before this follower read them
        bool closed = false;  // and nothing after these
        bool more = false;    // records after these are in the feed already (max_bytes ended it)
    };
    Batch read(uint64_t from_index, size_t max_bytes) const;

    // The loop has looked: the next publish wakes it again.
    void clearWakeup() { wakeup_.store(false); }

  private:
    void evictLocked();

    mutable std::mutex mutex_;
    std::deque<StoredRecord> entries_;
    uint64_t first_index_ = 0;  // index of entries_.front()
    size_t bytes_ = 0;
    size_t followers_ = 0;
    size_t retain_unfollowed_ = 0;
    int64_t persisted_through_ = INT64_MIN;
    bool closed_ = false;
    std::atomic<bool> wakeup_{false};
};

}  // namespace ringlog
