#include "service/container/container.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <time.h>

#include <cerrno>
#include <utility>

namespace ringlog {

namespace {

constexpr int kBatchesPerTurn = 16;  // then yield to other containers
constexpr std::chrono::milliseconds kFirstBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::chrono::seconds kRecoveredAfter{1};

// Single writer: a plain store, not a locked read-modify-write, on this per-line path.
void bump(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

int64_t realtimeNs() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::string AttachSettings::driverNames() const {
    std::string names;
    for (const auto& d : drivers)
        if (!d.cache)
            names += (names.empty() ? "" : ",") + d.name;
    return names;
}

Container::Container(ContainerInfo info, AttachSettings settings, std::unique_ptr<RingLog> ring,
                     std::vector<std::unique_ptr<LogDriver>> drivers, uint64_t first_sequence)
    : info_(std::move(info)),
      settings_(std::move(settings)),
      ring_(std::move(ring)),
      // An adopted ring continues the sequence and the clock of the process that filled it.
      next_sequence_(std::max(first_sequence, ring_->producerState().last_sequence + 1)),
      last_time_ns_(ring_->producerState().last_time_ns) {
    for (size_t i = 0; i < drivers.size(); ++i) {
        auto sink = std::make_unique<Sink>();
        sink->name = i >= settings_.drivers.size() ? "driver"
                     : settings_.drivers[i].cache  ? "local cache"
                                                   : settings_.drivers[i].name;
        sink->driver = std::move(drivers[i]);
        sinks_.push_back(std::move(sink));
    }
    // Every driver starts where the ring does: at its oldest record not yet retired (after a
    // restart, drivers skip those they recognise as written: LogDriver::resume()).
    RingLog::Batch first;
    uint64_t start = next_sequence_ - 1;
    if (sinks_.size() > 1 && ring_->takeAfter(0, first)) {
        RecordView v;
        RingLog::decode(first.data, first.begin, v);
        start = v.sequence - 1;
        ring_->endTake();
    }
    for (auto& sink : sinks_)
        sink->done_through.store(start);
}

Container::Container(ContainerInfo info, AttachSettings settings, std::unique_ptr<RingLog> ring,
                     std::unique_ptr<LogDriver> driver, uint64_t first_sequence)
    : Container(
          std::move(info), std::move(settings), std::move(ring),
          [&] {
              std::vector<std::unique_ptr<LogDriver>> v;
              v.push_back(std::move(driver));
              return v;
          }(),
          first_sequence) {}

Container::~Container() = default;

Container::Input::Input(Container& c, Stream s, UniqueFd f, uint32_t max_line)
    : fd(std::move(f)), framer(c, s, max_line), ledger(*c.ring_, s), peek(isPipe(fd.get())) {
    if (peek)
        capacity = static_cast<size_t>(std::max(::fcntl(fd.get(), F_GETPIPE_SZ), 4096));
}

void Container::addInput(Stream stream, UniqueFd fd) {
    inputs_.push_back(std::make_unique<Input>(*this, stream, std::move(fd), settings_.max_line));
    ProducerState p = ring_->producerState();
    int s = stream == Stream::kStderr ? 1 : 0;
    if (p.next_ordinal[s] != 0)
        inputs_.back()->framer.resumeSplitLine(p.next_ordinal[s], p.partial_id[s]);
}

uint64_t Container::skipWhatTheRingHas(PipePeek& peeker) {
    uint64_t skipped = 0;
    if (!ring_->hasLedger())
        return 0;  // a ring from before the ledger: the next reads may repeat a few lines
    for (auto& in : inputs_) {
        if (!in->peek)
            continue;
        Stream s = in->framer.stream();
        uint64_t framed = ring_->inputFramed(s), discarded = ring_->inputDiscarded(s);
        int available = 0;
        if (::ioctl(in->fd.get(), FIONREAD, &available) != 0)
            available = 0;
        uint64_t owed = framed - discarded;
        if (ring_->ledgerUnsure(s) || framed < discarded ||
            owed > static_cast<uint64_t>(available)) {
            spdlog::warn(
                "container {}: its {} ledger says {} bytes framed and {} taken out{}, and the "
                "pipe holds {}: reading it as it is (a few lines may be persisted twice)",
                info_.shortId(), streamName(s), framed, discarded,
                ring_->ledgerUnsure(s) ? " but not how much its last discard took" : "", available);
            ring_->rebaseLedger(s);
            continue;
        }
        if (owed > 0 && !peeker.discard(in->fd.get(), owed, &in->ledger)) {
            spdlog::warn("container {}: taking {} bytes its ring has out of its {}: {}",
                         info_.shortId(), owed, streamName(s), errnoText(errno));
            continue;
        }
        skipped += owed;
    }
    return skipped;
}

bool Container::push(Stream stream, std::string_view message, uint8_t flags,
                     uint32_t partial_ordinal, uint64_t& partial_id) {
    RecordHeader h{};
    h.stream = static_cast<uint8_t>(stream);
    return pushLine(h, message, flags, partial_ordinal, partial_id);
}

bool Container::pushFileLine(uint16_t source, uint64_t end_offset, std::string_view message,
                             uint8_t flags, uint32_t partial_ordinal, uint64_t& partial_id) {
    RecordHeader h{};
    h.stream = static_cast<uint8_t>(Stream::kStdout);
    h.source = source;
    h.reserved2 = static_cast<uint32_t>(end_offset);
    return pushLine(h, message, flags, partial_ordinal, partial_id);
}

// A framed line of any source into the ring: the sequence, the partial group, the byte count.
bool Container::pushLine(RecordHeader h, std::string_view message, uint8_t flags,
                         uint32_t partial_ordinal, uint64_t& partial_id) {
    h.flags = flags;
    h.partial_ordinal = partial_ordinal;
    h.sequence = next_sequence_;
    h.partial_id = partial_ordinal == 1 ? next_sequence_ : partial_id;
    if (!pushRecord(h, message))
        return false;
    partial_id = h.partial_id;
    bump(counters_.bytes_in, message.size() + ((flags & kRecordNewline) ? 1 : 0));
    return true;
}

bool Container::pushLines(Stream stream, const std::vector<PushedRecord>& records,
                          uint64_t lines_split) {
    if (settings_.policy == OverflowPolicy::kBlock) {
        std::vector<uint32_t> sizes;
        sizes.reserve(records.size());
        for (const auto& r : records)
            sizes.push_back(static_cast<uint32_t>(r.message.size()));
        if (!ring_->fits(sizes))
            return false;
    }
    read_time_ns_ = realtimeNs();
    uint64_t partial_id = 0;
    for (const auto& r : records) {
        RecordHeader h{};
        h.stream = static_cast<uint8_t>(stream);
        h.source = kSourcePushed;
        if (!pushLine(h, r.message, r.flags, r.partial_ordinal, partial_id))
            return false;  // not after fits(): the ring only gains room meanwhile
    }
    bump(counters_.lines_split, lines_split);
    return true;
}

void Container::beginFileRead() {
    read_time_ns_ = realtimeNs();
}

uint16_t Container::fileSource(std::string_view name) {
    std::lock_guard lock(file_names_mutex_);
    for (size_t i = 0; i < file_names_.size(); ++i)
        if (file_names_[i] == name)
            return static_cast<uint16_t>(i + 1);
    if (file_names_.size() + 1 >= kSourcePushed)
        return 0;
    file_names_.emplace_back(name);
    return static_cast<uint16_t>(file_names_.size());
}

void Container::restoreFileNames(std::vector<std::string> names) {
    std::lock_guard lock(file_names_mutex_);
    file_names_.assign(std::make_move_iterator(names.begin()),
                       std::make_move_iterator(names.end()));
}

// Pushes a record of either kind: its time, its sequence, the counters.
bool Container::pushRecord(RecordHeader& h, std::string_view message) {
    // The time the bytes were read, nudged to be later than the previous record's, so times
    // order a container's records totally (queries use them as cursors).
    h.time_ns = std::max(read_time_ns_, last_time_ns_ + 1);
    if (ring_->push(h, message) == RingLog::PushResult::kFull)
        return false;
    last_time_ns_ = h.time_ns;
    ++next_sequence_;
    ring_bytes_pushed_ += RingLog::recordSpace(message.size());
    bump(counters_.lines_in, 1);
    return true;
}

// How much of a pipe to peek at once: about what the ring takes now. Bytes peeked beyond that stay
// in the pipe and are copied again after the next wake-up, which with many busy containers, whose
// rings fill at every turn, is most turns. Never less than one longest line (or the whole buffer),
// so that a peek without a line end in it means what pumpPipe takes it to mean: a line longer
// than one peek can hold.
size_t Container::peekSize(size_t buffer_size) const {
    uint64_t room = ring_->producerRoom();
    if (room >= buffer_size)
        return buffer_size;
    uint64_t input = counters_.bytes_in.load(std::memory_order_relaxed);
    if (ring_bytes_pushed_ > 0 && input > 0)
        room = room * input / ring_bytes_pushed_;  // the records' headers take ring bytes too
    size_t floor = std::min(buffer_size, size_t{settings_.max_line} + 1);
    return std::clamp<size_t>(room, floor, buffer_size);
}

// What to do with an incomplete line that ends what a peek saw. The rule (docs/behaviour.md): a
// line is cut only at max-line (the framer did that already), at its writers' end of file, or at
// a stop whose pipes will not outlive ringlogd. Never because of how its bytes happened to
// arrive: a short peek, a full ring, a writer blocked in the middle of the line; those wait in
// the pipe for the rest. The one exception is a pipe too small to hold max-line bytes: it can
// fill with the line, and waiting would deadlock the writer and ringlogd.
Container::TailAction Container::decideTail(Input& in, ssize_t n, size_t want, size_t used) {
    auto more_in_pipe = [&] {
        int available = 0;
        return ::ioctl(in.fd.get(), FIONREAD, &available) == 0 && available > n;
    };
    auto writers_gone = [&] {
        struct pollfd p {
            in.fd.get(), POLLIN, 0
        };
        return ::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
    };
    if (in.budget >= 0 && n == in.budget) {
        // A stop: the rest of the line stays in the pipe (for the next instance, or counted as
        // left behind), unless nothing will ever follow it: then it is the stream's last line.
        // (The writers' end, then the count again: a last write just before it is not missed.)
        if (writers_gone() && !more_in_pipe())
            return TailAction::kCutFinal;
        return TailAction::kStopHere;
    }
    if (static_cast<size_t>(n) == want)
        return used > 0 ? TailAction::kReadMore : TailAction::kCutToContinue;  // see peekSize()
    // A short peek: the pipe held no more than that when it was peeked (the scratch pipe has as
    // many slots as any input; see PipePeek). Look again if more came since.
    bool more = more_in_pipe();
    bool gone = false;
    if (!more) {
        gone = writers_gone();
        more = gone && more_in_pipe();
    }
    if (more) {
        if (used > 0)
            return TailAction::kReadMore;
        // Nothing complete yet: peek again from the line's start. If the peek cannot grow (tee
        // stopped at the scratch pipe's slots: pipe buffers of a few bytes each), the line cannot
        // be seen whole; cut it rather than spin (never seen with pipe_write's merging).
        if (static_cast<size_t>(n) != in.stalled_peek) {
            in.stalled_peek = static_cast<size_t>(n);
            return TailAction::kReadMore;
        }
        return TailAction::kCutToContinue;
    }
    in.stalled_peek = 0;
    if (gone)
        return TailAction::kCutFinal;
    if (used == 0 && static_cast<size_t>(n) >= in.capacity)
        return TailAction::kCutToContinue;  // the pipe is full of it: a pipe below max-line
    return TailAction::kWait;
}

Container::PumpResult Container::pumpPipe(Input& in, PipePeek& peeker, char* buffer,
                                          size_t buffer_size, int max_reads) {
    for (int i = 0; i < max_reads && !in.eof; ++i) {
        size_t want = peekSize(buffer_size);
        if (in.budget >= 0)
            want = std::min<size_t>(want, static_cast<size_t>(in.budget));
        ssize_t n = want == 0 ? 0 : peeker.peek(in.fd.get(), buffer, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return PumpResult::kDrained;
        if (n <= 0) {
            if (n < 0)
                spdlog::warn("container {}: reading its {}: {}; closing it", info_.shortId(),
                             streamName(in.framer.stream()), errnoText(errno));
            in.eof = true;  // end of file, budget spent, or a read error
            break;
        }
        read_time_ns_ = realtimeNs();
        std::string_view data(buffer, static_cast<size_t>(n));
        bool refused = false;
        size_t used = in.framer.frameComplete(data, refused);
        TailAction tail = TailAction::kReadMore;
        if (!refused && used < data.size()) {
            tail = decideTail(in, n, want, used);
            if (tail == TailAction::kCutFinal || tail == TailAction::kCutToContinue) {
                if (in.framer.pushIncomplete(data.substr(used), tail == TailAction::kCutFinal))
                    used = data.size();
                else
                    refused = true;
            }
        }
        if (used > 0)
            in.stalled_peek = 0;
        if (used > 0 && !peeker.discard(in.fd.get(), used, &in.ledger)) {
            spdlog::warn("container {}: taking bytes out of its {}: {}; closing it",
                         info_.shortId(), streamName(in.framer.stream()), errnoText(errno));
            in.eof = true;
            break;
        }
        if (in.budget >= 0)
            in.budget -= static_cast<int64_t>(used);
        if (refused)
            return PumpResult::kBlocked;
        if (tail == TailAction::kStopHere)
            in.budget = 0;  // the rest of the line stays in the pipe for the next instance
        if (tail == TailAction::kWait)
            return PumpResult::kWaitLineEnd;
    }
    if (in.budget == 0)
        in.eof = true;  // no event may come for an empty pipe: done now
    return in.eof ? PumpResult::kDrained : PumpResult::kMore;
}

void Container::countLinesSplit(Input& in) {
    if (uint64_t n = in.framer.takeLinesSplit())
        counters_.lines_split.store(counters_.lines_split.load(std::memory_order_relaxed) + n,
                                    std::memory_order_relaxed);
}

Container::PumpResult Container::pump(Input& in, PipePeek& peeker, char* buffer, size_t buffer_size,
                                      int max_reads) {
    PumpResult result = in.peek ? pumpPipe(in, peeker, buffer, buffer_size, max_reads)
                                : pumpStream(in, buffer, buffer_size, max_reads);
    countLinesSplit(in);
    return result;
}

// Streams that cannot be peeked (ttys, sockets): read() into the framer, which keeps an
// incomplete line itself.
Container::PumpResult Container::pumpStream(Input& in, char* buffer, size_t buffer_size,
                                            int max_reads) {
    if (in.framer.hasBacklog() && !in.framer.feed({}))
        return PumpResult::kBlocked;
    for (int i = 0; i < max_reads && !in.eof; ++i) {
        size_t want = buffer_size;
        if (in.budget >= 0)
            want = std::min<size_t>(want, static_cast<size_t>(in.budget));
        ssize_t n = want == 0 ? 0 : ::read(in.fd.get(), buffer, want);
        if (n > 0) {
            read_time_ns_ = realtimeNs();
            if (in.budget >= 0)
                in.budget -= n;
            if (!in.framer.feed({buffer, static_cast<size_t>(n)}))
                return PumpResult::kBlocked;
            continue;
        }
        const int error = errno;
        if (n < 0 && error == EINTR)
            continue;
        if (n < 0 && error == EAGAIN)
            return PumpResult::kDrained;
        // A pty's master fails with EIO once its other side is closed (and what was written
        // before has been read): that is how a tty container ends, not an error.
        if (n < 0 && !(error == EIO && ::isatty(in.fd.get())))
            spdlog::warn("container {}: reading its {}: {}; closing it", info_.shortId(),
                         streamName(in.framer.stream()), errnoText(error));
        in.eof = true;  // end of file, budget spent, or a read error
    }
    if (in.budget == 0)
        in.eof = true;  // no event may come for an empty fd: done now
    if (in.eof) {
        if (!in.framer.flush())
            return PumpResult::kBlocked;
        return PumpResult::kDrained;
    }
    return PumpResult::kMore;
}

bool Container::pushBacklog() {
    for (auto& in : inputs_) {
        bool pushed =
            (!in->framer.hasBacklog() || in->framer.feed({})) && (!in->eof || in->framer.flush());
        countLinesSplit(*in);
        if (!pushed)
            return false;
    }
    return true;
}

bool Container::inputFinished() const {
    if (files_open_ || push_open_)
        return false;
    for (const auto& in : inputs_)
        if (!in->eof || in->framer.hasBacklog())
            return false;
    return true;
}

bool Container::rateAllows(uint64_t bytes, Clock::time_point now, Clock::time_point& retry_at) {
    if (settings_.max_write_rate == 0)
        return true;
    // A token bucket that may go into debt: a batch is allowed while the bucket is not in debt,
    // so batches larger than a tenth of a second's worth still pass, and the average holds.
    double rate = static_cast<double>(settings_.max_write_rate);
    double elapsed = std::chrono::duration<double>(now - rate_updated_).count();
    if (rate_updated_ == Clock::time_point{})
        elapsed = 0.1;
    rate_updated_ = now;
    rate_tokens_ = std::min(rate_tokens_ + elapsed * rate, rate / 10);
    if (rate_tokens_ < 0) {
        retry_at =
            now + std::chrono::microseconds(static_cast<int64_t>(-rate_tokens_ / rate * 1e6) + 1);
        return false;
    }
    rate_tokens_ -= static_cast<double>(bytes);
    return true;
}

Container::ConsumeOutcome Container::consume(std::vector<RecordView>& scratch,
                                             std::vector<uint32_t>& ends, Clock::time_point now) {
    reopenIfAsked();
    if (waitingForPredecessor())
        return {};  // the daemon schedules us when it has drained
    return sinks_.size() == 1 ? consumeOne(scratch, ends, now) : consumeEach(scratch, ends, now);
}

// The batch's records as views into the ring, and where each ends; returns the payload bytes of
// those after `fresh_after` (the rate limit counts a record once, whatever the drivers).
uint64_t Container::decodeBatch(const RingLog::Batch& batch, std::vector<RecordView>& scratch,
                                std::vector<uint32_t>& ends, uint64_t fresh_after) const {
    scratch.clear();
    ends.clear();
    uint64_t payload = 0;
    std::unique_lock names(file_names_mutex_, std::defer_lock);
    for (uint32_t off = batch.begin; off < batch.end;) {
        RecordView v;
        off = RingLog::decode(batch.data, off, v);
        if (v.source != 0) {
            if (!names.owns_lock())
                names.lock();
            if (v.source <= file_names_.size())
                v.file = file_names_[v.source - 1];
        }
        scratch.push_back(v);
        ends.push_back(off);
        if (v.sequence > fresh_after)
            payload += v.message.size() + 1;
    }
    return payload;
}

// Records offered to a driver and not done, yet not refused: it may have sent them and wait to
// hear they were received (syslog over TCP), or have sent them before its connection broke.
// Their cell is kept from a drop while another can go (RingLog::hold), so that what is counted
// as dropped is what the server never gets.
void Container::holdInFlight(size_t sink, const WriteResult& r, size_t done,
                             std::span<const RecordView> offered) {
    if (r.status == WriteStatus::kRetry && done < offered.size()) {
        ring_->hold(offered[done].sequence, offered.back().sequence);
        held_by_ = sink + 1;
    } else if (held_by_ == sink + 1) {
        ring_->hold(0, 0);
        held_by_ = 0;
    }
}

Container::ConsumeOutcome Container::consumeOne(std::vector<RecordView>& scratch,
                                                std::vector<uint32_t>& ends,
                                                Clock::time_point now) {
    ConsumeOutcome out;
    LogDriver& driver = *sinks_.front()->driver;
    for (int turn = 0; turn < kBatchesPerTurn; ++turn) {
        RingLog::Batch batch;
        if (!ring_->take(batch))
            break;
        uint64_t payload = decodeBatch(batch, scratch, ends, 0);
        if (!rateAllows(payload, now, out.retry_at)) {
            ring_->release(batch, batch.begin, 0);
            out.kind = ConsumeOutcome::kRetryLater;
            return out;
        }
        WriteResult r = driver.write(scratch, batch.dropped_before);
        size_t retire = r.records_done;
        if (r.status == WriteStatus::kFatal)
            retire = scratch.size();
        // Followers get copies of what is persisted; the views point into the ring, so before
        // the cells are released to the producer.
        if (live_feed_->publish(std::span<const RecordView>(scratch).first(r.records_done)))
            out.wake_followers = true;
        uint32_t upto = retire == 0 ? batch.begin : ends[retire - 1];
        holdInFlight(0, r, retire, scratch);
        out.wake_producer |= ring_->release(batch, upto, retire);
        counters_.lines_written.fetch_add(r.records_done, std::memory_order_relaxed);
        if (r.status == WriteStatus::kFatal)
            counters_.lines_failed.fetch_add(retire - r.records_done);
        if (r.status == WriteStatus::kOk) {
            backoff_ = std::chrono::milliseconds(0);
            if (degraded_)
                out.health_changed |= noteWriteSuccess(now);
            continue;
        }
        if (r.status == WriteStatus::kRetry && r.busy_retry_ms > 0) {
            out.kind = ConsumeOutcome::kRetryLater;
            out.retry_at = now + std::chrono::milliseconds(r.busy_retry_ms);
            return out;
        }
        out.health_changed |= noteWriteFailure(r, now);
        if (r.status == WriteStatus::kRetry) {
            backoff_ = std::min(kMaxBackoff, backoff_.count() == 0 ? kFirstBackoff : backoff_ * 2);
            out.kind = ConsumeOutcome::kRetryLater;
            out.retry_at = now + backoff_;
            return out;
        }
    }
    // Read the closed flag first: once it is set, every record has been pushed.
    bool closed = input_closed_.load();
    if (!ring_->empty()) {
        out.kind = ConsumeOutcome::kMore;
    } else if (closed) {
        out.kind = ConsumeOutcome::kDrained;
    }
    return out;
}

// More than one driver: each reads the ring at its own position; the ring retires what all of
// them have. A driver that fails waits for its retry time while the others go on; in blocking
// mode it holds the ring (the writer is slowed), in non-blocking mode the ring drops the oldest
// records when full, lost to the drivers that did not have them yet, counted per driver.
Container::ConsumeOutcome Container::consumeEach(std::vector<RecordView>& scratch,
                                                 std::vector<uint32_t>& ends,
                                                 Clock::time_point now) {
    ConsumeOutcome out;
    auto nowNs = [](Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    };
    // The newest sequence some driver has: records past it are new, and rate-limited.
    uint64_t frontier = 0;
    for (const auto& sink : sinks_)
        frontier = std::max(frontier, sink->done_through.load());
    bool budget_spent = true;
    for (int turn = 0; turn < kBatchesPerTurn; ++turn) {
        bool progressed = false;
        for (size_t i = 0; i < sinks_.size(); ++i) {
            Sink& sink = *sinks_[i];
            if (sink.ready_at.load() > nowNs(now))
                continue;
            RingLog::Batch batch;
            uint64_t done = sink.done_through.load();
            if (!ring_->takeAfter(done, batch))
                continue;
            uint64_t fresh_payload = decodeBatch(batch, scratch, ends, frontier);
            if (fresh_payload > 0 && !rateAllows(fresh_payload, now, out.retry_at)) {
                ring_->endTake();
                sink.ready_at.store(nowNs(out.retry_at));
                continue;
            }
            // Records between this driver's position and the batch were dropped from the ring
            // before it had them.
            DropCount lost;
            lost.lines = scratch.front().sequence - done - 1;
            if (lost.any()) {
                uint64_t total = sink.lost.fetch_add(lost.lines) + lost.lines;
                if (auto suppressed = loss_log_.allow(now))
                    spdlog::warn(
                        "container {}: driver {} lost {} lines ({} in all): the ring was full "
                        "(non-blocking) and dropped them before it had them{}",
                        info_.shortId(), sink.name, lost.lines, total,
                        *suppressed ? fmt::format(", {} similar warnings suppressed", *suppressed)
                                    : "");
            }
            WriteResult r = sink.driver->write(scratch, lost);
            size_t through = r.status == WriteStatus::kFatal ? scratch.size() : r.records_done;
            if (i == settings_.reader &&
                live_feed_->publish(std::span<const RecordView>(scratch).first(r.records_done)))
                out.wake_followers = true;
            if (through > 0) {
                sink.done_through.store(scratch[through - 1].sequence);
                frontier = std::max(frontier, scratch[through - 1].sequence);
                progressed = true;
            } else if (lost.any()) {
                sink.done_through.store(scratch.front().sequence - 1);
            }
            holdInFlight(i, r, through, scratch);
            ring_->endTake();
            if (i == 0) {
                counters_.lines_written.fetch_add(r.records_done, std::memory_order_relaxed);
                if (r.status == WriteStatus::kFatal)
                    counters_.lines_failed.fetch_add(through - r.records_done);
            }
            noteWriteOutcome(sink, r, now, out);
        }
        uint64_t all_have = UINT64_MAX;
        for (const auto& sink : sinks_)
            all_have = std::min(all_have, sink->done_through.load());
        out.wake_producer |= ring_->retireThrough(all_have);
        if (!progressed) {
            budget_spent = false;
            break;
        }
    }
    if (budget_spent) {
        out.kind = ConsumeOutcome::kMore;
        return out;
    }
    // Nothing more for the drivers that may write now: wait for the others' retry time, or for
    // new records, whichever comes first.
    now = Clock::now();
    bool closed = input_closed_.load();
    uint64_t newest = ring_->newestSequence();
    std::optional<int64_t> earliest;
    for (const auto& sink : sinks_) {
        if (sink->done_through.load() >= newest)
            continue;
        int64_t at = sink->ready_at.load();
        if (at <= nowNs(now)) {
            out.kind = ConsumeOutcome::kMore;
            return out;
        }
        earliest = std::min(earliest.value_or(at), at);
    }
    if (earliest) {
        out.kind = ConsumeOutcome::kRetryLaterOrSooner;
        out.retry_at = Clock::time_point(std::chrono::nanoseconds(*earliest));
        out.arm_timer = std::exchange(timer_armed_at_, *earliest) != *earliest;
    } else if (ring_->empty() && closed) {
        out.kind = ConsumeOutcome::kDrained;
    }
    return out;
}

void Container::noteWriteOutcome(Sink& sink, const WriteResult& r, Clock::time_point now,
                                 ConsumeOutcome& out) {
    auto at = [](Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    };
    if (r.status == WriteStatus::kOk) {
        sink.backoff = std::chrono::milliseconds(0);
        if (degraded_)
            out.health_changed |= noteWriteSuccess(now);
        return;
    }
    if (r.status == WriteStatus::kRetry && r.busy_retry_ms > 0) {
        sink.ready_at.store(at(now + std::chrono::milliseconds(r.busy_retry_ms)));
        return;
    }
    WriteResult named = r;
    named.error = sink.name + ": " + r.error;
    out.health_changed |= noteWriteFailure(named, now);
    if (r.status == WriteStatus::kRetry) {
        sink.backoff =
            std::min(kMaxBackoff, sink.backoff.count() == 0 ? kFirstBackoff : sink.backoff * 2);
        sink.ready_at.store(at(now + sink.backoff));
    }
}

bool Container::hasWork() const {
    if (waitingForPredecessor())
        return false;
    if (input_closed_.load() || reopen_asked_.load())
        return true;
    if (sinks_.size() == 1)
        return !ring_->empty();
    uint64_t newest = ring_->newestSequence();
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
                   .count();
    for (const auto& sink : sinks_)
        if (sink->done_through.load() < newest && sink->ready_at.load() <= now)
            return true;
    return false;
}

void Container::requestReopen(ReopenDone done) {
    {
        std::lock_guard lock(reopen_mutex_);
        reopen_requests_.push_back(std::move(done));
    }
    reopen_asked_.store(true);
}

void Container::reopenIfAsked() {
    if (!reopen_asked_.exchange(false))
        return;
    std::vector<ReopenDone> requests;
    {
        std::lock_guard lock(reopen_mutex_);
        requests.swap(reopen_requests_);
    }
    // Every driver that keeps a file reopens it; an error only if none could.
    std::optional<Error> outcome;
    bool reopened = false;
    for (auto& sink : sinks_) {
        auto e = sink->driver->reopen();
        if (!e) {
            reopened = true;
        } else if (!outcome || outcome->status == RINGLOG_STATUS_INVALID_ARGUMENT) {
            outcome = Error{e->status, sink->name + ": " + e->message};
        }
    }
    if (reopened)
        outcome.reset();
    if (!outcome)
        spdlog::info("container {}: log file reopened", info_.shortId());
    for (auto& done : requests)
        done(outcome);
}

std::vector<std::pair<std::string, uint64_t>> Container::lostPerDriver() const {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& sink : sinks_)
        out.emplace_back(sink->name, sink->lost.load());
    return out;
}

SinkHealth Container::health() const {
    std::lock_guard lock(health_mutex_);
    return health_;
}

bool Container::noteWriteFailure(const WriteResult& r, Clock::time_point now) {
    uint64_t failures = counters_.write_failures.load(std::memory_order_relaxed) + 1;
    counters_.write_failures.store(failures, std::memory_order_relaxed);
    bool starts = false;
    {
        std::lock_guard lock(health_mutex_);
        health_.last_error = r.error;
        health_.last_error_at_us = static_cast<uint64_t>(realtimeNs() / 1000);
        // kFatal loses the records it names but says nothing of the next ones: not an episode.
        if (r.status == WriteStatus::kRetry && !health_.degraded)
            starts = health_.degraded = true;
    }
    if (starts) {
        degraded_ = true;
        degraded_since_ = now;
        failures_at_episode_start_ = failures - 1;
    }
    last_failure_ = now;
    if (auto suppressed = error_log_.allow(now)) {
        std::string what = r.status == WriteStatus::kFatal ? " (records dropped)"
                           : !starts                       ? " (still failing, will retry)"
                           : settings_.policy == OverflowPolicy::kBlock
                               ? "; degraded: its lines wait in its ring and its pipes, the "
                                 "container is slowed, and are written once this succeeds"
                               : "; degraded: its lines wait in its ring, the oldest dropped "
                                 "(counted) when it is full, and are written once this succeeds";
        spdlog::error(
            "container {}: {}{}{}", info_.shortId(), r.error, what,
            *suppressed ? fmt::format(", {} similar errors suppressed", *suppressed) : "");
    }
    return starts;
}

bool Container::noteWriteSuccess(Clock::time_point now) {
    // A full disk lets a few records through now and then (a torn record cut, a file rotated
    // away): recovered once the ring has caught up, or once writes have succeeded for a second.
    if (!ring_->empty() && now - last_failure_ < kRecoveredAfter)
        return false;
    degraded_ = false;
    {
        std::lock_guard lock(health_mutex_);
        health_.degraded = false;
    }
    spdlog::info(
        "container {}: recovered: persisting again after {:.1f} s and {} failed writes",
        info_.shortId(), std::chrono::duration<double>(now - degraded_since_).count(),
        counters_.write_failures.load(std::memory_order_relaxed) - failures_at_episode_start_);
    return true;
}

void Container::finish() {
    for (auto& sink : sinks_)
        sink->driver->close();
    std::vector<ReopenDone> requests;
    {
        std::lock_guard lock(reopen_mutex_);
        requests.swap(reopen_requests_);
    }
    for (auto& done : requests)
        done(
            Error{RINGLOG_STATUS_INVALID_ARGUMENT, "container " + info_.shortId() + " has exited"});
    live_feed_->close();
    state_.store(ContainerState::kExited);
}

}  // namespace ringlog
