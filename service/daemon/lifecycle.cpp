// Signals, shutdown, and what systemd hears: READY, STATUS, WATCHDOG, and the counters' changes.
#include "service/daemon/daemon_internal.h"

namespace ringlog {

void Daemon::onSignal() {
    struct signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof(info)) == sizeof(info)) {
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
