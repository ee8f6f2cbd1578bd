// Attaching containers: engines' connections and requests, the plan checked against the
// drivers and settings, and containers taken back from systemd's fd store after a restart.
#include "service/daemon/daemon_internal.h"

#include <sys/resource.h>

#include <algorithm>
#include <climits>

namespace ringlog {

namespace {

enum class IdKind { kUser, kGroup };

// A comma-separated list of users or groups (a log option such as push-users=web,1001), each
// a name or a number, as ids; a name that does not exist is an error.
Result<std::vector<uint32_t>> idList(const char* key, const std::string& list, IdKind kind) {
    std::vector<uint32_t> ids;
    const char* what = kind == IdKind::kUser ? "user" : "group";
    size_t start = 0;
    while (start < list.size()) {
        size_t end = std::min(list.find(',', start), list.size());
        std::string name = list.substr(start, end - start);
        start = end + 1;
        if (name.empty())
            continue;
        if (kind == IdKind::kUser) {
            if (struct passwd* p = ::getpwnam(name.c_str())) {
                ids.push_back(p->pw_uid);
                continue;
            }
        } else if (struct group* g = ::getgrnam(name.c_str())) {
            ids.push_back(g->gr_gid);
            continue;
        }
        char* rest = nullptr;
        errno = 0;
        unsigned long n = std::strtoul(name.c_str(), &rest, 10);
        if (name[0] >= '0' && name[0] <= '9' && *rest == '\0' && errno == 0 && n < UINT32_MAX) {
            ids.push_back(static_cast<uint32_t>(n));
            continue;
        }
        return invalid(std::string("log option \"") + key + "\": no " + what + " \"" + name + "\"");
    }
    return ids;
}

// "/dev/zero, a character device that is not a tty": what an fd that cannot be a container's
// output is, for the engine that passed it (its own fd: the path is its to know).
std::string describeFd(int fd, const struct stat& st) {
    std::string path(PATH_MAX, '\0');
    ssize_t n =
        ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), path.data(), path.size());
    path.resize(n > 0 ? static_cast<size_t>(n) : 0);
    // The engine's own path, but it goes into our log too: no control character may forge a line.
    std::replace_if(
        path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }, '?');
    const char* kind = S_ISREG(st.st_mode)   ? "a regular file"
                       : S_ISDIR(st.st_mode) ? "a directory"
                       : S_ISCHR(st.st_mode) ? "a character device that is not a tty"
                       : S_ISBLK(st.st_mode) ? "a block device"
                                             : "of another kind";
    return path.empty() ? kind : path + ", " + kind;
}

}  // namespace

// What an attach that finds no fd left is told: ringlogd's own limit (EMFILE) or the system's
// (ENFILE).
std::string Daemon::outOfFdsMessage(int error) const {
    if (error == ENFILE)
        return "the system has no file descriptor left (fs.file-max): stop containers, or raise "
               "fs.file-max";
    struct rlimit limit {};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    return "ringlogd has no file descriptor left (RLIMIT_NOFILE " + std::to_string(limit.rlim_cur) +
           "): detach or stop containers, or raise LimitNOFILE= in ringlogd.service";
}

// Whether fewer than `needed` fds are left (0, or EMFILE or ENFILE): the spare is duplicated
// that many times. (An attach that ran out halfway would unwind as any failed one, but its error
// would name whichever open failed; this names the cause.)
int Daemon::outOfFds(int needed) {
    if (!spare_fd_)
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!spare_fd_)
        return errno == ENFILE ? ENFILE : EMFILE;
    std::vector<UniqueFd> probes;
    probes.reserve(static_cast<size_t>(needed));
    for (int i = 0; i < needed; ++i) {
        int probe = ::fcntl(spare_fd_.get(), F_DUPFD_CLOEXEC, 0);
        if (probe < 0)
            return errno == EMFILE || errno == ENFILE ? errno : 0;
        probes.emplace_back(probe);
    }
    return 0;
}

// A connection refused before its request: LIMIT and why, and a line in our log (the first
// refusals in full, then a count, so that a flood of them cannot flood the journal).
void Daemon::refuseConnection(int fd, const ucred& cred, const std::string& why) {
    std::string reply = encodeReply(RINGLOG_STATUS_LIMIT, why);
    (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (auto suppressed = refusal_log_.allow())
        spdlog::warn("refused a connection of pid {} uid {}: {}{}", cred.pid, cred.uid, why,
                     *suppressed ? fmt::format(" ({} more refusals since)", *suppressed) : "");
}

// Out of fds, accept() fails and leaves the connection in the backlog, its engine hanging, while
// the listening socket wakes this loop again at once. The spare fd is let go to make room to
// take the connection and refuse it with the reason. Returns whether to accept on.
bool Daemon::refuseForWantOfFds(int error) {
    spare_fd_.reset();
    UniqueFd refused(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    const bool none_waiting = !refused;  // accept() fails with EMFILE even then
    if (refused) {
        ucred cred{};
        socklen_t len = sizeof cred;
        ::getsockopt(refused.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len);
        refuseConnection(refused.get(), cred, outOfFdsMessage(error));
        refused.reset();
    }
    spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!spare_fd_) {
        // Another thread took the room, or another process the system's: without the spare the
        // next connection could not be refused, and accept() would fail at once again. Listen
        // again once there is room (resumeAccepting, once a second), rather than spin.
        pauseAccepting();
        return false;
    }
    return !none_waiting;
}

void Daemon::pauseAccepting() {
    if (accept_paused_)
        return;
    accept_paused_ = true;
    struct epoll_event ev {};
    ev.data.ptr = listen_watch_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listen_.get(), &ev);
    spdlog::warn("no file descriptor left: not taking connections until there is one");
}

void Daemon::resumeAccepting() {
    if (!accept_paused_ || outOfFds(1) != 0)
        return;
    accept_paused_ = false;
    struct epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.ptr = listen_watch_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listen_.get(), &ev);
    spdlog::info("file descriptors available again: taking connections");
}

void Daemon::acceptConnections() {
    for (;;) {
        UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd && (errno == EMFILE || errno == ENFILE)) {
            if (refuseForWantOfFds(errno))
                continue;
            return;
        }
        if (!fd) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                spdlog::warn("accept: {}", errnoText(errno));
            return;
        }
        auto conn = std::make_unique<Connection>();
        socklen_t len = sizeof(conn->cred);
        ::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &conn->cred, &len);
        if (std::string limit = pendingLimit(conn->cred.uid); !limit.empty()) {
            refuseConnection(fd.get(), conn->cred, limit);
            continue;
        }
        std::vector<gid_t> groups(64);
        socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) != 0 &&
            errno == ERANGE) {
            groups.resize(glen / sizeof(gid_t));
            ::getsockopt(fd.get(), SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen);
        }
        groups.resize(glen / sizeof(gid_t));
        conn->groups = std::move(groups);
        conn->fd = std::move(fd);
        conn->deadline = std::chrono::steady_clock::now() + kConnectionTimeout;
        conn->watch.connection = conn.get();
        watch(conn->fd.get(), &conn->watch, EPOLLIN);
        ++pending_by_uid_[conn->cred.uid];
        connections_.emplace(conn.get(), std::move(conn));
    }
}

// Why a new connection of `uid` is refused ("": it is not): one user cannot take every place for
// connections that sent nothing yet, and root's engines always have a share of their own.
std::string Daemon::pendingLimit(uid_t uid) const {
    size_t pending = connections_.size() - push_connections_;
    if (uid == 0)
        return pending < kMaxPendingConnections
                   ? ""
                   : std::to_string(pending) +
                         " connections sent no request yet (pending-connections); try again";
    auto mine = pending_by_uid_.find(uid);
    if (mine != pending_by_uid_.end() && mine->second >= kMaxPendingPerUser)
        return "uid " + std::to_string(uid) + " has " + std::to_string(mine->second) +
               " connections that sent no request yet (pending-connections-per-user); try again";
    if (pending >= kMaxPendingConnections - kPendingReservedForRoot)
        return std::to_string(pending) +
               " connections sent no request yet, the rest are root's (pending-connections); "
               "try again";
    return "";
}

// A connection is counted as pending until it becomes a pusher's (or closes).
void Daemon::stopCountingAsPending(const Connection& conn) {
    auto it = pending_by_uid_.find(conn.cred.uid);
    if (it != pending_by_uid_.end() && --it->second == 0)
        pending_by_uid_.erase(it);
}

void Daemon::closeConnection(Connection* conn) {
    if (conn->pusher)
        --push_connections_;
    else
        stopCountingAsPending(*conn);
    unwatch(conn->fd.get());
    connections_.erase(conn);
}

bool Daemon::peerMayAttach(const Connection& conn) const {
    if (conn.cred.uid == 0)
        return true;
    if (!allowed_gid_)
        return false;
    if (conn.cred.gid == *allowed_gid_)
        return true;
    return std::find(conn.groups.begin(), conn.groups.end(), *allowed_gid_) != conn.groups.end();
}

void Daemon::onConnection(Connection* conn) {
    // One buffer for every datagram: a push connection sends one after another.
    request_buffer_.resize(RINGLOG_MAX_REQUEST_BYTES + 1);
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxControlFds)];
    struct iovec iov {
        request_buffer_.data(), request_buffer_.size()
    };
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(conn->fd.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;

    // Own every fd that arrived before looking at anything else.
    std::vector<UniqueFd> fds;
    bool foreign_control = false;
    for (auto* c = CMSG_FIRSTHDR(&msg); n >= 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                fds.emplace_back(fd);
            }
        } else {
            foreign_control = true;
        }
    }
    // SOCK_SEQPACKET: 0 bytes is either a hang-up or an empty datagram, which gets its reply.
    struct pollfd hung_up {
        conn->fd.get(), POLLRDHUP, 0
    };
    if (n < 0 || (n == 0 && ::poll(&hung_up, 1, 0) == 1)) {  // gone without a request
        closeConnection(conn);
        return;
    }

    std::string_view request(request_buffer_.data(), static_cast<size_t>(n));
    // A push is for whoever the container allows (push.cpp), not only for who may attach.
    auto header = decodeRequestHeader(request);
    bool is_push = header && header->type == RINGLOG_MSG_PUSH;
    Result<std::string> outcome = Error{RINGLOG_STATUS_BAD_REQUEST, ""};
    if (!is_push && !peerMayAttach(*conn)) {
        outcome = Error{RINGLOG_STATUS_PERMISSION_DENIED,
                        "permission denied: uid " + std::to_string(conn->cred.uid) +
                            " is neither root nor in group " + settings_.allowed_group};
    } else if (n == 0) {
        outcome = Error{RINGLOG_STATUS_BAD_REQUEST,
                        "empty request: a request is an 8-byte header and its fields"};
    } else if (msg.msg_flags & MSG_TRUNC) {
        outcome =
            Error{RINGLOG_STATUS_BAD_REQUEST,
                  "request is larger than " + std::to_string(RINGLOG_MAX_REQUEST_BYTES) + " bytes"};
    } else if (msg.msg_flags & MSG_CTRUNC) {
        // The kernel truncates the fds it has no room for in our table, as those past our buffer.
        if (int error = outOfFds(1))
            outcome = Error{RINGLOG_STATUS_LIMIT, outOfFdsMessage(error)};
        else
            outcome = Error{RINGLOG_STATUS_BAD_FDS,
                            "control message truncated: send 1 or 2 file descriptors"};
    } else if (int error = is_push ? 0 : outOfFds(kFdsPerAttach)) {
        outcome = Error{RINGLOG_STATUS_LIMIT, outOfFdsMessage(error)};
    } else if (foreign_control) {
        outcome = Error{RINGLOG_STATUS_BAD_REQUEST,
                        "unexpected control message (only SCM_RIGHTS is accepted)"};
    } else {
        // Whatever a request contains, it costs at most its own refusal.
        try {
            outcome = is_push ? push(*conn, request, fds.size()) : attach(*conn, request, fds);
        } catch (const std::exception& e) {
            outcome = Error{RINGLOG_STATUS_INTERNAL, std::string("internal error: ") + e.what()};
        }
    }

    // The fds of a refused request are closed before the reply: an engine told BUSY or LIMIT
    // finds its pipe's read end gone (EPIPE), not still held for a moment.
    fds.clear();
    std::string reply = outcome ? encodeReply(RINGLOG_STATUS_OK, *outcome)
                                : encodeReply(outcome.error().status, outcome.error().message);
    if (::send(conn->fd.get(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        spdlog::debug("reply to pid {}: {}", conn->cred.pid, errnoText(errno));
    bool retry_later = !outcome && outcome.error().status == RINGLOG_STATUS_RETRY_LATER;
    if (!outcome && !retry_later) {
        // A misbehaving client must not flood our log: first refusals in full, then a count.
        if (auto suppressed = refusal_log_.allow()) {
            spdlog::warn("refused {} from pid {} uid {}: {}{}", is_push ? "push" : "attach",
                         conn->cred.pid, conn->cred.uid, outcome.error().message,
                         *suppressed ? fmt::format(" ({} more refusals since)", *suppressed) : "");
        }
    }
    if (is_push && (outcome || retry_later) &&
        (conn->pusher || push_connections_ < kMaxPushConnections)) {
        // A pusher keeps its connection for the next request; idle, it is closed as any other.
        if (!conn->pusher) {
            ++push_connections_;
            stopCountingAsPending(*conn);
        }
        conn->pusher = true;
        conn->deadline = std::chrono::steady_clock::now() + kConnectionTimeout;
        return;
    }
    closeConnection(conn);
}

// A ring the limits do not allow: one larger than max-ring-size, or one that takes the rings of
// the containers attached (and still draining) past total-ring-size. Checked at attach only: a
// container taken back after a restart keeps the ring it has.
std::optional<Error> Daemon::ringSizeLimit(uint64_t ring) const {
    auto size = [](uint64_t n) { return describeSize(static_cast<int64_t>(n)); };
    if (ring > settings_.max_ring_size)
        return Error{RINGLOG_STATUS_LIMIT, "max-buffer-size " + size(ring) +
                                               " is more than a container's ring may hold "
                                               "(max-ring-size " +
                                               size(settings_.max_ring_size) + ")"};
    uint64_t rings = 0;
    for (const auto& [id, a] : attached_)
        rings += a->container->settings().max_buffer_size;
    for (const auto& a : draining_)
        rings += a->container->settings().max_buffer_size;
    if (rings + ring > settings_.total_ring_size)
        return Error{RINGLOG_STATUS_LIMIT,
                     "the attached containers' rings may hold " + size(rings) + "; " + size(ring) +
                         " more would pass total-ring-size " + size(settings_.total_ring_size)};
    return std::nullopt;
}

// True when nothing can write to the container any more (every input at EOF, or hung up with
// only buffered data left): a new attach with its id is a restart, not a duplicate.
bool Daemon::writersGone(Container& c) {
    if (c.heldOpenForPushes())
        return false;  // a push-only container is there until it is detached
    for (auto& in : c.inputs()) {
        if (in->eof)
            continue;
        struct pollfd p {
            in->fd.get(), POLLIN, 0
        };
        if (::poll(&p, 1, 0) != 1 || !(p.revents & POLLHUP))
            return false;
    }
    return true;
}

Result<std::string> Daemon::attach(Connection& conn, std::string_view datagram,
                                   std::vector<UniqueFd>& fds) {
    auto decoded = decodeAttachRequest(datagram);
    if (!decoded)
        return decoded.error();
    AttachRequest& req = *decoded;
    if (req.push_only && !fds.empty())
        return Error{
            RINGLOG_STATUS_BAD_FDS,
            "a push-only attach carries no file descriptors, got " + std::to_string(fds.size())};
    // A container whose only logs are files (docs/log-files.md) or pushes comes without fds.
    if ((fds.empty() && req.log_dirs.empty() && !req.push_only) || fds.size() > RINGLOG_MAX_FDS)
        return Error{RINGLOG_STATUS_BAD_FDS,
                     "expected 1 or 2 file descriptors (stdout[, stderr]), got " +
                         std::to_string(fds.size())};
    const std::string& id = req.info.id;
    for (size_t i = 0; i < fds.size(); ++i) {
        const char* which = i == 0 ? (fds.size() == 1 ? "stdout/stderr" : "stdout") : "stderr";
        struct stat st;
        if (::fstat(fds[i].get(), &st) != 0)
            return Error{RINGLOG_STATUS_BAD_FDS, std::string("cannot stat the ") + which + " fd"};
        bool ok = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
                  (S_ISCHR(st.st_mode) && ::isatty(fds[i].get()));
        if (!ok)
            return Error{RINGLOG_STATUS_BAD_FDS, std::string("the ") + which + " fd is " +
                                                     describeFd(fds[i].get(), st) +
                                                     ": pass a pipe, FIFO, pty or socket"};
        int fl = ::fcntl(fds[i].get(), F_GETFL);
        if ((fl & O_ACCMODE) == O_WRONLY)
            return Error{RINGLOG_STATUS_BAD_FDS,
                         std::string("the ") + which + " fd is write-only: pass the read end"};
        if (S_ISFIFO(st.st_mode) && (fl & O_ACCMODE) == O_RDWR) {
            // Through it ringlogd would hold a writer of the FIFO itself and never see the
            // container end: it reads the FIFO through a read-only open of its own instead.
            std::string self = "/proc/self/fd/" + std::to_string(fds[i].get());
            UniqueFd read_only(::open(self.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
            if (!read_only)
                return Error{RINGLOG_STATUS_BAD_FDS,
                             std::string("the ") + which +
                                 " fd is a FIFO open for reading and writing, and ringlogd "
                                 "cannot open it read-only itself (" +
                                 errnoText(errno) + "): pass it opened O_RDONLY | O_NONBLOCK"};
            fds[i] = std::move(read_only);
        }
    }
    if (shutting_down_)
        return Error{RINGLOG_STATUS_SHUTTING_DOWN, "ringlogd is shutting down"};
    if (auto it = attached_.find(id); it != attached_.end() && !writersGone(*it->second->container))
        return Error{RINGLOG_STATUS_BUSY,
                     "container " + id + " is attached already and its output is still open"};
    if (attached_.size() >= settings_.max_containers)
        return Error{RINGLOG_STATUS_LIMIT, "the limit of " +
                                               std::to_string(settings_.max_containers) +
                                               " attached containers (max-containers) is reached"};

    auto plan = planAttach(req, settings_.max_line);
    if (!plan)
        return plan.error();
    if (auto limit = ringSizeLimit(plan->settings.max_buffer_size))
        return *limit;
    auto log_files = planLogFiles(req, *plan);
    if (!log_files)
        return log_files.error();
    CarriedContainer carried;
    carried.serial = next_serial_++;
    carried.request = datagram;
    carried.owner_uid = conn.cred.uid;
    carried.owner_pid = conn.cred.pid;
    carried.attached_at_us = realtimeUs();
    for (const auto& choice : plan->settings.drivers)
        if (!choice.cache)
            carried.drivers.push_back(choice.name);
    carried.mode = plan->mode_name;
    carried.max_line = plan->settings.max_line;

    auto geometry = RingGeometry::forLimits(plan->settings.max_buffer_size, carried.max_line);
    if (!geometry)
        return geometry.error();
    auto log_drivers = createDrivers(req.info, *plan);
    if (!log_drivers)
        return log_drivers.error();
    for (const auto& d : *log_drivers)
        carried.driver_states.push_back(d->resumeState());
    auto ring = RingLog::create(req.info.shortId(), *geometry, plan->settings.policy,
                                encodeCarried(carried));
    if (!ring)
        return ring.error();
    (*ring)->shareBudget(&ring_budget_);

    for (auto& fd : fds) {
        ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
        // Room for what the container writes while ringlogd restarts. Best effort: the kernel
        // caps it (fs.pipe-max-size, and the pipe owner's fs.pipe-user-pages-soft).
        if (settings_.pipe_size > 0 && isPipe(fd.get()) &&
            ::fcntl(fd.get(), F_GETPIPE_SZ) < static_cast<int>(settings_.pipe_size) &&
            ::fcntl(fd.get(), F_SETPIPE_SZ, static_cast<int>(settings_.pipe_size)) < 0) {
            std::string why = errnoText(errno);
            spdlog::debug("container {}: pipe size stays {}: {}", req.info.shortId(),
                          ::fcntl(fd.get(), F_GETPIPE_SZ), why);
        }
    }
    Attached& a = install(carried, req.info, *plan, std::move(*ring), std::move(*log_drivers),
                          std::move(fds), &*log_files);
    std::string drivers = plan->settings.driverNames();
    if (plan->settings.drivers.back().cache)
        drivers += " with a local cache";
    std::string summary = fmt::format(
        "attached {} (driver {}, {}, ring {}{})", req.info.shortId(), drivers, carried.mode,
        describeSize(static_cast<int64_t>(a.container->settings().max_buffer_size)),
        req.push_only ? ", push-only" : "");
    spdlog::info("container {} name={} pid={} uid={}: {}", id, req.info.name, conn.cred.pid,
                 conn.cred.uid, summary);
    return summary;
}

Result<Daemon::AttachPlan> Daemon::planAttach(AttachRequest& req, uint32_t max_line) {
    AttachPlan plan;
    AttachSettings& as = plan.settings;
    as.max_line = max_line;
    // The options the daemon handles may come with any of the drivers: once, or alike.
    std::map<std::string, std::string, std::less<>> common_given;
    for (auto& wanted : req.drivers) {
        std::string name = wanted.name.empty() ? settings_.default_driver : wanted.name;
        const DriverDescriptor* d = findDriver(name);
        if (d == nullptr) {
            std::string names;
            for (const auto& known : allDrivers())
                names += (names.empty() ? "" : ", ") + std::string(known.name);
            return invalid("unknown log driver \"" + name + "\" (available: " + names + ")");
        }
        for (const auto& earlier : as.drivers)
            if (earlier.name == name)
                return invalid("log driver \"" + name + "\" is given twice");
        auto options = validateOptions(*d, kCommonOptions, wanted.log_opts);
        if (!options)
            return options.error();
        for (const auto& o : kCommonOptions) {
            auto it = options->find(o.key);
            if (it == options->end())
                continue;
            auto [seen, fresh] = common_given.emplace(it->first, it->second);
            if (!fresh && seen->second != it->second)
                return invalid("log option \"" + it->first + "\" is given twice, as \"" +
                               seen->second + "\" and \"" + it->second + "\"");
            options->erase(it);
        }
        as.drivers.push_back({name, std::move(*options), false});
        plan.descriptors.push_back(d);
    }
    if (auto cache = planCache(req.info, as); !cache) {
        return cache.error();
    } else if (*cache) {
        plan.descriptors.push_back(findDriver(as.drivers.back().name));
    }

    auto common = [&](const char* key,
                      const std::optional<std::string>& field) -> Result<std::string> {
        auto it = common_given.find(key);
        std::optional<std::string> opt;
        if (it != common_given.end())
            opt = it->second;
        if (field && opt && *field != *opt)
            return invalid(std::string(key) + " is given both as a field (\"" + *field +
                           "\") and as a log option (\"" + *opt + "\")");
        return field ? *field : opt.value_or("");
    };
    auto mode = common("mode", req.mode);
    if (!mode)
        return mode.error();
    plan.mode_name = mode->empty() ? settings_.default_mode : *mode;
    if (plan.mode_name == "non-blocking")
        as.policy = OverflowPolicy::kDropOldest;
    else if (plan.mode_name == "blocking")
        as.policy = OverflowPolicy::kBlock;
    else
        return invalid("mode \"" + plan.mode_name + "\" is not blocking or non-blocking");
    auto mbs = common("max-buffer-size", req.max_buffer_size);
    if (!mbs)
        return mbs.error();
    as.max_buffer_size = settings_.default_max_buffer_size;
    if (!mbs->empty()) {
        auto v = parseSize(*mbs);
        if (!v || *v <= 0)
            return invalid("max-buffer-size \"" + *mbs + "\" is not a size such as 1m");
        as.max_buffer_size = static_cast<uint64_t>(*v);
    }
    auto rate = common("max-write-rate", std::nullopt);
    if (!rate)
        return rate.error();
    if (!rate->empty())
        as.max_write_rate = static_cast<uint64_t>(*parseSize(*rate));
    auto readers = common("reader-groups", std::nullopt);
    if (!readers)
        return readers.error();
    // None given: root and the attaching user only. (Being allowed to attach containers is not
    // being allowed to read everyone's: their env attrs may hold secrets, docs/dbus.md.)
    if (readers->empty()) {
    } else if (auto gids = idList("reader-groups", *readers, IdKind::kGroup); !gids) {
        return gids.error();
    } else {
        as.reader_gids = std::move(*gids);
    }
    // Who else may push records, and how fast (docs/protocol.md, "Push").
    auto ids = [&](const char* key, IdKind kind) -> Result<std::vector<uint32_t>> {
        auto list = common(key, std::nullopt);
        if (!list)
            return list.error();
        return idList(key, *list, kind);
    };
    auto uids = ids("push-users", IdKind::kUser);
    if (!uids)
        return uids.error();
    as.push_uids = std::move(*uids);
    auto gids = ids("push-groups", IdKind::kGroup);
    if (!gids)
        return gids.error();
    as.push_gids = std::move(*gids);
    auto push_rate = common("push-rate", std::nullopt);
    if (!push_rate)
        return push_rate.error();
    as.push_rate =
        push_rate->empty() ? kDefaultPushRate : static_cast<uint64_t>(*parseSize(*push_rate));
    plan.push_only = req.push_only;
    return plan;
}

Result<bool> Daemon::planCache(const ContainerInfo& info, AttachSettings& as) {
    for (size_t i = 0; i < as.drivers.size(); ++i) {
        const DriverDescriptor* d = findDriver(as.drivers[i].name);
        if (d != nullptr && d->open_reader != nullptr) {
            as.reader = i;
            return false;
        }
    }
    // No driver can be read back: docker's dual logging keeps a local copy, as the first
    // driver that offers the cache options says (syslog does; none does not).
    const OptionMap* asked = nullptr;
    for (const auto& choice : as.drivers)
        if (choice.options.count("cache-disabled") != 0) {
            asked = &choice.options;
            break;
        }
    if (asked == nullptr || parseBool(asked->at("cache-disabled")).value_or(false))
        return false;
    const DriverDescriptor* json_file = findDriver("json-file");
    auto max_size = parseSize(asked->at("cache-max-size"));
    KeyValues cache_opts{
        {"path",
         (std::filesystem::path(settings_.log_root) / info.id / "container-cached.log").string()},
        {"max-size", max_size && *max_size > 0 ? std::to_string(*max_size) : "-1"},
        {"max-file", asked->at("cache-max-file")},
        {"compress", asked->at("cache-compress")},
    };
    auto options = validateOptions(*json_file, {}, cache_opts);
    if (!options)
        return invalid("the local cache: " + options.error().message);
    as.drivers.push_back({std::string(json_file->name), std::move(*options), true});
    as.reader = as.drivers.size() - 1;
    return true;
}

Result<std::vector<std::unique_ptr<LogDriver>>> Daemon::createDrivers(
    const ContainerInfo& info, const AttachPlan& plan, const std::vector<std::string>* states) {
    std::vector<std::unique_ptr<LogDriver>> drivers;
    for (size_t i = 0; i < plan.descriptors.size(); ++i) {
        const DriverChoice& choice = plan.settings.drivers[i];
        // The cache lives in the daemon's own log root, whatever roots engines may name.
        DriverEnvironment env = driver_env_;
        if (choice.cache) {
            env.allowed_roots = {settings_.log_root};
            // json-file makes the directory of an explicit path only when asked to: the cache's
            // is the container's directory in the daemon's own root, made here (a symlink planted
            // there is refused when json-file opens the file beneath the root).
            std::string dir = settings_.log_root + "/" + info.id;
            if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
                return Error{RINGLOG_STATUS_DRIVER_ERROR,
                             "the local cache: creating " + dir + ": " + errnoText(errno)};
        }
        auto driver = plan.descriptors[i]->create(info, choice.options, env);
        if (!driver) {
            if (plan.settings.drivers.size() == 1)
                return driver.error();
            return Error{driver.error().status,
                         (choice.cache ? std::string("the local cache") : choice.name) + ": " +
                             driver.error().message};
        }
        if (states != nullptr && i < states->size())
            (*driver)->resume((*states)[i]);
        drivers.push_back(std::move(*driver));
    }
    return drivers;
}

Daemon::Attached& Daemon::install(const CarriedContainer& carried, const ContainerInfo& info,
                                  const AttachPlan& plan, std::unique_ptr<RingLog> ring,
                                  std::vector<std::unique_ptr<LogDriver>> drivers,
                                  std::vector<UniqueFd> fds, LogFilesPlan* log_files) {
    const std::string& id = info.id;
    uint64_t first_sequence = 1;
    std::shared_ptr<Container> predecessor;
    if (auto it = attached_.find(id); it != attached_.end()) {
        // Restarted while its previous run's last lines are being persisted: it waits for them.
        predecessor = it->second->container;
        if (it->second->files) {  // a container of log files only: detached by the restart
            finishLogFiles(*it->second);
            serviceFiles(*it->second);
        }
        first_sequence = predecessor->nextSequence();
        draining_.push_back(std::move(it->second));
        attached_.erase(it);
    } else if (auto ex = exited_.find(id); ex != exited_.end()) {
        // A restarted container continues its log. The entry stays (and is overwritten at the
        // next exit), so exited_order_ holds each id once.
        first_sequence = ex->second.next_sequence;
    }
    int ring_fd = ring->memfd();
    auto container = std::make_shared<Container>(info, plan.settings, std::move(ring),
                                                 std::move(drivers), first_sequence);
    if (predecessor)
        container->follow(predecessor);
    container->holdOpenForPushes(plan.push_only && !shutting_down_);
    if (plan.settings.reader < plan.descriptors.size())
        container->liveFeed()->retainUnfollowed(
            plan.descriptors[plan.settings.reader]->live_backlog);
    auto a = std::make_unique<Attached>();
    a->container = container;
    a->serial = carried.serial;
    a->attached_at_us = carried.attached_at_us;
    a->owner_uid = carried.owner_uid;
    fd_store_.keep(carried.serial, "ring", ring_fd);
    const char* names[] = {"stdout", "stderr"};
    Stream streams[] = {Stream::kStdout, Stream::kStderr};
    for (size_t i = 0; i < fds.size(); ++i) {
        if (!fds[i])
            continue;
        fd_store_.keep(carried.serial, names[i], fds[i].get());
        container->addInput(streams[i], std::move(fds[i]));
        auto& in = *container->inputs().back();
        if (in.peek && !peeker_->fitPipe(in.capacity))
            spdlog::warn(
                "container {}: its {} pipe ({}) is larger than ringlogd may make its own; "
                "lines longer than what one read sees may be cut early",
                info.shortId(), names[i], describeSize(static_cast<int64_t>(in.capacity)));
    }
    for (auto& in : container->inputs())
        a->watches.push_back(
            std::make_unique<Watch>(Watch{Watch::kInput, nullptr, a.get(), in.get()}));
    watchInputs(*a);
    Attached& ref = *a;
    attached_.emplace(id, std::move(a));
    if (log_files != nullptr)
        startLogFiles(ref, std::move(*log_files));
    sd_notifyf(0, "STATUS=%zu containers attached%s", attached_.size(), statusWarning().c_str());
    if (bus_)
        bus_->containerAttached(id);
    // A container whose inputs were all closed before: persist its ring, then finish.
    afterInput(ref);
    return ref;
}

// The log files of a container taken back from the fd store: its registry (the names its ring's
// records refer to, and where each file is read up to) and its directories, opened again beneath
// today's roots. nullopt: nothing to follow or name.
std::optional<LogFilesPlan> Daemon::adoptLogFiles(const AttachRequest& req, const AttachPlan& plan,
                                                  UniqueFd stored, uint64_t serial,
                                                  uint64_t ring_last_sequence) {
    const std::string id = req.info.shortId();
    if (!stored) {
        if (!req.log_dirs.empty())
            spdlog::warn(
                "container {}: its {} log directories are not followed again: the earlier "
                "instance left no registry of its files in the fd store; attach it again",
                id, req.log_dirs.size());
        return std::nullopt;
    }
    auto registry = FileRegistry::adopt(std::move(stored));
    if (!registry) {
        spdlog::error("container {}: {}: its log files are not followed again", id,
                      registry.error().message);
        fd_store_.remove(serial, "files");
        return std::nullopt;
    }
    LogFilesPlan files;
    if (!req.log_dirs.empty()) {
        auto planned = planLogFiles(req, plan);
        if (planned)
            files = std::move(*planned);
        else
            spdlog::error("container {}: its log files are not followed again: {}", id,
                          planned.error().message);
    }
    files.registry = std::move(*registry);
    files.ring_last_sequence = ring_last_sequence;
    return files;
}

void Daemon::adoptStored(PassedFds::Stored stored, uint64_t serial) {
    auto forget = [&](const std::string& why) {
        spdlog::error("stored container {}: {}; its stored fds are dropped", serial, why);
        fd_store_.removeContainer(serial);
    };
    if (!stored.ring)
        return forget("no ring was stored with it");
    auto ring = RingLog::adopt(std::move(stored.ring), OverflowPolicy::kBlock);
    if (!ring)
        return forget(ring.error().message);
    // Before the journal is emptied: what it holds is what this ring's interrupted discard moved.
    (*ring)->settleDiscard(journal_inherited_ ? std::optional(peeker_->journalBytes())
                                              : std::nullopt);
    auto carried = decodeCarried((*ring)->metadata());
    if (!carried)
        return forget(carried.error().message);
    auto req = decodeAttachRequest(carried->request);
    if (!req)
        return forget("its attach request: " + req.error().message);
    uint64_t buffered = (*ring)->stats().bytes_buffered;
    uint64_t ring_last_sequence = (*ring)->producerState().last_sequence;
    // As decided at attach time, whatever the configuration says now.
    for (size_t i = 0; i < req->drivers.size() && i < carried->drivers.size(); ++i)
        req->drivers[i].name = carried->drivers[i];
    req->mode = carried->mode;
    auto plan = planAttach(*req, carried->max_line);
    if (!plan)
        return forget(plan.error().message + " (" + std::to_string(buffered) +
                      " ring bytes not persisted)");
    (*ring)->setOverflowPolicy(plan->settings.policy);
    (*ring)->shareBudget(&ring_budget_);
    auto drivers = createDrivers(req->info, *plan, &carried->driver_states);
    if (!drivers)
        return forget(drivers.error().message + " (" + std::to_string(buffered) +
                      " ring bytes not persisted)");
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(stored.stdout_fd));
    fds.push_back(std::move(stored.stderr_fd));
    next_serial_ = std::max(next_serial_, serial + 1);
    auto files = adoptLogFiles(*req, *plan, std::move(stored.files), serial, ring_last_sequence);
    Attached& a = install(*carried, req->info, *plan, std::move(*ring), std::move(*drivers),
                          std::move(fds), files ? &*files : nullptr);
    spdlog::info(
        "container {} name={}: taken back from the fd store ({} inputs, {} ring bytes to "
        "persist first)",
        req->info.id, req->info.name, a.container->inputs().size(), buffered);
}

}  // namespace ringlog
