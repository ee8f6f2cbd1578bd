// Daemon: ringlogd's event loop. One thread watches, with one epoll set, the ingest socket, the
// engines' connections, every container's input fds, signals, and wake-ups from the consumer
// pool; it reads and frames input into the containers' rings (the producer side). The consumer
// pool persists the rings through the drivers. Threads: this one, the consumer pool, and one
// background thread, however many containers there are.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "service/base/log_limiter.h"
#include "service/base/unique_fd.h"
#include "service/bus/bus_api.h"
#include "service/container/consumer_pool.h"
#include "service/container/container.h"
#include "service/container/task_queue.h"
#include "service/daemon/config.h"
#include "service/daemon/fd_store.h"
#include "service/daemon/log_files.h"
#include "service/ingest/attach_request.h"
#include "service/ingest/push_request.h"

namespace ringlog {

class Daemon final : private BusBackend {
  public:
    // `reload_from`: what a reload (SIGHUP) reads again; without it a reload keeps the settings.
    explicit Daemon(Settings settings, std::optional<CommandLine> reload_from = std::nullopt);
    ~Daemon() override;
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Takes the ingest socket from systemd (socket activation) or binds settings.socket, and
    // prepares the event loop. Signals SIGTERM, SIGINT and SIGHUP must be blocked by the
    // caller's thread (SIGHUP: reload the configuration, see reload()).
    std::optional<Error> start();
    // The configuration did not load at this start and the settings are the previous instance's:
    // said in STATUS= until a reload succeeds.
    void runningOnPreviousSettings(std::string error) { config_error_ = std::move(error); }
    // Runs until SIGTERM/SIGINT and everything accepted is persisted. Returns the exit code.
    int run();

  private:
    struct Watch;
    struct Connection;
    struct Attached;
    struct Query;
    struct Exited {
        ContainerView view;  // as it was when it exited
        uint64_t next_sequence = 1;
    };
    struct Event {
        enum Kind { kResume, kDrained, kPublished, kHealth, kRun } kind;
        std::shared_ptr<Container> container;
        std::function<void()> run;  // kRun: work for this loop (an answer to the bus)
    };

    // What an attach request asks for, checked against the drivers and settings: everything but
    // the ring, the driver and the fds.
    struct AttachPlan {
        std::vector<const DriverDescriptor*> descriptors;  // one per settings.drivers entry
        std::string mode_name;
        AttachSettings settings;
        bool push_only = false;  // no pipes: the container takes pushes until it is detached
    };
    Result<AttachPlan> planAttach(AttachRequest& req, uint32_t max_line);
    // Adds the local cache (docker's dual logging) when no chosen driver can be read back;
    // true when it did. Sets settings.reader.
    Result<bool> planCache(const ContainerInfo& info, AttachSettings& settings);
    // Creates the plan's drivers, in its order; `states` (after a restart) is what each
    // driver's predecessor left to resume from.
    Result<std::vector<std::unique_ptr<LogDriver>>> createDrivers(
        const ContainerInfo& info, const AttachPlan& plan,
        const std::vector<std::string>* states = nullptr);
    // Registers a container whose ring and drivers exist, and starts reading its inputs.
    Attached& install(const CarriedContainer& carried, const ContainerInfo& info,
                      const AttachPlan& plan, std::unique_ptr<RingLog> ring,
                      std::vector<std::unique_ptr<LogDriver>> drivers, std::vector<UniqueFd> fds,
                      LogFilesPlan* log_files = nullptr);
    // Log files (log_files.cpp, docs/log-files.md): the attach's directories checked and opened;
    // the follower started for an installed container; its files read, and released once it is
    // detached.
    Result<LogFilesPlan> planLogFiles(const AttachRequest& req, const AttachPlan& plan);
    std::optional<LogFilesPlan> adoptLogFiles(const AttachRequest& req, const AttachPlan& plan,
                                              UniqueFd stored, uint64_t serial,
                                              uint64_t ring_last_sequence);
    void startLogFiles(Attached& a, LogFilesPlan plan);
    void finishLogFiles(Attached& a);
    void serviceFiles(Attached& a);
    void serviceFilesPending();
    int filesTimeout(int timeout) const;
    // Takes over the containers an earlier ringlogd left in systemd's fd store.
    void adoptStored(PassedFds::Stored stored, uint64_t serial);
    std::optional<Error> bindSocket(std::vector<UniqueFd> passed_sockets);
    void watch(int fd, Watch* w, uint32_t events);
    void unwatch(int fd);
    void acceptConnections();
    void onConnection(Connection* conn);
    Result<std::string> attach(Connection& conn, std::string_view datagram,
                               std::vector<UniqueFd>& fds);
    bool peerMayAttach(const Connection& conn) const;
    // Push requests (push.cpp, docs/protocol.md "Push"): records sent in the datagram.
    Result<std::string> push(const Connection& conn, std::string_view datagram, size_t fds);
    bool peerMayPush(const Connection& conn, const Attached& a) const;
    // push-rate: nullopt when a push may go now; else in how many ms to try again.
    std::optional<uint64_t> pushRateWait(Attached& a);
    static bool writersGone(Container& c);
    Attached* findAttached(const std::shared_ptr<Container>& c);
    void closeConnection(Connection* conn);
    std::string pendingLimit(uid_t uid) const;
    int outOfFds(int needed);
    std::string outOfFdsMessage(int error) const;
    void refuseConnection(int fd, const ucred& cred, const std::string& why);
    bool refuseForWantOfFds(int error);
    void pauseAccepting();
    void resumeAccepting();
    std::optional<Error> ringSizeLimit(uint64_t ring) const;
    void stopCountingAsPending(const Connection& conn);
    void serviceInput(Attached& a, Container::Input& input);
    void setWatchMode(Attached& a, Container::Input& input, Container::Input::WatchMode mode);
    void afterInput(Attached& a);
    void watchInputs(Attached& a);
    void parkInputs(Attached& a);
    void onWake();
    void onDrained(const std::shared_ptr<Container>& c);
    void onSignal();
    // SIGHUP: reads the configuration again (files, then the same flags). What can change at run
    // time takes effect (for new containers: attached ones keep what was decided at attach);
    // what cannot is named in the log. A configuration that does not load is refused whole.
    void reload();
    std::optional<Error> applySettings(const Settings& next);
    void beginShutdown();
    // Takes what a stopping container leaves behind (records in its ring, its pipes) for the
    // report: at its drain, or at the stop's deadline.
    void leaveAtStop(Attached& a, bool drained);
    // Counts and logs what every container left, once their pipes are still (see finishStop).
    void reportLeftovers();
    // The stop's deadline passed: stops persisting, reports every container. Returns the exit
    // code.
    int abandonStop();
    int finishStop();
    void postEvent(Event e);
    void updateBusWatch();
    void onQuery(Query* q);
    void feedFollowers(const LiveFeed* feed);
    void announceCounters();
    void tellSystemd();
    std::string statusWarning() const;  // for STATUS=: empty, or what the operator must fix
    ContainerView viewOf(const Attached& a) const;

    // BusBackend
    std::vector<ContainerView> listContainers() override;
    ContainerLookup findContainer(
        std::string_view id_or_name,
        const std::function<bool(const ContainerView&)>& visible) override;
    DaemonDescription describeDaemon() override;
    Result<UniqueFd> startQuery(const ContainerView& container, const QueryOptions& options,
                                uid_t caller) override;
    std::optional<Error> detach(const std::string& id) override;
    void reopen(const std::string& id, std::function<void(std::optional<Error>)> done) override;

    Settings settings_;  // in effect: a reload changes only what can change at run time
    std::optional<CommandLine> reload_from_;
    std::string config_error_;  // see runningOnPreviousSettings()
    RingBudget ring_budget_;    // declared before the containers: their rings give cells back
    DriverEnvironment driver_env_;
    std::optional<gid_t> allowed_gid_;
    UniqueFd epoll_;
    UniqueFd listen_;
    bool bound_socket_ = false;  // we created the socket file (not socket-activated)
    UniqueFd wake_;              // eventfd: consumer threads → this loop
    // /dev/null, held so that with every other fd taken ringlogd can still accept a connection
    // and tell it why it is refused (see outOfFds).
    UniqueFd spare_fd_;
    bool accept_paused_ = false;  // no fd left even for the spare: the listening socket unwatched
    UniqueFd signals_;            // signalfd
    std::unique_ptr<Watch> listen_watch_, wake_watch_, signal_watch_;
    std::map<Connection*, std::unique_ptr<Connection>> connections_;
    size_t push_connections_ = 0;             // of connections_, those kept open between pushes
    std::map<uid_t, size_t> pending_by_uid_;  // the others (no request answered yet), by user
    std::map<std::string, std::unique_ptr<Attached>, std::less<>> attached_;
    std::map<std::string, Exited, std::less<>> exited_;
    std::deque<std::string> exited_order_;             // oldest first, to bound exited_
    std::vector<std::unique_ptr<Attached>> draining_;  // replaced by a restart, still persisting
    std::unique_ptr<TaskQueue> background_;
    std::unique_ptr<ConsumerPool> pool_;
    std::mutex events_mutex_;
    std::vector<Event> events_;
    std::vector<char> read_buffer_;
    std::vector<char> request_buffer_;  // one datagram from a connection, and a byte to see more
    PushRequest push_request_;          // the push being handled, and what its lines make
    std::string push_scratch_;
    std::vector<PushedRecord> push_records_;
    std::optional<PipePeek> peeker_;
    bool journal_inherited_ = false;  // the discard journal came from the fd store (see PipePeek)
    FdStore fd_store_{false};
    uint64_t next_serial_ = 1;
    bool shutting_down_ = false;
    bool force_exit_ = false;
    // What the stop under way means for what ringlogd leaves behind (docs/reliability.md, "Stop").
    struct StopPlan {
        bool pipes_outlive_us = false;  // a restart: systemd's fd store keeps pipes and rings
        std::chrono::steady_clock::time_point deadline{};
        uint64_t lost_lines = 0, lost_bytes = 0;  // for good: left unread or unpersisted
        uint64_t kept_lines = 0, kept_bytes = 0;  // for a restart: left for the next instance
        size_t containers_short = 0;              // containers with either
        // Each container's leftovers, counted once every container is done (see finishStop).
        struct Left {
            std::string container;  // short id
            uint64_t ring_records = 0, ring_bytes = 0;
            std::vector<std::pair<Stream, UniqueFd>> pipes;
        };
        std::vector<Left> left;
    } stop_;
    LogLimiter refusal_log_;
    LogLimiter query_limit_log_;
    uint64_t queries_refused_ = 0;  // at the query and follower limits
    std::unique_ptr<BusApi> bus_;   // null without D-Bus
    std::unique_ptr<Watch> bus_watch_;
    uint32_t bus_events_ = 0;
    std::chrono::steady_clock::time_point next_counters_announcement_{};
    // Under systemd: WATCHDOG=1 at half the watchdog interval, STATUS= once a second.
    bool supervised_ = false;
    std::chrono::microseconds watchdog_interval_{0};
    std::chrono::steady_clock::time_point next_watchdog_{}, next_status_{};
    uint64_t lines_at_last_status_ = 0;
    std::map<Query*, std::unique_ptr<Query>> queries_;
    std::unique_ptr<FileWatcher> file_watcher_;  // the one inotify fd of every log directory
    std::unique_ptr<Watch> file_watch_;
};

}  // namespace ringlog
