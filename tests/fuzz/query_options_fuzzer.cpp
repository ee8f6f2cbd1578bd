// Query's options over D-Bus (a{sv}, docs/dbus.md), parsed by parseQueryOptions
// (service/bus/bus_api.h): the input is a list of entries, each a name (one of Query's or any
// other) and a value of one of the types a caller may put in the variant, with the time texts
// (parseTimePoint) and grep patterns (PCRE2) that come with them; strings are UTF-8 without NUL,
// as the bus delivers them. A grep that compiles is then matched against messages from the input,
// invalid UTF-8 included (as a log may hold).
//
// Invariants: a bad option is an sdbus::Error named org.freedesktop.DBus.Error.InvalidArgs whose
// message is valid UTF-8 (the reply is a D-Bus string) and names the option; nothing else is
// thrown; what parses keeps the values given.
#include <fuzzer/FuzzedDataProvider.h>

#include <sdbus-c++/sdbus-c++.h>
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "service/bus/bus_api.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// As the bus delivers strings: valid UTF-8 without NUL. Bytes that are not are read as Latin-1.
std::string busString(std::string s) {
    s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
    if (ringlog::fuzz::validUtf8(s))
        return s;
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back(static_cast<char>(0xC0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
        }
    }
    return out;
}

sdbus::Variant value(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange<int>(0, 10)) {
        case 0:
            return sdbus::Variant(in.ConsumeIntegral<uint64_t>());
        case 1:
            return sdbus::Variant(in.ConsumeIntegral<int64_t>());
        case 2:
            return sdbus::Variant(in.ConsumeIntegral<uint32_t>());
        case 3:
            return sdbus::Variant(in.ConsumeIntegral<int32_t>());
        case 4:
            return sdbus::Variant(in.ConsumeBool());
        case 5: {
            std::vector<std::string> list;
            for (int n = in.ConsumeIntegralInRange<int>(0, 3); n > 0; --n)
                list.push_back(busString(in.ConsumeRandomLengthString(12)));
            return sdbus::Variant(list);
        }
        case 6:
            return sdbus::Variant(in.ConsumeFloatingPoint<double>());
        case 7:
            return sdbus::Variant(in.ConsumeIntegral<uint8_t>());
        case 8:
            return sdbus::Variant(in.ConsumeIntegral<int16_t>());
        default:
            return sdbus::Variant(busString(in.ConsumeRandomLengthString(64)));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    FuzzedDataProvider in(data, size);
    static const char* const kNames[] = {"since",   "until",        "tail",
                                         "streams", "format",       "follow",
                                         "grep",    "after_cursor", "case_sensitive"};
    std::map<std::string, sdbus::Variant> options;
    for (int n = in.ConsumeIntegralInRange<int>(0, 6); n > 0; --n) {
        std::string name = in.ConsumeIntegralInRange<int>(0, 15) == 0
                               ? busString(in.ConsumeRandomLengthString(16))
                               : kNames[in.ConsumeIntegralInRange<size_t>(0, 8)];
        options.insert_or_assign(name, value(in));
    }
    std::vector<std::string> messages;
    while (in.remaining_bytes() > 0)
        messages.push_back(in.ConsumeRandomLengthString(128));

    QueryOptions q;
    try {
        q = parseQueryOptions(options);
    } catch (const sdbus::Error& e) {
        FUZZ_CHECK(e.getName() == "org.freedesktop.DBus.Error.InvalidArgs");
        FUZZ_CHECK(!e.getMessage().empty() && fuzz::validUtf8(e.getMessage()));
        FUZZ_CHECK(e.getMessage().find('"') != std::string::npos);  // it names the option
        return 0;
    }
    // Anything else thrown would reach sd-bus as an "internal error": the fuzzer stops on it.

    if (auto it = options.find("tail"); it != options.end())
        FUZZ_CHECK(q.filter.tail.has_value());
    if (auto it = options.find("follow"); it != options.end())
        FUZZ_CHECK(q.follow == it->second.get<bool>());
    if (auto it = options.find("after_cursor"); it != options.end())
        FUZZ_CHECK(q.filter.after_cursor == it->second.get<std::string>());
    if (auto it = options.find("streams"); it != options.end()) {
        auto streams = it->second.get<std::vector<std::string>>();
        bool out = std::find(streams.begin(), streams.end(), "stdout") != streams.end();
        bool err = std::find(streams.begin(), streams.end(), "stderr") != streams.end();
        FUZZ_CHECK(q.filter.stdout_stream == out && q.filter.stderr_stream == err);
    }
    FUZZ_CHECK((options.count("grep") != 0) == (q.filter.grep != nullptr));
    if (q.filter.grep)
        for (const auto& m : messages)
            (void)q.filter.grep->matches(m);
    return 0;
}
