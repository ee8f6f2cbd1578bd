// ringlogctl: the command-line client of ringlogd.
//   ringlogctl run [OPTIONS] -- CMD [ARGS…]     run CMD with its stdout/stderr attached to ringlogd
//   ringlogctl attach [OPTIONS] --fifo PATH [--fifo PATH]   hand FIFOs an engine created to
//   ringlogd
//   ringlogctl logs [OPTIONS] CONTAINER        read a container's log back, over D-Bus
//   ringlogctl status CONTAINER                its state, last error and counters, over D-Bus
// Exit codes follow docker run: 125 when ringlogd refuses or cannot be reached, 126 when CMD
// cannot be executed, 127 when it is not found, otherwise CMD's own status (128+N for signal N).
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "client/logs_command.h"
#include "client/reopen_command.h"
#include "client/status_command.h"
#include "ringlog/client.h"

namespace {

constexpr int kExitDaemonError = 125;

[[noreturn]] void usage(int code) {
    std::fprintf(
        code == 0 ? stdout : stderr,
        "Usage:\n"
        "  ringlogctl run [OPTIONS] -- CMD [ARGS...]\n"
        "  ringlogctl attach [OPTIONS] --fifo STDOUT_PATH [--fifo STDERR_PATH]\n"
        "  ringlogctl logs [--tail N] [--since T] [--until T] [--stream S] [--format F] "
        "CONTAINER\n"
        "  ringlogctl status CONTAINER\n"
        "  ringlogctl reopen CONTAINER     reopen its log file (after renaming it, as kubelet)\n\n"
        "Options:\n"
        "  --socket PATH           ringlogd's ingest socket (default $RINGLOGD_SOCKET or %s)\n"
        "  --id ID                 full container id (run: a random 64-hex id by default)\n"
        "  --name NAME             container name\n"
        "  --image IMAGE           image name\n"
        "  --label KEY=VALUE       container label (repeatable)\n"
        "  --env KEY=VALUE         container environment, for the env log option (repeatable)\n"
        "  --log-driver DRIVER     json-file, journald, k8s-file, syslog, none (default:\n"
        "                          ringlogd's default-driver); repeated: more than one driver\n"
        "  --log-opt KEY=VALUE     driver option, as docker's --log-opt (repeatable); it is for\n"
        "                          the --log-driver before it (the first, if none is before)\n"
        "  --mode MODE             blocking (default) or non-blocking\n"
        "  --max-buffer-size SIZE  ring size, e.g. 1m\n"
        "  --print-id              print the container id on stdout once attached\n",
        RINGLOG_DEFAULT_SOCKET);
    std::exit(code);
}

struct Options {
    std::string socket;
    std::string id, name, image, driver, mode, max_buffer_size;
    std::vector<std::string> labels, env, log_opts, fifos;
    std::vector<char*> command;
    bool print_id = false;
};

std::string randomId() {
    unsigned char bytes[32];
    if (getrandom(bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes))) {
        std::perror("ringlogctl: getrandom");
        std::exit(kExitDaemonError);
    }
    std::string id;
    for (unsigned char b : bytes) {
        static const char kHex[] = "0123456789abcdef";
        id.push_back(kHex[b >> 4]);
        id.push_back(kHex[b & 0xF]);
    }
    return id;
}

Options parse(int argc, char** argv, int first, bool is_run) {
    Options o;
    if (const char* s = std::getenv("RINGLOGD_SOCKET"))
        o.socket = s;
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            for (++i; i < argc; ++i)
                o.command.push_back(argv[i]);
            break;
        }
        if (a == "--help" || a == "-h")
            usage(0);
        if (a == "--print-id") {
            o.print_id = true;
            continue;
        }
        std::string value;
        if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = a.substr(eq + 1);
            a = a.substr(0, eq);
        } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
            value = argv[++i];
        } else if (is_run && a.rfind("--", 0) != 0) {
            for (; i < argc; ++i)
                o.command.push_back(argv[i]);  // CMD without "--"
            break;
        } else {
            std::fprintf(stderr, "ringlogctl: option %s needs a value\n", a.c_str());
            usage(2);
        }
        if (a == "--socket")
            o.socket = value;
        else if (a == "--id")
            o.id = value;
        else if (a == "--name")
            o.name = value;
        else if (a == "--image")
            o.image = value;
        else if (a == "--label")
            o.labels.push_back(value);
        else if (a == "--env")
            o.env.push_back(value);
        else if (a == "--log-driver" && o.driver.empty())
            o.driver = value;
        else if (a == "--log-driver")
            o.log_opts.push_back("log-driver=" + value);  // one more driver: the options after it

        else if (a == "--log-opt")
            o.log_opts.push_back(value);
        else if (a == "--mode")
            o.mode = value;
        else if (a == "--max-buffer-size")
            o.max_buffer_size = value;
        else if (a == "--fifo" && !is_run)
            o.fifos.push_back(value);
        else {
            std::fprintf(stderr, "ringlogctl: unknown option %s\n", a.c_str());
            usage(2);
        }
    }
    return o;
}

std::vector<const char*> nullTerminated(const std::vector<std::string>& v) {
    std::vector<const char*> out;
    for (const auto& s : v)
        out.push_back(s.c_str());
    out.push_back(nullptr);
    return out;
}

// Sends the attach request; on failure prints ringlogd's (or the local) error and exits 125.
void attachOrExit(const Options& o, int out_fd, int err_fd) {
    auto labels = nullTerminated(o.labels), env = nullTerminated(o.env),
         opts = nullTerminated(o.log_opts);
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = o.id.c_str();
    a.name = o.name.empty() ? nullptr : o.name.c_str();
    a.image = o.image.empty() ? nullptr : o.image.c_str();
    a.labels = labels.data();
    a.env = env.data();
    a.driver = o.driver.empty() ? nullptr : o.driver.c_str();
    a.log_opts = opts.data();
    a.mode = o.mode.empty() ? nullptr : o.mode.c_str();
    a.max_buffer_size = o.max_buffer_size.empty() ? nullptr : o.max_buffer_size.c_str();
    a.stdout_fd = out_fd;
    a.stderr_fd = err_fd;
    char message[RINGLOG_MAX_REPLY_BYTES];
    int r = ringlog_attach_send(o.socket.empty() ? nullptr : o.socket.c_str(), &a, message,
                                sizeof(message));
    if (r != 0) {
        std::fprintf(stderr, "ringlogctl: %s\n", message);
        std::exit(kExitDaemonError);
    }
    if (o.print_id) {
        std::printf("%s\n", o.id.c_str());
        std::fflush(stdout);
    }
}

pid_t child_pid = -1;

void forward(int sig) {
    if (child_pid > 0)
        kill(child_pid, sig);
}

int run(Options o) {
    if (o.command.empty()) {
        std::fprintf(stderr, "ringlogctl run: no command given\n");
        usage(2);
    }
    if (o.id.empty())
        o.id = randomId();
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        std::perror("ringlogctl: pipe");
        return kExitDaemonError;
    }
    // Attach before starting CMD: if ringlogd refuses, CMD never runs and no output is lost.
    attachOrExit(o, out[0], err[0]);
    close(out[0]);
    close(err[0]);

    // CMD's status tells the engine whether it could run: 126/127 through a cloexec pipe.
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0)
        return kExitDaemonError;
    o.command.push_back(nullptr);
    child_pid = fork();
    if (child_pid < 0) {
        std::perror("ringlogctl: fork");
        return kExitDaemonError;
    }
    if (child_pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        execvp(o.command[0], o.command.data());
        int e = errno;
        (void)!write(status_pipe[1], &e, sizeof(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    close(out[1]);
    close(err[1]);
    close(status_pipe[1]);
    int exec_errno = 0;
    if (read(status_pipe[0], &exec_errno, sizeof(exec_errno)) ==
        static_cast<ssize_t>(sizeof(exec_errno)))
        std::fprintf(stderr, "ringlogctl: cannot run %s: %s\n", o.command[0],
                     std::strerror(exec_errno));
    close(status_pipe[0]);

    struct sigaction sa {};
    sa.sa_handler = forward;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
        sigaction(sig, &sa, nullptr);
    int status = 0;
    while (waitpid(child_pid, &status, 0) < 0) {
        if (errno != EINTR) {
            std::perror("ringlogctl: waitpid");
            return kExitDaemonError;
        }
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return kExitDaemonError;
}

int attachFifos(const Options& o) {
    if (o.id.empty() || o.fifos.empty() || o.fifos.size() > 2) {
        std::fprintf(stderr, "ringlogctl attach: needs --id and one or two --fifo paths\n");
        usage(2);
    }
    int fds[2] = {-1, -1};
    for (size_t i = 0; i < o.fifos.size(); ++i) {
        // Non-blocking, so no writer needs to be there yet; ringlogd reads once one writes.
        fds[i] = open(o.fifos[i].c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fds[i] < 0) {
            std::fprintf(stderr, "ringlogctl: opening %s: %s\n", o.fifos[i].c_str(),
                         std::strerror(errno));
            return kExitDaemonError;
        }
    }
    attachOrExit(o, fds[0], fds[1]);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2)
        usage(2);
    std::string verb = argv[1];
    if (verb == "--help" || verb == "-h" || verb == "help")
        usage(0);
    if (verb == "--version") {
        std::printf("ringlogctl %s\n", RINGLOG_VERSION);
        return 0;
    }
    if (verb == "run")
        return run(parse(argc, argv, 2, true));
    if (verb == "attach")
        return attachFifos(parse(argc, argv, 2, false));
    if (verb == "logs")
        return logsCommand(argc, argv, 2);
    if (verb == "status")
        return statusCommand(argc, argv, 2);
    if (verb == "reopen")
        return reopenCommand(argc, argv, 2);
    std::fprintf(stderr, "ringlogctl: unknown command %s\n", verb.c_str());
    usage(2);
}
