// Signals (shutdown, reload), and what systemd hears: READY, RELOADING, STATUS, WATCHDOG, and the
// counters' changes.
#include "service/daemon/daemon_internal.h"

namespace ringlog {

void Daemon::onSignal() {
    struct signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGHUP) {
            if (shutting_down_)
                spdlog::info("SIGHUP while shutting down: not reloading");
            else
                reload();
            continue;
        }
        if (shutting_down_) {
            spdlog::warn("second signal {}: exiting now", info.ssi_signo);
            force_exit_ = true;
            return;
        }
        spdlog::info("signal {}: persisting what every container has written, then exiting",
                     info.ssi_signo);
        beginShutdown();
    }
}

// RELOADING=1 … READY=1 around it: systemd shows the unit "reloading" meanwhile. (systemd 252's
// reload job ends when ExecReload's kill has sent the signal, so `systemctl reload` may return
// before this is done; MONOTONIC_USEC is what Type=notify-reload, from 253, asks for.)
void Daemon::reload() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               static_cast<unsigned long long>(ts.tv_sec) * 1'000'000ULL +
                   static_cast<unsigned long long>(ts.tv_nsec) / 1000);
    std::optional<Error> error;
    if (!reload_from_) {
        error = invalid("started without a command line to read again");
    } else {
        spdlog::info("SIGHUP: reading {} and its drop-ins again", reload_from_->config_file);
        // Whatever the files hold, it costs at most a refused reload, never the daemon.
        try {
            auto loaded = loadSettings(*reload_from_);
            error = loaded ? applySettings(*loaded) : std::optional<Error>(loaded.error());
        } catch (const std::exception& e) {
            error = invalid(std::string("internal error: ") + e.what());
        }
    }
    if (error) {
        spdlog::error("reload refused, the settings in effect stay as they were: {}",
                      error->message);
        sd_notifyf(0, "READY=1\nSTATUS=reload refused: %s", error->message.c_str());
        return;
    }
    sd_notifyf(0, "READY=1\nSTATUS=%zu containers attached, configuration reloaded",
               attached_.size());
}

std::optional<Error> Daemon::applySettings(const Settings& loaded) {
    // Checked first, like start() does, so that a refused reload changes nothing.
    if (!findDriver(loaded.default_driver))
        return invalid("default-driver: unknown log driver \"" + loaded.default_driver + "\"");
    Settings next = mergeReloadable(settings_, loaded);
    if (next.max_line + size_t{1} > read_buffer_.size()) {
        // One read must see a whole max-line: a larger buffer, and a scratch pipe to match.
        size_t size = std::max<size_t>(kReadBufferBytes, next.max_line + size_t{1});
        auto peeker = PipePeek::open(size, std::max<size_t>(next.pipe_size, 65536));
        if (!peeker)
            return invalid("max-line " + describeSize(static_cast<int64_t>(next.max_line)) + ": " +
                           peeker.error().message);
        auto fit = [&](const Attached& a) {
            for (const auto& in : a.container->inputs())
                if (in->peek)
                    peeker->fitPipe(in->capacity);
        };
        for (const auto& [id, a] : attached_)
            fit(*a);
        for (const auto& a : draining_)
            fit(*a);
        read_buffer_.resize(size);
        peeker_ = std::move(*peeker);
    }
    if (next.allowed_group != settings_.allowed_group) {
        allowed_gid_ = lookUpAllowedGroup(next.allowed_group);
        if (allowed_gid_ && bound_socket_ &&
            ::chown(settings_.socket.c_str(), static_cast<uid_t>(-1), *allowed_gid_) != 0)
            spdlog::warn("cannot give {} to group {}: {}", settings_.socket, next.allowed_group,
                         errnoText(errno));
    }
    if (next.log_level != settings_.log_level)
        spdlog::default_logger()->set_level(spdlog::level::from_str(next.log_level));

    std::string applied;
    for (const auto& c : diffSettings(settings_, loaded)) {
        if (c.reload == ReloadEffect::kRestart) {
            spdlog::warn("{} changed from \"{}\" to \"{}\": takes effect after a restart", c.key,
                         c.old_value, c.new_value);
            continue;
        }
        applied += fmt::format("{}{} {} -> {}", applied.empty() ? "" : ", ", c.key, c.old_value,
                               c.new_value);
    }
    settings_ = std::move(next);
    if (applied.empty())
        spdlog::info("reloaded {}: nothing changed that can change at run time",
                     settings_.config_file);
    else
        spdlog::info("reloaded {}: {}; containers attached before keep their settings",
                     settings_.config_file, applied);
    return std::nullopt;
}

void Daemon::beginShutdown() {
    shutting_down_ = true;
    sd_notify(0, "STOPPING=1");
    unwatch(listen_.get());
    listen_.reset();
    if (bound_socket_) {
        ::unlink(settings_.socket.c_str());
        bound_socket_ = false;
    }
    while (!connections_.empty())
        closeConnection(connections_.begin()->first);
    // Read what each pipe holds right now, no more: a writer that keeps writing cannot hold the
    // shutdown up. (Under systemd, the fd store keeps the pipes for the next instance instead.)
    // A line still being written at the end of that stays in its pipe if the pipe outlives us
    // (a restart), and is otherwise persisted as a part that nothing continues.
    bool pipes_outlive_us = false;
    if (fd_store_.enabled()) {
        std::string why;
        pipes_outlive_us = systemdIsRestartingThisService(why);
        spdlog::info("stopping for {}: {}", pipes_outlive_us ? "a restart" : "good", why);
    }
    std::vector<Attached*> all;
    for (auto& [id, a] : attached_)
        all.push_back(a.get());
    for (auto& a : draining_)
        all.push_back(a.get());
    for (Attached* a : all) {
        for (auto& in : a->container->inputs()) {
            if (in->eof)
                continue;
            int available = 0;
            if (::ioctl(in->fd.get(), FIONREAD, &available) != 0)
                available = 0;
            in->budget = available;
            in->keep_tail_at_stop = pipes_outlive_us;
            if (available == 0) {
                // Nothing to read: done now (an empty pipe would never wake us to find out).
                unwatch(in->fd.get());
                in->fd.reset();
                in->eof = true;
            } else if (!a->container->blocked()) {
                serviceInput(*a, *in);
            }
        }
        afterInput(*a);
    }
}

// The event loop is alive (it is what pings the watchdog), and what it is doing.
void Daemon::tellSystemd() {
    auto now = std::chrono::steady_clock::now();
    if (watchdog_interval_.count() > 0 && now >= next_watchdog_) {
        sd_notify(0, "WATCHDOG=1");
        next_watchdog_ = now + watchdog_interval_;
    }
    if (now < next_status_)
        return;
    auto elapsed =
        std::chrono::duration<double>(now - next_status_ + std::chrono::seconds(1)).count();
    next_status_ = now + std::chrono::seconds(1);
    uint64_t lines = 0;
    for (const auto& [id, a] : attached_)
        lines += a->container->counters().lines_in.load(std::memory_order_relaxed);
    uint64_t delta = lines >= lines_at_last_status_ ? lines - lines_at_last_status_ : lines;
    lines_at_last_status_ = lines;
    sd_notifyf(0, "STATUS=%zu containers attached, %.0f lines/s", attached_.size(),
               elapsed > 0 ? static_cast<double>(delta) / elapsed : 0.0);
}

// PropertiesChanged for the counters: at most once a second per container and a bounded number
// per second in all, never per line.
void Daemon::announceCounters() {
    constexpr size_t kMaxPerTick = 1024;
    auto now = std::chrono::steady_clock::now();
    if (now < next_counters_announcement_)
        return;
    next_counters_announcement_ = now + std::chrono::seconds(1);
    size_t sent = 0;
    for (auto& [id, a] : attached_) {
        const auto& n = a->container->counters();
        uint64_t lines = n.lines_in.load() + n.lines_written.load();
        if (lines == a->announced_lines)
            continue;
        a->announced_lines = lines;
        bus_->countersChanged(id);
        if (++sent == kMaxPerTick)
            break;
    }
}

}  // namespace ringlog
