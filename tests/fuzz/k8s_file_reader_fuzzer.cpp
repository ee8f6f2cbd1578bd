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

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drivers/docker/json_encoding.h"
#include "drivers/k8s_file/k8s_file_reader.h"
#include "service/base/unique_fd.h"
#include "service/query/query.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/log_reader_fuzz.h"

namespace ringlog {
namespace {

namespace fs = std::filesystem;

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

}  // namespace
}  // namespace ringlog

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    FuzzedDataProvider in(data, size);
    const fs::path dir = fuzz::scratchDir() / "k8s-file";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path log = dir / "c.log";

    const fuzz::ReaderQuery query(in);
    const ReadFilter& filter = query.filter;
    const std::vector<std::string> files = fuzz::writeLogFiles(in, log);

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
    std::vector<StoredRecord> all = fuzz::readAll<K8sFileReader>(log, filter);
    fuzz::debugRecords("all", all);
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
    if (query.tail && comparable)
        fuzz::checkTail<K8sFileReader>(log, filter, *query.tail, all);
    // With a grep, and the time filters (which search by time, assuming a log in time order):
    // any result, never a crash.
    if (query.grep || query.time_filter != 0 || (query.tail && !comparable)) {
        ReadFilter other = query.timed(filter, all);
        other.grep = query.grep;
        other.tail = query.tail;
        fuzz::readAll<K8sFileReader>(log, other);
    }
    return 0;
}
