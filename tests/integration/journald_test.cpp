// The journald driver against a real systemd-journald in its own mount namespace (the tests need
// root for that: their names end in _Root), read back with the real journalctl.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "harness.h"

namespace ringlog::test {
namespace {

using nlohmann::json;

// journalctl -o json writes a field that is not printable UTF-8 as an array of its bytes.
std::string bytes(const json& v) {
    if (v.is_string())
        return v.get<std::string>();
    std::string out;
    for (const auto& b : v)
        out.push_back(static_cast<char>(b.get<int>()));
    return out;
}

std::vector<json> entries(Journald& j, const std::string& id) {
    std::vector<json> out;
    for (const auto& line :
         splitLines(j.journalctl({"-o", "json", "--all", "CONTAINER_ID_FULL=" + id})))
        out.push_back(json::parse(line));
    return out;
}

// An ordinal ("42") as 32 lowercase hex digits: the second half of a CONTAINER_PARTIAL_ID.
std::string hex32(const json& ordinal) {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%032llx", std::stoull(ordinal.get<std::string>()));
    return buf;
}

class JournaldDriverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        journald_ = std::make_unique<Journald>(dir_.path() / "journal");
        daemon_ =
            std::make_unique<Daemon>(dir_.path() / "d", std::vector<std::string>{},
                                     std::map<std::string, std::string>{}, journald_->inside());
    }
    TempDir dir_;
    std::unique_ptr<Journald> journald_;
    std::unique_ptr<Daemon> daemon_;
};

TEST_F(JournaldDriverTest, EntriesCarryDockersFieldsExactly_Root) {
    const std::string id = "4f2c0e1d2b3a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e";
    std::string out_bytes = "out line\n" + std::string(100 * 1024, 'L') + "\n" +
                            std::string("nul\0byte\n", 9) + "bad\xff\xfe utf8\n" +
                            "last without newline";
    std::ofstream(dir_.path() / "out.bin", std::ios::binary) << out_bytes;
    std::ofstream(dir_.path() / "err.bin", std::ios::binary) << "err line\n";
    ASSERT_EQ(
        ringlogctlRun(*daemon_, {"--id", id, "--name", "web", "--image", "nginx:1.25", "--label",
                                 "com.example.App=shop", "--log-driver", "journald", "--log-opt",
                                 "labels=com.example.App", "--", "/bin/sh", "-c",
                                 "cat " + (dir_.path() / "out.bin").string() + "; cat " +
                                     (dir_.path() / "err.bin").string() + " >&2"}),
        0);
    ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();

    auto all = entries(*journald_, id);
    ASSERT_EQ(all.size(), 12u);  // 1 + 7 parts of the 100 KiB line + 3 on stdout, 1 on stderr
    std::vector<json> out, err;
    std::string epoch = all[0]["CONTAINER_LOG_EPOCH"];
    EXPECT_TRUE(std::regex_match(epoch, std::regex("[0-9a-f]{32}")));
    EXPECT_FALSE(std::regex_match(epoch.substr(0, 12), std::regex("[0-9]*")))
        << "like docker's random ids, its first 12 characters are never all digits";
    std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z)");
    long last_ordinal = 0;
    for (const auto& e : all) {
        EXPECT_EQ(e["CONTAINER_ID"], id.substr(0, 12));
        EXPECT_EQ(e["CONTAINER_ID_FULL"], id);
        EXPECT_EQ(e["CONTAINER_NAME"], "web");
        EXPECT_EQ(e["CONTAINER_TAG"], id.substr(0, 12));
        EXPECT_EQ(e["SYSLOG_IDENTIFIER"], id.substr(0, 12));
        EXPECT_EQ(e["IMAGE_NAME"], "nginx:1.25");
        EXPECT_EQ(e["COM_EXAMPLE_APP"], "shop") << "labels, with docker's key sanitising";
        EXPECT_EQ(e["CONTAINER_LOG_EPOCH"], epoch);
        EXPECT_TRUE(std::regex_match(e["SYSLOG_TIMESTAMP"].get<std::string>(), rfc3339))
            << e["SYSLOG_TIMESTAMP"];
        EXPECT_FALSE(e.contains("CODE_FILE") || e.contains("CODE_LINE") || e.contains("CODE_FUNC"))
            << "no source location of ringlogd's in container entries";
        long ordinal = std::stol(e["CONTAINER_LOG_ORDINAL"].get<std::string>());
        EXPECT_GT(ordinal, 0);
        if (e["CONTAINER_STREAM"] == "stdout") {
            EXPECT_EQ(e["PRIORITY"], "6");
            EXPECT_GT(ordinal, last_ordinal);
            last_ordinal = ordinal;
            out.push_back(e);
        } else {
            EXPECT_EQ(e["CONTAINER_STREAM"], "stderr");
            EXPECT_EQ(e["PRIORITY"], "3");
            err.push_back(e);
        }
    }
    ASSERT_EQ(out.size(), 11u);
    ASSERT_EQ(err.size(), 1u);
    EXPECT_EQ(bytes(err[0]["MESSAGE"]), "err line");
    EXPECT_EQ(bytes(out[0]["MESSAGE"]), "out line");
    EXPECT_FALSE(out[0].contains("CONTAINER_PARTIAL_ID"));
    // The 100 KiB line: six 16 KiB parts and a last one, docker's partial fields; the id is 64
    // hex characters as docker's: the epoch, then the first part's ordinal in 32.
    std::string partial_id = out[1]["CONTAINER_PARTIAL_ID"];
    EXPECT_EQ(partial_id, epoch + hex32(out[1]["CONTAINER_LOG_ORDINAL"]));
    for (int part = 1; part <= 7; ++part) {
        const auto& e = out[static_cast<size_t>(part)];
        EXPECT_EQ(bytes(e["MESSAGE"]), std::string(part < 7 ? 16384 : 4096, 'L'));
        EXPECT_EQ(e["CONTAINER_PARTIAL_ID"], partial_id);
        EXPECT_EQ(e["CONTAINER_PARTIAL_ORDINAL"], std::to_string(part));
        EXPECT_EQ(e["CONTAINER_PARTIAL_LAST"], part < 7 ? "false" : "true");
        EXPECT_EQ(e.contains("CONTAINER_PARTIAL_MESSAGE"), part < 7);
        if (part < 7) {
            EXPECT_EQ(e["CONTAINER_PARTIAL_MESSAGE"], "true");
        }
    }
    EXPECT_EQ(bytes(out[8]["MESSAGE"]), std::string("nul\0byte", 8)) << "NUL bytes kept exactly";
    EXPECT_EQ(bytes(out[9]["MESSAGE"]), "bad\xff\xfe utf8") << "invalid UTF-8 kept exactly";
    // A last line without '\n' is a part that is not the last, as docker's copier sends it.
    EXPECT_EQ(bytes(out[10]["MESSAGE"]), "last without newline");
    EXPECT_EQ(out[10]["CONTAINER_PARTIAL_ID"], epoch + hex32(out[10]["CONTAINER_LOG_ORDINAL"]));
    EXPECT_EQ(out[10]["CONTAINER_PARTIAL_ORDINAL"], "1");
    EXPECT_EQ(out[10]["CONTAINER_PARTIAL_LAST"], "false");
    EXPECT_EQ(out[10]["CONTAINER_PARTIAL_MESSAGE"], "true");

    // journalctl's own matches work as they do for docker's journald driver.
    EXPECT_EQ(splitLines(journald_->journalctl({"-o", "json", "CONTAINER_ID=" + id.substr(0, 12)}))
                  .size(),
              12u);
    EXPECT_EQ(splitLines(journald_->journalctl({"-o", "cat", "CONTAINER_NAME=web", "PRIORITY=3"})),
              std::vector<std::string>{"err line"});
}

// docker's copier cuts a line when its 16 KiB buffer fills without a '\n' (so a line of exactly
// 16,384 bytes is a full part and its '\n' an empty last part), and sends a last line without
// '\n' as a part that is not the last: the same input as the json-file golden test
// (tests/golden/input-framing.bin), entry by entry, every partial field.
TEST_F(JournaldDriverTest, LinesAtMaxLineAndALastLineWithoutNewlineGetDockersPartialFields_Root) {
    const std::string id = "framing";
    ASSERT_EQ(ringlogctlRun(*daemon_, {"--id", id, "--log-driver", "journald", "--", "/bin/cat",
                                       std::string(GOLDEN_DIR) + "/input-framing.bin"}),
              0);
    ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();
    struct Expected {
        std::string message;
        int group;  // 0: a whole line, no partial fields; else which split line
        int ordinal;
        bool last;
    };
    const std::vector<Expected> expected = {
        {std::string(16383, 'a'), 0, 0, false},
        {std::string(16384, 'b'), 1, 1, false},
        {"", 1, 2, true},
        {std::string(16384, 'c'), 2, 1, false},
        {"c", 2, 2, true},
        {std::string(16384, 'd'), 3, 1, false},
        {std::string(16384, 'd'), 3, 2, false},
        {"", 3, 3, true},
        {"", 0, 0, false},
        {"eeeeeeeeee", 0, 0, false},
        {"no newline at the end", 4, 1, false},
    };
    auto all = entries(*journald_, id);
    ASSERT_EQ(all.size(), expected.size());
    std::string epoch = all[0]["CONTAINER_LOG_EPOCH"];
    std::map<int, std::string> group_ids;
    for (size_t i = 0; i < all.size(); ++i) {
        const auto& e = all[i];
        const auto& x = expected[i];
        SCOPED_TRACE("entry " + std::to_string(i));
        EXPECT_EQ(bytes(e["MESSAGE"]), x.message);
        EXPECT_EQ(e["CONTAINER_STREAM"], "stdout");
        if (x.group == 0) {
            for (const char* f : {"CONTAINER_PARTIAL_ID", "CONTAINER_PARTIAL_ORDINAL",
                                  "CONTAINER_PARTIAL_LAST", "CONTAINER_PARTIAL_MESSAGE"})
                EXPECT_FALSE(e.contains(f)) << f;
            continue;
        }
        std::string partial_id = e.value("CONTAINER_PARTIAL_ID", "");
        EXPECT_TRUE(std::regex_match(partial_id, std::regex("[0-9a-f]{64}"))) << partial_id;
        if (x.ordinal == 1) {
            EXPECT_EQ(partial_id, epoch + hex32(e["CONTAINER_LOG_ORDINAL"]));
            group_ids[x.group] = partial_id;
        }
        EXPECT_EQ(partial_id, group_ids[x.group]);
        EXPECT_EQ(e.value("CONTAINER_PARTIAL_ORDINAL", ""), std::to_string(x.ordinal));
        EXPECT_EQ(e.value("CONTAINER_PARTIAL_LAST", ""), x.last ? "true" : "false");
        if (x.last)
            EXPECT_FALSE(e.contains("CONTAINER_PARTIAL_MESSAGE"));
        else
            EXPECT_EQ(e.value("CONTAINER_PARTIAL_MESSAGE", ""), "true");
    }
    EXPECT_EQ(group_ids.size(), 4u);
    std::set<std::string> distinct;
    for (const auto& [g, pid] : group_ids)
        distinct.insert(pid);
    EXPECT_EQ(distinct.size(), 4u) << "each split line has its own id";
}

TEST_F(JournaldDriverTest, TwoHundredThousandLinesFromTenContainersAllArriveInOrder_Root) {
    std::vector<Process> runs;
    for (int c = 0; c < 10; ++c)
        runs.push_back(spawn({ringlogctlPath(), "run", "--socket", daemon_->socket(), "--id",
                              "busy" + std::to_string(c), "--log-driver", "journald", "--",
                              lineWriterPath(), "--lines", "20000", "--width", "40"}));
    for (auto& r : runs)
        ASSERT_EQ(r.wait(), 0) << daemon_->log();
    ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();
    for (int c = 0; c < 10; ++c) {
        auto lines = splitLines(
            journald_->journalctl({"-o", "cat", "CONTAINER_ID_FULL=busy" + std::to_string(c)}));
        ASSERT_EQ(lines.size(), 20000u) << "container " << c << ": lost lines";
        for (size_t i = 0; i < lines.size(); ++i) {
            ASSERT_TRUE(startsWith(lines[i], linePrefix("stdout", static_cast<long long>(i))))
                << "container " << c << " line " << i;
        }
    }
}

TEST_F(JournaldDriverTest, JournaldKilledMidStreamLosesNothingAndTheWriterIsOnlySlowed_Root) {
    Pipe progress;
    SpawnOptions keep;
    keep.keep_fds = {progress.write_fd};
    Process ctl = spawn(
        {ringlogctlPath(), "run", "--socket", daemon_->socket(), "--id", "crash", "--log-driver",
         "journald", "--", lineWriterPath(), "--lines", "100000", "--width", "40", "--progress-fd",
         std::to_string(progress.write_fd), "--progress-every", "20000"},
        keep);
    progress.closeWrite();
    ASSERT_EQ(readSome(progress.read_fd, 1).size(), 1u) << "the writer did not get going";
    journald_->kill();   // with whatever it had received and not yet written
    journald_->start();  // the same journal, a new journald
    EXPECT_EQ(ctl.wait(), 0) << "the writer got an error";
    ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();
    auto lines = splitLines(journald_->journalctl({"-o", "cat", "CONTAINER_ID_FULL=crash"}));
    std::vector<int> seen(100000, 0);
    long last_first = -1, out_of_order = 0;
    for (const auto& l : lines) {
        long n = std::stol(l.substr(7, 9));
        if (seen[static_cast<size_t>(n)]++ == 0) {
            out_of_order += n < last_first;  // first occurrences keep the writer's order
            last_first = n;
        }
    }
    long missing = std::count(seen.begin(), seen.end(), 0);
    long duplicated = static_cast<long>(lines.size()) - (100000 - missing);
    RecordProperty("duplicates", static_cast<int>(duplicated));
    std::printf("journald killed mid-stream: %ld lines missing, %ld duplicated\n", missing,
                duplicated);
    EXPECT_EQ(missing, 0) << "lines lost with the killed journald";
    EXPECT_EQ(out_of_order, 0);
    // Aimed at none (docs/drivers/journald.md). The bound is what the driver can send again: the
    // entries after the highest ordinal the journal shows right after the restart, at most the
    // 8,192 it remembers. (512, journald's socket queue, was assumed once; a CI run saw 513: what
    // the killed journald wrote may show in the journal only after the driver looked.)
    EXPECT_LE(duplicated, 8192);
}

TEST_F(JournaldDriverTest, APerContainerRateLimitSuppressesAndSaysHowMany_Root) {
    ASSERT_EQ(
        ringlogctlRun(*daemon_, {"--id", "noisy", "--log-driver", "journald", "--log-opt",
                                 "rate-limit-burst=100", "--log-opt", "rate-limit-interval=1h",
                                 "--", lineWriterPath(), "--lines", "1000", "--width", "30"}),
        0);
    ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();
    auto all = entries(*journald_, "noisy");
    std::string got;
    for (const auto& e : all)
        got += bytes(e["MESSAGE"]).substr(0, 40) + " | ";
    ASSERT_EQ(all.size(), 101u) << "100 lines, then one notice: " << got;
    for (size_t i = 0; i < 100; ++i) {
        EXPECT_TRUE(
            startsWith(bytes(all[i]["MESSAGE"]), linePrefix("stdout", static_cast<long long>(i))));
    }
    EXPECT_EQ(all[100]["PRIORITY"], "4");
    EXPECT_EQ(all[100]["RINGLOG_SUPPRESSED_LINES"], "900");
    EXPECT_EQ(
        bytes(all[100]["MESSAGE"]),
        "ringlogd: suppressed 900 lines of container noisy (rate-limit-burst 100 per 3600000 ms)");
}

}  // namespace
}  // namespace ringlog::test
