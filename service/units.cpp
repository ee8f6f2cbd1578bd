#include "units.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include "error.h"

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

std::optional<int64_t> parseSize(std::string_view text) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    if (digits == 0)
        return std::nullopt;
    auto number = parseInteger(text.substr(0, digits));
    if (!number)
        return std::nullopt;
    std::string unit = lower(text.substr(digits));
    int shift = 0;
    if (unit.empty() || unit == "b") {
        shift = 0;
    } else {
        static constexpr std::string_view kUnits = "kmgt";
        auto pos = kUnits.find(unit[0]);
        std::string rest = unit.substr(1);
        if (pos == std::string_view::npos || !(rest.empty() || rest == "b" || rest == "ib"))
            return std::nullopt;
        shift = 10 * static_cast<int>(pos + 1);
    }
    if (*number > (INT64_MAX >> shift))
        return std::nullopt;
    return *number << shift;
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

}  // namespace ringlog
