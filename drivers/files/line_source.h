// Reading a log file back, what the file drivers' readers share: a file read forward line by
// line in 64 KiB chunks (plain from a byte offset, or gzip), read backwards from its end (tail),
// and the binary search of a plain file for where a `since` starts. Each reader parses its own
// format from the lines.
#pragma once

#include <unistd.h>

#include <algorithm>
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

// How a backward scan ended (forEachLineBackwards).
enum class BackwardScan { kDone, kStopped, kReadError };

// Visits the whole lines of the plain file `fd` that lie between the line start `floor` and
// `end`, last first: each without its '\n', with its offset. A last line without '\n' (being
// written, or torn) is not one, as LineSource does not return it. Read in chunks from the end,
// so that a tail of a large log reads only its end. Stops when `visit` returns false; on
// kReadError errno says why.
template <class Visit>
BackwardScan forEachLineBackwards(int fd, uint64_t floor, uint64_t end, Visit&& visit);

// A line's time, or nullopt when the line is not a record of the format.
using LineTime = std::optional<int64_t> (*)(std::string_view line);

// A line start in the plain file `path` at or before which every record is older than `since`
// (0 when the file cannot be read): a binary search down to a chunk, lines that are not records
// taken as not older.
uint64_t searchSince(const std::filesystem::path& path, int64_t since, LineTime time_of);

template <class Visit>
BackwardScan forEachLineBackwards(int fd, uint64_t floor, uint64_t end, Visit&& visit) {
    std::string carry;  // an incomplete line continued from the chunk after
    bool last_line_checked = false;
    while (end > floor) {
        uint64_t begin = std::max<uint64_t>(floor, end > kLogReadChunk ? end - kLogReadChunk : 0);
        std::string chunk(end - begin, '\0');
        if (::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(begin)) !=
            static_cast<ssize_t>(chunk.size()))
            return BackwardScan::kReadError;
        chunk += carry;
        size_t line_end = chunk.size();
        if (!last_line_checked) {
            size_t nl = chunk.rfind('\n');
            if (nl == std::string::npos && begin > floor) {
                carry.clear();  // all of it is the unfinished last line: no line
                end = begin;
                continue;
            }
            line_end = nl == std::string::npos ? 0 : nl;
            last_line_checked = true;
        }
        for (;;) {
            size_t nl = line_end == 0 ? std::string::npos : chunk.rfind('\n', line_end - 1);
            if (nl == std::string::npos && begin > floor)
                break;  // the line starts in an earlier chunk
            size_t line_start = nl == std::string::npos ? 0 : nl + 1;
            if (line_start < line_end &&
                !visit(std::string_view(chunk).substr(line_start, line_end - line_start),
                       begin + line_start))
                return BackwardScan::kStopped;
            if (nl == std::string::npos)
                break;
            line_end = nl;
        }
        carry = chunk.substr(0, line_end);
        end = begin;
    }
    return BackwardScan::kDone;
}

}  // namespace ringlog
