#include "client/container_actions.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "client/manager_proxy.h"

namespace ringlogctl {

void addDetachCommand(CLI::App& app, const GlobalOptions&) {
    auto containers = std::make_shared<std::vector<std::string>>();
    CLI::App* sub = app.add_subcommand(
        "detach",
        "Stop reading containers (root): what they wrote is persisted, their writers "
        "then get EPIPE");
    sub->add_option("CONTAINER", *containers, "Full id, unique id prefix, or name")->required();
    sub->callback([containers] {
        auto bus = connectSystemBus();
        ManagerProxy manager(*bus);
        int failed = 0;
        for (const auto& c : *containers) {
            try {
                manager.Detach(c);
                std::printf("%s\n", c.c_str());  // as docker stop/rm: each one done
            } catch (const sdbus::Error& e) {
                try {
                    throwBusError(e);
                } catch (const CommandError& error) {
                    std::fprintf(stderr, "ringlogctl: %s\n", error.what());
                    ++failed;
                }
            }
        }
        if (failed)
            throw ExitStatus{kExitFailed};
    });
}

void addReopenCommand(CLI::App& app, const GlobalOptions&) {
    auto container = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "reopen", "Reopen a container's log file (root), after renaming it as kubelet does");
    sub->add_option("CONTAINER", *container, "Full id, unique id prefix, or name")->required();
    sub->callback([container] {
        auto bus = connectSystemBus();
        ManagerProxy manager(*bus);
        try {
            manager.Reopen(*container);
        } catch (const sdbus::Error& e) {
            throwBusError(e);
        }
    });
}

}  // namespace ringlogctl
