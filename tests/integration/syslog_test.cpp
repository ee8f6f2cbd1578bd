// The syslog driver against a real rsyslogd (rsyslog_server.h), through the real ringlogd and
// `ringlogctl run --log-driver syslog`: what a user reads in rsyslog's output, field by field, in
// each format over each transport; and what happens when rsyslogd stops mid-stream.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "harness.h"
#include "rsyslog_server.h"

namespace ringlog::test {
namespace {

using namespace std::chrono_literals;
using Input = RsyslogServer::Input;
using Clock = std::chrono::steady_clock;

constexpr int kLocal3 = 19;
constexpr int kInfo = 6, kErr = 3;
constexpr const char* kImage = "registry.example/shop:1.25";

std::string hostname() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
}

// A 64-hex-digit container id of its own for each name.
std::string idFor(const std::string& name) {
    char buf[65];
    std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(name));
    return std::string(buf) + std::string(48, '0');
}

// The line number in "stdout-000000042-xxx".
long long lineNumber(const std::string& message) {
    return std::stoll(message.substr(7, 9));
}

// One record as the driver should send it: the message, its stream, and for a part of a line
// longer than max-line its ordinal (1, 2, …) and whether it is the last.
struct Expected {
    std::string message;
    bool stderr_stream = false;
    int part = 0;
    bool last = false;
};

// What each container writes: 1,800 lines of 100 bytes on stdout, one of them (the 900th) 40,000
// bytes that max-line (16 KiB) cuts into 16,384 + 16,384 + 7,232; 200 on stderr.
struct Workload {
    std::vector<Expected> out, err;
    fs::path out_file, err_file;
    size_t records() const { return out.size() + err.size(); }

    explicit Workload(const fs::path& dir) : out_file(dir / "out.txt"), err_file(dir / "err.txt") {
        std::ofstream o(out_file, std::ios::binary), e(err_file, std::ios::binary);
        for (int i = 0; i < 1800; ++i) {
            std::string line = linePrefix("stdout", i);
            line.resize(i == 900 ? 40000 : 99, i == 900 ? 'L' : 'x');
            o << line << '\n';
            if (i != 900) {
                out.push_back({line});
                continue;
            }
            for (size_t at = 0, part = 1; at < line.size(); at += 16384, ++part)
                out.push_back({line.substr(at, 16384), false, static_cast<int>(part),
                               at + 16384 >= line.size()});
        }
        for (int i = 0; i < 200; ++i) {
            std::string line = linePrefix("stderr", i);
            line.resize(99, 'x');
            e << line << '\n';
            err.push_back({line, true});
        }
    }
    std::vector<std::string> command() const {
        return {"/bin/sh", "-c",
                "cat " + out_file.string() + " & cat " + err_file.string() + " >&2; wait"};
    }
};

std::vector<std::string> syslogOptions(const RsyslogServer& server, Input input,
                                       const std::string& format) {
    std::vector<std::string> o = {"--log-driver", "syslog",
                                  "--log-opt",    "syslog-address=" + server.address(input),
                                  "--log-opt",    "syslog-facility=local3",
                                  "--log-opt",    "tag={{.Name}}/{{.ID}}"};
    if (!format.empty())
        o.insert(o.end(), {"--log-opt", "syslog-format=" + format});
    if (input == Input::Tls || input == Input::TlsClientAuth)
        o.insert(o.end(), {"--log-opt", "syslog-tls-ca-cert=" + server.caCert().string()});
    if (input == Input::TlsClientAuth)
        o.insert(o.end(), {"--log-opt", "syslog-tls-cert=" + server.clientCert().string(),
                           "--log-opt", "syslog-tls-key=" + server.clientKey().string()});
    return o;
}

// ---- every format over every transport ----

class SyslogFormats : public ::testing::TestWithParam<std::string> {
  protected:
    TempDir dir_;
    RsyslogServer server_{dir_.path() / "rsyslog"};
    Daemon daemon_{dir_.path() / "d"};
};

// The value of an SD-PARAM ("" when absent).
std::string sdParam(const std::string& sd, const std::string& name) {
    size_t at = sd.find(" " + name + "=\"");
    if (at == std::string::npos)
        return {};
    at += name.size() + 3;
    return sd.substr(at, sd.find('"', at) - at);
}

// The structured data of a record of container `name` (RFC 5424 formats).
std::string structuredData(const std::string& name, const Expected& x, const std::string& group) {
    std::string sd = "[ringlog@32473 container_id=\"" + idFor(name) + "\" container_name=\"" +
                     name + "\" image_name=\"" + kImage + "\"";
    if (x.part != 0) {
        if (!x.last)
            sd += " partial_message=\"true\"";
        sd += " partial_id=\"" + group + "\" partial_ordinal=\"" + std::to_string(x.part) +
              "\" partial_last=\"" + (x.last ? "true" : "false") + "\"";
    }
    return sd + "]";
}

// One container per transport, all at once, each 2,002 records: every one arrives once, in order
// per stream, with its facility, severity, tag, host name, PROCID and (RFC 5424) structured data.
TEST_P(SyslogFormats, EveryLineArrivesOnceInOrderWithItsFacilitySeverityTagAndStructuredData) {
    const std::string format = GetParam();
    const bool rfc5424 = format != "rfc3164";
    Workload work(dir_.path());
    std::vector<Input> inputs(std::begin(RsyslogServer::kInputs), std::end(RsyslogServer::kInputs));
    std::vector<Process> runs;
    for (Input input : inputs) {
        std::string name = "c-" + format + "-" + RsyslogServer::name(input);
        std::vector<std::string> argv = {
            ringlogctlPath(), "run",    "--socket", daemon_.socket(), "--id",
            idFor(name),      "--name", name,       "--image",        kImage};
        auto opts = syslogOptions(server_, input, format);
        argv.insert(argv.end(), opts.begin(), opts.end());
        // The syslog driver alone (SyslogCache covers the local cache beside it).
        argv.insert(argv.end(), {"--log-opt", "cache-disabled=true", "--"});
        auto cmd = work.command();
        argv.insert(argv.end(), cmd.begin(), cmd.end());
        runs.push_back(spawn(argv));
    }
    for (auto& r : runs)
        ASSERT_EQ(r.wait(), 0) << daemon_.log();

    const std::string host = hostname(), pid = std::to_string(daemon_.pid());
    const std::regex stamp(format == "rfc5424micro" ? R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"
                                                    : R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    const std::regex bsd_stamp(R"(<\d+>[A-Z][a-z][a-z] [ 123]\d \d\d:\d\d:\d\d )");
    for (Input input : inputs) {
        const std::string name = "c-" + format + "-" + RsyslogServer::name(input);
        const std::string tag = name + "/" + idFor(name).substr(0, 12);
        SCOPED_TRACE(name);
        auto records = server_.waitForRecords(input, work.records());
        EXPECT_EQ(records.size(), work.records()) << "records that arrived twice";
        size_t next_out = 0, next_err = 0;
        std::string group;
        for (const auto& r : records) {
            const bool is_err = r.severity == "err";
            auto& list = is_err ? work.err : work.out;
            size_t& next = is_err ? next_err : next_out;
            ASSERT_LT(next, list.size()) << "more records than lines on " << r.severity;
            const Expected& x = list[next++];
            SCOPED_TRACE((is_err ? "stderr record " : "stdout record ") + std::to_string(next - 1));
            std::string msg = r.msg;
            if (!rfc5424) {
                ASSERT_TRUE(startsWith(msg, " ")) << r.raw.substr(0, 200);
                msg.erase(0, 1);  // rsyslog keeps the space after "TAG[PID]:"
            }
            ASSERT_EQ(msg.size(), x.message.size()) << "a line lost, reordered or cut elsewhere";
            ASSERT_EQ(msg, x.message);
            EXPECT_EQ(r.pri, kLocal3 * 8 + (is_err ? kErr : kInfo));
            EXPECT_EQ(r.facility, "local3");
            EXPECT_EQ(r.hostname, host);
            EXPECT_EQ(r.app_name, tag);
            if (rfc5424) {
                EXPECT_TRUE(std::regex_match(r.timestamp, stamp)) << r.timestamp;
                EXPECT_EQ(r.procid, pid);
                // As docker's: the tag is APP-NAME and MSGID, which RFC 5424 limits to 32.
                EXPECT_EQ(r.msgid, tag.substr(0, 32));
                if (x.part == 1)
                    group = sdParam(r.structured_data, "partial_id");
                EXPECT_EQ(r.structured_data, structuredData(name, x, group));
            } else {
                EXPECT_TRUE(std::regex_search(r.raw, bsd_stamp)) << r.raw.substr(0, 80);
                EXPECT_EQ(r.tag, tag + "[" + pid + "]:");
                EXPECT_EQ(r.structured_data, "-");
            }
        }
        EXPECT_EQ(next_out, work.out.size());
        EXPECT_EQ(next_err, work.err.size());
    }
    ASSERT_EQ(daemon_.stop(), 0) << daemon_.log();
}

INSTANTIATE_TEST_SUITE_P(SyslogDriver, SyslogFormats,
                         ::testing::Values("rfc3164", "rfc5424", "rfc5424micro"),
                         [](const auto& p) { return p.param; });

// ---- rsyslogd stopped for five seconds mid-stream ----

class SyslogOutage : public ::testing::Test {
  protected:
    // A container writing line_writer's numbered lines as fast as it can over TCP, rfc5424, until
    // told to stop.
    std::unique_ptr<StoppableWriter> startWriter(const std::string& name,
                                                 const std::vector<std::string>& extra) {
        std::vector<std::string> run = {ringlogctlPath(), "run",       "--socket", daemon_.socket(),
                                        "--id",           idFor(name), "--name",   name,
                                        "--image",        kImage};
        auto opts = syslogOptions(server_, Input::Tcp, "rfc5424");
        run.insert(run.end(), opts.begin(), opts.end());
        // One driver: no local cache beside it, so the container's counters are syslog's.
        run.insert(run.end(), {"--log-opt", "cache-disabled=true"});
        run.insert(run.end(), extra.begin(), extra.end());
        run.push_back("--");
        return std::make_unique<StoppableWriter>(run, lineWriterPath(), 1000);
    }

    // ringlogd's account of a container that is done: "lines_dropped=N" and the like.
    long long counter(const std::string& name, const std::string& key) {
        std::regex re("container " + idFor(name).substr(0, 12) + " exited: .*\\b" + key +
                      "=(\\d+)");
        std::smatch m;
        std::string log = daemon_.log();
        return std::regex_search(log, m, re) ? std::stoll(m[1]) : -1;
    }
    // Waits until ringlogd says the container exited (every record persisted or dropped).
    ::testing::AssertionResult waitForExit(const std::string& name, std::chrono::seconds limit) {
        auto until = Clock::now() + limit;
        while (Clock::now() < until) {
            if (counter(name, "lines_in") >= 0)
                return ::testing::AssertionSuccess();
            std::this_thread::sleep_for(50ms);
        }
        return ::testing::AssertionFailure() << name << " did not exit; ringlogd:\n"
                                             << daemon_.log();
    }
    // What `ringlogctl status` says, as a user reads it.
    std::string status(const std::string& name) {
        fs::path out = dir_.path() / "status.out";
        fs::remove(out);
        SpawnOptions o;
        o.stdout_file = out.string();
        o.stderr_file = out.string();
        o.env = {{"DBUS_SYSTEM_BUS_ADDRESS", bus_.address()}};
        spawn({ringlogctlPath(), "status", name}, o).wait();
        return readFile(out);
    }

    TempDir dir_;
    RsyslogServer server_{dir_.path() / "rsyslog"};
    DbusDaemon bus_{dir_.path() / "bus"};
    Daemon daemon_{
        dir_.path() / "d", {"--dbus", "yes"}, {{"DBUS_SYSTEM_BUS_ADDRESS", bus_.address()}}};
};

// The numbers of the records that arrived, in arrival order, and how many arrived more than once.
struct Arrivals {
    std::vector<long long> numbers;
    std::set<long long> distinct;
    long long dropped_marked = 0;  // the drops the records' structured data announce
};
Arrivals arrivals(const std::vector<SyslogRecord>& records) {
    Arrivals a;
    for (const auto& r : records) {
        a.numbers.push_back(lineNumber(r.msg));
        std::string d = sdParam(r.structured_data, "dropped_lines");
        if (a.distinct.insert(a.numbers.back()).second && !d.empty())
            a.dropped_marked += std::stoll(d);  // a record sent again announces its drops again
    }
    return a;
}

// Blocking: the writer is held while rsyslogd is down, nothing is lost, and a json-file container
// is not held: all of its output is on disk before rsyslogd is back.
// rsyslogd, stopped mid-stream, drops what its kernel had acknowledged and it had not read: the
// driver sends the last 512 KiB it had acknowledged again on the next connection (duplicates,
// counted and printed; never a loss).
TEST_F(SyslogOutage, BlockingModeLosesNoLineAndAJsonFileContainerIsNotHeldMeanwhile) {
    auto w = startWriter("outage-blocking", {"--log-opt", "mode=blocking"});
    ASSERT_EQ(readSome(w->progress.read_fd, 2).size(), 2u) << "the writer did not get going";
    server_.waitForCount(Input::Tcp, 1000);
    server_.stop();
    auto down = Clock::now();

    // Meanwhile, json-file at full speed: all of it on disk while rsyslogd is still down.
    constexpr long long kJsonLines = 50000;
    ASSERT_EQ(ringlogctlRun(daemon_, {"--id", "json-meanwhile", "--", lineWriterPath(), "--lines",
                                      std::to_string(kJsonLines)}),
              0);
    auto on_disk = [&] {
        std::string text = readFile(daemon_.logFile("json-meanwhile"));
        return static_cast<long long>(std::count(text.begin(), text.end(), '\n'));
    };
    while (Clock::now() - down < 60s && on_disk() < kJsonLines)
        std::this_thread::sleep_for(20ms);
    double json_s = std::chrono::duration<double>(Clock::now() - down).count();
    EXPECT_EQ(on_disk(), kJsonLines) << "the json-file container was held";
    EXPECT_FALSE(server_.running());
    std::printf("json-file container while rsyslogd was down: %lld lines on disk in %.2f s\n",
                kJsonLines, json_s);

    std::this_thread::sleep_until(down + 5s);  // the outage itself: five seconds
    server_.start();
    ASSERT_EQ(readSome(w->progress.read_fd, 2).size(), 2u) << "the writer did not resume";
    ASSERT_EQ(::write(w->stop.write_fd, "s", 1), 1);
    EXPECT_EQ(w->process.wait(), 0) << "the writer got an error";
    long long written = std::stoll(readLine(w->count.read_fd));
    ASSERT_TRUE(waitForExit("outage-blocking", 60s));
    EXPECT_EQ(counter("outage-blocking", "lines_dropped"), 0);

    auto a = arrivals(server_.waitForRecords(Input::Tcp, static_cast<size_t>(written), 60s));
    EXPECT_EQ(static_cast<long long>(a.distinct.size()), written) << "lines lost";
    EXPECT_EQ(*a.distinct.rbegin(), written - 1);
    // After the broken connection the driver sends again what rsyslogd had not acknowledged
    // (docs/drivers/syslog.md): those may arrive twice, as one step back, and nothing skips ahead.
    long long duplicates = static_cast<long long>(a.numbers.size() - a.distinct.size());
    long long skips = 0, steps_back = 0;
    for (size_t i = 1; i < a.numbers.size(); ++i) {
        skips += a.numbers[i] > a.numbers[i - 1] + 1;
        steps_back += a.numbers[i] <= a.numbers[i - 1];
    }
    EXPECT_EQ(skips, 0) << "a line arrived after a later one";
    EXPECT_LE(steps_back, 1) << "one broken connection, at most one resend";
    std::printf("blocking: %lld lines written, %zu records, %lld twice\n", written,
                a.numbers.size(), duplicates);
    ASSERT_EQ(daemon_.stop(), 0) << daemon_.log();
}

// Non-blocking, a small ring: the writer is never held; what arrived plus what ringlogd counted as
// dropped is exactly what was written, and the records after each drop announce it.
// The cell of records the driver sent and waits to hear about is kept from a drop while another
// can go (RingLog::hold), so nothing counted as dropped reaches the server; what the server had
// acknowledged and not read at its stop is sent again from the driver's window.
TEST_F(SyslogOutage, NonBlockingModeDropsWhileRsyslogdIsDownAndCountsExactlyWhat) {
    auto w = startWriter("outage-nonblocking",
                         {"--log-opt", "mode=non-blocking", "--log-opt", "max-buffer-size=100k"});
    ASSERT_EQ(readSome(w->progress.read_fd, 2).size(), 2u) << "the writer did not get going";
    server_.waitForCount(Input::Tcp, 1000);
    server_.stop();
    auto down = Clock::now();
    // 20,000 more lines while rsyslogd is down: far more than the ring holds, written unheld.
    ASSERT_EQ(readSome(w->progress.read_fd, 20, 30000).size(), 20u) << "the writer was held";
    ASSERT_EQ(::write(w->stop.write_fd, "s", 1), 1);
    EXPECT_EQ(w->process.wait(), 0) << "the writer got an error";
    long long written = std::stoll(readLine(w->count.read_fd));
    EXPECT_FALSE(server_.running());
    std::this_thread::sleep_until(down + 5s);
    server_.start();

    ASSERT_TRUE(waitForExit("outage-nonblocking", 60s));
    long long dropped = counter("outage-nonblocking", "lines_dropped");
    EXPECT_GT(dropped, 0);
    std::smatch m;
    std::string st = status("outage-nonblocking");
    ASSERT_TRUE(
        std::regex_search(st, m, std::regex(R"(Lines: (\d+) in, (\d+) written, (\d+) dropped)")))
        << st;
    EXPECT_EQ(std::stoll(m[1]), written);
    EXPECT_EQ(std::stoll(m[3]), dropped) << "ringlogctl status and ringlogd's log agree";
    auto a =
        arrivals(server_.waitForRecords(Input::Tcp, static_cast<size_t>(written - dropped), 60s));
    EXPECT_EQ(static_cast<long long>(a.distinct.size()) + dropped, written)
        << a.distinct.size() << " arrived, " << dropped << " counted as dropped";
    // The markers in the structured data announce drops, never more than were counted (one run
    // in three announced fewer: docs/drivers/syslog.md).
    EXPECT_GT(a.dropped_marked, 0);
    EXPECT_LE(a.dropped_marked, dropped) << "the drop markers in the structured data";
    std::printf("non-blocking: %lld lines written, %zu arrived, %lld dropped\n", written,
                a.distinct.size(), dropped);
    ASSERT_EQ(daemon_.stop(), 0) << daemon_.log();
}

// ---- ringlogctl logs through the local cache ----

// A syslog container keeps no log to read back; ringlogd's local cache (docker's dual logging)
// does: `ringlogctl logs` and `logs -f` give exactly what the container wrote, while rsyslogd
// gets it all too.
TEST(SyslogCache, LogsAndLogsFollowGiveExactlyWhatTheContainerWrote) {
    TempDir dir;
    RsyslogServer server(dir.path() / "rsyslog");
    DbusDaemon bus(dir.path() / "bus");
    std::map<std::string, std::string> env = {{"DBUS_SYSTEM_BUS_ADDRESS", bus.address()}};
    Daemon daemon(dir.path() / "d", {"--dbus", "yes"}, env);
    constexpr long long kLines = 20000;  // 10,000 on each stream

    Pipe ready, go;
    std::vector<std::string> run = {ringlogctlPath(), "run",           "--socket", daemon.socket(),
                                    "--id",           idFor("cached"), "--name",   "cached"};
    auto opts = syslogOptions(server, Input::Tcp, "rfc5424");
    run.insert(run.end(), opts.begin(), opts.end());
    run.insert(run.end(), {"--", lineWriterPath(), "--lines", std::to_string(kLines), "--stream",
                           "both", "--ready-fd", std::to_string(ready.write_fd), "--go-fd",
                           std::to_string(go.read_fd)});
    SpawnOptions keep;
    keep.keep_fds = {ready.write_fd, go.read_fd};
    Process container = spawn(run, keep);
    ready.closeWrite();
    go.closeRead();
    ASSERT_FALSE(readLine(ready.read_fd).empty()) << "the container did not start";

    auto logs = [&](std::vector<std::string> args, const std::string& out) {
        SpawnOptions o;
        o.stdout_file = (dir.path() / out).string();
        o.stderr_file = (dir.path() / (out + ".err")).string();
        o.env = env;
        args.insert(args.begin(), {ringlogctlPath(), "logs"});
        return spawn(args, o);
    };
    // -o raw: both streams on stdout, in the order written (docker's default splits them).
    Process follower = logs({"-f", "-o", "raw", "cached"}, "follow.out");
    go.closeWrite();  // the container writes
    ASSERT_EQ(container.wait(), 0) << daemon.log();
    EXPECT_EQ(follower.wait(), 0) << readFile(dir.path() / "follow.out.err");
    ASSERT_EQ(logs({"-o", "raw", "cached"}, "logs.out").wait(), 0)
        << readFile(dir.path() / "logs.out.err");

    // Each stream's lines, in order, once; nothing else.
    auto check = [&](const std::string& what) {
        SCOPED_TRACE(what);
        long long next[2] = {0, 0};
        for (const auto& line : splitLines(readFile(dir.path() / what))) {
            int s = startsWith(line, "stderr-") ? 1 : 0;
            ASSERT_TRUE(startsWith(line, linePrefix(s == 0 ? "stdout" : "stderr", next[s])))
                << "expected line " << next[s] << " of " << (s == 0 ? "stdout" : "stderr")
                << ", got " << line.substr(0, 40);
            ++next[s];
        }
        EXPECT_EQ(next[0], kLines / 2);
        EXPECT_EQ(next[1], kLines / 2);
    };
    check("follow.out");
    check("logs.out");
    EXPECT_EQ(server.waitForRecords(Input::Tcp, kLines).size(), static_cast<size_t>(kLines));
    ASSERT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
}  // namespace ringlog::test
