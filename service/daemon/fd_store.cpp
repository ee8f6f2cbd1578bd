#include "service/daemon/fd_store.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

namespace ringlog {

namespace {

std::string fdName(uint64_t serial, std::string_view what) {
    return std::to_string(serial) + "." + std::string(what);
}

std::string hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 15]);
    }
    return out;
}

std::optional<std::string> unhex(std::string_view text) {
    if (text.size() % 2 != 0)
        return std::nullopt;
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    };
    std::string out;
    out.reserve(text.size() / 2);
    for (size_t i = 0; i < text.size(); i += 2) {
        int hi = digit(text[i]), lo = digit(text[i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
}

constexpr const char* kSettingsName = "settings";
constexpr const char* kJournalReadName = "discard-journal.r";
constexpr const char* kJournalWriteName = "discard-journal.w";

std::string readMemfd(int fd) {
    std::string text;
    char buf[4096];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n <= 0 || text.size() > (1 << 20))
            return text;
        text.append(buf, static_cast<size_t>(n));
        at += n;
    }
}

}  // namespace

PreviousInstance lookAtPreviousInstance() {
    PreviousInstance out;
    char** names = nullptr;
    int n = sd_listen_fds_with_names(0, &names);  // 0: the fds stay for takePassedFds()
    for (int i = 0; i < n; ++i) {
        std::string name = names != nullptr && names[i] != nullptr ? names[i] : "";
        if (name == kSettingsName)
            out.settings = readMemfd(SD_LISTEN_FDS_START + i);
        else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".ring") == 0)
            ++out.containers;
    }
    if (names != nullptr)
        for (int i = 0; i < n; ++i)
            std::free(names[i]);
    std::free(names);
    return out;
}

void FdStore::keepSettings(const std::string& text) {
    if (!enabled_)
        return;
    UniqueFd fd(::memfd_create("ringlogd-settings", MFD_CLOEXEC));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        spdlog::warn("keeping the settings in systemd's fd store: {}", errnoText(errno));
        return;
    }
    removeName(kSettingsName);
    keepNamed(kSettingsName, fd.get());
}

void FdStore::keepDiscardJournal(int read_fd, int write_fd) {
    if (!enabled_)
        return;
    for (auto [name, fd] : {std::pair{kJournalReadName, read_fd}, {kJournalWriteName, write_fd}}) {
        removeName(name);
        keepNamed(name, fd);
    }
}

std::string encodeCarried(const CarriedContainer& c) {
    nlohmann::json j = {{"serial", c.serial},
                        {"request", hex(c.request)},
                        {"owner_uid", c.owner_uid},
                        {"owner_pid", c.owner_pid},
                        {"attached_at_us", c.attached_at_us},
                        {"drivers", c.drivers},
                        {"mode", c.mode},
                        {"max_line", c.max_line},
                        {"driver_states", c.driver_states}};
    return j.dump();
}

Result<CarriedContainer> decodeCarried(std::string_view text) {
    try {
        auto j = nlohmann::json::parse(text);
        CarriedContainer c;
        c.serial = j.at("serial").get<uint64_t>();
        auto request = unhex(j.at("request").get<std::string>());
        if (!request)
            return invalid("its request is not hex");
        c.request = std::move(*request);
        c.owner_uid = j.at("owner_uid").get<uid_t>();
        c.owner_pid = j.at("owner_pid").get<pid_t>();
        c.attached_at_us = j.at("attached_at_us").get<uint64_t>();
        // An instance from before more than one driver wrote "driver" and "driver_state".
        if (j.contains("drivers")) {
            c.drivers = j.at("drivers").get<std::vector<std::string>>();
            c.driver_states = j.at("driver_states").get<std::vector<std::string>>();
        } else {
            c.drivers = {j.at("driver").get<std::string>()};
            c.driver_states = {j.at("driver_state").get<std::string>()};
        }
        c.mode = j.at("mode").get<std::string>();
        c.max_line = j.at("max_line").get<uint32_t>();
        return c;
    } catch (const std::exception& e) {
        return invalid(std::string("its metadata is not readable: ") + e.what());
    }
}

PassedFds takePassedFds() {
    PassedFds out;
    char** names = nullptr;
    int n = sd_listen_fds_with_names(1, &names);
    for (int i = 0; i < n; ++i) {
        UniqueFd fd(SD_LISTEN_FDS_START + i);
        std::string name = names != nullptr && names[i] != nullptr ? names[i] : "";
        std::free(names != nullptr ? names[i] : nullptr);
        // Stored fds are named "<serial>.<what>"; anything else is a socket from the socket unit
        // (named after it, or "unknown" when LISTEN_FDNAMES is not set).
        size_t dot = name.find('.');
        char* end = nullptr;
        uint64_t serial = dot == std::string::npos ? 0 : std::strtoull(name.c_str(), &end, 10);
        std::string what = dot == std::string::npos ? "" : name.substr(dot + 1);
        bool ours = serial != 0 && end == name.c_str() + dot &&
                    (what == "ring" || what == "stdout" || what == "stderr" || what == "files");
        if (name == kSettingsName) {
            out.settings = readMemfd(fd.get());
            continue;
        }
        if (name == kJournalReadName || name == kJournalWriteName) {
            (name == kJournalReadName ? out.journal_read : out.journal_write) = std::move(fd);
            continue;
        }
        if (!ours) {
            if (sd_is_socket(fd.get(), AF_UNIX, 0, 1) > 0)
                out.sockets.push_back(std::move(fd));
            else
                out.unknown.push_back(name);
            continue;
        }
        auto& c = out.containers[serial];
        (what == "ring"     ? c.ring
         : what == "stdout" ? c.stdout_fd
         : what == "stderr" ? c.stderr_fd
                            : c.files) = std::move(fd);
    }
    std::free(names);
    return out;
}

void FdStore::keep(uint64_t serial, std::string_view what, int fd) {
    if (enabled_)
        keepNamed(fdName(serial, what), fd);
}

void FdStore::keepNamed(const std::string& name, int fd) {
    std::string message = "FDSTORE=1\nFDPOLL=0\nFDNAME=" + name;
    if (int r = sd_pid_notify_with_fds(0, 0, message.c_str(), &fd, 1); r < 0)
        spdlog::warn("handing {} to systemd's fd store: {}", name, errnoText(-r));
}

void FdStore::remove(uint64_t serial, std::string_view what) {
    removeName(fdName(serial, what));
}

void FdStore::removeContainer(uint64_t serial) {
    for (const char* what : {"ring", "stdout", "stderr", "files"})
        remove(serial, what);
}

void FdStore::removeName(const std::string& name) {
    if (!enabled_)
        return;
    std::string message = "FDSTOREREMOVE=1\nFDNAME=" + name;
    sd_notify(0, message.c_str());
}

SystemdStop askSystemdAboutThisStop() {
    constexpr const char* kSystemd = "org.freedesktop.systemd1";
    SystemdStop out;
    sd_bus* raw = nullptr;
    if (int r = sd_bus_open_system(&raw); r < 0) {
        out.why = "connecting to the system bus: " + errnoText(-r);
        return out;
    }
    std::unique_ptr<sd_bus, decltype(&sd_bus_flush_close_unref)> bus(raw, sd_bus_flush_close_unref);
    sd_bus_set_method_call_timeout(bus.get(), 1'000'000);
    // SD_BUS_ERROR_NULL, all zero: the macro is a C compound literal, which clang's -Wpedantic
    // refuses in C++.
    sd_bus_error error{};
    auto fail = [&](const char* what, int r) {
        out.why = std::string(what) + ": " + (error.message ? error.message : errnoText(-r));
        sd_bus_error_free(&error);
        return out;
    };
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus.get(), kSystemd, "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnitByPID", &error, &reply,
                               "u", static_cast<uint32_t>(::getpid()));
    const char* path = nullptr;
    if (r < 0 || sd_bus_message_read(reply, "o", &path) < 0)
        return fail("asking systemd for our unit", r);
    std::string unit = path;
    sd_bus_message_unref(reply);
    reply = nullptr;
    uint64_t timeout = 0;
    if (sd_bus_get_property_trivial(bus.get(), kSystemd, unit.c_str(),
                                    "org.freedesktop.systemd1.Service", "TimeoutStopUSec", &error,
                                    't', &timeout) >= 0 &&
        timeout > 0 && timeout != UINT64_MAX)
        out.timeout_stop_usec = timeout;
    sd_bus_error_free(&error);
    // systemd 254 on: FileDescriptorStorePreserve=yes keeps the store across a stop as well.
    // (252 has no such property: the call fails, and the store goes with a stop.)
    char* preserve = nullptr;
    if (sd_bus_get_property_string(bus.get(), kSystemd, unit.c_str(),
                                   "org.freedesktop.systemd1.Service",
                                   "FileDescriptorStorePreserve", &error, &preserve) >= 0) {
        bool kept = std::string(preserve) == "yes";
        ::free(preserve);
        if (kept) {
            out.why = "FileDescriptorStorePreserve=yes: systemd keeps the fd store";
            out.store_outlives_us = true;
            return out;
        }
    }
    sd_bus_error_free(&error);
    r = sd_bus_get_property(bus.get(), kSystemd, unit.c_str(), "org.freedesktop.systemd1.Unit",
                            "Job", &error, &reply, "(uo)");
    uint32_t job_id = 0;
    const char* job = nullptr;
    if (r < 0 || sd_bus_message_read(reply, "(uo)", &job_id, &job) < 0)
        return fail("asking systemd for our unit's job", r);
    std::string job_path = job;
    sd_bus_message_unref(reply);
    if (job_id == 0) {
        out.why = "no job: nothing will start ringlogd again";
        return out;
    }
    char* type = nullptr;
    r = sd_bus_get_property_string(bus.get(), kSystemd, job_path.c_str(),
                                   "org.freedesktop.systemd1.Job", "JobType", &error, &type);
    if (r < 0)
        return fail("asking systemd for the job's type", r);
    std::string job_type = type;
    ::free(type);
    out.why = "job " + std::to_string(job_id) + " is a " + job_type;
    out.store_outlives_us = job_type == "restart";
    return out;
}

}  // namespace ringlog
