// The framer (service/ingest/framer.h) on its own, in both of the ways the reader drives it: feed()
// for streams read with read() (ttys, sockets: the framer keeps an incomplete line), and
// frameComplete()/pushIncomplete() for pipes read by peeking (the bytes not framed stay in the
// pipe, which is simulated here). The input chooses max-line, the mode, how the bytes are cut into
// reads, when the sink refuses a record (a full ring) and, in peek mode, when an incomplete line
// is pushed as a part; the rest of the input is the stream.
//
// Invariants: the records, each followed by '\n' where it has the newline flag, are the stream
// byte for byte (nothing lost, repeated or reordered, whatever the reads and refusals); no record
// is longer than max-line, and one that ends a line is shorter (docker's copier counts the '\n');
// a line's parts are numbered 1, 2, … with the group's id from its first part, and only its last
// part has kRecordPartialLast; with feed(), a line is cut only at max-line and at the end.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

#include "service/ingest/framer.h"
#include "tests/fuzz/fuzz_support.h"

namespace ringlog {
namespace {

struct Collected {
    std::string message;
    uint8_t flags;
    uint32_t ordinal;
};

// A ring that is full now and then (the input says when), and numbers records as a container does.
class RefusingSink final : public RecordSink {
  public:
    explicit RefusingSink(std::string refusals) : refusals_(std::move(refusals)) {}
    bool push(Stream, std::string_view message, uint8_t flags, uint32_t partial_ordinal,
              uint64_t& partial_id) override {
        if (!refusals_.empty() && (refusals_[offers_++ % refusals_.size()] & 1))
            return false;
        uint64_t sequence = records.size() + 1;
        if (partial_ordinal > 1)
            FUZZ_CHECK(partial_id == group_id_);  // the id the first part got
        partial_id = partial_ordinal == 1 ? sequence : partial_id;
        if (partial_ordinal == 1)
            group_id_ = sequence;
        records.push_back({std::string(message), flags, partial_ordinal});
        return true;
    }
    // The consumer has made room for good: the reader never gives up.
    void stopRefusing() { refusals_.clear(); }

    std::vector<Collected> records;

  private:
    std::string refusals_;
    size_t offers_ = 0;
    uint64_t group_id_ = 0;
};

void checkRecords(const std::vector<Collected>& records, const std::string& stream,
                  uint32_t max_line, bool cuts_only_at_max_line) {
    std::string framed;
    uint32_t next_ordinal = 0;
    for (size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        bool newline = r.flags & kRecordNewline;
        FUZZ_CHECK(r.message.size() <= max_line);
        FUZZ_CHECK(!newline || r.message.size() < max_line);
        FUZZ_CHECK(r.message.find('\n') == std::string::npos);
        if (!newline && cuts_only_at_max_line && i + 1 < records.size())
            FUZZ_CHECK(r.message.size() == max_line);
        framed.append(r.message);
        if (newline)
            framed.push_back('\n');
        if (r.ordinal == 0) {
            FUZZ_CHECK(next_ordinal == 0 && r.flags == kRecordNewline);
            continue;
        }
        FUZZ_CHECK(r.flags & kRecordPartial);
        FUZZ_CHECK(r.ordinal == (next_ordinal == 0 ? 1 : next_ordinal));
        bool last = r.flags & kRecordPartialLast;
        FUZZ_CHECK(last == newline);  // only a line's '\n' ends its group
        next_ordinal = last ? 0 : r.ordinal + 1;
    }
    FUZZ_CHECK(framed == stream);
}

}  // namespace
}  // namespace ringlog

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    FuzzedDataProvider in(data, size);
    uint32_t max_line = in.ConsumeIntegralInRange<uint32_t>(1, 4096);
    bool peek_mode = in.ConsumeBool();
    RefusingSink sink(in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 8)));
    std::string chunking = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 64));
    std::string stream = in.ConsumeRemainingBytesAsString();
    auto chunkSize = [&, i = size_t{0}]() mutable -> size_t {
        if (chunking.empty())
            return stream.size();
        return 1 + (static_cast<unsigned char>(chunking[i++ % chunking.size()]) * 37u) % 4096;
    };
    Framer framer(sink, Stream::kStdout, max_line);

    if (!peek_mode) {
        // Read with read(): each read is fed; a refusal keeps it all in the framer's backlog,
        // offered again with the next read (or none, once the stream has ended).
        for (size_t pos = 0; pos < stream.size();) {
            size_t n = std::min(chunkSize(), stream.size() - pos);
            framer.feed(std::string_view(stream).substr(pos, n));
            pos += n;
        }
        for (int turn = 0; !framer.flush(); ++turn)
            if (turn == 16)
                sink.stopRefusing();
        FUZZ_CHECK(!framer.hasBacklog());
        checkRecords(sink.records, stream, max_line, true);
        return 0;
    }

    // Peeked: `pipe` holds what was written and not yet taken out; a peek sees a prefix of it.
    std::string pipe;
    size_t written = 0;
    int stuck = 0;
    while (written < stream.size() || !pipe.empty()) {
        size_t n = std::min(chunkSize(), stream.size() - written);
        pipe.append(stream, written, n);
        written += n;
        size_t want = std::min(pipe.size(), std::max<size_t>(chunkSize(), size_t{max_line} + 1));
        std::string_view peeked = std::string_view(pipe).substr(0, want);
        bool refused = false;
        size_t used = framer.frameComplete(peeked, refused);
        FUZZ_CHECK(used <= peeked.size());
        if (!refused && used < peeked.size()) {
            // What is left is an incomplete line shorter than max-line.
            FUZZ_CHECK(peeked.size() - used < max_line);
            FUZZ_CHECK(peeked.substr(used).find('\n') == std::string_view::npos);
            bool at_end = written == stream.size() && want == pipe.size();
            // At the end it is the stream's last line; before it, the reader may cut it to be
            // continued (a pipe full of it); else it waits for more in the pipe.
            if ((at_end || (chunkSize() & 7) == 0) &&
                framer.pushIncomplete(peeked.substr(used), at_end))
                used = peeked.size();
        }
        pipe.erase(0, used);
        // Once everything is written, only refusals can leave the pipe as it was.
        stuck = used == 0 && written == stream.size() ? stuck + 1 : 0;
        if (stuck == 16)
            sink.stopRefusing();
        FUZZ_CHECK(stuck < 64);
    }
    checkRecords(sink.records, stream, max_line, false);
    return 0;
}
