// The push request: the first two bytes choose the container's max-line, the rest is one datagram
// as the ingest socket hands it to Daemon::push, decoded by decodePushRequest
// (service/ingest/push_request.h); its lines are then framed by framePushedLines, as pushLines
// puts them into the ring.
//
// Invariants: the id is one checkContainerId accepts; the lines re-encode through the client
// library's encoder (ringlog_push_encode, each with a '\n', since one at a line's end is dropped)
// into a request that decodes to the same lines; no record is longer than max-line; the records,
// each followed by '\n' where it has the newline flag, are the lines each followed by '\n', byte
// for byte; a line's parts are numbered 1, 2, … and only its last part has kRecordPartialLast.
#include <cstdint>
#include <string>
#include <vector>

#include "ringlog/client.h"
#include "service/ingest/attach_request.h"
#include "service/ingest/push_request.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    if (size < 2 || size - 2 > RINGLOG_MAX_REQUEST_BYTES)
        return -1;
    // max-line is 1k to 1m in ringlogd's settings; smaller ones cut more lines here.
    uint32_t max_line = 1 + ((uint32_t{data[0]} << 8 | data[1]) % 2048);
    std::string_view datagram(reinterpret_cast<const char*>(data) + 2, size - 2);

    PushRequest req;
    if (auto error = decodePushRequest(datagram, req)) {
        FUZZ_CHECK(error->status != RINGLOG_STATUS_OK && !error->message.empty());
        return 0;
    }
    FUZZ_CHECK(!checkContainerId(req.id));

    // Re-encoded as a client would push these lines.
    std::vector<std::string> with_newline;
    std::vector<const char*> lines;
    std::vector<size_t> lengths;
    for (auto line : req.lines)
        with_newline.push_back(std::string(line) + "\n");
    for (const auto& line : with_newline) {
        lines.push_back(line.data());
        lengths.push_back(line.size());
    }
    std::string again(2 * RINGLOG_MAX_REQUEST_BYTES + 16 * req.lines.size(), '\0');
    long n = ringlog_push_encode(req.id.c_str(), streamName(req.stream), lines.data(),
                                 lengths.data(), lines.size(),
                                 reinterpret_cast<unsigned char*>(again.data()), again.size());
    FUZZ_CHECK(n > 0);
    again.resize(static_cast<size_t>(n));
    PushRequest decoded;
    FUZZ_CHECK(!decodePushRequest(again, decoded));
    FUZZ_CHECK(decoded.id == req.id && decoded.stream == req.stream && decoded.lines == req.lines);
    FUZZ_CHECK(decoded.inputBytes() == req.inputBytes());

    std::string scratch;
    std::vector<PushedRecord> records;
    uint64_t split = framePushedLines(req.lines, max_line, scratch, records);
    std::string framed, expected;
    uint64_t lines_cut = 0;
    uint32_t next_ordinal = 0;
    for (const auto& r : records) {
        FUZZ_CHECK(r.message.size() <= max_line);
        framed.append(r.message);
        if (r.flags & kRecordNewline)
            framed.push_back('\n');
        if (r.partial_ordinal == 0) {
            FUZZ_CHECK(next_ordinal == 0 && (r.flags & kRecordPartial) == 0);
            FUZZ_CHECK(r.flags & kRecordNewline);
            continue;
        }
        FUZZ_CHECK(r.flags & kRecordPartial);
        FUZZ_CHECK(r.partial_ordinal == (next_ordinal == 0 ? 1 : next_ordinal));
        if (r.partial_ordinal == 1)
            ++lines_cut;
        // A pushed line always ends with its '\n': its last part is a last one, never a cut.
        bool last = r.flags & kRecordPartialLast;
        FUZZ_CHECK(last == ((r.flags & kRecordNewline) != 0));
        next_ordinal = last ? 0 : r.partial_ordinal + 1;
    }
    FUZZ_CHECK(next_ordinal == 0);
    FUZZ_CHECK(split == lines_cut);
    for (auto line : req.lines) {
        expected.append(line);
        expected.push_back('\n');
    }
    FUZZ_CHECK(framed == expected);
    return 0;
}
