#include "service/bus/bus_api.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <ringlog-dbus/adaptor.h>
#include <sdbus-c++/sdbus-c++.h>

#include "service/base/time_text.h"
#include "service/base/units.h"
#include "service/query/message_grep.h"

namespace ringlog {

namespace {

constexpr const char* kBusName = "org.ringlog.Log1";
constexpr const char* kManagerPath = "/org/ringlog/Log1";
constexpr const char* kContainerPrefix = "/org/ringlog/Log1/container";
constexpr const char* kNoSuchContainer = "org.ringlog.Log1.NoSuchContainer";
constexpr const char* kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr const char* kNotSupported = "org.freedesktop.DBus.Error.NotSupported";
constexpr const char* kFailed = "org.freedesktop.DBus.Error.Failed";
constexpr const char* kLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded";

// sdbus-c++ turns an sdbus::Error thrown by a handler into an error reply; anything else would
// unwind through sd-bus's C callbacks. Every handler runs through this.
template <typename F>
auto guarded(F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const sdbus::Error&) {
        throw;
    } catch (const std::exception& e) {
        throw sdbus::Error(kFailed, std::string("internal error: ") + e.what());
    }
}

Caller callerOf(const sdbus::IObject& object) {
    Caller c;
    const sdbus::Message* msg = object.getCurrentlyProcessedMessage();
    if (msg == nullptr)
        throw sdbus::Error(kAccessDenied, "cannot tell who is calling");
    try {
        c.uid = msg->getCredsUid();
        c.gid = msg->getCredsGid();
    } catch (const sdbus::Error&) {
        throw sdbus::Error(kAccessDenied, "the bus did not say who is calling");
    }
    try {
        c.groups = msg->getCredsSupplementaryGids();
    } catch (const sdbus::Error&) {
        // Not every bus passes supplementary groups: ask the user database instead.
        if (struct passwd* pw = getpwuid(c.uid)) {
            int n = 64;
            c.groups.resize(static_cast<size_t>(n));
            if (getgrouplist(pw->pw_name, c.gid, c.groups.data(), &n) < 0) {
                c.groups.resize(static_cast<size_t>(n));
                getgrouplist(pw->pw_name, c.gid, c.groups.data(), &n);
            }
            c.groups.resize(static_cast<size_t>(std::max(n, 0)));
        }
    }
    return c;
}

std::map<std::string, std::string> toMap(const KeyValues& kv) {
    std::map<std::string, std::string> m;
    for (const auto& [k, v] : kv)
        m[k] = v;
    return m;
}

const char* modeName(const AttachSettings& s) {
    return s.policy == OverflowPolicy::kDropOldest ? "non-blocking" : "blocking";
}

// The first driver's options as they are; a further driver's as "<driver>/<key>".
std::map<std::string, std::string> driverOptions(const AttachSettings& settings) {
    std::map<std::string, std::string> out;
    const auto& drivers = settings.drivers;
    for (size_t i = 0; i < drivers.size(); ++i) {
        if (drivers[i].cache)
            continue;
        for (const auto& [key, value] : drivers[i].options)
            out.emplace(i == 0 ? key : drivers[i].name + "/" + key, value);
    }
    return out;
}

// attached, degraded (attached, its sink failing: LastError says why), or exited.
const char* stateName(const ContainerView& c) {
    if (!c.attached)
        return "exited";
    return c.health.degraded ? "degraded" : "attached";
}

std::optional<int64_t> timeOption(const sdbus::Variant& v, const std::string& name) {
    // Nanoseconds since the epoch (t or x), or a time as users write it (the same parser as
    // ringlogctl's: RFC 3339, "1h30m", "yesterday", …; local times in ringlogd's time zone).
    if (v.containsValueOfType<uint64_t>())
        return static_cast<int64_t>(v.get<uint64_t>());
    if (v.containsValueOfType<int64_t>())
        return v.get<int64_t>();
    if (v.containsValueOfType<std::string>()) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        auto t =
            parseTimePoint(v.get<std::string>(), int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec);
        if (!t)
            throw sdbus::Error(kInvalidArgs, "option \"" + name + "\": " + t.error().message);
        return *t;
    }
    throw sdbus::Error(kInvalidArgs, "option \"" + name +
                                         "\" must be nanoseconds since the epoch (t or x) or a "
                                         "time as text (s)");
}

}  // namespace

QueryOptions parseQueryOptions(const std::map<std::string, sdbus::Variant>& options) {
    QueryOptions q;
    std::optional<std::string> grep;
    std::optional<bool> case_sensitive;
    for (const auto& [name, v] : options) {
        if (name == "since") {
            q.filter.since_ns = timeOption(v, name);
        } else if (name == "until") {
            q.filter.until_ns = timeOption(v, name);
        } else if (name == "tail") {
            if (v.containsValueOfType<uint64_t>())
                q.filter.tail = v.get<uint64_t>();
            else if (v.containsValueOfType<uint32_t>())
                q.filter.tail = v.get<uint32_t>();
            else if (v.containsValueOfType<int64_t>() && v.get<int64_t>() >= 0)
                q.filter.tail = static_cast<uint64_t>(v.get<int64_t>());
            else if (v.containsValueOfType<int32_t>() && v.get<int32_t>() >= 0)
                q.filter.tail = static_cast<uint64_t>(v.get<int32_t>());
            else
                throw sdbus::Error(kInvalidArgs, "option \"tail\" must be a non-negative integer");
        } else if (name == "streams") {
            if (!v.containsValueOfType<std::vector<std::string>>())
                throw sdbus::Error(
                    kInvalidArgs,
                    "option \"streams\" must be an array of \"stdout\", \"stderr\" (as)");
            q.filter.stdout_stream = q.filter.stderr_stream = false;
            for (const auto& s : v.get<std::vector<std::string>>()) {
                if (s == "stdout")
                    q.filter.stdout_stream = true;
                else if (s == "stderr")
                    q.filter.stderr_stream = true;
                else
                    throw sdbus::Error(kInvalidArgs,
                                       "option \"streams\": unknown stream \"" + s + "\"");
            }
        } else if (name == "format") {
            std::string f = v.containsValueOfType<std::string>() ? v.get<std::string>() : "";
            if (f == "raw")
                q.format = QueryFormat::kRaw;
            else if (f == "json")
                q.format = QueryFormat::kJson;
            else
                throw sdbus::Error(kInvalidArgs, "option \"format\" must be \"raw\" or \"json\"");
        } else if (name == "follow") {
            if (!v.containsValueOfType<bool>())
                throw sdbus::Error(kInvalidArgs, "option \"follow\" must be a boolean (b)");
            q.follow = v.get<bool>();
        } else if (name == "after_cursor") {
            if (!v.containsValueOfType<std::string>() || v.get<std::string>().empty())
                throw sdbus::Error(kInvalidArgs,
                                   "option \"after_cursor\" must be a cursor string (s)");
            q.filter.after_cursor = v.get<std::string>();
        } else if (name == "grep") {
            if (!v.containsValueOfType<std::string>())
                throw sdbus::Error(kInvalidArgs,
                                   "option \"grep\" must be a regular expression (s, PCRE2)");
            grep = v.get<std::string>();
        } else if (name == "case_sensitive") {
            if (!v.containsValueOfType<bool>())
                throw sdbus::Error(kInvalidArgs, "option \"case_sensitive\" must be a boolean (b)");
            case_sensitive = v.get<bool>();
        } else {
            throw sdbus::Error(kInvalidArgs,
                               "unknown option \"" + name +
                                   "\" (known: since, until, tail, streams, format, follow, "
                                   "after_cursor, grep, case_sensitive)");
        }
    }
    if (grep) {
        // Compiled once for the whole query: the readers and the live feed share it.
        auto matcher = compileGrep(*grep, case_sensitive);
        if (!matcher)
            throw sdbus::Error(kInvalidArgs, "option \"grep\": " + matcher.error().message);
        q.filter.grep = std::move(*matcher);
    }  // case_sensitive alone means nothing, as journalctl's --case-sensitive without --grep
    return q;
}

namespace {

// "aaaa" matches 2 containers: aaaa11112222 (web), aaaa33334444 (db); give more of the id or
// the name. Ids are shown as short ids, or longer where two short ids are the same.
std::string ambiguityMessage(std::string_view key, const std::vector<ContainerView>& matches) {
    size_t length = 12;
    for (size_t i = 0; i < matches.size(); ++i)
        for (size_t j = i + 1; j < matches.size(); ++j) {
            const std::string& a = matches[i].info.id;
            const std::string& b = matches[j].info.id;
            size_t common = static_cast<size_t>(
                std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
            length = std::max(length, common + 1);
        }
    std::string out =
        "\"" + std::string(key) + "\" matches " + std::to_string(matches.size()) + " containers: ";
    for (size_t i = 0; i < matches.size(); ++i) {
        out += (i == 0 ? "" : ", ") + matches[i].info.id.substr(0, length);
        if (!matches[i].info.name.empty())
            out += " (" + matches[i].info.name + ")";
    }
    return out + "; give more of the id or the name";
}

}  // namespace

bool mayRead(const Caller& caller, const ContainerView& c) {
    if (caller.uid == 0 || caller.uid == c.owner_uid)
        return true;
    for (gid_t g : c.settings.reader_gids)
        if (caller.gid == g ||
            std::find(caller.groups.begin(), caller.groups.end(), g) != caller.groups.end())
            return true;
    return false;
}

std::string containerObjectPath(const std::string& id) {
    char* path = nullptr;
    if (sd_bus_path_encode(kContainerPrefix, id.c_str(), &path) < 0)
        return std::string(kContainerPrefix) + "/_";
    std::string out(path);
    free(path);
    return out;
}

class BusApi::Manager final : public sdbus::AdaptorInterfaces<org::ringlog::Log1::Manager_adaptor> {
  public:
    Manager(sdbus::IConnection& connection, BusBackend& backend)
        : AdaptorInterfaces(connection, kManagerPath), backend_(backend) {
        registerAdaptor();
    }
    ~Manager() { unregisterAdaptor(); }

    using Manager_adaptor::emitContainerAttached;
    using Manager_adaptor::emitContainerExited;

  private:
    // Ids, prefixes and names resolve among the containers the caller may read: a key tells
    // nobody about containers they could not list.
    ContainerView find(const std::string& id_or_name, const Caller& caller) {
        auto found = backend_.findContainer(
            id_or_name, [&](const ContainerView& c) { return mayRead(caller, c); });
        if (!found.ambiguous.empty())
            throw sdbus::Error(kNoSuchContainer, ambiguityMessage(id_or_name, found.ambiguous));
        if (!found.found)
            throw sdbus::Error(kNoSuchContainer, "no container \"" + id_or_name + "\"");
        return std::move(*found.found);
    }

    // A container the caller may not read is, to the caller, one that does not exist: the same
    // error, word for word (find() looks among the readable ones only).
    ContainerView readable(const std::string& id_or_name) {
        return find(id_or_name, callerOf(getObject()));
    }

    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                              std::string, sdbus::ObjectPath>>
    ListContainers() override {
        return guarded([&] { return list(); });
    }

    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                              std::string, sdbus::ObjectPath>>
    list() {
        Caller caller = callerOf(getObject());
        std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                                  std::string, sdbus::ObjectPath>>
            out;
        for (const auto& c : backend_.listContainers()) {
            if (!mayRead(caller, c))
                continue;
            out.emplace_back(c.info.id, c.info.name, c.info.image, c.settings.driverNames(),
                             modeName(c.settings), stateName(c),
                             sdbus::ObjectPath(containerObjectPath(c.info.id)));
        }
        return out;
    }

    sdbus::ObjectPath GetContainer(const std::string& id_or_name) override {
        return guarded(
            [&] { return sdbus::ObjectPath(containerObjectPath(readable(id_or_name).info.id)); });
    }

    std::map<std::string, sdbus::Variant> Inspect(const std::string& id_or_name) override {
        return guarded([&] { return inspect(readable(id_or_name)); });
    }

    static std::map<std::string, sdbus::Variant> inspect(const ContainerView& c) {
        std::map<std::string, sdbus::Variant> out;
        out["Id"] = c.info.id;
        out["Name"] = c.info.name;
        out["Image"] = c.info.image;
        out["Labels"] = toMap(c.info.labels);
        out["Driver"] = c.settings.driverNames();
        out["DriverOptions"] = driverOptions(c.settings);
        out["Mode"] = std::string(modeName(c.settings));
        out["State"] = std::string(stateName(c));
        out["LastError"] = c.health.last_error;
        out["LastErrorAt"] = c.health.last_error_at_us;
        out["AttachedAt"] = c.attached_at_us;
        out["ExitedAt"] = c.exited_at_us;
        out["LinesIn"] = c.lines_in;
        out["BytesIn"] = c.bytes_in;
        out["LinesDropped"] = c.lines_dropped;
        out["BytesDropped"] = c.bytes_dropped;
        out["LinesWritten"] = c.lines_written;
        out["LinesSplit"] = c.lines_split;
        out["WriteFailures"] = c.write_failures;
        out["RingBytesUsed"] = c.ring_bytes_used;
        out["RingBytesSize"] = c.settings.max_buffer_size;
        out["AttachedByUid"] = static_cast<uint32_t>(c.owner_uid);
        out["ObjectPath"] = sdbus::ObjectPath(containerObjectPath(c.info.id));
        return out;
    }

    std::map<std::string, sdbus::Variant> DescribeDaemon() override {
        return guarded([&] {
            DaemonDescription d = backend_.describeDaemon();
            std::map<std::string, sdbus::Variant> out;
            out["Version"] = d.version;
            out["ProtocolVersion"] = d.protocol_version;
            out["Drivers"] = d.drivers;
            out["DefaultDriver"] = d.default_driver;
            out["LogOptions"] = d.log_options;
            return out;
        });
    }

    sdbus::UnixFd Query(const std::string& id_or_name,
                        const std::map<std::string, sdbus::Variant>& options) override {
        return guarded([&] { return query(id_or_name, options); });
    }

    sdbus::UnixFd query(const std::string& id_or_name,
                        const std::map<std::string, sdbus::Variant>& options) {
        QueryOptions q = parseQueryOptions(options);
        Caller caller = callerOf(getObject());
        ContainerView c = find(id_or_name, caller);
        auto fd = backend_.startQuery(c, q, caller.uid);
        if (!fd) {
            const Error& e = fd.error();
            throw sdbus::Error(e.status == RINGLOG_STATUS_LIMIT              ? kLimitsExceeded
                               : e.status == RINGLOG_STATUS_INVALID_ARGUMENT ? kNotSupported
                                                                             : kFailed,
                               e.message);
        }
        return sdbus::UnixFd(fd->release(), sdbus::adopt_fd);
    }

    void Detach(const std::string& id) override {
        guarded([&] { detach(id); });
    }

    void detach(const std::string& id) {
        Caller caller = callerOf(getObject());
        if (caller.uid != 0)
            throw sdbus::Error(kAccessDenied, "only root may detach a container");
        ContainerView c = find(id, caller);
        if (auto e = backend_.detach(c.info.id))
            throw sdbus::Error(kFailed, e->message);
    }

    void Reopen(sdbus::Result<>&& result, std::string id) override {
        auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
        try {
            Caller caller = callerOf(getObject());
            if (caller.uid != 0)
                throw sdbus::Error(kAccessDenied, "only root may reopen a container's log file");
            ContainerView c = find(id, caller);
            backend_.reopen(c.info.id, [reply](std::optional<Error> e) {
                if (!e)
                    reply->returnResults();
                else
                    reply->returnError(sdbus::Error(
                        e->status == RINGLOG_STATUS_INVALID_ARGUMENT ? kNotSupported : kFailed,
                        e->message));
            });
        } catch (const sdbus::Error& e) {
            reply->returnError(e);
        } catch (const std::exception& e) {
            reply->returnError(sdbus::Error(kFailed, e.what()));
        }
    }

    BusBackend& backend_;
};

class BusApi::ContainerObject final
    : public sdbus::AdaptorInterfaces<org::ringlog::Log1::Container_adaptor> {
  public:
    ContainerObject(sdbus::IConnection& connection, BusBackend& backend, std::string id,
                    const uint64_t& request_number)
        : AdaptorInterfaces(connection, containerObjectPath(id)),
          backend_(backend),
          id_(std::move(id)),
          request_number_(request_number) {
        registerAdaptor();
    }
    ~ContainerObject() { unregisterAdaptor(); }
    void forgetView() { view_.reset(); }
    void changed() {
        view_.reset();
        getObject().emitPropertiesChangedSignal(INTERFACE_NAME, {"State", "ExitedAt"});
    }
    void countersChanged() {
        view_.reset();
        getObject().emitPropertiesChangedSignal(
            INTERFACE_NAME, {"LinesIn", "BytesIn", "LinesDropped", "BytesDropped", "LinesWritten",
                             "LinesSplit", "WriteFailures"});
    }
    void healthChanged() {
        view_.reset();
        getObject().emitPropertiesChangedSignal(INTERFACE_NAME,
                                                {"State", "LastError", "LastErrorAt"});
    }

  private:
    // No per-caller check here: sdbus-c++ 1.2 does not pass the caller to property getters, so
    // the bus policy keeps container properties to root (dbus/org.ringlog.Log1.conf).
    //
    // sdbus-c++ calls one getter per property: GetAll, GetManagedObjects and PropertiesChanged
    // ask for up to 19 at once. One view serves every getter of one request (or one signal),
    // so they read one consistent moment, and GetManagedObjects of 1,000 containers makes
    // 1,000 views instead of 38,000 (0.33 s → 0.12 s in a debug build; docs/cockpit.md).
    // The rule that keeps it fresh: getters run only inside BusApi::process(), which numbers
    // each request, or inside an emit below, which drops the view first; process() drops them
    // all when it is done.
    const ContainerView& view() {
        if (view_ && view_request_ == request_number_)
            return *view_;
        view_ = guarded([&] {
            auto c = backend_.findContainer(id_, [](const ContainerView&) { return true; });
            if (!c.found || c.found->info.id != id_)
                throw sdbus::Error(kNoSuchContainer, "container " + id_ + " is gone");
            return std::move(*c.found);
        });
        view_request_ = request_number_;
        return *view_;
    }
    std::string Id() override { return view().info.id; }
    std::string Name() override { return view().info.name; }
    std::string Image() override { return view().info.image; }
    std::map<std::string, std::string> Labels() override { return toMap(view().info.labels); }
    std::string Driver() override { return view().settings.driverNames(); }
    std::map<std::string, std::string> DriverOptions() override {
        return driverOptions(view().settings);
    }
    std::string Mode() override { return modeName(view().settings); }
    std::string State() override { return stateName(view()); }
    uint64_t AttachedAt() override { return view().attached_at_us; }
    uint64_t ExitedAt() override { return view().exited_at_us; }
    uint64_t LinesIn() override { return view().lines_in; }
    uint64_t BytesIn() override { return view().bytes_in; }
    uint64_t LinesDropped() override { return view().lines_dropped; }
    uint64_t BytesDropped() override { return view().bytes_dropped; }
    uint64_t LinesWritten() override { return view().lines_written; }
    uint64_t LinesSplit() override { return view().lines_split; }
    uint64_t WriteFailures() override { return view().write_failures; }
    std::string LastError() override { return view().health.last_error; }
    uint64_t LastErrorAt() override { return view().health.last_error_at_us; }

    BusBackend& backend_;
    std::string id_;
    const uint64_t& request_number_;  // BusApi's: which request is being served
    std::optional<ContainerView> view_;
    uint64_t view_request_ = 0;
};

Result<std::unique_ptr<BusApi>> BusApi::connect(BusBackend& backend) {
    std::unique_ptr<sdbus::IConnection> connection;
    try {
        connection = sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& e) {
        return Error{RINGLOG_STATUS_INTERNAL, "D-Bus: " + e.getMessage()};
    }
    // At a restart the previous instance may still own the name for a moment: the bus frees it
    // only once it has noticed that connection gone, which under load can come after this one
    // asks. Wait for that, a few seconds at most, rather than serve without the API.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (bool told = false;;) {
        try {
            connection->requestName(kBusName);
            break;
        } catch (const sdbus::Error& e) {
            if (e.getName() != "org.freedesktop.DBus.Error.FileExists" ||
                std::chrono::steady_clock::now() >= deadline)
                return Error{RINGLOG_STATUS_INTERNAL, "D-Bus: " + e.getMessage()};
            if (!told)
                spdlog::info(
                    "waiting for the bus name {}: another connection owns it (an "
                    "earlier ringlogd still exiting?)",
                    kBusName);
            told = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    return std::unique_ptr<BusApi>(new BusApi(backend, std::move(connection)));
}

BusApi::BusApi(BusBackend& backend, std::unique_ptr<sdbus::IConnection> connection)
    : backend_(backend),
      connection_(std::move(connection)),
      manager_(std::make_unique<Manager>(*connection_, backend)),
      containers_node_(sdbus::createObject(*connection_, kContainerPrefix)) {
    containers_node_->addObjectManager();
}

BusApi::~BusApi() {
    objects_.clear();
    containers_node_.reset();
    manager_.reset();
}

int BusApi::fd() const {
    return connection_->getEventLoopPollData().fd;
}

uint32_t BusApi::epollEvents() const {
    short events = connection_->getEventLoopPollData().events;
    uint32_t out = 0;
    if (events & POLLIN)
        out |= EPOLLIN;
    if (events & POLLOUT)
        out |= EPOLLOUT;
    return out;
}

int BusApi::timeoutMs() const {
    uint64_t deadline = connection_->getEventLoopPollData().timeout_usec;
    if (deadline == UINT64_MAX)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = uint64_t(ts.tv_sec) * 1'000'000 + uint64_t(ts.tv_nsec) / 1000;
    return deadline <= now
               ? 0
               : static_cast<int>(std::min<uint64_t>((deadline - now + 999) / 1000, 60'000));
}

void BusApi::process() {
    try {
        do
            ++request_number_;
        while (connection_->processPendingRequest());
    } catch (const std::exception& e) {
        spdlog::error("D-Bus: {}", e.what());
    }
    for (auto& [id, object] : objects_)
        object->forgetView();
}

void BusApi::containerAttached(const std::string& id) {
    try {
        auto& obj = objects_[id];
        if (!obj)
            obj = std::make_unique<ContainerObject>(*connection_, backend_, id, request_number_);
        else
            obj->changed();
        manager_->emitContainerAttached(id, sdbus::ObjectPath(containerObjectPath(id)));
    } catch (const std::exception& e) {
        spdlog::error("D-Bus: announcing container {}: {}", id, e.what());
    }
}

void BusApi::containerExited(const std::string& id) {
    try {
        if (auto it = objects_.find(id); it != objects_.end())
            it->second->changed();
        manager_->emitContainerExited(id, sdbus::ObjectPath(containerObjectPath(id)));
    } catch (const std::exception& e) {
        spdlog::error("D-Bus: announcing the exit of container {}: {}", id, e.what());
    }
}

void BusApi::containerForgotten(const std::string& id) {
    objects_.erase(id);
}

void BusApi::healthChanged(const std::string& id) {
    try {
        if (auto it = objects_.find(id); it != objects_.end())
            it->second->healthChanged();
    } catch (const std::exception& e) {
        spdlog::error("D-Bus: announcing the state of container {}: {}", id, e.what());
    }
}

void BusApi::countersChanged(const std::string& id) {
    try {
        if (auto it = objects_.find(id); it != objects_.end())
            it->second->countersChanged();
    } catch (const std::exception& e) {
        spdlog::error("D-Bus: announcing counters of container {}: {}", id, e.what());
    }
}

}  // namespace ringlog
