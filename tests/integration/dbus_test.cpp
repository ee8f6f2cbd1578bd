// The D-Bus API through a real dbus-daemon that loads the project's policy file, the real
// ringlogd, and real clients: busctl and ringlogctl logs.
#include <grp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <ringlog-dbus/proxy.h>
#include <sdbus-c++/sdbus-c++.h>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <set>

#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

// Subscribes to ContainerExited, so a test can wait for a container's last line to be persisted.
class ExitWatcher final : public sdbus::ProxyInterfaces<org::ringlog::Log1::Manager_proxy> {
  public:
    explicit ExitWatcher(sdbus::IConnection& c)
        : ProxyInterfaces(c, "org.ringlog.Log1", "/org/ringlog/Log1") {
        registerProxy();
    }
    ~ExitWatcher() { unregisterProxy(); }
    bool waitFor(const std::string& id) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return exited_.count(id) != 0; });
    }

  private:
    void onContainerAttached(const std::string&, const sdbus::ObjectPath&) override {}
    void onContainerExited(const std::string& id, const sdbus::ObjectPath&) override {
        std::lock_guard lock(mutex_);
        exited_.insert(id);
        cv_.notify_all();
    }
    std::mutex mutex_;
    std::condition_variable cv_;
    std::set<std::string> exited_;
};

struct Output {
    int status = -1;
    std::string out, err;
};

class DbusApi : public ::testing::Test {
  protected:
    void SetUp() override {
        bus_ = std::make_unique<DbusDaemon>(dir_.path() / "bus");
        env_ = {{"DBUS_SYSTEM_BUS_ADDRESS", bus_->address()}};
        setenv("DBUS_SYSTEM_BUS_ADDRESS", bus_->address().c_str(), 1);
        connection_ = sdbus::createSystemBusConnection();
        watcher_ = std::make_unique<ExitWatcher>(*connection_);
        connection_->enterEventLoopAsync();
        d_ = std::make_unique<Daemon>(
            dir_.path() / "d",
            std::vector<std::string>{"--dbus", "yes", "--allowed-group", "nogroup"}, env_);
    }
    void TearDown() override {
        d_.reset();
        connection_->leaveEventLoop();
        watcher_.reset();
        connection_.reset();
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    }

    Output run(std::vector<std::string> argv, int uid = -1, int gid = -1) {
        static int n = 0;
        std::string out = (dir_.path() / ("out" + std::to_string(++n))).string();
        SpawnOptions o;
        o.stdout_file = out;
        o.stderr_file = out + ".err";
        o.env = env_;
        o.uid = uid;
        o.gid = gid;
        Output r;
        r.status = spawn(argv, o).wait();
        r.out = readFile(out);
        r.err = readFile(out + ".err");
        return r;
    }
    Output logs(std::vector<std::string> args, int uid = -1, int gid = -1) {
        args.insert(args.begin(), {ringlogctlPath(), "logs"});
        return run(args, uid, gid);
    }
    Output busctl(std::vector<std::string> args, int uid = -1, int gid = -1) {
        args.insert(args.begin(), {"/usr/bin/busctl", "--address=" + bus_->address()});
        return run(args, uid, gid);
    }
    // Runs a container to its end and waits until its last line is persisted.
    void runContainer(const std::string& id, std::vector<std::string> cmd,
                      std::vector<std::string> opts = {}) {
        std::vector<std::string> args = {"--id", id, "--name", "web-" + id, "--image", "img:1"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back("--");
        args.insert(args.end(), cmd.begin(), cmd.end());
        ASSERT_EQ(ringlogctlRun(*d_, args), 0);
        ASSERT_TRUE(watcher_->waitFor(id)) << "no ContainerExited for " << id;
    }
    static std::string numbered(int from, int to) {
        std::string s;
        for (int i = from; i < to; ++i)
            s += "stdout-" + std::string(9 - std::to_string(i).size(), '0') + std::to_string(i) +
                 "-x\n";
        return s;
    }

    TempDir dir_;
    std::unique_ptr<DbusDaemon> bus_;
    std::map<std::string, std::string> env_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<ExitWatcher> watcher_;
    std::unique_ptr<Daemon> d_;
};

TEST_F(DbusApi, BusctlIntrospectsTheManagerAndListsAnAttachedContainer) {
    Pipe p;
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = "4f2c0e1d2b3a99";
    a.name = "web";
    a.image = "nginx:1.25";
    a.stdout_fd = p.read_fd;
    char err[256];
    ASSERT_EQ(ringlog_attach_send(d_->socket().c_str(), &a, err, sizeof err), 0) << err;

    Output intro = busctl({"introspect", "org.ringlog.Log1", "/org/ringlog/Log1"});
    ASSERT_EQ(intro.status, 0) << intro.err;
    EXPECT_TRUE(std::regex_search(intro.out, std::regex(R"(\.Query\s+method\s+sa\{sv\}\s+h)")))
        << intro.out;
    EXPECT_TRUE(std::regex_search(intro.out,
                                  std::regex(R"(\.ListContainers\s+method\s+-\s+a\(sssssso\))")));
    EXPECT_TRUE(std::regex_search(intro.out, std::regex(R"(\.ContainerExited\s+signal\s+so)")));

    Output list = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                          "org.ringlog.Log1.Manager", "ListContainers"});
    ASSERT_EQ(list.status, 0) << list.err;
    EXPECT_EQ(list.out,
              "a(sssssso) 1 \"4f2c0e1d2b3a99\" \"web\" \"nginx:1.25\" \"json-file\" \"blocking\" "
              "\"attached\" "
              "\"/org/ringlog/Log1/container/_34f2c0e1d2b3a99\"\n");

    Output path = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                          "org.ringlog.Log1.Manager", "GetContainer", "s", "web"});
    EXPECT_EQ(path.out, "o \"/org/ringlog/Log1/container/_34f2c0e1d2b3a99\"\n");
    Output prop =
        busctl({"get-property", "org.ringlog.Log1", "/org/ringlog/Log1/container/_34f2c0e1d2b3a99",
                "org.ringlog.Log1.Container", "State", "Image", "Mode"});
    EXPECT_EQ(prop.out, "s \"attached\"\ns \"nginx:1.25\"\ns \"blocking\"\n") << prop.err;
}

TEST_F(DbusApi, RingloctlLogsReadsTheQueryPipeToTheEndAndTailsIt) {
    runContainer("reader", {lineWriterPath(), "--lines", "5000", "--width", "19"});
    Output all = logs({"reader"});
    ASSERT_EQ(all.status, 0) << all.err;
    EXPECT_EQ(all.out, numbered(0, 5000));
    Output tail = logs({"--tail", "100", "reader"});
    EXPECT_EQ(tail.out, numbered(4900, 5000));
    Output none = logs({"--tail", "0", "reader"});
    EXPECT_EQ(none.out, "");
    Output err_only = logs({"--stream", "stderr", "reader"});
    EXPECT_EQ(err_only.out, "");
}

TEST_F(DbusApi, SinceAndUntilReturnExactlyTheRecordsInTheRange) {
    runContainer("range", {lineWriterPath(), "--lines", "50", "--width", "19"});
    Output json = logs({"--format", "json", "range"});
    ASSERT_EQ(json.status, 0) << json.err;
    auto lines = splitLines(json.out);
    ASSERT_EQ(lines.size(), 50u);
    std::regex record(
        R"re(^\{"time":"([^"]+)","time_ns":(\d+),"stream":"stdout","message":"stdout-0000000\d\d-x","partial":false\}$)re");
    std::vector<std::string> times;
    std::vector<uint64_t> ns;
    for (const auto& l : lines) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(l, m, record)) << l;
        times.push_back(m[1]);
        ns.push_back(std::stoull(m[2]));
    }
    Output range = logs({"--since", times[10], "--until", times[19], "range"});
    std::string expected;  // every record stamped within the range, inclusive (equal stamps too)
    for (size_t i = 0; i < ns.size(); ++i)
        if (ns[i] >= ns[10] && ns[i] <= ns[19])
            expected += numbered(static_cast<int>(i), static_cast<int>(i) + 1);
    EXPECT_EQ(range.out, expected);
    EXPECT_NE(range.out.find(numbered(10, 20)), std::string::npos);
}

TEST_F(DbusApi, AUserOutsideTheAllowedGroupIsDeniedAndGetsNoBytesAMemberReads_Root) {
    runContainer("secret", {"/bin/echo", "classified"});
    Output denied = logs({"secret"}, 65534, 12345);
    EXPECT_EQ(denied.status, 1);
    EXPECT_EQ(denied.out, "");
    EXPECT_EQ(denied.err, "ringlogctl: you may not read container secret\n");
    Output list = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                          "org.ringlog.Log1.Manager", "ListContainers"},
                         65534, 12345);
    EXPECT_EQ(list.out, "a(sssssso) 0\n") << "containers one may not read are not listed";
    struct group* nogroup = getgrnam("nogroup");
    ASSERT_NE(nogroup, nullptr);
    Output member = logs({"secret"}, 65534, static_cast<int>(nogroup->gr_gid));
    EXPECT_EQ(member.status, 0) << member.err;
    EXPECT_EQ(member.out, "classified\n");
}

TEST_F(DbusApi, OnlyRootDetaches_Root) {
    Pipe p;
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = "detachme";
    a.stdout_fd = p.read_fd;
    char err[256];
    ASSERT_EQ(ringlog_attach_send(d_->socket().c_str(), &a, err, sizeof err), 0) << err;
    p.closeRead();
    ASSERT_EQ(::write(p.write_fd, "kept\n", 5), 5);
    Output refused = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                             "org.ringlog.Log1.Manager", "Detach", "s", "detachme"},
                            65534, 65534);
    EXPECT_NE(refused.status, 0);
    EXPECT_NE(refused.err.find("Access denied"), std::string::npos) << refused.err;
    Output done = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                          "org.ringlog.Log1.Manager", "Detach", "s", "detachme"});
    EXPECT_EQ(done.status, 0) << done.err;
    ASSERT_TRUE(watcher_->waitFor("detachme"));
    EXPECT_EQ(logs({"detachme"}).out, "kept\n");
    signal(SIGPIPE, SIG_IGN);
    EXPECT_EQ(::write(p.write_fd, "lost\n", 5), -1)
        << "ringlogd no longer reads a detached container";
}

TEST_F(DbusApi, QueryErrorsAreNamedAndSayWhatIsWrong) {
    runContainer("errs", {"/bin/echo", "x"});
    Output bogus =
        busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1", "org.ringlog.Log1.Manager",
                "Query", "sa{sv}", "errs", "1", "bogus", "s", "x"});
    EXPECT_EQ(bogus.status, 1);
    EXPECT_EQ(
        bogus.err,
        "Call failed: unknown option \"bogus\" (known: since, until, tail, streams, format)\n");
    Output missing = logs({"nosuch"});
    EXPECT_EQ(missing.err, "ringlogctl: no container \"nosuch\"\n");
    Output none_driver;
    runContainer("silent", {"/bin/echo", "x"}, {"--log-driver", "none"});
    none_driver = logs({"silent"});
    EXPECT_EQ(none_driver.status, 1);
    EXPECT_EQ(none_driver.err, "ringlogctl: driver none keeps no logs to read back\n");
}

}  // namespace
}  // namespace ringlog::test
