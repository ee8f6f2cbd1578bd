#include "booted_systemd.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ringlog::test {

namespace {

const char* const kCopiedUnits[] = {
    "systemd-journald.service",
    "systemd-journald.socket",
    "systemd-journald-dev-log.socket",
    "systemd-journald-audit.socket",
    "dbus.service",
    "dbus.socket",
};
const char* const kStubTargets[] = {"sysinit", "basic",  "sockets", "local-fs",
                                    "paths",   "timers", "slices",  "shutdown",
                                    "network", "final",  "umount",  "multi-user"};

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

// The host's passwd and group with the ringlogd user and the ringlog group added (if missing),
// under ids the host does not use; returns ringlogd's uid.
uid_t writeAccounts(const fs::path& dir) {
    std::string passwd = readFile("/etc/passwd"), group = readFile("/etc/group");
    std::set<unsigned> used;
    for (const std::string* text : {&passwd, &group}) {
        std::istringstream in(*text);
        for (std::string line; std::getline(in, line);) {
            size_t a = line.find(':'), b = line.find(':', a + 1), c = line.find(':', b + 1);
            if (c != std::string::npos)
                used.insert(static_cast<unsigned>(std::stoul("0" + line.substr(b + 1, c - b - 1))));
        }
    }
    auto free_id = [&] {
        unsigned id = 989;
        while (used.count(id))
            --id;
        used.insert(id);
        return id;
    };
    uid_t uid = 0;
    if (passwd.find("\nringlogd:") == std::string::npos && passwd.rfind("ringlogd:", 0) != 0) {
        unsigned id = free_id();
        passwd += "ringlogd:x:" + std::to_string(id) + ":" + std::to_string(id) +
                  ":ringlogd:/nonexistent:/usr/sbin/nologin\n";
        group += "ringlogd:x:" + std::to_string(id) + ":\n";
        uid = id;
    }
    if (group.find("\nringlog:") == std::string::npos)
        group += "ringlog:x:" + std::to_string(free_id()) + ":\n";
    std::ofstream(dir / "passwd") << passwd;
    std::ofstream(dir / "group") << group;
    if (uid == 0) {
        size_t at = passwd.find("ringlogd:x:");
        uid = static_cast<uid_t>(std::stoul(passwd.substr(at + 11)));
    }
    return uid;
}

}  // namespace

std::string BootedSystemd::withConfigFile(const fs::path& dir, const std::string& text) {
    std::ofstream(dir / "ringlogd.conf") << text;
    fs::permissions(dir / "ringlogd.conf", fs::perms(0644));
    return "ExecStart=\nExecStart=/run/ringlogd-test/bin/ringlogd --config "
           "/run/ringlogd-test/ringlogd.conf";
}

BootedSystemd::BootedSystemd(const fs::path& dir, const std::string& service_dropin) : dir_(dir) {
    fs::create_directories(dir / "units" / "ringlogd.service.d");
    fs::create_directories(dir / "bin");
    fs::create_directories(dir / "logs");
    // The unprivileged service must reach its binary; a mkdtemp directory is 0700.
    for (fs::path p = dir; p != p.parent_path() && p.string().rfind("/tmp/", 0) == 0;
         p = p.parent_path())
        ::chmod(p.c_str(), 0755);
    for (const char* u : kCopiedUnits)
        fs::copy_file(fs::path("/lib/systemd/system") / u, dir / "units" / u);
    for (const char* t : kStubTargets)
        std::ofstream(dir / "units" / (std::string(t) + ".target"))
            << "[Unit]\nDescription=Stub " << t << ".target\n";
    std::ofstream(dir / "units" / "test.target")
        << "[Unit]\nDescription=ringlogd test\n"
           "Requires=systemd-journald.socket dbus.socket ringlogd.socket\n"
           "After=systemd-journald.socket dbus.socket ringlogd.socket\n";
    std::ofstream(dir / "units" / "ringlogd.service")
        << replaceAll(readFile(fs::path(RINGLOG_UNITS_DIR) / "ringlogd.service.in"),
                      "@RINGLOGD_PATH@", "/run/ringlogd-test/bin/ringlogd");
    fs::copy_file(fs::path(RINGLOG_UNITS_DIR) / "ringlogd.socket",
                  dir / "units" / "ringlogd.socket");
    std::string dropin = "[Service]\n" + service_dropin + "\n";
#ifdef __SANITIZE_ADDRESS__
    // LeakSanitizer stops the world with ptrace at exit, which the unit's system-call filter
    // forbids: the sanitized daemon would hang there. Leaks are checked outside systemd.
    dropin += "Environment=ASAN_OPTIONS=detect_leaks=0\n";
#endif
    std::ofstream(dir / "units" / "ringlogd.service.d" / "test.conf") << dropin;
    for (const std::string& bin : {ringlogdPath(), ringlogctlPath(), lineWriterPath()})
        fs::copy_file(bin, dir / "bin" / fs::path(bin).filename());
    // ringlogctl's run path points into the build tree, which may be under the hidden /tmp.
    fs::copy_file(RINGLOG_CLIENT_LIBRARY, dir / "bin" / "libringlog.so.0");
    // Everything the boot needs from outside is copied in: the checkout may be under /tmp.
    fs::copy_file(DBUS_POLICY_FILE, dir / "org.ringlog.Log1.conf");
    uid_t uid = writeAccounts(dir);
    if (::chown((dir / "logs").c_str(), uid, uid) != 0)
        throw std::runtime_error("chown " + (dir / "logs").string() + ": " + std::strerror(errno));

    std::string script =
        "set -e\n"
        "mount -t tmpfs tmpfs /run\n"
        "mkdir /run/ringlogd-test\n"
        "mount --bind \"$TEST_DIR\" /run/ringlogd-test\n"
        "mount -t tmpfs tmpfs /tmp\n"
        "mount -t tmpfs tmpfs /var/tmp\n"
        "mount -t tmpfs tmpfs /var/log\n"
        "mkdir /var/log/journal /var/log/ringlogd /run/log /run/log/journal\n"
        // As systemd-tmpfiles sets them at boot (tmpfiles.d/systemd.conf), which this system does
        // not run: journal files readable by the systemd-journal group, as ringlogd reads them.
        "chgrp systemd-journal /var/log/journal /run/log/journal\n"
        "chmod 2755 /var/log/journal /run/log/journal\n"
        "mount --bind /run/ringlogd-test/logs /var/log/ringlogd\n"
        "mount --bind /run/ringlogd-test/passwd /etc/passwd\n"
        "mount --bind /run/ringlogd-test/group /etc/group\n"
        "if [ -d /etc/dbus-1/system.d ]; then mount -t tmpfs tmpfs /etc/dbus-1/system.d; "
        "cp /run/ringlogd-test/org.ringlog.Log1.conf /etc/dbus-1/system.d/; fi\n"
        "export container=ringlogd-test SYSTEMD_UNIT_PATH=/run/ringlogd-test/units\n"
        "exec /lib/systemd/systemd --system --unit=test.target --log-target=console\n";
    SpawnOptions o;
    o.env["TEST_DIR"] = dir.string();
    o.stdout_file = (dir / "console.log").string();
    o.stderr_file = (dir / "console.log").string();
    o.die_with_test = true;  // and --kill-child takes systemd with it
    unshare_ = spawn({"/usr/bin/unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount",
                      "--mount-proc", "--propagation", "private", "/bin/sh", "-c", script},
                     o);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (init_ < 0 ||
           quietly({"/usr/bin/systemctl", "is-active", "--quiet", "ringlogd.socket"}) != 0) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("systemd did not boot; it printed:\n" + console());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (init_ < 0) {
            std::ifstream children("/proc/" + std::to_string(unshare_.pid) + "/task/" +
                                   std::to_string(unshare_.pid) + "/children");
            pid_t child = -1;
            if (children >> child)
                init_ = child;
        }
    }
}

int BootedSystemd::quietly(const std::vector<std::string>& argv) {
    auto full = inside();
    full.insert(full.end(), argv.begin(), argv.end());
    SpawnOptions o;
    o.stderr_file = "/dev/null";
    return spawn(full, o).wait();
}

BootedSystemd::~BootedSystemd() {
    if (init_ > 0)
        ::kill(init_, SIGKILL);
    unshare_.kill(SIGKILL);
    unshare_.wait();
}

std::vector<std::string> BootedSystemd::inside() const {
    return {"/usr/bin/nsenter",
            "-t",
            std::to_string(init_),
            "-m",
            "-p",
            "--",
            "/usr/bin/env",
            "LD_LIBRARY_PATH=/run/ringlogd-test/bin"};
}

int BootedSystemd::run(const std::vector<std::string>& argv, std::string* out) {
    auto full = inside();
    full.insert(full.end(), argv.begin(), argv.end());
    SpawnOptions o;
    std::string file = (dir_ / ("run-" + std::to_string(getpid()) + ".out")).string();
    if (out != nullptr) {
        ::unlink(file.c_str());
        o.stdout_file = file;
    }
    int rc = spawn(full, o).wait();
    if (out != nullptr)
        *out = readFile(file);
    return rc;
}

int BootedSystemd::systemctl(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv = {"/usr/bin/systemctl", "--no-pager"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, out);
}

std::string BootedSystemd::property(const std::string& unit, const std::string& name) {
    std::string out;
    systemctl({"show", "-p", name, "--value", unit}, &out);
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    return out;
}

pid_t BootedSystemd::waitForRinglogd(pid_t not_pid) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        if (property("ringlogd.service", "ActiveState") == "active") {
            pid_t pid =
                static_cast<pid_t>(std::stol("0" + property("ringlogd.service", "MainPID")));
            if (pid != 0 && pid != not_pid)
                return pid;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string status;
    systemctl({"status", "ringlogd.service"}, &status);
    throw std::runtime_error("ringlogd.service did not come back:\n" + status);
}

void BootedSystemd::waitUntilAttached(int n) {
    std::string want = std::to_string(n) + " containers attached";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!startsWith(property("ringlogd.service", "StatusText"), want)) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "still: " << property("ringlogd.service", "StatusText");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string BootedSystemd::console() const {
    return readFile(dir_ / "console.log");
}

}  // namespace ringlog::test
