// QueryStream: one `Query` call's stream. Records come from the container's driver reader (the
// history), then, when following, from the container's LiveFeed; they go into a non-blocking
// pipe whose read end the caller got. The event loop calls pump() whenever the pipe has room or
// the feed has news, so a slow reader costs a bounded buffer, never a thread, and never blocks
// ingestion or other readers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "drivers/log_driver.h"
#include "service/base/unique_fd.h"
#include "service/container/live_feed.h"

namespace ringlog {

enum class QueryFormat {
    kRaw,   // the bytes as the container wrote them (partial records joined back)
    kJson,  // one JSON object per record
};

struct QueryOptions {
    ReadFilter filter;
    QueryFormat format = QueryFormat::kRaw;
    bool follow = false;
};

class QueryStream {
  public:
    // Opens the driver's reader again: how a follower that fell off the live feed catches up
    // from disk.
    using Reopen = std::function<Result<std::unique_ptr<LogReader>>(const ReadFilter&)>;

    // `feed` is null for a plain query; when following, `from` is where the history ended.
    // `by_sequence`: history and feed meet by sequence number (live records the history already
    // had are skipped) rather than at a time.
    QueryStream(std::unique_ptr<LogReader> history, QueryFormat format, ReadFilter filter,
                UniqueFd out, std::shared_ptr<LiveFeed> feed = nullptr, uint64_t from = 0,
                Reopen reopen = nullptr, bool by_sequence = false);
    ~QueryStream();
    QueryStream(QueryStream&&) = default;

    enum class Progress {
        kWaitWritable,  // the pipe is full (or this turn's share is used): wait for EPOLLOUT
        kYield,         // this turn's share of the history scan is used, nothing found yet: call
                        // again on a later turn (the pipe has room: EPOLLOUT says so at once)
        kWaitData,      // following and caught up: wait for the feed
        kDone,          // everything is written: close the pipe
    };
    Progress pump();
    int fd() const { return out_.get(); }
    const LiveFeed* feed() const { return feed_.get(); }

  private:
    void refill();
    void append(const StoredRecord& r);
    void deliverLive(const StoredRecord& r);
    void missed(uint64_t count);

    std::unique_ptr<LogReader> history_;
    QueryFormat format_;
    ReadFilter filter_;
    UniqueFd out_;
    std::shared_ptr<LiveFeed> feed_;
    uint64_t next_index_ = 0;
    Reopen reopen_;
    bool by_sequence_ = false;
    // Catching up from disk after falling off the feed: the live records that came after the
    // gap wait in parked_ while history_ reads the gap.
    bool catching_up_ = false;
    std::vector<StoredRecord> parked_;
    uint64_t caught_up_records_ = 0;
    int64_t last_time_ = INT64_MIN;  // the last record seen, delivered or filtered out
    uint64_t last_sequence_ = 0;     // of the last live record seen; 0: none yet
    std::string buffer_;
    size_t sent_ = 0;
    bool done_ = false;
    bool yielded_ = false;  // the last refill() stopped on the reader's ReadBudget
};

// One record in the JSON query format (docs/dbus.md), with a trailing newline. `with_sequence`:
// the driver keeps sequence numbers (journald's CONTAINER_LOG_ORDINAL), so every record has one.
void appendQueryJson(std::string& out, const StoredRecord& record, bool with_sequence);

}  // namespace ringlog
