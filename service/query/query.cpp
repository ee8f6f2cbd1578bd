#include "service/query/query.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "drivers/docker/json_encoding.h"

namespace ringlog {

namespace {
// Per refill: bounded work for the event loop, with the reader's ReadBudget bounding what a
// refill reads and passes over.
constexpr size_t kRefillBytes = 256 * 1024;
}  // namespace

void appendQueryJson(std::string& out, const StoredRecord& r, bool with_sequence) {
    out.append("{\"time\":\"");
    json::appendRfc3339Nano(out, r.time_ns);
    char number[24];
    auto time_ns = std::string_view(
        number,
        static_cast<size_t>(std::to_chars(number, number + sizeof number, r.time_ns).ptr - number));
    out.append("\",\"time_ns\":");
    out.append(time_ns);
    // Record times are strictly increasing per container: the time is the record's cursor,
    // unless the driver keeps cursors of its own (journald's).
    out.append(",\"cursor\":\"");
    if (r.cursor.empty()) {
        out.append(time_ns);
    } else {
        std::string quoted;
        json::appendDockerString(quoted, r.cursor);
        out.append(quoted, 1, quoted.size() - 2);
    }
    out.push_back('"');
    if (with_sequence) {
        out.append(",\"sequence\":");
        out.append(std::to_string(r.sequence));
    }
    out.append(r.stream == Stream::kStderr ? ",\"stream\":\"stderr\"" : ",\"stream\":\"stdout\"");
    out.append(",\"message\":");
    json::appendDockerString(out, r.message);
    out.append(r.newline ? ",\"partial\":false" : ",\"partial\":true");
    if (!r.attrs.empty()) {
        out.append(",\"attrs\":");
        out.append(r.attrs);
    }
    out.append("}\n");
}

QueryStream::QueryStream(std::unique_ptr<LogReader> history, QueryFormat format, ReadFilter filter,
                         UniqueFd out, std::shared_ptr<LiveFeed> feed, uint64_t from, Reopen reopen,
                         bool by_sequence)
    : history_(std::move(history)),
      format_(format),
      filter_(std::move(filter)),
      out_(std::move(out)),
      feed_(std::move(feed)),
      next_index_(from),
      reopen_(std::move(reopen)),
      by_sequence_(by_sequence) {}

QueryStream::~QueryStream() {
    if (feed_)
        feed_->unfollow();
}

void QueryStream::append(const StoredRecord& r) {
    if (format_ == QueryFormat::kJson) {
        appendQueryJson(buffer_, r, by_sequence_);
    } else {
        buffer_.append(r.message);
        if (r.newline)
            buffer_.push_back('\n');
    }
}

void QueryStream::missed(uint64_t count) {
    // Said in the stream itself: the reader has no other channel once the reply is gone.
    if (format_ == QueryFormat::kJson)
        buffer_ += "{\"missed\":" + std::to_string(count) + "}\n";
    else
        buffer_ += "-- ringlogd: missed " + std::to_string(count) +
                   " records: this reader fell behind --\n";
}

void QueryStream::deliverLive(const StoredRecord& r) {
    if (by_sequence_ && last_sequence_ != 0 && r.sequence <= last_sequence_)
        return;  // the history had it
    last_time_ = r.time_ns;
    last_sequence_ = r.sequence;
    if (filter_.until_ns && r.time_ns > *filter_.until_ns) {
        done_ = true;
        return;
    }
    if (filter_.wants(r.stream) && filter_.inTime(r.time_ns) && filter_.matches(r.message))
        append(r);
}

void QueryStream::refill() {
    buffer_.clear();
    sent_ = 0;
    yielded_ = false;
    StoredRecord r;
    while (history_ && buffer_.size() < kRefillBytes) {
        auto more = history_->step(r);
        if (!more)
            spdlog::warn("query: {}", more.error().message);
        if (more && *more == LogReader::Step::kYield) {
            // The reader passed over its budget of records: this turn's input share is used.
            yielded_ = true;
            return;
        }
        if (!more || *more == LogReader::Step::kEnd) {
            history_.reset();
            break;
        }
        last_time_ = r.time_ns;
        if (r.sequence != 0)
            last_sequence_ = r.sequence;
        if (!catching_up_) {
            append(r);  // the first history: the reader applied the whole filter
            continue;
        }
        ++caught_up_records_;
        if (filter_.wants(r.stream) && filter_.inTime(r.time_ns) && filter_.matches(r.message))
            append(r);
    }
    if (history_ || buffer_.size() >= kRefillBytes)
        return;
    if (!feed_) {
        done_ = true;
        return;
    }
    if (catching_up_) {
        // The gap is read from disk; whatever disk no longer had (rotated away) is counted.
        catching_up_ = false;
        uint64_t expected = parked_.front().sequence - last_sequence_ - 1;
        if (last_sequence_ != 0 && expected > caught_up_records_)
            missed(expected - caught_up_records_);
        for (const auto& rec : parked_)
            if (!done_)
                deliverLive(rec);
        parked_.clear();
        return;
    }
    auto batch = feed_->read(next_index_, kRefillBytes - buffer_.size());
    next_index_ = batch.next_index;
    if (batch.missed > 0 && reopen_ && !batch.records.empty()) {
        // Fell off the feed: read the gap from disk, then go on with these.
        ReadFilter gap;
        gap.since_ns =
            last_time_ == INT64_MIN ? filter_.since_ns : std::optional<int64_t>(last_time_ + 1);
        gap.until_ns = batch.records.front().time_ns - 1;
        auto reader = reopen_(gap);
        if (reader) {
            history_ = std::move(*reader);
            catching_up_ = true;
            caught_up_records_ = 0;
            parked_ = std::move(batch.records);
            return;
        }
    }
    if (batch.missed > 0)
        missed(batch.missed);
    for (const auto& rec : batch.records)
        if (!done_)
            deliverLive(rec);
    if (batch.closed)
        done_ = true;
    // The filter passed none of this share and the feed has more: come back on the next turn,
    // as a history scan does. Waiting for the feed's news instead would wait forever once the
    // container has drained: no news comes after that.
    if (buffer_.empty() && batch.more && !done_)
        yielded_ = true;
}

QueryStream::Progress QueryStream::pump() {
    for (int round = 0; round < 4; ++round) {
        if (sent_ == buffer_.size()) {
            if (done_)
                return Progress::kDone;
            do
                refill();
            while (buffer_.empty() && (history_ || catching_up_) && !done_ && !yielded_);
            if (buffer_.empty() && yielded_)
                return Progress::kYield;
            if (buffer_.empty())
                return done_ ? Progress::kDone : Progress::kWaitData;
        }
        while (sent_ < buffer_.size()) {
            ssize_t n = ::write(out_.get(), buffer_.data() + sent_, buffer_.size() - sent_);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                return Progress::kWaitWritable;
            if (n < 0)
                return Progress::kDone;  // the reader went away (EPIPE): nothing more to do
            sent_ += static_cast<size_t>(n);
        }
        if (yielded_)
            return Progress::kYield;
    }
    return Progress::kWaitWritable;
}

}  // namespace ringlog
