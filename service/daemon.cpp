#include "daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "attach_request.h"
#include "units.h"

namespace ringlog {

namespace {

constexpr size_t kReadBufferBytes = 256 * 1024;  // per peek: a quarter of a raised pipe
constexpr int kReadsPerEvent = 4;                // then let other fds have their turn
constexpr size_t kMaxPendingConnections = 128;   // engines connected but not yet answered
constexpr std::chrono::seconds kConnectionTimeout{10};
constexpr size_t kMaxControlFds = 8;  // room to see that a client sent too many, then refuse
constexpr size_t kMaxRememberedExited = 16384;
constexpr size_t kMaxQueries = 64;  // Query streams open at once, followers included
constexpr size_t kMaxFollowersPerContainer = 16;

uint64_t realtimeUs() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000 + uint64_t(ts.tv_nsec) / 1000;
}

// The options every driver accepts because the daemon handles them (docker's generic log-opts).
constexpr std::array<OptionSpec, 4> kCommonOptions{{
    {"mode", OptionType::kString, "", "blocking or non-blocking"},
    {"max-buffer-size", OptionType::kSize, "", "the ring's size limit"},
    {"max-write-rate", OptionType::kSize, "", "persist at most this many bytes per second"},
    {"reader-groups", OptionType::kString, "",
     "comma-separated groups whose members may read the logs"},
}};

}  // namespace

// What an epoll event points at.
struct Daemon::Watch {
    enum Kind { kListen, kConnection, kInput, kWake, kSignal, kBus, kQuery } kind;
    Connection* connection = nullptr;
    Attached* attached = nullptr;
    Container::Input* input = nullptr;
    Query* query = nullptr;
};

struct Daemon::Query {
    explicit Query(QueryStream s) : stream(std::move(s)) {}
    QueryStream stream;
    Watch watch{Watch::kQuery};
    bool waiting_for_data = false;  // caught up with a live feed: not watched for EPOLLOUT
};

struct Daemon::Connection {
    UniqueFd fd;
    struct ucred cred {};
    std::vector<gid_t> groups;
    std::chrono::steady_clock::time_point deadline;
    Watch watch{Watch::kConnection};
};

struct Daemon::Attached {
    std::shared_ptr<Container> container;
    std::vector<std::unique_ptr<Watch>> watches;  // one per input
    size_t wakeups = 0;  // from a full ring: which input is read first after the next one
    uint64_t attached_at_us = 0;
    uid_t owner_uid = 0;
    uint64_t announced_lines = 0;  // lines_in + lines_written at the last PropertiesChanged
    uint64_t serial = 0;           // names its fds in systemd's fd store
};

Daemon::Daemon(Settings settings)
    : settings_(std::move(settings)), read_buffer_(kReadBufferBytes) {}

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
    if (struct group* g = ::getgrnam(settings_.allowed_group.c_str())) {
        allowed_gid_ = g->gr_gid;
    } else {
        spdlog::info("group {} does not exist: only root may attach containers",
                     settings_.allowed_group);
    }
    std::error_code ec;
    std::filesystem::create_directories(settings_.log_root, ec);
    if (ec)
        return invalid("creating log root " + settings_.log_root + ": " + ec.message());

    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    signals_.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!epoll_ || !wake_ || !signals_)
        return invalid("setting up the event loop: " + errnoText(errno));
    PassedFds passed = takePassedFds();
    if (auto e = bindSocket(std::move(passed.sockets)))
        return e;
    read_buffer_.resize(std::max<size_t>(kReadBufferBytes, settings_.max_line + 1));
    ring_budget_.limit = settings_.blocking_ring_budget;
    auto peeker = PipePeek::open(read_buffer_.size(), std::max<size_t>(settings_.pipe_size, 65536));
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
        return [this, kind](const std::shared_ptr<Container>& c) { postEvent({kind, c}); };
    };
    pool_ = std::make_unique<ConsumerPool>(
        settings_.consumer_threads,
        ConsumerPool::Callbacks{post(Event::kResume), post(Event::kPublished),
                                post(Event::kDrained)});
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
    for (const auto& name : passed.unknown) {
        spdlog::warn("systemd passed an fd named \"{}\", which is not ringlogd's; closed", name);
        fd_store_.removeName(name);
    }
    // Before READY=1: what an earlier instance left is persisted first, ahead of new attaches.
    for (auto& [serial, stored] : passed.containers)
        adoptStored(std::move(stored), serial);
    uint64_t watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
        watchdog_interval_ = std::chrono::microseconds(watchdog_usec / 2);
    sd_notifyf(0, "READY=1\nSTATUS=%zu containers attached", attached_.size());
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
            }
            // serviceInput and onConnection may free watches of later events in this batch only
            // through onWake (drained containers), which defers removal to its own event.
        }
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
    }
    if (force_exit_) {
        for (const auto& [id, a] : attached_) {
            auto s = a->container->ringStats();
            spdlog::error("container {}: exiting with {} bytes not persisted",
                          a->container->info().shortId(), s.bytes_buffered);
        }
        return 1;
    }
    pool_.reset();
    background_->drain();
    if (bound_socket_)
        ::unlink(settings_.socket.c_str());
    spdlog::info("stopped: every accepted line is persisted");
    return 0;
}

void Daemon::acceptConnections() {
    for (;;) {
        UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                spdlog::warn("accept: {}", errnoText(errno));
            return;
        }
        if (connections_.size() >= kMaxPendingConnections) {
            std::string reply =
                encodeReply(RINGLOG_STATUS_LIMIT, "too many engines connecting at once; try again");
            (void)::send(fd.get(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;
        }
        auto conn = std::make_unique<Connection>();
        socklen_t len = sizeof(conn->cred);
        ::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &conn->cred, &len);
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
        connections_.emplace(conn.get(), std::move(conn));
    }
}

void Daemon::closeConnection(Connection* conn) {
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
    std::vector<char> buf(RINGLOG_MAX_REQUEST_BYTES + 1);
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxControlFds)];
    struct iovec iov {
        buf.data(), buf.size()
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
    if (n <= 0) {  // the engine hung up without a request
        closeConnection(conn);
        return;
    }

    Result<std::string> outcome = Error{RINGLOG_STATUS_BAD_REQUEST, ""};
    if (!peerMayAttach(*conn)) {
        outcome = Error{RINGLOG_STATUS_PERMISSION_DENIED,
                        "permission denied: uid " + std::to_string(conn->cred.uid) +
                            " is neither root nor in group " + settings_.allowed_group};
    } else if (msg.msg_flags & MSG_TRUNC) {
        outcome =
            Error{RINGLOG_STATUS_BAD_REQUEST,
                  "request is larger than " + std::to_string(RINGLOG_MAX_REQUEST_BYTES) + " bytes"};
    } else if (msg.msg_flags & MSG_CTRUNC) {
        outcome = Error{RINGLOG_STATUS_BAD_FDS,
                        "control message truncated: send 1 or 2 file descriptors"};
    } else if (foreign_control) {
        outcome = Error{RINGLOG_STATUS_BAD_REQUEST,
                        "unexpected control message (only SCM_RIGHTS is accepted)"};
    } else {
        // Whatever a request contains, it costs at most its own refusal.
        try {
            outcome = attach(*conn, std::string_view(buf.data(), static_cast<size_t>(n)), fds);
        } catch (const std::exception& e) {
            outcome = Error{RINGLOG_STATUS_INTERNAL, std::string("internal error: ") + e.what()};
        }
    }

    std::string reply = outcome ? encodeReply(RINGLOG_STATUS_OK, *outcome)
                                : encodeReply(outcome.error().status, outcome.error().message);
    if (::send(conn->fd.get(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        spdlog::debug("reply to pid {}: {}", conn->cred.pid, errnoText(errno));
    if (!outcome) {
        // A misbehaving client must not flood our log: first refusals in full, then a count.
        if (auto suppressed = refusal_log_.allow()) {
            spdlog::warn("refused attach from pid {} uid {}: {}{}", conn->cred.pid, conn->cred.uid,
                         outcome.error().message,
                         *suppressed ? fmt::format(" ({} more refusals since)", *suppressed) : "");
        }
    }
    closeConnection(conn);
}

// True when nothing can write to the container any more (every input at EOF, or hung up with
// only buffered data left): a new attach with its id is a restart, not a duplicate.
bool Daemon::writersGone(Container& c) {
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
    if (fds.empty() || fds.size() > RINGLOG_MAX_FDS)
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
            return Error{RINGLOG_STATUS_BAD_FDS,
                         std::string("the ") + which + " fd is not a pipe, FIFO, pty or socket"};
        int fl = ::fcntl(fds[i].get(), F_GETFL);
        if ((fl & O_ACCMODE) == O_WRONLY)
            return Error{RINGLOG_STATUS_BAD_FDS,
                         std::string("the ") + which + " fd is write-only: pass the read end"};
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
    CarriedContainer carried;
    carried.serial = next_serial_++;
    carried.request = datagram;
    carried.owner_uid = conn.cred.uid;
    carried.owner_pid = conn.cred.pid;
    carried.attached_at_us = realtimeUs();
    carried.driver = std::string(plan->driver->name);
    carried.mode = plan->mode_name;
    carried.max_line = plan->settings.max_line;

    auto geometry = RingGeometry::forLimits(plan->settings.max_buffer_size, carried.max_line);
    if (!geometry)
        return geometry.error();
    auto log_driver = plan->driver->create(req.info, plan->settings.driver_options, driver_env_);
    if (!log_driver)
        return log_driver.error();
    carried.driver_state = (*log_driver)->resumeState();
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
    Attached& a =
        install(carried, req.info, *plan, std::move(*ring), std::move(*log_driver), std::move(fds));
    std::string summary = fmt::format(
        "attached {} (driver {}, {}, ring {})", req.info.shortId(), carried.driver, carried.mode,
        describeSize(static_cast<int64_t>(a.container->settings().max_buffer_size)));
    spdlog::info("container {} name={} pid={} uid={}: {}", id, req.info.name, conn.cred.pid,
                 conn.cred.uid, summary);
    return summary;
}

Result<Daemon::AttachPlan> Daemon::planAttach(AttachRequest& req, uint32_t max_line) {
    AttachPlan plan;
    std::string driver_name = req.driver.empty() ? settings_.default_driver : req.driver;
    plan.driver = findDriver(driver_name);
    if (plan.driver == nullptr) {
        std::string names;
        for (const auto& d : allDrivers())
            names += (names.empty() ? "" : ", ") + std::string(d.name);
        return invalid("unknown log driver \"" + driver_name + "\" (available: " + names + ")");
    }
    auto options = validateOptions(*plan.driver, kCommonOptions, req.log_opts);
    if (!options)
        return options.error();

    AttachSettings& as = plan.settings;
    as.driver = driver_name;
    as.max_line = max_line;
    auto common = [&](const char* key,
                      const std::optional<std::string>& field) -> Result<std::string> {
        auto it = options->find(key);
        std::optional<std::string> opt;
        if (it != options->end()) {
            opt = it->second;
            options->erase(it);
        }
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
    if (readers->empty()) {
        if (allowed_gid_)
            as.reader_gids.push_back(*allowed_gid_);
    } else {
        size_t start = 0;
        while (start <= readers->size()) {
            size_t end = std::min(readers->find(',', start), readers->size());
            std::string name = readers->substr(start, end - start);
            start = end + 1;
            if (name.empty())
                continue;
            struct group* g = ::getgrnam(name.c_str());
            if (g == nullptr)
                return invalid("log option \"reader-groups\": no group \"" + name + "\"");
            as.reader_gids.push_back(g->gr_gid);
        }
    }
    as.driver_options = *options;
    return plan;
}

Daemon::Attached& Daemon::install(const CarriedContainer& carried, const ContainerInfo& info,
                                  const AttachPlan& plan, std::unique_ptr<RingLog> ring,
                                  std::unique_ptr<LogDriver> driver, std::vector<UniqueFd> fds) {
    const std::string& id = info.id;
    uint64_t first_sequence = 1;
    std::shared_ptr<Container> predecessor;
    if (auto it = attached_.find(id); it != attached_.end()) {
        // Restarted while its previous run's last lines are being persisted: it waits for them.
        predecessor = it->second->container;
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
                                                 std::move(driver), first_sequence);
    if (predecessor)
        container->follow(predecessor);
    container->liveFeed()->retainUnfollowed(plan.driver->live_backlog);
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
    sd_notifyf(0, "STATUS=%zu containers attached", attached_.size());
    if (bus_)
        bus_->containerAttached(id);
    // A container whose inputs were all closed before: persist its ring, then finish.
    afterInput(ref);
    return ref;
}

void Daemon::adoptStored(PassedFds::Stored stored, uint64_t serial) {
    auto forget = [&](const std::string& why) {
        spdlog::error("stored container {}: {}; its stored fds are dropped", serial, why);
        for (const char* what : {"ring", "stdout", "stderr"})
            fd_store_.remove(serial, what);
    };
    if (!stored.ring)
        return forget("no ring was stored with it");
    auto ring = RingLog::adopt(std::move(stored.ring), OverflowPolicy::kBlock);
    if (!ring)
        return forget(ring.error().message);
    auto carried = decodeCarried((*ring)->metadata());
    if (!carried)
        return forget(carried.error().message);
    auto req = decodeAttachRequest(carried->request);
    if (!req)
        return forget("its attach request: " + req.error().message);
    uint64_t buffered = (*ring)->stats().bytes_buffered;
    // As decided at attach time, whatever the configuration says now.
    req->driver = carried->driver;
    req->mode = carried->mode;
    auto plan = planAttach(*req, carried->max_line);
    if (!plan)
        return forget(plan.error().message + " (" + std::to_string(buffered) +
                      " ring bytes not persisted)");
    (*ring)->setOverflowPolicy(plan->settings.policy);
    (*ring)->shareBudget(&ring_budget_);
    auto driver = plan->driver->create(req->info, plan->settings.driver_options, driver_env_);
    if (!driver)
        return forget(driver.error().message + " (" + std::to_string(buffered) +
                      " ring bytes not persisted)");
    (*driver)->resume(carried->driver_state);
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(stored.stdout_fd));
    fds.push_back(std::move(stored.stderr_fd));
    next_serial_ = std::max(next_serial_, serial + 1);
    Attached& a =
        install(*carried, req->info, *plan, std::move(*ring), std::move(*driver), std::move(fds));
    spdlog::info(
        "container {} name={}: taken back from the fd store ({} inputs, {} ring bytes to "
        "persist first)",
        req->info.id, req->info.name, a.container->inputs().size(), buffered);
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
    spdlog::info(
        "container {} exited: lines_in={} lines_written={} lines_dropped={} bytes_dropped={} "
        "lines_failed={} lines_split={}",
        c->info().shortId(), n.lines_in.load(), n.lines_written.load(), ring.dropped_lines,
        ring.dropped_bytes, n.lines_failed.load(), n.lines_split.load());
    Attached* done = findAttached(c);
    if (done != nullptr && !shutting_down_) {
        // Finished for good: nothing of it is needed by a later instance. (At shutdown the
        // container may be running still: its fds stay for the next instance.)
        for (const char* what : {"ring", "stdout", "stderr"})
            fd_store_.remove(done->serial, what);
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
    sd_notifyf(0, "STATUS=%zu containers attached", attached_.size());
    if (bus_)
        bus_->containerExited(c->info().id);
}

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

// ---- the D-Bus side ----

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

std::optional<ContainerView> Daemon::findContainer(std::string_view key) {
    if (auto it = attached_.find(key); it != attached_.end())
        return viewOf(*it->second);
    if (auto it = exited_.find(key); it != exited_.end())
        return it->second.view;
    // A unique id prefix, as docker accepts; then a name, the attached container first.
    std::optional<ContainerView> match;
    int matches = 0;
    for (const auto& c : listContainers()) {
        if (!key.empty() && c.info.id.compare(0, key.size(), key) == 0) {
            match = c;
            ++matches;
        }
    }
    if (matches == 1)
        return match;
    for (const auto& [id, a] : attached_)
        if (a->container->info().name == key)
            return viewOf(*a);
    for (const auto& [id, e] : exited_)
        if (e.view.info.name == key)
            return e.view;
    return std::nullopt;
}

Result<UniqueFd> Daemon::startQuery(const ContainerView& c, const QueryOptions& options) {
    auto refuse = [&](std::string message) -> Error {
        ++queries_refused_;
        if (query_limit_log_.allow())
            spdlog::warn("refused a query of {}: {} ({} refused since start)", c.info.shortId(),
                         message, queries_refused_);
        return Error{RINGLOG_STATUS_LIMIT, std::move(message)};
    };
    if (queries_.size() >= kMaxQueries)
        return refuse("too many queries running (" + std::to_string(kMaxQueries) + "); try again");
    const DriverDescriptor* d = findDriver(c.settings.driver);
    if (d == nullptr || d->open_reader == nullptr)
        return invalid("driver " + c.settings.driver + " keeps no logs to read back");
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
                          " followers already");
        position = feed->follow();
        if (d->live_backlog > 0) {
            // History to whatever the reader sees; the feed, from its backlog on, fills in
            // by sequence what the reader does not see yet.
            position.next_index = position.oldest_index;
        } else if (!history.until_ns || *history.until_ns > position.persisted_through) {
            history.until_ns = position.persisted_through;
        }
    }
    auto reader = d->open_reader(c.info, c.settings.driver_options, driver_env_, history);
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
        reopen = [info = c.info, opts = c.settings.driver_options, env = driver_env_,
                  d](const ReadFilter& f) { return d->open_reader(info, opts, env, f); };
    auto q = std::make_unique<Query>(
        QueryStream(std::move(*reader), options.format, options.filter, std::move(write_end),
                    std::move(feed), position.next_index, std::move(reopen), d->live_backlog > 0));
    q->watch.query = q.get();
    watch(q->stream.fd(), &q->watch, EPOLLOUT);
    queries_.emplace(q.get(), std::move(q));
    return read_end;
}

void Daemon::onQuery(Query* q) {
    switch (q->stream.pump()) {
        case QueryStream::Progress::kWaitWritable:
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
    if (!a.container->blocked() && !a.container->pushBacklog())
        a.container->setBlocked(true);
    afterInput(a);
    return std::nullopt;
}

}  // namespace ringlog
