// The manager's methods for ringlogctl ps/inspect/stats/version and logs --grep: Inspect,
// DescribeDaemon, ambiguous id prefixes, and Query's grep. A real dbus-daemon with the project's
// policy file, the real ringlogd; calls as root through sdbus-c++, as other users through busctl.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bus_fixture.h"
#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

using Output = CommandOutput;

gid_t groupId(const char* name) {
    struct group* g = getgrnam(name);
    return g != nullptr ? g->gr_gid : static_cast<gid_t>(-1);
}

uint64_t realtimeUs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

class BusManager : public PrivateBusTest {
  public:  // expectGrepAnswers() asks too
    std::vector<std::string> daemonArgs() override { return {"--allowed-group", "nogroup"}; }

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

    // A container that wrote one line and exited: its json-file log is the test's to grow.
    void exitedContainer(const char* id) {
        Pipe p;
        attach(id, id, p);
        ASSERT_EQ(::write(p.write_fd, "first line\n", 11), 11);
        p.closeWrite();
        ASSERT_TRUE(waitForCounter(id, "ExitedAt", 1));
    }

    // Query(id, options): everything the pipe carried, to its end.
    std::string query(const std::string& id, const Dict& options) {
        sdbus::UnixFd fd;
        manager_->callMethod("Query")
            .onInterface("org.ringlog.Log1.Manager")
            .withArguments(id, options)
            .storeResultsTo(fd);
        std::string out;
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return out;
            out.append(buf, static_cast<size_t>(n));
        }
    }
    std::string queryError(const std::string& id, const Dict& options) {
        try {
            query(id, options);
        } catch (const sdbus::Error& e) {
            return e.getName() + ": " + e.getMessage();
        }
        return "no error";
    }
    static Dict grep(const std::string& pattern, Dict more = {}) {
        more["grep"] = pattern;
        return more;
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

    // busctl call on the manager.
    Output busctl(std::vector<std::string> args, int uid = -1, int gid = -1) {
        args.insert(args.begin(),
                    {"call", "org.ringlog.Log1", "/org/ringlog/Log1", "org.ringlog.Log1.Manager"});
        return PrivateBusTest::busctl(args, uid, gid);
    }
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
    attach("readable1", "open", mine, {"reader-groups=nogroup"});
    attach("unreadable1", "closed", theirs, {"reader-groups=staff"});
    int nogroup = static_cast<int>(groupId("nogroup"));
    Output ok = busctl({"Inspect", "s", "open"}, 65534, nogroup);
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_NE(ok.out.find("\"Id\" s \"readable1\""), std::string::npos) << ok.out;
    EXPECT_NE(ok.out.find("\"AttachedByUid\" u 0"), std::string::npos) << ok.out;
    Output denied = busctl({"Inspect", "s", "unreadable1"}, 65534, nogroup);
    EXPECT_EQ(denied.status, 1);
    EXPECT_EQ(denied.out, "");
    // As for a container that does not exist: a user learns nothing of it (docs/security.md).
    EXPECT_EQ(denied.err, "Call failed: no container \"unreadable1\"\n");
    EXPECT_EQ(inspectError("nosuch"), "org.ringlog.Log1.NoSuchContainer: no container \"nosuch\"");
}

// An id prefix that matches several containers names them; it resolves among the containers the
// caller may read only, so it tells nobody about others' containers.
TEST_F(BusManager, AnAmbiguousPrefixListsTheCandidatesTheCallerMayRead_Root) {
    Pipe web, db, hidden;
    attach("aaaa11112222aaaa", "web", web, {"reader-groups=nogroup"});
    attach("aaaa33334444bbbb", "db", db, {"reader-groups=nogroup"});
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
    EXPECT_EQ(options[""],
              (std::vector<std::string>{"mode", "max-buffer-size", "max-write-rate",
                                        "reader-groups", "push-users", "push-groups", "push-rate",
                                        "log-dir-max-files", "log-dir-max-rate"}));
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

constexpr const char* kAccessLog =
    "GET /index 200\n"
    "get /lower 200\n"
    "error: disk full\n"
    "POST /form 500\n"
    "ERROR: again\n"
    "nothing here\n"
    "Error mixed\n"
    "caf\xc3\xa9 \xff invalid utf-8 error\n";

// The grep cases every reader must answer alike. `last` is the access log's last line as the
// driver gives it back (json-file, as docker, stores invalid UTF-8 as U+FFFD; k8s-file as it is).
void expectGrepAnswers(BusManager& t, const std::string& id, const std::string& last) {
    auto with = [](const char* pattern, const char* key, sdbus::Variant v) {
        return BusManager::grep(pattern, {{key, std::move(v)}});
    };
    EXPECT_EQ(t.query(id, BusManager::grep("error")),
              "error: disk full\nERROR: again\nError mixed\n" + last)
        << "no uppercase: case-insensitive; a message with invalid UTF-8 still matches";
    EXPECT_EQ(t.query(id, BusManager::grep("Error")), "Error mixed\n")
        << "uppercase: case-sensitive";
    EXPECT_EQ(t.query(id, with("error", "case_sensitive", sdbus::Variant(true))),
              "error: disk full\n" + last);
    EXPECT_EQ(t.query(id, with("ERROR", "case_sensitive", sdbus::Variant(false))),
              "error: disk full\nERROR: again\nError mixed\n" + last);
    EXPECT_EQ(t.query(id, BusManager::grep("^(GET|POST) /\\w+ [0-9]{3}$")),
              "GET /index 200\nPOST /form 500\n");
    EXPECT_EQ(t.query(id, BusManager::grep("^caf\u00e9 ")), last) << "UTF-8 patterns";
    // journalctl -n 2 -g error: the last two records that match.
    EXPECT_EQ(t.query(id, with("error", "tail", sdbus::Variant(uint64_t{2}))),
              "Error mixed\n" + last);
    EXPECT_EQ(t.query(id, with("^error|^post", "tail", sdbus::Variant(uint64_t{2}))),
              "ERROR: again\nError mixed\n");
    EXPECT_EQ(t.query(id, with("no such text", "tail", sdbus::Variant(uint64_t{5}))), "");
    EXPECT_EQ(t.query(id, with("error", "tail", sdbus::Variant(uint64_t{0}))), "");
}

TEST_F(BusManager, GrepReturnsExactlyTheMatchingRecordsOfAJsonFileLog) {
    Pipe p;
    attach("grepjson", "grepjson", p);
    ASSERT_EQ(::write(p.write_fd, kAccessLog, std::strlen(kAccessLog)),
              static_cast<ssize_t>(std::strlen(kAccessLog)));
    ASSERT_TRUE(waitForCounter("grepjson", "LinesWritten", 8));
    expectGrepAnswers(*this, "grepjson", "caf\xc3\xa9 \xef\xbf\xbd invalid utf-8 error\n");
    std::string json =
        query("grepjson", grep("again", {{"format", sdbus::Variant(std::string("json"))}}));
    EXPECT_NE(json.find("\"message\":\"ERROR: again\",\"partial\":false}\n"), std::string::npos)
        << json;
    EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 1);
}

TEST_F(BusManager, GrepReturnsExactlyTheMatchingRecordsOfAK8sFileLog) {
    Pipe p;
    attach("grepk8s", "grepk8s", p, {}, nullptr, "k8s-file");
    ASSERT_EQ(::write(p.write_fd, kAccessLog, std::strlen(kAccessLog)),
              static_cast<ssize_t>(std::strlen(kAccessLog)));
    ASSERT_TRUE(waitForCounter("grepk8s", "LinesWritten", 8));
    expectGrepAnswers(*this, "grepk8s", "caf\xc3\xa9 \xff invalid utf-8 error\n");
}

// The same over journald containers: ringlogd and a private journald share a mount namespace.
class BusManagerJournald : public BusManager {
  public:
    void SetUp() override {
        journal_ = std::make_unique<Journald>(dir_.path() / "journal");
        BusManager::SetUp();
    }
    std::vector<std::string> wrapper() override { return journal_->inside(); }
    std::unique_ptr<Journald> journal_;
};

TEST_F(BusManagerJournald, GrepReturnsExactlyTheMatchingRecordsOfTheJournal_Root) {
    Pipe p;
    attach("grepjournal", "grepjournal", p, {}, nullptr, "journald");
    ASSERT_EQ(::write(p.write_fd, kAccessLog, std::strlen(kAccessLog)),
              static_cast<ssize_t>(std::strlen(kAccessLog)));
    ASSERT_TRUE(waitForCounter("grepjournal", "LinesWritten", 8));
    journal_->journalctl({"-n", "0"});  // journald has written everything it was sent
    expectGrepAnswers(*this, "grepjournal", "caf\xc3\xa9 \xff invalid utf-8 error\n");
}

// A line longer than max-line is kept as parts; k8s-file joins them back, and grep sees the line.
TEST_F(BusManager, GrepMatchesAK8sFileLineAcrossItsParts) {
    Pipe p;
    attach("grepparts", "grepparts", p, {}, nullptr, "k8s-file");
    std::string line = "start-" + std::string(40000, 'x') + "-needle-end\nother\n";
    ASSERT_EQ(::write(p.write_fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    ASSERT_TRUE(waitForCounter("grepparts", "LinesIn", 2));
    p.closeWrite();
    ASSERT_TRUE(waitForCounter("grepparts", "ExitedAt", 1));
    EXPECT_EQ(query("grepparts", grep("^start-x+-needle-end$")), line.substr(0, line.size() - 6));
    EXPECT_EQ(query("grepparts", grep("needle", {{"tail", sdbus::Variant(uint64_t{1})}})),
              line.substr(0, line.size() - 6));
}

TEST_F(BusManager, GrepErrorsNameTheOptionAndWhereThePatternIsWrong) {
    Pipe p;
    attach("greperr", "greperr", p);
    EXPECT_EQ(queryError("greperr", grep("foo(")),
              "org.freedesktop.DBus.Error.InvalidArgs: option \"grep\": bad pattern \"foo(\": "
              "missing closing parenthesis at offset 4");
    EXPECT_EQ(queryError("greperr", grep("a{2,1}")),
              "org.freedesktop.DBus.Error.InvalidArgs: option \"grep\": bad pattern \"a{2,1}\": "
              "numbers out of order in {} quantifier at offset 5");
    EXPECT_EQ(queryError("greperr", {{"grep", sdbus::Variant(uint64_t{1})}}),
              "org.freedesktop.DBus.Error.InvalidArgs: option \"grep\" must be a regular "
              "expression (s, PCRE2)");
    EXPECT_EQ(queryError("greperr", {{"bogus", sdbus::Variant(true)}}),
              "org.freedesktop.DBus.Error.InvalidArgs: unknown option \"bogus\" (known: since, "
              "until, tail, streams, format, follow, after_cursor, grep, case_sensitive)");
}

// The live side of a follow filters as the history does.
TEST_F(BusManager, AFollowerWithGrepGetsOnlyTheMatchingLiveRecords) {
    Pipe p;
    attach("grepfollow", "grepfollow", p);
    ASSERT_EQ(::write(p.write_fd, "old error\nold fine\n", 20), 20);
    ASSERT_TRUE(waitForCounter("grepfollow", "LinesWritten", 2));
    sdbus::UnixFd fd;
    manager_->callMethod("Query")
        .onInterface("org.ringlog.Log1.Manager")
        .withArguments(std::string("grepfollow"), grep("error", {{"follow", sdbus::Variant(true)}}))
        .storeResultsTo(fd);
    ASSERT_EQ(::write(p.write_fd, "new fine\nnew ERROR\nnew fine again\n", 35), 35);
    p.closeWrite();  // the follow ends after the container's last record
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    EXPECT_EQ(out, "old error\nnew ERROR\n");
}

// The size of a log a test writes by hand, in MiB: 1 GiB in optimised builds, `debug_mib` in a
// debug build, 64 MiB under ASan (which decodes slowest), or $env_var.
uint64_t bigLogMib(const char* env_var, [[maybe_unused]] uint64_t debug_mib) {
#if defined(__SANITIZE_ADDRESS__)
    uint64_t mib = 64;
#elif !defined(NDEBUG)
    uint64_t mib = debug_mib;
#else
    uint64_t mib = 1024;
#endif
    if (const char* e = std::getenv(env_var))
        mib = std::strtoull(e, nullptr, 10);
    return mib;
}

// journalctl -g over a large log, in the daemon: only the matches come through the pipe. The log
// is written by the test (docker's json-file records appended to a container's file), then one
// Query with grep reads all of it. 1 GiB (the debug build reads it in 15–40 s on a 2-core
// machine), 64 MiB under ASan; RINGLOG_TEST_GREP_MIB overrides.
TEST_F(BusManager, GrepOverAGigabyteLogShipsOnlyTheMatchesThroughThePipe) {
    uint64_t mib = bigLogMib("RINGLOG_TEST_GREP_MIB", 1024);
    ASSERT_NO_FATAL_FAILURE(exitedContainer("grepbig"));

    // Records of 128 bytes, in blocks of 1,000; the first record of every 100th block is a match:
    // one in 100,000.
    auto record = [](const std::string& message) {
        std::string r =
            "{\"log\":\"" + message +
            "\\n\",\"stream\":\"stdout\",\"time\":\"2030-01-01T00:00:00.000000000Z\"}\n";
        return r;
    };
    std::string filler = record("filler line " + std::string(36, '.') + " 00000000");
    ASSERT_EQ(filler.size(), 128u);
    std::string block;
    for (int i = 0; i < 1000; ++i)
        block += filler;
    const uint64_t blocks = mib * (1 << 20) / block.size();
    std::string expected;
    auto started = std::chrono::steady_clock::now();
    {
        int fd = ::open((d_->logRoot() / "grepbig" / "grepbig-json.log").c_str(),
                        O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        std::string chunk;
        for (uint64_t b = 0; b < blocks; ++b) {
            if (b % 100 == 0) {
                char number[24];
                std::snprintf(number, sizeof number, "%08llu",
                              static_cast<unsigned long long>(b / 100));
                std::string message = "NEEDLE line " + std::string(36, '.') + " " + number;
                std::string match = record(message);
                ASSERT_EQ(match.size(), 128u);
                expected += message + "\n";
                chunk += match;
                chunk.append(block, 128);
            } else {
                chunk += block;
            }
            if (chunk.size() >= (8u << 20) || b + 1 == blocks) {
                ASSERT_EQ(::write(fd, chunk.data(), chunk.size()),
                          static_cast<ssize_t>(chunk.size()));
                chunk.clear();
            }
        }
        ::close(fd);
    }
    double write_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    started = std::chrono::steady_clock::now();
    std::string got = query("grepbig", grep("needle line \\.+ \\d{8}$"));
    double query_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(got.size(), expected.size()) << "bytes through the pipe: the matches only";
    EXPECT_TRUE(got == expected) << "the matching records, exactly and in order";
    std::string figures = std::to_string(blocks * block.size() >> 20) + " MiB log, " +
                          std::to_string(expected.size()) + " bytes matched, written in " +
                          std::to_string(write_s) + " s, grep query " + std::to_string(query_s) +
                          " s";
    RecordProperty("grep_gigabyte", figures);
    std::printf("[ figures  ] %s\n", figures.c_str());
}

// A Query's scan of history is bounded per event-loop turn by what it reads, not only by what it
// writes (docs/dbus.md, Costs): while a grep that matches nothing reads a large log, the loop goes
// on ingesting other containers. Another container's lines reach its follower within 500 ms of
// being written, all through a scan of several seconds (128 MiB in the debug build, which reads
// about 40 MB/s, 64 MiB under ASan; RINGLOG_TEST_SCAN_MIB overrides).
TEST_F(BusManager, AGrepScanningALargeLogDoesNotHoldUpAnotherContainersLines) {
    uint64_t mib = bigLogMib("RINGLOG_TEST_SCAN_MIB", 128);
    ASSERT_NO_FATAL_FAILURE(exitedContainer("scanbig"));
    {
        // Docker's json-file records of 128 bytes, none of which the grep matches.
        std::string record =
            "{\"log\":\"filler line " + std::string(36, '.') +
            " 00000000\\n\",\"stream\":\"stdout\",\"time\":\"2030-01-01T00:00:00.000000000Z\"}\n";
        ASSERT_EQ(record.size(), 128u);
        std::string chunk;
        for (size_t i = 0; i < (8u << 20) / record.size(); ++i)
            chunk += record;
        int fd = ::open((d_->logRoot() / "scanbig" / "scanbig-json.log").c_str(),
                        O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        for (uint64_t written = 0; written < (mib << 20); written += chunk.size())
            ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
        ::close(fd);
    }

    Pipe live;
    attach("scanlive", "scanlive", live);
    sdbus::UnixFd follower;
    manager_->callMethod("Query")
        .onInterface("org.ringlog.Log1.Manager")
        .withArguments(std::string("scanlive"), Dict{{"follow", sdbus::Variant(true)}})
        .storeResultsTo(follower);
    ASSERT_EQ(::write(live.write_fd, "ready\n", 6), 6);
    ASSERT_EQ(readLine(follower.get()), "ready\n");

    sdbus::UnixFd scan;
    manager_->callMethod("Query")
        .onInterface("org.ringlog.Log1.Manager")
        .withArguments(std::string("scanbig"), grep("^never matches$"))
        .storeResultsTo(scan);
    auto started = std::chrono::steady_clock::now();
    // The scan's end is its pipe's end; meanwhile a line every 50 ms, each timed to its follower.
    std::vector<double> latencies_ms;
    std::string scanned;
    for (int i = 0;; ++i) {
        struct pollfd pfd {
            scan.get(), POLLIN, 0
        };
        if (::poll(&pfd, 1, 50) > 0) {
            char buf[4096];
            ssize_t n = ::read(scan.get(), buf, sizeof buf);
            if (n <= 0)
                break;
            scanned.append(buf, static_cast<size_t>(n));
            continue;
        }
        std::string line = "live " + std::to_string(i) + "\n";
        auto written = std::chrono::steady_clock::now();
        ASSERT_EQ(::write(live.write_fd, line.data(), line.size()),
                  static_cast<ssize_t>(line.size()));
        ASSERT_EQ(readSome(follower.get(), line.size(), 30000, true), line);
        latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - written)
                .count());
    }
    double scan_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(scanned, "");
    ASSERT_FALSE(latencies_ms.empty());
    double worst = *std::max_element(latencies_ms.begin(), latencies_ms.end());
    std::string figures = std::to_string(mib) + " MiB scanned in " + std::to_string(scan_s) +
                          " s; " + std::to_string(latencies_ms.size()) +
                          " lines of another container, the slowest to its follower in " +
                          std::to_string(worst) + " ms";
    RecordProperty("scan_latency", figures);
    std::printf("[ figures  ] %s\n", figures.c_str());
    EXPECT_LT(worst, 500.0) << "another container's line waited for the scan";
    EXPECT_GT(scan_s, 1.0) << "the scan was too short to tell";
}

}  // namespace
}  // namespace ringlog::test
