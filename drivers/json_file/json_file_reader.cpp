#include "drivers/json_file/json_file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

#include "drivers/docker/json_encoding.h"
#include "drivers/files/line_source.h"
#include "drivers/files/rotation.h"
#include "service/base/unique_fd.h"
#include "service/base/units.h"

namespace ringlog {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = kLogReadChunk;

// The record decoder is hand-written on purpose: it measured faster than simdjson's On-Demand API
// (libsimdjson-dev 3.0.1), which decodes each line after copying it into a padded buffer.
// Parsing the lines of a 1,000,000-record, 252 MiB docker log in memory (median of 8 interleaved
// runs, bench/json_file_read_bench.cpp, Release -O3, Debian 12, 2 loaded cores):
//   hand-written: 3.66 M records/s (922 MiB/s), simdjson On-Demand: 2.90 M records/s (730 MiB/s);
// reading the file through JsonFileReader: 2.33 M/s (588 MiB/s) against 2.20 M/s (555 MiB/s).
// Debian's x86-64 baseline gives On-Demand only simdjson's scalar "fallback" kernel (On-Demand
// has no runtime dispatch in 3.0.1); built with -march=haswell it did no better (2.70 against
// 3.54 M/s): per line of ~260 bytes the copy and the per-document setup outweigh its SIMD.
// simdjson would also refuse whole lines this decoder keeps (raw bytes that are not UTF-8, lone
// surrogates: JsonFileLine.KeepsARecordWhoseBytesAreNotUtf8). docs/performance.md has the rest.
void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::optional<uint32_t> hex4(std::string_view s, size_t pos) {
    if (pos + 4 > s.size())
        return std::nullopt;
    uint32_t v = 0;
    for (size_t i = pos; i < pos + 4; ++i) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= static_cast<uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= static_cast<uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= static_cast<uint32_t>(c - 'A' + 10);
        else
            return std::nullopt;
    }
    return v;
}

// Decodes the JSON string at s[pos] == '"'; returns the position after the closing quote.
std::optional<size_t> decodeString(std::string_view s, size_t pos, std::string& out) {
    ++pos;
    while (pos < s.size()) {
        char c = s[pos];
        if (c == '"')
            return pos + 1;
        if (c != '\\') {
            // The run up to the closing quote or the next escape, found with memchr (SIMD).
            const char* from = s.data() + pos;
            const auto* quote = static_cast<const char*>(std::memchr(from, '"', s.size() - pos));
            size_t run = quote != nullptr ? static_cast<size_t>(quote - from) : s.size() - pos;
            if (const auto* esc = static_cast<const char*>(std::memchr(from, '\\', run)))
                run = static_cast<size_t>(esc - from);
            out.append(from, run);
            pos += run;
            continue;
        }
        if (pos + 1 >= s.size())
            return std::nullopt;
        char e = s[pos + 1];
        pos += 2;
        switch (e) {
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case '/':
                out.push_back('/');
                break;
            case '"':
                out.push_back('"');
                break;
            case '\\':
                out.push_back('\\');
                break;
            case 'u': {
                auto cp = hex4(s, pos);
                if (!cp)
                    return std::nullopt;
                pos += 4;
                if (*cp >= 0xD800 && *cp < 0xDC00 && pos + 6 <= s.size() && s[pos] == '\\' &&
                    s[pos + 1] == 'u') {
                    auto low = hex4(s, pos + 2);
                    if (low && *low >= 0xDC00 && *low < 0xE000) {
                        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
                        pos += 6;
                    }
                }
                appendUtf8(out, *cp);
                break;
            }
            default:
                return std::nullopt;
        }
    }
    return std::nullopt;
}

// Skips a JSON value that is not a string (an object, number, literal); returns its end.
std::optional<size_t> skipValue(std::string_view s, size_t pos) {
    int depth = 0;
    for (; pos < s.size(); ++pos) {
        char c = s[pos];
        if (c == '"') {
            std::string ignored;
            auto end = decodeString(s, pos, ignored);
            if (!end)
                return std::nullopt;
            pos = *end - 1;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return pos;
            if (--depth == 0)
                return pos + 1;
        } else if (c == ',' && depth == 0) {
            return pos;
        }
    }
    return depth == 0 ? std::optional<size_t>(pos) : std::nullopt;
}

Error corrupt(const std::string& what) {
    return Error{RINGLOG_STATUS_DRIVER_ERROR, what};
}

}  // namespace

namespace {

// The JSON string at s[pos] == '"' as a view: of `s` itself when it has no escapes (keys, times,
// streams, most messages), else decoded into `scratch`. Returns the position after its closing
// quote.
std::optional<size_t> stringAt(std::string_view s, size_t pos, std::string_view& out,
                               std::string& scratch) {
    const char* from = s.data() + pos + 1;
    const auto* quote = static_cast<const char*>(std::memchr(from, '"', s.size() - pos - 1));
    if (quote != nullptr && std::memchr(from, '\\', static_cast<size_t>(quote - from)) == nullptr) {
        out = std::string_view(from, static_cast<size_t>(quote - from));
        return static_cast<size_t>(quote - s.data()) + 1;
    }
    scratch.clear();
    auto end = decodeString(s, pos, scratch);
    out = scratch;
    return end;
}

// docker's attrs, an object of strings, as docker's encoder writes it, into `out`; false (and
// `out` cleared) for any other value. What the file held is not copied: attrs go into every
// query's JSON as they are, where a damaged log must not put invalid JSON or another shape.
bool canonicalAttrs(std::string_view value, std::string& out) {
    out.assign("{");
    thread_local std::string text;
    size_t pos = 0;
    auto ws = [&] {
        while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t' ||
                                      value[pos] == '\r' || value[pos] == '\n'))
            ++pos;
    };
    // One string at `pos`, re-encoded; false if there is none.
    auto string = [&] {
        if (pos >= value.size() || value[pos] != '"')
            return false;
        // What docker writes is mostly plain ASCII that its encoder leaves as it is: copied
        // whole. Decoding and encoding every attrs string slowed reading a log by a fifth.
        size_t close = value.find('"', pos + 1);
        if (close != std::string_view::npos) {
            std::string_view body = value.substr(pos + 1, close - pos - 1);
            bool plain = std::all_of(body.begin(), body.end(), [](char c) {
                return c >= 0x20 && c < 0x7f && c != '\\' && c != '<' && c != '>' && c != '&';
            });
            if (plain) {
                out.append(value.substr(pos, close - pos + 1));
                pos = close + 1;
                return true;
            }
        }
        text.clear();
        auto end = decodeString(value, pos, text);
        if (!end)
            return false;
        pos = *end;
        json::appendDockerString(out, text);
        return true;
    };
    auto fail = [&] {
        out.clear();
        return false;
    };
    ws();
    if (pos >= value.size() || value[pos] != '{')
        return fail();
    ++pos;
    ws();
    if (pos < value.size() && value[pos] == '}')
        ++pos;
    else
        for (;;) {
            ws();
            if (!string())
                return fail();
            ws();
            if (pos >= value.size() || value[pos] != ':')
                return fail();
            ++pos;
            out.push_back(':');
            ws();
            if (!string())
                return fail();
            ws();
            if (pos < value.size() && value[pos] == ',') {
                ++pos;
                out.push_back(',');
                continue;
            }
            if (pos < value.size() && value[pos] == '}') {
                ++pos;
                break;
            }
            return fail();
        }
    ws();
    if (pos != value.size())
        return fail();
    out.push_back('}');
    return true;
}

}  // namespace

std::optional<std::string> parseJsonFileLine(std::string_view line, StoredRecord& r) {
    r.stream = Stream::kStdout;
    r.time_ns = 0;
    r.message.clear();
    r.newline = false;
    r.attrs.clear();
    r.sequence = 0;
    r.cursor.clear();
    bool have_time = false;
    size_t pos = 0;
    auto ws = [&] {
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t' || line[pos] == '\r'))
            ++pos;
    };
    thread_local std::string key_scratch, value_scratch;
    ws();
    if (pos >= line.size() || line[pos] != '{')
        return "not a JSON object";
    ++pos;
    for (;;) {
        ws();
        if (pos < line.size() && line[pos] == '}')
            break;
        if (pos >= line.size() || line[pos] != '"')
            return "expected a key";
        std::string_view key;
        auto after_key = stringAt(line, pos, key, key_scratch);
        if (!after_key)
            return "bad key";
        pos = *after_key;
        ws();
        if (pos >= line.size() || line[pos] != ':')
            return "expected ':' after \"" + std::string(key) + "\"";
        ++pos;
        ws();
        if (pos < line.size() && line[pos] == '"') {
            std::optional<size_t> end;
            if (key == "log") {
                // Straight into the record, whose buffer is reused from line to line.
                end = decodeString(line, pos, r.message);
                r.newline = !r.message.empty() && r.message.back() == '\n';
                if (r.newline)
                    r.message.pop_back();
            } else {
                std::string_view value;
                end = stringAt(line, pos, value, value_scratch);
                if (end && key == "stream") {
                    r.stream = value == "stderr" ? Stream::kStderr : Stream::kStdout;
                } else if (end && key == "time") {
                    auto t = parseRfc3339(value);
                    if (!t)
                        return "bad time \"" + std::string(value) + "\"";
                    r.time_ns = *t;
                    have_time = true;
                }
            }
            if (!end)
                return "bad string value of \"" + std::string(key) + "\"";
            pos = *end;
        } else {
            auto end = skipValue(line, pos);
            if (!end)
                return "bad value of \"" + std::string(key) + "\"";
            if (key == "attrs")
                canonicalAttrs(line.substr(pos, *end - pos), r.attrs);
            pos = *end;
        }
        ws();
        if (pos < line.size() && line[pos] == ',') {
            ++pos;
            continue;
        }
        if (pos < line.size() && line[pos] == '}')
            break;
        return "expected ',' or '}'";
    }
    if (!have_time)
        return "record has no time";
    return std::nullopt;
}

Result<StoredRecord> parseJsonFileLine(std::string_view line) {
    StoredRecord r;
    if (auto error = parseJsonFileLine(line, r))
        return corrupt(*error);
    return r;
}

// ---- reading files ----

struct JsonFileReader::Segment {
    fs::path path;
    bool gz = false;
    uint64_t offset = 0;  // plain files: where to start (a line start)
    uint64_t skip = 0;    // matching records to pass over first (gzip files under a tail)
};

namespace {

// The time of the last complete record of a plain file, reading only its end.
std::optional<int64_t> lastTimeOfPlainFile(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_size == 0)
        return std::nullopt;
    std::string tail;
    for (off_t end = st.st_size; end > 0;) {
        off_t start = std::max<off_t>(0, end - static_cast<off_t>(kChunk));
        std::string chunk(static_cast<size_t>(end - start), '\0');
        if (::pread(fd.get(), chunk.data(), chunk.size(), start) !=
            static_cast<ssize_t>(chunk.size()))
            return std::nullopt;
        tail = chunk + tail;
        end = start;
        // The last complete line ends at the last '\n'; it starts after the one before.
        size_t last_nl = tail.rfind('\n');
        if (last_nl == std::string::npos)
            continue;
        size_t prev = last_nl == 0 ? std::string::npos : tail.rfind('\n', last_nl - 1);
        if (prev == std::string::npos && start > 0)
            continue;
        size_t begin = prev == std::string::npos ? 0 : prev + 1;
        auto rec = parseJsonFileLine(std::string_view(tail).substr(begin, last_nl - begin));
        return rec ? std::optional<int64_t>(rec->time_ns) : std::nullopt;
    }
    return std::nullopt;
}

std::optional<int64_t> timeOfLine(std::string_view line) {
    auto rec = parseJsonFileLine(line);
    return rec ? std::optional<int64_t>(rec->time_ns) : std::nullopt;
}

}  // namespace

Result<std::unique_ptr<LogReader>> JsonFileReader::open(const fs::path& log_file,
                                                        ReadFilter filter) {
    if (!filter.after_cursor.empty()) {
        // A json-file cursor is a record's time: strictly increasing per container.
        int64_t t = 0;
        const char* first = filter.after_cursor.data();
        const char* last = first + filter.after_cursor.size();
        auto [end, ec] = std::from_chars(first, last, t);
        if (ec != std::errc() || end != last)
            return invalid("option \"after_cursor\": \"" + filter.after_cursor +
                           "\" is not a cursor returned by a query");
        filter.after_cursor.clear();
        // Nothing is after the last time there is (and t + 1 would overflow).
        if (t == INT64_MAX)
            return std::unique_ptr<LogReader>(new JsonFileReader({}, std::move(filter)));
        if (!filter.since_ns || *filter.since_ns <= t)
            filter.since_ns = t + 1;
    }
    std::vector<Segment> segments;  // oldest first
    for (auto& f : numberedLogFiles(log_file))
        segments.push_back({std::move(f.path), f.gz});

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

    if (filter.tail) {
        // Count matching records backwards from the newest file until there are enough.
        uint64_t wanted = *filter.tail;
        size_t keep_from = segments.size();
        while (keep_from > 0 && wanted > 0) {
            Segment& s = segments[keep_from - 1];
            --keep_from;
            if (s.gz) {
                JsonFileReader counter({s}, filter);
                counter.filter_.tail.reset();
                uint64_t matches = 0;
                StoredRecord r;
                for (;;) {
                    auto more = counter.next(r);
                    if (!more)
                        return more.error();
                    if (!*more)
                        break;
                    ++matches;
                }
                s.skip = matches > wanted ? matches - wanted : 0;
                wanted -= std::min(matches, wanted);
                continue;
            }
            // A plain file: scan lines backwards from its end.
            UniqueFd fd(::open(s.path.c_str(), O_RDONLY | O_CLOEXEC));
            struct stat st;
            if (!fd || ::fstat(fd.get(), &st) != 0)
                continue;
            uint64_t floor = s.offset;
            uint64_t start_at = floor;
            bool found = false;
            auto scan = forEachLineBackwards(
                fd.get(), floor, static_cast<uint64_t>(st.st_size),
                [&](std::string_view text, uint64_t offset) {
                    auto rec = parseJsonFileLine(text);
                    if (rec && filter.wants(rec->stream) && filter.inTime(rec->time_ns) &&
                        filter.matches(rec->message) && --wanted == 0) {
                        start_at = offset;
                        found = true;
                        return false;
                    }
                    return true;
                });
            if (scan == BackwardScan::kReadError)
                return Error{RINGLOG_STATUS_DRIVER_ERROR,
                             "reading " + s.path.string() + ": " + errnoText(errno)};
            s.offset = found ? start_at : floor;
        }
        segments.erase(segments.begin(), segments.begin() + static_cast<long>(keep_from));
    }
    return std::unique_ptr<LogReader>(new JsonFileReader(std::move(segments), std::move(filter)));
}

JsonFileReader::JsonFileReader(std::vector<Segment> segments, ReadFilter filter)
    : segments_(std::move(segments)), filter_(std::move(filter)) {}

JsonFileReader::~JsonFileReader() = default;

Result<bool> JsonFileReader::openSegment() {
    while (current_ < segments_.size()) {
        const Segment& s = segments_[current_];
        auto src = LineSource::open(s.path, s.gz, s.offset, s.path);
        if (!src)
            return src.error();
        if (!*src) {
            ++current_;  // rotated away meanwhile
            continue;
        }
        source_ = std::move(*src);
        to_skip_ = s.skip;
        return true;
    }
    return false;
}

Result<LogReader::Step> JsonFileReader::step(StoredRecord& out) {
    std::string_view line;
    ReadBudget budget;
    while (!done_) {
        if (!source_) {
            auto opened = openSegment();
            if (!opened)
                return opened.error();
            if (!*opened) {
                done_ = true;
                break;
            }
        }
        auto got = source_->readLine(line);
        if (!got)
            return got.error();
        if (!*got) {
            source_.reset();
            ++current_;
            continue;
        }
        // Parsed into the caller's record, reusing its buffers; it is only theirs on kRecord.
        if (parseJsonFileLine(line, out)) {
            // A line that is not a record (a torn write cut by hand): skip it.
            if (budget.spend(line.size()))
                return Step::kYield;
            continue;
        }
        if (filter_.until_ns && out.time_ns > *filter_.until_ns) {
            done_ = true;  // records are in time order: nothing later can match
            break;
        }
        if (!filter_.wants(out.stream) || !filter_.inTime(out.time_ns) ||
            !filter_.matches(out.message)) {
            if (budget.spend(line.size()))
                return Step::kYield;
            continue;
        }
        if (to_skip_ > 0) {
            --to_skip_;
            if (budget.spend(line.size()))
                return Step::kYield;
            continue;
        }
        return Step::kRecord;
    }
    return Step::kEnd;
}

}  // namespace ringlog
