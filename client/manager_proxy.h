// The client side of org.ringlog.Log1's manager object, for the commands that use the bus.
#pragma once

#include <ringlog-dbus/proxy.h>
#include <sdbus-c++/sdbus-c++.h>

#include <string>

class ManagerProxy final : public sdbus::ProxyInterfaces<org::ringlog::Log1::Manager_proxy> {
  public:
    explicit ManagerProxy(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, "org.ringlog.Log1", "/org/ringlog/Log1") {
        registerProxy();
    }
    ~ManagerProxy() { unregisterProxy(); }

  private:
    void onContainerAttached(const std::string&, const sdbus::ObjectPath&) override {}
    void onContainerExited(const std::string&, const sdbus::ObjectPath&) override {}
};
