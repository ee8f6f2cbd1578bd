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

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drivers/docker/json_encoding.h"
#include "drivers/json_file/json_file_reader.h"
#include "service/query/query.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/log_reader_fuzz.h"

namespace ringlog {
namespace {

namespace fs = std::filesystem;

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

}  // namespace
}  // namespace ringlog

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    FuzzedDataProvider in(data, size);
    const fs::path dir = fuzz::scratchDir() / "json-file";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path log = dir / "c-json.log";

    const fuzz::ReaderQuery query(in);
    ReadFilter filter = query.filter;
    filter.grep = query.grep;
    const std::string current = fuzz::writeLogFiles(in, log).back();

    for (size_t pos = 0; pos < current.size();) {
        size_t nl = current.find('\n', pos);
        checkLine(std::string_view(current).substr(
            pos, (nl == std::string::npos ? current.size() : nl) - pos));
        pos = nl == std::string::npos ? current.size() : nl + 1;
    }

    // Everything that passes the stream choice and the grep, then the last N of it.
    std::vector<StoredRecord> all = fuzz::readAll<JsonFileReader>(log, filter);
    fuzz::debugRecords("all", all);
    if (query.tail)
        fuzz::checkTail<JsonFileReader>(log, filter, *query.tail, all);
    // The time filters search by time, assuming a log in time order: any result, never a crash.
    if (query.time_filter != 0) {
        ReadFilter timed = query.timed(filter, all);
        timed.tail = query.tail;
        fuzz::readAll<JsonFileReader>(log, timed);
    }
    return 0;
}
