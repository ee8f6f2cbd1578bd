// ringlogd: container log daemon. Everything is in ringlogd-core; this only wires it up.
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include "service/daemon/config.h"
#include "service/daemon/daemon.h"
#include "service/daemon/fd_store.h"

int main(int argc, char** argv) {
    bool exit_now = false;
    auto command_line = ringlog::parseCommandLine(argc, argv, exit_now);
    if (exit_now)
        return 0;
    if (!command_line) {
        std::fprintf(stderr, "ringlogd: %s\n", command_line.error().message.c_str());
        return 2;
    }
    auto settings = ringlog::loadSettings(*command_line);
    std::string config_error;
    if (!settings) {
        // A restart that inherits containers runs on the settings it had rather than fail: a few
        // failed starts and systemd would drop its fd store, every container's pipes with it.
        config_error = settings.error().message;
        auto previous = ringlog::lookAtPreviousInstance();
        ringlog::Settings kept;
        if (previous.containers == 0 || previous.settings.empty() ||
            ringlog::applyConfigText(kept, previous.settings, "the previous settings")) {
            std::fprintf(stderr, "ringlogd: %s\n", config_error.c_str());
            return 2;
        }
        kept.config_file = command_line->config_file;
        std::fprintf(stderr,
                     "ringlogd: %s; running on the settings of the previous instance (kept in "
                     "systemd's fd store) so that the %zu containers it held lose nothing: fix "
                     "the configuration, then `systemctl reload ringlogd`\n",
                     config_error.c_str(), previous.containers);
        settings = std::move(kept);
    }
    auto logger = spdlog::stderr_logger_mt("ringlogd");
    // Under systemd the journal adds time and identity; by hand, show the time.
    logger->set_pattern(std::getenv("JOURNAL_STREAM") ? "%l: %v"
                                                      : "%Y-%m-%dT%H:%M:%S.%e ringlogd[%P] %l: %v");
    logger->set_level(spdlog::level::from_str(settings->log_level));
    spdlog::set_default_logger(logger);

    // One fd per container input plus one per ring: lift the soft limit to the hard one.
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    umask(027);
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);  // reload
    // Blocked before any thread starts, so every thread inherits it and the signalfd gets them.
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);

    ringlog::Daemon daemon(std::move(*settings), std::move(*command_line));
    if (!config_error.empty())
        daemon.runningOnPreviousSettings(config_error);
    if (auto error = daemon.start()) {
        spdlog::critical("{}", error->message);
        return 1;
    }
    return daemon.run();
}
