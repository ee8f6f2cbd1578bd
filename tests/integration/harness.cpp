#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ringlog::test {

std::string ringlogdPath() {
    if (const char* p = std::getenv("RINGLOGD_UNDER_TEST"))
        return p;
    return RINGLOGD_PATH;
}
std::string ringlogctlPath() {
    return RINGLOGCTL_PATH;
}
std::string lineWriterPath() {
    return LINE_WRITER_PATH;
}

std::string framingWriterPath() {
    return FRAMING_WRITER_PATH;
}

TempDir::TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("ringlog-it-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

int Process::wait() {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    pid = -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

void Process::kill(int sig) const {
    if (pid > 0)
        ::kill(pid, sig);
}

Process spawn(const std::vector<std::string>& argv, const SpawnOptions& o) {
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        int in = o.stdin_fd >= 0 ? o.stdin_fd : open("/dev/null", O_RDONLY);
        dup2(in, 0);
        if (o.stdout_fd >= 0)
            dup2(o.stdout_fd, 1);
        if (!o.stdout_file.empty())
            dup2(open(o.stdout_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644), 1);
        if (!o.stderr_file.empty())
            dup2(open(o.stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644), 2);
        for (int fd : o.keep_fds)
            fcntl(fd, F_SETFD, 0);
        for (const auto& [k, v] : o.env)
            setenv(k.c_str(), v.c_str(), 1);
        if (o.gid >= 0 && (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(o.gid)) != 0))
            _exit(126);
        if (o.uid >= 0 && setuid(static_cast<uid_t>(o.uid)) != 0)
            _exit(126);
        if (o.die_with_test)
            prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        execv(args[0], args.data());
        _exit(127);
    }
    return Process{pid};
}

DbusDaemon::DbusDaemon(const fs::path& dir) {
    fs::create_directories(dir);
    std::string socket = (dir / "system_bus_socket").string();
    std::string conf = readFile(PRIVATE_BUS_CONF);
    auto fill = [&conf](const std::string& placeholder, const std::string& value) {
        conf.replace(conf.find(placeholder), placeholder.size(), value);
    };
    fill("@SOCKET@", socket);
    fill("@POLICY@", DBUS_POLICY_FILE);
    std::ofstream(dir / "bus.conf") << conf;
    fs::permissions(dir, fs::perms::all);
    Pipe address;
    SpawnOptions o;
    o.keep_fds = {address.write_fd};
    process_ = spawn({"/usr/bin/dbus-daemon", "--config-file=" + (dir / "bus.conf").string(),
                      "--nofork", "--print-address=" + std::to_string(address.write_fd)},
                     o);
    address.closeWrite();
    address_ = readLine(address.read_fd);
    if (address_.empty())
        throw std::runtime_error("dbus-daemon did not start");
    address_.pop_back();
}

DbusDaemon::~DbusDaemon() {
    process_.kill(SIGKILL);
    process_.wait();
}

int bindNotifySocket(const std::string& path) {
    int ns = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ::unlink(path.c_str());
    if (::bind(ns, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        throw std::runtime_error("bind " + path);
    return ns;
}

void waitForReady(int ns, const std::string& what, pid_t pid) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        struct pollfd p {
            ns, POLLIN, 0
        };
        // In slices, to tell "exited" (looked at, not reaped) from "slow" without the 30 s.
        if (poll(&p, 1, 100) <= 0) {
            siginfo_t info{};
            bool exited =
                pid > 0 &&
                waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid == pid;
            if (exited || std::chrono::steady_clock::now() >= deadline) {
                ::close(ns);
                throw std::runtime_error(
                    what + (exited ? " exited before it was ready" : " did not become ready"));
            }
            continue;
        }
        char buf[4096];
        ssize_t n = recv(ns, buf, sizeof buf, 0);
        if (n > 0 && std::string(buf, static_cast<size_t>(n)).find("READY=1") != std::string::npos)
            break;
    }
    ::close(ns);
}

Journald::Journald(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir);
    std::ofstream(dir / "journald.conf")
        << "[Journal]\nStorage=volatile\nRuntimeMaxUse=1G\n"
           "# ringlogd.service raises its own per-unit limit; here, the global one\n"
           "RateLimitIntervalSec=0\n";
    Pipe ready;
    std::string machine_id = (dir / "machine-id").string();
    std::string script =
        "set -e\n"
        "mkdir -p /run/systemd/journal /run/log/journal /var/log/journal\n"
        "mount -t tmpfs tmpfs /run/systemd/journal\n"
        "mount -t tmpfs tmpfs /run/log/journal\n"
        "mount -t tmpfs tmpfs /var/log/journal\n"
        "mount --bind " +
        (dir / "journald.conf").string() +
        " /etc/systemd/journald.conf\n"
        "if [ ! -s /etc/machine-id ]; then tr -d - < /proc/sys/kernel/random/uuid > " +
        machine_id + "; mount --bind " + machine_id +
        " /etc/machine-id; fi\n"
        "echo ready >&" +
        std::to_string(ready.write_fd) +
        "\n"
        "exec sleep infinity\n";
    SpawnOptions o;
    o.keep_fds = {ready.write_fd};
    holder_ = spawn(
        {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script}, o);
    ready.closeWrite();
    if (readLine(ready.read_fd) != "ready\n")
        throw std::runtime_error("the journal namespace could not be set up");
    start();
}

Journald::~Journald() {
    kill();
    holder_.kill(SIGKILL);
    holder_.wait();
}

std::vector<std::string> Journald::inside() const {
    return {"/usr/bin/nsenter", "-t", std::to_string(holder_.pid), "-m", "--"};
}

fs::path Journald::journalDirectory() const {
    return fs::path("/proc") / std::to_string(holder_.pid) / "root/run/log/journal";
}

void Journald::start() {
    std::string notify = (dir_ / "journald-notify.sock").string();
    int ns = bindNotifySocket(notify);
    auto argv = inside();
    argv.push_back("/lib/systemd/systemd-journald");
    SpawnOptions o;
    o.env["NOTIFY_SOCKET"] = notify;
    o.stderr_file = (dir_ / "journald.log").string();
    journald_ = spawn(argv, o);
    waitForReady(ns, "systemd-journald");
}

void Journald::kill() {
    if (journald_.pid > 0) {
        journald_.kill(SIGKILL);
        journald_.wait();
    }
}

std::string Journald::journalctl(const std::vector<std::string>& args) {
    // --sync returns once journald has written out everything it had received.
    auto sync = inside();
    sync.insert(sync.end(), {"/usr/bin/journalctl", "--sync"});
    spawn(sync).wait();
    auto argv = inside();
    argv.insert(argv.end(), {"/usr/bin/journalctl", "--no-pager", "-q"});
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out = (dir_ / "journalctl.out").string();
    ::unlink(out.c_str());
    SpawnOptions o;
    o.stdout_file = out;
    spawn(argv, o).wait();
    return readFile(out);
}

Daemon::Daemon(const fs::path& dir, std::vector<std::string> extra_args,
               std::map<std::string, std::string> env, std::vector<std::string> wrapper)
    : dir_(dir) {
    socket_ = (dir / "ingest.sock").string();
    fs::create_directories(dir);
    std::ofstream(dir / "ringlogd.conf")
        << "# test configuration: everything is on the command line\n";
    int ns = bindNotifySocket((dir / "notify.sock").string());

    std::vector<std::string> argv = wrapper;
    argv.insert(argv.end(), {ringlogdPath(), "--config", (dir / "ringlogd.conf").string(),
                             "--socket", socket_, "--log-root", (dir / "logs").string()});
    // Hermetic: no D-Bus unless a test asks for it (and brings its own bus).
    if (std::find(extra_args.begin(), extra_args.end(), "--dbus") == extra_args.end())
        argv.insert(argv.end(), {"--dbus", "no"});
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    SpawnOptions o;
    o.stderr_file = (dir / "ringlogd.log").string();
    o.env = std::move(env);
    o.env["NOTIFY_SOCKET"] = (dir / "notify.sock").string();
    process_ = spawn(argv, o);
    try {
        waitForReady(ns, "ringlogd", process_.pid);
    } catch (const std::exception&) {
        throw std::runtime_error("ringlogd did not become ready; its log:\n" + log());
    }
}

Daemon::~Daemon() {
    if (stopped_ || process_.pid <= 0)
        return;
    // A daemon that died on its own is a finding: show why, before the directory goes.
    int status = 0;
    if (waitpid(process_.pid, &status, WNOHANG) == process_.pid) {
        std::fprintf(stderr, "ringlogd exited unexpectedly (status %d); its log:\n%s\n", status,
                     log().c_str());
        process_.pid = -1;
        return;
    }
    process_.kill(SIGKILL);
    process_.wait();
}

int Daemon::stop() {
    stopped_ = true;
    process_.kill(SIGTERM);
    return process_.wait();
}

int Daemon::threadCount() const {
    std::ifstream in("/proc/" + std::to_string(process_.pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Threads:", 0) == 0)
            return std::stoi(line.substr(8));
    return -1;
}

std::string Daemon::log() const {
    return readFile(logPath());
}

int ringlogctlRun(const Daemon& d, const std::vector<std::string>& args,
                  const SpawnOptions& options) {
    std::vector<std::string> argv = {ringlogctlPath(), "run", "--socket", d.socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return spawn(argv, options).wait();
}

long statusKb(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(field + ":", 0) == 0)
            return std::stol(line.substr(field.size() + 1));
    return -1;
}

size_t openFds(pid_t pid) {
    auto count = [pid] {
        size_t n = 0;
        for ([[maybe_unused]] const auto& e :
             fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
            ++n;
        return n;
    };
    size_t fewest = count();
    for (int i = 0; i < 5; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        fewest = std::min(fewest, count());
    }
    return fewest;
}

std::string readFile(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string readGzip(const fs::path& file) {
    gzFile gz = gzopen(file.c_str(), "rb");
    if (gz == nullptr)
        return {};
    std::string out;
    char buf[65536];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    gzclose(gz);
    return out;
}

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string::npos)
            nl = text.size();
        out.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

namespace {

// Decodes the JSON string starting at s[pos] (a '"'); returns the position after it. The tests
// read ringlogd's files with this, not with ringlogd's own reader, so a bug there cannot hide.
size_t decodeString(const std::string& s, size_t pos, std::string& out) {
    ++pos;
    while (pos < s.size() && s[pos] != '"') {
        char c = s[pos++];
        if (c != '\\') {
            out.push_back(c);
            continue;
        }
        char e = s[pos++];
        switch (e) {
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'u': {
                unsigned cp = static_cast<unsigned>(std::stoul(s.substr(pos, 4), nullptr, 16));
                pos += 4;
                if (cp < 0x80) {
                    out.push_back(static_cast<char>(cp));
                } else if (cp < 0x800) {
                    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
                    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
                } else {
                    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
                    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
                    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
                }
                break;
            }
            default:
                out.push_back(e);
        }
    }
    return pos + 1;
}

JsonRecord parseRecord(const std::string& line) {
    JsonRecord r;
    auto field = [&](const char* key, std::string& out) {
        size_t k = line.find(key);
        if (k != std::string::npos)
            decodeString(line, k + std::strlen(key), out);
    };
    field("{\"log\":", r.log);
    field(",\"stream\":", r.stream);
    field(",\"time\":", r.time);
    size_t a = line.find(",\"attrs\":");
    if (a != std::string::npos) {
        size_t end = line.find('}', a);
        r.attrs = line.substr(a + 9, end - a - 8);
    }
    return r;
}

}  // namespace

std::string linePrefix(const std::string& stream, long long n) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%s-%09lld-", stream.c_str(), n);
    return buf;
}

std::vector<JsonRecord> readJsonLog(const fs::path& file) {
    std::string text = file.extension() == ".gz" ? readGzip(file) : readFile(file);
    std::vector<JsonRecord> out;
    for (const auto& line : splitLines(text))
        out.push_back(parseRecord(line));
    return out;
}

StoppableWriter::StoppableWriter(std::vector<std::string> run, const std::string& writer,
                                 long long every, const std::vector<std::string>& writer_args) {
    run.insert(run.end(), {writer, "--lines", "-1", "--width", "100", "--progress-fd",
                           std::to_string(progress.write_fd), "--progress-every",
                           std::to_string(every), "--stop-fd", std::to_string(stop.read_fd),
                           "--count-fd", std::to_string(count.write_fd)});
    run.insert(run.end(), writer_args.begin(), writer_args.end());
    SpawnOptions o;
    o.keep_fds = {progress.write_fd, stop.read_fd, count.write_fd};
    process = spawn(run, o);
    progress.closeWrite();
    stop.closeRead();
    count.closeWrite();
}

Pipe::Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2");
    read_fd = fds[0];
    write_fd = fds[1];
}

Pipe::~Pipe() {
    closeRead();
    closeWrite();
}

void Pipe::closeRead() {
    if (read_fd >= 0)
        ::close(read_fd);
    read_fd = -1;
}

void Pipe::closeWrite() {
    if (write_fd >= 0)
        ::close(write_fd);
    write_fd = -1;
}

std::string readSome(int fd, size_t n, int timeout_ms, bool stop_at_newline) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out.size() < n) {
        int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        deadline - std::chrono::steady_clock::now())
                                        .count());
        struct pollfd p {
            fd, POLLIN, 0
        };
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        char buf[4096];
        ssize_t r = ::read(fd, buf, stop_at_newline ? 1 : std::min(sizeof buf, n - out.size()));
        if (r <= 0)
            break;
        out.append(buf, static_cast<size_t>(r));
        if (stop_at_newline && out.back() == '\n')
            break;
    }
    return out;
}

}  // namespace ringlog::test
