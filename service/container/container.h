// Container: one attached container: its input streams (reader side), its ring log, and its
// driver (consumer side). The reader thread owns the streams and produces into the ring; one
// consumer thread at a time persists from it, as the seed's producer/consumer pair.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "drivers/log_driver.h"
#include "service/base/log_limiter.h"
#include "service/base/unique_fd.h"
#include "service/container/live_feed.h"
#include "service/ingest/framer.h"
#include "service/ingest/pipe_peek.h"
#include "service/ingest/push_request.h"
#include "service/ring/ring_log.h"

namespace ringlog {

// One of a container's log drivers, as the attach chose it.
struct DriverChoice {
    std::string name;
    OptionMap options;
    // The local copy ringlogd keeps of a container whose drivers cannot be read back (docker's
    // "dual logging" cache): a json-file driver on container-cached.log.
    bool cache = false;
};

// Attach-time settings that are the daemon's business, not the driver's.
struct AttachSettings {
    OverflowPolicy policy = OverflowPolicy::kBlock;
    uint64_t max_buffer_size = 1 << 20;
    uint32_t max_line = 16 * 1024;
    uint64_t max_write_rate = 0;     // payload bytes per second persisted, 0: unlimited
    std::vector<gid_t> reader_gids;  // groups whose members may read the logs (reader-groups)
    // Who may push records besides root and the user that attached it (docs/protocol.md, "Push"),
    // and how fast: pushed bytes (each line with its '\n') per second, 0 for no limit.
    std::vector<uid_t> push_uids;       // push-users
    std::vector<gid_t> push_gids;       // push-groups
    uint64_t push_rate = 0;             // push-rate
    std::vector<DriverChoice> drivers;  // at least one; the cache, if any, last
    // The driver queries read back: the first that can be read, else the cache; none (SIZE_MAX)
    // when nothing can be read.
    size_t reader = SIZE_MAX;

    // "json-file", or "k8s-file,journald" (the cache is not named: it is not the user's choice).
    std::string driverNames() const;
    const DriverChoice* readable() const {
        return reader < drivers.size() ? &drivers[reader] : nullptr;
    }
};

// Each counter has one writer (lines_in, bytes_in: the reader; the others: the consumer holding
// the container) and is read from other threads.
struct ContainerCounters {
    std::atomic<uint64_t> lines_in{0};
    std::atomic<uint64_t> bytes_in{0};
    std::atomic<uint64_t> lines_written{0};
    std::atomic<uint64_t> lines_failed{0};    // refused for good by the driver (kFatal)
    std::atomic<uint64_t> lines_split{0};     // lines cut at max-line (the reader)
    std::atomic<uint64_t> write_failures{0};  // driver writes that failed (retried or not)
};

enum class ContainerState { kAttached, kExited };

// Whether the container's sink takes its records (docs/reliability.md, "Sink health").
// `degraded` from the first failed write (disk full, journald away, permission denied) until a
// write succeeds again; the last error stays after that, for whoever asks later.
struct SinkHealth {
    bool degraded = false;
    std::string last_error;         // what failed, with the path or peer; empty: never
    uint64_t last_error_at_us = 0;  // realtime, microseconds since the epoch
};

class Container final : public RecordSink {
  public:
    using Clock = std::chrono::steady_clock;

    // One driver per settings.drivers entry, in the same order.
    Container(ContainerInfo info, AttachSettings settings, std::unique_ptr<RingLog> ring,
              std::vector<std::unique_ptr<LogDriver>> drivers, uint64_t first_sequence);
    Container(ContainerInfo info, AttachSettings settings, std::unique_ptr<RingLog> ring,
              std::unique_ptr<LogDriver> driver, uint64_t first_sequence);
    ~Container() override;

    const ContainerInfo& info() const { return info_; }
    const AttachSettings& settings() const { return settings_; }
    const ContainerCounters& counters() const { return counters_; }
    RingStats ringStats() const { return ring_->stats(); }
    // While no consumer holds it (see RingLog::unpersistedRecords).
    uint64_t ringUnpersistedRecords() const { return ring_->unpersistedRecords(); }
    uint64_t nextSequence() const { return next_sequence_; }
    const std::shared_ptr<LiveFeed>& liveFeed() const { return live_feed_; }
    ContainerState state() const { return state_.load(); }
    SinkHealth health() const;

    // ---- Reader side: the event-loop thread only. ----
    struct Input {
        Input(Container& c, Stream s, UniqueFd f, uint32_t max_line);
        UniqueFd fd;
        Framer framer;
        // Writes this input's discards down in the ring's ingest ledger (see PipePeek).
        struct Ledger final : PipePeek::Ledger {
            Ledger(RingLog& r, Stream s) : ring(r), stream(s) {}
            void begin() override { ring.beginDiscard(stream); }
            void end(uint64_t moved) override { ring.endDiscard(stream, moved); }
            RingLog& ring;
            Stream stream;
        } ledger;
        bool peek;            // a pipe, read with PipePeek; other fds (ttys, sockets) with read()
        size_t capacity = 0;  // of the pipe
        bool eof = false;
        // The event loop's business: how it watches the fd. Level-triggered while there is more
        // to read than one turn takes; edge-triggered while only an incomplete line is left;
        // parked (edge-triggered, not for input) while the ring is full.
        enum class WatchMode { kLevel, kEdge, kParked } watch_mode = WatchMode::kLevel;
        // Bytes still to read before stopping (shutdown); -1: no limit. An incomplete line at
        // the end of them stays in the pipe: a restart's next instance reads it whole; a stop
        // for good counts it with what it leaves behind.
        int64_t budget = -1;
        size_t stalled_peek = 0;  // a peek's size that saw no line end while the pipe had more
    };
    void addInput(Stream stream, UniqueFd fd);
    // After an adopt, before the first read: takes out of each pipe the bytes its ring has
    // already (a kill came between their commit and their discard). Returns how many.
    uint64_t skipWhatTheRingHas(PipePeek& peeker);
    std::vector<std::unique_ptr<Input>>& inputs() { return inputs_; }

    // kWaitLineEnd: the pipe holds only an incomplete line; only new bytes can change that.
    enum class PumpResult { kDrained, kBlocked, kMore, kWaitLineEnd };
    // Reads up to `max_reads` times from the input and frames what it gets into the ring. Sets the
    // input's eof at end of file or when its budget is spent; the caller then unwatches and
    // closes the fd.
    PumpResult pump(Input& input, PipePeek& peeker, char* buffer, size_t buffer_size,
                    int max_reads);
    // Pushes what a full ring refused earlier (and the final partial lines of closed inputs).
    // Returns false while the ring is still full.
    bool pushBacklog();
    bool blocked() const { return blocked_; }
    void setBlocked(bool b) { blocked_ = b; }
    // True once every input is closed and everything read is in the ring.
    bool inputFinished() const;
    // Marks that nothing more will be pushed; the consumer finalizes once the ring is empty.
    void closeInput() { input_closed_.store(true); }
    // A restarted container attached while its previous run was still draining: its records are
    // persisted only once the predecessor's are, so the log stays in order.
    void follow(std::shared_ptr<Container> predecessor) { predecessor_ = std::move(predecessor); }

    // ---- Log files (docs/log-files.md): the event-loop thread, like the pipes. ----
    // The index records of the log file `name` carry (RecordHeader::source, from 1), made on
    // first use; 0 once the table is full (the records then carry no name).
    uint16_t fileSource(std::string_view name);
    // Taken back from the fd store: the names (by index from 1) the ring's records refer to, as
    // the earlier instance kept them (FileRegistry). Before the consumer reads the ring.
    void restoreFileNames(std::vector<std::string> names);
    // A line of a log file, framed as a piped line; `end_offset`: the file's offset after it.
    bool pushFileLine(uint16_t source, uint64_t end_offset, std::string_view message, uint8_t flags,
                      uint32_t partial_ordinal, uint64_t& partial_id);
    // Reading begins: the records' time is the clock's now.
    void beginFileRead();
    // While held, the container's input is not finished even with every pipe closed: its log
    // files are still being read.
    void holdInputOpen(bool held) { files_open_ = held; }

    // ---- Pushed records (docs/protocol.md, "Push"): the event-loop thread, like the pipes. ----
    // Pushes the records one push request made, all or none: false, with nothing taken, when a
    // blocking ring has no room for all of them now.
    bool pushLines(Stream stream, const std::vector<PushedRecord>& records, uint64_t lines_split);
    // A push-only container: its input is not finished, though it has no pipe, while held
    // (from its attach until it is detached or ringlogd stops).
    void holdOpenForPushes(bool held) { push_open_ = held; }
    bool heldOpenForPushes() const { return push_open_; }
    // Whether pushes are taken: until the input is finished and closed (closeInput()).
    bool takesPushes() const { return !input_closed_.load(); }

    // RecordSink, called by the framers.
    bool push(Stream stream, std::string_view message, uint8_t flags, uint32_t partial_ordinal,
              uint64_t& partial_id) override;

    // ---- Consumer side: one consumer thread at a time. ----
    struct ConsumeOutcome {
        // kRetryLaterOrSooner: retry at retry_at, or as soon as new records come (a driver waits
        // for its retry time while the others are caught up).
        enum Kind { kIdle, kMore, kRetryLater, kRetryLaterOrSooner, kDrained } kind = kIdle;
        Clock::time_point retry_at{};
        // kRetryLaterOrSooner: false when a timer for retry_at is queued already (the consumer
        // returns this kind at every turn while a driver waits, and the queue should not grow).
        bool arm_timer = true;
        bool wake_producer = false;
        bool wake_followers = false;
        bool health_changed = false;  // degraded, or recovered: tell the bus
    };
    ConsumeOutcome consume(std::vector<RecordView>& scratch, std::vector<uint32_t>& ends,
                           Clock::time_point now);
    // Closes the drivers and marks the container exited. Called once, after kDrained.
    void finish();
    // Whether consume() has something to do now. With more than one driver, a driver that waits
    // for its retry time does not count: the others go on without it.
    bool hasWork() const;

    // Kubelet-style rotation (CRI ReopenContainerLog): asks the consumer to reopen the drivers'
    // files before its next write. `done` is called with the outcome (nullopt: reopened) from
    // the consumer thread, or from finish() if the container ends first.
    using ReopenDone = std::function<void(std::optional<Error>)>;
    void requestReopen(ReopenDone done);
    // Records some driver lost in non-blocking mode while another had them (more than one
    // driver): per driver name.
    std::vector<std::pair<std::string, uint64_t>> lostPerDriver() const;

    // Scheduling flag for the consumer pool: set while the container is queued or being consumed.
    std::atomic<bool> scheduled{false};
    std::atomic<bool> finished{false};
    // Set by a kRetryLaterOrSooner timer that came while the container was queued or running.
    std::atomic<bool> retry_missed{false};

  private:
    // A driver of this container and where it reads the ring. With one driver the ring's own
    // consumer position is used (take/release); with more, each has its own (takeAfter).
    struct Sink {
        std::string name;
        std::unique_ptr<LogDriver> driver;
        std::atomic<uint64_t> done_through{0};  // the last sequence persisted, failed or lost
        std::atomic<int64_t> ready_at{0};       // steady-clock ns: waits for a retry until then
        std::chrono::milliseconds backoff{0};
        std::atomic<uint64_t> lost{0};  // records dropped from the ring before this driver had them
    };
    ConsumeOutcome consumeOne(std::vector<RecordView>& scratch, std::vector<uint32_t>& ends,
                              Clock::time_point now);
    ConsumeOutcome consumeEach(std::vector<RecordView>& scratch, std::vector<uint32_t>& ends,
                               Clock::time_point now);
    void reopenIfAsked();
    uint64_t decodeBatch(const RingLog::Batch& batch, std::vector<RecordView>& scratch,
                         std::vector<uint32_t>& ends, uint64_t fresh_after) const;
    bool pushLine(RecordHeader h, std::string_view message, uint8_t flags, uint32_t partial_ordinal,
                  uint64_t& partial_id);
    bool pushRecord(RecordHeader& h, std::string_view message);
    void holdInFlight(size_t sink, const WriteResult& r, size_t done,
                      std::span<const RecordView> offered);
    void noteWriteOutcome(Sink& sink, const WriteResult& r, Clock::time_point now,
                          ConsumeOutcome& out);

    PumpResult pumpPipe(Input& in, PipePeek& peeker, char* buffer, size_t buffer_size,
                        int max_reads);
    PumpResult pumpStream(Input& in, char* buffer, size_t buffer_size, int max_reads);
    // What becomes of an incomplete line that ends a peek (docs/behaviour.md, "Framing").
    enum class TailAction {
        kReadMore,       // more bytes are in the pipe: peek again from the line's start
        kWait,           // the line's writer will complete it: wait in the pipe, edge-triggered
        kCutFinal,       // its writers are gone: the last part of the stream
        kCutToContinue,  // push it as a part that later bytes continue
        kStopHere,       // stopping: leave it in the pipe
    };
    TailAction decideTail(Input& in, ssize_t n, size_t want, size_t used);
    void countLinesSplit(Input& in);
    size_t peekSize(size_t buffer_size) const;
    bool waitingForPredecessor() const { return predecessor_ && !predecessor_->finished.load(); }
    bool rateAllows(uint64_t bytes, Clock::time_point now, Clock::time_point& retry_at);
    // A failed write: counted, kept as the last error, logged once per episode (rate-limited).
    // Returns true when it starts an episode (the state changes to degraded).
    bool noteWriteFailure(const WriteResult& r, Clock::time_point now);
    // A write that succeeded while degraded: ends the episode if it is over. True when it did.
    bool noteWriteSuccess(Clock::time_point now);

    const ContainerInfo info_;
    const AttachSettings settings_;
    std::unique_ptr<RingLog> ring_;
    std::vector<std::unique_ptr<Sink>> sinks_;
    ContainerCounters counters_;
    std::shared_ptr<LiveFeed> live_feed_ = std::make_shared<LiveFeed>();
    std::atomic<ContainerState> state_{ContainerState::kAttached};

    // reader side
    std::vector<std::unique_ptr<Input>> inputs_;
    uint64_t next_sequence_;
    // Record times are strictly increasing (a record's time is its cursor): each record gets the
    // clock reading of the read that brought it, nudged past the previous record's.
    int64_t last_time_ns_ = 0;
    int64_t read_time_ns_ = 0;
    uint64_t ring_bytes_pushed_ = 0;  // with bytes_in: the ring bytes an input byte takes
    bool blocked_ = false;
    bool files_open_ = false;
    bool push_open_ = false;
    // The log files' names by RecordHeader::source - 1: appended by the reader, read by the
    // consumer (a deque: appending moves no element, so names handed out stay valid).
    mutable std::mutex file_names_mutex_;
    std::deque<std::string> file_names_;

    // consumer side
    std::shared_ptr<Container> predecessor_;  // set before the first schedule, then read-only
    std::atomic<bool> input_closed_{false};
    std::chrono::milliseconds backoff_{0};
    int64_t timer_armed_at_ = 0;
    size_t held_by_ = 0;  // 1 + the driver whose records in flight the ring holds; 0: none  //
                          // steady-clock ns of the last kRetryLaterOrSooner timer
    double rate_tokens_ = 0;
    Clock::time_point rate_updated_{};
    LogLimiter error_log_;
    LogLimiter loss_log_;    // a driver's lines dropped before it had them (more than one driver)
    bool degraded_ = false;  // the consumer's copy of health_.degraded, read without the lock
    Clock::time_point degraded_since_{};
    Clock::time_point last_failure_{};
    uint64_t failures_at_episode_start_ = 0;
    mutable std::mutex health_mutex_;  // the consumer writes it, the event loop reads it
    SinkHealth health_;
    std::mutex reopen_mutex_;  // the bus asks, the consumer answers
    std::vector<ReopenDone> reopen_requests_;
    std::atomic<bool> reopen_asked_{false};
};

}  // namespace ringlog
