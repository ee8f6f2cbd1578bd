// The integration harness: the real ringlogd and ringlogctl binaries, real pipes and processes.
// Processes are started with fork/exec and stopped by PID; readiness is the daemon's own
// sd_notify READY=1 on a socket the harness owns, never a sleep.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ringlog::test {

namespace fs = std::filesystem;

std::string ringlogdPath();
std::string ringlogctlPath();
std::string lineWriterPath();
std::string framingWriterPath();

// A fresh directory under /tmp, removed at the end.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

struct SpawnOptions {
    int stdin_fd = -1;        // -1: /dev/null
    int stdout_fd = -1;       // instead of stdout_file
    std::string stdout_file;  // empty: inherit
    std::string stderr_file;
    std::vector<int> keep_fds;  // fds the child inherits under the same numbers
    std::map<std::string, std::string> env;
    int uid = -1;  // run as this uid/gid (no supplementary groups); root only
    int gid = -1;
    bool die_with_test = false;  // SIGKILL when the test process dies (a ctest timeout, say)
};

// A started process; wait() reaps it and returns the exit code (128+N for signal N).
struct Process {
    pid_t pid = -1;
    int wait();
    void kill(int sig) const;
};

Process spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// A private system bus: the real dbus-daemon with a configuration like Debian's system bus
// that includes ringlogd's policy file. Killed by PID at the end.
class DbusDaemon {
  public:
    explicit DbusDaemon(const fs::path& dir);
    ~DbusDaemon();
    const std::string& address() const { return address_; }

  private:
    Process process_;
    std::string address_;
};

// A private systemd-journald (runs as root): a holder process owns a new mount namespace with
// tmpfs on /run/systemd/journal, /run/log/journal and /var/log/journal and a test journald.conf
// bind-mounted over /etc/systemd/journald.conf; journald and whatever talks to it join that
// namespace with nsenter, so tests never touch the host's journal. Everything is killed by PID.
class Journald {
  public:
    explicit Journald(const fs::path& dir);
    ~Journald();
    // argv prefix that runs a command inside the namespace.
    std::vector<std::string> inside() const;
    void start();  // (again) after kill()
    void kill();
    // journalctl inside the namespace, after journald has processed what it was sent.
    std::string journalctl(const std::vector<std::string>& args);
    // The namespace's /run/log/journal as seen from the host (through the holder's root), for
    // reading its files with sd-journal without a process inside.
    fs::path journalDirectory() const;

  private:
    fs::path dir_;
    Process holder_;
    Process journald_;
};

// Waits for READY=1 on a notify socket the caller bound; throws after 30 s, or as soon as `pid`
// (when given) has exited.
void waitForReady(int notify_socket, const std::string& what, pid_t pid = 0);
int bindNotifySocket(const std::string& path);

class Daemon {
  public:
    // Starts ringlogd on <dir>/ingest.sock with logs under <dir>/logs and waits for READY=1.
    // `wrapper` runs ringlogd inside something (Journald::inside()).
    explicit Daemon(const fs::path& dir, std::vector<std::string> extra_args = {},
                    std::map<std::string, std::string> env = {},
                    std::vector<std::string> wrapper = {});
    ~Daemon();
    // SIGTERM, then waits for it to exit; returns the exit code.
    int stop();
    int threadCount() const;
    std::string log() const;  // what it printed on stderr
    fs::path logPath() const { return dir_ / "ringlogd.log"; }
    const std::string& socket() const { return socket_; }
    fs::path logRoot() const { return dir_ / "logs"; }
    fs::path logFile(const std::string& id) const { return logRoot() / id / (id + "-json.log"); }
    pid_t pid() const { return process_.pid; }

  private:
    fs::path dir_;
    std::string socket_;
    Process process_;
    bool stopped_ = false;
};

// Runs `ringlogctl run --socket S <args…>` and returns its exit code.
int ringlogctlRun(const Daemon& d, const std::vector<std::string>& args,
                  const SpawnOptions& options = {});

// A docker json-file record, decoded.
struct JsonRecord {
    std::string log;
    std::string stream;
    std::string time;
    std::string attrs;  // the raw attrs object, if any
};
std::vector<JsonRecord> readJsonLog(const fs::path& file);  // plain or .gz

// How line_writer starts line n of a stream: "stdout-000000042-".
std::string linePrefix(const std::string& stream, long long n);
inline bool startsWith(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}
std::string readFile(const fs::path& file);
// A field of /proc/<pid>/status in kB ("VmRSS", "VmHWM"); -1 when it is not there.
long statusKb(pid_t pid, const std::string& field);
// The fds a process holds: the fewest of a few looks at /proc/<pid>/fd, as ringlogd opens one for
// a moment now and then (the socket of each status it sends systemd).
size_t openFds(pid_t pid);
std::string readGzip(const fs::path& file);
std::vector<std::string> splitLines(const std::string& text);

// A pipe whose ends are closed at the end of the scope.
struct Pipe {
    Pipe();
    ~Pipe();
    void closeRead();
    void closeWrite();
    int read_fd = -1, write_fd = -1;
};

// A container that writes line_writer's numbered 100-byte lines as fast as it can until told to
// stop: a byte on `progress` every `every` lines; stop with a byte on `stop`; at exit, the count of
// lines it wrote on `count`. `run` is the command that runs a container, up to and including its
// "--" (e.g. ringlogctl run --socket S --id X --); `writer` the line_writer to run there.
struct StoppableWriter {
    StoppableWriter(std::vector<std::string> run, const std::string& writer, long long every,
                    const std::vector<std::string>& writer_args = {});
    Pipe progress, stop, count;
    Process process;
};

// Reads from fd until `n` bytes, EOF or (if asked) a newline, waiting at most `timeout_ms` in all.
std::string readSome(int fd, size_t n, int timeout_ms = 30000, bool stop_at_newline = false);
inline std::string readLine(int fd) {
    return readSome(fd, 4096, 30000, true);
}

// A load test's volume: `full` in the debug build, which carries the figure, and
// `sanitized` under ASan+UBSan, which runs every test again 2-3 times slower. Memory errors show
// on the smaller volume as on the larger; the CI's time budget (docs/testing.md) does not
// allow both builds the full one.
constexpr long long loadVolume([[maybe_unused]] long long full,
                               [[maybe_unused]] long long sanitized) {
#ifdef __SANITIZE_ADDRESS__
    return sanitized;
#else
    return full;
#endif
}

}  // namespace ringlog::test
