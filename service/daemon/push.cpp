// Push requests: records for an attached container sent in the datagram itself, by whoever the
// container allows, over a connection that stays open for the next one (docs/protocol.md,
// "Push"). They enter the container's ring on this thread, between its piped records.
#include "service/daemon/daemon_internal.h"

#include <cmath>

namespace ringlog {

bool Daemon::peerMayPush(const Connection& conn, const Attached& a) const {
    uid_t uid = conn.cred.uid;
    if (uid == 0 || uid == a.owner_uid)
        return true;
    const AttachSettings& s = a.container->settings();
    if (std::find(s.push_uids.begin(), s.push_uids.end(), uid) != s.push_uids.end())
        return true;
    for (gid_t g : s.push_gids)
        if (conn.cred.gid == g ||
            std::find(conn.groups.begin(), conn.groups.end(), g) != conn.groups.end())
            return true;
    return false;
}

// A token bucket of push-rate bytes per second, holding at most a second's worth; a request
// passes while the bucket is not in debt (what it took is taken off after it), so one larger
// than the rest of the second still does and the average holds.
std::optional<uint64_t> Daemon::pushRateWait(Attached& a) {
    uint64_t rate = a.container->settings().push_rate;
    if (rate == 0)
        return std::nullopt;
    auto now = std::chrono::steady_clock::now();
    double per_second = static_cast<double>(rate);
    if (a.push_refilled == std::chrono::steady_clock::time_point{})
        a.push_tokens = per_second;
    else
        a.push_tokens =
            std::min(per_second,
                     a.push_tokens +
                         std::chrono::duration<double>(now - a.push_refilled).count() * per_second);
    a.push_refilled = now;
    if (a.push_tokens < 0)
        return static_cast<uint64_t>(std::ceil(-a.push_tokens / per_second * 1000));
    return std::nullopt;
}

Result<std::string> Daemon::push(const Connection& conn, std::string_view datagram, size_t fds) {
    PushRequest& req = push_request_;
    if (auto e = decodePushRequest(datagram, req))
        return *e;
    if (fds != 0)
        return Error{RINGLOG_STATUS_BAD_FDS,
                     "a push carries no file descriptors, got " + std::to_string(fds)};
    if (shutting_down_)
        return Error{RINGLOG_STATUS_SHUTTING_DOWN, "ringlogd is shutting down"};
    auto it = attached_.find(req.id);
    Attached* a = it == attached_.end() ? nullptr : it->second.get();
    if (a == nullptr || !a->container->takesPushes() || !peerMayPush(conn, *a)) {
        // One answer whether the id is unknown, exited or not this peer's to push to: who may
        // not push to a container learns nothing about it. Root may see every container anyway.
        if (conn.cred.uid == 0)
            return invalid("no container " + req.id +
                           " is attached (a push names an attached container by its full id)");
        return Error{RINGLOG_STATUS_PERMISSION_DENIED, "uid " + std::to_string(conn.cred.uid) +
                                                           " may not push to container " + req.id +
                                                           " (or it is not attached)"};
    }
    Container& c = *a->container;
    // Piped lines wait for room (blocking): a push does not overtake them.
    if (c.blocked())
        return Error{RINGLOG_STATUS_RETRY_LATER, "the ring is full; retry later"};
    if (auto wait = pushRateWait(*a))
        return Error{RINGLOG_STATUS_RETRY_LATER,
                     fmt::format("the push rate of container {} (push-rate {} bytes per second) is "
                                 "spent; retry in {} ms",
                                 c.info().shortId(), c.settings().push_rate, *wait)};
    uint64_t split =
        framePushedLines(req.lines, c.settings().max_line, push_scratch_, push_records_);
    if (!c.pushLines(req.stream, push_records_, split))
        return Error{RINGLOG_STATUS_RETRY_LATER, "the ring is full; retry later"};
    if (c.settings().push_rate != 0)
        a->push_tokens -= static_cast<double>(req.inputBytes());
    afterInput(*a);
    return "took " + std::to_string(req.lines.size()) + " lines";
}

}  // namespace ringlog
