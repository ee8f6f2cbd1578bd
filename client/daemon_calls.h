// The manager's methods that the listing commands and the completion call, as plain calls on a
// generic proxy: what they return is a dictionary whose keys docs/dbus.md lists.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ringlogctl {

using Dict = std::map<std::string, sdbus::Variant>;

// One row of ListContainers.
struct ContainerEntry {
    std::string id, name, image, driver, mode, state;
};

class DaemonCalls {
  public:
    explicit DaemonCalls(sdbus::IConnection& bus);
    // These throw sdbus::Error as ringlogd or the bus answered.
    std::vector<ContainerEntry> listContainers();
    Dict inspect(const std::string& id_or_name);
    Dict describeDaemon();

  private:
    std::unique_ptr<sdbus::IProxy> proxy_;
};

// A key of an Inspect or DescribeDaemon answer, or `fallback` when it is absent or of another type.
template <typename T>
T dictValue(const Dict& d, const std::string& key, T fallback = T()) {
    auto it = d.find(key);
    if (it == d.end() || !it->second.containsValueOfType<T>())
        return fallback;
    return it->second.get<T>();
}

}  // namespace ringlogctl
