#include "service/base/time_text.h"

#include <date/date.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <sstream>
#include <string>

namespace ringlog {

const char* const kTimeForms =
    "RFC 3339 (2026-11-30T02:08:38Z, 2026-11-30T02:08:38.5+01:00; without a zone it is local "
    "time: 2026-11-30T02:08, 2026-11-30 02:08:38), a date (2026-11-30: local midnight), Unix "
    "seconds (1764468518.5, @1764468518), a duration before now (10m, 1h30m, 1.5h, 2d, -1h, "
    "30 min ago; +1h is after now), now, today, yesterday or tomorrow";

namespace {

constexpr int64_t kSecond = 1'000'000'000;
__extension__ using U128 = unsigned __int128;  // sums of spans before the range check

bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && isSpace(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isSpace(s.back()))
        s.remove_suffix(1);
    return s;
}

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

struct SpanUnit {
    std::string_view name;
    int64_t ns;
};

// systemd's spellings (src/basic/time-util.c), which include Go's (ns, us, µs, μs, ms, s, m, h).
constexpr int64_t kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;
constexpr SpanUnit kSpanUnits[] = {
    {"ns", 1},
    {"nsec", 1},
    {"us", 1000},
    {"usec", 1000},
    {"\xc2\xb5s", 1000},  // µs, MICRO SIGN
    {"\xce\xbcs", 1000},  // μs, GREEK SMALL LETTER MU
    {"ms", 1'000'000},
    {"msec", 1'000'000},
    {"s", kSecond},
    {"sec", kSecond},
    {"second", kSecond},
    {"seconds", kSecond},
    {"m", kMinute},
    {"min", kMinute},
    {"minute", kMinute},
    {"minutes", kMinute},
    {"h", kHour},
    {"hr", kHour},
    {"hour", kHour},
    {"hours", kHour},
    {"d", kDay},
    {"day", kDay},
    {"days", kDay},
    {"w", 7 * kDay},
    {"week", 7 * kDay},
    {"weeks", 7 * kDay},
    {"M", 2'629'800 * kSecond},  // systemd's month: a twelfth of its year
    {"month", 2'629'800 * kSecond},
    {"months", 2'629'800 * kSecond},
    {"y", 31'557'600 * kSecond},  // 365.25 days
    {"year", 31'557'600 * kSecond},
    {"years", 31'557'600 * kSecond},
};

// "1764468518", "1764468518.5": seconds and up to 9 digits of fraction, exactly.
std::optional<int64_t> parseUnixSeconds(std::string_view t) {
    size_t i = 0;
    int64_t secs = 0;
    while (i < t.size() && isDigit(t[i])) {
        if (secs > (INT64_MAX / kSecond - 9) / 10)
            return std::nullopt;
        secs = secs * 10 + (t[i++] - '0');
    }
    if (i == 0)
        return std::nullopt;
    int64_t frac = 0;
    if (i < t.size() && t[i] == '.') {
        size_t from = ++i;
        for (; i < t.size() && isDigit(t[i]); ++i)
            if (i - from < 9)  // more are refused below; read on without overflowing meanwhile
                frac = frac * 10 + (t[i] - '0');
        size_t digits = i - from;
        if (digits == 0 || digits > 9)
            return std::nullopt;
        for (; digits < 9; ++digits)
            frac *= 10;
    }
    if (i != t.size())
        return std::nullopt;
    return secs * kSecond + frac;
}

// Local midnight `days_from_today` days from the local day of `now_ns`.
std::optional<int64_t> localMidnight(int64_t now_ns, int days_from_today) {
    time_t now = static_cast<time_t>(now_ns / kSecond - (now_ns % kSecond < 0 ? 1 : 0));
    struct tm tm {};
    if (!localtime_r(&now, &tm))
        return std::nullopt;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday += days_from_today;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == static_cast<time_t>(-1))
        return std::nullopt;
    return static_cast<int64_t>(t) * kSecond;
}

using NanoTime = std::chrono::nanoseconds;

// One of `formats` that reads all of `text` (date::parse reads the calendar, checks it and
// applies a %Ez offset).
template <typename TimePoint>
bool parseWith(const std::string& text, std::initializer_list<const char*> formats,
               TimePoint& out) {
    for (const char* format : formats) {
        std::istringstream in(text);
        in.imbue(std::locale::classic());
        TimePoint tp{};
        date::from_stream(in, format, tp);
        if (!in.fail() && in.peek() == std::char_traits<char>::eof()) {
            out = tp;
            return true;
        }
    }
    return false;
}

// "2026-11-30T02:08:38.5Z", "2026-11-30 02:08+01:00", "2026-11-30T02:08" (local), "2026-11-30".
std::optional<int64_t> parseCalendar(std::string_view view) {
    // Nanoseconds since the epoch (int64_t) reach from 1677-09-21 to 2262-04-11; date::parse into
    // them would overflow beyond, so a year outside 1678 to 2261 is not a time (the caller saw
    // four digits and a '-').
    int year =
        (view[0] - '0') * 1000 + (view[1] - '0') * 100 + (view[2] - '0') * 10 + (view[3] - '0');
    if (year < 1678 || year > 2261)
        return std::nullopt;
    std::string t(view);
    if (t.size() > 10 && (t[10] == ' ' || t[10] == 't'))
        t[10] = 'T';  // journalctl's space; RFC 3339 allows a lowercase t
    // Which text has a zone: Z, journalctl's " UTC", or an offset after the time of day.
    bool zoned = false;
    if (t.size() > 11 && (t.back() == 'Z' || t.back() == 'z')) {
        t.replace(t.size() - 1, 1, "+00:00");
        zoned = true;
    } else if (t.size() > 14 && t.compare(t.size() - 4, 4, " UTC") == 0) {
        t.replace(t.size() - 4, 4, "+00:00");
        zoned = true;
    } else if (t.size() > 11 && t.find_first_of("+-", 11) != std::string::npos) {
        zoned = true;
    }
    // date::parse is lenient where RFC 3339 is not: it takes "+1" for an offset and "38." for
    // seconds. Both shapes are checked here first.
    auto digitAt = [&](size_t i) { return i < t.size() && isDigit(t[i]); };
    if (!digitAt(5) || !digitAt(6) || t[7] != '-' || !digitAt(8) || !digitAt(9))
        return std::nullopt;
    if (auto dot = t.find('.'); dot != std::string::npos && !digitAt(dot + 1))
        return std::nullopt;
    // The time of day: HH, HH:MM or HH:MM:SS, two digits each, then a fraction of up to nine
    // digits (date::parse takes longer fields, and overflows converting twelve-digit seconds).
    if (t.size() > 10) {
        size_t end = zoned ? t.find_first_of("+-", 11) : t.size();
        std::string_view tod = std::string_view(t).substr(11, end - 11);
        size_t i = 0;
        for (int field = 0; field < 3 && i + 2 <= tod.size(); ++field) {
            if (field > 0 && tod[i] != ':')
                break;
            size_t at = field > 0 ? i + 1 : i;
            if (at + 2 > tod.size() || !isDigit(tod[at]) || !isDigit(tod[at + 1]))
                return std::nullopt;
            i = at + 2;
        }
        if (i == 0)
            return std::nullopt;
        if (i == 8 && i < tod.size() && tod[i] == '.') {
            size_t digits = 0;
            for (++i; i < tod.size() && isDigit(tod[i]); ++i)
                ++digits;
            if (digits > 9)
                return std::nullopt;
        }
        if (i != tod.size())
            return std::nullopt;
    }
    if (zoned) {
        size_t sign = t.find_first_of("+-", 11);
        size_t zone_length = t.size() - sign;
        bool hh_mm =
            zone_length == 6 && t[sign + 3] == ':' && digitAt(sign + 4) && digitAt(sign + 5);
        bool hhmm = zone_length == 5 && digitAt(sign + 3) && digitAt(sign + 4);
        if (!digitAt(sign + 1) || !digitAt(sign + 2) || !(hh_mm || hhmm))
            return std::nullopt;
        date::sys_time<NanoTime> tp;
        if (!parseWith(t, {"%FT%T%Ez", "%FT%R%Ez", "%FT%T%z", "%FT%R%z"}, tp))
            return std::nullopt;
        return tp.time_since_epoch().count();
    }
    date::local_time<NanoTime> tp;
    if (!parseWith(t, {"%FT%T", "%FT%R", "%FT%H", "%F"}, tp))
        return std::nullopt;
    // To UTC with the process's TZ: date's tz.h needs the compiled tz library, which Debian does
    // not ship; mktime() knows TZ and DST and normalises a skipped local time forward.
    auto day = std::chrono::floor<date::days>(tp);
    date::year_month_day ymd{day};
    date::hh_mm_ss<NanoTime> tod{tp - day};
    struct tm tm {};
    tm.tm_year = static_cast<int>(ymd.year()) - 1900;
    tm.tm_mon = static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
    tm.tm_mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
    tm.tm_hour = static_cast<int>(tod.hours().count());
    tm.tm_min = static_cast<int>(tod.minutes().count());
    tm.tm_sec = static_cast<int>(tod.seconds().count());
    tm.tm_isdst = -1;
    errno = 0;
    time_t secs = mktime(&tm);
    if (secs == static_cast<time_t>(-1) && errno != 0)
        return std::nullopt;
    return static_cast<int64_t>(secs) * kSecond + tod.subseconds().count();
}

Error notATime(std::string_view text) {
    return invalid("\"" + std::string(text) + "\" is not a time: use " + kTimeForms);
}

std::optional<int64_t> offsetFromNow(int64_t now_ns, int64_t span_ns, int sign) {
    int64_t out = 0;
    if (sign < 0 ? __builtin_sub_overflow(now_ns, span_ns, &out)
                 : __builtin_add_overflow(now_ns, span_ns, &out))
        return std::nullopt;
    return out;
}

}  // namespace

std::optional<int64_t> parseTimeSpanNs(std::string_view text) {
    std::string_view t = trim(text);
    if (t.empty())
        return std::nullopt;
    // A bare number alone is seconds, as systemd and docker's --time take it.
    if (std::all_of(t.begin(), t.end(), [](char c) { return isDigit(c) || c == '.'; })) {
        auto ns = parseUnixSeconds(t);
        return ns;
    }
    U128 total = 0;
    size_t i = 0;
    while (i < t.size()) {
        // A number: digits, a fraction, or both ("1", "1.5", ".5").
        U128 whole = 0, frac = 0, frac_scale = 1;
        size_t from = i;
        while (i < t.size() && isDigit(t[i])) {
            whole = whole * 10 + static_cast<unsigned>(t[i++] - '0');
            if (whole > INT64_MAX)
                return std::nullopt;
        }
        size_t digits = i - from;
        if (i < t.size() && t[i] == '.') {
            ++i;
            for (; i < t.size() && isDigit(t[i]); ++i, ++digits) {
                if (frac_scale < 1'000'000'000'000'000'000ULL) {  // beyond 1e-18: below a ns
                    frac = frac * 10 + static_cast<unsigned>(t[i] - '0');
                    frac_scale *= 10;
                }
            }
        }
        if (digits == 0)
            return std::nullopt;
        while (i < t.size() && isSpace(t[i]))
            ++i;
        size_t unit_from = i;
        while (i < t.size() && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
                                static_cast<unsigned char>(t[i]) >= 0x80))
            ++i;
        std::string_view unit = t.substr(unit_from, i - unit_from);
        const SpanUnit* found = nullptr;
        for (const auto& u : kSpanUnits)
            if (u.name == unit)
                found = &u;
        if (!found)
            return std::nullopt;  // no unit after a number among others, or an unknown one
        auto scale = static_cast<U128>(found->ns);
        total += whole * scale + frac * scale / frac_scale;
        if (total > INT64_MAX)
            return std::nullopt;
        while (i < t.size() && isSpace(t[i]))
            ++i;
    }
    return static_cast<int64_t>(total);
}

Result<int64_t> parseTimePoint(std::string_view text, int64_t now_ns) {
    std::string_view t = trim(text);
    std::optional<int64_t> ns;
    if (t.empty()) {
        // refused below
    } else if (t == "now") {
        ns = now_ns;
    } else if (t == "today") {
        ns = localMidnight(now_ns, 0);
    } else if (t == "yesterday") {
        ns = localMidnight(now_ns, -1);
    } else if (t == "tomorrow") {
        ns = localMidnight(now_ns, 1);
    } else if (t.front() == '@') {
        ns = parseUnixSeconds(t.substr(1));
    } else if (t.size() > 4 && t.substr(t.size() - 3) == "ago" && isSpace(t[t.size() - 4])) {
        if (auto span = parseTimeSpanNs(t.substr(0, t.size() - 3)))
            ns = offsetFromNow(now_ns, *span, -1);
    } else if (t.front() == '-' || t.front() == '+') {
        if (auto span = parseTimeSpanNs(t.substr(1)))
            ns = offsetFromNow(now_ns, *span, t.front() == '-' ? -1 : 1);
    } else if (std::all_of(t.begin(), t.end(), [](char c) { return isDigit(c) || c == '.'; })) {
        ns = parseUnixSeconds(t);  // docker's: a bare number is a time, not a duration
    } else if (t.size() >= 10 && isDigit(t[0]) && isDigit(t[1]) && isDigit(t[2]) && isDigit(t[3]) &&
               t[4] == '-') {
        ns = parseCalendar(t);
    } else if (auto span = parseTimeSpanNs(t)) {
        ns = offsetFromNow(now_ns, *span, -1);  // docker's Go durations: before now
    }
    if (!ns)
        return notATime(text);
    return *ns;
}

}  // namespace ringlog
