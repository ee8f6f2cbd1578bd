// LogDriver: where a container's records are persisted. One class per driver, one folder per
// driver under drivers/, all listed in drivers/registry.cpp.
//
// Contract:
//  - A driver is created when its container attaches, from options already validated against its
//    option table (unknown keys and bad values never reach it). Creation opens what the driver
//    needs, so a bad path or a refused file is an attach error, not a later surprise.
//  - write() is called by one consumer thread at a time, with records in order. It persists a
//    prefix of them and says how many; records it did not persist stay in the ring:
//      kOk     all persisted;
//      kRetry  a transient failure (disk full, journald away): the rest are offered again later,
//              with backoff, and in blocking mode the container waits meanwhile;
//      kFatal  these records can never be written here: they are counted as dropped.
//  - close() is called once, after the last write(), when the container's ring is drained.
//  - Restarts (docs/reliability.md): resumeState() is what a later ringlogd needs to carry this
//    container's log on (kept beside the ring, in systemd's fd store); a driver created by that
//    later ringlogd gets it back through resume() before its first write(). Its first records may
//    then already be persisted (the earlier process was killed between writing and retiring
//    them): the driver skips those it can recognise.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service/base/error.h"
#include "service/base/record.h"

namespace ringlog {

// Work a driver hands off its write path (compressing a rotated file): run later on another
// thread, in the order posted. The daemon's background thread implements it.
class BackgroundWork {
  public:
    virtual ~BackgroundWork() = default;
    virtual void post(std::function<void()> task) = 0;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct ContainerInfo {
    std::string id;  // full id
    std::string name;
    std::string image;
    KeyValues labels;
    KeyValues env;
    std::string shortId() const { return id.substr(0, 12); }
};

enum class OptionType {
    kString,
    kSize,         // docker's binary sizes (units.RAMInBytes): 1m is 1,048,576; or -1
    kDecimalSize,  // docker's decimal sizes (units.FromHumanSize): 1m is 1,000,000; or -1
    kInteger,
    kBool,
};

// One option a driver accepts, declared as data so it can be validated before the driver exists
// and listed in the documentation.
struct OptionSpec {
    std::string_view key;
    OptionType type;
    std::string_view default_value;  // empty: no default
    std::string_view description;
};

// Validated options: every key of the driver's table, with its default where none was given.
using OptionMap = std::map<std::string, std::string, std::less<>>;

// What drivers get from the daemon.
struct DriverEnvironment {
    std::string log_root;                    // default root of per-container log directories
    std::vector<std::string> allowed_roots;  // where an explicit `path` option may point
    BackgroundWork* background = nullptr;    // for work off the write path (compression)
};

enum class WriteStatus { kOk, kRetry, kFatal };

struct WriteResult {
    WriteStatus status = WriteStatus::kOk;
    size_t records_done = 0;  // a prefix of the batch that is persisted
    std::string error;        // for kRetry / kFatal: what failed, with the path or peer
    // kRetry only: flow control rather than a failure (the peer is busy, e.g. journald's queue is
    // full): retry after this many milliseconds, without backing off and without reporting it.
    int busy_retry_ms = 0;
};

class LogDriver {
  public:
    virtual ~LogDriver() = default;

    // Persists records; `dropped_before` is non-empty when non-blocking mode lost lines just
    // before records[0], which the driver marks on that record. Never throws.
    WriteResult write(std::span<const RecordView> records,
                      const DropCount& dropped_before) noexcept;
    void close() noexcept;

    virtual std::string resumeState() const { return {}; }
    virtual void resume(std::string_view /*state*/) {}

    // Kubelet-style rotation (CRI ReopenContainerLog): the engine renamed the log file and asks
    // for a new one at the configured path. Called on the consumer thread, between writes; after
    // it returns, the next write() goes to the new file. nullopt: done; an error says why not
    // (the default: this driver keeps no file to reopen).
    virtual std::optional<Error> reopen() {
        return invalid("this log driver keeps no file that could be reopened");
    }

    uint64_t recordsWritten() const { return records_written_; }

  protected:
    virtual WriteResult doWrite(std::span<const RecordView> records,
                                const DropCount& dropped_before) = 0;
    virtual void doClose() {}

  private:
    uint64_t records_written_ = 0;
    bool closed_ = false;
};

// Decides whether a record's message is wanted: a query's `grep` (journalctl's --grep). The
// implementation (PCRE2) lives above the drivers (service/query/message_grep.h); readers only ask.
// Not thread-safe: one query's reader and stream use it on one thread.
class MessageMatcher {
  public:
    virtual ~MessageMatcher() = default;
    virtual bool matches(std::string_view message) const = 0;
};

// What a reader is asked for: docker logs' --since, --until, --tail and a stream choice, and
// journalctl's --grep. Times are inclusive at both ends, as docker's.
struct ReadFilter {
    std::optional<int64_t> since_ns;
    std::optional<int64_t> until_ns;
    std::optional<uint64_t> tail;  // the last N records that pass the other filters
    std::string after_cursor;      // only records after this one (a cursor the reader handed out)
    bool stdout_stream = true;
    bool stderr_stream = true;
    // Only records whose message this matches; null: all. `tail` counts the records that match.
    std::shared_ptr<const MessageMatcher> grep;

    bool wants(Stream s) const { return s == Stream::kStderr ? stderr_stream : stdout_stream; }
    bool matches(std::string_view message) const { return !grep || grep->matches(message); }
    bool inTime(int64_t t) const {
        return (!since_ns || t >= *since_ns) && (!until_ns || t <= *until_ns);
    }
};

// A record read back from where a driver persisted it.
struct StoredRecord {
    Stream stream = Stream::kStdout;
    int64_t time_ns = 0;
    std::string message;    // without the trailing '\n'
    bool newline = false;   // false: a partial record (a cut line, or a last line without '\n')
    std::string attrs;      // driver-specific extra attributes, as JSON, or empty
    uint64_t sequence = 0;  // the per-container sequence number when known, else 0
    std::string cursor;     // where the driver keeps it (journald's __CURSOR); empty: by time
};

// How much one LogReader::step() may pass over (records its filter rejects) before it hands
// control back with no record: a query's scan runs on the event loop, which must go on ingesting
// while a rarely matching filter reads a large log. Either limit ends the step.
class ReadBudget {
  public:
    static constexpr uint32_t kRecords = 8192;
    static constexpr size_t kBytes = 1 << 20;
    // Counts one rejected record of about `bytes`; true: the step should yield now.
    bool spend(size_t bytes) {
        bytes_ += bytes;
        return ++records_ >= kRecords || bytes_ >= kBytes;
    }

  private:
    uint32_t records_ = 0;
    size_t bytes_ = 0;
};

// Reads a container's persisted records back in time order. Drivers that can be read implement
// it (docker's "driver with an optional reader").
class LogReader {
  public:
    enum class Step {
        kRecord,  // `out` holds the next record
        kEnd,     // no more records
        kYield,   // a ReadBudget was spent on rejected records and none is in `out` yet: call again
    };
    virtual ~LogReader() = default;
    // The next record, within one ReadBudget; an error names the file and what was wrong.
    virtual Result<Step> step(StoredRecord& out) = 0;
    // The next record, false at the end, however much it passes over (for callers that are not
    // on the event loop).
    Result<bool> next(StoredRecord& out) {
        for (;;) {
            auto s = step(out);
            if (!s)
                return s.error();
            if (*s != Step::kYield)
                return *s == Step::kRecord;
        }
    }
};

using DriverFactory = Result<std::unique_ptr<LogDriver>> (*)(const ContainerInfo&, const OptionMap&,
                                                             const DriverEnvironment&);

using ReaderFactory = Result<std::unique_ptr<LogReader>> (*)(const ContainerInfo&, const OptionMap&,
                                                             const DriverEnvironment&,
                                                             const ReadFilter&);

struct DriverDescriptor {
    std::string_view name;
    std::span<const OptionSpec> options;
    DriverFactory create;
    ReaderFactory open_reader;  // nullptr: the driver keeps nothing to read back
    // Records the live feed keeps even with no follower, for drivers whose reader may not see
    // the newest records yet (journald writes what it receives a little later) and whose records
    // carry sequence numbers: a follower's history and live records then meet by sequence.
    size_t live_backlog = 0;
};

}  // namespace ringlog
