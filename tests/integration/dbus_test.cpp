// The D-Bus API through a real dbus-daemon that loads the project's policy file, the real
// ringlogd, and real clients: busctl and ringlogctl logs.
#include <grp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-bus.h>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "bus_fixture.h"
#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

using Output = CommandOutput;

// Reads a child's stdout to the end on a thread.
class Collector {
  public:
    explicit Collector(int fd) : fd_(fd), thread_([this] { run(); }) {}
    ~Collector() { join(); }
    void join() {
        if (thread_.joinable())
            thread_.join();
    }
    // Waits until at least n bytes arrived; false after 30 s.
    bool waitFor(size_t n) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(30), [&] {
            return data_.size() >= n || eof_;
        }) && data_.size() >= n;
    }
    std::string data() {
        std::lock_guard lock(mutex_);
        return data_;
    }

  private:
    void run() {
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd_, buf, sizeof buf);
            std::lock_guard lock(mutex_);
            if (n <= 0) {
                eof_ = true;
                cv_.notify_all();
                return;
            }
            data_.append(buf, static_cast<size_t>(n));
            cv_.notify_all();
        }
    }
    int fd_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::string data_;
    bool eof_ = false;
    std::thread thread_;
};

void writeNumbered(int fd, int from, int to) {
    std::string chunk;
    for (int i = from; i < to; ++i) {
        char line[32];
        std::snprintf(line, sizeof line, "stdout-%09d-x\n", i);
        chunk += line;
        if (chunk.size() > 4000 || i + 1 == to) {
            ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
            chunk.clear();
        }
    }
}

long procField(pid_t pid, const char* file, const char* key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0)
            return std::stol(line.substr(std::strlen(key)));
    return -1;
}

class DbusApi : public PrivateBusTest {
  protected:
    std::vector<std::string> daemonArgs() override { return {"--allowed-group", "nogroup"}; }

    Output logs(std::vector<std::string> args, int uid = -1, int gid = -1) {
        args.insert(args.begin(), {ringlogctlPath(), "logs"});
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
    // Attaches a container whose stdout the test writes itself (to `to`, else the fixture's).
    void attachPipe(const char* id, Pipe& p, std::vector<const char*> opts = {},
                    const char* driver = nullptr, const Daemon* to = nullptr) {
        opts.push_back(nullptr);
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = id;
        a.driver = driver;
        a.log_opts = opts.data();
        a.stdout_fd = p.read_fd;
        char err[256];
        ASSERT_EQ(
            ringlog_attach_send((to != nullptr ? *to : *d_).socket().c_str(), &a, err, sizeof err),
            0)
            << err;
        p.closeRead();
    }
    // Starts `ringlogctl logs -o raw ARGS` with its stdout on a pipe the caller reads (raw: both
    // streams there, ringlogd's bytes copied through whatever the test's stderr is).
    Process logsInto(std::vector<std::string> args, int stdout_fd) {
        args.insert(args.begin(), {ringlogctlPath(), "logs", "-o", "raw"});
        SpawnOptions o;
        o.env = env_;
        o.keep_fds = {stdout_fd};
        o.stdout_fd = stdout_fd;
        return spawn(args, o);
    }
    // Writes `before` lines, starts `ringlogctl logs -f`, waits until it has them (its history),
    // writes the rest up to `total`, closes the container and returns all the follower printed.
    std::string followWhileWriting(Pipe& p, const char* id, int before, int total) {
        writeNumbered(p.write_fd, 0, before);
        Pipe out;
        Process follower = logsInto({"-f", id}, out.write_fd);
        out.closeWrite();
        Collector got(out.read_fd);
        EXPECT_TRUE(got.waitFor(static_cast<size_t>(before) * 19))
            << "the follower never got the history";
        writeNumbered(p.write_fd, before, total);
        p.closeWrite();
        EXPECT_EQ(follower.wait(), 0) << "a follow ends when the container exits";
        got.join();
        return got.data();
    }
    // Equal, or where they part.
    static ::testing::AssertionResult sameBytes(const std::string& expected,
                                                const std::string& actual) {
        if (actual == expected)
            return ::testing::AssertionSuccess();
        auto diff = std::mismatch(expected.begin(), expected.end(), actual.begin(), actual.end());
        return ::testing::AssertionFailure()
               << "first difference at byte " << (diff.first - expected.begin()) << " of "
               << actual.size() << ": expected "
               << std::string(diff.first, std::min(diff.first + 60, expected.end())) << " got "
               << std::string(diff.second, std::min(diff.second + 60, actual.end()));
    }
    static std::string numbered(int from, int to) {
        std::string s;
        for (int i = from; i < to; ++i)
            s += "stdout-" + std::string(9 - std::to_string(i).size(), '0') + std::to_string(i) +
                 "-x\n";
        return s;
    }
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

// LinesSplit counts the lines cut at max-line, once each: not the lines below it, nor a last line
// without '\n'.
TEST_F(DbusApi, LinesSplitCountsOnlyLinesCutAtMaxLine) {
    runContainer("splits", {"/bin/sh", "-c",
                            framingWriterPath() +
                                " --lines 5 --lengths 5,16383,16384,40000,0; printf 'no end'"});
    Output prop = busctl({"get-property", "org.ringlog.Log1", "/org/ringlog/Log1/container/splits",
                          "org.ringlog.Log1.Container", "LinesSplit", "LinesIn"});
    // Records: 1 + 1 + 2 (16,384 bytes, then its '\n') + 3 + 1 + the last line without '\n'.
    EXPECT_EQ(prop.out, "t 2\nt 9\n") << prop.err;
}

// A restarted ringlogd may ask for its bus name before the bus has freed it from the instance that
// is exiting: it waits for the name rather than coming up without its API.
TEST_F(DbusApi, ANewInstanceGetsTheBusNameOnceThePreviousOneLetsItGo) {
    fs::path b_dir = dir_.path() / "b";
    std::unique_ptr<Daemon> b;
    std::string b_error;
    std::atomic<bool> b_failed{false};
    std::thread starting([&] {
        try {  // returns at READY=1, which needs the name
            b = std::make_unique<Daemon>(
                b_dir, std::vector<std::string>{"--dbus", "yes", "--allowed-group", "nogroup"},
                env_);
        } catch (const std::exception& e) {
            b_error = e.what();
            b_failed = true;
        }
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (readFile(b_dir / "ringlogd.log").find("waiting for the bus name") == std::string::npos &&
           !b_failed && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(d_->stop(), 0);  // the first instance exits and its name is freed
    starting.join();
    ASSERT_TRUE(b) << b_error;
    Pipe p;
    attachPipe("served-by-b", p, {}, nullptr, b.get());
    Output list = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                          "org.ringlog.Log1.Manager", "ListContainers"});
    ASSERT_EQ(list.status, 0) << list.err;
    EXPECT_NE(list.out.find("\"served-by-b\""), std::string::npos) << list.out;
}

TEST_F(DbusApi, RinglogctlLogsReadsTheQueryPipeToTheEndAndTailsIt) {
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
        R"re(^\{"time":"([^"]+)","time_ns":(\d+),"cursor":"\d+","stream":"stdout","message":"stdout-0000000\d\d-x","partial":false\}$)re");
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

// By default only root and the attaching user read a container: not even members of the group
// allowed to attach (nogroup here); a reader group chosen at attach reads.
TEST_F(DbusApi, OnlyRootTheAttachingUserAndTheChosenReaderGroupsRead_Root) {
    struct group* nogroup = getgrnam("nogroup");
    ASSERT_NE(nogroup, nullptr);
    const int nogroup_gid = static_cast<int>(nogroup->gr_gid);
    runContainer("secret", {"/bin/echo", "classified"});
    for (int gid : {12345, nogroup_gid}) {
        Output denied = logs({"secret"}, 65534, gid);
        EXPECT_EQ(denied.status, 1);
        EXPECT_EQ(denied.out, "");
        EXPECT_EQ(denied.err,
                  "ringlogctl: no container \"secret\" (`ringlogctl ps -a` lists the containers "
                  "you may read)\n");
        Output list = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                              "org.ringlog.Log1.Manager", "ListContainers"},
                             65534, gid);
        EXPECT_EQ(list.out, "a(sssssso) 0\n") << "containers one may not read are not listed";
    }
    runContainer("shared", {"/bin/echo", "for nogroup"}, {"--log-opt", "reader-groups=nogroup"});
    Output member = logs({"shared"}, 65534, nogroup_gid);
    EXPECT_EQ(member.status, 0) << member.err;
    EXPECT_EQ(member.out, "for nogroup\n");
}

// A user who may not read a container learns nothing of it: every reply an unprivileged user
// gets about a container that exists (root's, running; root's, exited; by id and by name) is byte
// for byte the reply about one that does not (the asked key aside), `busctl tree` is the same with
// and without other users' containers, and no signal names them. (Issue 18: the tree listed every
// id, and "you may not read container" told existing names from made-up ones.)
TEST_F(DbusApi, AUserLearnsNothingOfAContainerItMayNotRead_Root) {
    const int nobody = 65534, no_group = 12345;
    // dbus-daemon's refusals name the caller's connection and pid, which differ from call to call.
    auto normalized = [](const std::string& text) {
        return std::regex_replace(std::regex_replace(text, std::regex(R"(:1\.\d+)"), ":1.N"),
                                  std::regex(R"(pid=\d+)"), "pid=N");
    };
    auto tree = [&] {
        CommandOutput o = busctl({"tree", "org.ringlog.Log1"}, nobody, no_group);
        return normalized(std::to_string(o.status) + "|" + o.out + "|" + o.err);
    };
    std::string tree_before = tree();
    std::thread monitor_thread;
    CommandOutput monitor;
    monitor_thread = std::thread([&] {
        monitor = run({"/usr/bin/timeout", "4", "/usr/bin/dbus-monitor", "--system",
                       "sender='org.ringlog.Log1'"},
                      nobody, no_group);
    });
    std::this_thread::sleep_for(std::chrono::seconds(1));  // the monitor's match is in place
    Pipe running;
    attachPipe("secretrunning", running);
    runContainer("secretexited", {"/bin/true"});  // named web-secretexited
    monitor_thread.join();
    EXPECT_EQ(monitor.out.find("secret"), std::string::npos)
        << "a signal named another user's container:\n"
        << monitor.out;
    EXPECT_EQ(tree(), tree_before);

    auto path = [](const std::string& key) {
        char* encoded = nullptr;
        EXPECT_GE(sd_bus_path_encode("/org/ringlog/Log1/container", key.c_str(), &encoded), 0);
        std::string out = encoded;
        free(encoded);
        return out;
    };
    // Every way to ask about `key`, the replies with `key` (and its object path) taken out.
    auto ask = [&](const std::string& key) {
        std::string replies;
        auto add = [&](const CommandOutput& o) {
            replies += std::to_string(o.status) + "|" + o.out + "|" + o.err + "\n";
        };
        const std::string manager = "org.ringlog.Log1.Manager";
        add(logs({key}, nobody, no_group));
        for (const char* method : {"GetContainer", "Inspect"})
            add(busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1", manager, method, "s", key},
                       nobody, no_group));
        add(busctl(
            {"call", "org.ringlog.Log1", "/org/ringlog/Log1", manager, "Query", "sa{sv}", key, "0"},
            nobody, no_group));
        add(busctl({"introspect", "org.ringlog.Log1", path(key)}, nobody, no_group));
        add(busctl(
            {"get-property", "org.ringlog.Log1", path(key), "org.ringlog.Log1.Container", "Name"},
            nobody, no_group));
        add(busctl({"call", "org.ringlog.Log1", path(key), "org.freedesktop.DBus.Peer", "Ping"},
                   nobody, no_group));
        add(busctl({"call", "org.ringlog.Log1", path(key), manager, "ListContainers"}, nobody,
                   no_group));
        std::string out = normalized(replies);
        for (const std::string& asked : {path(key), key})
            for (size_t at; (at = out.find(asked)) != std::string::npos;)
                out.replace(at, asked.size(), "KEY");
        return out;
    };
    EXPECT_EQ(ask("secretrunning"), ask("notanyone4me"));
    EXPECT_EQ(ask("secretexited"), ask("notanyone4u"));
    EXPECT_EQ(ask("web-secretexited"), ask("web-notanyone4u"));
    EXPECT_EQ(ask("secret"), ask("nosuch")) << "a prefix";
    // And the denial itself says nothing either way.
    std::string denied = ask("notanyone4u");
    EXPECT_EQ(denied.find("may not read"), std::string::npos) << denied;
    running.closeWrite();
}

// The query limits, each hit in turn with the error that names it, as ringlogctl shows it: one
// user's 32 queries (queries-per-user), a container's 16 followers (followers-per-container), 64
// queries in all (queries). A `ringlogctl logs -f` runs two (stdout's and stderr's). Each refused
// client gets its error and the others keep streaming.
TEST_F(DbusApi, QueryLimitsPerUserPerContainerAndInAllEachGiveTheirNamedError_Root) {
    struct group* nogroup = getgrnam("nogroup");
    ASSERT_NE(nogroup, nullptr);
    const int nobody = 65534, nogroup_gid = static_cast<int>(nogroup->gr_gid);
    std::vector<Pipe> containers(4);
    for (size_t i = 0; i < containers.size(); ++i) {
        std::string id = "lim" + std::to_string(i);
        attachPipe(id.c_str(), containers[i], {"reader-groups=nogroup"});
        ASSERT_EQ(::write(containers[i].write_fd, "x\n", 2), 2);
    }
    ASSERT_TRUE(waitForCounter("lim3", "LinesWritten", 1));
    struct Follower {
        Pipe out;
        Process process;
    };
    std::vector<std::unique_ptr<Follower>> followers;
    // A follower of `id` as `uid`, once it has its first line (its query is running).
    auto follow = [&](const std::string& id, int uid, int gid) {
        auto f = std::make_unique<Follower>();
        SpawnOptions o;
        o.stdout_fd = f->out.write_fd;
        o.env = {{"DBUS_SYSTEM_BUS_ADDRESS", bus_->address()}};
        o.uid = uid;
        o.gid = gid;
        o.die_with_test = true;
        f->process = spawn({ringlogctlPath(), "logs", "-f", id}, o);
        f->out.closeWrite();
        EXPECT_EQ(readLine(f->out.read_fd), "x\n") << "follower " << followers.size();
        followers.push_back(std::move(f));
    };
    auto refused = [&](const std::string& id, int uid, int gid) {
        Output o = logs({"-f", id}, uid, gid);
        return std::to_string(o.status) + " " + o.err;
    };
    for (const char* id : {"lim0", "lim1"})
        for (int i = 0; i < 8; ++i)
            follow(id, nobody, nogroup_gid);
    EXPECT_EQ(refused("lim2", nobody, nogroup_gid),
              "1 ringlogctl: uid 65534 has 32 queries running (queries-per-user); try again\n");
    EXPECT_EQ(refused("lim0", -1, -1),
              "1 ringlogctl: container lim0 has 16 followers already (followers-per-container)\n");
    for (const char* id : {"lim2", "lim3"})
        for (int i = 0; i < 8; ++i)
            follow(id, -1, -1);
    EXPECT_EQ(refused("lim1", -1, -1),
              "1 ringlogctl: 64 queries are running (queries); try again\n");
    // The others stream on.
    ASSERT_EQ(::write(containers[2].write_fd, "y\n", 2), 2);
    for (size_t i = 16; i < 24; ++i)
        EXPECT_EQ(readLine(followers[i]->out.read_fd), "y\n") << "follower " << i;
    for (auto& f : followers)
        ::kill(f->process.pid, SIGTERM);
    for (auto& f : followers)
        f->process.wait();
}

TEST_F(DbusApi, OnlyRootDetaches_Root) {
    Pipe p;
    attachPipe("detachme", p);
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
    EXPECT_EQ(bogus.err,
              "Call failed: unknown option \"bogus\" (known: since, until, tail, streams, format, "
              "follow, after_cursor, grep, case_sensitive)\n");
    // A time as text goes through ringlogctl's parser, in the daemon: its forms, its error.
    Output words = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                           "org.ringlog.Log1.Manager", "Query", "sa{sv}", "errs", "2", "since", "s",
                           "1 hour ago", "until", "s", "tomorrow"});
    EXPECT_EQ(words.status, 0) << words.err;
    Output bad_time =
        busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1", "org.ringlog.Log1.Manager",
                "Query", "sa{sv}", "errs", "1", "since", "s", "last tuesday"});
    EXPECT_EQ(bad_time.status, 1);
    EXPECT_TRUE(
        startsWith(bad_time.err, "Call failed: option \"since\": \"last tuesday\" is not a time: "))
        << bad_time.err;
    Output missing = logs({"nosuch"});
    EXPECT_EQ(
        missing.err,
        "ringlogctl: no container \"nosuch\" (`ringlogctl ps -a` lists the containers you may "
        "read)\n");
    Output none_driver;
    runContainer("silent", {"/bin/echo", "x"}, {"--log-driver", "none"});
    none_driver = logs({"silent"});
    EXPECT_EQ(none_driver.status, 1);
    EXPECT_EQ(none_driver.err, "ringlogctl: driver none keeps no logs to read back\n");
}

// Faults of readers and writers (docs/reliability.md, "Faults and bad input").

// `cat /dev/zero` as a container's output: endless bytes and no line end, cut into 16 KiB
// records. Non-blocking, the ring drops the oldest and counts it; blocking, the writer is held
// to what the disk takes and nothing is dropped; either way memory stays bounded, the files stay
// within max-size x max-file, and a third container's 100,000 lines all arrive meanwhile.
TEST_F(DbusApi, AnEndlessWriterWithoutLineEndsIsBoundedByItsModeWhileOthersLoseNothing) {
    Pipe nb, b, calm;
    attachPipe("zerosnb", nb, {"mode=non-blocking", "max-size=5m", "max-file=2"});
    attachPipe("zerosb", b, {"max-size=5m", "max-file=2"});
    attachPipe("calm", calm);
    const long rss_before = statusKb(d_->pid(), "VmRSS");
    auto endless = [](Pipe& into) {
        SpawnOptions o;
        o.stdout_fd = into.write_fd;
        o.die_with_test = true;
        Process cat = spawn({"/bin/cat", "/dev/zero"}, o);
        into.closeWrite();
        return cat;
    };
    Process zeros_nb = endless(nb), zeros_b = endless(b);
    writeNumbered(calm.write_fd, 0, 100000);
    calm.closeWrite();
    ASSERT_TRUE(watcher_->waitFor("calm"));
    ASSERT_TRUE(waitForCounter("zerosnb", "LinesDropped", 1));
    ASSERT_TRUE(waitForCounter("zerosb", "LinesWritten", 200)) << "over 3 MB of zeros";
    const long rss_during = statusKb(d_->pid(), "VmRSS");
    zeros_nb.kill(SIGKILL);
    zeros_b.kill(SIGKILL);
    zeros_nb.wait();
    zeros_b.wait();
    ASSERT_TRUE(watcher_->waitFor("zerosnb"));
    ASSERT_TRUE(watcher_->waitFor("zerosb"));
    EXPECT_TRUE(sameBytes(numbered(0, 100000), logs({"calm"}).out));
    Dict blocking = inspect("zerosb");
    EXPECT_EQ(blocking.at("LinesDropped").get<uint64_t>(), 0u);
    EXPECT_EQ(blocking.at("LinesWritten").get<uint64_t>(), blocking.at("LinesIn").get<uint64_t>());
    EXPECT_EQ(blocking.at("LinesSplit").get<uint64_t>(), 1u) << "one endless line, cut";
    for (const char* id : {"zerosnb", "zerosb"}) {
        uintmax_t bytes = 0;
        for (const auto& f : fs::directory_iterator(d_->logRoot() / id))
            bytes += fs::file_size(f.path());
        // A file rotates after the record that takes it past max-size (16 KiB of NULs is 98 KiB
        // of json).
        EXPECT_LE(bytes, 2u * (5u << 20) + 2u * 100'000u) << id;
    }
#ifndef __SANITIZE_ADDRESS__
    // Two rings of 1 MiB and the drivers' buffers (not under ASan: its quarantine is not ours).
    EXPECT_LT(rss_during - rss_before, 32 * 1024) << "kB";
#else
    (void)rss_before;
    (void)rss_during;
#endif
}

// Detach while two queries run: one following and reading, one whose reader has not read yet
// (its pipe full, 3.8 MB of history behind). Both end with every line the container wrote,
// exactly once, and exit 0: a detach ends a container's follow as its exit does.
TEST_F(DbusApi, ADetachDuringQueriesEndsThemWithEveryLine_Root) {
    Pipe p;
    attachPipe("detached", p);
    writeNumbered(p.write_fd, 0, 200000);
    Pipe reading_out, stalled_out;
    Process reading = logsInto({"-f", "detached"}, reading_out.write_fd);
    Process stalled = logsInto({"-f", "detached"}, stalled_out.write_fd);
    reading_out.closeWrite();
    stalled_out.closeWrite();
    Collector reading_got(reading_out.read_fd);
    ASSERT_TRUE(reading_got.waitFor(200000 * 19));
    writeNumbered(p.write_fd, 200000, 200100);
    ASSERT_TRUE(reading_got.waitFor(200100 * 19));
    Output detach = busctl({"call", "org.ringlog.Log1", "/org/ringlog/Log1",
                            "org.ringlog.Log1.Manager", "Detach", "s", "detached"});
    ASSERT_EQ(detach.status, 0) << detach.err;
    EXPECT_EQ(reading.wait(), 0);
    reading_got.join();
    EXPECT_TRUE(sameBytes(numbered(0, 200100), reading_got.data()));
    Collector stalled_got(stalled_out.read_fd);
    EXPECT_EQ(stalled.wait(), 0);
    stalled_got.join();
    EXPECT_TRUE(sameBytes(numbered(0, 200100), stalled_got.data()));
}

// Readers that close the fd Query gave them after a few bytes, 70 of them one after the other
// (more than the 64 queries that may run at once): ringlogd takes no SIGPIPE, frees each query
// (the next ones are not refused at the limit), holds no fd of theirs afterwards, and serves the
// whole log to the next reader.
TEST_F(DbusApi, ReadersThatCloseTheirQueryFdMidStreamCostNothing) {
    Pipe p;
    attachPipe("abandoned", p);
    writeNumbered(p.write_fd, 0, 200000);
    p.closeWrite();
    ASSERT_TRUE(watcher_->waitFor("abandoned"));
    // A first reader, served to the end, starts the query threads (each with its eventfd).
    EXPECT_TRUE(sameBytes(numbered(0, 200000), logs({"abandoned"}).out));
    const size_t fds_before = openFds(d_->pid());
    for (int i = 0; i < 70; ++i) {
        sdbus::UnixFd fd;
        Dict options;
        if (i % 2)
            options["follow"] = sdbus::Variant(true);
        manager_->callMethod("Query")
            .onInterface("org.ringlog.Log1.Manager")
            .withArguments(std::string("abandoned"), options)
            .storeResultsTo(fd);
        char some[100];
        ASSERT_EQ(::read(fd.get(), some, sizeof some), static_cast<ssize_t>(sizeof some))
            << "query " << i;
    }  // each fd closed here, mid-stream
    EXPECT_TRUE(sameBytes(numbered(0, 200000), logs({"abandoned"}).out));
    size_t fds_after = openFds(d_->pid());
    for (int tries = 0; tries < 500 && fds_after > fds_before; ++tries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        fds_after = openFds(d_->pid());
    }
    EXPECT_LE(fds_after, fds_before) << "fds of abandoned queries still open: " << [&] {
        std::string all;
        for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(d_->pid()) + "/fd"))
            all +=
                "\n" + e.path().filename().string() + " -> " + fs::read_symlink(e.path()).string();
        return all;
    }();
    // (ringlogd is this test's child: killed by a SIGPIPE it would stay as a zombie, which
    // kill(pid, 0) does not tell apart.)
    EXPECT_EQ(d_->stop(), 0) << "ringlogd ended otherwise than by the stop";
}

TEST_F(DbusApi, AFollowerGetsEveryLineExactlyOnceWhileTheLogRotates) {
    Pipe p;
    // Rotation keeps ~10 MB on disk: enough for a follower that the machine's load holds back to
    // catch up from disk, while the ~17 MB written still rotate it eight times.
    attachPipe("follow", p, {"max-size=2m", "max-file=5"});
    // ~17 MB of json-file written while following.
    EXPECT_TRUE(sameBytes(numbered(0, 200000), followWhileWriting(p, "follow", 1000, 200000)));
    // The log did rotate under the follower: its first lines are gone from disk.
    auto oldest = readJsonLog(d_->logRoot() / "follow" / "follow-json.log.4");
    ASSERT_FALSE(oldest.empty());
    EXPECT_GT(std::stoi(oldest.front().log.substr(7, 9)), 50000) << "rotated at least five times";
}

TEST_F(DbusApi, AFollowerThatNeverReadsSlowsNothingAndLaterCatchesUpFromDisk) {
    Pipe p;
    attachPipe("stalled", p);
    Pipe stalled_out, live_out;
    Process stalled = logsInto({"-f", "stalled"}, stalled_out.write_fd);
    Process live = logsInto({"-f", "stalled"}, live_out.write_fd);
    stalled_out.closeWrite();
    live_out.closeWrite();
    Collector live_got(live_out.read_fd);
    writeNumbered(p.write_fd, 0, 1);
    ASSERT_TRUE(live_got.waitFor(19));
    long rss_before = statusKb(d_->pid(), "VmRSS");
    // 5.7 MB through while one follower reads nothing: far more than the live feed keeps.
    writeNumbered(p.write_fd, 1, 300000);
    ASSERT_TRUE(live_got.waitFor(300000 * 19)) << "the reading follower was held back";
    long rss_after = statusKb(d_->pid(), "VmRSS");
#ifndef __SANITIZE_ADDRESS__
    // (Not under ASan: its allocator keeps freed memory in quarantine, which is not ours.)
    EXPECT_LT(rss_after - rss_before, 32 * 1024) << "kB: memory must stay bounded";
#else
    (void)rss_before;
    (void)rss_after;
#endif
    p.closeWrite();
    EXPECT_EQ(live.wait(), 0);
    live_got.join();
    EXPECT_TRUE(live_got.data() == numbered(0, 300000));
    // Now the stalled one reads: what fell off the feed comes from disk, nothing twice.
    Collector stalled_got(stalled_out.read_fd);
    EXPECT_EQ(stalled.wait(), 0);
    stalled_got.join();
    EXPECT_TRUE(stalled_got.data() == numbered(0, 300000))
        << "got " << stalled_got.data().size() << " bytes";
}

TEST_F(DbusApi, AfterCursorResumesExactlyAfterTheLastRecordSeenInBothFormats) {
    runContainer("cursor", {lineWriterPath(), "--lines", "100", "--width", "19"});
    Output last = logs({"--format", "json", "--tail", "40", "cursor"});
    auto lines = splitLines(last.out);
    ASSERT_EQ(lines.size(), 40u);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(lines[0], m, std::regex(R"re("cursor":"(\d+)")re")));
    std::string cursor = m[1];
    EXPECT_EQ(logs({"--after-cursor", cursor, "cursor"}).out, numbered(61, 100));
    Output json = logs({"--format", "json", "--after-cursor", cursor, "cursor"});
    auto resumed = splitLines(json.out);
    ASSERT_EQ(resumed.size(), 39u);
    EXPECT_EQ(resumed, std::vector<std::string>(lines.begin() + 1, lines.end()));
    Output bad = logs({"--after-cursor", "nonsense", "cursor"});
    EXPECT_EQ(
        bad.err,
        "ringlogctl: option \"after_cursor\": \"nonsense\" is not a cursor returned by a query\n");
}

TEST_F(DbusApi, TailOfAGigabyteLogReturnsTheLastLinesReadingOnlyTheEnd) {
    fs::path dir = d_->logRoot() / "big";
    fs::create_directories(dir);
    {
        std::string block;
        while (block.size() < (1 << 20))
            block +=
                "{\"log\":\"old line from an earlier "
                "run\\n\",\"stream\":\"stdout\",\"time\":\"2020-01-01T00:00:00Z\"}\n";
        std::ofstream f(dir / "big-json.log", std::ios::binary);
        for (int i = 0; i < 1024; ++i)
            f.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
    ASSERT_GE(fs::file_size(dir / "big-json.log"), 1u << 30);
    runContainer("big", {lineWriterPath(), "--lines", "200", "--width", "19"});
    long read_before = procField(d_->pid(), "io", "rchar: ");
    Output tail = logs({"--tail", "100", "big"});
    long read_after = procField(d_->pid(), "io", "rchar: ");
    EXPECT_EQ(tail.out, numbered(100, 200));
    EXPECT_LT(read_after - read_before, 1 << 20) << "bytes ringlogd read for the tail";
}

TEST_F(DbusApi, ReaderGroupsChosenAtAttachDecideWhoElseMayRead_Root) {
    struct group* g = getgrnam("staff");  // static storage: copy the gid before the next call
    ASSERT_NE(g, nullptr);
    gid_t staff_gid = g->gr_gid;
    g = getgrnam("nogroup");
    ASSERT_NE(g, nullptr);
    gid_t nogroup_gid = g->gr_gid;
    runContainer("grp", {"/bin/echo", "for staff"}, {"--log-opt", "reader-groups=staff"});
    Output staff_reads = logs({"grp"}, 65534, static_cast<int>(staff_gid));
    EXPECT_EQ(staff_reads.out, "for staff\n")
        << staff_reads.err << " status " << staff_reads.status;
    Output other = logs({"grp"}, 65534, static_cast<int>(nogroup_gid));
    EXPECT_EQ(other.out, "")
        << "the daemon's allowed group does not read a container that chose others";
    EXPECT_EQ(other.err,
              "ringlogctl: no container \"grp\" (`ringlogctl ps -a` lists the containers you may "
              "read)\n");
    SpawnOptions o;
    o.stderr_file = (dir_.path() / "grp.err").string();
    EXPECT_EQ(
        ringlogctlRun(
            *d_, {"--id", "grp2", "--log-opt", "reader-groups=nosuchgroup", "--", "/bin/true"}, o),
        125);
    EXPECT_EQ(readFile(dir_.path() / "grp.err"),
              "ringlogctl: log option \"reader-groups\": no group \"nosuchgroup\"\n");
}

TEST_F(DbusApi, QueriesReadRotatedAndCompressedFiles) {
    runContainer(
        "gz", {lineWriterPath(), "--lines", "20000", "--width", "19"},
        {"--log-opt", "max-size=100k", "--log-opt", "max-file=4", "--log-opt", "compress=true"});
    ASSERT_TRUE(fs::exists(d_->logRoot() / "gz" / "gz-json.log.3.gz"));
    Output all = logs({"gz"});
    ASSERT_EQ(all.status, 0) << all.err;
    ASSERT_FALSE(all.out.empty());
    int first = std::stoi(all.out.substr(7, 9));
    EXPECT_GT(first, 0) << "the oldest lines were rotated away";
    EXPECT_EQ(all.out, numbered(first, 20000))
        << "everything retained, from the .gz files on, once and in order";
    auto in_current = readJsonLog(d_->logRoot() / "gz" / "gz-json.log").size();
    EXPECT_EQ(logs({"--tail", std::to_string(in_current + 500), "gz"}).out,
              numbered(20000 - static_cast<int>(in_current) - 500, 20000))
        << "a tail reaching back into the compressed file";
}

TEST_F(DbusApi, CountersArriveInPropertiesChangedAtMostOnceASecond) {
    Pipe p;
    attachPipe("counted", p);
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<uint64_t> lines_in;
    auto proxy =
        sdbus::createProxy(*connection_, "org.ringlog.Log1", "/org/ringlog/Log1/container/counted");
    proxy->uponSignal("PropertiesChanged")
        .onInterface("org.freedesktop.DBus.Properties")
        .call([&](const std::string& iface, const std::map<std::string, sdbus::Variant>& changed,
                  const std::vector<std::string>&) {
            auto it = changed.find("LinesIn");
            if (iface != "org.ringlog.Log1.Container" || it == changed.end())
                return;
            std::lock_guard lock(mutex);
            lines_in.push_back(it->second.get<uint64_t>());
            cv.notify_all();
        });
    proxy->finishRegistration();
    auto start = std::chrono::steady_clock::now();
    writeNumbered(p.write_fd, 0, 100000);
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] {
        return !lines_in.empty() && lines_in.back() == 100000;
    })) << "the last count never came";
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LE(static_cast<double>(lines_in.size()), seconds + 1.0)
        << "more than one PropertiesChanged a second";
}

// The same API over journald containers: ringlogd and journald share a private mount namespace.
class JournaldQuery : public DbusApi {
  protected:
    void SetUp() override {
        journal_ = std::make_unique<Journald>(dir_.path() / "journal");
        DbusApi::SetUp();
    }
    std::vector<std::string> wrapper() override { return journal_->inside(); }
    std::unique_ptr<Journald> journal_;
};

TEST_F(JournaldQuery, LogsTailSinceUntilAndAfterCursorReadTheJournal_Root) {
    runContainer("jq", {lineWriterPath(), "--lines", "100", "--width", "19"},
                 {"--log-driver", "journald"});
    journal_->journalctl({"-n", "0"});  // journald has written everything it was sent
    EXPECT_EQ(logs({"jq"}).out, numbered(0, 100));
    EXPECT_EQ(logs({"--tail", "10", "jq"}).out, numbered(90, 100));
    Output json = logs({"--format", "json", "jq"});
    auto lines = splitLines(json.out);
    ASSERT_EQ(lines.size(), 100u) << json.err;
    std::regex fields(R"re("time_ns":(\d+),"cursor":"(s=[^"]+)","sequence":\d+,"stream")re");
    std::vector<std::string> cursors, times;
    for (const auto& l : lines) {
        std::smatch m;
        ASSERT_TRUE(std::regex_search(l, m, fields)) << l;
        times.push_back(m[1]);
        cursors.push_back(m[2]);
    }
    EXPECT_EQ(logs({"--after-cursor", cursors[49], "jq"}).out, numbered(50, 100))
        << "journal cursors resume exactly";
    auto resumed = splitLines(logs({"--format", "json", "--after-cursor", cursors[49], "jq"}).out);
    EXPECT_EQ(resumed, std::vector<std::string>(lines.begin() + 50, lines.end()));
    // Times are the capture times (SYSLOG_TIMESTAMP), strictly increasing: ranges are exact.
    auto seconds = [](const std::string& t) {
        return t.substr(0, t.size() - 9) + "." + t.substr(t.size() - 9);
    };
    EXPECT_EQ(logs({"--since", seconds(times[20]), "--until", seconds(times[29]), "jq"}).out,
              numbered(20, 30));
    Output bad = logs({"--after-cursor", "s=0;i=0;b=0;m=0;t=0;x=0", "jq"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find("is not in the journal"), std::string::npos) << bad.err;
}

TEST_F(JournaldQuery, AFollowerOfAJournaldContainerGetsEveryLineExactlyOnce_Root) {
    Pipe p;
    attachPipe("jf", p, {}, "journald");
    EXPECT_TRUE(sameBytes(numbered(0, 20000), followWhileWriting(p, "jf", 1000, 20000)));
}

TEST_F(JournaldQuery, TheBusNamesEveryDriverAndLogsReadTheFirstThatCanBeRead_Root) {
    runContainer("two", {"/bin/sh", "-c", "echo one; echo two >&2"},
                 {"--log-driver", "journald", "--log-opt", "tag=t", "--log-driver", "k8s-file",
                  "--log-opt", "max-size=10k"});
    std::string object = "/org/ringlog/Log1/container/two";
    EXPECT_EQ(
        busctl({"get-property", "org.ringlog.Log1", object, "org.ringlog.Log1.Container", "Driver"})
            .out,
        "s \"journald,k8s-file\"\n");
    Output options = busctl({"get-property", "org.ringlog.Log1", object,
                             "org.ringlog.Log1.Container", "DriverOptions"});
    EXPECT_NE(options.out.find("\"tag\" \"t\""), std::string::npos) << options.out;
    EXPECT_NE(options.out.find("\"k8s-file/max-size\" \"10k\""), std::string::npos) << options.out;
    journal_->journalctl({"-n", "0"});  // journald has written everything it was sent
    EXPECT_EQ(logs({"-o", "raw", "two"}).out, "one\ntwo\n");
}

TEST_F(DbusApi, ReopenIsRootsAndSaysWhyItCannot_Root) {
    Pipe p;
    attachPipe("reopen-json", p);
    // The bus policy lets only root call it (ringlogd checks again).
    Output nobody = run({ringlogctlPath(), "reopen", "reopen-json"}, 65534, 65534);
    EXPECT_EQ(nobody.status, 1);
    EXPECT_EQ(nobody.err,
              "ringlogctl: only root may call Reopen (the system bus refused it): run "
              "it as root, e.g. with sudo\n");
    Output json_file = run({ringlogctlPath(), "reopen", "reopen-json"});
    EXPECT_EQ(json_file.status, 1);
    EXPECT_EQ(json_file.err,
              "ringlogctl: json-file: this log driver keeps no file that could be reopened\n");
    Output unknown = run({ringlogctlPath(), "reopen", "no-such"});
    EXPECT_EQ(unknown.err,
              "ringlogctl: no container \"no-such\" (`ringlogctl ps -a` lists the "
              "containers you may read)\n");
    p.closeWrite();
    ASSERT_TRUE(watcher_->waitFor("reopen-json"));
    Output exited = run({ringlogctlPath(), "reopen", "reopen-json"});
    EXPECT_EQ(exited.err,
              "ringlogctl: container reopen-json is not attached: no log file is being written "
              "that could be reopened\n");
}

}  // namespace
}  // namespace ringlog::test
