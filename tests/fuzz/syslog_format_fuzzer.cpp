// The syslog driver's options and messages (drivers/syslog/syslog_format.h): the input gives the
// syslog-address, syslog-facility and syslog-format values, a container (id, name, image, labels
// and env as an attach request may carry them), the tag template and the labels and env options,
// and records (any bytes but '\n', as the framer makes them, from any log file name, with any
// time, partial flags and drop count); the formatter is configured as SyslogDriver::create does.
//
// Invariants (docs/drivers/syslog.md): a parsed address is one of the forms the docs list, with a
// port from 1 to 65535; every message starts with <PRI>, PRI being facility × 8 + severity, and
// ends with '\n'; RFC 5424 messages have the header's fields as printable US-ASCII of their
// lengths and one SD element whose values, unescaped, are the container's; RFC 3164 messages end
// with "TAG[PID]: MSG"; an octet-counted frame's count is the message's length; a newline frame
// (unix streams) holds one '\n', its last byte, whatever the tag, labels and file names hold.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "drivers/docker/docker_attrs.h"
#include "drivers/syslog/syslog_format.h"
#include "service/ingest/attach_request.h"
#include "tests/fuzz/fuzz_support.h"

namespace ringlog {
namespace {

using namespace syslog;

bool hasControl(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f)
            return true;
    return false;
}

void checkAddress(std::string_view text) {
    auto a = parseAddress(text);
    if (!a)
        return;
    FUZZ_CHECK(a->text == text);
    switch (a->transport) {
        case Transport::kLocal:
            FUZZ_CHECK(text.empty());
            break;
        case Transport::kUnixStream:
        case Transport::kUnixDgram:
            FUZZ_CHECK(!a->path.empty() && a->path[0] == '/' && a->path.size() <= 107);
            break;
        default:
            FUZZ_CHECK(!a->host.empty() && a->port != 0);
            break;
    }
}

bool printableAscii(std::string_view s) {
    for (unsigned char c : s)
        if (c < 33 || c > 126)
            return false;
    return true;
}

// One header field of an RFC 5424 message at `pos`, up to the next space.
std::string_view field(std::string_view m, size_t& pos) {
    size_t space = m.find(' ', pos);
    FUZZ_CHECK(space != std::string_view::npos);
    std::string_view f = m.substr(pos, space - pos);
    pos = space + 1;
    return f;
}

// The SD element at `pos`: its SD-ID and its parameters, values unescaped.
std::vector<std::pair<std::string, std::string>> structuredData(std::string_view m, size_t& pos) {
    FUZZ_CHECK(pos < m.size() && m[pos] == '[');
    ++pos;
    size_t id_end = m.find_first_of(" ]", pos);
    FUZZ_CHECK(id_end != std::string_view::npos && m.substr(pos, id_end - pos) == kSdId);
    pos = id_end;
    std::vector<std::pair<std::string, std::string>> params;
    while (pos < m.size() && m[pos] == ' ') {
        ++pos;
        size_t eq = m.find('=', pos);
        FUZZ_CHECK(eq != std::string_view::npos);
        std::string_view name = m.substr(pos, eq - pos);
        FUZZ_CHECK(!name.empty() && name.size() <= 32 && printableAscii(name));
        FUZZ_CHECK(name.find_first_of("=]\" ") == std::string_view::npos);
        pos = eq + 1;
        FUZZ_CHECK(pos < m.size() && m[pos] == '"');
        std::string value;
        for (++pos;; ++pos) {
            FUZZ_CHECK(pos < m.size());
            char c = m[pos];
            if (c == '"')
                break;
            FUZZ_CHECK(c != ']');  // escaped, always (RFC 5424 6.3.3)
            if (c == '\\') {
                FUZZ_CHECK(pos + 1 < m.size());
                char e = m[pos + 1];
                FUZZ_CHECK(e == '"' || e == '\\' || e == ']');
                value.push_back(e);
                ++pos;
            } else {
                value.push_back(c);
            }
        }
        ++pos;
        params.emplace_back(std::string(name), std::move(value));
    }
    FUZZ_CHECK(pos < m.size() && m[pos] == ']');
    ++pos;
    return params;
}

void checkMessage(const FormatterConfig& config, const RecordView& r, const DropCount* dropped,
                  std::string_view m) {
    int severity = r.stream == Stream::kStderr ? kSeverityErr : kSeverityInfo;
    std::string pri = "<" + std::to_string(config.facility * 8 + severity) + ">";
    FUZZ_CHECK(m.substr(0, pri.size()) == pri);
    FUZZ_CHECK(!m.empty() && m.back() == '\n');
    std::string tail = std::string(r.message) + "\n";
    FUZZ_CHECK(m.size() >= tail.size() && m.substr(m.size() - tail.size()) == tail);
    std::string pid = std::to_string(config.pid);

    if (config.format == Format::kDocker || config.format == Format::kRfc3164) {
        static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
        std::string_view stamp = m.substr(pri.size(), 16);
        size_t month = kMonths.find(stamp.substr(0, 3));
        FUZZ_CHECK(stamp.size() == 16 && month != std::string_view::npos && month % 3 == 0);
        FUZZ_CHECK(stamp[3] == ' ' && stamp[6] == ' ' && stamp[9] == ':' && stamp[12] == ':' &&
                   stamp[15] == ' ');
        std::string rest = (config.format == Format::kRfc3164 ? config.hostname + " " : "") +
                           config.tag + "[" + pid + "]: " + tail;
        FUZZ_CHECK(m.substr(pri.size() + 16) == rest);
        return;
    }

    size_t pos = pri.size();
    FUZZ_CHECK(field(m, pos) == "1");
    std::string_view stamp = field(m, pos);
    bool micro = config.format == Format::kRfc5424Micro;
    FUZZ_CHECK(stamp.size() == (micro ? 27u : 20u) && stamp[4] == '-' && stamp[7] == '-' &&
               stamp[10] == 'T' && stamp[13] == ':' && stamp[16] == ':' && stamp.back() == 'Z');
    std::string_view hostname = field(m, pos), app_name = field(m, pos), proc_id = field(m, pos),
                     msg_id = field(m, pos);
    FUZZ_CHECK(!hostname.empty() && hostname.size() <= 255 && printableAscii(hostname));
    FUZZ_CHECK(!app_name.empty() && app_name.size() <= 48 && printableAscii(app_name));
    FUZZ_CHECK(proc_id == pid);
    FUZZ_CHECK(!msg_id.empty() && msg_id.size() <= 32 && printableAscii(msg_id));
    auto params = structuredData(m, pos);
    FUZZ_CHECK(params.size() >= 3);
    FUZZ_CHECK(params[0] == std::make_pair(std::string("container_id"), config.container.id));
    FUZZ_CHECK(params[1] == std::make_pair(std::string("container_name"), config.container.name));
    FUZZ_CHECK(params[2] == std::make_pair(std::string("image_name"), config.container.image));
    for (size_t i = 0; i < config.sd_params.size(); ++i) {
        FUZZ_CHECK(3 + i < params.size());
        FUZZ_CHECK(params[3 + i].first == sdName(config.sd_params[i].first));
        FUZZ_CHECK(params[3 + i].second == config.sd_params[i].second);
    }
    bool file_seen = false, dropped_seen = false;
    for (size_t i = 3 + config.sd_params.size(); i < params.size(); ++i) {
        if (params[i].first == "log_file") {
            FUZZ_CHECK(params[i].second == r.file);
            file_seen = true;
        }
        if (params[i].first == "dropped_lines") {
            FUZZ_CHECK(dropped != nullptr && params[i].second == std::to_string(dropped->lines));
            dropped_seen = true;
        }
    }
    FUZZ_CHECK(file_seen == !r.file.empty());
    FUZZ_CHECK(dropped_seen == (dropped != nullptr && dropped->any()));
    FUZZ_CHECK(m.substr(pos) == " " + tail);
}

}  // namespace
}  // namespace ringlog

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // RFC 3164 stamps are local time: one zone, so that the fuzzer does not chase the zone files.
    ::setenv("TZ", "UTC", 1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    using namespace ringlog::syslog;
    FuzzedDataProvider in(data, size);
    static const char* const kFormats[] = {"", "rfc3164", "rfc5424", "rfc5424micro"};
    std::string format_text = in.ConsumeBool() ? in.ConsumeRandomLengthString(16)
                                               : kFormats[in.ConsumeIntegralInRange<size_t>(0, 3)];
    std::string facility_text = in.ConsumeRandomLengthString(12);
    checkAddress(in.ConsumeRandomLengthString(128));

    auto format = parseFormat(format_text);
    auto facility = parseFacility(facility_text);
    if (facility)
        FUZZ_CHECK(*facility >= 0 && *facility <= 23);
    if (!format || !facility)
        return 0;

    // The container as an attach request may describe it (service/ingest/attach_request.cpp).
    ContainerInfo info;
    info.id = in.ConsumeRandomLengthString(64);
    info.name = in.ConsumeRandomLengthString(32);
    info.image = in.ConsumeRandomLengthString(32);
    if (checkContainerId(info.id) || checkContainerName(info.name) || hasControl(info.image))
        return 0;
    for (int i = in.ConsumeIntegralInRange<int>(0, 4); i > 0; --i) {
        std::string key = in.ConsumeRandomLengthString(16);
        std::string value = in.ConsumeRandomLengthString(32);
        if (key.empty() || hasControl(key) || key.find('=') != std::string::npos)
            continue;
        (in.ConsumeBool() ? info.labels : info.env).emplace_back(key, value);
    }
    OptionMap options{{"labels", in.ConsumeRandomLengthString(32)},
                      {"env", in.ConsumeRandomLengthString(32)},
                      {"labels-regex", ""},
                      {"env-regex", ""}};
    auto tag = expandTag(in.ConsumeRandomLengthString(48), info);
    if (!tag)
        return 0;
    auto attrs = extraAttributes(info, options, nullptr);
    FUZZ_CHECK(attrs.ok());

    // As SyslogDriver::create configures its formatter.
    FormatterConfig config;
    config.format = *format;
    config.facility = *facility;
    config.hostname = "host1";
    config.tag = *tag;
    config.pid = in.ConsumeIntegralInRange<int>(1, 4194304);
    for (auto& [k, v] : *attrs)
        config.sd_params.emplace_back(k, v);
    config.container = info;
    Formatter formatter(config);

    while (in.remaining_bytes() > 0) {
        RecordView r;
        r.stream = in.ConsumeBool() ? Stream::kStderr : Stream::kStdout;
        r.flags =
            in.ConsumeIntegral<uint8_t>() & (kRecordNewline | kRecordPartial | kRecordPartialLast);
        r.partial_ordinal = in.ConsumeIntegral<uint32_t>();
        r.partial_id = in.ConsumeIntegral<uint64_t>();
        r.sequence = in.ConsumeIntegral<uint64_t>();
        r.time_ns = in.ConsumeIntegral<int64_t>();
        // A log file's name in its directory: any bytes but '/' and NUL.
        std::string file = in.ConsumeBool() ? in.ConsumeRandomLengthString(24) : "";
        if (file.find_first_of(std::string("/\0", 2)) != std::string::npos)
            file.clear();
        r.file = file;
        DropCount dropped{in.ConsumeIntegral<uint64_t>(), in.ConsumeIntegral<uint64_t>()};
        bool with_drop = in.ConsumeBool();
        // A record never holds a '\n' (the framer cuts lines at it).
        std::string message = in.ConsumeRandomLengthString(256);
        message.erase(std::remove(message.begin(), message.end(), '\n'), message.end());
        r.message = message;

        std::string m;
        formatter.append(m, r, with_drop ? &dropped : nullptr);
        if (std::getenv("RINGLOG_FUZZ_DEBUG") != nullptr)  // to see what a crash's input did
            for (unsigned char c : m)
                std::fprintf(stderr, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
        checkMessage(config, r, with_drop ? &dropped : nullptr, m);
        std::string frame;
        appendOctetCountedFrame(frame, m);
        size_t space = frame.find(' ');
        FUZZ_CHECK(space != std::string::npos && frame.substr(space + 1) == m);
        FUZZ_CHECK(frame.substr(0, space) == std::to_string(m.size()));
        // Newline framing: the message's own '\n' is the frame's only one.
        std::string line = "framed before: ";
        size_t start = line.size();
        appendNewlineFrame(line, m);
        FUZZ_CHECK(line.size() - start == m.size() && line.find('\n') == line.size() - 1);
        for (size_t i = 0; i < m.size(); ++i)
            FUZZ_CHECK(line[start + i] == (m[i] == '\n' && i + 1 < m.size() ? ' ' : m[i]));
    }
    return 0;
}
