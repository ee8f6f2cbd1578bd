// What an engine and an operator see: containers run under `ringlogctl run` or attached as FIFOs,
// their output in docker's json-file, through the real ringlogd.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <thread>

#include "harness.h"

namespace ringlog::test {
namespace {

// Checks that `records` of one stream hold lines 0..count-1 of line_writer, in order, once each.
void expectNumberedLines(const std::vector<JsonRecord>& records, const std::string& stream,
                         long long count, int width) {
    long long next = 0;
    for (const auto& r : records) {
        if (r.stream != stream)
            continue;
        ASSERT_TRUE(startsWith(r.log, linePrefix(stream, next)))
            << "line " << next << " of " << stream << ": " << r.log;
        ASSERT_EQ(r.log.size(), static_cast<size_t>(width)) << r.log;
        ++next;
    }
    EXPECT_EQ(next, count) << stream;
}

TEST(Ingest, AMillionInterleavedLinesArriveInOrderPerStreamNoneLostNoneDuplicated) {
    TempDir dir;
    Daemon d(dir.path());
    ASSERT_EQ(ringlogctlRun(d, {"--id", "million", "--", lineWriterPath(), "--lines", "1000000",
                                "--width", "60", "--stream", "both"}),
              0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    auto records = readJsonLog(d.logFile("million"));
    ASSERT_EQ(records.size(), 1'000'000u);
    expectNumberedLines(records, "stdout", 500'000, 60);
    expectNumberedLines(records, "stderr", 500'000, 60);
}

std::string normalizeTimes(const std::string& text, const std::string& stream) {
    // Keep this stream's records, and check and blank each time: RFC 3339, UTC, nanoseconds at
    // most, no trailing zeros.
    static const std::regex time_re(
        R"re("time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z"\}$)re");
    std::string out;
    for (const auto& line : splitLines(text)) {
        if (line.find("\"stream\":\"" + stream + "\"") == std::string::npos)
            continue;
        std::smatch m;
        EXPECT_TRUE(std::regex_search(line, m, time_re)) << line.substr(0, 200);
        out += std::regex_replace(line, time_re, "\"time\":\"TIME\"}") + "\n";
    }
    return out;
}

TEST(Ingest, JsonFileBytesEqualWhatDockerWritesForNulCrInvalidUtf8LongLinesAndAMissingLastNewline) {
    TempDir dir;
    Daemon d(dir.path());
    std::string golden = GOLDEN_DIR;
    ASSERT_EQ(ringlogctlRun(d, {"--id", "golden", "--", "/bin/sh", "-c",
                                "cat " + golden + "/input-stdout.bin; cat " + golden +
                                    "/input-stderr.bin >&2"}),
              0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    std::string text = readFile(d.logFile("golden"));
    EXPECT_EQ(normalizeTimes(text, "stdout"), readFile(golden + "/expected-stdout.jsonl"));
    EXPECT_EQ(normalizeTimes(text, "stderr"), readFile(golden + "/expected-stderr.jsonl"));
}

// The same bytes in write()s of random sizes, 1 byte to 64 KiB, cut anywhere: the same file.
TEST(Ingest, JsonFileBytesAreTheSameWhenTheInputArrivesInWritesOfRandomSizes) {
    TempDir dir;
    Daemon d(dir.path());
    std::string golden = GOLDEN_DIR;
    for (int seed = 1; seed <= 5; ++seed) {
        std::string id = "random" + std::to_string(seed);
        ASSERT_EQ(ringlogctlRun(d, {"--id", id, "--", framingWriterPath(), "--seed",
                                    std::to_string(seed), "--file", golden + "/input-stdout.bin"}),
                  0);
    }
    ASSERT_EQ(d.stop(), 0) << d.log();
    for (int seed = 1; seed <= 5; ++seed) {
        std::string text = readFile(d.logFile("random" + std::to_string(seed)));
        EXPECT_EQ(normalizeTimes(text, "stdout"), readFile(golden + "/expected-stdout.jsonl"))
            << "seed " << seed;
    }
}

// A line longer than the pipe can hold never ends up in the pipe whole: it is cut where the pipe
// fills rather than waited for (the writer would block forever), even with max-line above it.
TEST(Ingest, ALineLongerThanThePipeIsCutWhereThePipeFillsNotWaitedFor) {
    TempDir dir;
    // 64 KiB pipes; a ring that holds three 1 MiB records
    Daemon d(dir.path(),
             {"--pipe-size", "0", "--max-line", "1m", "--default-max-buffer-size", "4m"});
    ASSERT_EQ(ringlogctlRun(d, {"--id", "long", "--", "/bin/sh", "-c",
                                "head -c 300000 /dev/zero | tr '\\0' a; echo; echo after"}),
              0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    auto records = readJsonLog(d.logFile("long"));
    ASSERT_GE(records.size(), 3u);
    std::string line;
    for (size_t i = 0; i + 1 < records.size(); ++i)
        line += records[i].log;
    EXPECT_EQ(line, std::string(300000, 'a') + "\n");
    EXPECT_EQ(records.back().log, "after\n");
}

TEST(Ingest, TheContainerKeepsLoggingAfterTheAttachingProcessIsKilled) {
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);  // so the orphaned writer is ours to reap
    TempDir dir;
    Daemon d(dir.path());
    Pipe ready, go;
    std::vector<std::string> argv = {ringlogctlPath(),
                                     "run",
                                     "--socket",
                                     d.socket(),
                                     "--id",
                                     "orphan",
                                     "--",
                                     lineWriterPath(),
                                     "--lines",
                                     "200000",
                                     "--width",
                                     "50",
                                     "--ready-fd",
                                     std::to_string(ready.write_fd),
                                     "--go-fd",
                                     std::to_string(go.read_fd)};
    SpawnOptions o;
    o.keep_fds = {ready.write_fd, go.read_fd};
    Process ctl = spawn(argv, o);
    ready.closeWrite();
    go.closeRead();
    std::string pid_line = readLine(ready.read_fd);
    ASSERT_FALSE(pid_line.empty()) << "the writer never started";
    pid_t writer = std::stoi(pid_line);
    ctl.kill(SIGKILL);  // the engine dies right after the attach
    EXPECT_EQ(ctl.wait(), 128 + SIGKILL);
    ASSERT_EQ(::write(go.write_fd, "g", 1), 1);
    int status = 0;
    ASSERT_EQ(waitpid(writer, &status, 0), writer);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the writer got an error writing";
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("orphan"));
    ASSERT_EQ(records.size(), 200'000u);
    expectNumberedLines(records, "stdout", 200'000, 50);
}

TEST(Ingest, FifosAttachedBeforeTheContainerStartsAreRead) {
    TempDir dir;
    Daemon d(dir.path());
    std::string out = (dir.path() / "out.fifo").string(), err = (dir.path() / "err.fifo").string();
    ASSERT_EQ(mkfifo(out.c_str(), 0600), 0);
    ASSERT_EQ(mkfifo(err.c_str(), 0600), 0);
    // ringlogctl returns as soon as ringlogd has the FIFOs, before any writer exists.
    ASSERT_EQ(spawn({ringlogctlPath(), "attach", "--socket", d.socket(), "--id", "fifo", "--name",
                     "web", "--fifo", out, "--fifo", err})
                  .wait(),
              0);
    ASSERT_EQ(
        spawn({"/bin/sh", "-c", "echo to-stdout > " + out + "; echo to-stderr > " + err}).wait(),
        0);
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("fifo"));
    ASSERT_EQ(records.size(), 2u);
    std::map<std::string, std::string> by_stream;
    for (const auto& r : records)
        by_stream[r.stream] = r.log;
    EXPECT_EQ(by_stream["stdout"], "to-stdout\n");
    EXPECT_EQ(by_stream["stderr"], "to-stderr\n");
}

// The writer is gone and its pipe holds far more than one read takes, the last byte of each read
// falling inside a line: every line still arrives, without waiting for a stop to drain the pipe.
TEST(Ingest, APipeLeftFullByAWriterThatExitedIsReadToTheEndWithoutAStop) {
    TempDir dir;
    Daemon d(dir.path());
    std::string fifo = (dir.path() / "out.fifo").string();
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    int held = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // keeps the pipe while it is filled
    ASSERT_GE(held, 0);
    ASSERT_GE(fcntl(held, F_SETPIPE_SZ, 1 << 20), 1 << 20);
    const int lines = 9000, width = 100;
    std::string text;
    for (int i = 0; i < lines; ++i) {
        std::string line = linePrefix("stdout", i);
        line.resize(width - 1, 'x');
        text += line + "\n";
    }
    ASSERT_EQ(write(held, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ASSERT_EQ(
        spawn({ringlogctlPath(), "attach", "--socket", d.socket(), "--id", "full", "--fifo", fifo})
            .wait(),
        0);
    ::close(held);  // the writer is gone: the pipe holds 900,000 bytes and then its end
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (d.log().find(" exited: ") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto records = readJsonLog(d.logFile("full"));
    EXPECT_EQ(records.size(), static_cast<size_t>(lines)) << d.log();
    expectNumberedLines(records, "stdout", lines, width);
    EXPECT_EQ(d.stop(), 0);
}

TEST(Ingest, ARestartedContainerAppendsToItsLogAndContinuesItsSequence) {
    TempDir dir;
    Daemon d(dir.path());
    // The second run may attach while the first one's lines are still being persisted.
    ASSERT_EQ(ringlogctlRun(d, {"--id", "again", "--", "/bin/echo", "first run"}), 0);
    ASSERT_EQ(ringlogctlRun(d, {"--id", "again", "--", "/bin/echo", "second run"}), 0);
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("again"));
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].log, "first run\n");
    EXPECT_EQ(records[1].log, "second run\n");
}

TEST(Ingest, ARestartWhileThePreviousRunIsStillBackloggedKeepsEveryLineInOrder) {
    TempDir dir;
    Daemon d(dir.path());
    // The first run's writer exits with ~1 MiB still in the ring, held back by a 1 MiB/s sink.
    ASSERT_EQ(ringlogctlRun(d, {"--id", "backlog", "--log-opt", "max-write-rate=1m", "--",
                                lineWriterPath(), "--lines", "100000", "--width", "30"}),
              0);
    ASSERT_EQ(ringlogctlRun(d, {"--id", "backlog", "--", "/bin/echo", "second run"}), 0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    auto records = readJsonLog(d.logFile("backlog"));
    ASSERT_EQ(records.size(), 100001u);
    records.pop_back();
    expectNumberedLines(records, "stdout", 100000, 30);
    EXPECT_EQ(readJsonLog(d.logFile("backlog")).back().log, "second run\n");
}

TEST(Ingest, RinglogctlNamesTheSocketWhenNoDaemonListens) {
    TempDir dir;
    SpawnOptions o;
    o.stderr_file = (dir.path() / "err").string();
    int rc = spawn({ringlogctlPath(), "run", "--socket", (dir.path() / "none.sock").string(), "--",
                    "/bin/true"},
                   o)
                 .wait();
    EXPECT_EQ(rc, 125);
    EXPECT_EQ(readFile(dir.path() / "err"), "ringlogctl: cannot reach ringlogd at " +
                                                (dir.path() / "none.sock").string() +
                                                ": No such file or directory. Is ringlogd "
                                                "running? Start it with `systemctl start "
                                                "ringlogd.socket`, or point --socket or "
                                                "$RINGLOGD_SOCKET at its socket\n");
}

TEST(Ingest, RunExitsWithTheCommandsStatusAndRefusesBadOptionsBeforeRunningIt) {
    TempDir dir;
    Daemon d(dir.path());
    EXPECT_EQ(ringlogctlRun(d, {"--id", "st", "--", "/bin/sh", "-c", "exit 7"}), 7);
    SpawnOptions o;
    o.stderr_file = (dir.path() / "err").string();
    std::string marker = (dir.path() / "ran").string();
    EXPECT_EQ(
        ringlogctlRun(
            d, {"--id", "bad", "--log-opt", "max-sise=1m", "--", "/usr/bin/touch", marker}, o),
        125);
    EXPECT_FALSE(fs::exists(marker)) << "the command must not run when ringlogd refuses it";
    EXPECT_NE(readFile(dir.path() / "err").find("unknown log option \"max-sise\""),
              std::string::npos);
    EXPECT_EQ(d.stop(), 0);
}

}  // namespace
}  // namespace ringlog::test
