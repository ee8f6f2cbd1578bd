#include "client/daemon_calls.h"

#include <tuple>

namespace ringlogctl {

namespace {
constexpr const char* kManager = "org.ringlog.Log1.Manager";
}

DaemonCalls::DaemonCalls(sdbus::IConnection& bus)
    : proxy_(sdbus::createProxy(bus, "org.ringlog.Log1", "/org/ringlog/Log1")) {}

std::vector<ContainerEntry> DaemonCalls::listContainers() {
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                              std::string, sdbus::ObjectPath>>
        rows;
    proxy_->callMethod("ListContainers").onInterface(kManager).storeResultsTo(rows);
    std::vector<ContainerEntry> out;
    for (const auto& r : rows)
        out.push_back({std::get<0>(r), std::get<1>(r), std::get<2>(r), std::get<3>(r),
                       std::get<4>(r), std::get<5>(r)});
    return out;
}

Dict DaemonCalls::inspect(const std::string& id_or_name) {
    Dict out;
    proxy_->callMethod("Inspect")
        .onInterface(kManager)
        .withArguments(id_or_name)
        .storeResultsTo(out);
    return out;
}

Dict DaemonCalls::describeDaemon() {
    Dict out;
    proxy_->callMethod("DescribeDaemon").onInterface(kManager).storeResultsTo(out);
    return out;
}

}  // namespace ringlogctl
