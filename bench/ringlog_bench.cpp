// ringlog-bench: ringlogd against the physical limit, measured in the same run, printed as one
// table (docs/performance.md). Run it with bench/run.sh (a release build); --smoke makes every
// measurement tiny, to see in CI that the benchmarks still work.
//
// It uses the integration tests' harness (tests/integration/harness.h): the real ringlogd,
// ringlogctl and line_writer binaries, real pipes, a private dbus-daemon and, as root, a private
// systemd-journald. Nothing is mocked and nothing is timed inside ringlogd itself.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.h"
#include "ringlog/client.h"
#include "rsyslog_server.h"

namespace ringlog::bench {
namespace {

using namespace ringlog::test;
using Clock = std::chrono::steady_clock;

constexpr int kWidth = 100;  // bytes per line, newline included

struct Options {
    bool smoke = false;
    bool large = false;  // also the 10 GiB query log
    std::string only;    // one section: ingest, memory, follow, query, journald, nonblocking, push
    std::vector<int> containers = {1, 10, 100, 1000};  // for ingest
};
std::vector<std::string> g_daemon_args;

double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

int64_t realtimeNs() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// ---- what the kernel says about a process ----

double cpuSeconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; fields >> f; ++i) {
        if (i == 14)
            utime = std::stoull(f);
        if (i == 15) {
            stime = std::stoull(f);
            break;
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long statusKb(pid_t pid, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + ":", 0) == 0)
            return std::stol(line.substr(key.size() + 1));
    return -1;
}

// ---- the table ----

struct Row {
    std::string what, ringlogd, limit, ratio, target;
};
std::vector<Row> g_rows;

[[gnu::format(printf, 1, 2)]] std::string fmt(const char* f, ...) {
    char buf[64];
    va_list args;
    va_start(args, f);
    std::vsnprintf(buf, sizeof buf, f, args);
    va_end(args);
    return buf;
}

void row(std::string what, std::string ringlogd, std::string limit, std::string ratio,
         std::string target) {
    std::printf("  %-58s %-26s %-22s %-9s %s\n", what.c_str(), ringlogd.c_str(), limit.c_str(),
                ratio.c_str(), target.c_str());
    std::fflush(stdout);
    g_rows.push_back({std::move(what), std::move(ringlogd), std::move(limit), std::move(ratio),
                      std::move(target)});
}

std::string verdict(bool met, const std::string& target) {
    return (met ? "met: " : "MISSED: ") + target;
}

std::string rate(double per_s) {
    return per_s >= 1e6 ? fmt("%.2f M/s", per_s / 1e6) : fmt("%.0f k/s", per_s / 1e3);
}

// ---- writers ----

// line_writer processes, one per pipe, held at a go pipe so they start together.
struct Writers {
    std::vector<Process> procs;
    Pipe go;
    void start() {
        go.closeRead();
        go.closeWrite();  // EOF on the go pipe: everyone starts
    }
    void wait() {
        for (auto& p : procs)
            p.wait();
    }
};

Process startWriter(int out_fd, long long lines, int go_fd) {
    SpawnOptions o;
    o.stdout_fd = out_fd;
    o.keep_fds = {go_fd};
    return spawn({lineWriterPath(), "--lines", std::to_string(lines), "--width",
                  std::to_string(kWidth), "--go-fd", std::to_string(go_fd)},
                 o);
}

// Attaches `fd` as the stdout of container `id` (its name too), as an engine would.
void attach(const Daemon& d, const std::string& id, int fd, const char* const* log_opts = nullptr,
            const char* mode = nullptr, const char* driver = nullptr) {
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = id.c_str();
    a.driver = driver;
    a.name = id.c_str();
    a.stdout_fd = fd;
    a.log_opts = log_opts;
    a.mode = mode;
    char err[512];
    if (ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err) != 0)
        throw std::runtime_error("attach " + id + ": " + err);
}

int countOccurrences(std::string_view text, std::string_view what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

// Waits until ringlogd's log says `n` containers exited (persisted everything and finished).
// Reads only what the log gained since the last look: the benchmark must not spend the CPU it
// measures (rereading the whole log every 5 ms cost a tenth of ringlogd's CPU at 1,000
// containers, whose log grows by a line per container).
void waitForExited(const Daemon& d, int n) {
    std::ifstream log(d.logPath(), std::ios::binary);
    if (!log)
        throw std::runtime_error("opening " + d.logPath().string() + ": " + std::strerror(errno));
    std::string unread;  // the last, unfinished line
    char buf[64 * 1024];
    for (int seen = 0; seen < n;) {
        log.clear();  // past the end is not the end: ringlogd is still writing
        auto got = log.read(buf, sizeof buf).gcount();
        if (got <= 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
        }
        unread.append(buf, static_cast<size_t>(got));
        size_t end = unread.rfind('\n');
        if (end == std::string::npos)
            continue;
        seen += countOccurrences(std::string_view(unread).substr(0, end), " exited: ");
        unread.erase(0, end + 1);
    }
}

// ---- ingest into json-file, against cat ----

// With RINGLOG_BENCH_WINDOW set, says on stderr when a measurement ran, in CLOCK_MONOTONIC seconds
// (steady_clock here; `perf record -k CLOCK_MONOTONIC` there), so that a profile of a whole run
// can be cut to it: perf report --time START,END --pid PID (docs/performance.md).
void tellProfileWindow(Clock::time_point from, Clock::time_point to, pid_t pid) {
    if (std::getenv("RINGLOG_BENCH_WINDOW") == nullptr)
        return;
    auto at = [](Clock::time_point t) {
        return std::chrono::duration<double>(t.time_since_epoch()).count();
    };
    std::fprintf(stderr, "measured window %.6f,%.6f ringlogd pid %d\n", at(from), at(to),
                 static_cast<int>(pid));
}

struct IngestResult {
    double lines_per_s = 0, cpu_per_mline = 0, cpu_per_gib = 0;
    long peak_rss_kb = 0;
    int threads = 0;
};

double catLimit(const fs::path& dir, int containers, long long lines_each) {
    fs::create_directories(dir);
    Writers w;
    std::vector<Process> cats;
    for (int i = 0; i < containers; ++i) {
        Pipe p;
        w.procs.push_back(startWriter(p.write_fd, lines_each, w.go.read_fd));
        SpawnOptions o;
        o.stdin_fd = p.read_fd;
        o.stdout_file = (dir / ("cat-" + std::to_string(i))).string();
        cats.push_back(spawn({"/bin/cat"}, o));
    }
    auto t0 = Clock::now();
    w.start();
    w.wait();
    for (auto& c : cats)
        c.wait();
    double s = seconds(t0, Clock::now());
    fs::remove_all(dir);
    return static_cast<double>(containers) * static_cast<double>(lines_each) / s;
}

// Into json-file, or the driver named.
IngestResult ingestJsonFile(const fs::path& dir, int containers, long long lines_each,
                            const char* driver = nullptr) {
    std::vector<std::string> args = {"--max-containers", std::to_string(containers + 16)};
    args.insert(args.end(), g_daemon_args.begin(), g_daemon_args.end());
    Daemon d(dir, args);
    Writers w;
    for (int i = 0; i < containers; ++i) {
        Pipe p;
        std::string id = "bench" + std::to_string(i);
        attach(d, id, p.read_fd, nullptr, nullptr, driver);
        w.procs.push_back(startWriter(p.write_fd, lines_each, w.go.read_fd));
    }
    double cpu0 = cpuSeconds(d.pid());
    auto t0 = Clock::now();
    w.start();
    w.wait();
    waitForExited(d, containers);
    auto t1 = Clock::now();
    double s = seconds(t0, t1);
    tellProfileWindow(t0, t1, d.pid());
    IngestResult r;
    double lines = static_cast<double>(containers) * static_cast<double>(lines_each);
    double cpu = cpuSeconds(d.pid()) - cpu0;
    r.lines_per_s = lines / s;
    r.cpu_per_mline = cpu / (lines / 1e6);
    r.cpu_per_gib = cpu / (lines * kWidth / double(1 << 30));
    r.peak_rss_kb = statusKb(d.pid(), "VmHWM");
    r.threads = d.threadCount();
    d.stop();
    fs::remove_all(dir);
    return r;
}

void benchIngest(const fs::path& root, const Options& o) {
    std::printf(
        "\ningest, json-file, %d-byte lines, writers as fast as they can (limit: the same "
        "writers through pipes into cat > file, same disk)\n",
        kWidth);
    long long total = o.smoke ? 20'000 : 5'000'000;
    double single = 0;
    for (int n : o.containers) {
        if (o.smoke && n > 10)
            break;
        long long each = std::max<long long>(total / n, 100);
        double limit = catLimit(root / "cat", n, each);
        IngestResult r = ingestJsonFile(root / "ingest", n, each);
        std::string what = std::to_string(n) + (n == 1 ? " container" : " containers");
        double ratio = r.lines_per_s / limit;
        std::string target;
        if (n == 1) {
            single = r.lines_per_s;
            target = verdict(r.lines_per_s >= 2e6 && ratio >= 0.5, ">= 2 M/s and >= 0.50 of cat");
        } else if (n == 1000 && single > 0) {
            target = verdict(r.lines_per_s >= 0.8 * single, ">= 0.80 of 1 container");
        }
        row(what + ": lines/s", rate(r.lines_per_s), rate(limit), fmt("%.2f", ratio), target);
        row(what + ": MB/s of input", fmt("%.0f MB/s", r.lines_per_s * kWidth / 1e6),
            fmt("%.0f MB/s", limit * kWidth / 1e6), "", "");
        row(what + ": ringlogd CPU-s per million lines / per GiB",
            fmt("%.3f", r.cpu_per_mline) + " / " + fmt("%.2f", r.cpu_per_gib), "", "",
            n == 1 ? verdict(r.cpu_per_mline <= 0.35, "<= 0.35 per M lines") : "");
        row(what + ": ringlogd peak RSS, threads",
            fmt("%.1f MiB", static_cast<double>(r.peak_rss_kb) / 1024.0) + ", " +
                std::to_string(r.threads),
            "", "", "");
        if (n == 1) {
            // The CRI format kubelet reads: the same writers, the same cat, another driver.
            IngestResult k = ingestJsonFile(root / "ingest", n, each, "k8s-file");
            double k_ratio = k.lines_per_s / limit;
            row("1 container, k8s-file: lines/s", rate(k.lines_per_s), rate(limit),
                fmt("%.2f", k_ratio), verdict(k_ratio >= ratio, ">= json-file's ratio"));
            row("1 container, k8s-file: ringlogd CPU-s per million lines",
                fmt("%.3f", k.cpu_per_mline), "", "", "");
        }
    }
}

// ---- memory ----

void benchMemory(const fs::path& root, const Options& o) {
    std::printf("\nmemory: ringlogd's RSS idle, and per attached idle container\n");
    // A json-file container costs ringlogd four fds (pipe, ring, log file, its directory).
    struct rlimit nofile;
    getrlimit(RLIMIT_NOFILE, &nofile);
    int most = static_cast<int>(std::min<rlim_t>(10000, (nofile.rlim_max - 256) / 4));
    std::vector<int> counts = o.smoke ? std::vector<int>{100} : std::vector<int>{1000, most};
    if (most < 10000)
        std::printf(
            "  (10,000 containers need 40,000 fds; this machine's hard limit of %lu "
            "allows %d)\n",
            static_cast<unsigned long>(nofile.rlim_max), most);
    for (int n : counts) {
        Daemon d(root / "memory", {"--max-containers", std::to_string(n + 16)});
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        long idle = statusKb(d.pid(), "VmRSS");
        std::vector<int> keep;  // the write ends: the containers stay attached, writing nothing
        for (int i = 0; i < n; ++i) {
            int fds[2];
            if (::pipe2(fds, O_CLOEXEC) != 0)
                throw std::runtime_error("pipe: raise the open-file limit");
            std::string id = "idle" + std::to_string(i);
            attach(d, id, fds[0]);
            ::close(fds[0]);
            keep.push_back(fds[1]);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        long attached = statusKb(d.pid(), "VmRSS");
        double per = static_cast<double>(attached - idle) * 1024.0 / n;
        if (n == counts.front())
            row("daemon RSS, idle", fmt("%.1f MiB", static_cast<double>(idle) / 1024.0), "", "",
                verdict(idle <= 8 * 1024, "<= 8 MiB"));
        row(std::to_string(n) + " idle containers: RSS per container", fmt("%.1f KiB", per / 1024),
            "conmon: ~270 KB", "", verdict(per <= 16 * 1024, "<= 16 KiB"));
        for (int fd : keep)
            ::close(fd);
        waitForExited(d, n);
        d.stop();
        fs::remove_all(root / "memory");
    }
}

// ---- D-Bus: follow latency and queries ----

// Runs a command with its stdout to /dev/null; returns its seconds, start to exit.
double timeCommand(const std::vector<std::string>& argv,
                   const std::map<std::string, std::string>& env = {}) {
    SpawnOptions o;
    o.env = env;
    o.stdout_file = "/dev/null";
    auto t0 = Clock::now();
    if (spawn(argv, o).wait() != 0)
        throw std::runtime_error(argv[0] + " failed");
    return seconds(t0, Clock::now());
}

struct BusDaemon {
    DbusDaemon bus;
    Daemon daemon;
    std::map<std::string, std::string> env;
    BusDaemon(const fs::path& dir, std::vector<std::string> args)
        : bus(dir / "bus"),
          daemon(dir, withBus(std::move(args)), {{"DBUS_SYSTEM_BUS_ADDRESS", bus.address()}}) {
        env["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address();
    }
    static std::vector<std::string> withBus(std::vector<std::string> args) {
        args.insert(args.end(), {"--dbus", "yes"});
        return args;
    }
    // `ringlogctl logs <args>` to /dev/null; returns its seconds, start to exit.
    double logs(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {ringlogctlPath(), "logs"};
        argv.insert(argv.end(), args.begin(), args.end());
        return timeCommand(argv, env);
    }
};

void benchFollowLatency(const fs::path& root, const Options& o) {
    std::printf(
        "\nfollow latency: the writer's write() to the line on a Query(follow) pipe, "
        "through ringlogctl logs -f\n");
    BusDaemon b(root / "follow", {});
    Pipe p;
    attach(b.daemon, "follow", p.read_fd);
    p.closeRead();
    Pipe out;
    SpawnOptions so;
    so.env = b.env;
    so.stdout_fd = out.write_fd;
    Process follower = spawn({ringlogctlPath(), "logs", "-f", "follow"}, so);
    out.closeWrite();
    // A first line, to know the follower is there.
    (void)!::write(p.write_fd, "hello\n", 6);
    if (readLine(out.read_fd) != "hello\n")
        throw std::runtime_error("the follower did not start");
    int n = o.smoke ? 50 : 2000;
    std::vector<double> ms;
    std::thread reader([&] {
        for (int i = 0; i < n; ++i) {
            std::string line = readLine(out.read_fd);
            int64_t now = realtimeNs();
            ms.push_back(static_cast<double>(now - std::atoll(line.c_str())) / 1e6);
        }
    });
    for (int i = 0; i < n; ++i) {
        std::string line = std::to_string(realtimeNs()) + "\n";
        (void)!::write(p.write_fd, line.data(), line.size());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    reader.join();
    p.closeWrite();
    follower.wait();
    std::sort(ms.begin(), ms.end());
    double p50 = ms[ms.size() / 2], p99 = ms[ms.size() * 99 / 100], max = ms.back();
    row("follow latency p50 / p99 / max (ms)",
        fmt("%.2f", p50) + " / " + fmt("%.2f", p99) + " / " + fmt("%.2f", max),
        "docker journald: 250 poll", "", verdict(p99 <= 5, "p99 <= 5 ms"));
    b.daemon.stop();
    fs::remove_all(root / "follow");
}

void benchQueries(const fs::path& root, const Options& o) {
    std::printf(
        "\nqueries end to end (ringlogctl logs over D-Bus), against tail and cat on the "
        "same files\n");
    struct Size {
        std::string name;
        long long lines;
        std::string max_size;
    };
    std::vector<Size> sizes = {{"10 MiB", 62'000, "100m"}, {"1 GiB", 6'300'000, "100m"}};
    if (o.large)
        sizes.push_back({"10 GiB", 63'000'000, "1g"});
    if (o.smoke)
        sizes = {{"1 MiB", 6'200, "100k"}};
    for (const auto& size : sizes) {
        BusDaemon b(root / "query", {});
        Pipe p;
        std::string max_file = "max-file=20";
        std::string max_size = "max-size=" + size.max_size;
        const char* opts[] = {max_size.c_str(), max_file.c_str(), nullptr};
        attach(b.daemon, "query", p.read_fd, opts);
        Process w = startWriter(p.write_fd, size.lines, -1);
        p.closeRead();
        p.closeWrite();
        w.wait();
        waitForExited(b.daemon, 1);
        fs::path dir = b.daemon.logRoot() / "query";
        std::vector<std::string> files;
        for (int i = 20; i >= 1; --i)
            if (fs::exists(dir / ("query-json.log." + std::to_string(i))))
                files.push_back((dir / ("query-json.log." + std::to_string(i))).string());
        files.push_back((dir / "query-json.log").string());
        // The time of the 100th line from the end: --since it asks for the last 100 lines.
        std::string tail_out = (root / "tail.out").string();
        SpawnOptions to;
        to.stdout_file = tail_out;
        ::unlink(tail_out.c_str());
        spawn({"/usr/bin/tail", "-n", "100", files.back()}, to).wait();
        std::string first = readFile(tail_out);
        size_t t = first.find("\"time\":\"") + 8;
        std::string since = first.substr(t, first.find('"', t) - t);

        double tail_limit = timeCommand({"/usr/bin/tail", "-n", "100", files.back()});
        std::vector<std::string> cat = {"/bin/cat"};
        cat.insert(cat.end(), files.begin(), files.end());
        double cat_limit = timeCommand(cat);
        auto ms = [](double s) { return fmt("%.1f ms", s * 1e3); };
        bool gib = size.name == "1 GiB";
        double tail = b.logs({"--tail", "100", "query"});
        row(size.name + " log: logs --tail 100", ms(tail), "tail -n 100: " + ms(tail_limit), "",
            gib ? verdict(tail <= 0.010, "<= 10 ms") : "");
        double since_s = b.logs({"--since", since, "query"});
        row(size.name + " log: logs --since (last 100 lines)", ms(since_s), "", "",
            gib ? verdict(since_s <= 0.020, "<= 20 ms") : "");
        double full = b.logs({"query"});
        row(size.name + " log: full logs, raw", ms(full), "cat: " + ms(cat_limit),
            fmt("%.2f", cat_limit / full), gib ? verdict(full <= 2.0, "<= 2 s") : "");
        double full_json = b.logs({"--format", "json", "query"});
        row(size.name + " log: full logs, json", ms(full_json), "", "", "");
        b.daemon.stop();
        fs::remove_all(root / "query");
    }
}

// ---- log files (docs/log-files.md): collection of a log directory, against cat ----

// Three files of line_writer's lines in a container's log directory, written before the attach;
// ringlogd reads them to their end once the container's pipe closes, and the container exits
// when every line is persisted (json-file). Against `cat` of the same files (from the page
// cache, like ringlogd's reads).
void benchLogFiles(const fs::path& root, const Options& o) {
    std::printf("\nlog-file collection (a log directory of 3 files), against cat of the files\n");
    long long per_file = o.smoke ? 20'000 : 1'000'000;
    fs::path pods = root / "files-pods", dir = pods / "pod" / "applog";
    fs::create_directories(dir);
    std::vector<std::string> cat = {"/bin/cat"};
    for (const char* name : {"a.log", "b.log", "c.log"}) {
        SpawnOptions so;
        so.stdout_file = (dir / name).string();
        spawn({lineWriterPath(), "--lines", std::to_string(per_file), "--width",
               std::to_string(kWidth)},
              so)
            .wait();
        cat.push_back((dir / name).string());
    }
    double cat_s = timeCommand(cat);
    std::vector<std::string> args = {"--log-dir-roots", pods.string()};
    args.insert(args.end(), g_daemon_args.begin(), g_daemon_args.end());
    Daemon d(root / "files", args);
    Pipe p;
    std::string log_dir = "log-dir=" + dir.string();
    const char* opts[] = {log_dir.c_str(), nullptr};
    auto t0 = Clock::now();
    attach(d, "files", p.read_fd, opts);
    p.closeRead();
    p.closeWrite();
    waitForExited(d, 1);
    double ours = seconds(t0, Clock::now());
    double lines = static_cast<double>(3 * per_file);
    row("log files: lines/s into json-file", rate(lines / ours), "cat: " + rate(lines / cat_s),
        fmt("%.3f", cat_s / ours), "");
    d.stop();
    fs::remove_all(root / "files");
    fs::remove_all(pods);
}

// ---- journald, against a bare sd_journal_sendv loop (root: a private journald) ----

// Child mode: sends `n` entries with sd_journal_sendv, with the same fields as the journald
// driver's entries (docs/drivers/journald.md), so journald does the same work per entry.
int sendvLoop(long long n) {
    std::string filler(kWidth - 1 - 17, 'x');
    std::vector<std::string> fixed = {
        "PRIORITY=6",
        "CONTAINER_STREAM=stdout",
        "CONTAINER_LOG_EPOCH=0123456789abcdef0123456789abcdef",
        "CONTAINER_ID=bare00000000",
        "CONTAINER_ID_FULL=bare000000000000000000000000000000000000000000000000000000000000",
        "CONTAINER_NAME=bare",
        "CONTAINER_TAG=bare00000000",
        "IMAGE_NAME=",
        "SYSLOG_IDENTIFIER=bare00000000",
    };
    for (long long i = 0; i < n; ++i) {
        std::string message =
            "MESSAGE=stdout-" + std::to_string(1'000'000'000 + i).substr(1) + "-" + filler;
        std::string when;
        int64_t t = realtimeNs();
        char stamp[64];
        time_t secs = static_cast<time_t>(t / 1'000'000'000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        when = "SYSLOG_TIMESTAMP=" + std::string(stamp) + "." + std::to_string(t % 1'000'000'000) +
               "Z";
        std::string ordinal = "CONTAINER_LOG_ORDINAL=" + std::to_string(i + 1);
        std::vector<struct iovec> iov;
        for (const std::string* f : {&message, &when, &ordinal})
            iov.push_back({const_cast<char*>(f->data()), f->size()});
        for (const auto& f : fixed)
            iov.push_back({const_cast<char*>(f.data()), f.size()});
        int r;
        while ((r = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()))) == -EAGAIN)
            ;
        if (r < 0)
            return 1;
    }
    return 0;
}

void benchJournald(const fs::path& root, const Options& o) {
    std::printf(
        "\njournald ingest, against a bare sd_journal_sendv loop into the same private "
        "journald\n");
    if (::geteuid() != 0) {
        row("journald", "skipped: needs root (a private journald)", "", "", "");
        return;
    }
    long long n = o.smoke ? 2'000 : 200'000;
    Journald j(root / "journal");
    auto argv = j.inside();
    argv.insert(argv.end(),
                {fs::read_symlink("/proc/self/exe").string(), "--sendv-loop", std::to_string(n)});
    auto t0 = Clock::now();
    if (spawn(argv).wait() != 0)
        throw std::runtime_error("the sd_journal_sendv loop failed");
    j.journalctl({"-n", "1", "CONTAINER_NAME=bare"});  // includes --sync: written, not queued
    double bare = static_cast<double>(n) / seconds(t0, Clock::now());

    Daemon d(root / "jd", {"--default-driver", "journald"}, {}, j.inside());
    Pipe p;
    attach(d, "journalbench", p.read_fd);
    Process w = startWriter(p.write_fd, n, -1);
    p.closeRead();
    p.closeWrite();
    t0 = Clock::now();
    w.wait();
    waitForExited(d, 1);
    std::string count =
        j.journalctl({"-o", "cat", "--output-fields=MESSAGE", "CONTAINER_NAME=journalbench"});
    double ours = static_cast<double>(n) / seconds(t0, Clock::now());
    long long got = std::count(count.begin(), count.end(), '\n');
    row("journald: entries/s, 1 container", rate(ours), "sendv loop: " + rate(bare),
        fmt("%.2f", ours / bare),
        verdict(ours >= 0.9 * bare && got == n, ">= 0.90 of the loop, none lost"));
    row("journald: lines in the journal", std::to_string(got) + " of " + std::to_string(n), "", "",
        "");
    d.stop();
}

// ---- non-blocking mode under overload ----

void benchNonBlocking(const fs::path& root, const Options& o) {
    std::printf("\nnon-blocking mode: a writer at full speed against a driver capped at 20 MB/s\n");
    long long n = o.smoke ? 50'000 : 2'000'000;
    Daemon d(root / "nb", {});
    Pipe p;
    const char* opts[] = {"max-write-rate=20m", nullptr};
    attach(d, "nonblocking", p.read_fd, opts, "non-blocking");
    Process w = startWriter(p.write_fd, n, -1);
    p.closeRead();
    p.closeWrite();
    auto t0 = Clock::now();
    w.wait();
    double writer_s = seconds(t0, Clock::now());
    waitForExited(d, 1);
    long long kept = 0, dropped = 0;
    for (const auto& r : readJsonLog(d.logFile("nonblocking"))) {
        ++kept;
        size_t at = r.attrs.find("\"ringlog.dropped_lines\":\"");
        if (at != std::string::npos)
            dropped += std::atoll(r.attrs.c_str() + at + 25);
    }
    row("non-blocking: lines dropped at a 20 MB/s driver",
        fmt("%.1f %%", 100.0 * static_cast<double>(dropped) / static_cast<double>(n)), "", "",
        verdict(kept + dropped == n, "kept + counted drops = written"));
    row("non-blocking: the writer's time for " + std::to_string(n) + " lines",
        fmt("%.2f s", writer_s), "", "", "");
    d.stop();
}

// ---- push over the socket, against the same lines through a pipe ----

// Child mode: pushes `n` lines like line_writer's (kWidth bytes with the newline) into container
// `id` as fast as one connection of libringlog-client takes them, as many lines per request as
// fit (docs/protocol.md, "Push").
int pushLoop(const std::string& socket, const std::string& id, long long n) {
    char err[RINGLOG_MAX_REPLY_BYTES];
    ringlog_pusher* p = ringlog_pusher_open(socket.c_str(), err, sizeof err);
    if (p == nullptr) {
        std::fprintf(stderr, "push loop: %s\n", err);
        return 1;
    }
    size_t per_request = (RINGLOG_MAX_REQUEST_BYTES - 8 - (8 + id.size())) / (8 + kWidth - 1);
    std::string filler(kWidth - 1 - 17, 'x');
    std::vector<std::string> lines(per_request);
    std::vector<const char*> ptrs(per_request);
    std::vector<size_t> lengths(per_request, kWidth - 1);
    for (long long sent = 0; sent < n;) {
        size_t k = static_cast<size_t>(std::min<long long>(per_request, n - sent));
        for (size_t i = 0; i < k; ++i) {
            lines[i] = linePrefix("stdout", sent + static_cast<long long>(i)) + filler;
            ptrs[i] = lines[i].data();
        }
        int r = ringlog_pusher_send(p, id.c_str(), nullptr, ptrs.data(), lengths.data(), k, err,
                                    sizeof err);
        if (r == RINGLOG_STATUS_RETRY_LATER)
            continue;
        if (r != 0) {
            std::fprintf(stderr, "push loop: %s\n", err);
            return 1;
        }
        sent += static_cast<long long>(k);
    }
    ringlog_pusher_close(p);
    return 0;
}

void benchPush(const fs::path& root, const Options& o) {
    std::printf(
        "\npush: %d-byte lines pushed over the ingest socket by one connection of "
        "libringlog-client, as many per request as fit, into json-file (limit: the same lines "
        "written into a pipe by line_writer, into json-file)\n",
        kWidth);
    long long n = o.smoke ? 20'000 : 5'000'000;
    IngestResult piped = ingestJsonFile(root / "piped", 1, n);
    Daemon d(root / "push", {});
    Pipe held;  // the container ends when its pipe closes, as the piped one does
    const char* opts[] = {"push-rate=0", nullptr};
    attach(d, "push", held.read_fd, opts);
    held.closeRead();
    double cpu0 = cpuSeconds(d.pid());
    auto t0 = Clock::now();
    Process pusher = spawn({fs::read_symlink("/proc/self/exe").string(), "--push-loop", d.socket(),
                            "push", std::to_string(n)});
    if (pusher.wait() != 0)
        throw std::runtime_error("the push loop failed");
    held.closeWrite();
    waitForExited(d, 1);
    auto t1 = Clock::now();
    tellProfileWindow(t0, t1, d.pid());
    double pushed = static_cast<double>(n) / seconds(t0, t1);
    double cpu = cpuSeconds(d.pid()) - cpu0;
    size_t persisted = readJsonLog(d.logFile("push")).size();
    row("push: lines/s over the socket, 1 connection", rate(pushed),
        "pipe: " + rate(piped.lines_per_s), fmt("%.2f", pushed / piped.lines_per_s),
        verdict(persisted == static_cast<size_t>(n), "every line persisted"));
    row("push: ringlogd CPU-s per million lines", fmt("%.2f", cpu / (static_cast<double>(n) / 1e6)),
        fmt("pipe: %.2f", piped.cpu_per_mline), "", "");
    d.stop();
}

// ---- syslog, against a bare socket writer into the same rsyslogd ----

// Child mode: sends `n` line_writer lines to rsyslogd on 127.0.0.1:`port` as the syslog driver
// sends them over TCP in rfc5424 (docs/drivers/syslog.md): the same header, structured data and
// octet-counted frames, in writes of 64 KiB.
int syslogLoop(int port, long long n) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        return 1;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string tag = "bare00000000";
    const std::string sd = "[ringlog@32473 container_id=\"bare" + std::string(60, '0') +
                           "\" container_name=\"bare\" image_name=\"\"] ";
    const std::string filler(kWidth - 1 - 17, 'x');
    std::string buf, message;
    for (long long i = 0; i < n; ++i) {
        char stamp[32];
        time_t now = time(nullptr);
        struct tm tm;
        gmtime_r(&now, &tm);
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        message = "<30>1 " + std::string(stamp) + " " + host + " " + tag + " " +
                  std::to_string(getpid()) + " " + tag + " " + sd + "stdout-" +
                  std::to_string(1'000'000'000 + i).substr(1) + "-" + filler + "\n";
        buf += std::to_string(message.size()) + " " + message;
        if (buf.size() >= 64 * 1024 || i + 1 == n) {
            for (size_t done = 0; done < buf.size();) {
                ssize_t w = ::write(fd, buf.data() + done, buf.size() - done);
                if (w <= 0)
                    return 1;
                done += static_cast<size_t>(w);
            }
            buf.clear();
        }
    }
    ::close(fd);
    return 0;
}

void benchSyslog(const fs::path& root, const Options& o) {
    std::printf(
        "\nsyslog driver into a real rsyslogd (TCP, rfc5424), against a bare socket writer "
        "sending the same messages into the same rsyslogd; end to end, until rsyslogd wrote "
        "them; each twice, alternating, the better run of each\n");
    long long n = o.smoke ? 2'000 : 150'000;
    using Input = RsyslogServer::Input;
    RsyslogServer server(root / "rsyslog");
    std::string address = server.address(Input::Tcp);
    int port = std::stoi(address.substr(address.rfind(':') + 1));
    Daemon d(root / "syslog", {});
    std::string address_opt = "syslog-address=" + address;
    // The driver alone: no local cache beside it.
    const char* opts[] = {address_opt.c_str(), "syslog-format=rfc5424", "cache-disabled=true",
                          nullptr};
    double bare = 0, ours = 0, cpu = 0;
    size_t total = 0;
    for (int round = 0; round < 2; ++round) {
        auto t0 = Clock::now();
        if (spawn({fs::read_symlink("/proc/self/exe").string(), "--syslog-loop",
                   std::to_string(port), std::to_string(n)})
                .wait() != 0)
            throw std::runtime_error("the bare syslog writer failed");
        total += static_cast<size_t>(n);
        server.waitForCount(Input::Tcp, total, std::chrono::seconds(300));
        bare = std::max(bare, static_cast<double>(n) / seconds(t0, Clock::now()));

        Pipe p;
        std::string id = "syslogbench" + std::to_string(round);
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = id.c_str();
        a.name = id.c_str();
        a.driver = "syslog";
        a.log_opts = opts;
        a.stdout_fd = p.read_fd;
        char err[512];
        if (ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err) != 0)
            throw std::runtime_error("attach " + id + ": " + err);
        double cpu0 = cpuSeconds(d.pid());
        t0 = Clock::now();
        Process w = startWriter(p.write_fd, n, -1);
        p.closeRead();
        p.closeWrite();
        w.wait();
        total += static_cast<size_t>(n);
        server.waitForCount(Input::Tcp, total, std::chrono::seconds(300));
        double rate_now = static_cast<double>(n) / seconds(t0, Clock::now());
        if (rate_now > ours) {
            ours = rate_now;
            cpu = cpuSeconds(d.pid()) - cpu0;
        }
    }
    row("syslog (TCP, rfc5424): lines/s into rsyslogd, 1 container", rate(ours),
        "bare writer: " + rate(bare), fmt("%.2f", ours / bare),
        verdict(ours >= 0.9 * bare, ">= 0.90 of the bare writer"));
    row("syslog: ringlogd CPU-s per million lines",
        fmt("%.3f", cpu / (static_cast<double>(n) / 1e6)), "", "", "");
    d.stop();
}

}  // namespace
}  // namespace ringlog::bench

int main(int argc, char** argv) {
    using namespace ringlog::bench;
    if (argc == 3 && std::string(argv[1]) == "--sendv-loop")
        return sendvLoop(std::atoll(argv[2]));
    if (argc == 4 && std::string(argv[1]) == "--syslog-loop")
        return syslogLoop(std::atoi(argv[2]), std::atoll(argv[3]));
    if (argc == 5 && std::string(argv[1]) == "--push-loop")
        return pushLoop(argv[2], argv[3], std::atoll(argv[4]));
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--smoke") {
            o.smoke = true;
        } else if (a == "--large") {
            o.large = true;
        } else if (a == "--only" && i + 1 < argc) {
            o.only = argv[++i];
        } else if (a == "--containers" && i + 1 < argc) {
            o.containers.clear();
            std::stringstream list(argv[++i]);
            for (std::string n; std::getline(list, n, ',');)
                o.containers.push_back(std::atoi(n.c_str()));
        } else if (a == "--daemon-arg" && i + 1 < argc) {
            g_daemon_args.push_back(argv[++i]);
        } else {
            std::fprintf(stderr,
                         "usage: ringlog-bench [--smoke] [--large] [--only SECTION] "
                         "[--containers N[,N...]]\n"
                         "  --smoke         tiny sizes: check that every benchmark still runs\n"
                         "  --large         also query a 10 GiB log (needs ~17 GiB of disk)\n"
                         "  --only SECTION  ingest, memory, follow, query, journald, "
                         "nonblocking, syslog or push\n"
                         "  --containers N[,N...]  ingest with these numbers of containers only\n"
                         "  --daemon-arg A  pass A to ringlogd in the ingest runs (repeatable)\n");
            return 2;
        }
    }
    // 10,000 containers cost ringlogd about 40,000 fds (pipe, ring, log file and directory).
    struct rlimit nofile;
    getrlimit(RLIMIT_NOFILE, &nofile);
    struct rlimit wanted = {1 << 18, 1 << 18};
    if (nofile.rlim_max >= wanted.rlim_max || setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    signal(SIGPIPE, SIG_IGN);
    ringlog::test::TempDir tmp;
    std::printf(
        "ringlog-bench%s: %ld cores; each row: ringlogd, the limit measured in the same run, "
        "their ratio, the target\n",
        o.smoke ? " (smoke)" : "", sysconf(_SC_NPROCESSORS_ONLN));
    try {
        const std::pair<const char*, void (*)(const fs::path&, const Options&)> sections[] = {
            {"ingest", benchIngest}, {"memory", benchMemory},     {"follow", benchFollowLatency},
            {"query", benchQueries}, {"journald", benchJournald}, {"nonblocking", benchNonBlocking},
            {"syslog", benchSyslog}, {"push", benchPush},         {"files", benchLogFiles},
        };
        for (const auto& [name, run] : sections)
            if (o.only.empty() || o.only == name)
                run(tmp.path(), o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ringlog-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
