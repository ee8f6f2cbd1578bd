// What the files of the Daemon class share, and nothing else includes: its limits, and the
// records behind its epoll events, connections, attached containers and queries. The class is
// one object split by concern: daemon.cpp (the event loop and the containers' inputs),
// attach.cpp (attaching, and taking containers back from the fd store), queries.cpp (the D-Bus
// side: views, queries and followers), lifecycle.cpp (signals, shutdown, systemd).
#pragma once

#include "service/daemon/daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
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

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "drivers/registry.h"
#include "service/base/units.h"
#include "service/ingest/attach_request.h"

namespace ringlog {

namespace daemon_detail {

inline constexpr size_t kReadBufferBytes = 256 * 1024;  // per peek: a quarter of a raised pipe
inline constexpr int kReadsPerEvent = 4;                // then let other fds have their turn
// Connections that sent no request yet (docs/security.md, "Limits"): in all, of which a share
// only root's (engines), and one other user's; beyond, a connection is refused at once (LIMIT).
inline constexpr size_t kMaxPendingConnections = 1024;
inline constexpr size_t kPendingReservedForRoot = 256;
inline constexpr size_t kMaxPendingPerUser = 64;
// The fds an attach may open at most before its container runs (its ring, a file or socket per
// driver, a log directory's watch and files): an attach goes ahead only with that many left.
inline constexpr int kFdsPerAttach = 8;
// Push connections kept open between pushes (docs/protocol.md, "Push"): not counted as pending;
// beyond this many, a pusher's connection is closed after each reply (it connects again).
inline constexpr size_t kMaxPushConnections = 1024;
inline constexpr std::chrono::seconds kConnectionTimeout{10};
inline constexpr size_t kMaxControlFds = 8;  // room to see that a client sent too many, then refuse
inline constexpr size_t kMaxRememberedExited = 16384;
inline constexpr uint64_t kDefaultPushRate = 64 << 20;  // push-rate: bytes per second
inline constexpr size_t kMaxQueries = 64;         // Query streams open at once, followers included
inline constexpr size_t kMaxQueriesPerUser = 32;  // of those, one non-root uid's
inline constexpr size_t kMaxFollowersPerContainer = 16;

// The gid of the group allowed to attach; none (only root may) if it does not exist.
inline std::optional<gid_t> lookUpAllowedGroup(const std::string& name) {
    if (struct group* g = ::getgrnam(name.c_str()))
        return g->gr_gid;
    spdlog::info("group {} does not exist: only root may attach containers", name);
    return std::nullopt;
}

inline uint64_t realtimeUs() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000 + uint64_t(ts.tv_nsec) / 1000;
}

// The options every driver accepts because the daemon handles them (docker's generic log-opts).
inline constexpr std::array<OptionSpec, 9> kCommonOptions{{
    {"mode", OptionType::kString, "", "blocking or non-blocking"},
    {"max-buffer-size", OptionType::kSize, "", "the ring's size limit"},
    {"max-write-rate", OptionType::kSize, "", "persist at most this many bytes per second"},
    {"reader-groups", OptionType::kString, "",
     "comma-separated groups whose members may read the logs"},
    {"push-users", OptionType::kString, "",
     "comma-separated users who may push records (besides root and the attaching user)"},
    {"push-groups", OptionType::kString, "",
     "comma-separated groups whose members may push records"},
    {"push-rate", OptionType::kSize, "",
     "bytes per second that may be pushed (default 64m; 0: no limit)"},
    {"log-dir-max-files", OptionType::kInteger, "", "log files followed at once (default 64)"},
    {"log-dir-max-rate", OptionType::kSize, "",
     "bytes per second read from the log files (default: unlimited)"},
}};

}  // namespace daemon_detail

using namespace daemon_detail;  // NOLINT: the daemon's own files only

// What an epoll event points at.
struct Daemon::Watch {
    enum Kind { kListen, kConnection, kInput, kWake, kSignal, kBus, kQuery, kFiles } kind;
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
    uid_t uid = 0;                  // who asked (queries-per-user)
};

struct Daemon::Connection {
    UniqueFd fd;
    struct ucred cred {};
    std::vector<gid_t> groups;
    std::chrono::steady_clock::time_point deadline;
    Watch watch{Watch::kConnection};
    bool pusher = false;  // kept open after a push: counted in push_connections_
};

struct Daemon::Attached {
    std::shared_ptr<Container> container;
    std::vector<std::unique_ptr<Watch>> watches;  // one per input
    size_t wakeups = 0;  // from a full ring: which input is read first after the next one
    uint64_t attached_at_us = 0;
    uid_t owner_uid = 0;
    uint64_t announced_lines = 0;  // lines_in + lines_written at the last PropertiesChanged
    uint64_t serial = 0;           // names its fds in systemd's fd store
    // At a stop: pipes read as far as the stop reads them, kept open until the container's
    // records are persisted so that what is left in them is counted, not guessed.
    std::vector<std::pair<Stream, UniqueFd>> held_pipes;
    std::unique_ptr<ContainerFiles> files;  // its log directories' files, while followed
    // push-rate's token bucket, in bytes (docs/protocol.md, "Push"); may go into debt.
    double push_tokens = 0;
    std::chrono::steady_clock::time_point push_refilled{};
};

}  // namespace ringlog
