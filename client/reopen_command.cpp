#include "client/reopen_command.h"
#include "client/manager_proxy.h"

#include <sdbus-c++/sdbus-c++.h>
#include <cstdio>

int reopenCommand(int argc, char** argv, int first) {
    if (argc != first + 1 || argv[first][0] == '-') {
        std::fprintf(stderr, "Usage: ringlogctl reopen CONTAINER\n");
        return 2;
    }
    try {
        auto connection = sdbus::createSystemBusConnection();
        ManagerProxy manager(*connection);
        manager.Reopen(argv[first]);
    } catch (const sdbus::Error& e) {
        std::fprintf(stderr, "ringlogctl: %s\n", e.getMessage().c_str());
        return 1;
    }
    return 0;
}
