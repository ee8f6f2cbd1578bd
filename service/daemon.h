// Daemon: ringlogd's event loop. One thread watches, with one epoll set, the ingest socket, the
// engines' connections, every container's input fds, signals, and wake-ups from the consumer
// pool; it reads and frames input into the containers' rings (the producer side). The consumer
// pool persists the rings through the drivers. Threads: this one, the consumer pool, and one
// background thread, however many containers there are.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "consumer_pool.h"
#include "container.h"
#include "log_limiter.h"
#include "task_queue.h"
#include "unique_fd.h"

namespace ringlog {

class Daemon {
  public:
    explicit Daemon(Settings settings);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Takes the ingest socket from systemd (socket activation) or binds settings.socket, and
    // prepares the event loop. Signals SIGTERM/SIGINT must be blocked by the caller's thread.
    std::optional<Error> start();
    // Runs until SIGTERM/SIGINT and everything accepted is persisted. Returns the exit code.
    int run();

  private:
    struct Watch;
    struct Connection;
    struct Attached;
    struct Exited {
        ContainerInfo info;
        uint64_t next_sequence = 1;
    };
    struct Event {
        enum Kind { kResume, kDrained } kind;
        std::shared_ptr<Container> container;
    };

    std::optional<Error> bindSocket();
    void watch(int fd, Watch* w, uint32_t events);
    void unwatch(int fd);
    void acceptConnections();
    void onConnection(Connection* conn);
    Result<std::string> attach(Connection& conn, std::string_view datagram,
                               std::vector<UniqueFd>& fds);
    bool peerMayAttach(const Connection& conn) const;
    static bool writersGone(Container& c);
    Attached* findAttached(const std::shared_ptr<Container>& c);
    void closeConnection(Connection* conn);
    void serviceInput(Attached& a, Container::Input& input);
    void afterInput(Attached& a);
    void armInputs(Attached& a, bool on);
    void onWake();
    void onDrained(const std::shared_ptr<Container>& c);
    void onSignal();
    void beginShutdown();
    void postEvent(Event e);

    Settings settings_;
    DriverEnvironment driver_env_;
    std::optional<gid_t> allowed_gid_;
    UniqueFd epoll_;
    UniqueFd listen_;
    bool bound_socket_ = false;  // we created the socket file (not socket-activated)
    UniqueFd wake_;              // eventfd: consumer threads → this loop
    UniqueFd signals_;           // signalfd
    std::unique_ptr<Watch> listen_watch_, wake_watch_, signal_watch_;
    std::map<Connection*, std::unique_ptr<Connection>> connections_;
    std::map<std::string, std::unique_ptr<Attached>, std::less<>> attached_;
    std::map<std::string, Exited, std::less<>> exited_;
    std::deque<std::string> exited_order_;             // oldest first, to bound exited_
    std::vector<std::unique_ptr<Attached>> draining_;  // replaced by a restart, still persisting
    std::unique_ptr<TaskQueue> background_;
    std::unique_ptr<ConsumerPool> pool_;
    std::mutex events_mutex_;
    std::vector<Event> events_;
    std::vector<char> read_buffer_;
    bool shutting_down_ = false;
    bool force_exit_ = false;
    LogLimiter refusal_log_;
};

}  // namespace ringlog
