// The journald driver: one journal entry per record, with docker's journald field set, sent over
// journald's native protocol on a non-blocking socket (several entries per sendmmsg), so a slow
// or stopped journald makes this container retry, never blocks a thread.
//
// Fields (docs/drivers/journald.md): MESSAGE (binary-safe, without '\n'), PRIORITY (6 stdout,
// 3 stderr), CONTAINER_STREAM, CONTAINER_ID (short), CONTAINER_ID_FULL, CONTAINER_NAME,
// CONTAINER_TAG and SYSLOG_IDENTIFIER (the tag option, default the short id), IMAGE_NAME,
// SYSLOG_TIMESTAMP (capture time, RFC3339Nano), CONTAINER_LOG_EPOCH, CONTAINER_LOG_ORDINAL,
// CONTAINER_PARTIAL_* for split lines, and the labels/env attributes with docker's key rule.
#pragma once

#include <sys/un.h>

#include <sys/types.h>

#include <array>
#include <deque>
#include <string>

#include "drivers/log_driver.h"
#include "service/base/unique_fd.h"

namespace ringlog {

class JournaldDriver final : public LogDriver {
  public:
    static constexpr std::array<OptionSpec, 7> kOptions{{
        {"tag", OptionType::kString, "{{.ID}}", "CONTAINER_TAG and SYSLOG_IDENTIFIER, a template"},
        {"labels", OptionType::kString, "", "comma-separated container labels to add as fields"},
        {"labels-regex", OptionType::kString, "", "labels whose key matches this regex, as fields"},
        {"env", OptionType::kString, "", "comma-separated environment variables to add as fields"},
        {"env-regex", OptionType::kString, "",
         "environment variables matching this regex, as fields"},
        {"rate-limit-burst", OptionType::kInteger, "0",
         "lines per interval before suppressing (0: off)"},
        {"rate-limit-interval", OptionType::kString, "30s",
         "the rate limit's interval: 500ms, 30s, 5m"},
    }};

    static Result<std::unique_ptr<LogDriver>> create(const ContainerInfo& info,
                                                     const OptionMap& options,
                                                     const DriverEnvironment& env);
    static Result<std::unique_ptr<LogReader>> openReader(const ContainerInfo& info,
                                                         const OptionMap& options,
                                                         const DriverEnvironment& env,
                                                         const ReadFilter& filter);

    std::string resumeState() const override { return epoch_; }
    void resume(std::string_view state) override;

  protected:
    WriteResult doWrite(std::span<const RecordView> records,
                        const DropCount& dropped_before) override;
    void doClose() override;

  private:
    JournaldDriver(UniqueFd socket, std::string socket_path, std::string common_fields,
                   std::string epoch, std::string short_id, uint64_t burst, int64_t interval_ns);
    WriteResult writeEntries(std::span<const RecordView> records, const DropCount& dropped_before);
    void encode(std::string& out, const RecordView& r, const DropCount* dropped) const;
    void encodeSuppressedNotice(std::string& out, int64_t time_ns) const;
    // Sends entries[first, …); returns how many went, and sets `error` (errno) when one did not.
    size_t send(const std::vector<std::string>& entries, size_t first, int& error);
    bool sendViaMemfd(const std::string& entry, int& error);
    // The rate limit's verdict on a record, made once: a batch journald was too busy for comes
    // back, and its records must not count twice. Sets `notice` when a suppression notice is due
    // before this record.
    bool passesRateLimit(const RecordView& r, bool& notice);
    // After journald went away (or was replaced without us noticing a failure): resend what the
    // journal does not have. Returns false while journald is still away.
    bool recoverLostEntries(int& error);
    void remember(uint64_t ordinal, const std::string& entry);

    UniqueFd socket_;
    std::string socket_path_;
    struct sockaddr_un address_ {};
    std::string common_fields_;  // the container's fields, encoded once
    std::string epoch_;          // CONTAINER_LOG_EPOCH: one per attach
    std::string short_id_;
    uint64_t burst_;
    int64_t interval_ns_;
    int64_t window_start_ns_ = 0;
    uint64_t in_window_ = 0;
    uint64_t suppressed_ = 0;
    std::deque<std::pair<uint64_t, bool>> verdicts_;  // (sequence, kept), contiguous sequences
    std::string pending_notice_;                      // a notice not sent yet
    std::vector<std::string> entries_;
    std::vector<uint64_t> entry_ordinals_;  // CONTAINER_LOG_ORDINAL of each entry, 0 for notices

    // What was sent lately, for recoverLostEntries(): the native protocol has no acknowledgement,
    // so entries in a killed journald's queue are gone unless sent again.
    struct Sent {
        uint64_t ordinal;
        std::string entry;
    };
    std::deque<Sent> sent_;
    size_t sent_bytes_ = 0;
    ino_t journal_inode_ = 0;  // of the socket we last sent to
    bool suspect_ = false;     // journald may have lost what we sent
    uint64_t resent_ = 0;
    // During a recovery, the last ordinal already sent again: the journal may not show it yet
    // (journald writes a little after it accepts), so it must not decide about those again.
    uint64_t resent_through_ = 0;
    bool resuming_ = false;  // continuing an earlier ringlogd's epoch: skip what the journal has
    uint64_t skip_through_ = 0;  // once resumed: the highest ordinal the journal had
    uint64_t skipped_ = 0;       // records found in the journal already, for the log
};

// CONTAINER_PARTIAL_ID of the parts of one split line: 64 lowercase hex characters, the epoch's
// 32 (CONTAINER_LOG_EPOCH) then the group's first CONTAINER_LOG_ORDINAL in 32. Docker's is random
// (stringid.GenerateRandomID); this one is the same for the same group after a crash or restart.
std::string partialGroupId(std::string_view epoch, uint64_t first_ordinal);

// Parses "500ms", "30s", "5m", "1h" (docker's durations, the common cases) to nanoseconds.
std::optional<int64_t> parseDuration(std::string_view text);

}  // namespace ringlog
