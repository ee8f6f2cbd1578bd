// A sink made slow on purpose (the max-write-rate option caps what the driver may persist per
// second): blocking mode slows the writer and loses nothing; non-blocking mode never slows the
// writer and accounts for every line it drops.
#include <gtest/gtest.h>

#include <chrono>

#include "harness.h"

namespace ringlog::test {
namespace {

constexpr long long kLines = 500'000;
constexpr int kWidth = 20;  // 10,000,000 bytes in all

double runWriter(const Daemon& d, const std::string& id, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--id", id};
    args.insert(args.end(), extra.begin(), extra.end());
    for (const auto& a : {"--", "LW", "--lines", "500000", "--width", "20"})
        args.push_back(a == std::string("LW") ? lineWriterPath() : a);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ringlogctlRun(d, args), 0);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Only the records after a drop have attrs: most cost nothing here (compiling a regex per record
// made this test take minutes under ASan).
uint64_t attrNumber(const std::string& attrs, const std::string& key) {
    std::string quoted = "\"" + key + "\":\"";
    size_t at = attrs.find(quoted);
    return at == std::string::npos ? 0 : std::stoull(attrs.substr(at + quoted.size()));
}

TEST(Backpressure, BlockingModeSlowsTheWriterAndLosesNothing) {
    TempDir dir;
    Daemon d(dir.path());
    double seconds = runWriter(d, "slow", {"--log-opt", "max-write-rate=4m"});
    // 10 MB at 4 MiB/s, less what the 1 MiB ring, the pipe and the bucket's burst can absorb:
    // the writer cannot have finished in much under 2.2 s.
    EXPECT_GE(seconds, 1.5) << "the writer was not held back";
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("slow"));
    ASSERT_EQ(records.size(), static_cast<size_t>(kLines));
    for (long long i = 0; i < kLines; ++i) {
        ASSERT_TRUE(startsWith(records[static_cast<size_t>(i)].log, linePrefix("stdout", i))) << i;
        ASSERT_TRUE(records[static_cast<size_t>(i)].attrs.empty());
    }
    EXPECT_NE(d.log().find("lines_in=500000 lines_written=500000 lines_dropped=0"),
              std::string::npos)
        << d.log();
}

TEST(Backpressure, NonBlockingModeNeverSlowsTheWriterAndCountsEveryDroppedLine) {
    TempDir dir;
    Daemon d(dir.path());
    double seconds =
        runWriter(d, "fast", {"--mode", "non-blocking", "--log-opt", "max-write-rate=1m"});
    // Persisting it all would take 9.5 s at this rate; the writer must not wait for that.
    EXPECT_LT(seconds, 4.75);
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("fast"));
    uint64_t dropped_lines = 0, dropped_bytes = 0;
    long long last = -1;
    for (const auto& r : records) {
        dropped_lines += attrNumber(r.attrs, "ringlog.dropped_lines");
        dropped_bytes += attrNumber(r.attrs, "ringlog.dropped_bytes");
        long long n = std::stoll(r.log.substr(7, 9));
        ASSERT_GT(n, last) << "persisted lines stay in order";
        last = n;
    }
    EXPECT_GT(dropped_lines, 0u);
    EXPECT_EQ(records.size() + dropped_lines, static_cast<uint64_t>(kLines));
    EXPECT_EQ(dropped_bytes, dropped_lines * kWidth);
    EXPECT_EQ(last, kLines - 1) << "the newest lines are kept";
    EXPECT_NE(d.log().find("lines_in=500000 lines_written=" + std::to_string(records.size()) +
                           " lines_dropped=" + std::to_string(dropped_lines)),
              std::string::npos)
        << d.log();
}

}  // namespace
}  // namespace ringlog::test
