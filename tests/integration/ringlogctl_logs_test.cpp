// `ringlogctl logs` against a live ringlogd on a private bus: one row per flag and time form, each
// with its exact stdout, stderr and exit status. Record times cannot be chosen, so the expected
// outputs are built from the records' own times (read once with `-o json`), and time filters
// cut between records.
#include <gtest/gtest.h>
#include <time.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>

#include "bus_fixture.h"
#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

using Output = CommandOutput;

struct Row {
    Row(std::vector<std::string> argv_, std::string out_, std::string err_, int status_ = 0,
        std::map<std::string, std::string> env_ = {}, bool err_is_prefix_ = false)
        : argv(std::move(argv_)),
          out(std::move(out_)),
          err(std::move(err_)),
          status(status_),
          env(std::move(env_)),
          err_is_prefix(err_is_prefix_) {}
    std::vector<std::string> argv;  // after `ringlogctl logs`
    std::string out, err;
    int status = 0;
    std::map<std::string, std::string> env;  // added to the child's (TZ)
    bool err_is_prefix = false;              // err: the start of stderr
};

struct Rec {
    std::string time;  // as ringlogd wrote it (Go's RFC3339Nano: trailing zeros cut)
    long long ns = 0;
    std::string cursor, stream, message;
    bool partial = false;
};

// docker's -t prefix from a json-file time: the fraction padded to nine digits.
std::string dockerTime(const std::string& t) {
    size_t dot = t.find('.');
    std::string whole = t.substr(0, dot == std::string::npos ? t.size() - 1 : dot);
    std::string fraction = dot == std::string::npos ? "" : t.substr(dot + 1, t.size() - dot - 2);
    fraction.resize(9, '0');
    return whole + "." + fraction + "Z";
}

// A record's time at a fixed UTC offset, with or without the zone written.
std::string at(long long ns, int offset_minutes, bool zone, bool fraction = true) {
    time_t s = static_cast<time_t>(ns / 1000000000) + offset_minutes * 60;
    struct tm tm;
    gmtime_r(&s, &tm);
    char text[64];
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string r = text;
    if (fraction) {
        snprintf(text, sizeof text, ".%09lld", ns % 1000000000);
        r += text;
    }
    if (zone) {
        snprintf(text, sizeof text, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+',
                 std::abs(offset_minutes) / 60, std::abs(offset_minutes) % 60);
        r += offset_minutes == 0 ? "Z" : text;
    }
    return r;
}

// journalctl short's time, in UTC (the rows that use it set TZ=UTC0).
std::string shortUtc(long long ns) {
    time_t s = static_cast<time_t>(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char text[64];
    strftime(text, sizeof text, "%b %d %H:%M:%S", &tm);
    return text;
}

class RinglogctlLogs : public PrivateBusTest {
  protected:
    std::vector<std::string> daemonArgs() override { return {"--allowed-group", "nogroup"}; }

    Output logs(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                int uid = -1, int gid = -1) {
        args.insert(args.begin(), {ringlogctlPath(), "logs"});
        for (auto& [k, v] : env_)
            env.emplace(k, v);
        return runCaptured(dir_.path(), args, env, uid, gid);
    }
    void runContainer(const std::string& id, const std::string& name, std::vector<std::string> cmd,
                      std::vector<std::string> opts = {}) {
        std::vector<std::string> args = {"--id", id, "--name", name};
        args.insert(args.end(), opts.begin(), opts.end());
        args.push_back("--");
        args.insert(args.end(), cmd.begin(), cmd.end());
        ASSERT_EQ(ringlogctlRun(*d_, args), 0);
        ASSERT_TRUE(watcher_->waitFor(id)) << "no ContainerExited for " << id;
    }
    std::vector<Rec> records(const std::string& container) {
        Output json = logs({"-o", "json", container});
        EXPECT_EQ(json.status, 0) << json.err;
        std::vector<Rec> out;
        for (const auto& line : splitLines(json.out)) {
            auto j = nlohmann::json::parse(line);
            out.push_back(
                {j["time"], j["time_ns"], j["cursor"], j["stream"], j["message"], j["partial"]});
        }
        return out;
    }
    void check(const std::vector<Row>& rows) {
        for (const auto& row : rows) {
            std::string what = "ringlogctl logs";
            for (const auto& a : row.argv)
                what += " '" + a + "'";
            for (const auto& [k, v] : row.env)
                what = k + "=" + v + " " + what;
            Output got = logs(row.argv, row.env);
            EXPECT_EQ(got.status, row.status) << what << "\nstderr: " << got.err;
            EXPECT_EQ(got.out, row.out) << what;
            if (row.err_is_prefix)
                EXPECT_EQ(got.err.substr(0, row.err.size()), row.err) << what;
            else
                EXPECT_EQ(got.err, row.err) << what;
        }
    }
};

using Pred = std::function<bool(size_t, const Rec&)>;
const Pred kAll = [](size_t, const Rec&) { return true; };

// What `logs` prints for records that pass `keep`: docker's default, stdout and stderr apart.
std::pair<std::string, std::string> docker(const std::vector<Rec>& rs, const Pred& keep = kAll,
                                           const std::string& prefix = "", bool timestamps = false,
                                           const std::string& details = "") {
    std::string out, err;
    for (size_t i = 0; i < rs.size(); ++i) {
        if (!keep(i, rs[i]))
            continue;
        std::string line = prefix;
        if (timestamps)
            line += dockerTime(rs[i].time) + " ";
        if (!details.empty())
            line += details + " ";
        line += rs[i].message + (rs[i].partial ? "" : "\n");
        (rs[i].stream == "stderr" ? err : out) += line;
    }
    return {out, err};
}

std::string raw(const std::vector<Rec>& rs, const Pred& keep = kAll) {
    std::string all;
    for (size_t i = 0; i < rs.size(); ++i)
        if (keep(i, rs[i]))
            all += rs[i].message + (rs[i].partial ? "" : "\n");
    return all;
}

Row row(std::vector<std::string> argv, std::pair<std::string, std::string> outErr) {
    return Row{std::move(argv), outErr.first, outErr.second};
}

TEST_F(RinglogctlLogs, EveryFlagAndTimeFormPrintsExactlyWhatDockerAndJournalctlWould) {
    runContainer(
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "web",
        {"/bin/sh", "-c", "echo 'web one'; echo 'web err' >&2; echo 'web two'; printf 'web part'"},
        {"--label", "env=prod", "--label", "team=a b/c", "--log-opt", "labels=env,team"});
    runContainer("fedcba98765432100123456789abcdef", "db",
                 {"/bin/sh", "-c", "echo 'db one'; echo 'db two' >&2"});
    std::vector<Rec> web = records("web"), db = records("db");
    ASSERT_EQ(web.size(), 4u);
    ASSERT_EQ(db.size(), 2u);
    for (const auto& r : web)
        EXPECT_EQ(r.partial, r.message == "web part") << "a last line without \\n is partial";
    auto from = [](size_t k) { return Pred([k](size_t i, const Rec&) { return i >= k; }); };
    auto upTo = [](size_t k) { return Pred([k](size_t i, const Rec&) { return i <= k; }); };
    auto none = Pred([](size_t, const Rec&) { return false; });
    auto lastN = [&](size_t n) { return from(web.size() - n); };
    const std::string details = "env=prod,team=a+b%2Fc";
    const std::string ist = "<+0530>-5:30";  // a POSIX TZ: no tzdata needed
    const std::map<std::string, std::string> in_ist = {{"TZ", ist}}, in_utc = {{"TZ", "UTC0"}};
    // Just after record k-1, so at or before record k. Not record k's time - 1: records that came
    // in one read are 1 ns apart, and that would be record k-1's own time.
    auto cut = [&](size_t k) { return web[k - 1].ns + 1; };

    std::vector<Row> rows = {
        // docker's default: each stream to its own.
        row({"web"}, docker(web)),
        row({"0a1b2c"}, docker(web)),  // a unique id prefix
        // --tail N|all, every way of writing it.
        row({"-n", "2", "web"}, docker(web, lastN(2))),
        row({"-n2", "web"}, docker(web, lastN(2))),
        row({"--tail=2", "web"}, docker(web, lastN(2))),
        row({"--tail", "2", "web"}, docker(web, lastN(2))),
        row({"-fn", "2", "web"}, docker(web, lastN(2))),  // bundled; web exited: -f ends
        row({"--tail", "all", "web"}, docker(web)),
        row({"--tail", "0", "web"}, docker(web, none)),
        {{"--tail", "abc", "web"},
         "",
         "ringlogctl: --tail: \"abc\" is not a number or \"all\"\n",
         125},
        {{"-n", "1.5", "web"}, "", "ringlogctl: --tail: \"1.5\" is not a number or \"all\"\n", 125},
        // docker's prefixes: -t (RFC3339Nano, nine digits, UTC), --details (the attrs), both.
        row({"-t", "web"}, docker(web, kAll, "", true)),
        row({"--timestamps", "--tail", "1", "web"}, docker(web, lastN(1), "", true)),
        row({"--details", "web"}, docker(web, kAll, "", false, details)),
        row({"-t", "--details", "web"}, docker(web, kAll, "", true, details)),
        Row({"--details", "db"}, " db one\n", " db two\n"),  // no attrs: docker's " "
        // Output modes.
        {{"-o", "raw", "web"}, raw(web), ""},
        {{"--output=raw", "-n", "2", "web"}, raw(web, lastN(2)), ""},
        {{"-o", "cat", "web"},
         [&] {
             std::string c;
             for (const auto& r : web)
                 c += r.message + "\n";
             return c;
         }(),
         ""},
        {{"-o", "short", "db"},
         shortUtc(db[0].ns) + " db[stdout]: db one\n" + shortUtc(db[1].ns) +
             " db[stderr]: db two\n",
         "",
         0,
         in_utc},
        {{"-o", "short-iso", "db"},
         at(db[0].ns, 330, false, false) + "+05:30 db[stdout]: db one\n" +
             at(db[1].ns, 330, false, false) + "+05:30 db[stderr]: db two\n",
         "",
         0,
         in_ist},
        {{"--output", "bogus", "web"},
         "",
         "ringlogctl: --output: bogus not in {short,short-iso,cat,json,raw}\nSee 'ringlogctl "
         "logs --help'.\n",
         125},
        // --stream.
        row({"--stream", "stderr", "web"},
            docker(web, [](size_t, const Rec& r) { return r.stream == "stderr"; })),
        row({"--stream", "stdout", "web"},
            docker(web, [](size_t, const Rec& r) { return r.stream == "stdout"; })),
        {{"--stream", "both", "web"},
         "",
         "ringlogctl: --stream: both not in {stdout,stderr}\nSee 'ringlogctl logs --help'.\n",
         125},
        // Cursors.
        row({"--after-cursor", web[1].cursor, "web"}, docker(web, from(2))),
        {{"--show-cursor", "-o", "cat", "-n", "1", "web"},
         web[3].message + "\n-- cursor: " + web[3].cursor + "\n",
         ""},
        {{"--show-cursor", "-n", "0", "web"}, "", ""},  // no record, no cursor (journalctl)
        {{"--after-cursor", web[1].cursor, "web", "db"},
         "",
         "ringlogctl: --after-cursor takes one container: a cursor belongs to one log\n",
         125},
        // --since/--until, every time form, cut between records.
        row({"--since", web[1].time, "web"}, docker(web, from(1))),              // RFC 3339, Z
        row({"--since", at(web[1].ns, 60, true), "web"}, docker(web, from(1))),  // +01:00
        row({"--since", at(web[1].ns, -300, true), "--until", web[2].time, "web"},
            docker(web, [](size_t i, const Rec&) { return i == 1 || i == 2; })),
        row({"--until", web[1].time, "web"}, docker(web, upTo(1))),
        row({"--since",
             std::to_string(cut(2) / 1000000000) + "." +
                 [&] {
                     char f[16];
                     snprintf(f, sizeof f, "%09lld", cut(2) % 1000000000);
                     return std::string(f);
                 }(),
             "web"},
            docker(web, from(2))),  // Unix seconds.fraction
        row({"--until", std::to_string(web[0].ns / 1000000000 - 1), "web"},
            docker(web, none)),                         // Unix seconds
        row({"--since", "1h30m", "web"}, docker(web)),  // Go durations
        row({"--until", "1h30m", "web"}, docker(web, none)),
        row({"--since", "2d", "web"}, docker(web)),          // days, as systemd
        row({"--since", "1 hour ago", "web"}, docker(web)),  // journalctl's
        row({"--until", "1 hour ago", "web"}, docker(web, none)),
        row({"--since", "yesterday", "web"}, docker(web)),
        row({"--until", "yesterday", "web"}, docker(web, none)),
        row({"--since", "now", "web"}, docker(web, none)),
        row({"--until", "now", "web"}, docker(web)),
        {{"--since", "xyz", "web"}, "", "ringlogctl: \"xyz\" is not a time: ", 125, {}, true},
        {{"--until", "2026-13-45", "web"},
         "",
         "ringlogctl: \"2026-13-45\" is not a time: ",
         125,
         {},
         true},
    };
    // Local time without a zone, and a date alone (local midnight): in UTC and at +05:30.
    for (const auto& tz : {in_utc, in_ist}) {
        int offset = tz == in_ist ? 330 : 0;
        Row r = row({"--since", at(web[1].ns, offset, false), "web"}, docker(web, from(1)));
        r.env = tz;
        rows.push_back(r);
        r = row(
            {"--since",
             at(cut(2), offset, false).substr(0, 19) + "." + at(cut(2), offset, false).substr(20),
             "--until", at(web[2].ns, offset, false), "web"},
            docker(web, [](size_t i, const Rec&) { return i == 2; }));
        r.env = tz;
        rows.push_back(r);
        std::string today = at(web[0].ns, offset, false).substr(0, 10);
        r = row({"--since", today, "web"}, docker(web));
        r.env = tz;
        rows.push_back(r);
        r = row({"--until", today, "web"}, docker(web, none));
        r.env = tz;
        rows.push_back(r);
    }
    // Several containers: merged by time, docker compose's name column in the default mode.
    {
        struct Tagged {
            Rec r;
            std::string name, id;
        };
        std::vector<Tagged> all;
        for (const auto& r : web)
            all.push_back({r, "web", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"});
        for (const auto& r : db)
            all.push_back({r, "db", "fedcba98765432100123456789abcdef"});
        std::sort(all.begin(), all.end(),
                  [](const Tagged& a, const Tagged& b) { return a.r.ns < b.r.ns; });
        std::string out, err, cat, shortest;
        for (const auto& t : all) {
            std::string line =
                (t.name == "db" ? "db  | " : "web | ") + t.r.message + (t.r.partial ? "" : "\n");
            (t.r.stream == "stderr" ? err : out) += line;
            cat += t.r.message + "\n";
            shortest +=
                shortUtc(t.r.ns) + " " + t.name + "[" + t.r.stream + "]: " + t.r.message + "\n";
        }
        rows.push_back({{"web", "db"}, out, err});
        rows.push_back({{"-o", "cat", "web", "db"}, cat, ""});
        rows.push_back({{"-o", "short", "db", "web"}, shortest, "", 0, in_utc});
        rows.push_back(
            {{"-o", "cat", "--show-cursor", "web", "db"},
             cat + "-- cursor web: " + web[3].cursor + "\n-- cursor db: " + db[1].cursor + "\n",
             ""});
        // -o json: ringlogd's objects, each with its container's id and name first.
        Output wj = logs({"-o", "json", "web"}), dj = logs({"-o", "json", "db"});
        auto wl = splitLines(wj.out), dl = splitLines(dj.out);
        std::string json;
        for (const auto& t : all) {
            const auto& lines = t.name == "web" ? wl : dl;
            const auto& recs = t.name == "web" ? web : db;
            size_t i = 0;
            while (recs[i].ns != t.r.ns)
                ++i;
            json += "{\"container_id\":\"" + t.id + "\",\"container_name\":\"" + t.name + "\"," +
                    lines[i].substr(1) + "\n";
        }
        rows.push_back({{"-o", "json", "web", "db"}, json, ""});
        rows.push_back({{"--format", "json", "web"}, wj.out, ""});
    }
    // Errors: ringlogd's, through the bus, exit 1.
    rows.push_back({{"nosuch"},
                    "",
                    "ringlogctl: no container \"nosuch\" (`ringlogctl ps -a` lists the containers "
                    "you may read)\n",
                    1});
    rows.push_back({{"web", "nosuch"},
                    "",
                    "ringlogctl: no container \"nosuch\" (`ringlogctl ps -a` lists the containers "
                    "you may read)\n",
                    1});
    rows.push_back(
        {{}, "", "ringlogctl: CONTAINER is required\nSee 'ringlogctl logs --help'.\n", 125});
    check(rows);

    // Not allowed to read it: exit 1, nothing on stdout.
    Output denied = logs({"web"}, {}, 65534, 12345);
    EXPECT_EQ(denied.status, 1);
    EXPECT_EQ(denied.out, "");
    EXPECT_EQ(denied.err,
              "ringlogctl: no container \"web\" (`ringlogctl ps -a` lists the containers you may "
              "read)\n");
    // No ringlogd on the bus.
    Output gone = logs({"web"}, {{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus"}});
    EXPECT_EQ(gone.status, 1);
    EXPECT_EQ(gone.out, "");
    EXPECT_EQ(gone.err.rfind("ringlogctl: cannot reach the system bus", 0), 0u) << gone.err;
}

// --grep is applied by ringlogd (PCRE2), --case-sensitive as journalctl's.
TEST_F(RinglogctlLogs, GrepKeepsTheRecordsWhoseMessageMatches) {
    runContainer("grep0123456789", "g",
                 {"/bin/sh", "-c", "echo 'Alpha one'; echo 'beta two'; echo 'alpha three' >&2"});
    Output probe = logs({"-g", "x", "g"});
    if (probe.err.find("unknown option \"grep\"") != std::string::npos)
        GTEST_SKIP() << "this ringlogd has no grep yet: " << probe.err;
    check({
        {{"-g", "alpha", "-o", "cat", "g"}, "Alpha one\nalpha three\n", ""},
        {{"--grep", "t[wh]", "g"}, "beta two\n", "alpha three\n"},
        {{"--grep=alpha", "--case-sensitive", "-o", "cat", "g"}, "alpha three\n", ""},
        {{"--grep=alpha", "--case-sensitive=false", "-o", "cat", "g"},
         "Alpha one\nalpha three\n",
         ""},
        {{"-g", "nothing", "g"}, "", ""},
    });
}

// `--` ends the options, as for docker and every getopt tool: what follows is containers even if
// it starts with a dash. The Cockpit page puts it before the ids it passes; ringlogctl used to
// take everything after `--` for `run`'s command and then find no CONTAINER.
TEST_F(RinglogctlLogs, DoubleDashEndsTheOptionsBeforeTheContainers) {
    runContainer("dashes0123456789", "dashes", {"/bin/sh", "-c", "echo one; echo two"});
    check({
        {{"-n", "1", "--", "dashes"}, "two\n", ""},
        {{"--", "dashes"}, "one\ntwo\n", ""},
    });
    Output dash_name = logs({"--", "--help"});
    EXPECT_EQ(dash_name.err,
              "ringlogctl: no container \"--help\" (`ringlogctl ps -a` lists the containers you "
              "may read)\n");
    EXPECT_EQ(dash_name.out, "");
}

// `-t` equals docker's `docker logs -t` for the golden inputs: the json-file on disk is docker's
// format (docker_compat_test compares it with tests/golden), and docker prints each entry as its
// time, fraction padded to nine digits, a space, and its log.
TEST_F(RinglogctlLogs, TimestampsAreDockersForTheGoldenInputs) {
    std::string golden = GOLDEN_DIR;
    runContainer("goldenout", "golden-out", {"/bin/cat", golden + "/input-stdout.bin"});
    runContainer("goldenframing", "golden-framing", {"/bin/cat", golden + "/input-framing.bin"});
    runContainer("goldenerr", "golden-err",
                 {"/bin/sh", "-c", "cat " + golden + "/input-stderr.bin >&2"});
    for (const char* id : {"goldenout", "goldenframing", "goldenerr"}) {
        std::string out, err;
        for (const auto& r : readJsonLog(d_->logFile(id)))
            (r.stream == "stderr" ? err : out) += dockerTime(r.time) + " " + r.log;
        Output got = logs({"-t", id});
        EXPECT_EQ(got.status, 0) << got.err;
        EXPECT_TRUE(got.out == out) << id << ": stdout differs from docker's -t";
        EXPECT_TRUE(got.err == err) << id << ": stderr differs from docker's -t";
        EXPECT_FALSE(out.empty() && err.empty());
    }
}

// -f with several containers: the merged history, then live records as they come, nothing lost
// or repeated between the two.
TEST_F(RinglogctlLogs, FollowingSeveralContainersGivesTheHistoryThenLiveRecords) {
    Pipe a, b;
    for (auto [id, p] : {std::pair{"fa", &a}, std::pair{"fb", &b}}) {
        ringlog_attach at;
        ringlog_attach_init(&at);
        at.id = id;
        at.name = id;
        at.stdout_fd = p->read_fd;
        char err[256];
        ASSERT_EQ(ringlog_attach_send(d_->socket().c_str(), &at, err, sizeof err), 0) << err;
        p->closeRead();
    }
    auto put = [](Pipe& p, const std::string& s) {
        ASSERT_EQ(::write(p.write_fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
    };
    auto follow = [&](Pipe& out) {
        SpawnOptions o;
        o.env = env_;
        o.keep_fds = {out.write_fd};
        o.stdout_fd = out.write_fd;
        o.die_with_test = true;
        Process follower = spawn({ringlogctlPath(), "logs", "-f", "-o", "cat", "fa", "fb"}, o);
        out.closeWrite();
        return follower;
    };
    // A first follower, from before anything is written, shows when a1 is stored before b1 is
    // written, and b1 before the follower under test starts: their order is then known.
    Pipe stored;
    Process watch = follow(stored);
    put(a, "a1\n");
    ASSERT_EQ(readLine(stored.read_fd), "a1\n");
    put(b, "b1\n");
    ASSERT_EQ(readLine(stored.read_fd), "b1\n");
    Pipe out;
    Process follower = follow(out);
    EXPECT_EQ(readLine(out.read_fd), "a1\n");
    EXPECT_EQ(readLine(out.read_fd), "b1\n");
    put(b, "b2\n");
    EXPECT_EQ(readLine(out.read_fd), "b2\n");
    put(a, "a2\n");
    EXPECT_EQ(readLine(out.read_fd), "a2\n");
    a.closeWrite();
    b.closeWrite();
    EXPECT_EQ(follower.wait(), 0);
    EXPECT_EQ(readSome(out.read_fd, 4096, 5000), "");
    watch.wait();
}

// Not a test: `RINGLOG_LOGS_BENCH=1 ringlog-integration-tests --gtest_filter=*Bench*` times
// `ringlogctl logs` of a 1,000,000-line container in each output path (docs/ringlogctl.md, logs);
// RINGLOG_LOGS_BENCH_OTHER=PATH times another ringlogctl (an older build) the same way.
TEST_F(RinglogctlLogs, BenchReadingAMillionLines) {
    if (getenv("RINGLOG_LOGS_BENCH") == nullptr)
        GTEST_SKIP() << "set RINGLOG_LOGS_BENCH=1 to run";
    runContainer("bench", "bench", {lineWriterPath(), "--lines", "1000000", "--width", "100"});
    std::vector<std::string> binaries = {ringlogctlPath()};
    if (const char* other = getenv("RINGLOG_LOGS_BENCH_OTHER"))
        binaries.push_back(other);
    struct Case {
        const char* what;
        std::vector<std::string> args;
        bool same_file;
    };
    const std::vector<Case> cases = {
        {"default, stdout and stderr one file (raw copied through)", {"bench"}, true},
        {"default, stdout and stderr apart (a raw query each)", {"bench"}, false},
        {"-o raw", {"-o", "raw", "bench"}, false},
        {"-t", {"-t", "bench"}, false},
        {"-o json", {"-o", "json", "bench"}, false},
        {"-o short", {"-o", "short", "bench"}, false},
    };
    for (const auto& binary : binaries)
        for (const auto& c : cases) {
            std::string out = (dir_.path() / "bench.out").string();
            std::string shell =
                "exec \"$0\" logs \"$@\" >" + out + (c.same_file ? " 2>&1" : " 2>" + out + ".err");
            std::vector<std::string> argv = {"/bin/sh", "-c", shell, binary};
            argv.insert(argv.end(), c.args.begin(), c.args.end());
            SpawnOptions o;
            o.env = env_;
            auto start = std::chrono::steady_clock::now();
            int status = spawn(argv, o).wait();
            double s =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("%-60s %-40s exit %d  %.3f s  %ju bytes\n", binary.c_str(), c.what, status,
                        s, static_cast<uintmax_t>(fs::file_size(out)));
        }
}

}  // namespace
}  // namespace ringlog::test
