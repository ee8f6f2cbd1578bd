// The manager's methods for ringlogctl ps/inspect/stats/version and logs --grep: Inspect,
// DescribeDaemon, ambiguous id prefixes, and Query's grep. A real dbus-daemon with the project's
// policy file, the real ringlogd; calls as root through sdbus-c++, as other users through busctl.
#include <grp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

using Dict = std::map<std::string, sdbus::Variant>;

struct Output {
    int status = -1;
    std::string out, err;
};

gid_t groupId(const char* name) {
    struct group* g = getgrnam(name);
    return g != nullptr ? g->gr_gid : static_cast<gid_t>(-1);
}

uint64_t realtimeUs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

class BusManager : public ::testing::Test {
  protected:
    void SetUp() override {
        bus_ = std::make_unique<DbusDaemon>(dir_.path() / "bus");
        env_ = {{"DBUS_SYSTEM_BUS_ADDRESS", bus_->address()}};
        setenv("DBUS_SYSTEM_BUS_ADDRESS", bus_->address().c_str(), 1);
        d_ = std::make_unique<Daemon>(
            dir_.path() / "d",
            std::vector<std::string>{"--dbus", "yes", "--allowed-group", "nogroup"}, env_);
        signals_ = sdbus::createSystemBusConnection();
        signals_->enterEventLoopAsync();
        calls_ = sdbus::createSystemBusConnection();
        manager_ = sdbus::createProxy(*calls_, "org.ringlog.Log1", "/org/ringlog/Log1");
    }
    void TearDown() override {
        d_.reset();
        watchers_.clear();
        signals_->leaveEventLoop();
        manager_.reset();
        calls_.reset();
        signals_.reset();
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    }

    // Attaches a container whose stdout the test writes.
    void attach(const char* id, const char* name, Pipe& p, std::vector<const char*> opts = {},
                const char* max_buffer_size = nullptr, const char* driver = nullptr) {
        opts.push_back(nullptr);
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = id;
        a.name = name;
        a.image = "img:1";
        a.driver = driver;
        a.log_opts = opts.data();
        a.max_buffer_size = max_buffer_size;
        a.stdout_fd = p.read_fd;
        char err[256];
        ASSERT_EQ(ringlog_attach_send(d_->socket().c_str(), &a, err, sizeof err), 0) << err;
        p.closeRead();
    }

    Dict inspect(const std::string& id_or_name) {
        Dict out;
        manager_->callMethod("Inspect")
            .onInterface("org.ringlog.Log1.Manager")
            .withArguments(id_or_name)
            .storeResultsTo(out);
        return out;
    }
    // The error's name and message, or "no error".
    std::string inspectError(const std::string& id_or_name) {
        try {
            inspect(id_or_name);
        } catch (const sdbus::Error& e) {
            return e.getName() + ": " + e.getMessage();
        }
        return "no error";
    }

    Output busctl(std::vector<std::string> args, int uid = -1, int gid = -1) {
        static int n = 0;
        std::string out = (dir_.path() / ("busctl" + std::to_string(++n))).string();
        args.insert(args.begin(),
                    {"/usr/bin/busctl", "--address=" + bus_->address(), "call", "org.ringlog.Log1",
                     "/org/ringlog/Log1", "org.ringlog.Log1.Manager"});
        SpawnOptions o;
        o.stdout_file = out;
        o.stderr_file = out + ".err";
        o.env = env_;
        o.uid = uid;
        o.gid = gid;
        Output r;
        r.status = spawn(args, o).wait();
        r.out = readFile(out);
        r.err = readFile(out + ".err");
        return r;
    }

    // Waits (on PropertiesChanged, at most once a second) until a counter of the container reaches
    // `value`; false after 30 s.
    bool waitForCounter(const std::string& id, const std::string& counter, uint64_t value) {
        struct State {
            std::mutex mutex;
            std::condition_variable cv;
            uint64_t seen = 0;
        };
        auto state = std::make_shared<State>();
        auto proxy =
            sdbus::createProxy(*signals_, "org.ringlog.Log1", "/org/ringlog/Log1/container/" + id);
        proxy->uponSignal("PropertiesChanged")
            .onInterface("org.freedesktop.DBus.Properties")
            .call([state, counter](const std::string&, const Dict& changed,
                                   const std::vector<std::string>&) {
                auto it = changed.find(counter);
                if (it == changed.end())
                    return;
                std::lock_guard lock(state->mutex);
                state->seen = it->second.get<uint64_t>();
                state->cv.notify_all();
            });
        proxy->finishRegistration();
        // It may have got there before we listened.
        if (inspect(id).at(counter).get<uint64_t>() >= value)
            return true;
        std::unique_lock lock(state->mutex);
        bool reached = state->cv.wait_for(lock, std::chrono::seconds(30),
                                          [&] { return state->seen >= value; });
        lock.unlock();
        watchers_.push_back(std::move(proxy));
        return reached;
    }

    TempDir dir_;
    std::unique_ptr<DbusDaemon> bus_;
    std::map<std::string, std::string> env_;
    std::unique_ptr<Daemon> d_;
    std::unique_ptr<sdbus::IConnection> signals_, calls_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::vector<std::unique_ptr<sdbus::IProxy>> watchers_;
};

TEST_F(BusManager, InspectGivesEveryKeyOfAnAttachedContainerWithItsExactValues) {
    uint64_t before = realtimeUs();
    Pipe p;
    attach("inspect0123456789", "web", p, {"max-size=10m", "log-driver=k8s-file", "max-size=5k"},
           "2m", "json-file");
    uint64_t after = realtimeUs();
    ASSERT_EQ(::write(p.write_fd, "one\ntwo\nthree\n", 14), 14);
    ASSERT_TRUE(waitForCounter("inspect0123456789", "LinesWritten", 3));

    Dict c = inspect("web");
    std::vector<std::string> keys;
    for (const auto& [key, value] : c)
        keys.push_back(key);
    EXPECT_EQ(keys,
              (std::vector<std::string>{
                  "AttachedAt",    "AttachedByUid", "BytesDropped", "BytesIn",    "Driver",
                  "DriverOptions", "ExitedAt",      "Id",           "Image",      "Labels",
                  "LastError",     "LastErrorAt",   "LinesDropped", "LinesIn",    "LinesSplit",
                  "LinesWritten",  "Mode",          "Name",         "ObjectPath", "RingBytesSize",
                  "RingBytesUsed", "State",         "WriteFailures"}));
    EXPECT_EQ(c["Id"].get<std::string>(), "inspect0123456789");
    EXPECT_EQ(c["Name"].get<std::string>(), "web");
    EXPECT_EQ(c["Image"].get<std::string>(), "img:1");
    EXPECT_TRUE((c["Labels"].get<std::map<std::string, std::string>>().empty()));
    EXPECT_EQ(c["Driver"].get<std::string>(), "json-file,k8s-file");
    auto options = c["DriverOptions"].get<std::map<std::string, std::string>>();
    EXPECT_EQ(options["max-size"], "10m");
    EXPECT_EQ(options["k8s-file/max-size"], "5k");
    EXPECT_EQ(c["Mode"].get<std::string>(), "blocking");
    EXPECT_EQ(c["State"].get<std::string>(), "attached");
    EXPECT_EQ(c["LastError"].get<std::string>(), "");
    EXPECT_EQ(c["LastErrorAt"].get<uint64_t>(), 0u);
    EXPECT_GE(c["AttachedAt"].get<uint64_t>(), before);
    EXPECT_LE(c["AttachedAt"].get<uint64_t>(), after);
    EXPECT_EQ(c["ExitedAt"].get<uint64_t>(), 0u);
    EXPECT_EQ(c["LinesIn"].get<uint64_t>(), 3u);
    EXPECT_EQ(c["BytesIn"].get<uint64_t>(), 14u);
    EXPECT_EQ(c["LinesDropped"].get<uint64_t>(), 0u);
    EXPECT_EQ(c["BytesDropped"].get<uint64_t>(), 0u);
    EXPECT_EQ(c["LinesWritten"].get<uint64_t>(), 3u);
    EXPECT_EQ(c["LinesSplit"].get<uint64_t>(), 0u);
    EXPECT_EQ(c["WriteFailures"].get<uint64_t>(), 0u);
    EXPECT_EQ(c["RingBytesUsed"].get<uint64_t>(), 0u) << "all of it is persisted";
    EXPECT_EQ(c["RingBytesSize"].get<uint64_t>(), 2u << 20);
    EXPECT_EQ(c["AttachedByUid"].get<uint32_t>(), 0u);
    EXPECT_EQ(c["ObjectPath"].get<sdbus::ObjectPath>(),
              "/org/ringlog/Log1/container/inspect0123456789");

    // Once it exits.
    p.closeWrite();
    ASSERT_TRUE(waitForCounter("inspect0123456789", "ExitedAt", 1));
    Dict exited = inspect("inspect0123456789");
    EXPECT_EQ(exited["State"].get<std::string>(), "exited");
    EXPECT_GE(exited["ExitedAt"].get<uint64_t>(), after);
    EXPECT_EQ(exited["LinesWritten"].get<uint64_t>(), 3u);
}

// Records wait in the ring while the write rate holds them back: RingBytesUsed counts them, each
// a 40-byte header and its message padded to 8 bytes.
TEST_F(BusManager, InspectCountsTheBytesWaitingInTheRing) {
    Pipe p;
    attach("held", "held", p, {"max-write-rate=1"});
    ASSERT_EQ(::write(p.write_fd, "first\n", 6), 6);
    ASSERT_TRUE(waitForCounter("held", "LinesWritten", 1));
    // The first batch put the rate limit a long way into debt: these wait.
    std::string lines;
    for (int i = 0; i < 100; ++i)
        lines += "waiting-line-" + std::to_string(1000 + i) + "\n";  // 17 bytes: 24 in the ring
    ASSERT_EQ(::write(p.write_fd, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
    ASSERT_TRUE(waitForCounter("held", "LinesIn", 101));
    Dict c = inspect("held");
    EXPECT_EQ(c["LinesWritten"].get<uint64_t>(), 1u);
    EXPECT_EQ(c["RingBytesUsed"].get<uint64_t>(), 100u * (40 + 24));
    EXPECT_EQ(c["RingBytesSize"].get<uint64_t>(), 1u << 20) << "the default max-buffer-size";
}

TEST_F(BusManager, InspectIsForWhoMayReadTheContainer_Root) {
    Pipe mine, theirs;
    attach("readable1", "open", mine);
    attach("unreadable1", "closed", theirs, {"reader-groups=staff"});
    int nogroup = static_cast<int>(groupId("nogroup"));
    Output ok = busctl({"Inspect", "s", "open"}, 65534, nogroup);
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_NE(ok.out.find("\"Id\" s \"readable1\""), std::string::npos) << ok.out;
    EXPECT_NE(ok.out.find("\"AttachedByUid\" u 0"), std::string::npos) << ok.out;
    Output denied = busctl({"Inspect", "s", "unreadable1"}, 65534, nogroup);
    EXPECT_EQ(denied.status, 1);
    EXPECT_EQ(denied.out, "");
    EXPECT_EQ(denied.err, "Call failed: Access denied\n");  // busctl's words for AccessDenied
    EXPECT_EQ(inspectError("nosuch"), "org.ringlog.Log1.NoSuchContainer: no container \"nosuch\"");
}

// An id prefix that matches several containers names them; it resolves among the containers the
// caller may read only, so it tells nobody about others' containers.
TEST_F(BusManager, AnAmbiguousPrefixListsTheCandidatesTheCallerMayRead_Root) {
    Pipe web, db, hidden;
    attach("aaaa11112222aaaa", "web", web);
    attach("aaaa33334444bbbb", "db", db);
    attach("aaaa55556666cccc", "hidden", hidden, {"reader-groups=staff"});
    EXPECT_EQ(inspectError("aaaa"),
              "org.ringlog.Log1.NoSuchContainer: \"aaaa\" matches 3 containers: aaaa11112222 "
              "(web), aaaa33334444 (db), aaaa55556666 (hidden); give more of the id or the name");
    EXPECT_EQ(inspect("aaaa3")["Name"].get<std::string>(), "db");
    EXPECT_EQ(inspectError("zzzz"), "org.ringlog.Log1.NoSuchContainer: no container \"zzzz\"");

    int nogroup = static_cast<int>(groupId("nogroup"));
    int staff = static_cast<int>(groupId("staff"));
    for (const char* method : {"GetContainer", "Inspect"}) {
        Output user = busctl({method, "s", "aaaa"}, 65534, nogroup);
        EXPECT_EQ(user.err,
                  "Call failed: \"aaaa\" matches 2 containers: aaaa11112222 (web), aaaa33334444 "
                  "(db); give more of the id or the name\n")
            << method;
    }
    Output query = busctl({"Query", "sa{sv}", "aaaa", "0"}, 65534, nogroup);
    EXPECT_EQ(query.err,
              "Call failed: \"aaaa\" matches 2 containers: aaaa11112222 (web), aaaa33334444 "
              "(db); give more of the id or the name\n");
    EXPECT_EQ(busctl({"GetContainer", "s", "aaaa5"}, 65534, nogroup).err,
              "Call failed: no container \"aaaa5\"\n")
        << "a prefix of a container one may not read matches nothing";
    Output staff_member = busctl({"GetContainer", "s", "aaaa"}, 65534, staff);
    EXPECT_EQ(staff_member.out, "o \"/org/ringlog/Log1/container/aaaa55556666cccc\"\n")
        << staff_member.err;

    Output detach = busctl({"Detach", "s", "aaaa"});
    EXPECT_EQ(detach.err,
              "Call failed: \"aaaa\" matches 3 containers: aaaa11112222 (web), aaaa33334444 "
              "(db), aaaa55556666 (hidden); give more of the id or the name\n");
    Output reopen = busctl({"Reopen", "s", "aaaa"});
    EXPECT_EQ(reopen.err, detach.err);
}

TEST_F(BusManager, DescribeDaemonNamesTheVersionDriversAndTheirOptionsToAnyone_Root) {
    Dict d;
    manager_->callMethod("DescribeDaemon")
        .onInterface("org.ringlog.Log1.Manager")
        .storeResultsTo(d);
    {
        SpawnOptions o;
        o.stdout_file = (dir_.path() / "version").string();
        ASSERT_EQ(spawn({ringlogdPath(), "--version"}, o).wait(), 0);
    }
    EXPECT_EQ("ringlogd " + d["Version"].get<std::string>() + "\n",
              readFile(dir_.path() / "version"));
    EXPECT_EQ(d["ProtocolVersion"].get<uint32_t>(),
              static_cast<uint32_t>(RINGLOG_PROTOCOL_VERSION));
    EXPECT_EQ(d["Drivers"].get<std::vector<std::string>>(),
              (std::vector<std::string>{"json-file", "journald", "k8s-file", "none", "syslog"}));
    EXPECT_EQ(d["DefaultDriver"].get<std::string>(), "json-file");
    auto options = d["LogOptions"].get<std::map<std::string, std::vector<std::string>>>();
    std::vector<std::string> keys;
    for (const auto& [key, value] : options)
        keys.push_back(key);
    EXPECT_EQ(keys, (std::vector<std::string>{"", "journald", "json-file", "k8s-file", "none",
                                              "syslog"}));
    EXPECT_EQ(options[""], (std::vector<std::string>{"mode", "max-buffer-size", "max-write-rate",
                                                     "reader-groups"}));
    auto has = [&](const std::string& driver, const std::string& key) {
        const auto& v = options[driver];
        return std::find(v.begin(), v.end(), key) != v.end();
    };
    EXPECT_TRUE(has("json-file", "max-size"));
    EXPECT_TRUE(has("json-file", "compress"));
    EXPECT_TRUE(has("journald", "tag"));
    EXPECT_TRUE(has("syslog", "syslog-address"));
    EXPECT_FALSE(has("json-file", "mode")) << "the daemon's options are under \"\" only";

    Output nobody = busctl({"DescribeDaemon"}, 65534, 65534);
    EXPECT_EQ(nobody.status, 0) << nobody.err;
    EXPECT_NE(nobody.out.find("\"DefaultDriver\" s \"json-file\""), std::string::npos)
        << nobody.out;
}

}  // namespace
}  // namespace ringlog::test
