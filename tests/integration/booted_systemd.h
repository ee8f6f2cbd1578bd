// BootedSystemd: a real systemd 252 booted as PID 1, hermetically, for the tests of ringlogd
// under systemd (docs/testing.md):
//   unshare --pid --fork --mount --mount-proc --propagation private, then tmpfs on /tmp, /run,
//   /var/tmp and /var/log (journald's and ringlogd's directories inside it), a passwd/group with
//   the ringlogd user and ringlog group bind-mounted over the host's, ringlogd's D-Bus policy in
//   a tmpfs over /etc/dbus-1/system.d, and exec /lib/systemd/systemd --system --unit=test.target
//   with container= and SYSTEMD_UNIT_PATH pointing only at <dir>/units: copies of journald's
//   and dbus's units, ringlogd's units from units/ (ExecStart pointing at a copy of the built
//   binary) and empty stub targets. Never /lib/systemd/system: its boot units would wipe the
//   host's /tmp, apply sysctls and add users.
// The test directory is visible inside at /run/ringlogd-test; /var/log/ringlogd inside is
// <dir>/logs outside. It is driven with `nsenter -t <pid> -m -p systemctl …` and ended with
// SIGKILL to its PID 1 (everything inside dies with it).
#pragma once

#include <string>
#include <vector>

#include "harness.h"

namespace ringlog::test {

class BootedSystemd {
  public:
    // `service_dropin`: extra lines for ringlogd.service's [Service] section, as a drop-in.
    explicit BootedSystemd(const fs::path& dir, const std::string& service_dropin = "");
    // Writes <dir>/ringlogd.conf (readable by the ringlogd user) and returns the drop-in lines
    // that start ringlogd with it: /run/ringlogd-test/ringlogd.conf inside.
    static std::string withConfigFile(const fs::path& dir, const std::string& text);
    ~BootedSystemd();
    BootedSystemd(const BootedSystemd&) = delete;
    BootedSystemd& operator=(const BootedSystemd&) = delete;

    // argv prefix that runs a command inside the namespaces.
    std::vector<std::string> inside() const;
    // Runs a command inside; returns its exit code and, if asked, its stdout.
    int run(const std::vector<std::string>& argv, std::string* out = nullptr);
    int systemctl(const std::vector<std::string>& args, std::string* out = nullptr);
    // `systemctl show -p <property> --value <unit>`, without the trailing newline.
    std::string property(const std::string& unit, const std::string& name);
    // Waits until ringlogd.service is active with a main PID other than `not_pid`; returns it.
    pid_t waitForRinglogd(pid_t not_pid = 0);
    // Waits until ringlogd's STATUS says `n` containers are attached (0: it finished persisting
    // them); a test failure after 120 s.
    void waitUntilAttached(int n);

    // Paths inside the namespaces.
    static std::string ringlogctl() { return "/run/ringlogd-test/bin/ringlogctl"; }
    static std::string lineWriter() { return "/run/ringlogd-test/bin/line_writer"; }
    fs::path logFile(const std::string& id) const {
        return dir_ / "logs" / id / (id + "-json.log");
    }
    std::string console() const;  // what systemd printed

  private:
    int quietly(const std::vector<std::string>& argv);  // stderr to /dev/null (booting)
    fs::path dir_;
    Process unshare_;
    pid_t init_ = -1;  // systemd's PID as the host sees it
};

}  // namespace ringlog::test
