#include "client/status_command.h"

#include <time.h>

#include <sdbus-c++/sdbus-c++.h>
#include <cstdio>
#include <memory>
#include <string>

#include "client/daemon_calls.h"

namespace ringlogctl {

namespace {

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

// Through Inspect, which whoever may read the container may call (its properties are root's).
void printStatus(sdbus::IConnection& bus, const std::string& container) {
    Dict c = DaemonCalls(bus).inspect(container);
    auto text = [&](const char* key) { return dictValue<std::string>(c, key); };
    auto count = [&](const char* key) {
        return static_cast<unsigned long long>(dictValue<uint64_t>(c, key));
    };
    std::string state = text("State");
    const char* mark = state == "attached" ? "●" : state == "degraded" ? "×" : "○";
    std::printf("%s %s (%s)\n", mark,
                text("Name").empty() ? text("Id").c_str() : text("Name").c_str(),
                text("Id").substr(0, 12).c_str());
    std::printf("        Image: %s\n", text("Image").c_str());
    std::printf(
        "        State: %s since %s\n", state.c_str(),
        localTime(dictValue<uint64_t>(c, state == "exited" ? "ExitedAt" : "AttachedAt")).c_str());
    std::printf("       Driver: %s (%s)\n", text("Driver").c_str(), text("Mode").c_str());
    std::printf("        Lines: %llu in, %llu written, %llu dropped, %llu split\n",
                count("LinesIn"), count("LinesWritten"), count("LinesDropped"),
                count("LinesSplit"));
    std::printf("Write failures: %llu\n", count("WriteFailures"));
    if (std::string error = text("LastError"); !error.empty())
        std::printf("   Last error: %s: %s\n",
                    localTime(dictValue<uint64_t>(c, "LastErrorAt")).c_str(), error.c_str());
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
