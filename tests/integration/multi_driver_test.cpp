// A container with more than one driver (--log-driver repeated): k8s-file and journald together,
// as conmon allows, against a real systemd-journald (root: its own mount namespace).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace ringlog::test {
namespace {

using nlohmann::json;

TEST(MultiDriver, K8sFileAndJournaldTogetherHaveEveryLineOnce_Root) {
    TempDir dir;
    Journald journald(dir.path() / "journal");
    Daemon daemon(dir.path() / "d", {}, {}, journald.inside());
    const std::string id(64, 'c');
    constexpr int kLines = 20000;
    ASSERT_EQ(ringlogctlRun(
                  daemon, {"--id", id, "--name", "both", "--log-driver", "k8s-file", "--log-driver",
                           "journald", "--log-opt", "tag=both", "--", lineWriterPath(), "--lines",
                           std::to_string(kLines), "--stream", "both", "--width", "60"}),
              0);
    // Every line is persisted by both drivers before the container counts as exited.
    ASSERT_EQ(daemon.stop(), 0) << daemon.log();

    // k8s-file: "<time> <stream> F <line>". The two pipes are read apart, so only each stream
    // is in order: line_writer numbers each stream's lines on its own, from 0.
    auto k8s = splitLines(readFile(daemon.logRoot() / id / (id + ".log")));
    ASSERT_EQ(k8s.size(), static_cast<size_t>(kLines));
    std::vector<std::string> messages;
    long long last[2] = {-1, -1};
    for (const auto& line : k8s) {
        size_t stream_at = line.find(' ') + 1;
        std::string stream = line.substr(stream_at, 6);
        ASSERT_EQ(line.substr(stream_at + 6, 3), " F ") << line;
        std::string message = line.substr(stream_at + 9);
        ASSERT_TRUE(startsWith(message, stream + "-")) << line;
        long long n = std::stoll(message.substr(7, 9));
        int s = stream == "stderr" ? 1 : 0;
        ASSERT_EQ(n, last[s] + 1) << line;
        last[s] = n;
        messages.push_back(message);
    }
    EXPECT_EQ(last[0], kLines / 2 - 1);
    EXPECT_EQ(last[1], kLines / 2 - 1);
    // journald: the same records in the same order (one ring feeds both), with docker's fields.
    auto entries = splitLines(journald.journalctl({"-o", "json", "--all",
                                                   "--output-fields=MESSAGE,CONTAINER_TAG,PRIORITY",
                                                   "CONTAINER_ID_FULL=" + id}));
    ASSERT_EQ(entries.size(), static_cast<size_t>(kLines));
    for (int i = 0; i < kLines; ++i) {
        auto e = json::parse(entries[i]);
        ASSERT_EQ(e["MESSAGE"].get<std::string>(), messages[i]) << "entry " << i;
        ASSERT_EQ(e["CONTAINER_TAG"], "both");
        ASSERT_EQ(e["PRIORITY"], startsWith(messages[i], "stdout") ? "6" : "3");
    }
}

TEST(MultiDriver, TheSameDriverTwiceOrConflictingDaemonOptionsAreRefused) {
    TempDir dir;
    Daemon daemon(dir.path() / "d");
    auto refusal = [&](std::vector<std::string> args) {
        static int n = 0;
        std::string err = (dir.path() / ("err" + std::to_string(++n))).string();
        SpawnOptions o;
        o.stderr_file = err;
        args.insert(args.begin(), {ringlogctlPath(), "run", "--socket", daemon.socket()});
        args.insert(args.end(), {"--", "true"});
        EXPECT_EQ(spawn(args, o).wait(), 125);
        return readFile(err);
    };
    EXPECT_EQ(refusal({"--log-driver", "json-file", "--log-driver", "json-file"}),
              "ringlogctl: log driver \"json-file\" is given twice\n");
    EXPECT_EQ(refusal({"--log-driver", "json-file", "--log-opt", "mode=blocking", "--log-driver",
                       "none", "--log-opt", "mode=non-blocking"}),
              "ringlogctl: log option \"mode\" is given twice, as \"blocking\" and "
              "\"non-blocking\"\n");
    EXPECT_EQ(
        refusal({"--log-driver", "json-file", "--log-driver", "none", "--log-opt", "max-size=1m"}),
        "ringlogctl: unknown log option \"max-size\" for driver none (known: mode, "
        "max-buffer-size, max-write-rate, reader-groups, push-users, push-groups, push-rate, "
        "log-dir-max-files, log-dir-max-rate)\n");
    ASSERT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
}  // namespace ringlog::test
