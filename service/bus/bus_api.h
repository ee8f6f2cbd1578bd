// BusApi: ringlogd on the system bus as org.ringlog.Log1 (dbus/org.ringlog.Log1.xml,
// docs/dbus.md). It runs on the daemon's event loop: the loop watches fd() and calls process(),
// so handlers see the daemon's state without locks. Every handler catches its own errors; the
// caller gets a D-Bus error with a proper name, the daemon carries on.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "service/base/error.h"
#include "service/base/unique_fd.h"
#include "service/container/container.h"
#include "service/query/query.h"

namespace sdbus {
class IConnection;
class IObject;
class Variant;
}  // namespace sdbus

namespace ringlog {

// What the bus shows of a container, attached or exited.
struct ContainerView {
    ContainerInfo info;
    AttachSettings settings;
    bool attached = false;
    uint64_t attached_at_us = 0;
    uint64_t exited_at_us = 0;
    uid_t owner_uid = 0;  // the uid that attached it
    uint64_t lines_in = 0, bytes_in = 0, lines_dropped = 0, bytes_dropped = 0, lines_written = 0;
    uint64_t lines_split = 0;
    SinkHealth health;
    uint64_t write_failures = 0;
    uint64_t ring_bytes_used = 0;  // what the ring holds now, record headers included
};

// What a lookup by id or name found: one container, or, when an id prefix matched several, those
// (in id order); neither when nothing matched.
struct ContainerLookup {
    std::optional<ContainerView> found;
    std::vector<ContainerView> ambiguous;
};

// What the daemon is and offers (DescribeDaemon).
struct DaemonDescription {
    std::string version;
    uint32_t protocol_version = 0;
    std::vector<std::string> drivers;  // in the registry's order
    std::string default_driver;
    // Per driver its option keys; under "" the options every driver takes (the daemon's own).
    std::map<std::string, std::vector<std::string>> log_options;
};

// What the daemon offers the bus.
class BusBackend {
  public:
    virtual ~BusBackend() = default;
    virtual std::vector<ContainerView> listContainers() = 0;
    // Among the containers `visible` accepts only: by full id; then an id prefix (several
    // matches: ambiguous); then a name (the attached container with it, then an exited one).
    virtual ContainerLookup findContainer(
        std::string_view id_or_name, const std::function<bool(const ContainerView&)>& visible) = 0;
    virtual DaemonDescription describeDaemon() = 0;
    // Starts streaming for `caller`; returns the read end of the pipe.
    virtual Result<UniqueFd> startQuery(const ContainerView& container, const QueryOptions& options,
                                        uid_t caller) = 0;
    virtual std::optional<Error> detach(const std::string& id) = 0;
    // Asks the container's drivers to reopen their files; `done` is called later, on the loop.
    virtual void reopen(const std::string& id, std::function<void(std::optional<Error>)> done) = 0;
};

struct Caller {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
};

// Root, the uid that attached the container, and members of its reader groups may read it.
bool mayRead(const Caller& caller, const ContainerView& container);

// The object path of a container: systemd's bus_path_encode of its id.
std::string containerObjectPath(const std::string& id);

// Query's options (a{sv}, docs/dbus.md): the filter, the format and whether to follow. Throws an
// sdbus::Error (org.freedesktop.DBus.Error.InvalidArgs) naming the option that is wrong. Exposed
// for the fuzzer (tests/fuzz/query_options_fuzzer.cpp).
QueryOptions parseQueryOptions(const std::map<std::string, sdbus::Variant>& options);

class BusApi {
  public:
    // Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS or the default) and owns the name.
    static Result<std::unique_ptr<BusApi>> connect(BusBackend& backend);
    ~BusApi();

    int fd() const;
    uint32_t epollEvents() const;
    int timeoutMs() const;  // -1: none
    void process();         // handles everything pending

    void containerAttached(const std::string& id);
    void containerExited(const std::string& id);
    void containerForgotten(const std::string& id);
    void countersChanged(const std::string& id);
    void healthChanged(const std::string& id);  // State, LastError, LastErrorAt

  private:
    class Manager;
    class ContainerObject;
    BusApi(BusBackend& backend, std::unique_ptr<sdbus::IConnection> connection);

    BusBackend& backend_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<Manager> manager_;
    // /org/ringlog/Log1/container, there whether or not any container is: the manager's
    // introspection must not tell a user that containers exist (docs/security.md). Its
    // ObjectManager (GetManagedObjects) is root's, as the containers' properties are.
    std::unique_ptr<sdbus::IObject> containers_node_;
    std::map<std::string, std::unique_ptr<ContainerObject>> objects_;
    uint64_t request_number_ = 0;  // counts the requests served, for ContainerObject's view
};

}  // namespace ringlog
