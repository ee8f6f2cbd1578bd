#include "client/cli.h"

#include <cerrno>
#include <string>

#include "ringlog/protocol.h"

namespace ringlogctl {

namespace {

bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::unique_ptr<sdbus::IConnection> connectSystemBus() {
    try {
        return sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& e) {
        throw CommandError(kExitFailed,
                           "cannot reach the system bus (" + e.getMessage() +
                               "): is dbus running? (systemctl status dbus). ringlogd serves "
                               "logs on the system bus as org.ringlog.Log1");
    }
}

void throwBusError(const sdbus::Error& error) {
    const std::string& name = error.getName();
    std::string message = error.getMessage();
    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
        name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
        name == "org.freedesktop.DBus.Error.NoReply" ||
        name == "org.freedesktop.DBus.Error.Spawn.ChildExited" ||
        name == "org.freedesktop.DBus.Error.Spawn.ServiceNotFound" ||
        name == "org.freedesktop.systemd1.NoSuchUnit")
        throw CommandError(kExitFailed,
                           "ringlogd is not running (nothing answers as org.ringlog.Log1 on the "
                           "system bus: " +
                               message +
                               "). Start it with `systemctl start ringlogd`; `systemctl status "
                               "ringlogd` and `journalctl -u ringlogd` say why it stopped");
    if (endsWith(name, ".Error.AccessDenied")) {
        // The bus policy (dbus/org.ringlog.Log1.conf) refused before ringlogd saw the call: it
        // lets everyone call the read methods, so this was one of root's.
        if (message.rfind("Rejected send message", 0) == 0) {
            std::string method = "this method";
            if (auto at = message.find("member=\""); at != std::string::npos) {
                auto end = message.find('"', at + 8);
                method = message.substr(at + 8, end - at - 8);
            }
            throw CommandError(kExitFailed, "only root may call " + method +
                                                " (the system bus refused it): run it as root, "
                                                "e.g. with sudo");
        }
        if (message.find("only root") != std::string::npos)
            throw CommandError(kExitFailed, message + ": run it as root (sudo ringlogctl …)");
        throw CommandError(kExitFailed,
                           message +
                               ": only root, the user that attached it and the members of its "
                               "reader groups (--log-opt reader-groups=GROUP) may");
    }
    if (name == "org.ringlog.Log1.NoSuchContainer") {
        if (message.find("matches") != std::string::npos)  // ambiguous: the candidates follow
            throw CommandError(kExitFailed, message);
        throw CommandError(kExitFailed, message +
                                            " (`ringlogctl ps -a` lists the containers "
                                            "you may read)");
    }
    if (endsWith(name, ".Error.Disconnected") || endsWith(name, ".Error.FileNotFound") ||
        endsWith(name, ".Error.NoServer"))
        throw CommandError(kExitFailed, "lost the system bus (" + message +
                                            "): is dbus running? (systemctl status dbus)");
    throw CommandError(kExitFailed, message.empty() ? name : message);
}

void throwSocketError(int negative_errno, std::string_view message, std::string_view socket_path) {
    std::string text(message);
    std::string path(socket_path.empty() ? RINGLOG_DEFAULT_SOCKET : socket_path);
    switch (-negative_errno) {
        case ENOENT:
        case ECONNREFUSED:
            text +=
                ". Is ringlogd running? Start it with `systemctl start ringlogd.socket`, "
                "or point --socket or $RINGLOGD_SOCKET at its socket";
            break;
        case EACCES:
        case EPERM:
            text +=
                ". Attaching takes membership of the group `ringlog` (the socket is "
                "root:ringlog 0660): `usermod -aG ringlog $USER`, then log in again; or run "
                "as root";
            break;
        default:
            break;
    }
    throw CommandError(kExitUsage, text);
}

}  // namespace ringlogctl
