// What the tests of ringlogd's D-Bus API and of ringlogctl share: a command run to its end with
// its output captured, a ContainerExited watcher, and a fixture with a private system bus, the real
// ringlogd on it and connections to it.
#pragma once

#include <gtest/gtest.h>

#include <ringlog-dbus/proxy.h>
#include <sdbus-c++/sdbus-c++.h>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace ringlog::test {

using Dict = std::map<std::string, sdbus::Variant>;

// A finished command: its exit code (128+N for signal N), stdout and stderr.
struct CommandOutput {
    int status = -1;
    std::string out, err;
};

// Runs argv to its end with `env` added to the test's environment, as uid/gid when given (root
// only); stdout and stderr go to fresh files under `dir`, read back at the end.
CommandOutput runCaptured(const fs::path& dir, const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {}, int uid = -1,
                          int gid = -1);

// Subscribes to ContainerExited, so a test can wait for a container's last line to be persisted.
class ExitWatcher final : public sdbus::ProxyInterfaces<org::ringlog::Log1::Manager_proxy> {
  public:
    explicit ExitWatcher(sdbus::IConnection& c);
    ~ExitWatcher();
    // False after 30 s without ContainerExited for `id` (one that came before counts).
    bool waitFor(const std::string& id);

  private:
    void onContainerAttached(const std::string&, const sdbus::ObjectPath&) override {}
    void onContainerExited(const std::string& id, const sdbus::ObjectPath&) override;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::set<std::string> exited_;
};

// A private system bus (DBUS_SYSTEM_BUS_ADDRESS set in this process and in env_ for children), a
// connection to it whose event loop runs (signals; watcher_ sees ContainerExited), another for
// calls (manager_), and ringlogd on it: `--dbus yes` and daemonArgs(), inside wrapper().
class PrivateBusTest : public ::testing::Test {
  protected:
    virtual std::vector<std::string> daemonArgs() { return {}; }
    virtual std::vector<std::string> wrapper() { return {}; }
    void SetUp() override;
    void TearDown() override;

    // argv run to its end with env_.
    CommandOutput run(const std::vector<std::string>& argv, int uid = -1, int gid = -1);
    // busctl on the private bus.
    CommandOutput busctl(std::vector<std::string> args, int uid = -1, int gid = -1);
    // The manager's Inspect.
    Dict inspect(const std::string& id_or_name);
    // Waits (on PropertiesChanged, at most once a second) until a counter of the container reaches
    // `value`; false after 30 s.
    bool waitForCounter(const std::string& id, const std::string& counter, uint64_t value);

    TempDir dir_;
    std::unique_ptr<DbusDaemon> bus_;
    std::map<std::string, std::string> env_;
    std::unique_ptr<sdbus::IConnection> connection_, calls_;
    std::unique_ptr<ExitWatcher> watcher_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::vector<std::unique_ptr<sdbus::IProxy>> watchers_;  // waitForCounter's
    std::unique_ptr<Daemon> d_;
};

}  // namespace ringlog::test
