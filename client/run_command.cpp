#include "client/run_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ringlog/client.h"

namespace ringlogctl {

namespace {

// What docker run and an engine tell ringlogd about a container.
struct AttachOptions {
    std::string id, name, image, mode, max_buffer_size;
    std::vector<std::string> labels, env;
    // --log-driver and --log-opt in the order given: each --log-opt belongs to the
    // --log-driver before it.
    std::vector<std::pair<bool, std::string>> driver_args;  // (is a driver, value)
    std::vector<std::string> fifos;
    std::vector<std::string> log_dirs;  // docs/log-files.md
    std::string log_glob;
    std::vector<std::string> command;
    bool print_id = false;
    bool push_only = false;  // attach: no FIFOs, records come by push (docs/protocol.md)
};

void addAttachOptions(CLI::App& sub, AttachOptions& o) {
    sub.add_option("--id", o.id, "Full container id (run: a random 64-hex id by default)");
    sub.add_option("--name", o.name, "Container name");
    sub.add_option("--image", o.image, "Image name");
    sub.add_option("-l,--label", o.labels, "Container label KEY=VALUE (repeatable)")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    sub.add_option("-e,--env", o.env,
                   "Container environment KEY=VALUE, for the env log option (repeatable)")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    sub.add_option_function<std::string>(
           "--log-driver", [&o](const std::string& v) { o.driver_args.emplace_back(true, v); },
           "json-file, journald, k8s-file, syslog or none (default: ringlogd's default-driver); "
           "repeat it for more than one driver")
        ->type_name("DRIVER")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->trigger_on_parse();
    sub.add_option_function<std::string>(
           "--log-opt", [&o](const std::string& v) { o.driver_args.emplace_back(false, v); },
           "Driver option KEY=VALUE, as docker's --log-opt (repeatable); it is for the "
           "--log-driver before it (the first, if none is before)")
        ->type_name("KEY=VALUE")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->trigger_on_parse();
    sub.add_option("--mode", o.mode, "blocking (default: no line lost) or non-blocking")
        ->check(CLI::IsMember({"blocking", "non-blocking"}));
    sub.add_option("--max-buffer-size", o.max_buffer_size, "Ring size, e.g. 1m")->type_name("SIZE");
    sub.add_option("--log-dir", o.log_dirs,
                   "A directory of the container's log files to follow, under ringlogd's "
                   "log-dir-roots (repeatable)")
        ->type_name("PATH")
        ->allow_extra_args(false);
    sub.add_option("--log-glob", o.log_glob, "Which files of the log directories (default *.log)")
        ->type_name("GLOB");
    sub.add_flag("--print-id", o.print_id, "Print the container id on stdout once attached");
}

std::string randomId() {
    unsigned char bytes[32];
    if (getrandom(bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes)))
        throw CommandError(kExitUsage, std::string("getrandom: ") + std::strerror(errno));
    std::string id;
    for (unsigned char b : bytes) {
        static const char kHex[] = "0123456789abcdef";
        id.push_back(kHex[b >> 4]);
        id.push_back(kHex[b & 0xF]);
    }
    return id;
}

std::vector<const char*> nullTerminated(const std::vector<std::string>& v) {
    std::vector<const char*> out;
    for (const auto& s : v)
        out.push_back(s.c_str());
    out.push_back(nullptr);
    return out;
}

// Sends the attach request; on failure throws ringlogd's (or the local) error, exit 125.
void attach(const GlobalOptions& global, const AttachOptions& o, int out_fd, int err_fd) {
    std::string first_driver;
    std::vector<std::string> log_opts;
    for (const auto& [is_driver, value] : o.driver_args) {
        if (is_driver && first_driver.empty() && log_opts.empty())
            first_driver = value;
        else if (is_driver)
            log_opts.push_back("log-driver=" + value);  // one more driver: the options after it
        else
            log_opts.push_back(value);
    }
    for (const auto& dir : o.log_dirs)
        log_opts.push_back("log-dir=" + dir);  // fields of version 2 (client.h)
    if (!o.log_glob.empty())
        log_opts.push_back("log-glob=" + o.log_glob);
    if (o.push_only)
        log_opts.push_back("push-only=true");  // a field of version 2 too (client.h)
    auto labels = nullTerminated(o.labels), env = nullTerminated(o.env),
         opts = nullTerminated(log_opts);
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = o.id.c_str();
    a.name = o.name.empty() ? nullptr : o.name.c_str();
    a.image = o.image.empty() ? nullptr : o.image.c_str();
    a.labels = labels.data();
    a.env = env.data();
    a.driver = first_driver.empty() ? nullptr : first_driver.c_str();
    a.log_opts = opts.data();
    a.mode = o.mode.empty() ? nullptr : o.mode.c_str();
    a.max_buffer_size = o.max_buffer_size.empty() ? nullptr : o.max_buffer_size.c_str();
    a.stdout_fd = out_fd;
    a.stderr_fd = err_fd;
    char message[RINGLOG_MAX_REPLY_BYTES];
    const char* socket = global.socket.empty() ? nullptr : global.socket.c_str();
    int r = ringlog_attach_send(socket, &a, message, sizeof(message));
    if (r < 0)
        throwSocketError(r, message, global.socket);
    if (r > 0)
        throw CommandError(kExitUsage, message);
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

int run(const GlobalOptions& global, AttachOptions o) {
    if (o.id.empty())
        o.id = randomId();
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        throw CommandError(kExitUsage, std::string("pipe: ") + std::strerror(errno));
    // Attach before starting CMD: if ringlogd refuses, CMD never runs and no output is lost.
    attach(global, o, out[0], err[0]);
    close(out[0]);
    close(err[0]);

    // CMD's status tells the engine whether it could run: 126/127 through a cloexec pipe.
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0)
        throw CommandError(kExitUsage, std::string("pipe: ") + std::strerror(errno));
    std::vector<char*> argv;
    for (auto& a : o.command)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    child_pid = fork();
    if (child_pid < 0)
        throw CommandError(kExitUsage, std::string("fork: ") + std::strerror(errno));
    if (child_pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        execvp(argv[0], argv.data());
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
        std::fprintf(stderr, "ringlogctl: cannot run %s: %s\n", argv[0], std::strerror(exec_errno));
    close(status_pipe[0]);

    struct sigaction sa {};
    sa.sa_handler = forward;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
        sigaction(sig, &sa, nullptr);
    int status = 0;
    while (waitpid(child_pid, &status, 0) < 0) {
        if (errno != EINTR)
            throw CommandError(kExitUsage, std::string("waitpid: ") + std::strerror(errno));
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return kExitUsage;
}

void attachFifos(const GlobalOptions& global, const AttachOptions& o) {
    int fds[2] = {-1, -1};
    for (size_t i = 0; i < o.fifos.size(); ++i) {
        // Non-blocking, so no writer needs to be there yet; ringlogd reads once one writes.
        fds[i] = open(o.fifos[i].c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fds[i] < 0)
            throw CommandError(kExitUsage, "opening " + o.fifos[i] + ": " + std::strerror(errno));
    }
    attach(global, o, fds[0], fds[1]);
}

}  // namespace

void addRunCommand(CLI::App& app, const GlobalOptions& global) {
    auto o = std::make_shared<AttachOptions>();
    CLI::App* sub = app.add_subcommand(
        "run", "Run CMD with its stdout and stderr attached to ringlogd (as an engine would)");
    addAttachOptions(*sub, *o);
    // Options end at CMD, as docker run's end at the image: CMD's own options are its own. So
    // run takes no parent options after its name but --socket, which it declares itself.
    sub->prefix_command();
    sub->fallthrough(false);
    sub->add_option("--socket", const_cast<GlobalOptions&>(global).socket,
                    "ringlogd's ingest socket")
        ->type_name("PATH");
    sub->footer(
        "Exit status: CMD's; 125 when ringlogd refuses or cannot be reached (CMD does not run), "
        "126 when CMD cannot be executed, 127 when it is not found, 128+N for signal N.");
    sub->callback([sub, o, &global] {
        o->command = sub->remaining();
        if (global.had_dashes) {
            if (!o->command.empty())
                throw CommandError(kExitUsage, "run: \"" + o->command.front() +
                                                   "\" before \"--\": CMD goes after it");
            o->command = global.after_dashes;
        }
        if (o->command.empty())
            throw CommandError(kExitUsage,
                               "run: no command given (ringlogctl run [OPTIONS] "
                               "[--] CMD [ARGS...])");
        throw ExitStatus{run(global, *o)};
    });
}

void addAttachCommand(CLI::App& app, const GlobalOptions& global) {
    auto o = std::make_shared<AttachOptions>();
    CLI::App* sub = app.add_subcommand(
        "attach",
        "Hand the FIFOs an engine created for a container's stdout and stderr to "
        "ringlogd");
    addAttachOptions(*sub, *o);
    sub->get_option("--id")->required();
    sub->add_option("--fifo", o->fifos,
                    "The container's stdout FIFO, then its stderr FIFO (required unless "
                    "--log-dir is given)")
        ->type_name("PATH")
        ->allow_extra_args(false);
    sub->add_flag("--push-only", o->push_only,
                  "No FIFOs: the container's records are pushed (ringlogctl push) until it is "
                  "detached");
    sub->callback([o, &global] {
        if (o->push_only && !o->fifos.empty())
            throw CommandError(kExitUsage, "attach: --push-only takes no --fifo");
        if (o->fifos.empty() && o->log_dirs.empty() && !o->push_only)
            throw CommandError(kExitUsage,
                               "attach: --fifo is required (or --log-dir, or --push-only)");
        if (o->fifos.size() > 2)
            throw CommandError(kExitUsage,
                               "attach: at most two --fifo paths: stdout's, then "
                               "stderr's");
        attachFifos(global, *o);
    });
}

}  // namespace ringlogctl
