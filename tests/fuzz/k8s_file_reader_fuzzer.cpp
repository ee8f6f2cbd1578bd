// The k8s-file (CRI) reader behind Query (drivers/k8s_file/k8s_file_reader.h): a log on disk may be
// truncated, corrupt or written by another runtime. The input is a log: the current file and up to
// two rotations before it (plain or gzip), read by K8sFileReader as a query would read them, with a
// stream choice, a grep, a tail, a since or a cursor taken from the input; each line of the
// current file is also parsed on its own (parseCriLine), and the end of the file found as a
// restart finds it (lastWholeLine).
//
// Invariants: every record goes into a query's JSON as valid JSON; a line re-encoded as the
// driver writes it parses back to the same line; read whole, a stream's records joined are its
// lines' contents joined (of the lines that parse and end with '\n', oldest file first), with one
// full record per F line; when the lines' times strictly increase (as ringlogd writes them) and
// every line is finished, `tail N` returns the last N records of that.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drivers/docker/json_encoding.h"
#include "drivers/k8s_file/k8s_file_reader.h"
#include "service/base/unique_fd.h"
#include "service/query/query.h"
#include "tests/fuzz/fuzz_support.h"

namespace ringlog {
namespace {

namespace fs = std::filesystem;

class Contains final : public MessageMatcher {
  public:
    explicit Contains(std::string needle) : needle_(std::move(needle)) {}
    bool matches(std::string_view message) const override {
        return message.find(needle_) != std::string_view::npos;
    }

  private:
    std::string needle_;
};

std::vector<StoredRecord> readAll(const fs::path& log, const ReadFilter& filter) {
    std::vector<StoredRecord> out;
    auto reader = K8sFileReader::open(log, filter);
    if (!reader)
        return out;
    StoredRecord r;
    for (;;) {
        auto more = (*reader)->next(r);
        FUZZ_CHECK(more.ok());  // a corrupt line is skipped, never an error
        if (!*more)
            break;
        std::string json;
        appendQueryJson(json, r, false);
        FUZZ_CHECK(nlohmann::json::accept(json));
        out.push_back(r);
    }
    return out;
}

bool same(const StoredRecord& a, const StoredRecord& b) {
    return a.stream == b.stream && a.time_ns == b.time_ns && a.message == b.message &&
           a.newline == b.newline;
}

// RINGLOG_FUZZ_DEBUG=1: what a crash's input made of the files and what was read.
bool debugging() {
    static const bool on = std::getenv("RINGLOG_FUZZ_DEBUG") != nullptr;
    return on;
}

void debugPrint(const char* what, std::string_view bytes) {
    if (!debugging())
        return;
    std::fprintf(stderr, "%s: \"", what);
    for (unsigned char c : bytes)
        std::fprintf(stderr, c >= 0x20 && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
    std::fprintf(stderr, "\"\n");
}

void debugRecords(const char* what, const std::vector<StoredRecord>& records) {
    for (const auto& r : records)
        debugPrint(what, std::to_string(r.time_ns) + " " + streamName(r.stream) + " " +
                             (r.newline ? "F " : "P ") + r.message);
}

// The lines of a file a reader reads: those that end with '\n'.
std::vector<std::string_view> wholeLines(std::string_view content) {
    std::vector<std::string_view> lines;
    for (size_t pos = 0, nl; (nl = content.find('\n', pos)) != std::string_view::npos; pos = nl + 1)
        lines.push_back(content.substr(pos, nl - pos));
    return lines;
}

void checkLine(std::string_view text) {
    CriLine line;
    if (parseCriLine(text, line))
        return;
    // As the k8s-file driver writes a line (drivers/k8s_file/k8s_file_driver.cpp).
    std::string written;
    json::appendRfc3339Nano(written, line.time_ns);
    written.append(line.stream == Stream::kStderr ? " stderr " : " stdout ");
    written.append(line.partial ? "P " : "F ");
    written.append(line.content);
    CriLine again;
    FUZZ_CHECK(!parseCriLine(written, again));
    FUZZ_CHECK(again.time_ns == line.time_ns && again.stream == line.stream &&
               again.partial == line.partial && again.content == line.content);
}

void writeGzip(const fs::path& path, std::string_view bytes) {
    gzFile out = gzopen(path.c_str(), "wb1");
    FUZZ_CHECK(out != nullptr);
    if (!bytes.empty())
        FUZZ_CHECK(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
    FUZZ_CHECK(gzclose(out) == Z_OK);
}

}  // namespace
}  // namespace ringlog

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    FuzzedDataProvider in(data, size);
    const fs::path dir = fuzz::scratchDir() / "k8s-file";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path log = dir / "c.log";

    ReadFilter filter;
    switch (in.ConsumeIntegralInRange<int>(0, 2)) {
        case 1:
            filter.stderr_stream = false;
            break;
        case 2:
            filter.stdout_stream = false;
            break;
        default:
            break;
    }
    std::shared_ptr<const MessageMatcher> grep;
    if (in.ConsumeBool())
        grep = std::make_shared<Contains>(in.ConsumeRandomLengthString(8));
    std::optional<uint64_t> tail;
    if (in.ConsumeBool())
        tail = in.ConsumeIntegralInRange<uint64_t>(0, 12);
    int time_filter = in.ConsumeIntegralInRange<int>(0, 3);  // none, since, until, cursor
    int64_t some_time = in.ConsumeIntegral<int64_t>();
    std::string cursor_text = in.ConsumeRandomLengthString(24);

    std::vector<std::string> files;  // oldest first, the current file last
    int rotations = in.ConsumeIntegralInRange<int>(0, 2);
    for (int i = rotations; i >= 1; --i) {
        bool gz = in.ConsumeBool();
        files.push_back(in.ConsumeRandomLengthString());
        fs::path rotated = log.string() + "." + std::to_string(i) + (gz ? ".gz" : "");
        if (gz)
            writeGzip(rotated, files.back());
        else
            fuzz::writeFile(rotated, files.back());
        debugPrint(rotated.filename().c_str(), files.back());
    }
    files.push_back(in.ConsumeRemainingBytesAsString());
    fuzz::writeFile(log, files.back());
    debugPrint(log.filename().c_str(), files.back());

    {
        const std::string& current = files.back();
        for (auto line : wholeLines(current))
            checkLine(line);
        UniqueFd fd(::open(log.c_str(), O_RDONLY | O_CLOEXEC));
        auto last = lastWholeLine(fd.get(), static_cast<int64_t>(current.size()));
        FUZZ_CHECK(last.has_value());
        size_t end = current.rfind('\n');
        FUZZ_CHECK(last->end == (end == std::string::npos ? 0 : static_cast<int64_t>(end) + 1));
    }

    // What a whole read must give, per stream: the lines' contents and their F lines.
    std::string expected[2];
    size_t full_lines[2] = {0, 0};
    bool increasing = true;
    int64_t previous = INT64_MIN;
    bool unfinished[2] = {false, false};  // the stream's last line is a P
    for (const auto& content : files)
        for (auto text : wholeLines(content)) {
            CriLine line;
            if (parseCriLine(text, line))
                continue;
            increasing &= line.time_ns > previous;
            previous = line.time_ns;
            if (!filter.wants(line.stream))
                continue;
            int s = line.stream == Stream::kStderr ? 1 : 0;
            expected[s].append(line.content);
            full_lines[s] += line.partial ? 0 : 1;
            unfinished[s] = line.partial;
        }
    std::vector<StoredRecord> all = readAll(log, filter);
    debugRecords("all", all);
    std::string joined[2];
    size_t newlines[2] = {0, 0};
    for (const auto& r : all) {
        int s = r.stream == Stream::kStderr ? 1 : 0;
        FUZZ_CHECK(filter.wants(r.stream));
        joined[s].append(r.message);
        newlines[s] += r.newline ? 1 : 0;
    }
    for (int s : {0, 1}) {
        FUZZ_CHECK(joined[s] == expected[s]);
        FUZZ_CHECK(newlines[s] == full_lines[s]);
    }

    // An unfinished line is given out at the end of a whole read, after later lines of the other
    // stream, but counted by `tail` at its time: the two agree only without one.
    bool comparable = increasing && !unfinished[0] && !unfinished[1];
    if (tail && comparable) {
        ReadFilter with_tail = filter;
        with_tail.tail = tail;
        std::vector<StoredRecord> last = readAll(log, with_tail);
        debugRecords("tail", last);
        size_t expected_count = std::min<size_t>(*tail, all.size());
        if (last.size() != expected_count)
            std::fprintf(stderr, "tail %zu: %zu records of %zu\n", static_cast<size_t>(*tail),
                         last.size(), all.size());
        FUZZ_CHECK(last.size() == expected_count);
        for (size_t i = 0; i < expected_count; ++i)
            FUZZ_CHECK(same(last[i], all[all.size() - expected_count + i]));
    }
    // With a grep, and the time filters (which search by time, assuming a log in time order):
    // any result, never a crash.
    if (grep || time_filter != 0 || (tail && !comparable)) {
        ReadFilter other = filter;
        other.grep = grep;
        other.tail = tail;
        int64_t t = all.empty() ? some_time
                                : all[static_cast<size_t>(some_time & 0xffff) % all.size()].time_ns;
        if (time_filter == 1)
            other.since_ns = t;
        else if (time_filter == 2)
            other.until_ns = t;
        else if (time_filter == 3)
            other.after_cursor = cursor_text.empty() ? std::to_string(t) : cursor_text;
        readAll(log, other);
    }
    return 0;
}
