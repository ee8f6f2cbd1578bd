// Framing under load, through the real daemon: lines written in write()s of random sizes, cut
// anywhere, arrive as exactly one record each, byte for byte; lines of max-line bytes and longer
// are cut exactly where docker's copier cuts them (docs/behaviour.md, "Framing").
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "framing_lines.h"
#include "harness.h"

namespace ringlog::test {
namespace {

constexpr uint32_t kMaxLine = 16384;
constexpr int kContainers = 3;

std::string num(long long n) {
    return std::to_string(n);
}

// Runs `kContainers` containers at once, each framing_writer on stdout and stderr with seed
// 100 + its index, and waits for them all.
void runWriters(const Daemon& d, const std::string& prefix, long long lines,
                const std::vector<std::string>& writer_args,
                const std::vector<std::string>& run_opts = {}) {
    std::vector<Process> runs;
    for (int c = 0; c < kContainers; ++c) {
        std::vector<std::string> argv = {ringlogctlPath(), "run",  "--socket",
                                         d.socket(),       "--id", prefix + num(c)};
        argv.insert(argv.end(), run_opts.begin(), run_opts.end());
        argv.insert(argv.end(), {"--", framingWriterPath(), "--seed", num(100 + c), "--streams",
                                 "both", "--lines", num(lines)});
        argv.insert(argv.end(), writer_args.begin(), writer_args.end());
        runs.push_back(spawn(argv));
    }
    for (auto& r : runs)
        ASSERT_EQ(r.wait(), 0);
}

struct Audit {
    long long records = 0, partial = 0, missing = 0;
    std::string problem;
};

// Every record of one container's json-file is one whole line that framing_writer wrote, byte
// for byte, in order per stream. `gaps`: lines may be missing (non-blocking drops), never cut.
Audit auditWholeLines(const fs::path& file, uint64_t seed, long long lines, uint32_t max_len,
                      bool gaps) {
    Audit a;
    LineSource sources[] = {LineSource(seed, 1, max_len), LineSource(seed, 2, max_len)};
    long long next[2] = {0, 0};
    std::string expected;
    for (const auto& r : readJsonLog(file)) {
        ++a.records;
        int s = r.stream == "stderr" ? 1 : 0;
        if (r.log.empty() || r.log.back() != '\n') {
            if (++a.partial == 1)
                a.problem = r.stream + " record " + num(a.records) + " is a partial of " +
                            num(static_cast<long long>(r.log.size())) + " bytes";
            continue;
        }
        bool found = false;
        while (!found && next[s] < lines) {
            sources[s].next(expected);
            ++next[s];
            found = expected == r.log;
            if (!found && !gaps)
                break;
            if (!found)
                ++a.missing;
        }
        if (!found && a.problem.empty())
            a.problem = r.stream + " record " + num(a.records) + " is not line " +
                        num(next[s] - 1) + ": " + r.log.substr(0, 80);
    }
    a.missing += 2 * lines - next[0] - next[1];
    return a;
}

long long loggedNumber(const std::string& log, const std::string& id, const std::string& key) {
    std::smatch m;
    std::regex re("container " + id + " exited: .*" + key + "=(\\d+)");
    return std::regex_search(log, m, re) ? std::stoll(m[1]) : -1;
}

void expectEveryLineWhole(const Daemon& d, const std::string& prefix, long long lines) {
    for (int c = 0; c < kContainers; ++c) {
        std::string id = prefix + num(c);
        Audit a =
            auditWholeLines(d.logFile(id), 100 + static_cast<uint64_t>(c), lines, kMaxLine, false);
        EXPECT_EQ(a.partial, 0) << id << ": " << a.problem;
        EXPECT_EQ(a.records, 2 * lines) << id << ": " << a.problem;
        EXPECT_EQ(a.missing, 0) << id << ": " << a.problem;
        EXPECT_EQ(loggedNumber(d.log(), id, "lines_split"), 0) << d.log();
    }
}

// 3 containers x 2 streams x 200,000 lines of 0 to 16,383 bytes (about 9.8 GB) in writes of
// 1 byte to 64 KiB; a quarter of that under ASan.
TEST(Framing, RandomWritesOfLinesBelowMaxLineArriveAsOneRecordEachWithTheDefaultRing) {
    TempDir dir;
    Daemon d(dir.path());
    const long long lines = loadVolume(200'000, 50'000);
    runWriters(d, "default", lines, {"--max-len", num(kMaxLine)});
    ASSERT_EQ(d.stop(), 0) << d.log();
    expectEveryLineWhole(d, "default", lines);
}

// The smallest ring allowed (three cells of one max-line record): full at almost every read.
TEST(Framing, RandomWritesOfLinesBelowMaxLineArriveAsOneRecordEachWithTheSmallestRing) {
    TempDir dir;
    Daemon d(dir.path());
    const long long lines = loadVolume(100'000, 25'000);
    runWriters(d, "small", lines, {"--max-len", num(kMaxLine)},
               {"--log-opt", "max-buffer-size=60k"});
    ASSERT_EQ(d.stop(), 0) << d.log();
    expectEveryLineWhole(d, "small", lines);
}

// Non-blocking with a slow driver: whole lines are dropped, and counted; none is half dropped.
TEST(Framing, NonBlockingDropsWholeLinesAndCountsThemButCutsNone) {
    TempDir dir;
    Daemon d(dir.path());
    constexpr long long kLines = 100'000;
    runWriters(d, "drop", kLines, {"--max-len", "400"},
               {"--mode", "non-blocking", "--log-opt", "max-buffer-size=60k", "--log-opt",
                "max-write-rate=2m"});
    ASSERT_EQ(d.stop(), 0) << d.log();
    long long dropped_in_all = 0;
    for (int c = 0; c < kContainers; ++c) {
        std::string id = "drop" + num(c);
        Audit a = auditWholeLines(d.logFile(id), 100 + static_cast<uint64_t>(c), kLines, 400, true);
        EXPECT_EQ(a.partial, 0) << id << ": " << a.problem;
        EXPECT_TRUE(a.problem.empty()) << id << ": " << a.problem;
        EXPECT_EQ(a.records + a.missing, 2 * kLines) << id;
        EXPECT_EQ(loggedNumber(d.log(), id, "lines_dropped"), a.missing) << d.log();
        dropped_in_all += a.missing;
    }
    EXPECT_GT(dropped_in_all, 0) << "the driver was not slow enough to make the ring drop";
}

// Lines of max-line - 1, max-line, max-line + 1 and 100 KiB bytes, and short ones, in random
// writes: cut where docker's copier cuts, and nowhere else.
TEST(Framing, LinesOfMaxLineAndLongerAreCutExactlyWhereDockerCutsThem) {
    TempDir dir;
    Daemon d(dir.path());
    const std::vector<uint32_t> lengths = {16383, 16384, 16385, 102400, 0, 7, 32768, 200};
    constexpr long long kLines = 400;
    std::string list;
    for (uint32_t l : lengths)
        list += (list.empty() ? "" : ",") + num(l);
    runWriters(d, "long", kLines, {"--lengths", list});
    ASSERT_EQ(d.stop(), 0) << d.log();
    // Each line: floor(len / max-line) parts of max-line bytes, then the rest and '\n'.
    long long splits_per_cycle = 0;
    for (uint32_t l : lengths)
        splits_per_cycle += l >= kMaxLine ? 1 : 0;
    for (int c = 0; c < kContainers; ++c) {
        std::string id = "long" + num(c);
        auto records = readJsonLog(d.logFile(id));
        LineSource sources[] = {LineSource(100 + static_cast<uint64_t>(c), 1, 0, lengths),
                                LineSource(100 + static_cast<uint64_t>(c), 2, 0, lengths)};
        size_t at[2] = {0, 0};
        std::vector<const JsonRecord*> by_stream[2];
        for (const auto& r : records)
            by_stream[r.stream == "stderr" ? 1 : 0].push_back(&r);
        std::string line;
        for (int s = 0; s < 2; ++s) {
            for (long long n = 0; n < kLines; ++n) {
                sources[s].next(line);
                size_t body = line.size() - 1;
                for (size_t part = 0; part <= body / kMaxLine; ++part) {
                    ASSERT_LT(at[s], by_stream[s].size()) << id << " line " << n << " missing";
                    const std::string& got = by_stream[s][at[s]++]->log;
                    std::string want = part < body / kMaxLine
                                           ? line.substr(part * kMaxLine, kMaxLine)
                                           : line.substr(part * kMaxLine);
                    ASSERT_EQ(got, want) << id << " stream " << s << " line " << n << " (length "
                                         << body << ") part " << part;
                }
            }
            EXPECT_EQ(at[s], by_stream[s].size()) << id << ": records after the last line";
        }
        EXPECT_EQ(loggedNumber(d.log(), id, "lines_split"),
                  2 * kLines / static_cast<long long>(lengths.size()) * splits_per_cycle)
            << d.log();
    }
}

// Entries in journalctl's export format (binary-safe, and quick to read: most of these messages
// are not printable UTF-8, which `-o json` would write as arrays of numbers).
std::vector<std::map<std::string, std::string>> exportedEntries(const std::string& text) {
    std::vector<std::map<std::string, std::string>> out(1);
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == pos) {  // an empty line ends an entry
            out.emplace_back();
            ++pos;
            continue;
        }
        size_t eq = text.find('=', pos);
        if (eq < nl) {
            out.back()[text.substr(pos, eq - pos)] = text.substr(eq + 1, nl - eq - 1);
            pos = nl + 1;
            continue;
        }
        uint64_t size = 0;  // a name line, then a little-endian 64-bit size and the bytes
        for (int i = 7; i >= 0; --i)
            size = size << 8 | static_cast<unsigned char>(text[nl + 1 + static_cast<size_t>(i)]);
        out.back()[text.substr(pos, nl - pos)] = text.substr(nl + 9, size);
        pos = nl + 9 + size + 1;
    }
    if (out.back().empty())
        out.pop_back();
    return out;
}

// The journald driver under the same load: no entry of a line shorter than max-line is marked
// CONTAINER_PARTIAL_MESSAGE (docker's readers would join it with the next line).
TEST(Framing, JournaldGetsEveryShortLineAsOneEntryUnderRandomWrites_Root) {
    TempDir dir;
    Journald journald(dir.path() / "journal");
    Daemon d(dir.path() / "d", {}, {}, journald.inside());
    constexpr long long kLines = 20'000;
    std::vector<Process> runs;
    for (int c = 0; c < 2; ++c)
        runs.push_back(
            spawn({ringlogctlPath(), "run", "--socket", d.socket(), "--id", "jd" + num(c),
                   "--log-driver", "journald", "--", framingWriterPath(), "--seed", num(100 + c),
                   "--streams", "both", "--lines", num(kLines), "--max-len", num(kMaxLine)}));
    for (auto& r : runs)
        ASSERT_EQ(r.wait(), 0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    for (int c = 0; c < 2; ++c) {
        std::string id = "jd" + num(c);
        LineSource sources[] = {LineSource(100 + static_cast<uint64_t>(c), 1, kMaxLine),
                                LineSource(100 + static_cast<uint64_t>(c), 2, kMaxLine)};
        long long seen[2] = {0, 0}, partial = 0;
        std::string expected;
        for (auto& e :
             exportedEntries(journald.journalctl({"-o", "export", "CONTAINER_ID_FULL=" + id,
                                                  "--output-fields=MESSAGE,PRIORITY,CONTAINER_"
                                                  "PARTIAL_MESSAGE,CONTAINER_PARTIAL_ID"}))) {
            int s = e["PRIORITY"] == "3" ? 1 : 0;
            if (e.count("CONTAINER_PARTIAL_MESSAGE") || e.count("CONTAINER_PARTIAL_ID"))
                ++partial;
            sources[s].next(expected);
            expected.pop_back();  // journald entries carry no '\n'
            ASSERT_EQ(e["MESSAGE"], expected) << id << " stream " << s << " entry " << seen[s];
            ++seen[s];
        }
        EXPECT_EQ(partial, 0) << id;
        EXPECT_EQ(seen[0], kLines) << id;
        EXPECT_EQ(seen[1], kLines) << id;
    }
}

}  // namespace
}  // namespace ringlog::test
