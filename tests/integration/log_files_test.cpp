// Log-file collection (docs/log-files.md) through the real ringlogd: a container's log directory
// with files written by three writers, one rotated by rename and one by copytruncate while they
// write, one created late; every line arrives exactly once with its file name, also through kills
// and a restart of ringlogd under systemd. Planted links are not read, and the daemon's log says
// so.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "booted_systemd.h"
#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

constexpr long long kLines = loadVolume(6000, 1500);  // per file

std::string fileLine(char file, long long n) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%c-%09lld-", file, n);
    return std::string(buf) + std::string(60, static_cast<char>('a' + n % 26));
}

void writeAll(int fd, const std::string& text) {
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(3);
        off += static_cast<size_t>(n);
    }
}

// A writer process: lines [from, to) of `file` appended to `path`, as an application's logger
// does (O_APPEND). Every 50 lines it looks whether `path` is still its file and reopens it if
// not (a rename rotation, as WatchedFileHandler or a SIGHUP'd logger). At line `pause_at` it
// writes a byte on `paused` and waits for one on `resume`.
Process startWriter(const fs::path& path, char file, long long from, long long to,
                    long long pause_at = -1, int paused = -1, int resume = -1) {
    pid_t pid = ::fork();
    if (pid != 0)
        return Process{pid};
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    for (long long n = from; n < to; ++n) {
        if (n == pause_at) {
            char b = 1;
            (void)!::write(paused, &b, 1);
            (void)!::read(resume, &b, 1);
        }
        if (n % 50 == 0) {
            struct stat now, mine;
            if (::stat(path.c_str(), &now) != 0 ||
                (::fstat(fd, &mine) == 0 && mine.st_ino != now.st_ino)) {
                ::close(fd);
                fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            }
        }
        writeAll(fd, fileLine(file, n) + "\n");
    }
    _exit(0);
}

// Waits until `pred` holds for the text of `file`, woken by inotify on its directory; throws
// after 60 s (a bound for a broken build, not a measure).
template <typename Pred>
void waitForFile(const fs::path& file, Pred pred) {
    int in = ::inotify_init1(IN_CLOEXEC);
    ::inotify_add_watch(in, file.parent_path().c_str(), IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
        if (fs::exists(file) && pred(readFile(file)))
            break;
        if (std::chrono::steady_clock::now() > deadline) {
            ::close(in);
            throw std::runtime_error("timed out waiting for " + file.string());
        }
        struct pollfd p {
            in, POLLIN, 0
        };
        if (::poll(&p, 1, 200) == 1) {
            char buf[4096];
            (void)!::read(in, buf, sizeof buf);
        }
    }
    ::close(in);
}

size_t countOf(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
        ++n;
    return n;
}

// Of the lines 0…lines-1 of files a, b and c: how many `seen` (line → times) lacks, and how many
// it has more than once.
std::pair<size_t, size_t> missingAndDoubled(const std::map<std::string, int>& seen,
                                            long long lines) {
    size_t missing = 0, doubled = 0;
    for (char f : {'a', 'b', 'c'})
        for (long long n = 0; n < lines; ++n) {
            auto it = seen.find(fileLine(f, n) + "\n");
            if (it == seen.end())
                ++missing;
            else if (it->second != 1)
                ++doubled;
        }
    return {missing, doubled};
}

void attach(const Daemon& d, const std::string& id, const std::vector<std::string>& opts,
            int stdout_fd) {
    std::vector<const char*> log_opts;
    for (const auto& o : opts)
        log_opts.push_back(o.c_str());
    log_opts.push_back(nullptr);
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = id.c_str();
    a.log_opts = log_opts.data();
    a.stdout_fd = stdout_fd;
    char err[RINGLOG_MAX_REPLY_BYTES];
    ASSERT_EQ(ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err), 0) << err;
}

TEST(LogFiles, EveryLineOfEveryFileArrivesOnceWithItsNameThroughRotationsAndLinksAreRefused) {
    TempDir dir;
    fs::path root = dir.path() / "pods";
    fs::path logs = root / "pod-1" / "volumes" / "kubernetes.io~empty-dir" / "applog-web";
    fs::create_directories(logs);
    // Planted by the container: a symlink to a host secret, a hard link to a root-only file.
    fs::path secret = dir.path() / "root-only";
    {
        int fd = ::open(secret.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        writeAll(fd, "SECRET-HARD-LINKED\n");
        ::close(fd);
    }
    fs::create_symlink("/etc/shadow", logs / "shadow.log");
    ASSERT_EQ(::link(secret.c_str(), (logs / "linked.log").c_str()), 0) << std::strerror(errno);

    Daemon d(dir.path(), {"--log-dir-roots", root.string()});
    const std::string id = "logfiles0000000000000000000000000000000000000000000000000000000a";

    // a.log exists before the attach, half written; the rest after a rename rotation.
    Pipe a_paused, a_resume;
    Process a = startWriter(logs / "a.log", 'a', 0, kLines, kLines / 3 + 25, a_paused.write_fd,
                            a_resume.read_fd);
    ASSERT_EQ(readSome(a_paused.read_fd, 1).size(), 1u);

    Pipe out;
    attach(d, id, {"log-dir=" + logs.string()}, out.read_fd);
    out.closeRead();
    writeAll(out.write_fd, "piped line\n");

    // b.log: its first half, then copytruncate, then its second half.
    Process b1 = startWriter(logs / "b.log", 'b', 0, kLines / 2);
    // c.log: created late.
    Process c = startWriter(logs / "c.log", 'c', 0, kLines);

    // Rotation by rename while a's writer holds the file open: it writes on into a.log.1 until
    // it sees the rename, then into a new a.log.
    fs::rename(logs / "a.log", logs / "a.log.1");
    char go = 1;
    ASSERT_EQ(::write(a_resume.write_fd, &go, 1), 1);

    EXPECT_EQ(b1.wait(), 0);
    fs::path json = d.logFile(id);
    // copytruncate loses what is written between the copy and the truncation (so does
    // logrotate's): the writer waits until ringlogd has read the first half.
    waitForFile(json, [](const std::string& t) {
        return countOf(t, "\"log_file\":\"b.log\"") == static_cast<size_t>(kLines / 2);
    });
    fs::copy_file(logs / "b.log", logs / "b.log.1");
    ASSERT_EQ(::truncate((logs / "b.log").c_str(), 0), 0);
    waitForFile(d.logPath(), [](const std::string& t) {
        return t.find("log file b.log was truncated") != std::string::npos;
    });
    Process b2 = startWriter(logs / "b.log", 'b', kLines / 2, kLines);

    EXPECT_EQ(a.wait(), 0);
    EXPECT_EQ(b2.wait(), 0);
    EXPECT_EQ(c.wait(), 0);
    // Every pipe closed: the files are read to their end, then the container exits.
    out.closeWrite();
    waitForFile(d.logPath(), [&](const std::string& t) {
        return t.find("container " + id.substr(0, 12) + " exited") != std::string::npos;
    });

    auto records = readJsonLog(json);
    std::map<std::string, int> seen;
    size_t piped = 0;
    for (const auto& r : records) {
        if (r.log == "piped line\n") {
            EXPECT_EQ(r.attrs, "");
            ++piped;
            continue;
        }
        ASSERT_GE(r.log.size(), 2u);
        std::string name = std::string(1, r.log[0]) + ".log";
        EXPECT_EQ(r.attrs, "{\"log_file\":\"" + name + "\"}") << r.log;
        EXPECT_EQ(r.stream, "stdout");
        ++seen[r.log];
    }
    EXPECT_EQ(piped, 1u);
    auto [missing, doubled] = missingAndDoubled(seen, kLines);
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(doubled, 0u);
    EXPECT_EQ(records.size(), static_cast<size_t>(3 * kLines + 1));

    std::string log = readFile(d.logPath());
    EXPECT_EQ(log.find("SECRET-HARD-LINKED"), std::string::npos);
    EXPECT_NE(log.find("container " + id.substr(0, 12) + ": log file " + logs.string() +
                       "/shadow.log is not read: it is a symlink (never followed)"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("container " + id.substr(0, 12) + ": log file " + logs.string() +
                       "/linked.log is not read: it has 2 hard links (it may be a host file "
                       "linked into the directory)"),
              std::string::npos)
        << log;
    EXPECT_EQ(readFile(json).find("SECRET-HARD-LINKED"), std::string::npos);
}

// journald: the file's name in CONTAINER_LOG_FILE; a piped line has none.
TEST(LogFiles, JournaldEntriesNameTheirFileInContainerLogFile_Root) {
    TempDir dir;
    fs::path root = dir.path() / "pods", logs = root / "pod-1" / "applog";
    fs::create_directories(logs);
    {
        int fd = ::open((logs / "app.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        writeAll(fd, "one\ntwo\n");
        ::close(fd);
    }
    Journald journald(dir.path() / "journal");
    Daemon d(dir.path() / "d", {"--log-dir-roots", root.string(), "--default-driver", "journald"},
             {}, journald.inside());
    const std::string id = "logfilesjournald000000000000000000000000000000000000000000000000b";
    Pipe out;
    attach(d, id, {"log-dir=" + logs.string()}, out.read_fd);
    out.closeRead();
    writeAll(out.write_fd, "piped\n");
    out.closeWrite();
    waitForFile(d.logPath(), [&](const std::string& t) {
        return t.find("container " + id.substr(0, 12) + " exited") != std::string::npos;
    });
    std::map<std::string, std::string> file_of;
    for (const auto& line :
         splitLines(journald.journalctl({"-o", "json", "CONTAINER_ID_FULL=" + id}))) {
        auto entry = nlohmann::json::parse(line);
        file_of[entry["MESSAGE"].get<std::string>()] =
            entry.contains("CONTAINER_LOG_FILE") ? entry["CONTAINER_LOG_FILE"].get<std::string>()
                                                 : "(none)";
    }
    EXPECT_EQ(file_of, (std::map<std::string, std::string>{
                           {"one", "app.log"}, {"two", "app.log"}, {"piped", "(none)"}}));
}

// The journal of ringlogd.service under `sd`, as text.
std::string ringlogdJournal(BootedSystemd& sd) {
    std::string journal;
    sd.run({"/usr/bin/journalctl", "--no-pager", "-q", "-o", "cat", "-u", "ringlogd.service"},
           &journal);
    return journal;
}

// Under systemd, ringlogd killed with SIGKILL four times and restarted once while it reads the
// three files of the first test (a rotated by rename, b by copytruncate, c created late), some
// of those in the middle of the rotations: every line still arrives exactly once, with its file's
// name, because each next instance reads on from the offsets in the container's registry (its
// memfd in systemd's fd store) whatever the files are called by then.
TEST(SystemdTest, LogFilesLoseAndRepeatNoLineThroughKillsAndARestart_Root) {
    constexpr long long kFileLines = loadVolume(100'000, 25'000);
    TempDir tmp;
    const std::string pod_path = "pods/pod-1/volumes/kubernetes.io~empty-dir/applog-web";
    fs::path logs = tmp.path() / pod_path;
    fs::create_directories(logs);
    BootedSystemd sd(tmp.path(), BootedSystemd::withConfigFile(
                                     tmp.path(), "log-dir-roots = /run/ringlogd-test/pods\n") +
                                     "\nRestartSec=100ms");
    const std::string id = "filekills000000000000000000000000000000000000000000000000000000a";

    Pipe a_paused, a_resume;
    Process a = startWriter(logs / "a.log", 'a', 0, kFileLines, kFileLines / 3 + 25,
                            a_paused.write_fd, a_resume.read_fd);
    ASSERT_EQ(readSome(a_paused.read_fd, 1).size(), 1u);
    std::string out;
    ASSERT_EQ(sd.run({BootedSystemd::ringlogctl(), "attach", "--id", id, "--log-dir",
                      "/run/ringlogd-test/" + pod_path},
                     &out),
              0)
        << out;
    pid_t pid = sd.waitForRinglogd();
    Process b1 = startWriter(logs / "b.log", 'b', 0, kFileLines / 2);
    Process c = startWriter(logs / "c.log", 'c', 0, kFileLines);

    // Each stop once the json-file holds about `share` of all the lines (at once if it does).
    fs::path json = sd.logFile(id);
    std::string at_each_stop;
    auto stopAt = [&](double share, const std::vector<std::string>& how) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        const double record_bytes = 150;  // {"log":"a-000000001-aaa…\n",…,"time":"…"}
        auto wanted = static_cast<uintmax_t>(share * 3 * kFileLines * record_bytes);
        std::error_code ec;
        while (fs::file_size(json, ec) < wanted && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        at_each_stop += " " + std::to_string(fs::file_size(json, ec) / 1024) + " KiB";
        ASSERT_EQ(sd.systemctl(how), 0) << how[0];
        pid = sd.waitForRinglogd(pid);
    };
    const std::vector<std::string> kill{"kill", "--kill-who=main", "-s", "KILL",
                                        "ringlogd.service"};
    stopAt(0.05, kill);
    fs::rename(logs / "a.log", logs / "a.log.1");
    char go = 1;
    ASSERT_EQ(::write(a_resume.write_fd, &go, 1), 1);
    stopAt(0.15, kill);
    stopAt(0.25, {"restart", "ringlogd.service"});

    EXPECT_EQ(b1.wait(), 0);
    waitForFile(json, [&](const std::string& t) {
        return countOf(t, "\"log_file\":\"b.log\"") == static_cast<size_t>(kFileLines / 2);
    });
    fs::copy_file(logs / "b.log", logs / "b.log.1");
    ASSERT_EQ(::truncate((logs / "b.log").c_str(), 0), 0);
    stopAt(0, kill);  // whether the killed one saw the truncation or not, the next one does
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ringlogdJournal(sd).find("log file b.log was truncated") == std::string::npos) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no truncation seen";
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Process b2 = startWriter(logs / "b.log", 'b', kFileLines / 2, kFileLines);
    stopAt(0.7, kill);

    EXPECT_EQ(a.wait(), 0);
    EXPECT_EQ(b2.wait(), 0);
    EXPECT_EQ(c.wait(), 0);
    ASSERT_EQ(sd.run({BootedSystemd::ringlogctl(), "detach", id}, &out), 0) << out;
    sd.waitUntilAttached(0);

    std::map<std::string, int> seen;
    size_t records = 0, misnamed = 0;
    for (const auto& r : readJsonLog(json)) {
        ++records;
        ++seen[r.log];
        if (r.log.size() < 2 || r.attrs != "{\"log_file\":\"" + r.log.substr(0, 1) + ".log\"}")
            ++misnamed;
    }
    auto [missing, doubled] = missingAndDoubled(seen, kFileLines);
    std::string journal = ringlogdJournal(sd);
    EXPECT_EQ(missing, 0u) << journal;
    EXPECT_EQ(doubled, 0u) << journal;
    EXPECT_EQ(misnamed, 0u);
    EXPECT_EQ(records, static_cast<size_t>(3 * kFileLines));
    // Each next instance read on from the registry (not from the start, not from the end).
    size_t resumed = countOf(journal, "followed again from byte");
    EXPECT_GE(resumed, 5u) << journal;
    std::printf(
        "3 files x %lld lines, 4 kill -9 and 1 restart of ringlogd (json-file at%s): 0 lost, "
        "0 twice; %zu files followed again from their offsets\n",
        kFileLines, at_each_stop.c_str(), resumed);
}

}  // namespace
}  // namespace ringlog::test
