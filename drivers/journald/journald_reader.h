// Reads a journald container's entries back from the journal (match CONTAINER_ID_FULL), oldest
// first: `tail` from the journal's end backwards, `since` by seeking, `after_cursor` by the
// journal's own cursor (an entry vacuumed since is an error, never silently another position).
// Record times are the capture times (SYSLOG_TIMESTAMP), sequences the CONTAINER_LOG_ORDINAL.
// sd_journal objects are bound to the thread that opened them: a reader lives on one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "drivers/log_driver.h"

struct sd_journal;

namespace ringlog {

class JournaldReader final : public LogReader {
  public:
    static Result<std::unique_ptr<LogReader>> open(const std::string& full_id, ReadFilter filter);
    ~JournaldReader() override;
    Result<Step> step(StoredRecord& out) override;

  private:
    JournaldReader(sd_journal* journal, ReadFilter filter)
        : journal_(journal), filter_(std::move(filter)) {}
    Result<bool> collectTail();
    void readEntry(StoredRecord& out);

    sd_journal* journal_;
    ReadFilter filter_;
    bool tail_collected_ = false;
    std::vector<StoredRecord> tail_;  // newest first
};

}  // namespace ringlog
