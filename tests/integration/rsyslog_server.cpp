#include "rsyslog_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ringlog::test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kRsyslogd = "/usr/sbin/rsyslogd";
constexpr const char* kCerttool = "/usr/bin/certtool";

// The inodes of a process's sockets ("socket:[123]" in /proc/<pid>/fd).
std::set<std::string> socketInodes(pid_t pid) {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        auto target = fs::read_symlink(e.path(), ec).string();
        if (!ec && startsWith(target, "socket:["))
            out.insert(target.substr(8, target.size() - 9));
    }
    return out;
}

// Whether /proc/net/<table> has a socket of `inodes` on 127.0.0.1:<port> in `state` (0A: a TCP
// listener; 07: a bound UDP socket).
bool inetListening(const char* table, int port, const char* state,
                   const std::set<std::string>& inodes) {
    char local[32];
    std::snprintf(local, sizeof local, "0100007F:%04X", port);
    std::ifstream in(std::string("/proc/net/") + table);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, l, remote, st, queues, timer, retr, uid, timeout, inode;
        f >> sl >> l >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
        if (l == local && st == state && inodes.count(inode) != 0)
            return true;
    }
    return false;
}

bool unixListening(const fs::path& path, const std::set<std::string>& inodes) {
    std::ifstream in("/proc/net/unix");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string num, refs, protocol, flags, type, st, inode, name;
        f >> num >> refs >> protocol >> flags >> type >> st >> inode >> name;
        if (name == path.string() && inodes.count(inode) != 0)
            return true;
    }
    return false;
}

void run(const std::vector<std::string>& argv, const fs::path& log) {
    SpawnOptions o;
    o.stdout_file = log.string();
    o.stderr_file = log.string();
    if (spawn(argv, o).wait() != 0)
        throw std::runtime_error(argv[0] + " failed:\n" + readFile(log));
}

// Counts the complete lines of a file that grows, reading only what it gained.
class LineCounter {
  public:
    explicit LineCounter(fs::path file) : file_(std::move(file)) {}
    ~LineCounter() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    size_t count() {
        if (fd_ < 0 && (fd_ = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC)) < 0)
            return 0;
        char buf[1 << 16];
        ssize_t n;
        while ((n = ::read(fd_, buf, sizeof buf)) > 0)
            lines_ += static_cast<size_t>(std::count(buf, buf + n, '\n'));
        return lines_;
    }

  private:
    fs::path file_;
    int fd_ = -1;
    size_t lines_ = 0;
};

// Each record as one JSON object (rsyslog's jsonf): what a test compares field by field.
constexpr const char* kRecordTemplate =
    "template(name=\"record\" type=\"list\" option.jsonf=\"on\") {\n"
    "  property(outname=\"pri\" name=\"pri\" format=\"jsonf\")\n"
    "  property(outname=\"facility\" name=\"syslogfacility-text\" format=\"jsonf\")\n"
    "  property(outname=\"severity\" name=\"syslogseverity-text\" format=\"jsonf\")\n"
    "  property(outname=\"timestamp\" name=\"timereported\" dateFormat=\"rfc3339\" "
    "format=\"jsonf\")\n"
    "  property(outname=\"hostname\" name=\"hostname\" format=\"jsonf\")\n"
    "  property(outname=\"app_name\" name=\"app-name\" format=\"jsonf\")\n"
    "  property(outname=\"tag\" name=\"syslogtag\" format=\"jsonf\")\n"
    "  property(outname=\"procid\" name=\"procid\" format=\"jsonf\")\n"
    "  property(outname=\"msgid\" name=\"msgid\" format=\"jsonf\")\n"
    "  property(outname=\"structured_data\" name=\"structured-data\" format=\"jsonf\")\n"
    "  property(outname=\"msg\" name=\"msg\" format=\"jsonf\")\n"
    "  property(outname=\"raw\" name=\"rawmsg\" format=\"jsonf\")\n"
    "  property(outname=\"received\" name=\"timegenerated\" dateFormat=\"rfc3339\" "
    "format=\"jsonf\")\n"
    "}\n";

// Starts `rsyslogd -n -f <dir>/rsyslog.conf` and returns once `listening(pid)`; throws with
// rsyslogd's own messages if it exits first or is not listening within 30 s.
Process launchRsyslogd(const fs::path& dir, const std::function<bool(pid_t)>& listening);

// SIGTERM; it stops in milliseconds, one that does not is killed after 10 s, not waited for.
void terminateRsyslogd(Process& process);

}  // namespace

// Free loopback ports: bound to port 0 together (so that they differ), then let go for the server
// that listens there (rsyslogd, systemd-journal-remote).
std::vector<int> freePorts(int type, int n) {
    std::vector<int> fds, ports;
    for (int i = 0; i < n; ++i) {
        int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error(std::string("picking a free port: ") + std::strerror(errno));
        fds.push_back(fd);
        ports.push_back(ntohs(a.sin_port));
    }
    for (int fd : fds)
        ::close(fd);
    return ports;
}

SyslogRecord parseSyslogRecord(const std::string& line) {
    auto j = nlohmann::json::parse(line);
    SyslogRecord r;
    r.pri = std::stoi(j.at("pri").get<std::string>());
    r.facility = j.at("facility");
    r.severity = j.at("severity");
    r.timestamp = j.at("timestamp");
    r.hostname = j.at("hostname");
    r.app_name = j.at("app_name");
    r.tag = j.at("tag");
    r.procid = j.at("procid");
    r.msgid = j.at("msgid");
    r.structured_data = j.at("structured_data");
    r.msg = j.at("msg");
    r.raw = j.at("raw");
    r.received = j.at("received");
    return r;
}

RsyslogServer::RsyslogServer(const fs::path& dir) : dir_(dir), tls_(dir / "tls") {
    fs::create_directories(dir_ / "work");
    fs::create_directories(dir_ / "out");
    fs::create_directories(tls_);
    makeCertificates();
    auto tcp = freePorts(SOCK_STREAM, 3);
    tcp_port_ = tcp[0];
    tls_port_ = tcp[1];
    tls_auth_port_ = tcp[2];
    udp_port_ = freePorts(SOCK_DGRAM, 1)[0];
    writeConfig();
    start();
}

RsyslogServer::~RsyslogServer() {
    if (running())
        stop();
}

std::string RsyslogServer::name(Input input) {
    switch (input) {
        case Input::Unix:
            return "unix";
        case Input::Unixgram:
            return "unixgram";
        case Input::Udp:
            return "udp";
        case Input::Tcp:
            return "tcp";
        case Input::Tls:
            return "tls";
        case Input::TlsClientAuth:
            return "tls-auth";
    }
    return "?";
}

std::string RsyslogServer::address(Input input) const {
    switch (input) {
        case Input::Unix:
            return "unix://" + (dir_ / "stream.sock").string();
        case Input::Unixgram:
            return "unixgram://" + (dir_ / "dgram.sock").string();
        case Input::Udp:
            return "udp://127.0.0.1:" + std::to_string(udp_port_);
        case Input::Tcp:
            return "tcp://127.0.0.1:" + std::to_string(tcp_port_);
        case Input::Tls:
            return "tcp+tls://127.0.0.1:" + std::to_string(tls_port_);
        case Input::TlsClientAuth:
            return "tcp+tls://127.0.0.1:" + std::to_string(tls_auth_port_);
    }
    return {};
}

int RsyslogServer::port(Input input) const {
    switch (input) {
        case Input::Udp:
            return udp_port_;
        case Input::Tcp:
            return tcp_port_;
        case Input::Tls:
            return tls_port_;
        case Input::TlsClientAuth:
            return tls_auth_port_;
        default:
            return 0;
    }
}

fs::path RsyslogServer::output(Input input) const {
    return dir_ / "out" / (name(input) + ".log");
}

std::string RsyslogServer::log() const {
    return readFile(dir_ / "rsyslogd.log");
}

void RsyslogServer::makeCertificates() const {
    std::ofstream(tls_ / "ca.tmpl") << "cn = \"ringlog test CA\"\nca\ncert_signing_key\n"
                                       "expiration_days = 2\n";
    std::ofstream(tls_ / "server.tmpl")
        << "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
           "tls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n";
    std::ofstream(tls_ / "client.tmpl")
        << "cn = \"ringlog test client\"\ntls_www_client\nsigning_key\nencryption_key\n"
           "expiration_days = 2\n";
    auto t = [this](const char* file) { return (tls_ / file).string(); };
    fs::path log = tls_ / "certtool.log";
    for (const char* key : {"ca-key.pem", "server-key.pem", "client-key.pem"})
        run({kCerttool, "--generate-privkey", "--key-type", "ecdsa", "--outfile", t(key)}, log);
    run({kCerttool, "--generate-self-signed", "--load-privkey", t("ca-key.pem"), "--template",
         t("ca.tmpl"), "--outfile", t("ca.pem")},
        log);
    for (std::string who : {"server", "client"})
        run({kCerttool, "--generate-certificate", "--load-privkey", t((who + "-key.pem").c_str()),
             "--load-ca-certificate", t("ca.pem"), "--load-ca-privkey", t("ca-key.pem"),
             "--template", t((who + ".tmpl").c_str()), "--outfile", t((who + ".pem").c_str())},
            log);
    // ringlogd in the tests may run as another user: the client key is the test's own.
    fs::permissions(tls_ / "client-key.pem",
                    fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
}

void RsyslogServer::writeConfig() const {
    auto q = [](const fs::path& p) { return "\"" + p.string() + "\""; };
    std::ofstream c(dir_ / "rsyslog.conf");
    // maxMessageSize: a 16 KiB line part and its header with room to spare. Control characters
    // are not escaped on receive: the records' JSON escapes them, so the test sees every byte.
    // An RFC 3164 tag like docker's "{{.Name}}/{{.ID}}" is the app-name whole, '/' included.
    c << "global(workDirectory=" << q(dir_ / "work")
      << " maxMessageSize=\"256k\" net.enableDNS=\"off\"\n"
         "       parser.escapeControlCharactersOnReceive=\"off\"\n"
         "       parser.permitSlashInProgramName=\"on\"\n"
         "       defaultNetstreamDriverCAFile="
      << q(tls_ / "ca.pem") << "\n       defaultNetstreamDriverCertFile=" << q(tls_ / "server.pem")
      << "\n       defaultNetstreamDriverKeyFile=" << q(tls_ / "server-key.pem")
      << ")\n"
         // Inputs wait when the queue is full (UDP then relies on its socket buffer). At a stop,
         // rsyslogd writes out what it has read: by default it gives its queue 1.5 s and then
         // discards the rest, which a test would take for the sender's loss.
         "main_queue(queue.size=\"200000\" queue.timeoutShutdown=\"30000\"\n"
         "           queue.timeoutActionCompletion=\"30000\")\n"
         "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
         "module(load=\"imudp\")\n"
         "module(load=\"imptcp\")\n"
         "module(load=\"imtcp\")\n"
      << kRecordTemplate;
    for (Input i : kInputs)
        c << "ruleset(name=\"" << name(i) << "\") { action(type=\"omfile\" file=" << q(output(i))
          << " template=\"record\") }\n";
    // imuxsock: the regular parsers (RFC 5424 and 3164, a hostname if there is one) and the
    // message's own timestamp, no rate limit: a socket like any other, not the system's.
    c << "input(type=\"imptcp\" path=" << q(dir_ / "stream.sock")
      << " unlink=\"on\" fileCreateMode=\"0666\" ruleset=\"unix\")\n"
         "input(type=\"imuxsock\" Socket="
      << q(dir_ / "dgram.sock")
      << " UseSpecialParser=\"off\" ParseHostname=\"on\" IgnoreTimestamp=\"off\"\n"
         "      RateLimit.Interval=\"0\" ruleset=\"unixgram\")\n"
         "input(type=\"imudp\" address=\"127.0.0.1\" port=\""
      << udp_port_
      << "\" rcvbufSize=\"8m\" ruleset=\"udp\")\n"
         "input(type=\"imptcp\" address=\"127.0.0.1\" port=\""
      << tcp_port_
      << "\" ruleset=\"tcp\")\n"
         "input(type=\"imtcp\" address=\"127.0.0.1\" port=\""
      << tls_port_
      << "\" streamDriver.name=\"gtls\"\n"
         "      streamDriver.mode=\"1\" streamDriver.authMode=\"anon\" ruleset=\"tls\")\n"
         "input(type=\"imtcp\" address=\"127.0.0.1\" port=\""
      << tls_auth_port_
      << "\" streamDriver.name=\"gtls\"\n"
         "      streamDriver.mode=\"1\" streamDriver.authMode=\"x509/certvalid\" "
         "ruleset=\"tls-auth\")\n";
}

bool RsyslogServer::listening(pid_t pid) const {
    auto inodes = socketInodes(pid);
    return unixListening(dir_ / "stream.sock", inodes) &&
           unixListening(dir_ / "dgram.sock", inodes) &&
           inetListening("udp", udp_port_, "07", inodes) &&
           inetListening("tcp", tcp_port_, "0A", inodes) &&
           inetListening("tcp", tls_port_, "0A", inodes) &&
           inetListening("tcp", tls_auth_port_, "0A", inodes);
}

void RsyslogServer::start() {
    if (running())
        throw std::logic_error("rsyslogd is already running");
    process_ = launchRsyslogd(dir_, [this](pid_t pid) { return listening(pid); });
}

void RsyslogServer::stop() {
    terminateRsyslogd(process_);
}

namespace {

Process launchRsyslogd(const fs::path& dir, const std::function<bool(pid_t)>& listening) {
    fs::path notify = dir / "notify.sock";
    int ns = bindNotifySocket(notify.string());
    SpawnOptions o;
    o.stderr_file = (dir / "rsyslogd.log").string();
    o.stdout_file = o.stderr_file;
    o.env["NOTIFY_SOCKET"] = notify.string();
    o.die_with_test = true;
    Process process = spawn({kRsyslogd, "-n", "-f", (dir / "rsyslog.conf").string(), "-i",
                             (dir / "rsyslogd.pid").string()},
                            o);
    try {
        waitForReady(ns, "rsyslogd", process.pid);
        // READY=1 comes before imtcp's listeners are up; they have no event of their own.
        auto deadline = Clock::now() + std::chrono::seconds(30);
        while (!listening(process.pid)) {
            int status;
            if (::waitpid(process.pid, &status, WNOHANG) == process.pid) {
                process.pid = -1;
                throw std::runtime_error("rsyslogd exited");
            }
            if (Clock::now() > deadline)
                throw std::runtime_error("rsyslogd's inputs are not all listening after 30 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    } catch (const std::exception& e) {
        terminateRsyslogd(process);
        throw std::runtime_error(std::string(e.what()) + "; rsyslogd said:\n" +
                                 readFile(dir / "rsyslogd.log"));
    }
    return process;
}

void terminateRsyslogd(Process& process) {
    if (process.pid <= 0)
        return;
    process.kill(SIGTERM);
    // syscall(): Debian 12's <sys/pidfd.h> declares pidfd_open without C linkage.
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, process.pid, 0));
    pollfd p{pidfd, POLLIN, 0};
    if (pidfd < 0 || ::poll(&p, 1, 10000) != 1)
        process.kill(SIGKILL);
    if (pidfd >= 0)
        ::close(pidfd);
    process.wait();
    process.pid = -1;
}

}  // namespace

std::vector<SyslogRecord> RsyslogServer::records(Input input) const {
    std::vector<SyslogRecord> out;
    std::string text = readFile(output(input));
    text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    for (const auto& line : splitLines(text))
        out.push_back(parseSyslogRecord(line));
    return out;
}

size_t RsyslogServer::countRecords(Input input) const {
    return LineCounter(output(input)).count();
}

void RsyslogServer::waitForCount(Input input, size_t n, std::chrono::milliseconds timeout) const {
    int in = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0 ||
        ::inotify_add_watch(in, (dir_ / "out").c_str(), IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE) < 0)
        throw std::runtime_error(std::string("inotify: ") + std::strerror(errno));
    LineCounter counter(output(input));
    auto deadline = Clock::now() + timeout;
    size_t got;
    while ((got = counter.count()) < n) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{in, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            ::close(in);
            std::string last;
            auto all = splitLines(readFile(output(input)));
            for (size_t i = all.size() > 3 ? all.size() - 3 : 0; i < all.size(); ++i)
                last += "  " + all[i].substr(0, 300) + "\n";
            throw std::runtime_error("rsyslogd wrote " + std::to_string(got) + " of " +
                                     std::to_string(n) + " records to " + output(input).string() +
                                     " within " + std::to_string(timeout.count()) +
                                     " ms; the last:\n" + last + "rsyslogd said:\n" + log());
        }
        char events[4096];
        while (::read(in, events, sizeof events) > 0) {
        }
    }
    ::close(in);
}

std::vector<SyslogRecord> RsyslogServer::waitForRecords(Input input, size_t n,
                                                        std::chrono::milliseconds timeout) const {
    waitForCount(input, n, timeout);
    return records(input);
}

RsyslogRelay::RsyslogRelay(const fs::path& dir, Target target)
    : dir_(dir), target_(std::move(target)) {
    fs::create_directories(dir_ / "work");
    fs::create_directories(dir_ / "out");
    port_ = freePorts(SOCK_STREAM, 1)[0];
    writeConfig();
    start();
}

RsyslogRelay::~RsyslogRelay() {
    stop();
}

void RsyslogRelay::start() {
    if (running())
        throw std::logic_error("the relay rsyslogd is already running");
    process_ = launchRsyslogd(
        dir_, [this](pid_t pid) { return inetListening("tcp", port_, "0A", socketInodes(pid)); });
}

void RsyslogRelay::stop() {
    terminateRsyslogd(process_);
}

std::string RsyslogRelay::log() const {
    return readFile(dir_ / "rsyslogd.log");
}

std::vector<SyslogRecord> RsyslogRelay::records() const {
    std::vector<SyslogRecord> out;
    std::string text = readFile(output());
    text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    for (const auto& line : splitLines(text))
        out.push_back(parseSyslogRecord(line));
    return out;
}

void RsyslogRelay::writeConfig() const {
    auto q = [](const fs::path& p) { return "\"" + p.string() + "\""; };
    std::ofstream c(dir_ / "rsyslog.conf");
    // The relay is a TLS client: the CA checks the central's certificate, its own certificate
    // is what the central's x509/certvalid input asks for.
    c << "global(workDirectory=" << q(dir_ / "work")
      << " maxMessageSize=\"256k\" net.enableDNS=\"off\"\n"
         "       parser.escapeControlCharactersOnReceive=\"off\"\n"
         "       defaultNetstreamDriverCAFile="
      << q(target_.ca_cert) << "\n       defaultNetstreamDriverCertFile=" << q(target_.client_cert)
      << "\n       defaultNetstreamDriverKeyFile=" << q(target_.client_key)
      << ")\n"
         "main_queue(queue.size=\"200000\" queue.timeoutShutdown=\"30000\"\n"
         "           queue.timeoutActionCompletion=\"30000\")\n"
         "module(load=\"imptcp\")\n"
      << kRecordTemplate
      << "ruleset(name=\"relay\") {\n"
         "  action(type=\"omfile\" file="
      << q(output())
      << " template=\"record\")\n"
         // An action queue of its own, retried for ever: the central being slow or away holds
         // messages here instead of discarding them (rsyslog's default gives up on an action).
         "  action(type=\"omfwd\" target=\"127.0.0.1\" port=\""
      << target_.port
      << "\" protocol=\"tcp\"\n"
         "         TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\"\n"
         "         StreamDriver=\"gtls\" StreamDriverMode=\"1\" "
         "StreamDriverAuthMode=\"x509/name\"\n"
         "         StreamDriverPermittedPeers=\"localhost\"\n"
         "         queue.type=\"LinkedList\" queue.size=\"200000\" "
         "queue.timeoutShutdown=\"30000\"\n"
         "         action.resumeRetryCount=\"-1\" action.resumeInterval=\"1\")\n"
         "}\n"
         "input(type=\"imptcp\" address=\"127.0.0.1\" port=\""
      << port_ << "\" ruleset=\"relay\")\n";
}

}  // namespace ringlog::test
