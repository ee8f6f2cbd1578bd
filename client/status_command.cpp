#include "client/status_command.h"
#include "client/manager_proxy.h"

#include <time.h>

#include <ringlog-dbus/proxy.h>
#include <sdbus-c++/sdbus-c++.h>
#include <cstdio>
#include <memory>
#include <string>

namespace ringlogctl {

namespace {

class ContainerProxy final : public sdbus::ProxyInterfaces<org::ringlog::Log1::Container_proxy> {
  public:
    ContainerProxy(sdbus::IConnection& connection, const sdbus::ObjectPath& path)
        : ProxyInterfaces(connection, "org.ringlog.Log1", path) {
        registerProxy();
    }
    ~ContainerProxy() { unregisterProxy(); }
};

// Microseconds since the epoch as local time, as systemctl prints them.
std::string localTime(uint64_t us) {
    if (us == 0)
        return "never";
    time_t seconds = static_cast<time_t>(us / 1'000'000);
    struct tm tm;
    char buf[64];
    localtime_r(&seconds, &tm);
    strftime(buf, sizeof buf, "%a %Y-%m-%d %H:%M:%S %Z", &tm);
    return buf;
}

void printStatus(sdbus::IConnection& bus, const std::string& container) {
    ManagerProxy manager(bus);
    ContainerProxy c(bus, manager.GetContainer(container));
    std::string state = c.State();
    const char* mark = state == "attached" ? "●" : state == "degraded" ? "×" : "○";
    std::printf("%s %s (%s)\n", mark, c.Name().empty() ? c.Id().c_str() : c.Name().c_str(),
                c.Id().substr(0, 12).c_str());
    std::printf("        Image: %s\n", c.Image().c_str());
    std::printf("        State: %s since %s\n", state.c_str(),
                localTime(state == "exited" ? c.ExitedAt() : c.AttachedAt()).c_str());
    std::printf("       Driver: %s (%s)\n", c.Driver().c_str(), c.Mode().c_str());
    std::printf("        Lines: %llu in, %llu written, %llu dropped, %llu split\n",
                static_cast<unsigned long long>(c.LinesIn()),
                static_cast<unsigned long long>(c.LinesWritten()),
                static_cast<unsigned long long>(c.LinesDropped()),
                static_cast<unsigned long long>(c.LinesSplit()));
    std::printf("Write failures: %llu\n", static_cast<unsigned long long>(c.WriteFailures()));
    if (std::string error = c.LastError(); !error.empty())
        std::printf("   Last error: %s: %s\n", localTime(c.LastErrorAt()).c_str(), error.c_str());
}

}  // namespace

void addStatusCommand(CLI::App& app, const GlobalOptions&) {
    auto container = std::make_shared<std::string>();
    CLI::App* sub =
        app.add_subcommand("status", "Show a container's state, last error and counters");
    sub->add_option("CONTAINER", *container, "Full id, unique id prefix, or name")->required();
    sub->callback([container] {
        auto bus = connectSystemBus();
        try {
            printStatus(*bus, *container);
        } catch (const sdbus::Error& e) {
            throwBusError(e);
        }
    });
}

}  // namespace ringlogctl
