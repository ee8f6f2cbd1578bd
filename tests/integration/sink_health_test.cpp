// A sink that fails under a running container: the log root on a small tmpfs that fills up. What
// an operator checks: the container's State and LastError on the bus, ringlogd's log, that every
// line arrives once space is back, and that a stop while the disk is full neither hangs nor hides
// what it loses.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "harness.h"

namespace ringlog::test {
namespace {

using namespace std::chrono_literals;

class SinkHealth : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "mounts a tmpfs: needs root";
        fs::create_directories(logs());
        ASSERT_EQ(::mount("tmpfs", logs().c_str(), "tmpfs", 0, "size=8m,mode=0755"), 0)
            << std::strerror(errno);
        mounted_ = true;
        bus_ = std::make_unique<DbusDaemon>(dir_.path() / "bus");
        env_ = {{"DBUS_SYSTEM_BUS_ADDRESS", bus_->address()}};
        setenv("DBUS_SYSTEM_BUS_ADDRESS", bus_->address().c_str(), 1);
        d_ = std::make_unique<Daemon>(dir_.path() / "d",
                                      std::vector<std::string>{"--dbus", "yes", "--allowed-group",
                                                               "nogroup", "--stop-timeout", "2s"},
                                      env_);
    }
    void TearDown() override {
        d_.reset();
        bus_.reset();
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
        if (mounted_)
            ::umount2(logs().c_str(), MNT_DETACH);
    }
    fs::path logs() const { return dir_.path() / "d" / "logs"; }

    // Takes all but `leave` bytes of the tmpfs.
    void fillDiskLeaving(uint64_t leave) {
        struct statvfs st;
        ASSERT_EQ(::statvfs(logs().c_str(), &st), 0);
        uint64_t free_bytes = uint64_t{st.f_bavail} * st.f_frsize;
        ASSERT_GT(free_bytes, leave);
        std::ofstream filler(logs() / "filler", std::ios::binary);
        std::string block(4096, 'f');
        for (uint64_t done = 0; done + block.size() <= free_bytes - leave; done += block.size())
            filler.write(block.data(), static_cast<std::streamsize>(block.size()));
        ASSERT_TRUE(filler.flush()) << "filling the tmpfs";
    }

    // ringlogctl ARGS on the test's bus: what it printed on stdout and stderr.
    std::string ringlogctl(std::vector<std::string> args) {
        std::string out = (dir_.path() / ("ringlogctl" + std::to_string(++calls_))).string();
        SpawnOptions o;
        o.stdout_file = out;
        o.stderr_file = out + ".err";
        o.env = env_;
        args.insert(args.begin(), ringlogctlPath());
        spawn(args, o).wait();
        return readFile(out) + readFile(out + ".err");
    }

    std::string property(const std::string& id, const std::string& name) {
        std::string out = (dir_.path() / ("busctl" + std::to_string(++calls_))).string();
        SpawnOptions o;
        o.stdout_file = out;
        o.stderr_file = out + ".err";
        o.env = env_;
        spawn(
            {"/usr/bin/busctl", "--address=" + bus_->address(), "get-property", "org.ringlog.Log1",
             "/org/ringlog/Log1/container/" + id, "org.ringlog.Log1.Container", name},
            o)
            .wait();
        return readFile(out) + readFile(out + ".err");
    }

    ::testing::AssertionResult waitForProperty(const std::string& id, const std::string& name,
                                               const std::string& expected,
                                               std::chrono::seconds limit = 20s) {
        auto until = std::chrono::steady_clock::now() + limit;
        std::string got;
        while (std::chrono::steady_clock::now() < until) {
            if ((got = property(id, name)) == expected)
                return ::testing::AssertionSuccess();
            std::this_thread::sleep_for(50ms);
        }
        return ::testing::AssertionFailure() << name << " is " << got << ", not " << expected;
    }

    TempDir dir_;
    int calls_ = 0;
    bool mounted_ = false;
    std::unique_ptr<DbusDaemon> bus_;
    std::map<std::string, std::string> env_;
    std::unique_ptr<Daemon> d_;
};

// State changes as PropertiesChanged carries them.
class StateWatcher {
  public:
    explicit StateWatcher(const std::string& id)
        : connection_(sdbus::createSystemBusConnection()),
          proxy_(sdbus::createProxy(*connection_, "org.ringlog.Log1",
                                    "/org/ringlog/Log1/container/" + id)) {
        proxy_->uponSignal("PropertiesChanged")
            .onInterface("org.freedesktop.DBus.Properties")
            .call([this](const std::string& iface,
                         const std::map<std::string, sdbus::Variant>& changed,
                         const std::vector<std::string>& invalidated) {
                if (iface != "org.ringlog.Log1.Container")
                    return;
                bool state =
                    changed.count("State") != 0 ||
                    std::find(invalidated.begin(), invalidated.end(), "State") != invalidated.end();
                if (!state)
                    return;
                std::lock_guard lock(mutex_);
                ++signals_;
                cv_.notify_all();
            });
        proxy_->finishRegistration();
        connection_->enterEventLoopAsync();
    }
    ~StateWatcher() { connection_->leaveEventLoop(); }
    bool waitForSignals(int n) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, 20s, [&] { return signals_ >= n; });
    }

  private:
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    std::mutex mutex_;
    std::condition_variable cv_;
    int signals_ = 0;
};

TEST_F(SinkHealth, AFullDiskMakesTheContainerDegradedAndFreeingSpaceBringsEveryLineOnce_Root) {
    constexpr long long kLines = 30000;  // 3 MB of json-file records: far more than is left
    fillDiskLeaving(256 * 1024);
    // A container that keeps its stdout open until told to go, so it is there to be asked about.
    Pipe go;
    SpawnOptions o;
    o.keep_fds = {go.read_fd};
    Process writer = spawn(
        {ringlogctlPath(), "run", "--socket", d_->socket(), "--id", "full", "--", "/bin/sh", "-c",
         lineWriterPath() + " --lines " + std::to_string(kLines) + " && read x <&" +
             std::to_string(go.read_fd)},
        o);
    ASSERT_TRUE(waitForProperty("full", "State", "s \"degraded\"\n")) << d_->log();
    StateWatcher watcher("full");
    std::string error = property("full", "LastError");
    EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
    EXPECT_NE(error.find(d_->logFile("full").string()), std::string::npos)
        << "the error names the file: " << error;
    EXPECT_NE(property("full", "LastErrorAt"), "t 0\n");
    EXPECT_NE(property("full", "WriteFailures"), "t 0\n");
    std::string log = d_->log();
    EXPECT_NE(log.find("container full: writing " + d_->logFile("full").string() +
                       ": No space left on device; degraded"),
              std::string::npos)
        << log;
    EXPECT_LT(readJsonLog(d_->logFile("full")).size(), static_cast<size_t>(kLines))
        << "the disk is full: the container waits";
    std::string status = ringlogctl({"status", "full"});
    EXPECT_NE(status.find("× full (full)\n"), std::string::npos) << status;
    EXPECT_NE(status.find("        State: degraded since "), std::string::npos) << status;
    EXPECT_TRUE(std::regex_search(
        status, std::regex("   Last error: .*: writing .*/full-json.log: No space left on device")))
        << status;

    fs::remove(logs() / "filler");
    ASSERT_TRUE(watcher.waitForSignals(1)) << "no PropertiesChanged for the recovery";
    ASSERT_TRUE(waitForProperty("full", "State", "s \"attached\"\n")) << d_->log();
    EXPECT_NE(property("full", "LastError").find("No space left on device"), std::string::npos)
        << "the last error stays, for whoever asks later";
    ASSERT_EQ(::write(go.write_fd, "\n", 1), 1);
    EXPECT_EQ(writer.wait(), 0) << "the writer never got an error";
    ASSERT_TRUE(waitForProperty("full", "State", "s \"exited\"\n")) << d_->log();

    auto records = readJsonLog(d_->logFile("full"));
    ASSERT_EQ(records.size(), static_cast<size_t>(kLines)) << "every line, once";
    for (size_t i = 0; i < records.size(); ++i)
        ASSERT_TRUE(startsWith(records[i].log, linePrefix("stdout", static_cast<long long>(i))))
            << "line " << i << ": " << records[i].log;
    log = d_->log();
    EXPECT_NE(log.find("container full: recovered: persisting again after"), std::string::npos)
        << log;
    EXPECT_EQ(d_->stop(), 0) << d_->log();
}

TEST_F(SinkHealth, SigtermWhileTheDiskIsFullExitsWithinItsBudgetAndReportsTheExactLoss_Root) {
    fillDiskLeaving(256 * 1024);
    StoppableWriter w({ringlogctlPath(), "run", "--socket", d_->socket(), "--id", "full", "--"},
                      lineWriterPath(), 1000);
    ASSERT_TRUE(waitForProperty("full", "State", "s \"degraded\"\n")) << d_->log();
    // Long enough for the ring and then the pipe to fill: the writer is blocked.
    std::this_thread::sleep_for(500ms);

    auto start = std::chrono::steady_clock::now();
    int status = d_->stop();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string log = d_->log();
    EXPECT_EQ(status, 1) << "lines were lost: the exit status says so\n" << log;
    EXPECT_GE(seconds, 1.9) << "it tried for its whole budget (stop-timeout 2s)";
    EXPECT_LE(seconds, 4.0) << "and not much longer";
    EXPECT_EQ(w.process.wait(), 3) << "the writer stops on EPIPE once ringlogd has gone";
    long long written = std::stoll(readLine(w.count.read_fd));

    auto records = readJsonLog(d_->logFile("full"));
    for (size_t i = 0; i < records.size(); ++i)
        ASSERT_TRUE(startsWith(records[i].log, linePrefix("stdout", static_cast<long long>(i))))
            << "line " << i << ": " << records[i].log;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        log, m,
        std::regex("container full: lost at this stop: ([0-9]+) bytes \\(([0-9]+) lines\\) unread "
                   "in its pipes \\(stdout: [0-9]+ bytes, [0-9]+ lines\\) and ([0-9]+) records "
                   "\\([0-9]+ ring bytes\\) not persisted in its ring")))
        << log;
    long long in_pipe = std::stoll(m[2]), in_ring = std::stoll(m[3]);
    EXPECT_GT(in_ring, 0);
    EXPECT_EQ(in_pipe + in_ring, written - static_cast<long long>(records.size()))
        << "the report is exact: what the writer wrote minus what is on disk";
    EXPECT_NE(log.find("stopped: " + std::to_string(in_pipe + in_ring) + " lines"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("the stop's time is up"), std::string::npos) << log;
}

}  // namespace
}  // namespace ringlog::test
