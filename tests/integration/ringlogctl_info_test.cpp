// ringlogctl's listing commands against the real ringlogd on a private bus: ps, inspect,
// stats --no-stream, detach and version, with their exact output, on three containers: web
// (running, a label), db (exited) and cache (non-blocking, dropping: a tiny ring whose driver the
// write rate holds back).
#include <grp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bus_fixture.h"
#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

using Output = CommandOutput;

const std::string kWeb = "a1b2c3d4e5f6" + std::string(52, '0');
const std::string kDb = "a1b9e8d7c6b5" + std::string(52, '1');
const std::string kCache = "c4c4c4c4c4c4" + std::string(52, '2');

class RinglogctlInfo : public PrivateBusTest {
  protected:
    // The containers' readers: root and the group nogroup (the status test reads as nobody).
    std::vector<std::string> daemonArgs() override { return {"--allowed-group", "nogroup"}; }

    void attach(const std::string& id, const char* name, const char* image, Pipe& p,
                std::vector<const char*> opts = {}, std::vector<const char*> labels = {},
                const char* max_buffer_size = nullptr) {
        opts.push_back(nullptr);
        labels.push_back(nullptr);
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = id.c_str();
        a.name = name;
        a.image = image;
        a.labels = labels.data();
        a.log_opts = opts.data();
        a.max_buffer_size = max_buffer_size;
        a.stdout_fd = p.read_fd;
        char err[256];
        ASSERT_EQ(ringlog_attach_send(d_->socket().c_str(), &a, err, sizeof err), 0) << err;
        p.closeRead();
    }

    // web: 2 lines written; db: 1 line, exited; cache: a 2000-byte line written, which puts its
    // 1-byte/s write rate 2000 s into debt, then 3000 lines into a 64 KiB non-blocking ring:
    // most are dropped, the rest wait.
    // `readers`: log options for who else may read them (by default root and the attacher).
    void threeContainers(std::vector<const char*> readers = {}) {
        auto with = [&](std::vector<const char*> opts) {
            opts.insert(opts.end(), readers.begin(), readers.end());
            return opts;
        };
        attach(kWeb, "web", "nginx:1", web_, with({}), {"tier=front"});
        ASSERT_EQ(::write(web_.write_fd, "hello\nworld\n", 12), 12);
        ASSERT_TRUE(waitForCounter(kWeb, "LinesWritten", 2));
        attach(kDb, "db", "postgres:16", db_, with({}));
        ASSERT_EQ(::write(db_.write_fd, "ready\n", 6), 6);
        db_.closeWrite();
        ASSERT_TRUE(waitForCounter(kDb, "ExitedAt", 1));
        attach(kCache, "cache", "redis:7", cache_, with({"mode=non-blocking", "max-write-rate=1"}),
               {}, "64k");
        std::string first(1999, 'x');
        first += '\n';
        ASSERT_EQ(::write(cache_.write_fd, first.data(), first.size()),
                  static_cast<ssize_t>(first.size()));
        ASSERT_TRUE(waitForCounter(kCache, "LinesWritten", 1));
        std::string lines;
        for (int i = 0; i < 3000; ++i)
            lines += "cache-line-" + std::to_string(100000 + i) + "\n";  // 18 bytes
        ASSERT_EQ(::write(cache_.write_fd, lines.data(), lines.size()),
                  static_cast<ssize_t>(lines.size()));
        ASSERT_TRUE(waitForCounter(kCache, "LinesIn", 3001));
        Dict cache = inspect(kCache);
        ASSERT_GT(cache["LinesDropped"].get<uint64_t>(), 0u);
        // "Up 5 minutes" and "Exited 5 minutes ago": now is 300 s after the last of them.
        uint64_t last = std::max({inspect(kWeb)["AttachedAt"].get<uint64_t>(),
                                  inspect(kDb)["ExitedAt"].get<uint64_t>(),
                                  cache["AttachedAt"].get<uint64_t>()});
        now_ = std::to_string(last + 300'000'000);
    }

    uint64_t counter(const std::string& id, const char* key) {
        return inspect(id).at(key).get<uint64_t>();
    }

    Output ctl(std::vector<std::string> args, int uid = -1, int gid = -1) {
        args.insert(args.begin(), ringlogctlPath());
        std::map<std::string, std::string> env = env_;
        if (!now_.empty())
            env["RINGLOGCTL_NOW"] = now_;
        return runCaptured(dir_.path(), args, env, uid, gid);
    }

    std::string ringlogdVersion() {
        SpawnOptions o;
        o.stdout_file = (dir_.path() / "version").string();
        spawn({ringlogdPath(), "--version"}, o).wait();
        std::string v = readFile(dir_.path() / "version");  // "ringlogd X.Y.Z\n"
        return v.substr(9, v.size() - 10);
    }

    Pipe web_, db_, cache_;
    std::string now_;
};

TEST_F(RinglogctlInfo, PsListsTheRunningContainersNewestFirstAsDockerPs) {
    threeContainers();
    Output ps = ctl({"ps"});
    EXPECT_EQ(ps.status, 0) << ps.err;
    EXPECT_EQ(ps.out,
              "CONTAINER ID   IMAGE     DRIVER      MODE           STATUS         NAMES\n"
              "c4c4c4c4c4c4   redis:7   json-file   non-blocking   Up 5 minutes   cache\n"
              "a1b2c3d4e5f6   nginx:1   json-file   blocking       Up 5 minutes   web\n");
    EXPECT_EQ(ps.err, "");

    Output all = ctl({"ps", "-a"});
    EXPECT_EQ(
        all.out,
        "CONTAINER ID   IMAGE         DRIVER      MODE           STATUS                 NAMES\n"
        "c4c4c4c4c4c4   redis:7       json-file   non-blocking   Up 5 minutes           cache\n"
        "a1b9e8d7c6b5   postgres:16   json-file   blocking       Exited 5 minutes ago   db\n"
        "a1b2c3d4e5f6   nginx:1       json-file   blocking       Up 5 minutes           web\n");

    EXPECT_EQ(ctl({"ps", "-q"}).out, "c4c4c4c4c4c4\na1b2c3d4e5f6\n");
    EXPECT_EQ(ctl({"ps", "-a", "-q", "--no-trunc"}).out, kCache + "\n" + kDb + "\n" + kWeb + "\n");
}

// go-units' HumanDuration, as docker ps words STATUS: seconds and minutes truncated, hours and
// longer rounded.
TEST_F(RinglogctlInfo, PsWordsHowLongAsDockerDoes) {
    threeContainers();
    uint64_t attached = inspect(kWeb)["AttachedAt"].get<uint64_t>();
    constexpr uint64_t s = 1'000'000, m = 60 * s, h = 60 * m, d = 24 * h;
    const std::vector<std::pair<uint64_t, std::string>> cases = {{0, "Up Less than a second"},
                                                                 {s - 1, "Up Less than a second"},
                                                                 {s, "Up 1 second"},
                                                                 {59 * s, "Up 59 seconds"},
                                                                 {60 * s, "Up About a minute"},
                                                                 {119 * s, "Up About a minute"},
                                                                 {2 * m, "Up 2 minutes"},
                                                                 {59 * m + 59 * s, "Up 59 minutes"},
                                                                 {h, "Up About an hour"},
                                                                 {h + 29 * m, "Up About an hour"},
                                                                 {h + 30 * m, "Up 2 hours"},
                                                                 {47 * h, "Up 47 hours"},
                                                                 {47 * h + 30 * m, "Up 2 days"},
                                                                 {13 * d + 13 * h, "Up 14 days"},
                                                                 {14 * d, "Up 2 weeks"},
                                                                 {59 * d, "Up 8 weeks"},
                                                                 {60 * d, "Up 2 months"},
                                                                 {729 * d, "Up 24 months"},
                                                                 {730 * d, "Up 2 years"},
                                                                 {1000 * d, "Up 3 years"}};
    for (const auto& [after, status] : cases) {
        now_ = std::to_string(attached + after);
        std::string out = ctl({"ps", "--format", "{{.Names}}: {{.Status}}"}).out;
        size_t web = out.find("web: ");
        ASSERT_NE(web, std::string::npos) << out;
        EXPECT_EQ(out.substr(web), "web: " + status + "\n") << after;
    }
}

TEST_F(RinglogctlInfo, PsFormatsWithDockersTemplateNamesAndAsJson) {
    threeContainers();
    uint64_t dropped = counter(kCache, "LinesDropped");
    Output f = ctl({"ps", "--format", "{{.Names}}\\t{{.State}}\\t{{.LinesIn}}/{{.LinesDropped}}"});
    EXPECT_EQ(f.status, 0) << f.err;
    EXPECT_EQ(f.out, "cache\tattached\t3001/" + std::to_string(dropped) + "\nweb\tattached\t2/0\n");

    Output table =
        ctl({"ps", "-a", "--format", "table {{.Names}}\\t{{.Label \"tier\"}}\\t{{.Labels}}"});
    EXPECT_EQ(table.out,
              "NAMES     LABEL     LABELS\n"
              "cache               \n"
              "db                  \n"
              "web       front     tier=front\n");

    Output json = ctl({"ps", "--format", "json"});
    std::vector<std::string> lines = splitLines(json.out);
    ASSERT_EQ(lines.size(), 2u) << json.out;
    nlohmann::json web = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(web["ID"], "a1b2c3d4e5f6");
    EXPECT_EQ(web["Names"], "web");
    EXPECT_EQ(web["Image"], "nginx:1");
    EXPECT_EQ(web["Status"], "Up 5 minutes");
    EXPECT_EQ(web["State"], "attached");
    EXPECT_EQ(web["Labels"], "tier=front");
    EXPECT_EQ(web["LinesIn"], "2") << "every value a string, as docker ps --format json";
    EXPECT_EQ(web["RunningFor"], "5 minutes ago");
    EXPECT_EQ(nlohmann::json::parse(lines[0])["Names"], "cache");

    Output unknown = ctl({"ps", "--format", "{{.Names}} {{.Ports}}"});
    EXPECT_EQ(unknown.status, 125);
    EXPECT_EQ(unknown.out, "");
    EXPECT_EQ(unknown.err,
              "ringlogctl: --format: unknown field \"Ports\" (known: ID, Image, Status, State, "
              "Names, Labels, Label, RunningFor, CreatedAt, Driver, Mode, LinesIn, BytesIn, "
              "LinesDropped, BytesDropped, LinesWritten, WriteFailures)\n");
}

TEST_F(RinglogctlInfo, InspectPrintsEveryKeyAsJsonAndNamesTheContainersItCannotFind) {
    threeContainers();
    Dict web = inspect("web");
    Dict db = inspect("db");
    auto time = [](const Dict& c, const char* key) {
        // RFC 3339 in UTC with microseconds.
        uint64_t us = c.at(key).get<uint64_t>();
        time_t s = static_cast<time_t>(us / 1'000'000);
        struct tm tm;
        gmtime_r(&s, &tm);
        char date[32], buf[64];
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(buf, sizeof buf, "%s.%06lluZ", date,
                      static_cast<unsigned long long>(us % 1'000'000));
        return std::string(buf);
    };
    Output out = ctl({"inspect", "web", "nosuch", "db"});
    EXPECT_EQ(out.status, 1);
    EXPECT_EQ(out.err,
              "ringlogctl: no container \"nosuch\" (`ringlogctl ps -a` lists the containers you "
              "may read)\n");
    auto options = [](const Dict& c) {
        return nlohmann::json(c.at("DriverOptions").get<std::map<std::string, std::string>>());
    };
    nlohmann::ordered_json expected = nlohmann::ordered_json::array();
    expected.push_back({{"AttachedAt", time(web, "AttachedAt")},
                        {"AttachedByUid", 0},
                        {"BytesDropped", 0},
                        {"BytesIn", 12},
                        {"Driver", "json-file"},
                        {"DriverOptions", options(web)},
                        {"ExitedAt", "0001-01-01T00:00:00Z"},
                        {"Id", kWeb},
                        {"Image", "nginx:1"},
                        {"Labels", {{"tier", "front"}}},
                        {"LastError", ""},
                        {"LastErrorAt", "0001-01-01T00:00:00Z"},
                        {"LinesDropped", 0},
                        {"LinesIn", 2},
                        {"LinesSplit", 0},
                        {"LinesWritten", 2},
                        {"Mode", "blocking"},
                        {"Name", "web"},
                        {"ObjectPath", "/org/ringlog/Log1/container/" + kWeb},
                        {"RingBytesSize", 1048576},
                        {"RingBytesUsed", 0},
                        {"State", "attached"},
                        {"WriteFailures", 0}});
    expected.push_back({{"AttachedAt", time(db, "AttachedAt")},
                        {"AttachedByUid", 0},
                        {"BytesDropped", 0},
                        {"BytesIn", 6},
                        {"Driver", "json-file"},
                        {"DriverOptions", options(db)},
                        {"ExitedAt", time(db, "ExitedAt")},
                        {"Id", kDb},
                        {"Image", "postgres:16"},
                        {"Labels", nlohmann::json::object()},
                        {"LastError", ""},
                        {"LastErrorAt", "0001-01-01T00:00:00Z"},
                        {"LinesDropped", 0},
                        {"LinesIn", 1},
                        {"LinesSplit", 0},
                        {"LinesWritten", 1},
                        {"Mode", "blocking"},
                        {"Name", "db"},
                        {"ObjectPath", "/org/ringlog/Log1/container/" + kDb},
                        {"RingBytesSize", 1048576},
                        {"RingBytesUsed", 0},
                        {"State", "exited"},
                        {"WriteFailures", 0}});
    // Written out key by key above, in the order printed: 4-space indent, as docker inspect.
    EXPECT_EQ(out.out, expected.dump(4) + "\n");
    EXPECT_NE(out.out.find("\n    {\n        \"AttachedAt\": \""), std::string::npos) << out.out;

    Output format = ctl({"inspect", "-f", "{{.Name}} {{.State}} {{.Mode}} {{.LinesIn}}", "cache"});
    EXPECT_EQ(format.status, 0) << format.err;
    EXPECT_EQ(format.out, "cache attached non-blocking 3001\n");

    Output ambiguous = ctl({"inspect", "a1b"});
    EXPECT_EQ(ambiguous.status, 1);
    EXPECT_EQ(ambiguous.out, "[]\n");
    EXPECT_EQ(ambiguous.err,
              "ringlogctl: \"a1b\" matches 2 containers: a1b2c3d4e5f6 (web), a1b9e8d7c6b5 (db); "
              "give more of the id or the name\n");
}

// Idle containers: every rate is 0 (the counters did not move over the second between the two
// samples).
TEST_F(RinglogctlInfo, StatsNoStreamPrintsRatesDropsAndRingUseOnce) {
    threeContainers();
    Dict cache = inspect(kCache);
    uint64_t dropped = cache["LinesDropped"].get<uint64_t>();
    uint64_t used = cache["RingBytesUsed"].get<uint64_t>();
    char use[64];
    std::snprintf(use, sizeof use, "%.4gKiB / 64KiB (%.2f%%)", static_cast<double>(used) / 1024,
                  100.0 * static_cast<double>(used) / 65536);
    Output stats = ctl({"stats", "--no-stream"});
    EXPECT_EQ(stats.status, 0) << stats.err;
    std::string d = std::to_string(dropped);
    std::string cache_row = "c4c4c4c4c4c4   cache     0         0B/s      3001       " + d +
                            std::string(d.size() + 3 < 10 ? 10 - d.size() : 3, ' ') + use + "\n";
    EXPECT_EQ(stats.out,
              "CONTAINER ID   NAME      LINES/S   BYTES/S   LINES IN   DROPPED   RING USE\n" +
                  cache_row +
                  "a1b2c3d4e5f6   web       0         0B/s      2          0         0B / 1MiB "
                  "(0.00%)\n");

    Output one = ctl({"stats", "--no-stream", "-a", "db"});
    EXPECT_EQ(one.out,
              "CONTAINER ID   NAME      LINES/S   BYTES/S   LINES IN   DROPPED   RING USE\n"
              "a1b9e8d7c6b5   db        0         0B/s      1          0         0B / 1MiB "
              "(0.00%)\n");
    Output unknown = ctl({"stats", "--no-stream", "nosuch"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_EQ(unknown.err,
              "ringlogctl: no container \"nosuch\" (`ringlogctl ps -a` lists the containers you "
              "may read)\n");
}

TEST_F(RinglogctlInfo, DetachPrintsEachContainerItDetachedAndNamesTheOthers) {
    threeContainers();
    Output out = ctl({"detach", "web", "nosuch"});
    EXPECT_EQ(out.status, 1);
    EXPECT_EQ(out.out, "web\n");
    EXPECT_EQ(out.err,
              "ringlogctl: no container \"nosuch\" (`ringlogctl ps -a` lists the containers you "
              "may read)\n");
    EXPECT_EQ(ctl({"ps", "--format", "{{.Names}}"}).out, "cache\n");
    EXPECT_EQ(ctl({"ps", "-a", "--format", "{{.Names}} {{.State}}"}).out,
              "cache attached\ndb exited\nweb exited\n");
    Output ok = ctl({"detach", "cache"});
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(ok.out, "cache\n");
    EXPECT_EQ(ok.err, "");
}

// status and ps go through Inspect, which a reader who is not root may call (the containers'
// properties are root's).
TEST_F(RinglogctlInfo, StatusAndPsServeAReaderWhoIsNotRoot) {
    threeContainers({"reader-groups=nogroup"});
    struct group* nogroup = getgrnam("nogroup");
    ASSERT_NE(nogroup, nullptr);
    int gid = static_cast<int>(nogroup->gr_gid);
    Output status = ctl({"status", "web"}, 65534, gid);
    EXPECT_EQ(status.status, 0) << status.err;
    EXPECT_EQ(status.out.substr(0, status.out.find("        State:")),
              "● web (a1b2c3d4e5f6)\n        Image: nginx:1\n");
    EXPECT_NE(status.out.find("       Driver: json-file (blocking)\n"
                              "        Lines: 2 in, 2 written, 0 dropped, 0 split\n"
                              "Write failures: 0\n"),
              std::string::npos)
        << status.out;
    Output ps = ctl({"ps", "-a", "-q"}, 65534, gid);
    EXPECT_EQ(ps.status, 0) << ps.err;
    EXPECT_EQ(ps.out, "c4c4c4c4c4c4\na1b9e8d7c6b5\na1b2c3d4e5f6\n");
}

TEST_F(RinglogctlInfo, VersionShowsTheClientAndTheServer) {
    std::string v = ringlogdVersion();
    std::string client =
        "Client:\n"
        " Version:          " +
        v +
        "\n"
        " Protocol version: 2\n";
    Output out = ctl({"version"});
    EXPECT_EQ(out.status, 0) << out.err;
    EXPECT_EQ(out.out, client +
                           "\n"
                           "Server:\n"
                           " Version:          " +
                           v +
                           "\n"
                           " Protocol version: 2\n"
                           " Drivers:          json-file, journald, k8s-file, none, syslog\n"
                           " Default driver:   json-file\n");
    EXPECT_EQ(out.err, "");

    d_->stop();
    Output down = ctl({"version"});
    EXPECT_EQ(down.status, 1);
    EXPECT_EQ(down.out, client);
    EXPECT_EQ(down.err.rfind("ringlogctl: ringlogd is not running", 0), 0u) << down.err;
}

}  // namespace
}  // namespace ringlog::test
