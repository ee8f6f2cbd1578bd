// The rsyslogd harness itself (rsyslog_server.h), with writers that are not ringlogd: util-linux's
// logger, gnutls-cli and a bare socket writer here. The syslog driver's tests trust what it
// records only because these show every input records every field exactly.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "rsyslog_server.h"

namespace ringlog::test {
namespace {

using Input = RsyslogServer::Input;

// A connected stream socket to a unix path or 127.0.0.1:port; -1 if refused.
int connectTo(const std::string& address) {
    if (startsWith(address, "unix://")) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, address.c_str() + 7, sizeof a.sun_path - 1);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
            return fd;
        ::close(fd);
        return -1;
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
        return fd;
    ::close(fd);
    return -1;
}

void sendAll(int fd, const std::string& bytes) {
    for (size_t done = 0; done < bytes.size();) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        ASSERT_GT(n, 0) << std::strerror(errno);
        done += static_cast<size_t>(n);
    }
}

std::string octetCounted(const std::string& message) {
    return std::to_string(message.size()) + " " + message;
}

class RsyslogServerTest : public ::testing::Test {
  protected:
    int run(const std::vector<std::string>& argv, const std::string& stdin_text = "") {
        fs::path in = dir_.path() / "stdin", out = dir_.path() / "tool.log";
        std::ofstream(in, std::ios::binary) << stdin_text;
        int fd = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
        SpawnOptions o;
        o.stdin_fd = fd;
        o.stdout_file = out.string();
        o.stderr_file = out.string();
        int rc = spawn(argv, o).wait();
        ::close(fd);
        return rc;
    }
    std::string port(Input input) const {
        std::string a = server_.address(input);
        return a.substr(a.rfind(':') + 1);
    }
    std::string path(Input input) const {
        std::string a = server_.address(input);
        return a.substr(a.find("://") + 3);
    }
    TempDir dir_;
    RsyslogServer server_{dir_.path() / "rsyslog"};
};

TEST_F(RsyslogServerTest, EveryInputRecordsEveryFieldOfWhatLoggerSends) {
    std::vector<std::string> rfc5424 = {"--rfc5424",
                                        "-t",
                                        "app",
                                        "-p",
                                        "local3.err",
                                        "--msgid",
                                        "M1",
                                        "--sd-id",
                                        "ringlog@32473",
                                        "--sd-param",
                                        "container_name=\"web\""};
    auto with = [&](std::vector<std::string> head, const std::string& message) {
        head.insert(head.end(), rfc5424.begin(), rfc5424.end());
        head.push_back(message);
        return head;
    };
    ASSERT_EQ(run(with({"/usr/bin/logger", "-u", path(Input::Unix)}, "over unix")), 0);
    ASSERT_EQ(run(with({"/usr/bin/logger", "-u", path(Input::Unixgram)}, "over unixgram")), 0);
    ASSERT_EQ(
        run(with({"/usr/bin/logger", "-d", "-n", "127.0.0.1", "-P", port(Input::Udp)}, "over udp")),
        0);
    ASSERT_EQ(run(with({"/usr/bin/logger", "-T", "--octet-count", "-n", "127.0.0.1", "-P",
                        port(Input::Tcp)},
                       "over tcp")),
              0);
    for (Input input : {Input::Unix, Input::Unixgram, Input::Udp, Input::Tcp}) {
        SCOPED_TRACE(RsyslogServer::name(input));
        auto r = server_.waitForRecords(input, 1);
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].pri, 19 * 8 + 3);  // local3 is facility 19
        EXPECT_EQ(r[0].facility, "local3");
        EXPECT_EQ(r[0].severity, "err");
        EXPECT_EQ(r[0].app_name, "app");
        EXPECT_EQ(r[0].msgid, "M1");
        EXPECT_NE(r[0].structured_data.find("[ringlog@32473 container_name=\"web\"]"),
                  std::string::npos)
            << r[0].structured_data;
        EXPECT_EQ(r[0].msg, "over " + RsyslogServer::name(input));
        EXPECT_TRUE(startsWith(r[0].raw, "<155>1 ")) << r[0].raw;
    }
    // RFC 3164 as logger writes it to a local socket: rsyslog keeps the space after "tag:".
    ASSERT_EQ(run({"/usr/bin/logger", "-u", path(Input::Unixgram), "--rfc3164", "-t", "old", "-p",
                   "local3.info", "bsd style"}),
              0);
    auto r = server_.waitForRecords(Input::Unixgram, 2);
    EXPECT_EQ(r[1].pri, 19 * 8 + 6);
    EXPECT_EQ(r[1].severity, "info");
    EXPECT_EQ(r[1].tag, "old:");
    EXPECT_EQ(r[1].msg, " bsd style");
}

// What a syslog driver sends and a test checks: octet-counted and LF-framed messages in one
// stream, control characters, quotes and '|' kept as they were, a 20,000-byte message whole, the
// sender's timestamp to the microsecond, over every stream transport (TLS through gnutls-cli, with
// and without a client certificate).
TEST_F(RsyslogServerTest, StreamInputsKeepEveryByteOfOctetCountedAndLfFramedMessages) {
    const std::string head = "<158>1 2026-11-30T10:00:00.123456Z host app 42 ID7 ";
    const std::vector<std::string> messages = {
        head + "[ringlog@32473 container_id=\"abc\" image_name=\"a\\\"b\"] ctl\x01 tab\t|pipe",
        head + "- " + std::string(20000, 'L'),
        head + "- after the long one",
    };
    std::string stream = octetCounted(messages[0]) + octetCounted(messages[1]) + messages[2] + "\n";
    for (Input input : {Input::Unix, Input::Tcp}) {
        int fd = connectTo(server_.address(input));
        ASSERT_GE(fd, 0) << server_.address(input);
        sendAll(fd, stream);
        ::close(fd);
    }
    auto tls = [&](Input input, std::vector<std::string> extra, const std::string& text) {
        std::vector<std::string> argv = {
            "/usr/bin/gnutls-cli", "--x509cafile", server_.caCert().string(), "--port",
            port(input),           "localhost"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return run(argv, text);
    };
    ASSERT_EQ(tls(Input::Tls, {}, stream), 0);
    // No client certificate: tls-auth refuses the session (gnutls-cli may not notice: with TLS
    // 1.3 its side of the handshake is over first); with one, it takes it.
    tls(Input::TlsClientAuth, {}, head + "- no certificate\n");
    ASSERT_EQ(tls(Input::TlsClientAuth,
                  {"--x509certfile", server_.clientCert().string(), "--x509keyfile",
                   server_.clientKey().string()},
                  stream),
              0);
    for (Input input : {Input::Unix, Input::Tcp, Input::Tls, Input::TlsClientAuth}) {
        SCOPED_TRACE(RsyslogServer::name(input));
        auto r = server_.waitForRecords(input, 3);
        ASSERT_EQ(r.size(), 3u);
        EXPECT_EQ(r[0].msg, "ctl\x01 tab\t|pipe");
        EXPECT_EQ(r[0].structured_data,
                  "[ringlog@32473 container_id=\"abc\" image_name=\"a\\\"b\"]");
        EXPECT_EQ(r[1].msg, std::string(20000, 'L'));
        EXPECT_EQ(r[2].msg, "after the long one");
        for (const auto& record : server_.records(input))
            EXPECT_NE(record.msg, "no certificate");
        for (size_t i = 0; i < r.size(); ++i) {
            EXPECT_EQ(r[i].raw, messages[i]);
            EXPECT_EQ(r[i].timestamp, "2026-11-30T10:00:00.123456Z");
            EXPECT_EQ(r[i].hostname, "host");
            EXPECT_EQ(r[i].procid, "42");
            EXPECT_EQ(r[i].msgid, "ID7");
            EXPECT_EQ(r[i].severity, "info");
        }
    }
}

TEST_F(RsyslogServerTest, RestartsOnTheSamePortsAndPathsAndAppendsToTheSameFiles) {
    auto send = [&](const std::string& text) {
        int fd = connectTo(server_.address(Input::Tcp));
        if (fd < 0)
            return false;
        sendAll(fd, "<14>1 - - t - - - " + text + "\n");
        ::close(fd);
        return true;
    };
    ASSERT_TRUE(send("before"));
    server_.waitForRecords(Input::Tcp, 1);
    server_.stop();
    EXPECT_FALSE(send("while stopped")) << "nothing listens while it is stopped";
    EXPECT_LT(connectTo(server_.address(Input::Unix)), 0);
    server_.start();
    ASSERT_TRUE(send("after"));
    auto r = server_.waitForRecords(Input::Tcp, 2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].msg, "before");
    EXPECT_EQ(r[1].msg, "after");
}

TEST_F(RsyslogServerTest, WaitingForRecordsThatNeverComeSaysWhatArrived) {
    ASSERT_EQ(run({"/usr/bin/logger", "-d", "-n", "127.0.0.1", "-P", port(Input::Udp), "--rfc5424",
                   "only one"}),
              0);
    try {
        server_.waitForRecords(Input::Udp, 2, std::chrono::milliseconds(500));
        FAIL() << "waitForRecords returned";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("rsyslogd wrote 1 of 2 records"), std::string::npos) << what;
        EXPECT_NE(what.find("only one"), std::string::npos) << what;
    }
}

}  // namespace
}  // namespace ringlog::test
