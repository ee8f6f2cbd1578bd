#include "service/container/live_feed.h"

namespace ringlog {

namespace {
size_t cost(const StoredRecord& r) {
    return r.message.size() + sizeof(StoredRecord);
}
}  // namespace

bool LiveFeed::publish(std::span<const RecordView> records) {
    if (records.empty())
        return false;
    std::lock_guard lock(mutex_);
    persisted_through_ = records.back().time_ns;
    if (followers_ == 0 && retain_unfollowed_ == 0)
        return false;
    for (const auto& r : records) {
        StoredRecord s;
        s.stream = r.stream;
        s.time_ns = r.time_ns;
        s.message.assign(r.message);
        s.newline = r.newline();
        s.sequence = r.sequence;
        bytes_ += cost(s);
        entries_.push_back(std::move(s));
    }
    evictLocked();
    return followers_ > 0 && !wakeup_.exchange(true);
}

void LiveFeed::evictLocked() {
    size_t keep = followers_ > 0 ? SIZE_MAX : retain_unfollowed_;
    while (!entries_.empty() && (bytes_ > kMaxBytes || entries_.size() > keep)) {
        bytes_ -= cost(entries_.front());
        entries_.pop_front();
        ++first_index_;
    }
}

void LiveFeed::retainUnfollowed(size_t records) {
    std::lock_guard lock(mutex_);
    retain_unfollowed_ = records;
}

void LiveFeed::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    wakeup_.store(true);
}

LiveFeed::Position LiveFeed::follow() {
    std::lock_guard lock(mutex_);
    ++followers_;
    return {persisted_through_, first_index_ + entries_.size(), first_index_};
}

void LiveFeed::unfollow() {
    std::lock_guard lock(mutex_);
    if (--followers_ == 0)
        evictLocked();  // nobody left to feed: keep only the backlog, if any
}

LiveFeed::Batch LiveFeed::read(uint64_t from, size_t max_bytes) const {
    std::lock_guard lock(mutex_);
    Batch b;
    if (from < first_index_) {
        b.missed = first_index_ - from;
        from = first_index_;
    }
    size_t bytes = 0;
    uint64_t end = first_index_ + entries_.size();
    while (from < end && bytes < max_bytes) {
        const auto& r = entries_[from - first_index_];
        bytes += r.message.size() + 1;
        b.records.push_back(r);
        ++from;
    }
    b.next_index = from;
    b.closed = closed_ && from == end;
    b.more = from < end;
    return b;
}

}  // namespace ringlog
