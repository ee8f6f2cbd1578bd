#include "client/version_command.h"

#include <cstdio>
#include <string>
#include <vector>

#include "client/daemon_calls.h"
#include "ringlog/protocol.h"

namespace ringlogctl {

namespace {

void line(const char* label, const std::string& value) {
    std::printf(" %-18s%s\n", label, value.c_str());
}

void runVersion() {
    std::printf("Client:\n");
    line("Version:", RINGLOG_VERSION);
    line("Protocol version:", std::to_string(RINGLOG_PROTOCOL_VERSION));
    std::fflush(stdout);
    // The client's block stands even when ringlogd cannot be reached: then the error follows.
    auto bus = connectSystemBus();
    Dict d;
    try {
        d = DaemonCalls(*bus).describeDaemon();
    } catch (const sdbus::Error& e) {
        throwBusError(e);
    }
    std::string drivers;
    for (const std::string& name : dictValue<std::vector<std::string>>(d, "Drivers"))
        drivers += (drivers.empty() ? "" : ", ") + name;
    std::printf("\nServer:\n");
    line("Version:", dictValue<std::string>(d, "Version"));
    line("Protocol version:", std::to_string(dictValue<uint32_t>(d, "ProtocolVersion")));
    line("Drivers:", drivers);
    line("Default driver:", dictValue<std::string>(d, "DefaultDriver"));
}

}  // namespace

void addVersionCommand(CLI::App& app, const GlobalOptions&) {
    app.add_subcommand("version", "Show the client's and ringlogd's versions and protocols")
        ->callback(runVersion);
}

}  // namespace ringlogctl
