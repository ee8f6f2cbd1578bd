// What a daemon shared by every container on a host must survive: shutdown under load, a
// thousand containers, clients that send garbage, and users who may not attach.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

struct Reply {
    int status = -1;
    std::string message;
};

// Sends one raw datagram with `fds` and returns ringlogd's reply.
Reply sendRaw(const std::string& socket_path, const std::string& payload,
              const std::vector<int>& fds, int sndbuf = 0) {
    int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    if (sndbuf) {
        EXPECT_EQ(setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf), 0);
    }
    std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
    struct iovec iov {
        const_cast<char*>(payload.data()), payload.size()
    };
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        auto* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    Reply r;
    if (::sendmsg(s, &msg, MSG_NOSIGNAL) < 0) {
        r.message = std::string("send: ") + std::strerror(errno);
        ::close(s);
        return r;
    }
    std::string reply = readSome(s, 4096, 30000);
    ::close(s);
    if (reply.size() >= 8) {
        r.status =
            static_cast<unsigned char>(reply[6]) | (static_cast<unsigned char>(reply[7]) << 8);
        r.message = reply.substr(8);
    }
    return r;
}

std::string attachRequest(const char* id) {
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = id;
    std::string buf(RINGLOG_MAX_REQUEST_BYTES, '\0');
    long n = ringlog_attach_encode(&a, reinterpret_cast<unsigned char*>(buf.data()), buf.size());
    buf.resize(static_cast<size_t>(n));
    return buf;
}

int attach(const Daemon& d, const char* id, int out_fd, std::string* message = nullptr) {
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = id;
    a.stdout_fd = out_fd;
    char err[512];
    int rc = ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err);
    if (message)
        *message = err;
    return rc;
}

// A stop for good (no fd store keeps the pipe): what was read is persisted; what the writer
// wrote after that stays in the pipe and is lost with it, and ringlogd says exactly how much.
TEST(Robustness, SigtermUnderLoadPersistsWhatItReadAndReportsExactlyWhatItLeavesInThePipe) {
    TempDir dir;
    Daemon d(dir.path());
    StoppableWriter w({ringlogctlPath(), "run", "--socket", d.socket(), "--id", "load", "--"},
                      lineWriterPath(), 100000);
    ASSERT_EQ(readSome(w.progress.read_fd, 2).size(), 2u) << "the writer did not get going";
    EXPECT_EQ(d.stop(), 1) << "lines were lost: the exit status says so\n" << d.log();
    EXPECT_EQ(w.process.wait(), 3) << "the writer stops on EPIPE once ringlogd has gone";
    long long written = std::stoll(readLine(w.count.read_fd));

    auto records = readJsonLog(d.logFile("load"));
    ASSERT_GE(records.size(), 200000u);
    for (size_t i = 0; i < records.size(); ++i) {
        ASSERT_TRUE(startsWith(records[i].log, linePrefix("stdout", static_cast<long long>(i))))
            << i;
    }
    std::string log = d.log();
    std::string n = std::to_string(records.size());
    EXPECT_NE(log.find("container load persisted at the stop: lines_in=" + n +
                       " lines_written=" + n + " lines_dropped=0"),
              std::string::npos)
        << "every line read is on disk:\n"
        << log;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        log, m,
        std::regex("container load: lost at this stop: ([0-9]+) bytes \\(([0-9]+) lines\\) "
                   "unread in its pipes \\(stdout: ([0-9]+) bytes, ([0-9]+) lines\\)")))
        << log;
    long long lost_lines = std::stoll(m[2]);
    EXPECT_EQ(lost_lines, written - static_cast<long long>(records.size()))
        << "the report is exact: what the writer wrote minus what is on disk";
    EXPECT_EQ(std::stoll(m[1]), lost_lines * static_cast<long long>(records[0].log.size()))
        << "whole lines, each as long as the first";
    EXPECT_NE(log.find("stopped: " + std::to_string(lost_lines) + " lines"), std::string::npos)
        << log;
    EXPECT_EQ(log.find("every accepted line is persisted"), std::string::npos) << log;
}

TEST(Robustness, AThousandContainersAttachedAtOnceUseNoMoreThreadsThanOne) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    ASSERT_GE(rl.rlim_cur, 4096u) << "this test needs 2,000 fds here and 4,000 in ringlogd";

    TempDir dir;
    Daemon d(dir.path());
    std::vector<std::unique_ptr<Pipe>> pipes;
    for (int i = 0; i < 1000; ++i) {
        pipes.push_back(std::make_unique<Pipe>());
        std::string id = "many" + std::to_string(i);
        std::string message;
        ASSERT_EQ(attach(d, id.c_str(), pipes.back()->read_fd, &message), 0) << message;
        pipes.back()->closeRead();
        if (i == 0) {
            int with_one = d.threadCount();
            EXPECT_GT(with_one, 1);
            EXPECT_LE(with_one, 5);
            RecordProperty("threads_with_one", with_one);
        }
    }
    int with_many = d.threadCount();
    EXPECT_LE(with_many, 5);
    for (int i = 0; i < 1000; ++i) {
        std::string line = "hello from " + std::to_string(i) + "\n";
        ASSERT_EQ(::write(pipes[static_cast<size_t>(i)]->write_fd, line.data(), line.size()),
                  static_cast<ssize_t>(line.size()));
        pipes[static_cast<size_t>(i)]->closeWrite();
    }
    EXPECT_EQ(d.threadCount(), with_many);
    ASSERT_EQ(d.stop(), 0);
    for (int i = 0; i < 1000; ++i) {
        auto records = readJsonLog(d.logFile("many" + std::to_string(i)));
        ASSERT_EQ(records.size(), 1u) << i;
        EXPECT_EQ(records[0].log, "hello from " + std::to_string(i) + "\n");
    }
}

TEST(Robustness, BadClientsGetAnErrorReplyAndTheDaemonKeepsServing_Root) {
    TempDir dir;
    Daemon d(dir.path());
    // A container attached before the bad clients, writing before and after them.
    Pipe live;
    ASSERT_EQ(attach(d, "survivor", live.read_fd), 0);
    live.closeRead();
    ASSERT_EQ(::write(live.write_fd, "before\n", 7), 7);

    Pipe p;
    Reply garbage = sendRaw(d.socket(), "GET / HTTP/1.1\r\n\r\n", {p.read_fd});
    EXPECT_EQ(garbage.status, RINGLOG_STATUS_BAD_REQUEST);
    EXPECT_EQ(garbage.message, "not a ringlogd request (bad magic)");

    Reply no_fds = sendRaw(d.socket(), attachRequest("nofds"), {});
    EXPECT_EQ(no_fds.status, RINGLOG_STATUS_BAD_FDS);
    EXPECT_EQ(no_fds.message, "expected 1 or 2 file descriptors (stdout[, stderr]), got 0");

    std::string huge = attachRequest("huge") + std::string(1 << 20, 'x');
    Reply big = sendRaw(d.socket(), huge, {p.read_fd}, 4 << 20);  // SO_SNDBUFFORCE: root
    EXPECT_EQ(big.status, RINGLOG_STATUS_BAD_REQUEST);
    EXPECT_EQ(big.message, "request is larger than 65536 bytes");

    // The kernel refuses more than 253 fds in one message; 253 reach ringlogd and are refused.
    std::vector<int> fds300(300, p.read_fd);
    Reply too_many_for_kernel = sendRaw(d.socket(), attachRequest("fds"), fds300);
    EXPECT_EQ(too_many_for_kernel.message, "send: Invalid argument");
    std::vector<int> fds253(253, p.read_fd);
    Reply many = sendRaw(d.socket(), attachRequest("fds"), fds253);
    EXPECT_EQ(many.status, RINGLOG_STATUS_BAD_FDS);
    EXPECT_EQ(many.message, "control message truncated: send 1 or 2 file descriptors");
    std::vector<int> fds3(3, p.read_fd);
    Reply three = sendRaw(d.socket(), attachRequest("fds"), fds3);
    EXPECT_EQ(three.status, RINGLOG_STATUS_BAD_FDS);
    EXPECT_EQ(three.message, "expected 1 or 2 file descriptors (stdout[, stderr]), got 3");

    int file = ::open((dir.path() / "regular").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    Reply regular = sendRaw(d.socket(), attachRequest("regular"), {file});
    ::close(file);
    EXPECT_EQ(regular.status, RINGLOG_STATUS_BAD_FDS);
    EXPECT_EQ(regular.message, "the stdout/stderr fd is " +
                                   std::filesystem::canonical(dir.path() / "regular").string() +
                                   ", a regular file: pass a pipe, FIFO, pty or socket");

    Reply write_end = sendRaw(d.socket(), attachRequest("wronly"), {p.write_fd});
    EXPECT_EQ(write_end.status, RINGLOG_STATUS_BAD_FDS);
    EXPECT_EQ(write_end.message, "the stdout/stderr fd is write-only: pass the read end");

    Reply traversal = sendRaw(d.socket(), attachRequest("../../etc"), {p.read_fd});
    EXPECT_EQ(traversal.status, RINGLOG_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(
        traversal.message,
        "container id \"../../etc\" has a character other than letters, digits, '_', '-', '.'");
    EXPECT_FALSE(fs::exists(d.logRoot() / ".." / "etc"));

    Reply duplicate = sendRaw(d.socket(), attachRequest("survivor"), {p.read_fd});
    EXPECT_EQ(duplicate.status, RINGLOG_STATUS_BUSY);

    // Still serving: the survivor keeps flowing and a new container attaches.
    ASSERT_EQ(::write(live.write_fd, "after\n", 6), 6);
    live.closeWrite();
    Pipe fresh;
    ASSERT_EQ(attach(d, "fresh", fresh.read_fd), 0);
    fresh.closeRead();
    ASSERT_EQ(::write(fresh.write_fd, "new\n", 4), 4);
    fresh.closeWrite();
    ASSERT_EQ(d.stop(), 0);
    auto survivor = readJsonLog(d.logFile("survivor"));
    ASSERT_EQ(survivor.size(), 2u);
    EXPECT_EQ(survivor[0].log, "before\n");
    EXPECT_EQ(survivor[1].log, "after\n");
    EXPECT_EQ(readJsonLog(d.logFile("fresh")).size(), 1u);
}

// A 0-byte datagram is a request too (SOCK_SEQPACKET keeps it apart from a hang-up): it gets
// the reply every malformed request gets.
TEST(Robustness, AnEmptyDatagramGetsAnErrorReply) {
    TempDir dir;
    Daemon d(dir.path());
    Reply empty = sendRaw(d.socket(), "", {});
    EXPECT_EQ(empty.status, RINGLOG_STATUS_BAD_REQUEST);
    EXPECT_EQ(empty.message, "empty request: a request is an 8-byte header and its fields");
}

// An engine may open a FIFO O_RDWR (so that opening it does not wait for a writer). ringlogd
// reads it through a read-only open of its own: it holds no writer, and the container ends when
// the container's writers are gone.
TEST(Robustness, AFifoPassedOpenForReadingAndWritingEndsWithItsWriters) {
    TempDir dir;
    Daemon d(dir.path());
    fs::path fifo = dir.path() / "stdout.fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    int read_write = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    int writer = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(read_write, 0);
    ASSERT_GE(writer, 0);
    std::string message;
    ASSERT_EQ(attach(d, "rdwr", read_write, &message), 0) << message;
    ::close(read_write);
    ASSERT_EQ(::write(writer, "only line\n", 10), 10);
    ::close(writer);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (readFile(d.logPath()).find("container rdwr exited") == std::string::npos) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "the container did not end with its writer:\n"
            << readFile(d.logPath());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto records = readJsonLog(d.logFile("rdwr"));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].log, "only line\n");
}

// Forks a child that drops to uid 65534 with the given gid and attaches; returns the status.
int attachAs(const Daemon& d, const char* id, gid_t gid) {
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(65534) != 0)
            _exit(100);
        int fds[2];
        if (pipe(fds) != 0)
            _exit(101);
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = id;
        a.stdout_fd = fds[0];
        char err[512];
        _exit(ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// 1,000 connections that send nothing, from one unprivileged user (128 of them used to keep every
// engine from attaching for 10 s): beyond the user's 64 they are refused at once with LIMIT, which
// the user's client reports as such (not as "Broken pipe"), and root attaches 100 containers
// meanwhile, each within a second.
TEST(Robustness, AUsersIdleConnectionsDoNotHoldUpRootsAttaches_Root) {
    ASSERT_EQ(getuid(), 0u) << "this test drops privileges: run it as root";
    TempDir dir;
    fs::permissions(dir.path(), fs::perms::all);
    Daemon d(dir.path(), {"--socket-mode", "0666"});
    Pipe report, done;
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit files {
            4096, 4096
        };
        if (setrlimit(RLIMIT_NOFILE, &files) != 0 || setgroups(0, nullptr) != 0 ||
            setgid(65534) != 0 || setuid(65534) != 0)
            _exit(100);
        std::vector<struct pollfd> conns;
        for (int i = 0; i < 1000; ++i) {
            int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
            struct sockaddr_un addr {};
            addr.sun_family = AF_UNIX;
            std::strncpy(addr.sun_path, d.socket().c_str(), sizeof(addr.sun_path) - 1);
            if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
                _exit(101);
            conns.push_back({s, POLLIN, 0});
        }
        // Refused ones get their reply at once: counted once no more come for half a second.
        int answered = -1;
        for (int stable = 0; stable < 5;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            int n = ::poll(conns.data(), conns.size(), 0);
            stable = n == answered ? stable + 1 : 0;
            answered = n;
        }
        std::string first_refusal;
        for (const auto& c : conns)
            if (c.revents != 0 && first_refusal.empty())
                first_refusal = readSome(c.fd, 4096).substr(8);
        int fds[2];
        if (::pipe(fds) != 0)
            _exit(102);
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = "one-more";
        a.stdout_fd = fds[0];
        char err[512] = "";
        int status = ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err);
        std::string line = std::to_string(1000 - answered) + "|" + first_refusal + "|" +
                           std::to_string(status) + "|" + err + "\n";
        (void)!::write(report.write_fd, line.data(), line.size());
        char b;
        (void)!::read(done.read_fd, &b, 1);
        _exit(0);
    }
    report.closeWrite();
    std::string line = readLine(report.read_fd);
    std::string limit =
        "uid 65534 has 64 connections that sent no request yet "
        "(pending-connections-per-user); try again";
    EXPECT_EQ(line,
              "64|" + limit + "|" + std::to_string(RINGLOG_STATUS_LIMIT) + "|" + limit + "\n");

    double slowest = 0;
    for (int i = 0; i < 100; ++i) {
        Pipe p;
        std::string id = "root-" + std::to_string(i), message;
        auto start = std::chrono::steady_clock::now();
        EXPECT_EQ(attach(d, id.c_str(), p.read_fd, &message), 0) << id << ": " << message;
        slowest = std::max(
            slowest,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    EXPECT_LT(slowest, 1.0) << "seconds for root's slowest attach";
    std::printf("root's 100 attaches beside 1,000 idle connections of uid 65534: slowest %.3f s\n",
                slowest);
    ASSERT_EQ(::write(done.write_fd, "d", 1), 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_EQ(status, 0);
}

TEST(Robustness, OnlyRootAndTheAllowedGroupMayAttach_Root) {
    ASSERT_EQ(getuid(), 0u) << "this test drops privileges: run it as root";
    struct group* nogroup = getgrnam("nogroup");
    ASSERT_NE(nogroup, nullptr);
    TempDir dir;
    fs::permissions(dir.path(), fs::perms::all);
    Daemon d(dir.path(), {"--socket-mode", "0666", "--allowed-group", "nogroup"});
    EXPECT_EQ(attachAs(d, "outsider", 12345), RINGLOG_STATUS_PERMISSION_DENIED);
    EXPECT_EQ(attachAs(d, "member", nogroup->gr_gid), RINGLOG_STATUS_OK);
    EXPECT_NE(d.log().find("permission denied: uid 65534 is neither root nor in group nogroup"),
              std::string::npos);
    EXPECT_EQ(d.stop(), 0);
    EXPECT_FALSE(fs::exists(d.logRoot() / "outsider"));
}

TEST(Robustness, UnderSystemdItPingsTheWatchdogAndReportsStatus) {
    TempDir dir;
    std::string notify = (dir.path() / "notify.sock").string();
    int ns = bindNotifySocket(notify);
    std::ofstream(dir.path() / "ringlogd.conf") << "\n";
    SpawnOptions o;
    o.env = {{"NOTIFY_SOCKET", notify}, {"WATCHDOG_USEC", "400000"}};
    o.stderr_file = (dir.path() / "ringlogd.log").string();
    Process d = spawn({ringlogdPath(), "--config", (dir.path() / "ringlogd.conf").string(),
                       "--socket", (dir.path() / "ingest.sock").string(), "--log-root",
                       (dir.path() / "logs").string(), "--dbus", "no"},
                      o);
    std::vector<std::string> messages;
    auto has = [&](const std::string& what) {
        for (const auto& m : messages)
            if (m.find(what) != std::string::npos)
                return true;
        return false;
    };
    while (
        !(has("READY=1") && has("WATCHDOG=1") && has("STATUS=0 containers attached, 0 lines/s"))) {
        struct pollfd p {
            ns, POLLIN, 0
        };
        ASSERT_EQ(poll(&p, 1, 10000), 1) << "no notification; got so far: " << messages.size();
        char buf[4096];
        ssize_t n = recv(ns, buf, sizeof buf, 0);
        ASSERT_GT(n, 0);
        messages.emplace_back(buf, static_cast<size_t>(n));
    }
    d.kill(SIGTERM);
    EXPECT_EQ(d.wait(), 0);
    ::close(ns);
}

}  // namespace
}  // namespace ringlog::test
