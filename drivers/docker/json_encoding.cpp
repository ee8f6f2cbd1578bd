#include "drivers/docker/json_encoding.h"

#include <array>
#include <climits>
#include <ctime>

namespace ringlog::json {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i], or 0 when the byte there does not start one (the
// same acceptance as Go's utf8.DecodeRune: no overlongs, no surrogates, at most U+10FFFF).
size_t utf8Length(std::string_view s, size_t i, uint32_t& rune) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    size_t n = s.size() - i;
    auto cont = [&](size_t k) { return k < n && (b(k) & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) {
        if (!cont(1))
            return 0;
        rune = ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2))
            return 0;
        if (c == 0xE0 && b(1) < 0xA0)
            return 0;  // overlong
        if (c == 0xED && b(1) > 0x9F)
            return 0;  // surrogate
        rune = ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3))
            return 0;
        if (c == 0xF0 && b(1) < 0x90)
            return 0;  // overlong
        if (c == 0xF4 && b(1) > 0x8F)
            return 0;  // above U+10FFFF
        rune =
            ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
        return 4;
    }
    return 0;
}

// Bytes that are copied as they are: printable ASCII but the five that get escaped. Log lines are
// mostly runs of these, and scanning them through a table is the encoder's hot loop.
constexpr std::array<bool, 256> kPlainByte = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c)
        t[static_cast<size_t>(c)] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
    return t;
}();

template <bool kGoShortForms>
void appendString(std::string& out, std::string_view s) {
    out.push_back('"');
    size_t start = 0;
    size_t i = 0;
    const auto* bytes = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    auto flush = [&] {
        if (start < i)
            out.append(s.data() + start, i - start);
    };
    while (i < n) {
        while (i + 4 <= n && kPlainByte[bytes[i]] && kPlainByte[bytes[i + 1]] &&
               kPlainByte[bytes[i + 2]] && kPlainByte[bytes[i + 3]])
            i += 4;
        while (i < n && kPlainByte[bytes[i]])
            ++i;
        if (i == n)
            break;
        unsigned char c = bytes[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
                ++i;
                continue;
            }
            flush();
            switch (c) {
                case '\\':
                    out.append("\\\\");
                    break;
                case '"':
                    out.append("\\\"");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\t':
                    if (kGoShortForms) {
                        out.append("\\t");
                        break;
                    }
                    [[fallthrough]];
                default:
                    if (kGoShortForms && c == '\b') {
                        out.append("\\b");
                    } else if (kGoShortForms && c == '\f') {
                        out.append("\\f");
                    } else {
                        out.append("\\u00");
                        out.push_back(kHex[c >> 4]);
                        out.push_back(kHex[c & 0xF]);
                    }
            }
            start = ++i;
            continue;
        }
        uint32_t rune = 0;
        size_t len = utf8Length(s, i, rune);
        if (len == 0) {
            flush();
            out.append("\\ufffd");
            start = ++i;
            continue;
        }
        if (rune == 0x2028 || rune == 0x2029) {
            flush();
            out.append("\\u202");
            out.push_back(kHex[rune & 0xF]);
            i += len;
            start = i;
            continue;
        }
        i += len;
    }
    flush();
    out.push_back('"');
}

}  // namespace

void appendDockerString(std::string& out, std::string_view bytes) {
    appendString<false>(out, bytes);
}
void appendGoString(std::string& out, std::string_view bytes) {
    appendString<true>(out, bytes);
}

namespace {

// "00" to "99": two digits per division, on a path taken once per record.
constexpr auto kDigitPairs = [] {
    std::array<char, 200> pairs{};
    for (int i = 0; i < 100; ++i) {
        pairs[2 * i] = static_cast<char>('0' + i / 10);
        pairs[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
    return pairs;
}();

}  // namespace

void appendNanoFraction(std::string& out, int64_t frac) {
    if (frac == 0)
        return;
    char buf[10];  // '.' and nine digits, trailing zeros then cut as docker's RFC3339Nano does
    buf[0] = '.';
    auto f = static_cast<uint32_t>(frac);
    for (int pos = 9; pos > 1; pos -= 2) {
        uint32_t pair = f % 100;
        f /= 100;
        buf[pos - 1] = kDigitPairs[2 * pair];
        buf[pos] = kDigitPairs[2 * pair + 1];
    }
    buf[1] = static_cast<char>('0' + f);
    size_t len = 10;
    while (buf[len - 1] == '0')
        --len;
    out.append(buf, len);
}

void appendRfc3339Nano(std::string& out, int64_t time_ns) {
    int64_t secs = time_ns / 1'000'000'000;
    int64_t frac = time_ns % 1'000'000'000;
    if (frac < 0) {
        frac += 1'000'000'000;
        --secs;
    }
    // Consecutive records mostly share their second: gmtime_r and strftime once per second.
    thread_local int64_t cached_secs = INT64_MIN;
    thread_local char cached[48];
    thread_local size_t cached_len = 0;
    if (secs != cached_secs) {
        time_t t = static_cast<time_t>(secs);
        struct tm tm;
        gmtime_r(&t, &tm);
        cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_secs = secs;
    }
    out.append(cached, cached_len);
    appendNanoFraction(out, frac);
    out.push_back('Z');
}

std::string encodeAttrs(const std::map<std::string, std::string>& attrs) {
    std::string out = "{";
    for (const auto& [k, v] : attrs) {
        if (out.size() > 1)
            out.push_back(',');
        appendGoString(out, k);
        out.push_back(':');
        appendGoString(out, v);
    }
    out.push_back('}');
    return out;
}

}  // namespace ringlog::json
