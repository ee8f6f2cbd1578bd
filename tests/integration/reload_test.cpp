// Reloading the configuration (SIGHUP, what `systemctl reload` sends): under load no container is
// lost and no line; what can change at run time is in effect for containers attached afterwards;
// what needs a restart is named; a configuration that does not load changes nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include "harness.h"

namespace ringlog::test {
namespace {

// Sends SIGHUP and waits for the daemon's READY=1 that ends the reload (RELOADING=1 … READY=1),
// on a notify socket bound anew where the harness's was: no sleep, and no guess.
void reloadAndWait(const Daemon& d, const fs::path& dir) {
    int ns = bindNotifySocket((dir / "notify.sock").string());
    ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
    waitForReady(ns, "ringlogd after SIGHUP", d.pid());
}

void writeConfig(const fs::path& dir, const std::string& text) {
    std::ofstream(dir / "ringlogd.conf") << text;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

// A container writing numbered lines as fast as it can until told to stop.
struct Writer : StoppableWriter {
    Writer(const Daemon& d, const std::string& container_id)
        : StoppableWriter(
              {ringlogctlPath(), "run", "--socket", d.socket(), "--id", container_id, "--"},
              lineWriterPath(), 20000),
          id(container_id) {}
    // Returns once the writer has written `batches` more progress batches.
    void waitForProgress(size_t batches) {
        ASSERT_EQ(readSome(progress.read_fd, batches).size(), batches)
            << id << ": the writer did not make progress";
    }
    std::string id;
};

TEST(Reload, SighupUnderLoadLosesNoContainerNoLineAndNewContainersGetTheNewDefaults) {
    TempDir dir;
    Daemon d(dir.path());
    std::vector<std::unique_ptr<Writer>> writers;
    for (int i = 0; i < 3; ++i)
        writers.push_back(std::make_unique<Writer>(d, "load" + std::to_string(i)));
    for (auto& w : writers)
        w->waitForProgress(2);

    // New defaults for new containers; a setting that needs a restart; and a socket the command
    // line sets, so the file's value loses to it and is not even a change.
    writeConfig(dir.path(),
                "default-mode = non-blocking\n"
                "default-max-buffer-size = 2m\n"
                "consumer-threads = 3\n"
                "socket = /run/elsewhere.sock\n");
    reloadAndWait(d, dir.path());
    for (auto& w : writers)
        w->waitForProgress(2);  // still read, after the reload
    // A second reload of the same file, still under load, changes nothing.
    reloadAndWait(d, dir.path());

    ASSERT_EQ(ringlogctlRun(d, {"--id", "after", "--", lineWriterPath(), "--lines", "1000"}), 0);
    for (auto& w : writers)
        w->waitForProgress(1);
    for (auto& w : writers) {
        ASSERT_EQ(::write(w->stop.write_fd, "x", 1), 1);
        EXPECT_EQ(w->process.wait(), 0) << w->id << ": the writer never got an error";
    }
    ASSERT_EQ(::kill(d.pid(), 0), 0) << "ringlogd is still running";
    std::string log = d.log();
    ASSERT_EQ(d.stop(), 0) << log;
    log = d.log();

    for (auto& w : writers) {
        long long written = std::stoll(readLine(w->count.read_fd));
        ASSERT_GE(written, 100'000) << w->id;
        auto records = readJsonLog(d.logFile(w->id));
        ASSERT_EQ(static_cast<long long>(records.size()), written)
            << w->id << ": every line written, none twice";
        for (size_t i = 0; i < records.size(); ++i)
            ASSERT_TRUE(startsWith(records[i].log, linePrefix("stdout", static_cast<long long>(i))))
                << w->id << " line " << i << ": " << records[i].log;
        // Attached before the reload: its settings stay those it was attached with.
        EXPECT_NE(
            log.find(": attached " + w->id + " (driver json-file, blocking, ring 1048576 (1m))"),
            std::string::npos)
            << log;
        EXPECT_EQ(count(log, "container " + w->id + " exited"), 1u)
            << w->id << " stayed attached until its writer stopped:\n"
            << log;
    }
    EXPECT_EQ(readJsonLog(d.logFile("after")).size(), 1000u);
    EXPECT_NE(log.find(": attached after (driver json-file, non-blocking, ring 2097152 (2m))"),
              std::string::npos)
        << "the new defaults are in effect for a container attached after the reload:\n"
        << log;
    EXPECT_NE(
        log.find("consumer-threads changed from \"2\" to \"3\": takes effect after a restart"),
        std::string::npos)
        << log;
    EXPECT_EQ(log.find("socket changed"), std::string::npos)
        << "the command line's --socket keeps precedence over the file:\n"
        << log;
    EXPECT_NE(log.find("default-mode blocking -> non-blocking, default-max-buffer-size 1048576 -> "
                       "2097152"),
              std::string::npos)
        << log;
    EXPECT_EQ(count(log, "consumer-threads changed"), 2u)
        << "each reload names what still waits for a restart:\n"
        << log;
    EXPECT_NE(log.find("nothing changed that can change at run time"), std::string::npos) << log;
    EXPECT_EQ(count(log, "reloaded "), 2u) << log;
    EXPECT_EQ(log.find(" error: "), std::string::npos) << log;
}

TEST(Reload, AConfigurationThatDoesNotLoadIsRefusedAndTheSettingsInEffectStay) {
    TempDir dir;
    Daemon d(dir.path(), {"--default-max-buffer-size", "512k"});
    writeConfig(dir.path(),
                "default-mode = non-blocking\n"
                "max-line = tiny\n");
    reloadAndWait(d, dir.path());
    writeConfig(dir.path(), "default-driver = nosuch\n");
    reloadAndWait(d, dir.path());
    ASSERT_EQ(ringlogctlRun(d, {"--id", "same", "--", lineWriterPath(), "--lines", "100"}), 0);

    // A valid file again: it takes effect, and the command line's flag still wins over it.
    writeConfig(dir.path(),
                "default-mode = non-blocking\n"
                "default-max-buffer-size = 4m\n");
    reloadAndWait(d, dir.path());
    ASSERT_EQ(ringlogctlRun(d, {"--id", "changed", "--", lineWriterPath(), "--lines", "100"}), 0);
    ASSERT_EQ(d.stop(), 0) << d.log();

    std::string log = d.log();
    std::string file = (dir.path() / "ringlogd.conf").string();
    EXPECT_NE(log.find("reload refused, the settings in effect stay as they were: " + file +
                       ":2: setting max-line: \"tiny\" is not a size from 1k to 1m"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("reload refused, the settings in effect stay as they were: default-driver: "
                       "unknown log driver \"nosuch\""),
              std::string::npos)
        << log;
    EXPECT_NE(log.find(": attached same (driver json-file, blocking, ring 524288 (512k))"),
              std::string::npos)
        << "nothing of a refused file is in effect, not even its valid lines:\n"
        << log;
    EXPECT_NE(log.find(": attached changed (driver json-file, non-blocking, ring 524288 (512k))"),
              std::string::npos)
        << log;
    EXPECT_EQ(readJsonLog(d.logFile("same")).size(), 100u);
    EXPECT_EQ(readJsonLog(d.logFile("changed")).size(), 100u);
}

TEST(Reload, LogLevelChangesAtOnce) {
    TempDir dir;
    Daemon d(dir.path());
    writeConfig(dir.path(), "log-level = warn\n");
    reloadAndWait(d, dir.path());
    ASSERT_EQ(ringlogctlRun(d, {"--id", "quiet", "--", lineWriterPath(), "--lines", "10"}), 0);
    writeConfig(dir.path(), "log-level = info\n");
    reloadAndWait(d, dir.path());
    ASSERT_EQ(ringlogctlRun(d, {"--id", "loud", "--", lineWriterPath(), "--lines", "10"}), 0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    std::string log = d.log();
    EXPECT_EQ(log.find("attached quiet"), std::string::npos) << log;
    EXPECT_NE(log.find("attached loud"), std::string::npos) << log;
}

// A max-line above what one read took at start: the read buffer grows, and the next container's
// long lines arrive whole (they were cut at 16 KiB before the reload).
TEST(Reload, ALargerMaxLineIsInEffectForTheNextContainer) {
    // Three lines of 400,000 bytes ('\n' included), each in one go.
    const std::vector<std::string> long_lines = {
        "--", "/bin/sh", "-c",
        "for i in 1 2 3; do head -c 399999 /dev/zero | tr '\\0' x; echo; done"};
    TempDir dir;
    Daemon d(dir.path());
    std::vector<std::string> args = {"--id", "before"};
    args.insert(args.end(), long_lines.begin(), long_lines.end());
    ASSERT_EQ(ringlogctlRun(d, args), 0);
    writeConfig(dir.path(), "max-line = 512k\ndefault-max-buffer-size = 4m\n");
    reloadAndWait(d, dir.path());
    args = {"--id", "long"};
    args.insert(args.end(), long_lines.begin(), long_lines.end());
    ASSERT_EQ(ringlogctlRun(d, args), 0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    EXPECT_GT(readJsonLog(d.logFile("before")).size(), 3u) << "cut at the 16 KiB of the start";
    auto records = readJsonLog(d.logFile("long"));
    ASSERT_EQ(records.size(), 3u) << d.log();
    for (const auto& r : records)
        EXPECT_EQ(r.log, std::string(399999, 'x') + "\n");
}

}  // namespace
}  // namespace ringlog::test
