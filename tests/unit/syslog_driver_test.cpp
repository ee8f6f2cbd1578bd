// The syslog driver over real sockets: a unix listener, a unix datagram socket and a loopback TCP
// server, all in the test.
#include "drivers/syslog/syslog_driver.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "drivers/registry.h"
#include "service/base/unique_fd.h"

namespace ringlog {
namespace {

using namespace std::chrono_literals;

ContainerInfo container() {
    ContainerInfo info;
    info.id = "4f2c9a1b7d3e00000000000000000000000000000000000000000000000000ff";
    info.name = "web";
    info.image = "nginx";
    return info;
}

Result<std::unique_ptr<LogDriver>> makeDriver(const KeyValues& given) {
    const DriverDescriptor* d = findDriver("syslog");
    auto options = validateOptions(*d, {}, given);
    if (!options)
        return options.error();
    return d->create(container(), *options, DriverEnvironment{});
}

// Records as the ring hands them out: views into strings the test keeps.
struct Records {
    std::vector<std::string> texts;
    std::vector<RecordView> views;
    explicit Records(size_t n, size_t size = 0, uint64_t first = 1) {
        texts.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            std::string t = "line " + std::to_string(first + i);
            if (t.size() < size)
                t.append(size - t.size(), 'x');
            texts.push_back(std::move(t));
        }
        for (size_t i = 0; i < n; ++i) {
            RecordView v;
            v.flags = kRecordNewline;
            v.time_ns = 1'700'000'000'000'000'000;
            v.sequence = first + i;
            v.message = texts[i];
            views.push_back(v);
        }
    }
};

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/ringlog-syslog-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    std::string path(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

UniqueFd unixServer(const std::string& path, int type) {
    UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    struct sockaddr_un sa {};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa), 0);
    if (type == SOCK_STREAM) {
        EXPECT_EQ(::listen(fd.get(), 8), 0);
    }
    return fd;
}

UniqueFd tcpServer(uint16_t& port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    struct sockaddr_in sa {};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(fd.get(), 8), 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd.get(), reinterpret_cast<struct sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
    return fd;
}

UniqueFd acceptOne(const UniqueFd& listener) {
    return UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
}

// What is readable now, without waiting.
std::string readAvailable(const UniqueFd& fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t r = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (r <= 0)
            return out;
        out.append(buf, static_cast<size_t>(r));
    }
}

// Writes as the consumer pool does: what is not done is offered again, after busy_retry_ms (the
// pool's timer) when the driver asks for it, until all is done or `tries` runs out.
WriteResult writeAll(LogDriver& d, std::span<const RecordView> records, int tries = 2000) {
    WriteResult r;
    for (int i = 0; i < tries && !records.empty(); ++i) {
        r = d.write(records, {});
        records = records.subspan(r.records_done);
        if (r.status == WriteStatus::kOk)
            return r;
        if (r.busy_retry_ms == 0)
            return r;
        std::this_thread::sleep_for(std::chrono::milliseconds(r.busy_retry_ms));
    }
    return r;
}

// Splits RFC 6587 octet-counted frames; fails the test on a malformed one.
std::vector<std::string> octetFrames(std::string_view bytes) {
    std::vector<std::string> out;
    while (!bytes.empty()) {
        size_t sp = bytes.find(' ');
        EXPECT_NE(sp, std::string_view::npos);
        if (sp == std::string_view::npos)
            break;
        size_t len = std::stoul(std::string(bytes.substr(0, sp)));
        EXPECT_LE(sp + 1 + len, bytes.size());
        out.emplace_back(bytes.substr(sp + 1, len));
        bytes.remove_prefix(std::min(bytes.size(), sp + 1 + len));
    }
    return out;
}

std::vector<std::string> lines(std::string_view bytes) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl; (nl = bytes.find('\n', start)) != std::string_view::npos; start = nl + 1)
        out.emplace_back(bytes.substr(start, nl - start));
    EXPECT_EQ(start, bytes.size()) << "a message without its newline";
    return out;
}

bool endsWith(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

TEST(SyslogDriver, IsRegisteredWithDockersOptionsAndNoReader) {
    const DriverDescriptor* d = findDriver("syslog");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->open_reader, nullptr);
    auto o = validateOptions(*d, {},
                             {{"syslog-address", "udp://127.0.0.1"},
                              {"syslog-facility", "local3"},
                              {"syslog-format", "rfc5424micro"},
                              {"tag", "{{.Name}}"},
                              {"syslog-tls-skip-verify", "true"},
                              {"cache-disabled", "true"},
                              {"cache-max-size", "10m"},
                              {"cache-max-file", "3"},
                              {"cache-compress", "false"}});
    ASSERT_TRUE(o.ok()) << o.error().message;
    auto defaults = validateOptions(*d, {}, {});
    EXPECT_EQ(defaults->at("syslog-facility"), "daemon");
    EXPECT_EQ(defaults->at("tag"), "{{.ID}}");
    EXPECT_EQ(defaults->at("cache-max-size"), "20m");
    EXPECT_FALSE(validateOptions(*d, {}, {{"cache-max-file", "many"}}).ok());
    EXPECT_FALSE(validateOptions(*d, {}, {{"syslog-tag", "x"}}).ok());
}

TEST(SyslogDriver, CreationRefusesBadOptionsNamingTheValue) {
    auto a = makeDriver({{"syslog-address", "tcp://logs:51x"}});
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.error().message.find("\"tcp://logs:51x\""), std::string::npos);
    auto f = makeDriver({{"syslog-facility", "nope"}});
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("\"nope\""), std::string::npos);
    EXPECT_FALSE(makeDriver({{"syslog-format", "rfc9999"}}).ok());
    EXPECT_FALSE(makeDriver({{"tag", "{{.Bogus}}"}}).ok());
    auto tls = makeDriver(
        {{"syslog-address", "tcp+tls://127.0.0.1"}, {"syslog-tls-ca-cert", "/nonexistent/ca.pem"}});
    ASSERT_FALSE(tls.ok());
    EXPECT_NE(tls.error().message.find("/nonexistent/ca.pem"), std::string::npos);
    auto half = makeDriver({{"syslog-address", "tcp+tls://127.0.0.1"},
                            {"syslog-tls-skip-verify", "true"},
                            {"syslog-tls-cert", "/etc/hostname"}});
    ASSERT_FALSE(half.ok());
    // A server that is not there yet is not an error at creation: writes retry.
    EXPECT_TRUE(makeDriver({{"syslog-address", "unix:///nonexistent/log"}}).ok());
}

TEST(SyslogDriver, DatagramsCarryOneMessageEach) {
    TempDir dir;
    UniqueFd server = unixServer(dir.path("log"), SOCK_DGRAM);
    auto d = makeDriver(
        {{"syslog-address", "unixgram://" + dir.path("log")}, {"syslog-facility", "local0"}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    Records recs(3);
    recs.views[1].stream = Stream::kStderr;
    WriteResult r = (*d)->write(recs.views, {});
    ASSERT_EQ(r.status, WriteStatus::kOk) << r.error;
    std::string tag = "4f2c9a1b7d3e[" + std::to_string(::getpid()) + "]: ";
    char buf[4096];
    for (int i = 0; i < 3; ++i) {
        ssize_t n = ::recv(server.get(), buf, sizeof buf, MSG_DONTWAIT);
        ASSERT_GT(n, 0);
        std::string gram(buf, static_cast<size_t>(n));
        EXPECT_EQ(gram.substr(0, 4), i == 1 ? "<131" : "<134");
        EXPECT_TRUE(endsWith(gram, tag + "line " + std::to_string(i + 1) + "\n")) << gram;
    }
    EXPECT_LT(::recv(server.get(), buf, sizeof buf, MSG_DONTWAIT), 0);
}

TEST(SyslogDriver, TcpFramesAreOctetCountedAndSentOnce) {
    uint16_t port = 0;
    UniqueFd listener = tcpServer(port);
    auto d = makeDriver({{"syslog-address", "tcp://127.0.0.1:" + std::to_string(port)},
                         {"syslog-format", "rfc5424"}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    Records recs(500);
    WriteResult r = writeAll(**d, recs.views);
    ASSERT_EQ(r.status, WriteStatus::kOk) << r.error;
    UniqueFd conn = acceptOne(listener);
    ASSERT_TRUE(conn);
    auto frames = octetFrames(readAvailable(conn));
    ASSERT_EQ(frames.size(), 500u);
    for (size_t i = 0; i < frames.size(); ++i) {
        EXPECT_EQ(frames[i].rfind("<30>1 2023-11-14T22:13:20Z ", 0), 0u) << frames[i];
        EXPECT_TRUE(endsWith(frames[i], "] line " + std::to_string(i + 1) + "\n")) << frames[i];
    }
}

TEST(SyslogDriver, UnixStreamRecordsAreDoneOnceReadAndNotSentAgainMeanwhile) {
    TempDir dir;
    UniqueFd listener = unixServer(dir.path("log"), SOCK_STREAM);
    auto d = makeDriver({{"syslog-address", "unix://" + dir.path("log")}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    Records recs(3);
    // Sent, but the server has read nothing: not done, and asked again very soon.
    WriteResult r = (*d)->write(recs.views, {});
    EXPECT_EQ(r.status, WriteStatus::kRetry);
    EXPECT_EQ(r.records_done, 0u);
    EXPECT_GT(r.busy_retry_ms, 0);
    EXPECT_LE(r.busy_retry_ms, 2);
    EXPECT_TRUE(r.error.empty()) << r.error;
    // Offered again (the ring keeps them): not sent a second time.
    r = (*d)->write(recs.views, {});
    EXPECT_EQ(r.records_done, 0u);
    UniqueFd conn = acceptOne(listener);
    ASSERT_TRUE(conn);
    auto got = lines(readAvailable(conn));
    ASSERT_EQ(got.size(), 3u);
    EXPECT_TRUE(endsWith(got[2], "]: line 3")) << got[2];  // docker's format, newline-framed
    // Read by the server now: done.
    r = (*d)->write(recs.views, {});
    EXPECT_EQ(r.status, WriteStatus::kOk) << r.error;
    EXPECT_EQ(r.records_done, 3u);
    EXPECT_EQ(readAvailable(conn), "");
}

// Found by the syslog_format fuzzer: a record never holds a '\n', but the tag may (the template's
// own text), and in RFC 5424 a label's value or a log file's name: on a unix stream,
// newline-framed, such a '\n' ended the frame early and the server read two messages. It is sent as
// a space.
TEST(SyslogDriver, AUnixStreamFrameIsOneLineThoughTheTagALabelOrAFileNameHasANewline) {
    TempDir dir;
    const DriverDescriptor* syslog = findDriver("syslog");
    ContainerInfo info = container();
    info.labels = {{"note", "two\nlines"}};
    auto frames = [&](const std::string& socket, const KeyValues& given) {
        UniqueFd listener = unixServer(dir.path(socket), SOCK_STREAM);
        KeyValues all = given;
        all.emplace_back("syslog-address", "unix://" + dir.path(socket));
        auto options = validateOptions(*syslog, {}, all);
        EXPECT_TRUE(options.ok());
        auto d = syslog->create(info, *options, DriverEnvironment{});
        EXPECT_TRUE(d.ok());
        Records recs(2);
        recs.views[1].file = "app\n.log";
        (*d)->write(recs.views, {});
        UniqueFd conn = acceptOne(listener);
        EXPECT_TRUE(conn);
        return lines(readAvailable(conn));
    };
    auto rfc5424 = frames("log", {{"syslog-format", "rfc5424"}, {"labels", "note"}});
    ASSERT_EQ(rfc5424.size(), 2u);
    EXPECT_NE(rfc5424[0].find(" note=\"two lines\"] line 1"), std::string::npos) << rfc5424[0];
    EXPECT_NE(rfc5424[1].find(" log_file=\"app .log\"] line 2"), std::string::npos) << rfc5424[1];
    auto docker = frames("log2", {{"tag", "web\nserver"}});
    ASSERT_EQ(docker.size(), 2u);
    EXPECT_TRUE(endsWith(docker[0], " web server[" + std::to_string(::getpid()) + "]: line 1"))
        << docker[0];
}

TEST(SyslogDriver, WhatTheServerDidNotReadIsSentAgainOnTheNextConnection) {
    TempDir dir;
    UniqueFd listener = unixServer(dir.path("log"), SOCK_STREAM);
    auto d = makeDriver({{"syslog-address", "unix://" + dir.path("log")}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    Records recs(5);
    std::span<const RecordView> all(recs.views);
    WriteResult r = (*d)->write(all.first(2), {});
    ASSERT_EQ(r.records_done, 0u);
    {
        // The server reads the first two, then gets three more it never reads, and goes away.
        UniqueFd first = acceptOne(listener);
        ASSERT_TRUE(first);
        ASSERT_EQ(lines(readAvailable(first)).size(), 2u);
        r = (*d)->write(all, {});
        EXPECT_EQ(r.records_done, 2u);
        EXPECT_EQ(r.status, WriteStatus::kRetry);
    }
    std::span<const RecordView> rest = all.subspan(2);
    r = (*d)->write(rest, {});
    EXPECT_EQ(r.status, WriteStatus::kRetry);
    EXPECT_EQ(r.records_done, 0u);
    EXPECT_EQ(r.busy_retry_ms, 0);  // a failure: the container backs off, shown degraded
    EXPECT_NE(r.error.find("unix://" + dir.path("log")), std::string::npos) << r.error;
    // The next write connects again and sends what was not read, once; not what was.
    r = (*d)->write(rest, {});
    UniqueFd second = acceptOne(listener);
    ASSERT_TRUE(second);
    auto got = lines(readAvailable(second));
    ASSERT_EQ(got.size(), 3u);
    EXPECT_TRUE(endsWith(got[0], "]: line 3")) << got[0];
    EXPECT_TRUE(endsWith(got[2], "]: line 5")) << got[2];
    r = (*d)->write(rest, {});
    EXPECT_EQ(r.status, WriteStatus::kOk) << r.error;
}

TEST(SyslogDriver, WriteNeverBlocksWhenTheServerDoesNotRead) {
    TempDir dir;
    UniqueFd listener = unixServer(dir.path("log"), SOCK_STREAM);
    auto d = makeDriver({{"syslog-address", "unix://" + dir.path("log")}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    Records recs(4000, 1000);             // 4 MB, far more than a socket buffer
    UniqueFd conn = acceptOne(listener);  // after the first write's connect, below
    auto longest = std::chrono::steady_clock::duration::zero();
    WriteResult r;
    for (int i = 0; i < 50; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        r = (*d)->write(recs.views, {});
        longest = std::max(longest, std::chrono::steady_clock::now() - t0);
        EXPECT_EQ(r.status, WriteStatus::kRetry);
        EXPECT_EQ(r.records_done, 0u);
        EXPECT_GT(r.busy_retry_ms, 0);
        EXPECT_TRUE(r.error.empty());
        if (!conn)
            conn = acceptOne(listener);
    }
    EXPECT_LT(longest, 50ms);
    // The server reads everything, slowly: every record arrives once, in order.
    ASSERT_TRUE(conn);
    std::string all;
    std::span<const RecordView> rest(recs.views);
    for (int i = 0; i < 5000 && !rest.empty(); ++i) {
        all += readAvailable(conn);
        r = (*d)->write(rest, {});
        rest = rest.subspan(r.records_done);
    }
    all += readAvailable(conn);
    EXPECT_TRUE(rest.empty());
    auto got = lines(all);
    ASSERT_EQ(got.size(), 4000u);
    for (size_t i = 0; i < got.size(); i += 997)
        EXPECT_NE(got[i].find("]: line " + std::to_string(i + 1) + "x"), std::string::npos);
}

// The ring hands the same pending drop count with every batch until a write reports records
// done, and drops a cell whose records were sent but not yet acknowledged (non-blocking mode):
// each dropped line is announced once, on the first record sent after it.
TEST(SyslogDriver, DroppedLinesAreAnnouncedOnceThoughTheRingHandsThemAgain) {
    TempDir dir;
    UniqueFd listener = unixServer(dir.path("log"), SOCK_STREAM);
    auto d =
        makeDriver({{"syslog-address", "unix://" + dir.path("log")}, {"syslog-format", "rfc5424"}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    Records x(2, 0, 10);  // 10, 11
    Records y(2, 0, 20);  // 20, 21: the ring dropped 12 … 19 meanwhile
    WriteResult r = (*d)->write(x.views, DropCount{5, 500});
    EXPECT_EQ(r.records_done, 0u);
    r = (*d)->write(x.views, DropCount{5, 500});  // offered again, with the same count
    EXPECT_EQ(r.records_done, 0u);
    r = (*d)->write(y.views, DropCount{5 + 8, 500 + 800});
    EXPECT_EQ(r.records_done, 0u);
    UniqueFd conn = acceptOne(listener);
    ASSERT_TRUE(conn);
    auto got = lines(readAvailable(conn));
    ASSERT_EQ(got.size(), 4u);
    EXPECT_NE(got[0].find(" dropped_lines=\"5\" dropped_bytes=\"500\"] line 10"), std::string::npos)
        << got[0];
    EXPECT_EQ(got[1].find("dropped_lines"), std::string::npos) << got[1];
    EXPECT_NE(got[2].find(" dropped_lines=\"8\" dropped_bytes=\"800\"] line 20"), std::string::npos)
        << got[2];
    EXPECT_EQ(got[3].find("dropped_lines"), std::string::npos) << got[3];
    r = (*d)->write(y.views, DropCount{13, 1300});
    EXPECT_EQ(r.status, WriteStatus::kOk) << r.error;
}

TEST(SyslogDriver, AServerThatIsNotThereIsARetryNamingTheAddress) {
    TempDir dir;
    auto d = makeDriver({{"syslog-address", "unix://" + dir.path("absent")}});
    ASSERT_TRUE(d.ok());
    Records recs(1);
    WriteResult r = (*d)->write(recs.views, {});
    EXPECT_EQ(r.status, WriteStatus::kRetry);
    EXPECT_EQ(r.busy_retry_ms, 0);
    EXPECT_NE(r.error.find(dir.path("absent")), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("No such file"), std::string::npos) << r.error;

    uint16_t port = 0;
    { UniqueFd closed = tcpServer(port); }
    auto t = makeDriver({{"syslog-address", "tcp://127.0.0.1:" + std::to_string(port)}});
    ASSERT_TRUE(t.ok());
    r = writeAll(**t, recs.views);
    EXPECT_EQ(r.status, WriteStatus::kRetry);
    EXPECT_NE(r.error.find("tcp://127.0.0.1:" + std::to_string(port)), std::string::npos)
        << r.error;
    EXPECT_NE(r.error.find("refused"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace ringlog
