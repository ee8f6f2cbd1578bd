// What a new ringlogctl user meets first: the errors. Each says what happened and what to do,
// with docker's exit codes: 125 for ringlogctl's own (usage) errors, 1 when the operation fails.
// Real processes: ringlogctl against no bus, a bus without ringlogd, a socket it may not use.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bus_fixture.h"
#include "harness.h"

namespace ringlog::test {
namespace {

using Output = CommandOutput;

Output ringlogctl(const TempDir& dir, std::vector<std::string> args,
                  const std::map<std::string, std::string>& env = {}, int uid = -1) {
    args.insert(args.begin(), ringlogctlPath());
    return runCaptured(dir.path(), args, env, uid, uid);
}

TEST(RinglogctlErrors, UsageErrorsNameTheProblemAndExit125) {
    TempDir dir;
    struct Row {
        std::vector<std::string> args;
        std::string err;
    };
    const std::vector<Row> rows = {
        {{}, "ringlogctl: A subcommand is required\nSee 'ringlogctl --help'.\n"},
        {{"bogus"}, "ringlogctl: unknown command \"bogus\"\nSee 'ringlogctl --help'.\n"},
        {{"--socket", "/x", "bogus"},
         "ringlogctl: unknown command \"bogus\"\nSee 'ringlogctl --help'.\n"},
        {{"run", "--mode", "fast", "true"},
         "ringlogctl: --mode: fast not in {blocking,non-blocking}\nSee 'ringlogctl run --help'.\n"},
        {{"run", "--socket", "/x"},
         "ringlogctl: run: no command given (ringlogctl run [OPTIONS] [--] CMD [ARGS...])\n"},
        {{"attach", "--id", "x"},
         "ringlogctl: attach: --fifo is required (or --log-dir, or --push-only)\n"},
        {{"status"}, "ringlogctl: CONTAINER is required\nSee 'ringlogctl status --help'.\n"},
    };
    for (const auto& row : rows) {
        Output r = ringlogctl(dir, row.args);
        EXPECT_EQ(r.status, 125) << testing::PrintToString(row.args);
        EXPECT_EQ(r.err, row.err) << testing::PrintToString(row.args);
        EXPECT_EQ(r.out, "");
    }
}

TEST(RinglogctlErrors, HelpAndVersionExitZero) {
    TempDir dir;
    Output help = ringlogctl(dir, {"--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("Subcommands:\n  run "), std::string::npos) << help.out;
    Output sub = ringlogctl(dir, {"help", "status"});
    EXPECT_EQ(sub.status, 0);
    EXPECT_NE(sub.out.find("Usage: ringlogctl status [OPTIONS] CONTAINER"), std::string::npos)
        << sub.out;
    Output version = ringlogctl(dir, {"--version"});
    EXPECT_EQ(version.status, 0);
    EXPECT_EQ(version.out, std::string("ringlogctl ") + RINGLOG_TEST_VERSION + "\n");
}

TEST(RinglogctlErrors, GlobalOptionsGoBeforeOrAfterTheCommand) {
    TempDir dir;
    std::string sock = (dir.path() / "none.sock").string();
    std::string expected = "ringlogctl: cannot reach ringlogd at " + sock +
                           ": No such file or directory. Is ringlogd running? Start it with "
                           "`systemctl start ringlogd.socket`, or point --socket or "
                           "$RINGLOGD_SOCKET at its socket\n";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--socket", sock, "run", "true"},
             {"run", "--socket", sock, "true"},
             {"--socket=" + sock, "run", "--", "true"},
             {"attach", "--id", "x", "--fifo", "/dev/null", "--socket", sock}}) {
        Output r = ringlogctl(dir, args);
        EXPECT_EQ(r.status, 125) << testing::PrintToString(args);
        EXPECT_EQ(r.err, expected) << testing::PrintToString(args);
    }
    Output from_env = ringlogctl(dir, {"run", "true"}, {{"RINGLOGD_SOCKET", sock}});
    EXPECT_EQ(from_env.err, expected);
}

TEST(RinglogctlErrors, ASocketThisUserMayNotUseSaysWhichGroupToJoin_Root) {
    TempDir dir;
    fs::permissions(dir.path(), fs::perms::all);  // nobody may traverse it
    std::string sock = (dir.path() / "ingest.sock").string();
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ::chmod(sock.c_str(), 0660);  // root:root, as the unit's root:ringlog 0660 to an outsider
    Output r = ringlogctl(dir, {"run", "--socket", sock, "true"}, {}, 65534);
    ::close(fd);
    EXPECT_EQ(r.status, 125);
    EXPECT_EQ(r.err, "ringlogctl: cannot reach ringlogd at " + sock +
                         ": Permission denied. Attaching takes membership of the group `ringlog` "
                         "(the socket is root:ringlog 0660): `usermod -aG ringlog $USER`, then "
                         "log in again; or run as root\n");
}

TEST(RinglogctlErrors, NoBusAndABusWithoutRinglogdSayWhatToDo) {
    TempDir dir;
    Output no_bus = ringlogctl(dir, {"logs", "web"},
                               {{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus"}});
    EXPECT_EQ(no_bus.status, 1);
    EXPECT_EQ(no_bus.err,
              "ringlogctl: cannot reach the system bus (Failed to open bus (No such file or "
              "directory)): is dbus running? (systemctl status dbus). ringlogd serves logs on "
              "the system bus as org.ringlog.Log1\n");

    DbusDaemon bus(dir.path() / "bus");
    Output not_running =
        ringlogctl(dir, {"status", "web"}, {{"DBUS_SYSTEM_BUS_ADDRESS", bus.address()}});
    EXPECT_EQ(not_running.status, 1);
    EXPECT_EQ(not_running.err,
              "ringlogctl: ringlogd is not running (nothing answers as org.ringlog.Log1 on the "
              "system bus: The name org.ringlog.Log1 was not provided by any .service files). "
              "Start it with `systemctl start ringlogd`; `systemctl status ringlogd` and "
              "`journalctl -u ringlogd` say why it stopped\n");
}

}  // namespace
}  // namespace ringlog::test
