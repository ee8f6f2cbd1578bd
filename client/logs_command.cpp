// `ringlogctl logs`: reads a container's log through ringlogd's D-Bus API (Query), like
// `docker logs`. The records arrive on a pipe ringlogd hands over; this copies it to stdout.
#include "client/logs_command.h"
#include "client/manager_proxy.h"

#include <time.h>
#include <unistd.h>

#include <ringlog-dbus/proxy.h>
#include <sdbus-c++/sdbus-c++.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ringlogctl {

namespace {

// A time as the Query option wants it: RFC 3339 passes through; others become nanoseconds.
sdbus::Variant timeValue(const std::string& text) {
    if (text.size() >= 20 && text[4] == '-')
        return sdbus::Variant(text);
    // Unix time, exactly to the nanosecond (a double cannot hold that).
    size_t dot = text.find('.');
    std::string whole = text.substr(0, dot),
                frac = dot == std::string::npos ? "" : text.substr(dot + 1);
    auto digits = [](const std::string& s) {
        return s.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!whole.empty() && digits(whole) && digits(frac) && frac.size() <= 9) {
        frac.resize(9, '0');
        return sdbus::Variant(
            static_cast<uint64_t>(std::stoull(whole) * 1'000'000'000ull + std::stoull(frac)));
    }
    char* end = nullptr;
    double number = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || number < 0) {
        throw CommandError(kExitUsage, "\"" + text + "\" is not a time");
    }
    std::string unit(end);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double now_s = double(now.tv_sec) + double(now.tv_nsec) / 1e9;
    double seconds = 0;
    if (unit.empty())
        seconds = number;  // Unix time
    else if (unit == "s")
        seconds = now_s - number;
    else if (unit == "m")
        seconds = now_s - number * 60;
    else if (unit == "h")
        seconds = now_s - number * 3600;
    else {
        throw CommandError(kExitUsage, "\"" + text + "\" is not a time");
    }
    return sdbus::Variant(static_cast<uint64_t>(seconds * 1e9));
}

int readLogs(const std::string& container, std::map<std::string, sdbus::Variant> options) {
    sdbus::UnixFd fd;
    try {
        auto connection = connectSystemBus();
        ManagerProxy manager(*connection);
        fd = manager.Query(container, options);
    } catch (const sdbus::Error& e) {
        throwBusError(e);
    }
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? 0 : 1;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = ::write(STDOUT_FILENO, buf + done, static_cast<size_t>(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return errno == EPIPE ? 0 : 1;
            done += w;
        }
    }
}

}  // namespace

void addLogsCommand(CLI::App& app, const GlobalOptions&) {
    struct Args {
        std::string container, tail, since, until, stream, format, after_cursor;
        bool follow = false;
    };
    auto a = std::make_shared<Args>();
    CLI::App* sub = app.add_subcommand("logs", "Show a container's log, as docker logs");
    sub->add_option("CONTAINER", a->container, "Full id, unique id prefix, or name")->required();
    sub->add_flag("-f,--follow", a->follow, "Keep streaming new records until it exits");
    sub->add_option("-n,--tail", a->tail, "Only the last N records (default: all)");
    sub->add_option("--since", a->since, "Records at or after TIME");
    sub->add_option("--until", a->until, "Records at or before TIME");
    sub->add_option("--stream", a->stream, "stdout or stderr only");
    sub->add_option("--format", a->format, "raw or json");
    sub->add_option("--after-cursor", a->after_cursor, "Only records after this cursor");
    sub->callback([a] {
        std::map<std::string, sdbus::Variant> options;
        if (a->follow)
            options["follow"] = sdbus::Variant(true);
        if (!a->tail.empty() && a->tail != "all")
            options["tail"] =
                sdbus::Variant(static_cast<uint64_t>(std::strtoull(a->tail.c_str(), nullptr, 10)));
        if (!a->since.empty())
            options["since"] = timeValue(a->since);
        if (!a->until.empty())
            options["until"] = timeValue(a->until);
        if (!a->stream.empty())
            options["streams"] = sdbus::Variant(std::vector<std::string>{a->stream});
        if (!a->format.empty())
            options["format"] = sdbus::Variant(a->format);
        if (!a->after_cursor.empty())
            options["after_cursor"] = sdbus::Variant(a->after_cursor);
        int code = readLogs(a->container, std::move(options));
        if (code != 0)
            throw ExitStatus{code};
    });
}

}  // namespace ringlogctl
