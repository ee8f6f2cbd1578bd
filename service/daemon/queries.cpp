// The D-Bus side: containers as the bus sees them, queries and followers, detach.
#include "service/daemon/daemon_internal.h"

namespace ringlog {

void Daemon::updateBusWatch() {
    uint32_t events = bus_->epollEvents();
    if (events == bus_events_)
        return;
    struct epoll_event ev {};
    ev.events = events;
    ev.data.ptr = bus_watch_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, bus_->fd(), &ev);
    bus_events_ = events;
}

ContainerView Daemon::viewOf(const Attached& a) const {
    const auto& c = *a.container;
    ContainerView v;
    v.info = c.info();
    v.settings = c.settings();
    v.attached = true;
    v.attached_at_us = a.attached_at_us;
    v.owner_uid = a.owner_uid;
    auto ring = c.ringStats();
    v.lines_in = c.counters().lines_in.load();
    v.bytes_in = c.counters().bytes_in.load();
    v.lines_written = c.counters().lines_written.load();
    v.lines_split = c.counters().lines_split.load();
    v.lines_dropped = ring.dropped_lines;
    v.bytes_dropped = ring.dropped_bytes;
    v.health = c.health();
    v.write_failures = c.counters().write_failures.load();
    v.ring_bytes_used = ring.bytes_buffered;
    return v;
}

std::vector<ContainerView> Daemon::listContainers() {
    std::vector<ContainerView> out;
    for (const auto& [id, a] : attached_)
        out.push_back(viewOf(*a));
    for (const auto& [id, e] : exited_)
        if (attached_.count(id) == 0)
            out.push_back(e.view);
    return out;
}

ContainerLookup Daemon::findContainer(std::string_view key,
                                      const std::function<bool(const ContainerView&)>& visible) {
    ContainerLookup out;
    if (auto it = attached_.find(key); it != attached_.end()) {
        if (auto view = viewOf(*it->second); visible(view)) {
            out.found = std::move(view);
            return out;
        }
    }
    if (auto it = exited_.find(key); it != exited_.end() && visible(it->second.view)) {
        out.found = it->second.view;
        return out;
    }
    // An id prefix, as docker accepts, unique among the visible containers; then a name, the
    // attached container first.
    std::vector<ContainerView> matches;
    if (!key.empty())
        for (auto& c : listContainers())
            if (c.info.id.compare(0, key.size(), key) == 0 && visible(c))
                matches.push_back(std::move(c));
    if (matches.size() == 1) {
        out.found = std::move(matches.front());
        return out;
    }
    for (const auto& [id, a] : attached_)
        if (a->container->info().name == key && visible(viewOf(*a))) {
            out.found = viewOf(*a);
            return out;
        }
    for (const auto& [id, e] : exited_)
        if (e.view.info.name == key && visible(e.view)) {
            out.found = e.view;
            return out;
        }
    if (matches.size() > 1) {
        std::sort(matches.begin(), matches.end(),
                  [](const auto& a, const auto& b) { return a.info.id < b.info.id; });
        out.ambiguous = std::move(matches);
    }
    return out;
}

DaemonDescription Daemon::describeDaemon() {
    DaemonDescription d;
    d.version = RINGLOG_VERSION;
    d.protocol_version = RINGLOG_PROTOCOL_VERSION;
    d.default_driver = settings_.default_driver;
    for (const auto& driver : allDrivers()) {
        d.drivers.emplace_back(driver.name);
        auto& keys = d.log_options[std::string(driver.name)];
        for (const auto& o : driver.options)
            keys.emplace_back(o.key);
    }
    auto& common = d.log_options[""];
    for (const auto& o : kCommonOptions)
        common.emplace_back(o.key);
    return d;
}

Result<UniqueFd> Daemon::startQuery(const ContainerView& c, const QueryOptions& options,
                                    uid_t caller) {
    auto refuse = [&](std::string message) -> Error {
        ++queries_refused_;
        if (query_limit_log_.allow())
            spdlog::warn("refused a query of {}: {} ({} refused since start)", c.info.shortId(),
                         message, queries_refused_);
        return Error{RINGLOG_STATUS_LIMIT, std::move(message)};
    };
    if (queries_.size() >= kMaxQueries)
        return refuse(std::to_string(queries_.size()) +
                      " queries are running (queries); try again");
    if (caller != 0) {
        size_t mine = 0;
        for (const auto& [q, owned] : queries_)
            mine += q->uid == caller;
        if (mine >= kMaxQueriesPerUser)
            return refuse("uid " + std::to_string(caller) + " has " + std::to_string(mine) +
                          " queries running (queries-per-user); try again");
    }
    const DriverChoice* readable = c.settings.readable();
    const DriverDescriptor* d = readable != nullptr ? findDriver(readable->name) : nullptr;
    if (d == nullptr || d->open_reader == nullptr) {
        bool cache_disabled = false;
        for (const auto& choice : c.settings.drivers)
            if (auto it = choice.options.find("cache-disabled"); it != choice.options.end())
                cache_disabled |= parseBool(it->second).value_or(false);
        return invalid(
            "driver " + c.settings.driverNames() + " keeps no logs to read back" +
            (cache_disabled ? " (and its local cache is off: cache-disabled=true)" : ""));
    }
    // Following an attached container: history up to what is persisted now, then the live feed
    // from exactly there (LiveFeed explains why there is no gap and no duplicate). An exited
    // container has no more to come: its history is all.
    std::shared_ptr<LiveFeed> feed;
    LiveFeed::Position position;
    ReadFilter history = options.filter;
    if (auto it = attached_.find(c.info.id); options.follow && it != attached_.end()) {
        feed = it->second->container->liveFeed();
        size_t followers = 0;
        for (const auto& [q, owned] : queries_)
            followers += q->stream.feed() == feed.get();
        if (followers >= kMaxFollowersPerContainer)
            return refuse("container " + c.info.shortId() + " has " + std::to_string(followers) +
                          " followers already (followers-per-container)");
        position = feed->follow();
        if (d->live_backlog > 0) {
            // History to whatever the reader sees; the feed, from its backlog on, fills in
            // by sequence what the reader does not see yet.
            position.next_index = position.oldest_index;
        } else if (!history.until_ns || *history.until_ns > position.persisted_through) {
            history.until_ns = position.persisted_through;
        }
    }
    auto reader = d->open_reader(c.info, readable->options, driver_env_, history);
    if (!reader) {
        if (feed)
            feed->unfollow();
        return reader.error();
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        if (feed)
            feed->unfollow();
        return Error{RINGLOG_STATUS_LIMIT, "pipe: " + errnoText(errno)};
    }
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    ::fcntl(write_end.get(), F_SETFL, ::fcntl(write_end.get(), F_GETFL) | O_NONBLOCK);
    QueryStream::Reopen reopen;
    if (feed)
        reopen = [info = c.info, opts = readable->options, env = driver_env_,
                  d](const ReadFilter& f) { return d->open_reader(info, opts, env, f); };
    auto q = std::make_unique<Query>(
        QueryStream(std::move(*reader), options.format, options.filter, std::move(write_end),
                    std::move(feed), position.next_index, std::move(reopen), d->live_backlog > 0));
    q->watch.query = q.get();
    q->uid = caller;
    watch(q->stream.fd(), &q->watch, EPOLLOUT);
    queries_.emplace(q.get(), std::move(q));
    return read_end;
}

void Daemon::onQuery(Query* q) {
    switch (q->stream.pump()) {
        case QueryStream::Progress::kWaitWritable:
        case QueryStream::Progress::kYield:
            // A yield waits for EPOLLOUT too: the pipe has room, so the level-triggered watch
            // calls again on the next turn, after the other ready fds (the containers' pipes).
            if (q->waiting_for_data) {
                watch(q->stream.fd(), &q->watch, EPOLLOUT);
                q->waiting_for_data = false;
            }
            return;
        case QueryStream::Progress::kWaitData:
            // A writable pipe would wake us forever: listen to the feed instead.
            if (!q->waiting_for_data) {
                unwatch(q->stream.fd());
                q->waiting_for_data = true;
            }
            return;
        case QueryStream::Progress::kDone:
            if (!q->waiting_for_data)
                unwatch(q->stream.fd());
            queries_.erase(q);  // closes the pipe: the reader sees the end
            return;
    }
}

void Daemon::feedFollowers(const LiveFeed* feed) {
    std::vector<Query*> waiting;
    for (auto& [q, owned] : queries_)
        if (q->stream.feed() == feed && q->waiting_for_data)
            waiting.push_back(q);
    for (Query* q : waiting)
        onQuery(q);
}

std::optional<Error> Daemon::detach(const std::string& id) {
    auto it = attached_.find(id);
    if (it == attached_.end())
        return invalid("container " + id + " is not attached");
    Attached& a = *it->second;
    for (auto& in : a.container->inputs()) {
        if (in->eof)
            continue;
        unwatch(in->fd.get());
        in->fd.reset();
        in->eof = true;
    }
    // Detached means not read again, by this instance or the next.
    fd_store_.remove(a.serial, "stdout");
    fd_store_.remove(a.serial, "stderr");
    spdlog::info("container {} detached on request", a.container->info().shortId());
    if (a.files)
        finishLogFiles(a);                  // read to their end, then released (afterInput)
    a.container->holdOpenForPushes(false);  // a push-only container: no more pushes
    if (!a.container->blocked() && !a.container->pushBacklog())
        a.container->setBlocked(true);
    serviceFiles(a);
    afterInput(a);
    return std::nullopt;
}

void Daemon::reopen(const std::string& id, std::function<void(std::optional<Error>)> done) {
    auto it = attached_.find(id);
    if (it == attached_.end())
        return done(
            invalid("container " + id.substr(0, 12) +
                    " is not attached: no log file is being written that could be reopened"));
    auto& c = it->second->container;
    // The consumer thread reopens between two writes; the answer comes back to this loop.
    c->requestReopen([this, done = std::move(done)](std::optional<Error> e) {
        postEvent({Event::kRun, nullptr, [done, e] { done(e); }});
    });
    pool_->schedule(c);
}

}  // namespace ringlog
