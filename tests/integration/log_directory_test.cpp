// A container's log directory removed under ringlogd (issue 14): the json-file driver notices,
// recreates the directory and the file, says so in its log, and no line is lost or counted as
// written while it went into the removed file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

// Attaches a pipe the test writes itself, so the test decides where the removal falls.
int attach(const Daemon& d, const char* id, int out_fd, std::string& message) {
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = id;
    a.stdout_fd = out_fd;
    char err[512] = "";
    int rc = ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err);
    message = err;
    return rc;
}

// line_writer's numbered 100-byte lines [from, to), as one string.
std::string lines(long long from, long long to) {
    std::string out;
    for (long long n = from; n < to; ++n) {
        std::string line = linePrefix("stdout", n);
        line.resize(99, 'x');
        out += line + "\n";
    }
    return out;
}

void writeAll(int fd, const std::string& bytes) {
    // At most PIPE_BUF at a time is one write: these arrive together.
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

// Waits until `file` holds `n` records; false after 30 s.
bool waitForRecords(const fs::path& file, size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        std::error_code ec;
        if (fs::exists(file, ec) && readJsonLog(file).size() >= n)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

// Checks that `records` are line_writer's lines first, first+1, …; returns the first, -1 if none.
long long expectConsecutive(const std::vector<JsonRecord>& records, const std::string& what) {
    if (records.empty())
        return -1;
    long long first = std::stoll(records.front().log.substr(7, 9));
    for (size_t i = 0; i < records.size(); ++i) {
        EXPECT_TRUE(
            startsWith(records[i].log, linePrefix("stdout", first + static_cast<long long>(i))))
            << what << " record " << i << ": " << records[i].log.substr(0, 20);
    }
    return first;
}

long long exitCounter(const std::string& log, const std::string& key) {
    std::smatch m;
    std::regex re("exited: .*\\b" + key + "=(\\d+)");
    return std::regex_search(log, m, re) ? std::stoll(m[1]) : -1;
}

// The operator's report: 50 lines, the directory removed after 15; 35 went into the removed file
// and the counters said 50 written. Now the 35 are in a recreated file, each once.
TEST(LogDirectory, RemovedBetweenWritesIsRecreatedWithAWarningAndHoldsEveryLineWrittenAfter) {
    TempDir dir;
    Daemon d(dir.path());
    Pipe out;
    std::string message;
    ASSERT_EQ(attach(d, "gone", out.read_fd, message), 0) << message;
    out.closeRead();

    writeAll(out.write_fd, lines(0, 15));
    ASSERT_TRUE(waitForRecords(d.logFile("gone"), 15)) << d.log();
    ASSERT_EQ(spawn({"/bin/rm", "-rf", (d.logRoot() / "gone").string()}).wait(), 0);
    ASSERT_FALSE(fs::exists(d.logRoot() / "gone"));

    writeAll(out.write_fd, lines(15, 50));
    ASSERT_TRUE(waitForRecords(d.logFile("gone"), 35)) << "not recreated:\n" << d.log();
    out.closeWrite();
    ASSERT_EQ(d.stop(), 0) << d.log();

    EXPECT_EQ((fs::status(d.logRoot() / "gone").permissions() & fs::perms::all),
              fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    auto records = readJsonLog(d.logFile("gone"));
    ASSERT_EQ(records.size(), 35u) << readFile(d.logFile("gone"));
    EXPECT_EQ(expectConsecutive(records, "recreated file"), 15);
    size_t bytes = 0;  // {"log":"<99 bytes>\n","stream":"stdout","time":"<time>"}\n
    for (const auto& r : records)
        bytes += 140 + r.time.size();
    EXPECT_EQ(readFile(d.logFile("gone")).size(), bytes) << "docker's records, nothing else";

    std::string log = d.log();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        log, m,
        std::regex("json-file " + d.logFile("gone").string() +
                   ": the log file was removed.*recreated.*; (\\d+) records \\(\\d+ bytes\\) that "
                   "went into the removed file are written again")))
        << log;
    // 0 when the removal was seen before the 35 were written (the once-a-second look at the path),
    // else those that went into the removed file before the write's own check.
    EXPECT_LE(std::stoll(m[1]), 35);
    // 15 removed by the test + 35 on disk: every line counted once, as written.
    EXPECT_EQ(exitCounter(log, "lines_in"), 50) << log;
    EXPECT_EQ(exitCounter(log, "lines_written"), 50) << log;
    EXPECT_EQ(exitCounter(log, "lines_failed"), 0) << log;
    EXPECT_EQ(exitCounter(log, "lines_dropped"), 0) << log;
}

// Removed mid-stream under a writer at full speed: the removed file (read through an fd the test
// kept) and the recreated one hold every line between them, the new one each line after the old
// one's last, once and in order; they overlap by exactly the records the warning says were
// written again; and lines_written is the writer's count.
TEST(LogDirectory, RemovedUnderAFullSpeedWriterLosesNoLineAndCountsExactly) {
    TempDir dir;
    Daemon d(dir.path());
    StoppableWriter w({ringlogctlPath(), "run", "--socket", d.socket(), "--id", "busy", "--"},
                      lineWriterPath(), 10000);
    ASSERT_EQ(readSome(w.progress.read_fd, 3).size(), 3u) << "the writer did not get going";
    ASSERT_TRUE(waitForRecords(d.logFile("busy"), 1)) << d.log();
    int removed = ::open(d.logFile("busy").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(removed, 0);
    // rm may find the file already recreated in the directory it is emptying (then it fails with
    // "Directory not empty" and the directory stays): either way the file it removed was in use.
    spawn({"/bin/rm", "-rf", (d.logRoot() / "busy").string()}).wait();
    ASSERT_EQ(readSome(w.progress.read_fd, 3).size(), 3u);
    ASSERT_EQ(::write(w.stop.write_fd, "s", 1), 1);
    EXPECT_EQ(w.process.wait(), 0);
    long long written = std::stoll(readLine(w.count.read_fd));
    ASSERT_EQ(d.stop(), 0) << d.log();

    auto before = readJsonLog("/proc/self/fd/" + std::to_string(removed));
    ::close(removed);
    auto after = readJsonLog(d.logFile("busy"));
    ASSERT_FALSE(after.empty()) << d.log();
    EXPECT_EQ(expectConsecutive(before, "removed file"), 0);
    long long first_after = expectConsecutive(after, "recreated file");
    long long end_before = static_cast<long long>(before.size());
    EXPECT_LE(first_after, end_before) << "lines missing between the two files";
    EXPECT_EQ(first_after + static_cast<long long>(after.size()), written);

    std::string log = d.log();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        log, m,
        std::regex("json-file " + d.logFile("busy").string() +
                   ": the log file was removed.*; (\\d+) records .* are written again")))
        << log;
    EXPECT_EQ(std::stoll(m[1]), end_before - first_after)
        << "the records that went into the removed file, no more";
    EXPECT_EQ(exitCounter(log, "lines_in"), written) << log;
    EXPECT_EQ(exitCounter(log, "lines_written"), written) << log;
    EXPECT_EQ(exitCounter(log, "lines_failed"), 0) << log;
    RecordProperty("lines_written_again", std::to_string(end_before - first_after));
}

}  // namespace
}  // namespace ringlog::test
