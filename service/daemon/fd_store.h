// FdStore: what ringlogd keeps in systemd's file descriptor store, so that a restart, an upgrade
// or a crash loses nothing (docs/reliability.md).
//
// Each attached container has a serial number and up to four stored fds, named
//   "<serial>.ring"    the ring's memfd: unpersisted records, producer state, and the container's
//                      metadata (CarriedContainer), so fds and metadata cannot disagree;
//   "<serial>.stdout"  the read ends of its pipes: while ringlogd is down, systemd's copy keeps
//   "<serial>.stderr"  them open, so writers never get EPIPE, and their data waits in the pipe;
//   "<serial>.files"   a container with log directories: its FileRegistry (where each file is
//                      read up to, and the names its ring's records refer to).
// and, once, "settings": a memfd with the settings in effect ("key = value" lines), for a next
// instance that cannot load the configuration (see lookAtPreviousInstance()), and
// "discard-journal.r", "discard-journal.w": the pipe that makes taking lines out of a container's
// pipe exactly once across a kill (PipePeek).
// They are stored with FDPOLL=0 (a pipe whose writers are gone may still hold unread lines) and
// removed with FDSTOREREMOVE=1 once the container is finished (inputs: once detached).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/base/error.h"
#include "service/base/unique_fd.h"

namespace ringlog {

// A container as the next ringlogd needs it: the engine's request, as sent, and what the daemon
// decided at attach time (so a changed configuration does not change an attached container).
struct CarriedContainer {
    uint64_t serial = 0;
    std::string request;  // the attach datagram
    uid_t owner_uid = 0;
    pid_t owner_pid = 0;
    uint64_t attached_at_us = 0;
    std::vector<std::string> drivers;  // the names, the default resolved (the cache not named)
    std::string mode;                  // "blocking" or "non-blocking"
    uint32_t max_line = 0;
    std::vector<std::string> driver_states;  // LogDriver::resumeState(), one per driver (cache too)
};
std::string encodeCarried(const CarriedContainer& c);
Result<CarriedContainer> decodeCarried(std::string_view text);

// What systemd passed at start (sd_listen_fds_with_names): the ingest socket, if socket-activated,
// and the stored fds by container serial.
struct PassedFds {
    struct Stored {
        UniqueFd ring, stdout_fd, stderr_fd, files;
    };
    std::vector<UniqueFd> sockets;
    std::map<uint64_t, Stored> containers;
    std::vector<std::string> unknown;  // names we did not make: closed, and removed from the store
    std::string settings;              // the "settings" memfd's text, if there was one
    UniqueFd journal_read, journal_write;  // the discard journal (PipePeek), if there was one
};
PassedFds takePassedFds();

// What an earlier instance left in the fd store, looked at before the configuration is loaded
// (the fds stay where they are for takePassedFds()): the settings it ran with, and how many
// containers it held. A restart that cannot load the configuration runs on those settings rather
// than fail and, after a few tries, make systemd drop the store with every container's pipes.
struct PreviousInstance {
    std::string settings;  // "key = value" lines; empty: none stored
    size_t containers = 0;
};
PreviousInstance lookAtPreviousInstance();

// What systemd means by the stop under way, asked over the system bus (1 s timeout per call):
// `store_outlives_us` when its job for our unit is a "restart" (`systemctl restart`, try- or
// reload-or-restart), or when the unit has FileDescriptorStorePreserve=yes (systemd 254 on). The
// fd store then outlives this process, the containers' pipes and rings with it; after a stop it
// does not otherwise (systemd 252 empties it). False when it cannot tell, and
// `why` says why. `timeout_stop_usec`: the unit's TimeoutStopSec, when known and finite.
struct SystemdStop {
    bool store_outlives_us = false;
    std::string why;
    std::optional<uint64_t> timeout_stop_usec;
};
SystemdStop askSystemdAboutThisStop();

class FdStore {
  public:
    // Disabled outside systemd (no NOTIFY_SOCKET): every call is then a no-op.
    explicit FdStore(bool enabled) : enabled_(enabled) {}
    bool enabled() const { return enabled_; }
    void keep(uint64_t serial, std::string_view what, int fd);
    void remove(uint64_t serial, std::string_view what);
    // Every fd stored for the container: ring, pipes and file registry.
    void removeContainer(uint64_t serial);
    void removeName(const std::string& name);
    // Replaces the stored "settings" memfd with one holding `text`.
    void keepSettings(const std::string& text);
    void keepDiscardJournal(int read_fd, int write_fd);

  private:
    void keepNamed(const std::string& name, int fd);  // FDPOLL=0: see above

    bool enabled_;
};

}  // namespace ringlog
