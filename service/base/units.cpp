#include "service/base/units.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

#include "service/base/error.h"
#include "service/base/time_text.h"

namespace ringlog {

std::string errnoText(int err) {
    return std::strerror(err);
}

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    return out;
}

}  // namespace

std::optional<int64_t> parseInteger(std::string_view text) {
    int64_t value = 0;
    if (text.empty())
        return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0)
        return std::nullopt;
    return value;
}

std::optional<int64_t> parseDurationMs(std::string_view text) {
    auto ns = parseTimeSpanNs(text);
    if (!ns)
        return std::nullopt;
    return *ns / 1'000'000;
}

std::string describeDurationMs(int64_t ms) {
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

namespace {

// Hand-written on purpose: docker's sizes are go-units' RAMInBytes and FromHumanSize, and no
// library in Debian implements them (the C and C++ size parsers there, e.g. systemd's
// parse_size() or numfmt's, read other suffixes, other rounding or no fractions, and none reads
// "10 m" with its one space or "1MiB" as 1,000,000 the way FromHumanSize does). Being docker-
// compatible here means reproducing its regex and its float64 arithmetic exactly; the unit tests
// (Units.* in config_test.cpp) check it against what go-units returns for docker's cases.
//
// go-units v0.4.0: the text must match ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ and the
// number must be a valid float (so "1.2.3" matches and is still refused), then
// int64(number * unit).
std::optional<int64_t> parseGoUnitsSize(std::string_view text, int64_t base) {
    size_t i = 0;
    auto digits = [&] {
        size_t from = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9')
            ++i;
        return i > from;
    };
    if (!digits())
        return std::nullopt;
    int dots = 0;
    while (i < text.size() && text[i] == '.') {
        ++i;
        ++dots;
        if (!digits())
            return std::nullopt;
    }
    if (dots > 1)
        return std::nullopt;
    std::string_view number = text.substr(0, i);
    if (i < text.size() && text[i] == ' ')
        ++i;
    int64_t multiplier = 1;
    if (i < text.size()) {
        static constexpr std::string_view kUnits = "kmgtp";
        char c =
            static_cast<char>(text[i] >= 'A' && text[i] <= 'Z' ? text[i] - 'A' + 'a' : text[i]);
        if (auto pos = kUnits.find(c); pos != std::string_view::npos) {
            for (size_t p = 0; p <= pos; ++p)
                multiplier *= base;
            ++i;
        }
    }
    if (i < text.size() && (text[i] == 'i' || text[i] == 'I'))
        ++i;
    if (i < text.size() && (text[i] == 'b' || text[i] == 'B'))
        ++i;
    if (i != text.size())
        return std::nullopt;
    double value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size())
        return std::nullopt;
    value *= static_cast<double>(multiplier);
    // Go's int64() of a larger value is undefined (on amd64 a negative number): refused here.
    if (!(value < 9223372036854775808.0))
        return std::nullopt;
    return static_cast<int64_t>(value);
}

}  // namespace

std::optional<int64_t> parseSize(std::string_view text) {
    return parseGoUnitsSize(text, 1024);
}

std::optional<int64_t> parseDecimalSize(std::string_view text) {
    return parseGoUnitsSize(text, 1000);
}

std::optional<bool> parseBool(std::string_view text) {
    std::string t = lower(text);
    if (t == "1" || t == "true" || t == "yes" || t == "on")
        return true;
    if (t == "0" || t == "false" || t == "no" || t == "off")
        return false;
    return std::nullopt;
}

std::string describeSize(int64_t bytes) {
    static constexpr const char* kSuffix[] = {"", "k", "m", "g", "t"};
    int i = 0;
    int64_t v = bytes;
    while (i < 4 && v != 0 && v % 1024 == 0) {
        v /= 1024;
        ++i;
    }
    if (i == 0)
        return std::to_string(bytes);
    return std::to_string(bytes) + " (" + std::to_string(v) + kSuffix[i] + ")";
}

// Hand-written because it is the hot path of reading json-file logs (one time per record) and the
// library is some 30 times slower. Measured over json-file times ("2026-11-30T02:08:38.012801765Z",
// records about 1 µs apart; 10M for this one, 1M for date), -O2, thread CPU time, best of three:
// this one 40-55 ns per time, 105-170 ns when every record is in a second of its own (a timegm()
// each); date::from_stream with "%FT%TZ" and a reused istringstream 1,470-1,650 ns. Users' times
// go through parseTimePoint() (time_text.h), which reads every form with date::parse; this one
// reads docker's form only.
std::optional<int64_t> parseRfc3339(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|+hh:mm|-hh:mm)
    auto num = [&](size_t pos, size_t len) -> std::optional<int> {
        if (pos + len > t.size())
            return std::nullopt;
        int v = 0;
        for (size_t i = pos; i < pos + len; ++i) {
            if (t[i] < '0' || t[i] > '9')
                return std::nullopt;
            v = v * 10 + (t[i] - '0');
        }
        return v;
    };
    auto year = num(0, 4), month = num(5, 2), day = num(8, 2), hour = num(11, 2),
         minute = num(14, 2), second = num(17, 2);
    if (!year || !month || !day || !hour || !minute || !second || t.size() < 20 || t[4] != '-' ||
        t[7] != '-' || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' ||
        t[16] != ':')
        return std::nullopt;
    size_t pos = 19;
    int64_t frac = 0;
    if (pos < t.size() && t[pos] == '.') {
        int digits = 0;
        for (++pos; pos < t.size() && t[pos] >= '0' && t[pos] <= '9'; ++pos) {
            if (digits++ < 9)
                frac = frac * 10 + (t[pos] - '0');
        }
        if (digits == 0)
            return std::nullopt;
        for (; digits < 9; ++digits)
            frac *= 10;
    }
    int64_t offset = 0;
    if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
        ++pos;
    } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
        if (!oh || !om || pos + 6 > t.size() || t[pos + 3] != ':')
            return std::nullopt;
        offset = (t[pos] == '+' ? 1 : -1) * (int64_t{*oh} * 3600 + int64_t{*om} * 60);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != t.size())
        return std::nullopt;
    // A log's consecutive records mostly share their second: timegm() once per second seen.
    thread_local char cached_prefix[19] = {};
    thread_local int64_t cached_secs = 0;
    int64_t secs;
    if (std::memcmp(cached_prefix, t.data(), 19) == 0) {
        secs = cached_secs;
    } else {
        struct tm tm {};
        tm.tm_year = *year - 1900;
        tm.tm_mon = *month - 1;
        tm.tm_mday = *day;
        tm.tm_hour = *hour;
        tm.tm_min = *minute;
        tm.tm_sec = *second;
        secs = static_cast<int64_t>(timegm(&tm));
        std::memcpy(cached_prefix, t.data(), 19);
        cached_secs = secs;
    }
    // Nanoseconds since the epoch in an int64_t reach from 1677-09-21 to 2262-04-11: a time
    // beyond is refused (the product would overflow), and one at the edge still fits.
    int64_t s = secs - offset, ns = 0;
    if (s < 0 && frac > 0) {
        ++s;
        frac -= 1'000'000'000;
    }
    if (__builtin_mul_overflow(s, int64_t{1'000'000'000}, &ns) ||
        __builtin_add_overflow(ns, frac, &ns))
        return std::nullopt;
    return ns;
}

}  // namespace ringlog
