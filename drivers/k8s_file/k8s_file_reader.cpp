#include "drivers/k8s_file/k8s_file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <memory>

#include "drivers/files/line_source.h"
#include "drivers/files/rotation.h"
#include "service/base/unique_fd.h"
#include "service/base/units.h"

namespace ringlog {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = kLogReadChunk;
constexpr size_t kMostJoined = 1 << 20;  // bytes of a line's parts joined into one record

Error readError(const fs::path& path) {
    return Error{RINGLOG_STATUS_DRIVER_ERROR, "reading " + path.string() + ": " + errnoText(errno)};
}

}  // namespace

std::optional<std::string> parseCriLine(std::string_view line, CriLine& out) {
    size_t time_end = line.find(' ');
    if (time_end == std::string_view::npos)
        return "no time";
    auto t = parseRfc3339(line.substr(0, time_end));
    if (!t)
        return "bad time \"" + std::string(line.substr(0, time_end)) + "\"";
    std::string_view rest = line.substr(time_end + 1);
    if (rest.starts_with("stdout "))
        out.stream = Stream::kStdout;
    else if (rest.starts_with("stderr "))
        out.stream = Stream::kStderr;
    else
        return "no stream";
    rest.remove_prefix(7);
    size_t tag_end = rest.find(' ');
    if (tag_end == std::string_view::npos)
        return "no tag";
    // Tags are ':'-separated for what later versions add; the first says partial or full, as
    // kubelet reads it.
    std::string_view tag = rest.substr(0, std::min(tag_end, rest.find(':')));
    out.time_ns = *t;
    out.partial = tag == "P";
    out.content = rest.substr(tag_end + 1);
    return std::nullopt;
}

std::optional<LastLine> lastWholeLine(int fd, int64_t size) {
    constexpr int64_t kMostRead = 64 << 20;  // far beyond any line; a file is not read whole
    LastLine last;
    std::string tail;
    for (int64_t chunk = 64 * 1024;; chunk *= 4) {
        int64_t start = std::max<int64_t>(0, size - chunk);
        tail.resize(static_cast<size_t>(size - start));
        if (::pread(fd, tail.data(), tail.size(), start) != static_cast<ssize_t>(tail.size()))
            return std::nullopt;
        size_t end = tail.rfind('\n');
        if (end == std::string::npos && start > 0) {
            if (chunk >= kMostRead)
                return std::nullopt;  // not a log of lines: leave it alone
            continue;
        }
        if (end == std::string::npos)
            return last;
        last.end = start + static_cast<int64_t>(end) + 1;
        size_t begin = end == 0 ? std::string::npos : tail.rfind('\n', end - 1);
        if (begin == std::string::npos && start > 0 && chunk < kMostRead)
            continue;  // the last line starts before this chunk
        size_t from = begin == std::string::npos ? 0 : begin + 1;
        CriLine line;
        if (!parseCriLine(std::string_view(tail).substr(from, end - from), line))
            last.time_ns = line.time_ns;
        return last;
    }
}

// ---- reading files ----

struct K8sFileReader::Segment {
    fs::path path;  // /proc/self/fd/<held>: the file as it was found, wherever it is renamed to
    bool gz = false;
    uint64_t offset = 0;      // plain files: where to start (a line start)
    uint64_t skip_lines = 0;  // gzip files: lines to pass over first
    fs::path name;            // where it was found, for messages
    std::shared_ptr<UniqueFd> held;
};

namespace {

std::optional<int64_t> lastTimeOfPlainFile(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0)
        return std::nullopt;
    auto last = lastWholeLine(fd.get(), st.st_size);
    return last ? last->time_ns : std::nullopt;
}

std::optional<int64_t> timeOfLine(std::string_view text) {
    CriLine line;
    return parseCriLine(text, line) ? std::nullopt : std::optional<int64_t>(line.time_ns);
}

// Visits a file's lines from the last to the first (to `floor`, a line start), with where each
// starts: a byte offset (plain) or a line number (gzip); stops when `visit` says false.
using LineVisitor = std::function<bool(uint64_t position, const CriLine& line)>;

Result<bool> visitBackwards(const fs::path& path, bool gz, uint64_t floor,
                            const LineVisitor& visit) {
    CriLine line;
    if (gz) {
        // A gzip file cannot be read backwards: its lines' headers, forward, then visited back.
        gzFile in = gzopen(path.c_str(), "rb");
        if (in == nullptr)
            return true;
        struct Header {
            int64_t time_ns;
            Stream stream;
            bool partial;
        };
        std::vector<Header> headers;
        std::string buffer(kChunk, '\0'), carry;
        for (;;) {
            int n = gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()));
            if (n < 0) {
                gzclose(in);
                return readError(path);
            }
            if (n == 0)
                break;
            carry.append(buffer.data(), static_cast<size_t>(n));
            size_t start = 0;
            for (size_t nl; (nl = carry.find('\n', start)) != std::string::npos; start = nl + 1) {
                if (parseCriLine(std::string_view(carry).substr(start, nl - start), line))
                    headers.push_back({INT64_MIN, Stream::kStdout, false});  // not a record
                else
                    headers.push_back({line.time_ns, line.stream, line.partial});
            }
            carry.erase(0, start);
        }
        gzclose(in);
        for (size_t i = headers.size(); i-- > 0;) {
            if (headers[i].time_ns == INT64_MIN)
                continue;
            line = {headers[i].time_ns, headers[i].stream, headers[i].partial, {}};
            if (!visit(i, line))
                return false;
        }
        return true;
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0)
        return true;
    auto scan = forEachLineBackwards(fd.get(), floor, static_cast<uint64_t>(st.st_size),
                                     [&](std::string_view text, uint64_t offset) {
                                         return parseCriLine(text, line) ||
                                                visit(offset, line);  // not a line: skipped
                                     });
    if (scan == BackwardScan::kReadError)
        return readError(path);
    return scan == BackwardScan::kDone;
}

}  // namespace

Result<std::unique_ptr<LogReader>> K8sFileReader::open(const fs::path& log_file,
                                                       ReadFilter filter) {
    std::optional<int64_t> cursor;
    if (!filter.after_cursor.empty()) {
        // A k8s-file cursor is a record's time (its last part's): strictly increasing per
        // container.
        int64_t t = 0;
        const char* first = filter.after_cursor.data();
        const char* last = first + filter.after_cursor.size();
        auto [end, ec] = std::from_chars(first, last, t);
        if (ec != std::errc() || end != last)
            return invalid("option \"after_cursor\": \"" + filter.after_cursor +
                           "\" is not a cursor returned by a query");
        cursor = t;
        filter.after_cursor.clear();
        // Nothing is after the last time there is (and *cursor + 1 below would overflow).
        if (t == INT64_MAX)
            return std::unique_ptr<LogReader>(
                new K8sFileReader({}, std::move(filter), INT64_MAX, std::nullopt));
    }
    // Each file is held open from here on: a rotation while the reader goes through them (a
    // follower's history) renames them, and a name would then be another file.
    // Newest first: a rotation between two opens then shows as one file opened twice.
    std::vector<Segment> segments;
    for (int attempt = 0; attempt < 5; ++attempt) {
        segments.clear();
        std::vector<std::pair<dev_t, ino_t>> seen;
        bool moved = false;
        auto files = numberedLogFiles(log_file);
        for (auto it = files.rbegin(); it != files.rend(); ++it) {
            RotatedFile& f = *it;
            auto held = std::make_shared<UniqueFd>(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
            struct stat st;
            if (!*held || ::fstat(held->get(), &st) != 0)
                continue;  // rotated away since it was listed
            std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
            moved |= std::find(seen.begin(), seen.end(), id) != seen.end();
            seen.push_back(id);
            Segment s;
            s.path = "/proc/self/fd/" + std::to_string(held->get());
            s.gz = f.gz;
            s.name = std::move(f.path);
            s.held = std::move(held);
            segments.push_back(std::move(s));
        }
        if (!moved)
            break;  // else a rotation came between two opens: one file was seen twice
    }
    std::reverse(segments.begin(), segments.end());  // oldest first

    if (filter.since_ns) {
        // Skip the files that end before `since`, and search the first one that does not.
        size_t first = 0;
        while (first < segments.size()) {
            const auto& s = segments[first];
            auto last = s.gz ? lastTimeOfGzipFile(s.path) : lastTimeOfPlainFile(s.path);
            if (!last || *last >= *filter.since_ns)
                break;
            ++first;
        }
        segments.erase(segments.begin(), segments.begin() + static_cast<long>(first));
        if (!segments.empty() && !segments.front().gz)
            segments.front().offset =
                searchSince(segments.front().path, *filter.since_ns, timeOfLine);
    }

    std::optional<uint64_t> grep_tail;
    if (filter.grep && filter.tail) {
        grep_tail = filter.tail;
        filter.tail.reset();
    }
    int64_t first_record_time = INT64_MIN;
    if (filter.tail || cursor) {
        // Backwards from the newest line: records are counted by the line that ends each (an F,
        // or the last P of a stream with no F after it), the Nth last for `tail`, or the last one
        // after the cursor; then on back to the first part of each record counted. Reading
        // forward from there, the records from the last one counted on are the answer.
        uint64_t wanted = filter.tail ? *filter.tail : UINT64_MAX;
        uint64_t counted = 0;
        int64_t oldest_counted = INT64_MIN;
        bool open[2] = {false, false};  // a counted record still collecting its earlier parts
        bool seen[2] = {false, false};  // a line of the stream was seen (going back)
        bool per_part = false;          // the cursor is a part handed out unfinished
        bool at_cursor = false;
        size_t start_segment = segments.size();
        uint64_t start_position = 0;
        bool stop = wanted == 0;
        for (size_t i = segments.size(); i-- > 0 && !stop;) {
            LineVisitor visit = [&](uint64_t position, const CriLine& line) {
                if (filter.until_ns && line.time_ns > *filter.until_ns)
                    return true;
                if (filter.since_ns && line.time_ns < *filter.since_ns) {
                    stop = true;
                    return false;
                }
                if (!filter.wants(line.stream))
                    return true;
                int s = line.stream == Stream::kStderr ? 1 : 0;
                if (cursor && !at_cursor && line.time_ns <= *cursor) {
                    // The records after the cursor are counted. A cursor that names a part is
                    // one the reader gave out unfinished (at the end of what it read): its
                    // parts, and those of any line then unfinished, were given out with it.
                    at_cursor = true;
                    wanted = counted;
                    per_part = line.time_ns == *cursor && line.partial;
                    if (per_part) {
                        stop = true;
                        return false;
                    }
                }
                bool ends_record = !line.partial || !seen[s];
                seen[s] = true;
                if (ends_record) {
                    open[s] = false;  // an F closes the later record of its stream
                    if (counted < wanted) {
                        ++counted;
                        oldest_counted = line.time_ns;
                        open[s] = true;
                    }
                }
                if (open[s]) {
                    start_segment = i;
                    start_position = position;
                }
                stop = counted == wanted && !open[0] && !open[1];
                return !stop;
            };
            auto r = visitBackwards(segments[i].path, segments[i].gz, segments[i].offset, visit);
            if (!r)
                return r.error();
        }
        if (filter.tail && counted == *filter.tail)
            first_record_time = oldest_counted;
        if (cursor) {
            first_record_time = std::max(first_record_time, *cursor + 1);
            if (per_part && (!filter.since_ns || *filter.since_ns <= *cursor))
                filter.since_ns = *cursor + 1;
        }
        if (start_segment < segments.size()) {
            Segment& s = segments[start_segment];
            if (s.gz)
                s.skip_lines = start_position;
            else
                s.offset = start_position;
            segments.erase(segments.begin(), segments.begin() + static_cast<long>(start_segment));
        } else {
            segments.clear();  // nothing to read: tail 0, or nothing after the cursor
        }
    }
    return std::unique_ptr<LogReader>(
        new K8sFileReader(std::move(segments), std::move(filter), first_record_time, grep_tail));
}

K8sFileReader::K8sFileReader(std::vector<Segment> segments, ReadFilter filter,
                             int64_t first_record_time, std::optional<uint64_t> grep_tail)
    : segments_(std::move(segments)),
      filter_(std::move(filter)),
      first_record_time_(first_record_time),
      grep_tail_(grep_tail) {}

K8sFileReader::~K8sFileReader() = default;

Result<bool> K8sFileReader::openSegment() {
    while (current_ < segments_.size()) {
        const Segment& s = segments_[current_];
        auto src = LineSource::open(s.path, s.gz, s.offset, s.name);
        if (!src)
            return src.error();
        if (!*src) {
            ++current_;  // rotated away meanwhile
            continue;
        }
        source_ = std::move(*src);
        lines_to_skip_ = s.skip_lines;
        return true;
    }
    return false;
}

void K8sFileReader::flushPending() {
    // Lines whose last part is not read (yet): partial records, in time order.
    for (int s : {0, 1}) {
        Pending& p = pending_[s];
        if (!p.open)
            continue;
        if (p.time_ns >= first_record_time_) {
            StoredRecord r;
            r.stream = s == 1 ? Stream::kStderr : Stream::kStdout;
            r.time_ns = p.time_ns;
            r.message = std::move(p.message);
            r.newline = false;
            ready_.push_back(std::move(r));
        }
        p = Pending{};
    }
    std::sort(ready_.begin(), ready_.end(),
              [](const StoredRecord& a, const StoredRecord& b) { return a.time_ns < b.time_ns; });
}

Result<LogReader::Step> K8sFileReader::step(StoredRecord& out) {
    ReadBudget budget;
    if (!grep_tail_) {
        for (;;) {
            auto more = nextJoined(out, budget);
            if (!more || *more != Step::kRecord || filter_.matches(out.message))
                return more;
            if (budget.spend(out.message.size()))
                return Step::kYield;
        }
    }
    if (!grep_tail_read_ && *grep_tail_ > 0) {
        StoredRecord r;
        for (;;) {
            auto more = nextJoined(r, budget);
            if (!more)
                return more.error();
            if (*more == Step::kYield)
                return Step::kYield;
            if (*more == Step::kEnd)
                break;
            size_t size = r.message.size();
            if (filter_.matches(r.message)) {
                grep_tail_records_.push_back(std::move(r));
                if (grep_tail_records_.size() > *grep_tail_)
                    grep_tail_records_.pop_front();
            }
            // Every record read here is passed over until the range's end.
            if (budget.spend(size))
                return Step::kYield;
        }
    }
    grep_tail_read_ = true;
    if (grep_tail_records_.empty())
        return Step::kEnd;
    out = std::move(grep_tail_records_.front());
    grep_tail_records_.pop_front();
    return Step::kRecord;
}

Result<LogReader::Step> K8sFileReader::nextJoined(StoredRecord& out, ReadBudget& budget) {
    std::string_view text;
    CriLine line;
    for (;;) {
        if (!ready_.empty()) {
            out = std::move(ready_.front());
            ready_.pop_front();
            return Step::kRecord;
        }
        if (done_)
            return Step::kEnd;
        if (!source_) {
            auto opened = openSegment();
            if (!opened)
                return opened.error();
            if (!*opened) {
                done_ = true;
                flushPending();
                continue;
            }
        }
        auto got = source_->readLine(text);
        if (!got)
            return got.error();
        if (!*got) {
            source_.reset();
            ++current_;
            continue;
        }
        if (lines_to_skip_ > 0) {
            --lines_to_skip_;
            if (budget.spend(text.size()))
                return Step::kYield;
            continue;
        }
        if (parseCriLine(text, line)) {
            // Not a record (a line torn by hand): skip it.
            if (budget.spend(text.size()))
                return Step::kYield;
            continue;
        }
        if (filter_.until_ns && line.time_ns > *filter_.until_ns) {
            done_ = true;  // lines are in time order: nothing later can match
            flushPending();
            continue;
        }
        if (!filter_.wants(line.stream) || !filter_.inTime(line.time_ns)) {
            if (budget.spend(text.size()))
                return Step::kYield;
            continue;
        }
        Pending& p = pending_[line.stream == Stream::kStderr ? 1 : 0];
        if (line.partial) {
            p.message.append(line.content);
            p.time_ns = line.time_ns;
            p.open = true;
            if (p.message.size() < kMostJoined || line.time_ns < first_record_time_)
                continue;
            // A line without end in sight: given out in pieces of about kMostJoined, as partial
            // records, so a reader's memory stays bounded.
            out.stream = line.stream;
            out.time_ns = line.time_ns;
            out.newline = false;
            out.attrs.clear();
            out.sequence = 0;
            out.cursor.clear();
            out.message = std::move(p.message);
            p = Pending{};
            return Step::kRecord;
        }
        if (line.time_ns < first_record_time_) {
            p = Pending{};
            if (budget.spend(text.size()))
                return Step::kYield;
            continue;
        }
        out.stream = line.stream;
        out.time_ns = line.time_ns;
        out.newline = true;
        out.attrs.clear();
        out.sequence = 0;
        out.cursor.clear();
        if (p.open) {
            out.message = std::move(p.message);
            out.message.append(line.content);
            p = Pending{};
        } else {
            out.message.assign(line.content);
        }
        return Step::kRecord;
    }
}

}  // namespace ringlog
