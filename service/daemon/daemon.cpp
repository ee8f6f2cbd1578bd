// The event loop: one epoll set for the ingest socket, connections, inputs, signals, wake-ups
// from the consumer pool and the D-Bus connection; reading containers' inputs into their rings.
#include "service/daemon/daemon_internal.h"

namespace ringlog {

Daemon::Daemon(Settings settings, std::optional<CommandLine> reload_from)
    : settings_(std::move(settings)),
      reload_from_(std::move(reload_from)),
      read_buffer_(kReadBufferBytes) {}

Daemon::~Daemon() {
    pool_.reset();        // joins the consumers before the containers go
    background_.reset();  // finishes compressions
}

void Daemon::watch(int fd, Watch* w, uint32_t events) {
    struct epoll_event ev {};
    ev.events = events;
    ev.data.ptr = w;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
        spdlog::error("epoll_ctl ADD fd {}: {}", fd, errnoText(errno));
}

void Daemon::unwatch(int fd) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

std::optional<Error> Daemon::bindSocket(std::vector<UniqueFd> passed) {
    // Socket activation first: systemd passes the listening socket (after the fd store's fds).
    if (passed.size() > 1)
        return invalid("systemd passed " + std::to_string(passed.size()) +
                       " sockets; ringlogd takes one");
    if (passed.size() == 1) {
        if (sd_is_socket_unix(passed[0].get(), SOCK_SEQPACKET, 1, nullptr, 0) <= 0)
            return invalid(
                "the socket systemd passed is not a listening AF_UNIX SOCK_SEQPACKET socket");
        listen_ = std::move(passed[0]);
        ::fcntl(listen_.get(), F_SETFD, FD_CLOEXEC);
        ::fcntl(listen_.get(), F_SETFL, ::fcntl(listen_.get(), F_GETFL) | O_NONBLOCK);
        spdlog::info("listening on the socket passed by systemd");
        return std::nullopt;
    }
    const std::string& path = settings_.socket;
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path))
        return invalid("socket path " + path + " is too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);

    listen_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listen_)
        return invalid("socket(): " + errnoText(errno));
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return invalid(path + " exists and is not a socket");
        // A live daemon answers; a stale socket file from a crashed one does not.
        UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
        if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
            return invalid("another ringlogd is listening on " + path);
        ::unlink(path.c_str());
    }
    mode_t old = ::umask(0777 & ~settings_.socket_mode);
    int r = ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    int e = errno;
    ::umask(old);
    if (r != 0)
        return invalid("binding " + path + ": " + errnoText(e));
    bound_socket_ = true;
    ::chmod(path.c_str(), settings_.socket_mode);
    if (allowed_gid_ && ::chown(path.c_str(), static_cast<uid_t>(-1), *allowed_gid_) != 0)
        spdlog::warn("cannot give {} to group {}: {}", path, settings_.allowed_group,
                     errnoText(errno));
    if (::listen(listen_.get(), SOMAXCONN) != 0)
        return invalid("listen on " + path + ": " + errnoText(errno));
    spdlog::info("listening on {}", path);
    return std::nullopt;
}

std::optional<Error> Daemon::start() {
    if (!findDriver(settings_.default_driver))
        return invalid("default-driver: unknown log driver \"" + settings_.default_driver + "\"");
    allowed_gid_ = lookUpAllowedGroup(settings_.allowed_group);
    std::error_code ec;
    std::filesystem::create_directories(settings_.log_root, ec);
    if (ec)
        return invalid("creating log root " + settings_.log_root + ": " + ec.message());

    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    signals_.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!epoll_ || !wake_ || !signals_)
        return invalid("setting up the event loop: " + errnoText(errno));
    PassedFds passed = takePassedFds();
    if (auto e = bindSocket(std::move(passed.sockets)))
        return e;
    read_buffer_.resize(std::max<size_t>(kReadBufferBytes, settings_.max_line + 1));
    ring_budget_.limit = settings_.blocking_ring_budget;
    journal_inherited_ = passed.journal_read && passed.journal_write;
    auto peeker = PipePeek::open(read_buffer_.size(), std::max<size_t>(settings_.pipe_size, 65536),
                                 std::move(passed.journal_read), std::move(passed.journal_write));
    if (!peeker)
        return peeker.error();
    peeker_ = std::move(*peeker);

    listen_watch_ = std::make_unique<Watch>(Watch{Watch::kListen});
    wake_watch_ = std::make_unique<Watch>(Watch{Watch::kWake});
    signal_watch_ = std::make_unique<Watch>(Watch{Watch::kSignal});
    watch(listen_.get(), listen_watch_.get(), EPOLLIN);
    watch(wake_.get(), wake_watch_.get(), EPOLLIN);
    watch(signals_.get(), signal_watch_.get(), EPOLLIN);

    background_ = std::make_unique<TaskQueue>();
    driver_env_ = {settings_.log_root, settings_.allowed_log_roots, background_.get()};
    auto post = [this](Event::Kind kind) {
        return [this, kind](const std::shared_ptr<Container>& c) { postEvent({kind, c, {}}); };
    };
    pool_ = std::make_unique<ConsumerPool>(
        settings_.consumer_threads,
        ConsumerPool::Callbacks{post(Event::kResume), post(Event::kPublished),
                                post(Event::kDrained), post(Event::kHealth)});
    if (settings_.dbus != "no") {
        auto bus = BusApi::connect(*this);
        if (bus) {
            bus_ = std::move(*bus);
            bus_watch_ = std::make_unique<Watch>(Watch{Watch::kBus});
            bus_events_ = bus_->epollEvents();
            watch(bus_->fd(), bus_watch_.get(), bus_events_);
            spdlog::info("serving org.ringlog.Log1 on the system bus");
        } else if (settings_.dbus == "yes") {
            return bus.error();
        } else {
            spdlog::info("no D-Bus API ({}): ingest only", bus.error().message);
        }
    }
    supervised_ = std::getenv("NOTIFY_SOCKET") != nullptr;
    fd_store_ = FdStore(supervised_);
    fd_store_.keepSettings(settingsText(settings_));
    fd_store_.keepDiscardJournal(peeker_->journalRead(), peeker_->journalWrite());
    for (const auto& name : passed.unknown) {
        spdlog::warn("systemd passed an fd named \"{}\", which is not ringlogd's; closed", name);
        fd_store_.removeName(name);
    }
    // Before READY=1: what an earlier instance left is persisted first, ahead of new attaches.
    for (auto& [serial, stored] : passed.containers)
        adoptStored(std::move(stored), serial);
    // Every ring has settled a discard the kill interrupted (adoptStored): the journal's bytes are
    // accounted for. Then what each ring has already is taken out of its pipes, unread.
    peeker_->drainJournal();
    for (auto& [id, a] : attached_)
        if (uint64_t skipped = a->container->skipWhatTheRingHas(*peeker_))
            spdlog::info(
                "container {}: {} bytes at the head of its pipes were in its ring already "
                "(the previous instance was killed before taking them out): skipped",
                a->container->info().shortId(), skipped);
    uint64_t watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
        watchdog_interval_ = std::chrono::microseconds(watchdog_usec / 2);
    if (!config_error_.empty())
        spdlog::error(
            "the configuration does not load ({}): running on the previous instance's "
            "settings until a reload succeeds",
            config_error_);
    sd_notifyf(0, "READY=1\nSTATUS=%zu containers attached%s", attached_.size(),
               statusWarning().c_str());
    return std::nullopt;
}

void Daemon::postEvent(Event e) {
    bool first;
    {
        std::lock_guard lock(events_mutex_);
        first = events_.empty();
        events_.push_back(std::move(e));
    }
    // One wake-up per batch: onWake() takes every event queued when it looks, and a batch it has
    // taken leaves the queue empty, so the next event wakes it again.
    if (first) {
        uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof(one));
    }
}

int Daemon::run() {
    std::vector<struct epoll_event> events(256);
    while (!force_exit_ && !(shutting_down_ && attached_.empty() && draining_.empty())) {
        int timeout = connections_.empty() ? -1 : 1000;
        if (bus_) {
            int bus_timeout = bus_->timeoutMs();
            if (bus_timeout >= 0 && (timeout < 0 || bus_timeout < timeout))
                timeout = bus_timeout;
            if (!attached_.empty() && (timeout < 0 || timeout > 1000))
                timeout = 1000;  // the counters' PropertiesChanged tick
        }
        if (supervised_ && (timeout < 0 || timeout > 1000))
            timeout = 1000;  // watchdog and status
        if (accept_paused_ && (timeout < 0 || timeout > 1000))
            timeout = 1000;  // listen again once there is an fd (resumeAccepting)
        if (shutting_down_ && (timeout < 0 || timeout > 100))
            timeout = 100;  // the stop's deadline
        timeout = filesTimeout(timeout);
        int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
        if (n < 0 && errno != EINTR) {
            spdlog::critical("epoll_wait: {}", errnoText(errno));
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            auto* w = static_cast<Watch*>(events[i].data.ptr);
            switch (w->kind) {
                case Watch::kListen:
                    acceptConnections();
                    break;
                case Watch::kConnection:
                    onConnection(w->connection);
                    break;
                case Watch::kInput:
                    serviceInput(*w->attached, *w->input);
                    break;
                case Watch::kWake:
                    onWake();
                    break;
                case Watch::kSignal:
                    onSignal();
                    break;
                case Watch::kBus:
                    bus_->process();
                    break;
                case Watch::kQuery:
                    onQuery(w->query);
                    break;
                case Watch::kFiles:
                    file_watcher_->onReadable();
                    break;
            }
            // serviceInput and onConnection may free watches of later events in this batch only
            // through onWake (drained containers), which defers removal to its own event.
        }
        serviceFilesPending();
        resumeAccepting();
        if (bus_) {
            if (n == 0)
                bus_->process();  // its timeout
            announceCounters();
            updateBusWatch();
        }
        if (supervised_)
            tellSystemd();
        auto now = std::chrono::steady_clock::now();
        for (auto it = connections_.begin(); it != connections_.end();) {
            auto* c = (it++)->first;
            if (c->deadline <= now)
                closeConnection(c);
        }
        if (shutting_down_ && now >= stop_.deadline)
            return abandonStop();
    }
    if (force_exit_) {
        spdlog::error("second signal: not waiting for the drivers");
        return abandonStop();
    }
    return finishStop();
}

void Daemon::watchInputs(Attached& a) {
    auto& inputs = a.container->inputs();
    for (size_t i = 0; i < inputs.size(); ++i) {
        inputs[i]->watch_mode = Container::Input::WatchMode::kLevel;
        if (!inputs[i]->eof)
            watch(inputs[i]->fd.get(), a.watches[i].get(), EPOLLIN);
    }
}

// A blocked container's inputs stay in epoll, parked: not watched for input, and edge-triggered
// because a pipe whose writers are gone reports EPOLLHUP even when not asked for (edge-triggered,
// once). So a writer filling its pipe meanwhile does not wake the loop, and a blocked container
// costs two epoll_ctl MODs per ring's worth of lines where taking its fds out of epoll and putting
// them back cost a DEL and an ADD, each dearer. onWake() reads them as soon as the ring has room.
void Daemon::parkInputs(Attached& a) {
    for (auto& in : a.container->inputs())
        if (!in->eof)
            setWatchMode(a, *in, Container::Input::WatchMode::kParked);
}

void Daemon::serviceInput(Attached& a, Container::Input& input) {
    using Mode = Container::Input::WatchMode;
    auto& c = a.container;
    if (c->blocked() || input.eof)
        return;
    auto result =
        c->pump(input, *peeker_, read_buffer_.data(), read_buffer_.size(), kReadsPerEvent);
    if (input.eof && input.fd) {
        unwatch(input.fd.get());
        if (shutting_down_ && input.peek)
            a.held_pipes.emplace_back(input.framer.stream(), std::move(input.fd));
        input.fd.reset();
    }
    // A pipe holding only an incomplete line stays readable: level-triggered, it would wake us
    // until the line ends. Edge-triggered, it wakes us when new bytes come; back to level once
    // there is more to read than one turn takes.
    Mode mode = input.watch_mode;
    if (result == Container::PumpResult::kWaitLineEnd)
        mode = Mode::kEdge;
    else if (result == Container::PumpResult::kMore ||
             (result == Container::PumpResult::kDrained && mode == Mode::kParked))
        mode = Mode::kLevel;
    if (!input.eof)
        setWatchMode(a, input, mode);
    if (result == Container::PumpResult::kBlocked) {
        c->setBlocked(true);
        parkInputs(a);
    }
    afterInput(a);
}

void Daemon::setWatchMode(Attached& a, Container::Input& input, Container::Input::WatchMode mode) {
    using Mode = Container::Input::WatchMode;
    if (input.watch_mode == mode)
        return;
    auto& inputs = a.container->inputs();
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].get() != &input)
            continue;
        struct epoll_event ev {};
        ev.events = mode == Mode::kLevel  ? EPOLLIN
                    : mode == Mode::kEdge ? EPOLLIN | EPOLLET
                                          : EPOLLET;
        ev.data.ptr = a.watches[i].get();
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, input.fd.get(), &ev);
        input.watch_mode = mode;
    }
}

void Daemon::afterInput(Attached& a) {
    auto& c = a.container;
    // Log files are read to their end and released once the container is detached: every pipe
    // closed (a container with pipes), `ringlogctl detach`, or a stop.
    bool pipes_closed = !c->inputs().empty() && std::all_of(c->inputs().begin(), c->inputs().end(),
                                                            [](const auto& in) { return in->eof; });
    if (a.files && !a.files->finishing && (shutting_down_ || pipes_closed)) {
        if (shutting_down_ && stop_.pipes_outlive_us && a.files->registry) {
            // A restart: the next instance reads on from where the registry says, so the stop
            // waits for no file. (An incomplete last line stays in its file, not cut in two.)
            a.files.reset();
            c->holdInputOpen(false);
        } else {
            finishLogFiles(a);
            serviceFiles(a);
        }
    }
    if (!c->blocked() && c->inputFinished())
        c->closeInput();
    pool_->schedule(c);
}

void Daemon::onWake() {
    uint64_t count;
    (void)!::read(wake_.get(), &count, sizeof(count));
    std::vector<Event> events;
    {
        std::lock_guard lock(events_mutex_);
        events.swap(events_);
    }
    for (auto& e : events) {
        if (e.kind == Event::kDrained) {
            onDrained(e.container);
            feedFollowers(e.container->liveFeed().get());  // they end once they have it all
            // Freeing a ring (unmapping and evicting its memfd's pages) and closing a driver
            // take time the event loop owes the other containers: the background thread does it.
            background_->post([done = std::move(e.container)] {});
            continue;
        }
        if (e.kind == Event::kRun) {
            e.run();
            continue;
        }
        if (e.kind == Event::kHealth) {
            if (bus_)
                bus_->healthChanged(e.container->info().id);
            continue;
        }
        if (e.kind == Event::kPublished) {
            e.container->liveFeed()->clearWakeup();
            feedFollowers(e.container->liveFeed().get());
            continue;
        }
        Attached* found = findAttached(e.container);
        if (found == nullptr)
            continue;
        Attached& a = *found;
        auto& c = a.container;
        if (!c->blocked())
            continue;
        if (!c->pushBacklog()) {  // still full: the consumer will wake us again
            pool_->schedule(c);
            continue;
        }
        c->setBlocked(false);
        // Parked inputs get no event for the bytes already in their pipes: read them now, each
        // input first in turn (the first one may fill the ring again).
        auto& inputs = c->inputs();
        size_t n = inputs.size(), first = n == 0 ? 0 : a.wakeups++ % n;
        for (size_t i = 0; i < n && !c->blocked(); ++i)
            serviceInput(a, *inputs[(first + i) % n]);
        serviceFiles(a);
        afterInput(a);
    }
}

Daemon::Attached* Daemon::findAttached(const std::shared_ptr<Container>& c) {
    if (auto it = attached_.find(c->info().id); it != attached_.end() && it->second->container == c)
        return it->second.get();
    for (auto& a : draining_)
        if (a->container == c)
            return a.get();
    return nullptr;
}

void Daemon::onDrained(const std::shared_ptr<Container>& c) {
    const auto& n = c->counters();
    auto ring = c->ringStats();
    Attached* done = findAttached(c);
    // At a stop the container may well be running still: it is said to have exited only if its
    // writers are gone.
    bool exited = true;
    if (shutting_down_ && done != nullptr)
        for (const auto& [stream, fd] : done->held_pipes) {
            struct pollfd p {
                fd.get(), POLLIN, 0
            };
            exited = exited && ::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
        }
    spdlog::info(
        "container {} {}: lines_in={} lines_written={} lines_dropped={} bytes_dropped={} "
        "lines_failed={} lines_split={}",
        c->info().shortId(), exited ? "exited" : "persisted at the stop", n.lines_in.load(),
        n.lines_written.load(), ring.dropped_lines, ring.dropped_bytes, n.lines_failed.load(),
        n.lines_split.load());
    if (done != nullptr && shutting_down_)
        leaveAtStop(*done, true);
    if (done != nullptr && !shutting_down_) {
        // Finished for good: nothing of it is needed by a later instance. (At shutdown the
        // container may be running still: its fds stay for the next instance.)
        fd_store_.removeContainer(done->serial);
    }
    auto drained = std::find_if(draining_.begin(), draining_.end(),
                                [&](const auto& a) { return a->container == c; });
    if (drained != draining_.end()) {
        draining_.erase(drained);
        // Its successor may persist now.
        if (auto it = attached_.find(c->info().id); it != attached_.end())
            pool_->schedule(it->second->container);
        return;
    }
    auto it = attached_.find(c->info().id);
    if (it == attached_.end() || it->second->container != c)
        return;
    // Exited containers are remembered so a restart continues their sequence; the oldest are
    // forgotten beyond a bound, as a host runs an unbounded number of containers over time.
    ContainerView view = viewOf(*it->second);
    view.attached = false;
    view.exited_at_us = realtimeUs();
    if (exited_.insert_or_assign(c->info().id, Exited{std::move(view), c->nextSequence()}).second)
        exited_order_.push_back(c->info().id);
    while (exited_order_.size() > kMaxRememberedExited) {
        if (bus_)
            bus_->containerForgotten(exited_order_.front());
        exited_.erase(exited_order_.front());
        exited_order_.pop_front();
    }
    attached_.erase(it);
    sd_notifyf(0, "STATUS=%zu containers attached%s", attached_.size(), statusWarning().c_str());
    if (bus_)
        bus_->containerExited(c->info().id);
}

}  // namespace ringlog
