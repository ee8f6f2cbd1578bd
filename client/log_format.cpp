#include "client/log_format.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

namespace ringlogctl {

namespace {

struct Split {
    time_t seconds;
    long nanos;
};

Split split(int64_t time_ns) {
    int64_t s = time_ns / 1'000'000'000, ns = time_ns % 1'000'000'000;
    if (ns < 0) {
        ns += 1'000'000'000;
        --s;
    }
    return {static_cast<time_t>(s), static_cast<long>(ns)};
}

}  // namespace

void appendDockerTimestamp(std::string& out, int64_t time_ns) {
    auto [seconds, nanos] = split(time_ns);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    char text[48];
    int n =
        std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
    out.append(text, static_cast<size_t>(n));
}

void appendQueryEscaped(std::string& out, std::string_view text) {
    static const char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : text) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
}

void appendDockerDetails(std::string& out,
                         std::vector<std::pair<std::string, std::string>>& attrs) {
    std::stable_sort(attrs.begin(), attrs.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < attrs.size(); ++i) {
        if (i != 0)
            out.push_back(',');
        appendQueryEscaped(out, attrs[i].first);
        out.push_back('=');
        appendQueryEscaped(out, attrs[i].second);
    }
}

void appendLocalShort(std::string& out, int64_t time_ns) {
    time_t seconds = split(time_ns).seconds;
    struct tm tm;
    localtime_r(&seconds, &tm);
    char text[32];
    size_t n = strftime(text, sizeof text, "%b %d %H:%M:%S", &tm);
    out.append(text, n);
}

void appendLocalIso(std::string& out, int64_t time_ns) {
    time_t seconds = split(time_ns).seconds;
    struct tm tm;
    localtime_r(&seconds, &tm);
    char text[48];
    size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    out.append(text, n);
    long offset = tm.tm_gmtoff;
    char sign = offset < 0 ? '-' : '+';
    offset = offset < 0 ? -offset : offset;
    int m = std::snprintf(text, sizeof text, "%c%02ld:%02ld", sign, offset / 3600,
                          (offset % 3600) / 60);
    out.append(text, static_cast<size_t>(m));
}

}  // namespace ringlogctl
