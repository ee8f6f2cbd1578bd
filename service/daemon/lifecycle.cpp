// Signals (shutdown, reload), and what systemd hears: READY, RELOADING, STATUS, WATCHDOG, and the
// counters' changes.
#include "service/daemon/daemon_internal.h"

#include <thread>

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
    config_error_.clear();
    fd_store_.keepSettings(settingsText(settings_));
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
        // The same discard journal: it is the one in the fd store.
        auto peeker =
            PipePeek::open(size, std::max<size_t>(next.pipe_size, 65536),
                           UniqueFd(::fcntl(peeker_->journalRead(), F_DUPFD_CLOEXEC, 0)),
                           UniqueFd(::fcntl(peeker_->journalWrite(), F_DUPFD_CLOEXEC, 0)));
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
    // How long this may take: our own limit, and under systemd well before its SIGKILL.
    auto budget = std::chrono::milliseconds(settings_.stop_timeout_ms);
    std::string what = "good";
    if (fd_store_.enabled()) {
        SystemdStop systemd = askSystemdAboutThisStop();
        stop_.pipes_outlive_us = systemd.store_outlives_us;
        what = (systemd.store_outlives_us ? "a restart (" : "good (") + systemd.why + ")";
        if (systemd.timeout_stop_usec)
            budget = std::min(budget,
                              std::chrono::milliseconds(*systemd.timeout_stop_usec * 3 / 4 / 1000));
    }
    stop_.deadline = std::chrono::steady_clock::now() + budget;
    spdlog::info(
        "stopping for {}: persisting what the containers wrote before the signal, for "
        "at most {}",
        what, describeDurationMs(budget.count()));
    // Read what each pipe holds right now, no more: a writer that keeps writing cannot hold the
    // stop up. A line still being written at the end of that stays in its pipe: for the next
    // instance when the pipe outlives us (a restart), and otherwise counted with what is left.
    std::vector<Attached*> all;
    for (auto& [id, a] : attached_)
        all.push_back(a.get());
    for (auto& a : draining_)
        all.push_back(a.get());
    for (Attached* a : all) {
        a->container->holdOpenForPushes(false);  // pushes end with the connections
        for (auto& in : a->container->inputs()) {
            if (in->eof)
                continue;
            int available = 0;
            if (::ioctl(in->fd.get(), FIONREAD, &available) != 0)
                available = 0;
            in->budget = available;
            if (available == 0) {
                // Nothing to read: done now (an empty pipe would never wake us to find out).
                unwatch(in->fd.get());
                if (in->peek)
                    a->held_pipes.emplace_back(in->framer.stream(), std::move(in->fd));
                in->fd.reset();
                in->eof = true;
            } else if (!a->container->blocked()) {
                serviceInput(*a, *in);
            }
        }
        afterInput(*a);
    }
}

void Daemon::leaveAtStop(Attached& a, bool drained) {
    StopPlan::Left left;
    left.container = a.container->info().shortId();
    // Records in the ring: none when drained; at the deadline, what the driver could not take.
    if (!drained) {
        left.ring_records = a.container->ringUnpersistedRecords();
        left.ring_bytes = a.container->ringStats().bytes_buffered;
    }
    left.pipes = std::move(a.held_pipes);
    for (auto& in : a.container->inputs())
        if (in->fd && in->peek) {
            unwatch(in->fd.get());
            left.pipes.emplace_back(in->framer.stream(), std::move(in->fd));
        }
    stop_.left.push_back(std::move(left));
}

void Daemon::reportLeftovers() {
    // A writer still writing fills its pipe within moments and then waits in write(), which
    // fails once the pipe closes: a still pipe is one whose count is exact. Wait for that, a
    // little, bounded by the stop's deadline.
    auto total = [&] {
        uint64_t sum = 0;
        for (const auto& left : stop_.left)
            for (const auto& [stream, fd] : left.pipes) {
                int n = 0;
                if (::ioctl(fd.get(), FIONREAD, &n) == 0)
                    sum += static_cast<uint64_t>(n);
            }
        return sum;
    };
    auto give_up =
        std::min(stop_.deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    // (After a restart's stop the pipes stay open: what is in them is not lost, and its count
    // need not wait.)
    for (uint64_t before = total(); !stop_.pipes_outlive_us && !stop_.left.empty();) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        uint64_t now = total();
        if (now == before || std::chrono::steady_clock::now() >= give_up)
            break;
        before = now;
    }
    for (auto& left : stop_.left) {
        PipePeek::Unread pipes;
        std::string detail;
        for (auto& [stream, fd] : left.pipes) {
            auto u = peeker_->countUnread(fd.get(), read_buffer_.data(), read_buffer_.size());
            if (u.bytes == 0)
                continue;
            pipes.bytes += u.bytes;
            pipes.lines += u.lines;
            detail += fmt::format("{}{}: {} bytes, {} lines", detail.empty() ? "" : "; ",
                                  streamName(stream), u.bytes, u.lines);
        }
        left.pipes.clear();
        if (left.ring_records == 0 && pipes.bytes == 0) {
            spdlog::info("container {}: everything it wrote before the stop is persisted{}",
                         left.container,
                         stop_.pipes_outlive_us ? "; the next instance carries on" : "");
            continue;
        }
        ++stop_.containers_short;
        std::string what;
        if (pipes.bytes > 0)
            what = fmt::format("{} bytes ({} lines) unread in its pipes ({})", pipes.bytes,
                               pipes.lines, detail);
        if (left.ring_records > 0)
            what += fmt::format("{}{} records ({} ring bytes) not persisted in its ring",
                                what.empty() ? "" : " and ", left.ring_records, left.ring_bytes);
        if (stop_.pipes_outlive_us) {
            stop_.kept_lines += pipes.lines + left.ring_records;
            stop_.kept_bytes += pipes.bytes + left.ring_bytes;
            spdlog::info(
                "container {}: {}: kept for the next instance in systemd's fd store, not lost",
                left.container, what);
        } else {
            stop_.lost_lines += pipes.lines + left.ring_records;
            stop_.lost_bytes += pipes.bytes + left.ring_bytes;
            spdlog::error("container {}: lost at this stop: {}; they go with ringlogd{}",
                          left.container, what,
                          fd_store_.enabled() ? " (systemd empties its fd store at a stop)" : "");
        }
    }
    stop_.left.clear();
}

int Daemon::abandonStop() {
    spdlog::error("the stop's time is up: reporting what could not be persisted, then exiting");
    pool_.reset();  // no driver is writing while the rings are counted
    for (auto& [id, a] : attached_)
        leaveAtStop(*a, false);
    for (auto& a : draining_)
        leaveAtStop(*a, false);
    return finishStop();
}

int Daemon::finishStop() {
    pool_.reset();
    reportLeftovers();
    background_->drain();
    if (bound_socket_)
        ::unlink(settings_.socket.c_str());
    if (stop_.pipes_outlive_us) {
        if (stop_.containers_short == 0)
            spdlog::info("stopped for a restart: everything read is persisted");
        else
            spdlog::info(
                "stopped for a restart: {} lines ({} bytes) of {} containers wait in "
                "systemd's fd store for the next instance",
                stop_.kept_lines, stop_.kept_bytes, stop_.containers_short);
        return 0;
    }
    if (stop_.containers_short == 0) {
        spdlog::info("stopped: every accepted line is persisted");
        return 0;
    }
    spdlog::error(
        "stopped: {} lines ({} bytes) of {} containers could not be persisted (each "
        "named above)",
        stop_.lost_lines, stop_.lost_bytes, stop_.containers_short);
    return 1;
}

std::string Daemon::statusWarning() const {
    if (config_error_.empty())
        return {};
    return "; CONFIGURATION ERROR, running on the previous settings: " + config_error_;
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
    sd_notifyf(0, "STATUS=%zu containers attached, %.0f lines/s%s", attached_.size(),
               elapsed > 0 ? static_cast<double>(delta) / elapsed : 0.0, statusWarning().c_str());
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
