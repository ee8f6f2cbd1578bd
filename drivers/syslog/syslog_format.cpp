#include "drivers/syslog/syslog_format.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <utility>

namespace ringlog::syslog {

namespace {

constexpr std::array<std::pair<std::string_view, int>, 20> kFacilities{{
    {"kern", 0},      {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
    {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
    {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18},
    {"local3", 19},   {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23},
}};

Error badAddress(std::string_view value, std::string_view why) {
    return invalid("log option \"syslog-address\": \"" + std::string(value) + "\" " +
                   std::string(why) +
                   " (expected unix:///path, unixgram:///path, udp://host[:port], "
                   "tcp://host[:port] or tcp+tls://host[:port])");
}

// An RFC 5424 header field: PRINTUSASCII only, at most `max` characters, "-" when empty.
std::string headerField(std::string_view s, size_t max) {
    std::string out;
    for (char c : s.substr(0, max))
        out.push_back(c >= 33 && c <= 126 ? c : '_');
    return out.empty() ? "-" : out;
}

void append2(std::string& out, int v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

void appendNumber(std::string& out, uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void appendParam(std::string& out, std::string_view name, std::string_view value) {
    out.push_back(' ');
    out.append(name);
    out.append("=\"");
    appendSdValue(out, value);
    out.push_back('"');
}

}  // namespace

Result<Address> parseAddress(std::string_view value) {
    Address a;
    a.text = value;
    if (value.empty())
        return a;  // the local syslog
    size_t sep = value.find("://");
    if (sep == std::string_view::npos)
        return badAddress(value, "is not of the form proto://address");
    std::string_view scheme = value.substr(0, sep);
    std::string_view rest = value.substr(sep + 3);
    if (scheme == "unix" || scheme == "unixgram") {
        a.transport = scheme == "unix" ? Transport::kUnixStream : Transport::kUnixDgram;
        if (rest.empty() || rest.front() != '/')
            return badAddress(value, "does not name an absolute socket path");
        if (rest.size() > 107)
            return badAddress(value, "names a socket path longer than 107 bytes");
        a.path = rest;
        return a;
    }
    if (scheme == "udp")
        a.transport = Transport::kUdp;
    else if (scheme == "tcp")
        a.transport = Transport::kTcp;
    else if (scheme == "tcp+tls")
        a.transport = Transport::kTls;
    else
        return badAddress(value, "has an unknown protocol \"" + std::string(scheme) + "\"");
    if (!rest.empty() && rest.back() == '/')
        rest.remove_suffix(1);
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {
        size_t close = rest.find(']');
        if (close == std::string_view::npos)
            return badAddress(value, "has an unclosed '[' in its host");
        a.host = rest.substr(1, close - 1);
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return badAddress(value, "has something other than :port after its host");
            port = after.substr(1);
            if (port.empty())
                return badAddress(value, "has an empty port");
        }
    } else {
        size_t colon = rest.find(':');
        if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos)
            return badAddress(value, "has an IPv6 host without [ ]");
        a.host = rest.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = rest.substr(colon + 1);
            if (port.empty())
                return badAddress(value, "has an empty port");
        }
        if (a.host.find_first_of("/?#@ ") != std::string::npos)
            return badAddress(value, "has a path, query or user part; only host[:port] is allowed");
    }
    if (a.host.empty())
        return badAddress(value, "has no host");
    if (port.empty()) {
        a.port = a.transport == Transport::kTls ? 6514 : 514;
    } else {
        unsigned p = 0;
        auto r = std::from_chars(port.data(), port.data() + port.size(), p);
        if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p == 0 || p > 65535)
            return badAddress(value, "has a port that is not a number from 1 to 65535");
        a.port = static_cast<uint16_t>(p);
    }
    return a;
}

Result<int> parseFacility(std::string_view value) {
    if (value.empty())
        return 3;
    for (const auto& [name, code] : kFacilities)
        if (name == value)
            return code;
    int n = -1;
    auto r = std::from_chars(value.data(), value.data() + value.size(), n);
    if (r.ec == std::errc() && r.ptr == value.data() + value.size() && n >= 0 && n <= 23)
        return n;
    return invalid("log option \"syslog-facility\": \"" + std::string(value) +
                   "\" is not a syslog facility (kern, user, mail, daemon, auth, syslog, lpr, "
                   "news, uucp, cron, authpriv, ftp, local0 … local7, or a number 0 … 23)");
}

Result<Format> parseFormat(std::string_view value) {
    if (value.empty())
        return Format::kDocker;
    if (value == "rfc3164")
        return Format::kRfc3164;
    if (value == "rfc5424")
        return Format::kRfc5424;
    if (value == "rfc5424micro")
        return Format::kRfc5424Micro;
    return invalid("log option \"syslog-format\": \"" + std::string(value) +
                   "\" is not a syslog format (rfc3164, rfc5424, rfc5424micro, or empty for "
                   "docker's default)");
}

void appendSdValue(std::string& out, std::string_view value) {
    for (char c : value) {
        if (c == '"' || c == '\\' || c == ']')
            out.push_back('\\');
        out.push_back(c);
    }
}

std::string sdName(std::string_view key) {
    std::string out;
    for (char c : key.substr(0, 32))
        out.push_back(c >= 33 && c <= 126 && c != '=' && c != ']' && c != '"' ? c : '_');
    return out.empty() ? "_" : out;
}

Formatter::Formatter(FormatterConfig c)
    : format_(c.format),
      facility_(c.facility),
      hostname_(std::move(c.hostname)),
      tag_(std::move(c.tag)),
      pid_(std::to_string(c.pid)),
      app_name_(headerField(tag_, 48)),
      msg_id_(headerField(tag_, 32)) {
    if (format_ == Format::kRfc5424 || format_ == Format::kRfc5424Micro) {
        hostname_ = headerField(hostname_, 255);
        sd_common_ = "[";
        sd_common_.append(kSdId);
        appendParam(sd_common_, "container_id", c.container.id);
        appendParam(sd_common_, "container_name", c.container.name);
        appendParam(sd_common_, "image_name", c.container.image);
        for (const auto& [k, v] : c.sd_params)
            appendParam(sd_common_, sdName(k), v);
    }
}

void Formatter::appendStamp(std::string& out, int64_t time_ns) {
    int64_t sec = time_ns / 1'000'000'000;
    int64_t ns = time_ns % 1'000'000'000;
    if (ns < 0) {
        ns += 1'000'000'000;
        --sec;
    }
    bool rfc5424 = format_ == Format::kRfc5424 || format_ == Format::kRfc5424Micro;
    if (sec != stamp_second_) {
        static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
        time_t t = static_cast<time_t>(sec);
        struct tm tm {};
        stamp_.clear();
        if (rfc5424) {
            gmtime_r(&t, &tm);
            int year = tm.tm_year + 1900;
            append2(stamp_, year / 100);
            append2(stamp_, year % 100);
            stamp_.push_back('-');
            append2(stamp_, tm.tm_mon + 1);
            stamp_.push_back('-');
            append2(stamp_, tm.tm_mday);
            stamp_.push_back('T');
        } else {
            // Go's time.Stamp, "Jan _2 15:04:05", in local time as docker's.
            localtime_r(&t, &tm);
            stamp_.append(kMonths.substr(static_cast<size_t>(tm.tm_mon) * 3, 3));
            stamp_.push_back(' ');
            stamp_.push_back(tm.tm_mday < 10 ? ' ' : static_cast<char>('0' + tm.tm_mday / 10));
            stamp_.push_back(static_cast<char>('0' + tm.tm_mday % 10));
            stamp_.push_back(' ');
        }
        append2(stamp_, tm.tm_hour);
        stamp_.push_back(':');
        append2(stamp_, tm.tm_min);
        stamp_.push_back(':');
        append2(stamp_, tm.tm_sec);
        stamp_second_ = sec;
    }
    out.append(stamp_);
    if (format_ == Format::kRfc5424Micro) {
        int64_t us = ns / 1000;
        char frac[8] = {'.', '0', '0', '0', '0', '0', '0', 0};
        for (int i = 6; i >= 1; --i, us /= 10)
            frac[i] = static_cast<char>('0' + us % 10);
        out.append(frac, 7);
    }
    if (rfc5424)
        out.push_back('Z');
}

void Formatter::append(std::string& out, const RecordView& r, const DropCount* dropped) {
    int severity = r.stream == Stream::kStderr ? kSeverityErr : kSeverityInfo;
    out.push_back('<');
    appendNumber(out, static_cast<uint64_t>(facility_ * 8 + severity));
    out.push_back('>');
    switch (format_) {
        case Format::kDocker:
        case Format::kRfc3164:
            appendStamp(out, r.time_ns);
            out.push_back(' ');
            if (format_ == Format::kRfc3164) {
                out.append(hostname_);
                out.push_back(' ');
            }
            out.append(tag_);
            out.push_back('[');
            out.append(pid_);
            out.append("]: ");
            break;
        case Format::kRfc5424:
        case Format::kRfc5424Micro:
            out.append("1 ");
            appendStamp(out, r.time_ns);
            out.push_back(' ');
            out.append(hostname_);
            out.push_back(' ');
            out.append(app_name_);
            out.push_back(' ');
            out.append(pid_);
            out.push_back(' ');
            out.append(msg_id_);
            out.push_back(' ');
            out.append(sd_common_);
            if (r.partial()) {
                if (!r.partialLast())
                    out.append(" partial_message=\"true\"");
                out.append(" partial_id=\"");
                appendNumber(out, r.partial_id);
                out.append("\" partial_ordinal=\"");
                appendNumber(out, r.partial_ordinal);
                out.append(r.partialLast() ? "\" partial_last=\"true\""
                                           : "\" partial_last=\"false\"");
            }
            if (!r.file.empty())
                appendParam(out, "log_file", r.file);  // docs/log-files.md
            if (dropped != nullptr && dropped->any()) {
                out.append(" dropped_lines=\"");
                appendNumber(out, dropped->lines);
                out.append("\" dropped_bytes=\"");
                appendNumber(out, dropped->bytes);
                out.push_back('"');
            }
            out.append("] ");
            break;
    }
    out.append(r.message);
    out.push_back('\n');
}

void appendOctetCountedFrame(std::string& out, std::string_view message) {
    appendNumber(out, message.size());
    out.push_back(' ');
    out.append(message);
}

void appendNewlineFrame(std::string& out, std::string_view message) {
    size_t start = out.size();
    out.append(message);
    if (!message.empty())
        std::replace(out.begin() + static_cast<std::ptrdiff_t>(start), out.end() - 1, '\n', ' ');
}

}  // namespace ringlog::syslog
