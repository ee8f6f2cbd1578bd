#include "bus_fixture.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>

namespace ringlog::test {

CommandOutput runCaptured(const fs::path& dir, const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, int uid, int gid) {
    static std::atomic<int> calls = 0;  // spawn appends to its files: fresh ones for each call
    std::string out = (dir / ("captured" + std::to_string(++calls))).string();
    SpawnOptions o;
    o.stdout_file = out;
    o.stderr_file = out + ".err";
    o.env = env;
    o.uid = uid;
    o.gid = gid;
    CommandOutput r;
    r.status = spawn(argv, o).wait();
    r.out = readFile(o.stdout_file);
    r.err = readFile(o.stderr_file);
    return r;
}

ExitWatcher::ExitWatcher(sdbus::IConnection& c)
    : ProxyInterfaces(c, "org.ringlog.Log1", "/org/ringlog/Log1") {
    registerProxy();
}

ExitWatcher::~ExitWatcher() {
    unregisterProxy();
}

bool ExitWatcher::waitFor(const std::string& id) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return exited_.count(id) != 0; });
}

void ExitWatcher::onContainerExited(const std::string& id, const sdbus::ObjectPath&) {
    std::lock_guard lock(mutex_);
    exited_.insert(id);
    cv_.notify_all();
}

void PrivateBusTest::SetUp() {
    bus_ = std::make_unique<DbusDaemon>(dir_.path() / "bus");
    env_ = {{"DBUS_SYSTEM_BUS_ADDRESS", bus_->address()}};
    setenv("DBUS_SYSTEM_BUS_ADDRESS", bus_->address().c_str(), 1);
    connection_ = sdbus::createSystemBusConnection();
    watcher_ = std::make_unique<ExitWatcher>(*connection_);
    connection_->enterEventLoopAsync();
    calls_ = sdbus::createSystemBusConnection();
    manager_ = sdbus::createProxy(*calls_, "org.ringlog.Log1", "/org/ringlog/Log1");
    std::vector<std::string> args = {"--dbus", "yes"};
    for (auto& a : daemonArgs())
        args.push_back(std::move(a));
    d_ = std::make_unique<Daemon>(dir_.path() / "d", std::move(args), env_, wrapper());
}

void PrivateBusTest::TearDown() {
    d_.reset();
    watchers_.clear();
    manager_.reset();
    calls_.reset();
    if (connection_ != nullptr)
        connection_->leaveEventLoop();
    watcher_.reset();
    connection_.reset();
    unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

CommandOutput PrivateBusTest::run(const std::vector<std::string>& argv, int uid, int gid) {
    return runCaptured(dir_.path(), argv, env_, uid, gid);
}

CommandOutput PrivateBusTest::busctl(std::vector<std::string> args, int uid, int gid) {
    args.insert(args.begin(), {"/usr/bin/busctl", "--address=" + bus_->address()});
    return run(args, uid, gid);
}

Dict PrivateBusTest::inspect(const std::string& id_or_name) {
    Dict out;
    manager_->callMethod("Inspect")
        .onInterface("org.ringlog.Log1.Manager")
        .withArguments(id_or_name)
        .storeResultsTo(out);
    return out;
}

bool PrivateBusTest::waitForCounter(const std::string& id, const std::string& counter,
                                    uint64_t value) {
    struct State {
        std::mutex mutex;
        std::condition_variable cv;
        uint64_t seen = 0;
    };
    auto state = std::make_shared<State>();
    auto proxy =
        sdbus::createProxy(*connection_, "org.ringlog.Log1", "/org/ringlog/Log1/container/" + id);
    proxy->uponSignal("PropertiesChanged")
        .onInterface("org.freedesktop.DBus.Properties")
        .call([state, counter](const std::string&, const Dict& changed,
                               const std::vector<std::string>&) {
            auto it = changed.find(counter);
            if (it == changed.end())
                return;
            std::lock_guard lock(state->mutex);
            state->seen = it->second.get<uint64_t>();
            state->cv.notify_all();
        });
    proxy->finishRegistration();
    // It may have got there before we listened.
    if (inspect(id).at(counter).get<uint64_t>() >= value)
        return true;
    std::unique_lock lock(state->mutex);
    bool reached =
        state->cv.wait_for(lock, std::chrono::seconds(30), [&] { return state->seen >= value; });
    lock.unlock();
    watchers_.push_back(std::move(proxy));
    return reached;
}

}  // namespace ringlog::test
