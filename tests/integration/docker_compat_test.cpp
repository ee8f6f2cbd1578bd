// Where docker 20.10's json-file output depends on more than the record encoder: how max-size is
// read (go-units' decimal FromHumanSize), where a file rotates (moby loggerutils.LogFile: before a
// record, once the file holds max-size bytes or more) and where lines are cut (moby
// daemon/logger/copier.go: when its 16 KiB buffer fills without a '\n'). docs/drivers/json-file.md
// says what ringlogd keeps different on purpose.
#include <gtest/gtest.h>

#include <regex>

#include "harness.h"

namespace ringlog::test {
namespace {

// The files of a json-file log, oldest first: <name>.N … <name>.1, <name>.
std::vector<fs::path> logFiles(const fs::path& current) {
    std::vector<fs::path> out;
    for (int i = 1; fs::exists(current.string() + "." + std::to_string(i)); ++i)
        out.insert(out.begin(), current.string() + "." + std::to_string(i));
    out.push_back(current);
    return out;
}

// Docker's rotation over the same records: before each record, a file that holds `max_size`
// bytes or more is closed and a new one started. Returns the size each file would have.
std::vector<size_t> dockersFileSizes(const std::vector<std::string>& records, size_t max_size) {
    std::vector<size_t> sizes = {0};
    for (const auto& r : records) {
        if (sizes.back() >= max_size)
            sizes.push_back(0);
        sizes.back() += r.size() + 1;
    }
    return sizes;
}

TEST(DockerCompat, MaxSizeIsDecimalAndFilesRotateAtTheRecordWhereDockersWould) {
    TempDir dir;
    Daemon d(dir.path());
    // 75,000 lines of 100 bytes: about 12.8 MB of records of about 171 bytes.
    const std::vector<std::pair<std::string, size_t>> cases = {
        {"1m", 1'000'000}, {"1.5m", 1'500'000}, {"10 m", 10'000'000}};
    for (size_t c = 0; c < cases.size(); ++c) {
        ASSERT_EQ(ringlogctlRun(d, {"--id", "size" + std::to_string(c), "--log-opt",
                                    "max-size=" + cases[c].first, "--log-opt", "max-file=30", "--",
                                    lineWriterPath(), "--lines", "75000", "--width", "100"}),
                  0);
    }
    ASSERT_EQ(d.stop(), 0) << d.log();
    for (size_t c = 0; c < cases.size(); ++c) {
        const auto& [text, max_size] = cases[c];
        SCOPED_TRACE("max-size=" + text);
        std::vector<std::string> records;
        std::vector<size_t> sizes;
        for (const auto& f : logFiles(d.logFile("size" + std::to_string(c)))) {
            std::string bytes = readFile(f);
            ASSERT_FALSE(bytes.empty()) << f;
            ASSERT_EQ(bytes.back(), '\n') << f << " ends inside a record";
            sizes.push_back(bytes.size());
            for (auto& r : splitLines(bytes))
                records.push_back(std::move(r));
        }
        ASSERT_EQ(records.size(), 75'000u);
        for (size_t i = 0; i < records.size(); ++i)
            ASSERT_NE(records[i].find(linePrefix("stdout", static_cast<long long>(i))),
                      std::string::npos)
                << "record " << i;
        EXPECT_EQ(sizes, dockersFileSizes(records, max_size));
        // Decimal: a rotated file ends at the first record boundary at or past max-size, within
        // one record of it (1m: around 1,000,100, never at 1,048,576 as with binary units).
        ASSERT_GE(sizes.size(), 2u);
        for (size_t i = 0; i + 1 < sizes.size(); ++i) {
            EXPECT_GE(sizes[i], max_size) << "file " << i;
            EXPECT_LT(sizes[i], max_size + 200) << "file " << i;
        }
    }
}

TEST(DockerCompat, AMalformedOrZeroMaxSizeIsRefusedAtAttachNamingTheValue) {
    TempDir dir;
    Daemon d(dir.path());
    const std::string not_a_size =
        "\" is not a size such as 10m, 1.5m or 500k (decimal, as docker's json-file reads it: 1m "
        "is 1000000 bytes), or -1";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"1.2.3m", not_a_size},
        {"10  m", not_a_size},
        {"1x", not_a_size},
        {"ten", not_a_size},
        {"0.5", "\" is 0 bytes; it must be positive, or -1 for no limit"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& [value, says] = cases[i];
        SpawnOptions o;
        o.stderr_file = (dir.path() / ("ctl" + std::to_string(i) + ".err")).string();
        std::string marker = (dir.path() / "ran").string();
        EXPECT_EQ(ringlogctlRun(d,
                                {"--id", "bad" + std::to_string(i), "--log-opt",
                                 "max-size=" + value, "--", "/usr/bin/touch", marker},
                                o),
                  125)
            << value;
        EXPECT_FALSE(fs::exists(marker)) << value;
        std::string err = readFile(o.stderr_file);
        EXPECT_NE(err.find("log option \"max-size\": \"" + value + says), std::string::npos) << err;
    }
    ASSERT_EQ(d.stop(), 0) << d.log();
}

// RFC 3339 with up to 9 fraction digits, trailing zeros trimmed: as nanoseconds of the day's
// second plus the rest of the text, comparable in order.
std::pair<std::string, std::string> sortableTime(const std::string& t) {
    size_t dot = t.find('.');
    std::string whole = t.substr(0, dot == std::string::npos ? t.size() - 1 : dot);
    std::string fraction = dot == std::string::npos ? "" : t.substr(dot + 1, t.size() - dot - 2);
    fraction.resize(9, '0');
    return {whole, fraction};
}

// Lines of 16,383, 16,384, 16,385 and 32,768 bytes and their '\n', an empty line, a short one
// and a last line without '\n', cut as docker's copier cuts them: the file equals
// tests/golden/expected-framing.jsonl (made by tests/golden/make_golden.py) with times blanked.
TEST(DockerCompat, JsonFileCutsLinesWhereDockersCopierDoesByteForByte) {
    TempDir dir;
    Daemon d(dir.path());
    std::string golden = GOLDEN_DIR;
    ASSERT_EQ(
        ringlogctlRun(d, {"--id", "framing", "--", "/bin/cat", golden + "/input-framing.bin"}), 0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    std::string text = readFile(d.logFile("framing"));
    static const std::regex time_re(
        R"re("time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z)"\}$)re");
    std::string normalized;
    std::vector<std::pair<std::string, std::string>> times;
    for (const auto& line : splitLines(text)) {
        std::smatch m;
        EXPECT_TRUE(std::regex_search(line, m, time_re)) << line.substr(0, 200);
        if (!m.empty())
            times.push_back(sortableTime(m[1].str()));
        normalized += std::regex_replace(line, time_re, "\"time\":\"TIME\"}") + "\n";
    }
    EXPECT_EQ(normalized, readFile(golden + "/expected-framing.jsonl"));
    // Kept different on purpose (docs/drivers/json-file.md): docker gives all parts of a cut line
    // the first part's time; ringlogd's times strictly increase, record by record.
    for (size_t i = 1; i < times.size(); ++i)
        EXPECT_LT(times[i - 1], times[i]) << "record " << i;
}

}  // namespace
}  // namespace ringlog::test
