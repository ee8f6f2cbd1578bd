// Reading a log file back, what the file drivers' readers share: a file read forward line by
// line in 64 KiB chunks (plain from a byte offset, or gzip), and the binary search of a plain
// file for where a `since` starts. Each reader parses its own format from the lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "drivers/log_driver.h"
#include "service/base/unique_fd.h"

struct gzFile_s;

namespace ringlog {

// The size of the chunks a log file is read in.
inline constexpr size_t kLogReadChunk = 64 * 1024;

class LineSource {
  public:
    // Opens `path`, gzip when `gz`; a plain file from `offset` (a line start). Null when the file
    // cannot be opened (rotated away since it was listed); an error when it cannot be positioned.
    // `name` stands for the file in errors: "reading <name>: <errno text>".
    static Result<std::unique_ptr<LineSource>> open(const std::filesystem::path& path, bool gz,
                                                    uint64_t offset, std::filesystem::path name);
    ~LineSource();
    LineSource(const LineSource&) = delete;
    LineSource& operator=(const LineSource&) = delete;

    // The next line without its '\n', a view into the buffer valid until the next call; false at
    // the end. A last line without '\n' (torn, or being written) is not returned.
    Result<bool> readLine(std::string_view& line);

  private:
    explicit LineSource(std::filesystem::path name);
    Error readError() const;

    std::filesystem::path name_;
    UniqueFd fd_;
    gzFile_s* gz_ = nullptr;
    std::string buffer_;
    size_t pos_ = 0;
    bool eof_ = false;
};

// A line's time, or nullopt when the line is not a record of the format.
using LineTime = std::optional<int64_t> (*)(std::string_view line);

// A line start in the plain file `path` at or before which every record is older than `since`
// (0 when the file cannot be read): a binary search down to a chunk, lines that are not records
// taken as not older.
uint64_t searchSince(const std::filesystem::path& path, int64_t since, LineTime time_of);

}  // namespace ringlog
