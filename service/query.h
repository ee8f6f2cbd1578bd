// Query: one `Query` call's stream. Records come from the container's driver reader and go into a
// non-blocking pipe whose read end the caller got; the event loop calls pump() whenever the pipe
// has room, so a slow reader costs a buffer, never a thread, and never blocks ingestion.
#pragma once

#include <memory>
#include <string>

#include "log_driver.h"
#include "unique_fd.h"

namespace ringlog {

enum class QueryFormat {
    kRaw,   // the bytes as the container wrote them (partial records joined back)
    kJson,  // one JSON object per record
};

struct QueryOptions {
    ReadFilter filter;
    QueryFormat format = QueryFormat::kRaw;
};

class QueryStream {
  public:
    QueryStream(std::unique_ptr<LogReader> reader, QueryFormat format, UniqueFd out);

    enum class Progress { kWaitWritable, kDone };
    // Writes as much as the pipe takes, up to a bounded amount per call (so one query cannot
    // hold the event loop), then says whether to wait for room or whether the stream is over.
    Progress pump();
    int fd() const { return out_.get(); }

  private:
    bool refill();

    std::unique_ptr<LogReader> reader_;
    QueryFormat format_;
    UniqueFd out_;
    std::string buffer_;
    size_t sent_ = 0;
    bool exhausted_ = false;
};

// One record in the JSON query format (docs/dbus.md), with a trailing newline.
void appendQueryJson(std::string& out, const StoredRecord& record);

}  // namespace ringlog
