// What a stop, a broken configuration and failing starts cost under a real systemd 252 booted as
// PID 1 (booted_systemd.h), as an operator sees it: the writer's count, the files, the journal.
// Root only (namespaces, mounts).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include "booted_systemd.h"
#include "harness.h"

namespace ringlog::test {
namespace {

using namespace std::chrono_literals;

// ringlogd's journal, asked again until it holds `wanted` (journald reads stderr on its own time).
std::string journalWith(BootedSystemd& sd, const std::string& wanted) {
    std::string journal;
    for (int attempt = 0; attempt < 250; ++attempt) {
        sd.run({"/usr/bin/journalctl", "--no-pager", "-q", "-o", "cat", "-u", "ringlogd.service"},
               &journal);
        if (journal.find(wanted) != std::string::npos)
            break;
        std::this_thread::sleep_for(20ms);
    }
    return journal;
}

bool waitFor(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until)
            return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

// A container writing whole 100-byte lines as fast as it can, in write()s of 40 lines (under
// PIPE_BUF, so each succeeds or fails whole and the writer's count is exact).
std::unique_ptr<StoppableWriter> startWriter(BootedSystemd& sd, const std::string& id) {
    auto run = sd.inside();
    run.insert(run.end(), {BootedSystemd::ringlogctl(), "run", "--id", id, "--"});
    return std::make_unique<StoppableWriter>(run, BootedSystemd::lineWriter(), 20000);
}

// Lines 0… of the writer in order, each once: how many.
long long linesInOrder(const fs::path& file, long long* duplicates = nullptr) {
    long long next = 0, again = 0;
    for (const auto& r : readJsonLog(file)) {
        long long n = std::atoll(r.log.substr(7, 9).c_str());
        if (startsWith(r.log, linePrefix("stdout", next)))
            ++next;
        else if (n < next)
            ++again;
        else
            break;
    }
    if (duplicates != nullptr)
        *duplicates = again;
    return next;
}

TEST(SystemdStop, AStopDuringAFastWriterSaysExactlyHowManyLinesItLeftInThePipe_Root) {
    TempDir tmp;
    BootedSystemd sd(tmp.path());
    auto w = startWriter(sd, "stopped");
    sd.waitForRinglogd();
    ASSERT_EQ(readSome(w->progress.read_fd, 2).size(), 2u) << "the writer did not get going";

    ASSERT_EQ(sd.systemctl({"stop", "ringlogd.service"}), 0);
    // systemd empties the fd store once ringlogd has exited: the pipe's last reader is gone.
    EXPECT_EQ(w->process.wait(), 3) << "the writer ends on EPIPE";
    long long written = std::stoll(readLine(w->count.read_fd));
    auto records = readJsonLog(sd.logFile("stopped"));
    EXPECT_EQ(linesInOrder(sd.logFile("stopped")), static_cast<long long>(records.size()))
        << "what is on disk is the writer's first lines, in order, each once";

    std::string journal = journalWith(sd, "stopped: ");
    EXPECT_NE(journal.find("stopping for good (job "), std::string::npos) << journal;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(journal, m,
                                  std::regex("container stopped: lost at this stop: ([0-9]+) bytes "
                                             "\\(([0-9]+) lines\\) unread in its pipes")))
        << journal;
    long long left = std::stoll(m[2]);
    std::printf("systemctl stop: %lld lines written, %zu on disk, %lld reported left in the pipe\n",
                written, records.size(), left);
    EXPECT_GT(left, 0) << "a fast writer has filled the pipe by then";
    EXPECT_EQ(left, written - static_cast<long long>(records.size()))
        << "the report is exact: what the writer wrote minus what is on disk";
    EXPECT_EQ(std::stoll(m[1]), left * 100);
    EXPECT_NE(journal.find("stopped: " + std::to_string(left) + " lines"), std::string::npos)
        << journal;
    EXPECT_EQ(sd.property("ringlogd.service", "Result"), "exit-code")
        << "a stop that lost lines leaves the unit failed, for the operator to see";
}

// Starts that fail while containers are attached: systemd keeps the fd store between automatic
// restarts, and ringlogd avoids failing where it can.
TEST(SystemdStop, ABrokenConfigurationAndFailedStartsBetweenKillsLoseNoLine_Root) {
    TempDir tmp;
    BootedSystemd sd(tmp.path(), BootedSystemd::withConfigFile(tmp.path(), "# as started\n"));
    auto w = startWriter(sd, "kept");
    pid_t pid = sd.waitForRinglogd();
    ASSERT_EQ(readSome(w->progress.read_fd, 1), "p");

    // 1. A configuration that does not load, then a kill: the next instance starts anyway, on the
    // settings the killed one ran with, and says so.
    std::ofstream(tmp.path() / "ringlogd.conf") << "max-line = banana\n";
    ASSERT_EQ(sd.systemctl({"kill", "--kill-who=main", "-s", "KILL", "ringlogd.service"}), 0);
    pid = sd.waitForRinglogd(pid);
    EXPECT_NE(sd.property("ringlogd.service", "StatusText")
                  .find("CONFIGURATION ERROR, running on the previous settings: "),
              std::string::npos)
        << sd.property("ringlogd.service", "StatusText");
    std::string journal = journalWith(sd, "running on the settings of the previous instance");
    EXPECT_NE(journal.find("setting max-line: \"banana\" is not a size from 1k to 1m; running on "
                           "the settings of the previous instance"),
              std::string::npos)
        << journal;
    ASSERT_EQ(readSome(w->progress.read_fd, 1), "p") << "still read";
    std::ofstream(tmp.path() / "ringlogd.conf") << "# fixed\n";
    ASSERT_EQ(sd.systemctl({"reload", "ringlogd.service"}), 0);
    EXPECT_TRUE(waitFor([&] {
        return sd.property("ringlogd.service", "StatusText").find("CONFIGURATION ERROR") ==
               std::string::npos;
    })) << "a reload that loads clears the warning";

    // 2. Starts that fail before ringlogd even runs (a user that does not exist: 217/USER), one
    // a second: the fd store stays, the writer waits on its full pipe, nothing fails.
    fs::path failing = tmp.path() / "units" / "ringlogd.service.d" / "zz-failing.conf";
    std::ofstream(failing) << "[Service]\nUser=no-such-user\n";
    ASSERT_EQ(sd.systemctl({"daemon-reload"}), 0);
    ASSERT_EQ(sd.systemctl({"kill", "--kill-who=main", "-s", "KILL", "ringlogd.service"}), 0);
    EXPECT_TRUE(waitFor([&] { return sd.property("ringlogd.service", "NRestarts") == "5"; }))
        << "NRestarts=" << sd.property("ringlogd.service", "NRestarts");
    EXPECT_NE(sd.property("ringlogd.service", "NFileDescriptorStore"), "0")
        << "between failed starts systemd keeps the store";
    fs::remove(failing);
    ASSERT_EQ(sd.systemctl({"daemon-reload"}), 0);
    pid = sd.waitForRinglogd(pid);
    ASSERT_EQ(readSome(w->progress.read_fd, 1), "p") << "read again";

    ASSERT_EQ(::write(w->stop.write_fd, "s", 1), 1);
    EXPECT_EQ(w->process.wait(), 0) << "the writer never got an error";
    long long written = std::stoll(readLine(w->count.read_fd));
    EXPECT_TRUE(waitFor([&] {
        return startsWith(sd.property("ringlogd.service", "StatusText"), "0 containers attached");
    }));
    long long duplicates = 0;
    EXPECT_EQ(linesInOrder(sd.logFile("kept"), &duplicates), written) << "every line";
    std::printf(
        "a broken configuration, two kills, failed starts (NRestarts=%s): %lld lines, "
        "%lld duplicates\n",
        sd.property("ringlogd.service", "NRestarts").c_str(), written, duplicates);
}

// What is beyond help: starts that fail until systemd's start limit (here lowered to 3 starts)
// makes the unit fail. systemd then empties the fd store; the pipes' last reader is gone and the
// writer gets EPIPE. What it had written into the pipe since the last instance died is lost.
TEST(SystemdStop, AtTheStartLimitSystemdDropsTheFdStoreAndTheWriterGetsEpipe_Root) {
    TempDir tmp;
    BootedSystemd sd(tmp.path());
    auto w = startWriter(sd, "abandoned");
    sd.waitForRinglogd();
    ASSERT_EQ(readSome(w->progress.read_fd, 1), "p");
    std::ofstream(tmp.path() / "units" / "ringlogd.service.d" / "zz-failing.conf")
        << "[Unit]\nStartLimitBurst=3\n[Service]\nUser=no-such-user\n";
    ASSERT_EQ(sd.systemctl({"daemon-reload"}), 0);
    ASSERT_EQ(sd.systemctl({"kill", "--kill-who=main", "-s", "KILL", "ringlogd.service"}), 0);
    EXPECT_EQ(w->process.wait(), 3) << "the writer ends on EPIPE";
    // systemd 252 shows it so: failed, Result=exit-code (of the last start); its log says "Start
    // request repeated too quickly."
    EXPECT_EQ(sd.property("ringlogd.service", "ActiveState"), "failed");
    EXPECT_EQ(sd.property("ringlogd.service", "NFileDescriptorStore"), "0");
    long long written = std::stoll(readLine(w->count.read_fd));
    long long on_disk = linesInOrder(sd.logFile("abandoned"));
    std::printf("start limit hit: %lld lines written, %lld on disk, %lld lost with the store\n",
                written, on_disk, written - on_disk);
    EXPECT_LE(written - on_disk, (2 << 20) / 100)
        << "at most a pipe's and a ring's worth (1 MiB each)";
}

}  // namespace
}  // namespace ringlog::test
