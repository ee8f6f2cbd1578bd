// Faults of the fds a daemon shared by every container is given and of the daemon's own
// resources (docs/reliability.md, "Faults and bad input"): a pty whose other side closes, a
// character device that is not a pipe, attaches racing for one id, running out of file
// descriptors, and ten thousand idle containers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <latch>
#include <set>
#include <thread>

#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

struct Attached {
    int rc = -1;
    std::string message;
};

Attached attach(const Daemon& d, const std::string& id, int out_fd) {
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = id.c_str();
    a.stdout_fd = out_fd;
    char err[512] = "";
    Attached r;
    r.rc = ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err);
    r.message = err;
    return r;
}

// The lowest fd number free in the process (the fewest of a few looks, as above): with its
// RLIMIT_NOFILE at that, every fd it may have is taken.
rlim_t lowestFreeFd(pid_t pid) {
    rlim_t lowest = RLIM_INFINITY;
    for (int i = 0; i < 6; ++i) {
        std::set<rlim_t> taken;
        for (const auto& e :
             std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
            taken.insert(std::stoul(e.path().filename().string()));
        rlim_t free = 0;
        while (taken.count(free))
            ++free;
        lowest = std::min(lowest, free);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return lowest;
}

// As `docker run -t`: the container's output is the master side of a pty, and when the container
// exits its side closes, after which the master's read() fails with EIO. That is the pty's end of
// file: every line written before it is in the log (with the \r the tty's ONLCR puts before each
// \n, as in docker's json-file of a tty container), and ringlogd says nothing of an error.
TEST(Faults, APtyWhoseOtherSideClosesEndsItsContainerWithEveryLine) {
    TempDir dir;
    Daemon d(dir.path());
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0);
    ASSERT_EQ(::grantpt(master), 0);
    ASSERT_EQ(::unlockpt(master), 0);
    int slave = ::open(::ptsname(master), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(slave, 0);
    Attached a = attach(d, "tty", master);
    ASSERT_EQ(a.rc, 0) << a.message;
    ::close(master);
    constexpr int kLines = 2000;
    for (int i = 0; i < kLines; ++i) {
        std::string line = "tty line " + std::to_string(i) + "\n";
        ASSERT_EQ(::write(slave, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    }
    ::close(slave);
    // The pty's end is the container's: a new run of the same id may attach at once.
    Pipe next;
    Attached again{};
    for (int tries = 0; tries < 3000; ++tries) {
        again = attach(d, "tty", next.read_fd);
        if (again.rc != RINGLOG_STATUS_BUSY)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(again.rc, 0) << again.message;
    next.closeRead();
    next.closeWrite();
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("tty"));
    ASSERT_EQ(records.size(), static_cast<size_t>(kLines));
    for (int i = 0; i < kLines; ++i)
        ASSERT_EQ(records[static_cast<size_t>(i)].log, "tty line " + std::to_string(i) + "\r\n");
    EXPECT_EQ(d.log().find("Input/output error"), std::string::npos) << d.log();
}

// /dev/zero passed as a container's output would be endless input without a line end: it is not
// a pipe, FIFO, pty or socket, and is refused at attach, saying so. (Endless output through a
// real pipe is DbusApi.AnEndlessWriterWithoutLineEndsIsBoundedByItsModeWhileOthersLoseNothing.)
TEST(Faults, DevZeroPassedAsAPipeIsRefusedSayingWhatItIs) {
    TempDir dir;
    Daemon d(dir.path());
    int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(zero, 0);
    Attached a = attach(d, "zero", zero);
    ::close(zero);
    EXPECT_EQ(a.rc, RINGLOG_STATUS_BAD_FDS);
    EXPECT_EQ(a.message,
              "the stdout/stderr fd is /dev/zero, a character device that is not a "
              "tty: pass a pipe, FIFO, pty or socket");
    EXPECT_FALSE(std::filesystem::exists(d.logRoot() / "zero")) << "nothing was made for it";
}

// Engines racing to attach one id (a restart policy and a user at once): exactly one wins, each
// other gets BUSY naming the container, and the losers' pipes are let go (their writers see
// EPIPE), so that no fd of theirs stays in ringlogd.
TEST(Faults, ConcurrentAttachesOfOneIdAttachItOnceAndRefuseTheOthersByName) {
    TempDir dir;
    Daemon d(dir.path());
    const size_t fds_before = openFds(d.pid());
    constexpr int kRacers = 16;
    std::vector<std::unique_ptr<Pipe>> pipes;
    for (int i = 0; i < kRacers; ++i)
        pipes.push_back(std::make_unique<Pipe>());
    std::vector<Attached> results(kRacers);
    std::latch ready(kRacers);
    std::vector<std::thread> racers;
    for (int i = 0; i < kRacers; ++i)
        racers.emplace_back([&, i] {
            ready.arrive_and_wait();
            results[static_cast<size_t>(i)] =
                attach(d, "raced", pipes[static_cast<size_t>(i)]->read_fd);
        });
    for (auto& t : racers)
        t.join();
    int winner = -1;
    for (int i = 0; i < kRacers; ++i) {
        pipes[static_cast<size_t>(i)]->closeRead();
        const Attached& r = results[static_cast<size_t>(i)];
        if (r.rc == 0) {
            EXPECT_EQ(winner, -1) << "two attaches of one id both succeeded";
            winner = i;
            continue;
        }
        EXPECT_EQ(r.rc, RINGLOG_STATUS_BUSY) << r.message;
        EXPECT_EQ(r.message, "container raced is attached already and its output is still open");
    }
    ASSERT_NE(winner, -1);
    ::signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < kRacers; ++i) {
        std::string line = "from racer " + std::to_string(i) + "\n";
        ssize_t n = ::write(pipes[static_cast<size_t>(i)]->write_fd, line.data(), line.size());
        if (i == winner)
            EXPECT_EQ(n, static_cast<ssize_t>(line.size()));
        else
            EXPECT_EQ(n, -1) << "racer " << i << "'s pipe is still held";
    }
    // The winner's container holds its pipe, ring, log file and their watches; nothing else.
    const size_t fds_with_one = openFds(d.pid());
    for (auto& p : pipes)
        p->closeWrite();
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("raced"));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].log, "from racer " + std::to_string(winner) + "\n");
    EXPECT_LE(fds_with_one, fds_before + 6) << "fds of the refused attaches stayed open";
}

// ringlogd out of file descriptors (its RLIMIT_NOFILE lowered to 40 above what it holds idle):
// attaches go on until one cannot, which gets LIMIT saying so, whichever of its fds (the
// connection, the passed pipe, the ring, the log file) was the one too many; the containers
// attached before log on; once two of them end, attaches succeed again; and when every container
// has ended ringlogd holds exactly the fds it held idle: nothing of the refused attaches leaked.
TEST(Faults, OutOfFileDescriptorsAnAttachIsRefusedSayingSoAndTheOthersLogOn) {
    TempDir dir;
    Daemon d(dir.path());
    const size_t idle = openFds(d.pid());
    // With every fd taken, even for the connection: refused all the same (through the spare fd
    // ringlogd lets go for it), not left hanging.
    const rlim_t full = lowestFreeFd(d.pid());
    struct rlimit none_left {
        full, full + 40
    };
    ASSERT_EQ(::prlimit(d.pid(), RLIMIT_NOFILE, &none_left, nullptr), 0) << std::strerror(errno);
    for (int i = 0; i < 3; ++i) {  // each in turn, none left waiting
        Pipe p;
        Attached a = attach(d, "none", p.read_fd);
        EXPECT_EQ(a.rc, RINGLOG_STATUS_LIMIT) << a.message;
        EXPECT_EQ(a.message,
                  "ringlogd has no file descriptor left (RLIMIT_NOFILE " + std::to_string(full) +
                      "): detach or stop containers, or raise LimitNOFILE= in ringlogd.service");
    }
    const rlim_t limit = full + 40;
    struct rlimit low {
        limit, limit
    };
    ASSERT_EQ(::prlimit(d.pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);
    std::vector<std::unique_ptr<Pipe>> pipes;
    Attached refused;
    for (int i = 0; i < 40; ++i) {
        auto p = std::make_unique<Pipe>();
        Attached a = attach(d, "fds" + std::to_string(i), p->read_fd);
        p->closeRead();
        if (a.rc != 0) {
            refused = a;
            break;
        }
        pipes.push_back(std::move(p));
    }
    ASSERT_GT(pipes.size(), 3u) << "the first attaches should fit";
    EXPECT_EQ(refused.rc, RINGLOG_STATUS_LIMIT) << refused.message;
    EXPECT_EQ(refused.message,
              "ringlogd has no file descriptor left (RLIMIT_NOFILE " + std::to_string(limit) +
                  "): detach or stop containers, or raise LimitNOFILE= in ringlogd.service");
    // Each further try is refused alike, and costs nothing.
    for (int i = 0; i < 20; ++i) {
        Pipe p;
        Attached a = attach(d, "more" + std::to_string(i), p.read_fd);
        EXPECT_EQ(a.rc, RINGLOG_STATUS_LIMIT) << a.message;
    }
    for (size_t i = 0; i < pipes.size(); ++i)
        ASSERT_EQ(::write(pipes[i]->write_fd, "before\n", 7), 7);
    // Two containers end; their fds come back, and a new one attaches.
    pipes[0]->closeWrite();
    pipes[1]->closeWrite();
    Attached after{};
    for (int tries = 0; tries < 500; ++tries) {
        Pipe p;
        after = attach(d, "after", p.read_fd);
        if (after.rc == 0) {
            p.closeRead();
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(after.rc, 0) << after.message;
    for (size_t i = 2; i < pipes.size(); ++i) {
        ASSERT_EQ(::write(pipes[i]->write_fd, "after\n", 6), 6);
        pipes[i]->closeWrite();
    }
    size_t now = openFds(d.pid());
    for (int tries = 0; tries < 1000 && now != idle; ++tries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        now = openFds(d.pid());
    }
    EXPECT_EQ(now, idle) << "fds left open once every container ended";
    ASSERT_EQ(d.stop(), 0);
    for (size_t i = 0; i < pipes.size(); ++i) {
        std::string expected = i < 2 ? "before\n" : "before\nafter\n";
        std::string got;
        for (const auto& r : readJsonLog(d.logFile("fds" + std::to_string(i))))
            got += r.log;
        EXPECT_EQ(got, expected) << "container fds" << i;
    }
    EXPECT_FALSE(std::filesystem::exists(d.logRoot() / "more0")) << "nothing was made for it";
    // The first three were refused before their request, through the spare fd (its log line;
    // ringlogd's log is complete once it has stopped).
    EXPECT_NE(d.log().find("refused a connection of pid " + std::to_string(::getpid()) +
                           " uid 0: ringlogd has no file descriptor left"),
              std::string::npos)
        << d.log();
}

// Ten thousand containers attached and idle, as on a node packed with sidecars: what each costs
// in ringlogd's memory (its resident set: heap, and the ring memfds' pages that are touched;
// printed and bounded), in threads (none) and in fds.
TEST(Faults, IdleContainersByTheTenThousandCostLittleMemoryAndNoThreadEach_Root) {
    // Four fds each in ringlogd (the pipe, the ring's memfd, the log file and its directory),
    // one here: 10,000 need 65,536, as in the unit (LimitNOFILE=). Where the hard limit cannot be
    // raised that far (no CAP_SYS_RESOURCE, as in some containers), as many as it allows, which
    // the output says: the cost of each is the same.
    struct rlimit many {
        65536, 65536
    };
    if (::setrlimit(RLIMIT_NOFILE, &many) != 0) {
        ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &many), 0);
        many.rlim_cur = many.rlim_max;
        ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &many), 0) << std::strerror(errno);
    }
    const int kContainers = static_cast<int>(std::min<rlim_t>(10000, (many.rlim_cur - 256) / 4));
    ASSERT_GE(kContainers, 2000) << "RLIMIT_NOFILE " << many.rlim_cur << " is too low to measure";
    TempDir dir;
    Daemon d(dir.path(), {"--max-containers", std::to_string(kContainers), "--total-ring-size",
                          std::to_string(kContainers) + "m"});
    const long rss_idle = statusKb(d.pid(), "VmRSS");
    const int threads_idle = d.threadCount();
    std::vector<int> writers;
    writers.reserve(kContainers);
    for (int i = 0; i < kContainers; ++i) {
        Pipe p;
        Attached a = attach(d, "idle" + std::to_string(i), p.read_fd);
        ASSERT_EQ(a.rc, 0) << "container " << i << ": " << a.message;
        p.closeRead();
        writers.push_back(::dup(p.write_fd));
    }
    const long rss_full = statusKb(d.pid(), "VmRSS");
    const double per_container_kb = static_cast<double>(rss_full - rss_idle) / kContainers;
    std::printf(
        "%d idle containers: ringlogd's RSS %ld kB -> %ld kB, %.1f kB each; %zu fds; %d "
        "threads\n",
        kContainers, rss_idle, rss_full, per_container_kb, openFds(d.pid()), d.threadCount());
    RecordProperty("rss_kb_per_idle_container", std::to_string(per_container_kb));
    EXPECT_EQ(d.threadCount(), threads_idle);
#ifndef __SANITIZE_ADDRESS__
    // (Not under ASan, whose shadow memory and quarantine are not ours.)
    EXPECT_LT(per_container_kb, 48.0);
#endif
    // They are live: the last one attached logs.
    ASSERT_EQ(::write(writers.back(), "still here\n", 11), 11);
    for (int fd : writers)
        ::close(fd);
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("idle" + std::to_string(kContainers - 1)));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].log, "still here\n");
}

}  // namespace
}  // namespace ringlog::test
