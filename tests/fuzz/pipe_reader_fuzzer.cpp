// The reader itself, as journald's stdout-stream fuzzer does it: the input's bytes are written into
// a real pipe (or a socketpair, the path of fds that cannot be peeked) and read by
// Container::pump, the code the event loop runs (PipePeek's tee and splice, the ingest ledger,
// Framer, the ring in its memfd); a driver collects what the consumer hands it. The input chooses
// max-line, the ring's size, the pipe's size, the read buffer's size, the sizes of the writes and
// when the consumer drains the ring; the rest is what the container writes.
//
// Invariants (docs/behaviour.md, "Framing"; blocking mode, so nothing may be dropped): the records,
// each followed by '\n' where it has the newline flag, are the bytes written, in order; no record
// is longer than max-line; a line is cut only at max-line, at the end of the stream, or where a
// pipe smaller than max-line is full of it; sequences count up from 1 and times strictly increase;
// a line's parts are numbered 1, 2, … under the sequence of the first.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "service/container/container.h"
#include "tests/fuzz/fuzz_support.h"

namespace ringlog {
namespace {

struct Persisted {
    std::string message;
    uint8_t flags;
    uint32_t ordinal;
    uint64_t sequence, partial_id;
    int64_t time_ns;
};

class CollectingDriver final : public LogDriver {
  public:
    std::vector<Persisted> records;

  protected:
    WriteResult doWrite(std::span<const RecordView> batch, const DropCount& dropped) override {
        FUZZ_CHECK(!dropped.any());  // blocking mode drops nothing
        for (const auto& r : batch)
            records.push_back({std::string(r.message), r.flags, r.partial_ordinal, r.sequence,
                               r.partial_id, r.time_ns});
        return {WriteStatus::kOk, batch.size(), {}};
    }
};

}  // namespace
}  // namespace ringlog

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);  // a read error's warning is not a finding
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    FuzzedDataProvider in(data, size);
    uint32_t max_line = in.ConsumeIntegralInRange<uint32_t>(16, 4096);
    uint64_t ring_bytes = in.ConsumeIntegralInRange<uint64_t>(24 * 1024, 512 * 1024);
    bool socket = in.ConsumeBool();
    bool small_pipe = in.ConsumeBool();
    size_t buffer_size = in.ConsumeIntegralInRange<size_t>(max_line + 1, 64 * 1024);
    std::string schedule = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 32));
    std::string stream = in.ConsumeRemainingBytesAsString();
    size_t turn = 0;
    auto next = [&]() -> unsigned {
        return schedule.empty() ? 255u
                                : static_cast<unsigned char>(schedule[turn++ % schedule.size()]);
    };

    auto geometry = RingGeometry::forLimits(ring_bytes, max_line);
    FUZZ_CHECK(geometry.ok());
    auto ring = RingLog::create("fuzz", *geometry, OverflowPolicy::kBlock);
    FUZZ_CHECK(ring.ok());
    auto owned_driver = std::make_unique<CollectingDriver>();
    CollectingDriver& driver = *owned_driver;
    AttachSettings settings;
    settings.max_line = max_line;
    settings.max_buffer_size = ring_bytes;
    Container container(ContainerInfo{"fuzz", "fuzz", "", {}, {}}, settings, std::move(*ring),
                        std::move(owned_driver), 1);

    int fds[2];
    if (socket)
        FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    else
        FUZZ_CHECK(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    if (!socket && small_pipe)
        ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
    UniqueFd writer(fds[1]);
    container.addInput(Stream::kStdout, UniqueFd(fds[0]));
    Container::Input& input = *container.inputs().front();
    FUZZ_CHECK(input.peek == !socket);
    auto peeker = PipePeek::open(buffer_size, 65536);
    FUZZ_CHECK(peeker.ok());
    std::vector<char> buffer(buffer_size);

    std::vector<RecordView> scratch;
    std::vector<uint32_t> ends;
    auto drain = [&] {
        for (int i = 0; container.consume(scratch, ends, Container::Clock::now()).kind ==
                        Container::ConsumeOutcome::kMore;
             ++i)
            FUZZ_CHECK(i < 100000);
        container.pushBacklog();
    };
    auto pump = [&] {
        auto r = container.pump(input, *peeker, buffer.data(), buffer.size(), 4);
        if (r == Container::PumpResult::kBlocked || (next() & 3) == 0)
            drain();
    };

    for (size_t written = 0, full = 0; written < stream.size();) {
        size_t n = std::min<size_t>(1 + (next() * 131u) % 8192, stream.size() - written);
        ssize_t w = ::write(writer.get(), stream.data() + written, n);
        FUZZ_CHECK(w > 0 || errno == EAGAIN);
        if (w > 0) {
            written += static_cast<size_t>(w);
            full = 0;
        } else {
            drain();  // the pipe is full: the ring has to make room for the reader to read
            FUZZ_CHECK(++full < 1000);  // a full pipe the reader never takes from: a hang
        }
        pump();
    }
    writer.reset();
    for (int i = 0; !container.inputFinished(); ++i) {
        FUZZ_CHECK(i < 100000);
        container.pump(input, *peeker, buffer.data(), buffer.size(), 4);
        drain();
    }
    drain();
    container.closeInput();
    FUZZ_CHECK(container.consume(scratch, ends, Container::Clock::now()).kind ==
               Container::ConsumeOutcome::kDrained);
    container.finish();

    // The pipe's capacity: a line that fills a pipe smaller than max-line is cut where it filled.
    bool small_capacity = !socket && input.capacity <= max_line;
    std::string framed;
    uint32_t next_ordinal = 0;
    uint64_t group = 0;
    const auto& records = driver.records;
    for (size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        bool newline = r.flags & kRecordNewline;
        FUZZ_CHECK(r.sequence == i + 1);
        FUZZ_CHECK(i == 0 || r.time_ns > records[i - 1].time_ns);
        FUZZ_CHECK(r.message.size() <= max_line && (!newline || r.message.size() < max_line));
        if (!newline && i + 1 < records.size() && !small_capacity)
            FUZZ_CHECK(r.message.size() == max_line);
        framed.append(r.message);
        if (newline)
            framed.push_back('\n');
        if (r.ordinal == 0) {
            FUZZ_CHECK(next_ordinal == 0 && r.flags == kRecordNewline && r.partial_id == 0);
            continue;
        }
        FUZZ_CHECK(r.ordinal == (next_ordinal == 0 ? 1 : next_ordinal));
        if (r.ordinal == 1)
            group = r.sequence;
        FUZZ_CHECK(r.partial_id == group);
        bool last = r.flags & kRecordPartialLast;
        FUZZ_CHECK(last == newline);
        next_ordinal = last ? 0 : r.ordinal + 1;
    }
    if (framed != stream)
        std::fprintf(stderr, "wrote %zu bytes, the records hold %zu\n", stream.size(),
                     framed.size());
    FUZZ_CHECK(framed == stream);
    return 0;
}
