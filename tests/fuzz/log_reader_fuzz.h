// What the fuzzers of the log readers behind Query share (json_file_reader, k8s_file_reader): the
// inputs they take from the fuzzer's bytes in the same order (a stream choice, a grep, a tail, a
// time filter; then the log's rotated files and its current one, written to disk), a whole read
// that checks every record goes into a query's JSON as valid JSON, and the check of `tail N`.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/query/query.h"
#include "tests/fuzz/fuzz_support.h"

namespace ringlog::fuzz {

// A grep that needs no regular expression: the fuzzers test the readers, not PCRE2.
class Contains final : public MessageMatcher {
  public:
    explicit Contains(std::string needle) : needle_(std::move(needle)) {}
    bool matches(std::string_view message) const override {
        return message.find(needle_) != std::string_view::npos;
    }

  private:
    std::string needle_;
};

// What a query asks of the reader, taken from the input.
struct ReaderQuery {
    ReadFilter filter;  // the stream choice
    std::shared_ptr<const MessageMatcher> grep;
    std::optional<uint64_t> tail;
    int time_filter = 0;  // none, since, until, cursor
    int64_t some_time = 0;
    std::string cursor_text;

    explicit ReaderQuery(FuzzedDataProvider& in) {
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
            grep = std::make_shared<Contains>(in.ConsumeRandomLengthString(8));
        if (in.ConsumeBool())
            tail = in.ConsumeIntegralInRange<uint64_t>(0, 12);
        time_filter = in.ConsumeIntegralInRange<int>(0, 3);
        some_time = in.ConsumeIntegral<int64_t>();
        cursor_text = in.ConsumeRandomLengthString(24);
    }

    // `filter` with the time filter, at one of the records' times (or the input's own).
    ReadFilter timed(ReadFilter base, const std::vector<StoredRecord>& all) const {
        int64_t t = all.empty() ? some_time
                                : all[static_cast<size_t>(some_time & 0xffff) % all.size()].time_ns;
        if (time_filter == 1)
            base.since_ns = t;
        else if (time_filter == 2)
            base.until_ns = t;
        else if (time_filter == 3)
            base.after_cursor = cursor_text.empty() ? std::to_string(t) : cursor_text;
        return base;
    }
};

// RINGLOG_FUZZ_DEBUG=1: what a crash's input made of the files and what was read.
inline bool debugging() {
    static const bool on = std::getenv("RINGLOG_FUZZ_DEBUG") != nullptr;
    return on;
}

inline void debugPrint(const char* what, std::string_view bytes) {
    if (!debugging())
        return;
    std::fprintf(stderr, "%s: \"", what);
    for (unsigned char c : bytes)
        std::fprintf(stderr, c >= 0x20 && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
    std::fprintf(stderr, "\"\n");
}

inline void debugRecords(const char* what, const std::vector<StoredRecord>& records) {
    for (const auto& r : records)
        debugPrint(what, std::to_string(r.time_ns) + " " + streamName(r.stream) + " " +
                             (r.newline ? "F " : "P ") + r.message);
}

inline void writeGzip(const std::filesystem::path& path, std::string_view bytes) {
    gzFile out = gzopen(path.c_str(), "wb1");
    FUZZ_CHECK(out != nullptr);
    if (!bytes.empty())
        FUZZ_CHECK(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
    FUZZ_CHECK(gzclose(out) == Z_OK);
}

// Up to two rotated files (<log>.2 then <log>.1, each plain or gzip) and the current <log>, from
// the rest of the input; their contents, oldest first.
inline std::vector<std::string> writeLogFiles(FuzzedDataProvider& in,
                                              const std::filesystem::path& log) {
    std::vector<std::string> files;
    int rotations = in.ConsumeIntegralInRange<int>(0, 2);
    for (int i = rotations; i >= 1; --i) {
        bool gz = in.ConsumeBool();
        files.push_back(in.ConsumeRandomLengthString());
        std::filesystem::path rotated = log.string() + "." + std::to_string(i) + (gz ? ".gz" : "");
        if (gz)
            writeGzip(rotated, files.back());
        else
            writeFile(rotated, files.back());
        debugPrint(rotated.filename().c_str(), files.back());
    }
    files.push_back(in.ConsumeRemainingBytesAsString());
    writeFile(log, files.back());
    debugPrint(log.filename().c_str(), files.back());
    return files;
}

// Everything Reader::open(log, filter) gives, each record checked to go into a query's JSON as
// valid JSON, and the read never failing (a corrupt line is skipped, never an error).
template <class Reader>
std::vector<StoredRecord> readAll(const std::filesystem::path& log, const ReadFilter& filter) {
    std::vector<StoredRecord> out;
    auto reader = Reader::open(log, filter);
    if (!reader)
        return out;
    StoredRecord r;
    for (;;) {
        auto more = (*reader)->next(r);
        FUZZ_CHECK(more.ok());
        if (!*more)
            break;
        std::string json;
        appendQueryJson(json, r, false);
        FUZZ_CHECK(nlohmann::json::accept(json));
        out.push_back(r);
    }
    return out;
}

// `tail N` of `filter` is the last N records of `all`, the whole read of the same filter.
template <class Reader>
void checkTail(const std::filesystem::path& log, const ReadFilter& filter, uint64_t tail,
               const std::vector<StoredRecord>& all) {
    ReadFilter with_tail = filter;
    with_tail.tail = tail;
    std::vector<StoredRecord> last = readAll<Reader>(log, with_tail);
    debugRecords("tail", last);
    size_t expected = std::min<size_t>(tail, all.size());
    if (last.size() != expected)
        std::fprintf(stderr, "tail %zu: %zu records of %zu\n", static_cast<size_t>(tail),
                     last.size(), all.size());
    FUZZ_CHECK(last.size() == expected);
    for (size_t i = 0; i < expected; ++i) {
        const StoredRecord& a = last[i];
        const StoredRecord& b = all[all.size() - expected + i];
        FUZZ_CHECK(a.stream == b.stream && a.time_ns == b.time_ns && a.message == b.message &&
                   a.newline == b.newline && a.attrs == b.attrs);
    }
}

}  // namespace ringlog::fuzz
