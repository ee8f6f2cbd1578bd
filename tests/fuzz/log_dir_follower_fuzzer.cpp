// The collected-file reader (service/collect/log_dir_follower.h): a log file that an application
// inside a container writes, in a log directory opened as an attach's log-dir is; its bytes are
// the input's. The input chooses max-line, the read buffer and budget, how much of the file is
// there when the follower starts and in which appends the rest comes (each one reported by
// inotify, as the daemon's FileWatcher hands it over), whether the file is rotated on the way
// (renamed to app.log.1, the rest written to a new app.log), and when the ring is full; the lines
// go to a collecting FileLineSink. At the end the container is detached (finish()).
//
// Invariants (docs/log-files.md): per file, the lines, each followed by '\n' where it has the
// newline flag, are the file's bytes, byte for byte, under the name it was found by; each line's
// end offset is where it ends in its file; no line is longer than max-line, and a line is cut only
// at max-line or at the file's end.
#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <string>
#include <vector>

#include "service/collect/log_dir_follower.h"
#include "tests/fuzz/fuzz_support.h"

namespace ringlog {
namespace {

namespace fs = std::filesystem;

struct Line {
    uint16_t source;
    std::string file, message;
    uint8_t flags;
    uint64_t end_offset;
};

class CollectingSink final : public FileLineSink {
  public:
    explicit CollectingSink(std::string refusals) : refusals_(std::move(refusals)) {}
    uint16_t fileSource(std::string_view name) override {
        names_.emplace_back(name);
        return static_cast<uint16_t>(names_.size());
    }
    bool pushFileLine(uint16_t source, uint64_t end_offset, std::string_view message, uint8_t flags,
                      uint32_t, uint64_t&) override {
        if (refusing && !refusals_.empty() && (refusals_[offers_++ % refusals_.size()] & 1))
            return false;
        FUZZ_CHECK(source >= 1 && source <= names_.size());
        lines.push_back({source, names_[source - 1], std::string(message), flags, end_offset});
        return true;
    }
    void beginFileRead() override {}
    uint64_t nextSequence() const override { return lines.size() + 1; }

    std::vector<Line> lines;
    bool refusing = true;

  private:
    std::vector<std::string> names_;
    std::string refusals_;
    size_t offers_ = 0;
};

}  // namespace
}  // namespace ringlog

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    FuzzedDataProvider in(data, size);
    FollowLimits limits;
    limits.max_line = in.ConsumeIntegralInRange<uint32_t>(1, 4096);
    size_t buffer_size = in.ConsumeIntegralInRange<size_t>(1, 16384);
    size_t budget = in.ConsumeBool() ? SIZE_MAX : in.ConsumeIntegralInRange<size_t>(1, 8192);
    size_t rename_after = in.ConsumeIntegralInRange<size_t>(0, 8);  // appends; 0: never
    CollectingSink sink(in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 8)));
    std::string appends = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 16));
    std::string content = in.ConsumeRemainingBytesAsString();

    const fs::path root = fuzz::scratchDir() / "collect", dir = root / "logs";
    fs::remove_all(root);
    fs::create_directories(dir);
    const fs::path file = dir / "app.log";
    size_t rotated_at = SIZE_MAX;  // the bytes of the first file, when it was rotated
    // What is there when the container attaches: the first append, or nothing.
    size_t written = appends.empty()
                         ? content.size()
                         : std::min(content.size(), static_cast<size_t>(appends[0]) * 16u);
    fuzz::writeFile(file, std::string_view(content).substr(0, written));

    auto opened = openLogDirectory({root.string()}, dir.string());
    FUZZ_CHECK(opened.ok());
    std::vector<std::pair<std::string, UniqueFd>> dirs;
    dirs.emplace_back(dir.string(), std::move(*opened));
    FileWatcher watcher;
    LogDirFollower follower(watcher, "fuzz", std::move(dirs), "*.log", limits, sink);
    std::vector<char> buffer(buffer_size);

    auto readAll = [&] {
        watcher.onReadable();
        for (int turn = 0; follower.hasPending(); ++turn) {
            if (turn == 64)
                sink.refusing = false;  // the ring has room again
            FUZZ_CHECK(turn < 100000);
            follower.readPending(buffer.data(), buffer.size(), budget);
        }
        sink.refusing = true;
    };
    readAll();
    for (size_t i = 1; written < content.size(); ++i) {
        // At most 32 appends, the last one the rest: each costs an open, a write and an inotify
        // event, and byte-sized writes are the framer's and pipe_reader's business.
        size_t n = appends.size() > 1 && i < 32
                       ? 1 + static_cast<unsigned char>(appends[i % appends.size()]) * 7u
                       : content.size();
        n = std::min(n, content.size() - written);
        std::ofstream(file, std::ios::binary | std::ios::app)
            .write(content.data() + written, static_cast<std::streamsize>(n));
        written += n;
        if (i == rename_after && written < content.size()) {
            // Rotated: read to its end under its name; the rest goes into a new app.log.
            fs::rename(file, dir / "app.log.1");
            rotated_at = written;
        }
        readAll();
    }
    sink.refusing = false;
    for (int turn = 0; !follower.finish(buffer.data(), buffer.size()); ++turn)
        FUZZ_CHECK(turn < 16);

    if (std::getenv("RINGLOG_FUZZ_DEBUG") != nullptr)  // to see what a crash's input did
        for (const auto& l : sink.lines)
            std::fprintf(stderr, "source %u flags %u end %lu: %zu bytes\n", l.source, l.flags,
                         static_cast<unsigned long>(l.end_offset), l.message.size());
    // Per file (the rotated one, then the new one), the lines are its bytes. Files are read in
    // no order among them: a rotated file keeps its unfinished last line until the detach.
    std::string framed[2];
    size_t last_line[2] = {0, 0};
    for (size_t i = 0; i < sink.lines.size(); ++i) {
        FUZZ_CHECK(sink.lines[i].source == 1 || sink.lines[i].source == 2);
        last_line[sink.lines[i].source - 1] = i;
    }
    for (size_t i = 0; i < sink.lines.size(); ++i) {
        const auto& l = sink.lines[i];
        bool newline = l.flags & kRecordNewline;
        FUZZ_CHECK(l.file == "app.log");
        FUZZ_CHECK(l.message.size() <= limits.max_line);
        FUZZ_CHECK(!newline || l.message.size() < limits.max_line);
        if (!newline && i != last_line[l.source - 1])
            FUZZ_CHECK(l.message.size() == limits.max_line);
        std::string& bytes = framed[l.source - 1];
        bytes.append(l.message);
        if (newline)
            bytes.push_back('\n');
        FUZZ_CHECK(l.end_offset == bytes.size());
    }
    std::string_view first = std::string_view(content).substr(0, rotated_at);
    std::string_view second =
        rotated_at == SIZE_MAX ? std::string_view() : std::string_view(content).substr(rotated_at);
    if (framed[0] != first || framed[1] != second)
        std::fprintf(stderr, "the files have %zu and %zu bytes, the lines %zu and %zu\n",
                     first.size(), second.size(), framed[0].size(), framed[1].size());
    FUZZ_CHECK(framed[0] == first && framed[1] == second);
    return 0;
}
