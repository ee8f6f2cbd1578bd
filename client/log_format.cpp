#include "client/log_format.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>

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

// The text of one whole second, made once per second seen: a log's records mostly share their
// second, and gmtime_r/localtime_r with strftime for each record cost more than the rest of its
// line (ringlogctl is single-threaded: one cache per format).
struct SecondText {
    bool valid = false;
    time_t seconds = 0;
    std::string text;
};

template <typename Format>
const std::string& textOfSecond(SecondText& cache, time_t seconds, Format format) {
    if (!cache.valid || cache.seconds != seconds) {
        cache.text.clear();
        format(seconds, cache.text);
        cache.seconds = seconds;
        cache.valid = true;
    }
    return cache.text;
}

}  // namespace

void appendDockerTimestamp(std::string& out, int64_t time_ns) {
    static SecondText cache;
    auto [seconds, nanos] = split(time_ns);
    out.append(textOfSecond(cache, seconds, [](time_t t, std::string& text) {
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[32];
        size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.", &tm);
        text.assign(buf, n);
    }));
    char digits[16];
    int n = std::snprintf(digits, sizeof digits, "%09ldZ", nanos);
    out.append(digits, static_cast<size_t>(n));
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
    static SecondText cache;
    out.append(textOfSecond(cache, split(time_ns).seconds, [](time_t t, std::string& text) {
        struct tm tm;
        localtime_r(&t, &tm);
        char buf[32];
        text.assign(buf, strftime(buf, sizeof buf, "%b %d %H:%M:%S", &tm));
    }));
}

void appendLocalIso(std::string& out, int64_t time_ns) {
    static SecondText cache;
    out.append(textOfSecond(cache, split(time_ns).seconds, [](time_t t, std::string& text) {
        struct tm tm;
        localtime_r(&t, &tm);
        char buf[48];
        text.assign(buf, strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm));
        long offset = tm.tm_gmtoff;
        char sign = offset < 0 ? '-' : '+';
        offset = offset < 0 ? -offset : offset;
        int m = std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", sign, offset / 3600,
                              (offset % 3600) / 60);
        text.append(buf, static_cast<size_t>(m));
    }));
}

}  // namespace ringlogctl
