// Reads a k8s-file (CRI) log back: the current file and its numbered rotations (plain or gzip),
// oldest first, the parts of a line (`P` … `F`) joined into one record. Filters apply to each
// part's time; a record's time (its cursor) is that of its last part. `tail` reads the newest
// file backwards; `since` skips whole files by their last time and binary-searches the first.
// `grep` applies to whole records (joined parts); with `tail`, the files are read forward and the
// last N matches kept, since going backwards a record's parts come last to first.
#pragma once

#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/log_driver.h"

namespace ringlog {

class LineSource;

// One line of a CRI log, its content a view into the line.
struct CriLine {
    int64_t time_ns = 0;
    Stream stream = Stream::kStdout;
    bool partial = false;  // tag P; F (or any other tag) ends a line
    std::string_view content;
};

// Parses a line without its '\n': "<RFC 3339 time> <stdout|stderr> <tag>[:<more tags>] <content>".
// The time as containerd writes it (nanoseconds, trailing zeros trimmed) or conmon (nine digits,
// a numeric offset), Z or an offset. The error, if the line is not a CRI record.
std::optional<std::string> parseCriLine(std::string_view line, CriLine& out);

// The end of the last whole line of a file of `size` bytes read through `fd` (0 when there is
// none), and that line's time when it is a CRI record; nullopt when the file cannot be read.
struct LastLine {
    int64_t end = 0;
    std::optional<int64_t> time_ns;
};
std::optional<LastLine> lastWholeLine(int fd, int64_t size);

class K8sFileReader final : public LogReader {
  public:
    // `log_file` is the current file (the `path` option, or <dir>/<id>.log); rotations are found
    // beside it. A missing log is an empty one.
    static Result<std::unique_ptr<LogReader>> open(const std::filesystem::path& log_file,
                                                   ReadFilter filter);
    ~K8sFileReader() override;
    Result<Step> step(StoredRecord& out) override;

    struct Segment;  // one file to read forward, from an offset (plain) or a line (gzip)

  private:
    K8sFileReader(std::vector<Segment> segments, ReadFilter filter, int64_t first_record_time,
                  std::optional<uint64_t> grep_tail);
    Result<Step> nextJoined(StoredRecord& out, ReadBudget& budget);  // before grep
    Result<bool> openSegment();
    void flushPending();

    struct Pending {
        std::string message;
        int64_t time_ns = 0;
        bool open = false;
    };

    std::vector<Segment> segments_;
    size_t current_ = 0;
    ReadFilter filter_;
    int64_t first_record_time_;  // `tail`: records before this one are not returned
    std::unique_ptr<LineSource> source_;
    uint64_t lines_to_skip_ = 0;
    Pending pending_[2];  // per stream, the parts of a line read so far
    std::deque<StoredRecord> ready_;
    bool done_ = false;
    std::optional<uint64_t> grep_tail_;  // `tail` with `grep`: the last N matches, kept here
    std::deque<StoredRecord> grep_tail_records_;
    bool grep_tail_read_ = false;
};

}  // namespace ringlog
