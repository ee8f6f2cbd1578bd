// The push API (docs/protocol.md, "Push"): records sent over the ingest socket by who the
// container allows, into the same ring and driver as its piped output, in order with it; the
// limits a pusher meets (a blocking ring's RETRY_LATER, the push rate, a non-blocking ring's
// drops and the daemon's memory); push-only containers; `ringlogctl push`.
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "booted_systemd.h"
#include "bus_fixture.h"
#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

struct Reply {
    int status = -1000;
    std::string message;
};

Reply push(const std::string& socket, const std::string& id, const char* stream,
           const std::vector<std::string>& lines) {
    std::vector<const char*> ptrs;
    for (const auto& l : lines)
        ptrs.push_back(l.c_str());
    char err[RINGLOG_MAX_REPLY_BYTES] = "";
    Reply r;
    r.status = ringlog_push_send(socket.c_str(), id.c_str(), stream, ptrs.data(), ptrs.size(), err,
                                 sizeof err);
    r.message = err;
    return r;
}

// The same from a child that has become uid/gid, with `groups` as its supplementary groups.
Reply pushAs(const Daemon& d, uid_t uid, gid_t gid, const std::vector<gid_t>& groups,
             const std::string& id, const char* stream, const std::vector<std::string>& lines) {
    Pipe result;
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(groups.size(), groups.data()) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
            _exit(100);
        Reply r = push(d.socket(), id, stream, lines);
        dprintf(result.write_fd, "%d %s", r.status, r.message.c_str());
        _exit(0);
    }
    result.closeWrite();
    std::string out = readSome(result.read_fd, 8192, 30000);
    int status = 0;
    waitpid(pid, &status, 0);
    Reply r;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !out.empty()) {
        size_t space = out.find(' ');
        r.status = std::stoi(out.substr(0, space));
        r.message = space == std::string::npos ? "" : out.substr(space + 1);
    }
    return r;
}

// Attaches `id` as root with the given fds (-1: none) and log options.
int attach(const Daemon& d, const std::string& id, int out_fd, int err_fd,
           std::vector<const char*> log_opts, const char* mode = nullptr,
           std::string* message = nullptr) {
    log_opts.push_back(nullptr);
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = id.c_str();
    a.stdout_fd = out_fd;
    a.stderr_fd = err_fd;
    a.log_opts = log_opts.data();
    a.mode = mode;
    char err[RINGLOG_MAX_REPLY_BYTES] = "";
    int r = ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err);
    if (message != nullptr)
        *message = err;
    return r;
}

// Waits until ringlogd has taken everything written to a pipe (framed into the ring).
void waitTaken(int write_fd) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int left = 0;
    while (::ioctl(write_fd, FIONREAD, &left) == 0 && left > 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(left, 0) << "ringlogd did not read the pipe";
}

void writeAll(int fd, const std::string& s) {
    ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

// The json-file as written, with each record's time blanked.
std::string timesBlanked(const fs::path& file) {
    static const std::regex time_re(R"re("time":"[^"]*")re");
    return std::regex_replace(readFile(file), time_re, "\"time\":\"T\"");
}

uint64_t attrNumber(const std::string& attrs, const std::string& key) {
    std::string quoted = "\"" + key + "\":\"";
    size_t at = attrs.find(quoted);
    return at == std::string::npos ? 0 : std::stoull(attrs.substr(at + quoted.size()));
}

constexpr uid_t kPusher = 12345;       // in push-users
constexpr uid_t kGroupPusher = 23456;  // in push-groups by its primary group
constexpr uid_t kSupplementary = 24680;
constexpr uid_t kStranger = 34567;
constexpr gid_t kPushGroup = 54321;

// A daemon whose socket anyone may connect to: ringlogd decides who may do what.
class PushTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(getuid(), 0u) << "these tests drop privileges: run them as root";
        fs::permissions(dir_.path(), fs::perms::all);
        d_ = std::make_unique<Daemon>(dir_.path(),
                                      std::vector<std::string>{"--socket-mode", "0666"});
    }
    TempDir dir_;
    std::unique_ptr<Daemon> d_;
};

TEST_F(PushTest, AnAllowedUsersLinesLandInOrderBetweenThePipedOnes_Root) {
    Pipe out, err;
    ASSERT_EQ(attach(*d_, "mixed", out.read_fd, err.read_fd,
                     {"push-users=nobody,12345", "push-groups=54321"}),
              RINGLOG_STATUS_OK);
    out.closeRead();
    err.closeRead();

    writeAll(out.write_fd, "piped 1\n");
    waitTaken(out.write_fd);
    Reply r = pushAs(*d_, kPusher, kPusher, {}, "mixed", nullptr, {"pushed 2", "pushed 3\n"});
    EXPECT_EQ(r.status, RINGLOG_STATUS_OK) << r.message;
    EXPECT_EQ(r.message, "took 2 lines");
    writeAll(err.write_fd, "piped 4\n");
    waitTaken(err.write_fd);
    r = pushAs(*d_, kGroupPusher, kPushGroup, {}, "mixed", "stderr", {"pushed 5"});
    EXPECT_EQ(r.status, RINGLOG_STATUS_OK) << r.message;
    r = pushAs(*d_, kSupplementary, kSupplementary, {kPushGroup}, "mixed", "stdout",
               {"pushed 6", "with\nnewline", ""});
    EXPECT_EQ(r.status, RINGLOG_STATUS_OK) << r.message;
    writeAll(out.write_fd, "piped 7\n");
    out.closeWrite();
    err.closeWrite();
    ASSERT_EQ(d_->stop(), 0) << d_->log();

    EXPECT_EQ(timesBlanked(d_->logFile("mixed")),
              "{\"log\":\"piped 1\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
              "{\"log\":\"pushed 2\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
              "{\"log\":\"pushed 3\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
              "{\"log\":\"piped 4\\n\",\"stream\":\"stderr\",\"time\":\"T\"}\n"
              "{\"log\":\"pushed 5\\n\",\"stream\":\"stderr\",\"time\":\"T\"}\n"
              "{\"log\":\"pushed 6\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
              "{\"log\":\"with\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
              "{\"log\":\"newline\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
              "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
              "{\"log\":\"piped 7\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n");
    EXPECT_NE(d_->log().find("lines_in=10 lines_written=10 lines_dropped=0"), std::string::npos)
        << d_->log();
}

// Who may push is checked at attach: a user or group that does not exist is named.
TEST_F(PushTest, AnUnknownPushUserOrGroupIsRefusedAtAttachByName_Root) {
    Pipe out;
    std::string refusal;
    EXPECT_EQ(attach(*d_, "4f2c0e1d2b3a5566", out.read_fd, -1, {"push-users=12345,nosuchuser"},
                     "blocking", &refusal),
              RINGLOG_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(refusal, "log option \"push-users\": no user \"nosuchuser\"");
    EXPECT_EQ(attach(*d_, "4f2c0e1d2b3a5566", out.read_fd, -1, {"push-groups=nosuchgroup"},
                     "blocking", &refusal),
              RINGLOG_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(refusal, "log option \"push-groups\": no group \"nosuchgroup\"");
}

// Whoever may not push to a container gets one answer whether it exists or not; root, who may
// see every container, is told it is not attached.
TEST_F(PushTest, OthersAreRefusedAlikeWhetherTheIdExistsOrNot_Root) {
    Pipe out;
    ASSERT_EQ(attach(*d_, "4f2c0e1d2b3a5566", out.read_fd, -1, {"push-users=12345"}),
              RINGLOG_STATUS_OK);
    out.closeRead();
    Reply theirs = pushAs(*d_, kStranger, kStranger, {}, "4f2c0e1d2b3a5566", nullptr, {"forged"});
    EXPECT_EQ(theirs.status, RINGLOG_STATUS_PERMISSION_DENIED);
    EXPECT_EQ(theirs.message,
              "uid 34567 may not push to container 4f2c0e1d2b3a5566 (or it is not attached)");
    Reply unknown = pushAs(*d_, kStranger, kStranger, {}, "0000aaaa", nullptr, {"forged"});
    EXPECT_EQ(unknown.status, RINGLOG_STATUS_PERMISSION_DENIED);
    EXPECT_EQ(unknown.message,
              "uid 34567 may not push to container 0000aaaa (or it is not attached)");
    // A group that may read or attach is no leave to push; nor is a unique prefix of the id.
    EXPECT_EQ(pushAs(*d_, kStranger, kPushGroup, {}, "4f2c0e1d2b3a5566", nullptr, {"x"}).status,
              RINGLOG_STATUS_PERMISSION_DENIED);
    Reply prefix = pushAs(*d_, kPusher, kPusher, {}, "4f2c0e1d", nullptr, {"x"});
    EXPECT_EQ(prefix.message,
              "uid 12345 may not push to container 4f2c0e1d (or it is not attached)");

    Reply root = push(d_->socket(), "0000aaaa", nullptr, {"nobody home"});
    EXPECT_EQ(root.status, RINGLOG_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(root.message,
              "no container 0000aaaa is attached (a push names an attached container by its "
              "full id)");
    EXPECT_EQ(push(d_->socket(), "4f2c0e1d", nullptr, {"x"}).status,
              RINGLOG_STATUS_INVALID_ARGUMENT);
    // Malformed pushes are refused before anything is looked up.
    EXPECT_EQ(push(d_->socket(), "../etc", nullptr, {"x"}).status, RINGLOG_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(push(d_->socket(), "4f2c0e1d2b3a5566", "tty", {"x"}).message,
              "stream \"tty\" is not stdout or stderr");
    out.closeWrite();
    ASSERT_EQ(d_->stop(), 0);
    EXPECT_EQ(readJsonLog(d_->logFile("4f2c0e1d2b3a5566")).size(), 0u);
    EXPECT_NE(d_->log().find("refused push from pid "), std::string::npos) << d_->log();
}

// The user that attached a container may push to it without being named: here a member of the
// allowed group that attaches a push-only container.
TEST(Push, TheUserThatAttachedAContainerMayPushToIt_Root) {
    ASSERT_EQ(getuid(), 0u);
    struct group* nogroup = getgrnam("nogroup");
    ASSERT_NE(nogroup, nullptr);
    TempDir dir;
    fs::permissions(dir.path(), fs::perms::all);
    Daemon d(dir.path(), {"--socket-mode", "0666", "--allowed-group", "nogroup"});
    Pipe result;
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(nogroup->gr_gid) != 0 || setuid(65534) != 0)
            _exit(100);
        const char* opts[] = {"push-only=true", nullptr};
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = "own";
        a.log_opts = opts;
        char err[512];
        if (ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err) != 0)
            _exit(101);
        _exit(push(d.socket(), "own", nullptr, {"mine"}).status == 0 ? 0 : 102);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_EQ(WEXITSTATUS(status), 0) << d.log();
    EXPECT_EQ(pushAs(d, kStranger, nogroup->gr_gid, {}, "own", nullptr, {"not mine"}).status,
              RINGLOG_STATUS_PERMISSION_DENIED)
        << "the allowed group may attach, not push to others' containers";
    ASSERT_EQ(d.stop(), 0);
    auto records = readJsonLog(d.logFile("own"));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].log, "mine\n");
}

std::vector<std::string> requestLines(int request, int count) {
    std::vector<std::string> lines;
    for (int i = 0; i < count; ++i) {
        char head[32];
        std::snprintf(head, sizeof head, "request %04d line %03d ", request, i);
        lines.push_back(head + std::string(100 - std::strlen(head), 'x'));
    }
    return lines;
}

// Blocking: a push that does not fit the ring whole takes nothing and says so, at once; the
// connection is not held. The same request once the ring has room is taken whole.
TEST(Push, ABlockingFullRingAnswersRetryLaterAndTakesNothingOfThatRequest) {
    TempDir dir;
    Daemon d(dir.path());
    ASSERT_EQ(attach(d, "full", -1, -1,
                     {"push-only=true", "max-buffer-size=128k", "max-write-rate=64k"}, "blocking"),
              RINGLOG_STATUS_OK);
    char err[RINGLOG_MAX_REPLY_BYTES];
    ringlog_pusher* p = ringlog_pusher_open(d.socket().c_str(), err, sizeof err);
    ASSERT_NE(p, nullptr) << err;
    auto send = [&](const std::vector<std::string>& lines) {
        std::vector<const char*> ptrs;
        for (const auto& l : lines)
            ptrs.push_back(l.c_str());
        Reply r;
        r.status = ringlog_pusher_send(p, "full", nullptr, ptrs.data(), nullptr, ptrs.size(), err,
                                       sizeof err);
        r.message = err;
        return r;
    };
    int request = 0;
    Reply r;
    auto start = std::chrono::steady_clock::now();
    for (; request < 100; ++request) {
        r = send(requestLines(request, 100));
        if (r.status != RINGLOG_STATUS_OK)
            break;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2))
        << "refused at once, never held";
    ASSERT_EQ(r.status, RINGLOG_STATUS_RETRY_LATER) << r.message;
    EXPECT_EQ(r.message, "the ring is full; retry later");
    EXPECT_GE(request, 5) << "a 128 KiB ring takes a few 10 KiB requests first";
    // The refused request again, on the same connection, until the ring has room for all of it.
    int retries = 0;
    while ((r = send(requestLines(request, 100))).status == RINGLOG_STATUS_RETRY_LATER) {
        ++retries;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(r.status, RINGLOG_STATUS_OK) << r.message;
    EXPECT_GT(retries, 0);
    ringlog_pusher_close(p);
    ASSERT_EQ(d.stop(), 0) << d.log();
    auto records = readJsonLog(d.logFile("full"));
    ASSERT_EQ(records.size(), static_cast<size_t>(request + 1) * 100)
        << "every request taken once, whole; the refused attempts took nothing";
    for (int i = 0; i <= request; ++i)
        for (int j = 0; j < 100; ++j)
            ASSERT_EQ(records[static_cast<size_t>(i * 100 + j)].log,
                      requestLines(i, 100)[static_cast<size_t>(j)] + "\n");
}

TEST(Push, APushRateSpentAnswersRetryLaterAndSaysWhen) {
    TempDir dir;
    Daemon d(dir.path());
    ASSERT_EQ(attach(d, "rated", -1, -1, {"push-only=true", "push-rate=10k"}, "non-blocking"),
              RINGLOG_STATUS_OK);
    // A second's worth may go at once, and one request beyond it; then the bucket is in debt.
    std::vector<std::string> twelve_k = requestLines(0, 120);
    EXPECT_EQ(push(d.socket(), "rated", nullptr, twelve_k).status, RINGLOG_STATUS_OK);
    Reply r = push(d.socket(), "rated", nullptr, requestLines(1, 10));
    ASSERT_EQ(r.status, RINGLOG_STATUS_RETRY_LATER) << r.message;
    EXPECT_TRUE(std::regex_match(
        r.message, std::regex("the push rate of container rated \\(push-rate 10240 bytes per "
                              "second\\) is spent; retry in [0-9]+ ms")))
        << r.message;
    ASSERT_EQ(d.stop(), 0);
    EXPECT_EQ(readJsonLog(d.logFile("rated")).size(), 120u);
}

// 1 GiB pushed as fast as one connection can into a non-blocking container with a small ring
// and a slow sink: the daemon's memory stays within the ring and a fixed overhead, every line is
// either persisted or counted as dropped, and the newest are kept.
TEST(Push, AGibibytePushedIntoANonBlockingContainerKeepsMemoryBoundedAndCountsEveryDrop) {
    const long long bytes = loadVolume(1LL << 30, 64LL << 20);
    constexpr size_t kWidth = 100;  // and its '\n'
    constexpr uint64_t kRing = 256 * 1024;
    TempDir dir;
    Daemon d(dir.path());
    ASSERT_EQ(attach(d, "flood", -1, -1,
                     {"push-only=true", "max-buffer-size=256k", "push-rate=0", "max-write-rate=8m"},
                     "non-blocking"),
              RINGLOG_STATUS_OK);
    long hwm_before = statusKb(d.pid(), "VmHWM");
    char err[RINGLOG_MAX_REPLY_BYTES];
    ringlog_pusher* p = ringlog_pusher_open(d.socket().c_str(), err, sizeof err);
    ASSERT_NE(p, nullptr) << err;
    // As many lines as one request holds; each line "%012lld" then padding.
    const size_t per_request =
        (RINGLOG_MAX_REQUEST_BYTES - 8 - (8 + std::strlen("flood"))) / (8 + kWidth);
    std::vector<std::string> lines(per_request, std::string(kWidth, 'p'));
    std::vector<const char*> ptrs;
    for (const auto& l : lines)
        ptrs.push_back(l.c_str());
    const long long total = bytes / static_cast<long long>(kWidth + 1);
    long long sent = 0;
    auto start = std::chrono::steady_clock::now();
    while (sent < total) {
        size_t n = static_cast<size_t>(std::min<long long>(per_request, total - sent));
        for (size_t i = 0; i < n; ++i) {
            char number[16];
            std::snprintf(number, sizeof number, "%012lld", sent + static_cast<long long>(i));
            std::memcpy(lines[i].data(), number, 12);
        }
        int r = ringlog_pusher_send(p, "flood", nullptr, ptrs.data(), nullptr, n, err, sizeof err);
        ASSERT_EQ(r, RINGLOG_STATUS_OK) << err << " after " << sent << " lines";
        sent += static_cast<long long>(n);
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ringlog_pusher_close(p);
    long hwm_after = statusKb(d.pid(), "VmHWM");
    // The ring's pages, and a fixed overhead: a request's buffers, the driver's and the
    // consumers' write buffers, the allocator's slack. ASan's quarantine holds what was freed.
#ifdef __SANITIZE_ADDRESS__
    const long overhead_kb = 64 * 1024;
#else
    const long overhead_kb = 8 * 1024;
#endif
    EXPECT_LE(hwm_after - hwm_before, static_cast<long>(kRing / 1024) + overhead_kb)
        << "VmHWM " << hwm_before << " kB at attach, " << hwm_after << " kB after " << bytes
        << " bytes pushed";
    ASSERT_EQ(d.stop(), 0) << d.log();

    auto records = readJsonLog(d.logFile("flood"));
    uint64_t dropped_lines = 0, dropped_bytes = 0;
    long long last = -1;
    for (const auto& r : records) {
        dropped_lines += attrNumber(r.attrs, "ringlog.dropped_lines");
        dropped_bytes += attrNumber(r.attrs, "ringlog.dropped_bytes");
        long long n = std::stoll(r.log.substr(0, 12));
        ASSERT_GT(n, last) << "persisted lines stay in order";
        last = n;
    }
    EXPECT_GT(dropped_lines, 0u) << "the sink is slower than the pusher: the ring overflowed";
    EXPECT_EQ(records.size() + dropped_lines, static_cast<uint64_t>(total));
    EXPECT_EQ(dropped_bytes, dropped_lines * (kWidth + 1));
    EXPECT_EQ(last, total - 1) << "the newest lines are kept";
    EXPECT_NE(d.log().find("lines_in=" + std::to_string(total) +
                           " lines_written=" + std::to_string(records.size()) +
                           " lines_dropped=" + std::to_string(dropped_lines)),
              std::string::npos)
        << d.log();
    std::printf(
        "pushed %lld lines (%lld bytes) in %.2f s: %.0f lines/s; %zu persisted, %llu "
        "dropped; VmHWM %ld kB -> %ld kB\n",
        total, bytes, seconds, static_cast<double>(total) / seconds, records.size(),
        static_cast<unsigned long long>(dropped_lines), hwm_before, hwm_after);
}

// A push-only container over D-Bus and ringlogctl: attached without FIFOs, fed by
// `ringlogctl push`, busy while attached, detached by root, after which pushes are refused.
class PushOnly : public PrivateBusTest {};

TEST_F(PushOnly, AttachedWithoutFifosItTakesPushesUntilDetached) {
    const std::string id = "fade00000000000000000000000000000000000000000000000000000000cafe";
    const std::string sock = "--socket=" + d_->socket();
    CommandOutput a = run({ringlogctlPath(), "attach", sock, "--id", id, "--name", "app",
                           "--push-only", "--print-id"});
    ASSERT_EQ(a.status, 0) << a.err;
    EXPECT_EQ(a.out, id + "\n");
    CommandOutput again = run({ringlogctlPath(), "attach", sock, "--id", id, "--push-only"});
    EXPECT_EQ(again.status, 125);
    EXPECT_EQ(again.err, "ringlogctl: container " + id +
                             " is attached already and its output is still open\n");
    CommandOutput both =
        run({ringlogctlPath(), "attach", sock, "--id", "x", "--push-only", "--fifo", "/dev/null"});
    EXPECT_EQ(both.status, 125);
    EXPECT_EQ(both.err, "ringlogctl: attach: --push-only takes no --fifo\n");

    std::ofstream(dir_.path() / "lines") << "first\nsecond\n\nlast without newline";
    CommandOutput p = run(
        {"/bin/sh", "-c",
         ringlogctlPath() + " push " + sock + " " + id + " < " + (dir_.path() / "lines").string()});
    EXPECT_EQ(p.status, 0) << p.err;
    EXPECT_EQ(p.out + p.err, "");
    p = run({"/bin/sh", "-c",
             "echo oops | " + ringlogctlPath() + " push " + sock + " --stream stderr " + id});
    EXPECT_EQ(p.status, 0) << p.err;
    CommandOutput by_name =
        run({"/bin/sh", "-c", "echo x | " + ringlogctlPath() + " push " + sock + " app"});
    EXPECT_EQ(by_name.status, 1);
    EXPECT_EQ(by_name.err,
              "ringlogctl: no container app is attached (a push names an attached container by "
              "its full id)\n");

    CommandOutput detach = run({ringlogctlPath(), "detach", id});
    ASSERT_EQ(detach.status, 0) << detach.err;
    ASSERT_TRUE(watcher_->waitFor(id));
    Reply late = push(d_->socket(), id, nullptr, {"too late"});
    EXPECT_EQ(late.status, RINGLOG_STATUS_INVALID_ARGUMENT) << late.message;
    CommandOutput logs = run({ringlogctlPath(), "logs", id});
    EXPECT_EQ(logs.status, 0) << logs.err;
    EXPECT_EQ(logs.out, "first\nsecond\n\nlast without newline\n");
    EXPECT_EQ(logs.err, "oops\n");
}

TEST(Push, APushOnlyAttachCarriesNoFdsAndAPushNone) {
    TempDir dir;
    Daemon d(dir.path());
    Pipe out;
    std::string message;
    EXPECT_EQ(attach(d, "withfd", out.read_fd, -1, {"push-only=true"}, nullptr, &message),
              RINGLOG_STATUS_BAD_FDS);
    EXPECT_EQ(message, "a push-only attach carries no file descriptors, got 1");
    EXPECT_EQ(attach(d, "nofd", -1, -1, {"push-only=false"}, nullptr, &message), -EINVAL);
    ASSERT_EQ(attach(d, "po", -1, -1, {"push-only=true"}, nullptr, &message), 0);
    EXPECT_EQ(message, "attached po (driver json-file, blocking, ring 1048576 (1m), push-only)");

    // A push with an fd: refused, the fd closed by ringlogd.
    unsigned char request[256];
    const char* lines[] = {"x"};
    long len = ringlog_push_encode("po", nullptr, lines, nullptr, 1, request, sizeof request);
    ASSERT_GT(len, 0);
    int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, d.socket().c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct iovec iov {
        request, static_cast<size_t>(len)
    };
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    auto* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &out.write_fd, sizeof(int));
    ASSERT_EQ(::sendmsg(s, &msg, 0), len);
    char reply[512];
    ssize_t n = ::recv(s, reply, sizeof reply, 0);
    ::close(s);
    ASSERT_GT(n, 8);
    EXPECT_EQ(reply[6], RINGLOG_STATUS_BAD_FDS);
    EXPECT_EQ(std::string(reply + 8, static_cast<size_t>(n) - 8),
              "a push carries no file descriptors, got 1");
    ASSERT_EQ(d.stop(), 0);
    EXPECT_EQ(readJsonLog(d.logFile("po")).size(), 0u);
}

// Pushers keep their connections between pushes; they do not take the places of engines that
// wait for an attach's answer (128).
TEST(Push, PushersKeptConnectedDoNotCrowdOutAttaches) {
    TempDir dir;
    Daemon d(dir.path());
    ASSERT_EQ(attach(d, "many", -1, -1, {"push-only=true"}), RINGLOG_STATUS_OK);
    std::vector<ringlog_pusher*> pushers;
    char err[RINGLOG_MAX_REPLY_BYTES];
    for (int i = 0; i < 200; ++i) {
        ringlog_pusher* p = ringlog_pusher_open(d.socket().c_str(), err, sizeof err);
        ASSERT_NE(p, nullptr) << err;
        std::string line = "from pusher " + std::to_string(i);
        const char* lines[] = {line.c_str()};
        ASSERT_EQ(ringlog_pusher_send(p, "many", nullptr, lines, nullptr, 1, err, sizeof err), 0)
            << err;
        pushers.push_back(p);
    }
    Pipe out;
    EXPECT_EQ(attach(d, "engine", out.read_fd, -1, {}), RINGLOG_STATUS_OK);
    // Each connection is still there for its next push.
    for (size_t i = 0; i < pushers.size(); ++i) {
        const char* lines[] = {"again"};
        EXPECT_EQ(
            ringlog_pusher_send(pushers[i], "many", nullptr, lines, nullptr, 1, err, sizeof err), 0)
            << err;
        ringlog_pusher_close(pushers[i]);
    }
    out.closeWrite();
    ASSERT_EQ(d.stop(), 0);
    EXPECT_EQ(readJsonLog(d.logFile("many")).size(), 400u);
}

// Under a real systemd: a push-only container is carried across a restart and a kill of
// ringlogd like any container (its ring in the fd store, its attach request in the ring), takes
// pushes after each, and goes once detached.
TEST(PushUnderSystemd, APushOnlyContainerOutlivesARestartAndAKillOfRinglogd_Root) {
    TempDir tmp;
    BootedSystemd sd(tmp.path());
    auto pushLine = [&](const std::string& line) {
        return sd.run(
            {"/bin/sh", "-c", "echo '" + line + "' | " + BootedSystemd::ringlogctl() + " push po"});
    };
    auto waitFor = [&](const std::string& status) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!startsWith(sd.property("ringlogd.service", "StatusText"), status)) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline)
                << "still: " << sd.property("ringlogd.service", "StatusText");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    };
    ASSERT_EQ(sd.run({BootedSystemd::ringlogctl(), "attach", "--id", "po", "--push-only"}), 0);
    pid_t pid = sd.waitForRinglogd();
    waitFor("1 containers attached");
    EXPECT_EQ(pushLine("before the restart"), 0);
    ASSERT_EQ(sd.systemctl({"restart", "ringlogd.service"}), 0);
    pid = sd.waitForRinglogd(pid);
    waitFor("1 containers attached");
    EXPECT_EQ(pushLine("after the restart"), 0);
    EXPECT_EQ(sd.run({BootedSystemd::ringlogctl(), "attach", "--id", "po", "--push-only"}), 125)
        << "still attached: a second attach is refused";
    sd.systemctl({"kill", "--kill-who=main", "-s", "KILL", "ringlogd.service"});
    pid = sd.waitForRinglogd(pid);
    waitFor("1 containers attached");
    EXPECT_EQ(pushLine("after the kill"), 0);
    ASSERT_EQ(sd.run({BootedSystemd::ringlogctl(), "detach", "po"}), 0);
    waitFor("0 containers attached");
    EXPECT_NE(pushLine("after the detach"), 0);
    auto records = readJsonLog(sd.logFile("po"));
    std::vector<std::string> logs;
    for (const auto& r : records)
        logs.push_back(r.log);
    EXPECT_EQ(logs, (std::vector<std::string>{"before the restart\n", "after the restart\n",
                                              "after the kill\n"}));
}

}  // namespace
}  // namespace ringlog::test
