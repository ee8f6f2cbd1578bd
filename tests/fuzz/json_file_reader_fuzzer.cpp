// The json-file reader behind Query (drivers/json_file/json_file_reader.h): a log on disk may be
// truncated, corrupt or edited by hand. The input is a log: the current file, and up to two
// rotations before it (plain or gzip), read by JsonFileReader as a query would read them, with a
// stream choice, a grep, a tail, a since or a cursor taken from the input; each line of the current
// file is also parsed on its own (parseJsonFileLine).
//
// Invariants: every record read goes into a query's JSON (appendQueryJson) as valid JSON, whatever
// the file held; a record re-encoded as the driver writes it parses back to the same record (its
// message byte for byte when it is UTF-8, its attrs as the same JSON); the reader returns exactly
// the lines that parse, oldest file first, that pass the filter; `tail N` returns the last N of
// those.
#include <fuzzer/FuzzedDataProvider.h>
#include <zlib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drivers/docker/json_encoding.h"
#include "drivers/json_file/json_file_reader.h"
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
    auto reader = JsonFileReader::open(log, filter);
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
           a.newline == b.newline && a.attrs == b.attrs;
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

// As the json-file driver writes a record (drivers/json_file/json_file_driver.cpp).
std::string asDriverWritesIt(const StoredRecord& r) {
    std::string line = "{\"log\":";
    json::appendDockerString(line, r.newline ? r.message + "\n" : r.message);
    line.append(r.stream == Stream::kStderr ? ",\"stream\":\"stderr\"" : ",\"stream\":\"stdout\"");
    if (!r.attrs.empty())
        line.append(",\"attrs\":").append(r.attrs);
    line.append(",\"time\":\"");
    json::appendRfc3339Nano(line, r.time_ns);
    line.append("\"}");
    return line;
}

void checkLine(std::string_view line) {
    StoredRecord r;
    if (parseJsonFileLine(line, r))
        return;  // not a record: the reader skips it
    if (!r.attrs.empty())
        FUZZ_CHECK(nlohmann::json::accept(r.attrs));
    std::string written = asDriverWritesIt(r);
    FUZZ_CHECK(nlohmann::json::accept(written));
    StoredRecord again;
    FUZZ_CHECK(!parseJsonFileLine(written, again));
    FUZZ_CHECK(again.stream == r.stream && again.time_ns == r.time_ns &&
               again.newline == r.newline);
    if (fuzz::validUtf8(r.message))
        FUZZ_CHECK(again.message == r.message);
    if (!r.attrs.empty())
        FUZZ_CHECK(nlohmann::json::parse(again.attrs) == nlohmann::json::parse(r.attrs));
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
    const fs::path dir = fuzz::scratchDir() / "json-file";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path log = dir / "c-json.log";

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
    if (in.ConsumeBool())
        filter.grep = std::make_shared<Contains>(in.ConsumeRandomLengthString(8));
    std::optional<uint64_t> tail;
    if (in.ConsumeBool())
        tail = in.ConsumeIntegralInRange<uint64_t>(0, 12);
    int time_filter = in.ConsumeIntegralInRange<int>(0, 3);  // none, since, until, cursor
    int64_t some_time = in.ConsumeIntegral<int64_t>();
    std::string cursor_text = in.ConsumeRandomLengthString(24);

    int rotations = in.ConsumeIntegralInRange<int>(0, 2);
    for (int i = rotations; i >= 1; --i) {
        bool gz = in.ConsumeBool();
        std::string content = in.ConsumeRandomLengthString();
        fs::path rotated = log.string() + "." + std::to_string(i) + (gz ? ".gz" : "");
        if (gz)
            writeGzip(rotated, content);
        else
            fuzz::writeFile(rotated, content);
        debugPrint(rotated.filename().c_str(), content);
    }
    std::string current = in.ConsumeRemainingBytesAsString();
    fuzz::writeFile(log, current);
    debugPrint(log.filename().c_str(), current);

    for (size_t pos = 0; pos < current.size();) {
        size_t nl = current.find('\n', pos);
        checkLine(std::string_view(current).substr(
            pos, (nl == std::string::npos ? current.size() : nl) - pos));
        pos = nl == std::string::npos ? current.size() : nl + 1;
    }

    // Everything that passes the stream choice and the grep, then the last N of it.
    std::vector<StoredRecord> all = readAll(log, filter);
    debugRecords("all", all);
    if (tail) {
        ReadFilter with_tail = filter;
        with_tail.tail = tail;
        std::vector<StoredRecord> last = readAll(log, with_tail);
        debugRecords("tail", last);
        size_t expected = std::min<size_t>(*tail, all.size());
        if (last.size() != expected)
            std::fprintf(stderr, "tail %zu: %zu records of %zu\n", static_cast<size_t>(*tail),
                         last.size(), all.size());
        FUZZ_CHECK(last.size() == expected);
        for (size_t i = 0; i < expected; ++i)
            FUZZ_CHECK(same(last[i], all[all.size() - expected + i]));
    }
    // The time filters search by time, assuming a log in time order: any result, never a crash.
    if (time_filter != 0) {
        ReadFilter timed = filter;
        timed.tail = tail;
        int64_t t = all.empty() ? some_time
                                : all[static_cast<size_t>(some_time & 0xffff) % all.size()].time_ns;
        if (time_filter == 1)
            timed.since_ns = t;
        else if (time_filter == 2)
            timed.until_ns = t;
        else
            timed.after_cursor = cursor_text.empty() ? std::to_string(t) : cursor_text;
        readAll(log, timed);
    }
    return 0;
}
