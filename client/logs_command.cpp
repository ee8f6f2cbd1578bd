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
#include <string>

namespace {

[[noreturn]] void usage(int code) {
    std::fprintf(
        code == 0 ? stdout : stderr,
        "Usage: ringlogctl logs [OPTIONS] CONTAINER\n\n"
        "CONTAINER is a full id, a unique id prefix, or a name.\n"
        "  --tail N          only the last N records (default: all)\n"
        "  --since TIME      records at or after TIME: RFC 3339, Unix seconds, or a\n"
        "                    duration before now (10s, 5m, 2h)\n"
        "  --until TIME      records at or before TIME (same forms)\n"
        "  --stream S        stdout or stderr only\n"
        "  --format F        raw (the bytes as written, default) or json\n"
        "  -f, --follow      keep streaming new records until the container exits\n"
        "  --after-cursor C  only records after the one whose \"cursor\" was C (json format)\n");
    std::exit(code);
}

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
        std::fprintf(stderr, "ringlogctl logs: \"%s\" is not a time\n", text.c_str());
        std::exit(2);
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
        std::fprintf(stderr, "ringlogctl logs: \"%s\" is not a time\n", text.c_str());
        std::exit(2);
    }
    return sdbus::Variant(static_cast<uint64_t>(seconds * 1e9));
}

}  // namespace

int logsCommand(int argc, char** argv, int first) {
    std::map<std::string, sdbus::Variant> options;
    std::string container;
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h")
            usage(0);
        if (a == "-f" || a == "--follow") {
            options["follow"] = sdbus::Variant(true);
            continue;
        }
        if (a.rfind("--", 0) != 0) {
            if (!container.empty())
                usage(2);
            container = a;
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "ringlogctl logs: %s needs a value\n", a.c_str());
            usage(2);
        }
        std::string v = argv[++i];
        if (a == "--tail") {
            if (v != "all")
                options["tail"] =
                    sdbus::Variant(static_cast<uint64_t>(std::strtoull(v.c_str(), nullptr, 10)));
        } else if (a == "--since") {
            options["since"] = timeValue(v);
        } else if (a == "--until") {
            options["until"] = timeValue(v);
        } else if (a == "--stream") {
            options["streams"] = sdbus::Variant(std::vector<std::string>{v});
        } else if (a == "--format") {
            options["format"] = sdbus::Variant(v);
        } else if (a == "--after-cursor") {
            options["after_cursor"] = sdbus::Variant(v);
        } else {
            std::fprintf(stderr, "ringlogctl logs: unknown option %s\n", a.c_str());
            usage(2);
        }
    }
    if (container.empty())
        usage(2);
    sdbus::UnixFd fd;
    try {
        auto connection = sdbus::createSystemBusConnection();
        ManagerProxy manager(*connection);
        fd = manager.Query(container, options);
    } catch (const sdbus::Error& e) {
        std::fprintf(stderr, "ringlogctl: %s\n", e.getMessage().c_str());
        return 1;
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
