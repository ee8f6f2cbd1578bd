// Reads a json-file log back: the current file and its rotations (plain or gzip), oldest first.
// `tail` reads the newest file backwards, so its cost depends on N, not on the log's size;
// `since` skips whole files by their last timestamp and binary-searches the first plain file it
// needs, so a query for the recent past does not read the whole history.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/log_driver.h"

namespace ringlog {

class LineSource;

class JsonFileReader final : public LogReader {
  public:
    // `log_file` is the current file (<dir>/<id>-json.log, or the `path` option); rotations are
    // found beside it. A missing log is an empty one.
    static Result<std::unique_ptr<LogReader>> open(const std::filesystem::path& log_file,
                                                   ReadFilter filter);
    ~JsonFileReader() override;
    Result<Step> step(StoredRecord& out) override;

    struct Segment;  // one file to read forward, from an offset, skipping some matches

  private:
    JsonFileReader(std::vector<Segment> segments, ReadFilter filter);
    Result<bool> openSegment();

    std::vector<Segment> segments_;
    size_t current_ = 0;
    ReadFilter filter_;
    std::unique_ptr<LineSource> source_;
    uint64_t to_skip_ = 0;
    bool done_ = false;
};

// One docker json-file line, decoded into `record` (its strings' buffers reused); the error, if
// the line is not a record.
std::optional<std::string> parseJsonFileLine(std::string_view line, StoredRecord& record);
// The same, into a new record. Exposed for tests.
Result<StoredRecord> parseJsonFileLine(std::string_view line);

}  // namespace ringlog
