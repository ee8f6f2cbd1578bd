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

namespace {

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

}  // namespace ringlog
