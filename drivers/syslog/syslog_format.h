// The syslog driver's pure parts: the syslog-address, syslog-facility and syslog-format options,
// and the bytes of one message in each format (docs/drivers/syslog.md has examples of each).
//
// Formats (PRI = facility * 8 + severity; stdout is info (6), stderr err (3)):
//   ""            docker's default (srslog's UnixFormatter): <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG
//   rfc3164       srslog's RFC3164Formatter: <PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG
//   rfc5424       <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG, seconds, UTC
//   rfc5424micro  the same with microseconds
// Every message ends with '\n', as docker's (srslog appends one); a record never holds one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "drivers/log_driver.h"

namespace ringlog::syslog {

enum class Transport {
    kLocal,       // "": the local syslog, as docker: unixgram then unix on /dev/log,
                  // /var/run/syslog, /var/run/log, the first that connects
    kUnixStream,  // unix:///path
    kUnixDgram,   // unixgram:///path
    kUdp,         // udp://host[:port], port 514
    kTcp,         // tcp://host[:port], port 514
    kTls,         // tcp+tls://host[:port], port 6514 (RFC 5425)
};

struct Address {
    Transport transport = Transport::kLocal;
    std::string path;  // unix, unixgram
    std::string host;  // udp, tcp, tcp+tls: a name, an IPv4 address, or an IPv6 one unbracketed
    uint16_t port = 0;
    std::string text;  // as given, for messages

    bool stream() const {
        return transport == Transport::kUnixStream || transport == Transport::kTcp ||
               transport == Transport::kTls;
    }
};

// Checks the form only (nothing is connected or looked up): a bad value is an error that names it.
Result<Address> parseAddress(std::string_view value);

// A facility name as docker's (kern … local7) or a number 0..23; the facility's code (not * 8).
Result<int> parseFacility(std::string_view value);

enum class Format { kDocker, kRfc3164, kRfc5424, kRfc5424Micro };
Result<Format> parseFormat(std::string_view value);

constexpr int kSeverityErr = 3;
constexpr int kSeverityInfo = 6;

// The SD-ID of the one structured-data element: "ringlog" at the documentation PEN of RFC 5612
// (32473); a site with its own private enterprise number may want its own (RFC 5424 7.2.2).
constexpr std::string_view kSdId = "ringlog@32473";

// An SD-PARAM value with '"', '\' and ']' escaped (RFC 5424 6.3.3).
void appendSdValue(std::string& out, std::string_view value);
// A key as an SD-NAME: printable US-ASCII without '=', ' ', ']', '"', at most 32 characters;
// any other character becomes '_'.
std::string sdName(std::string_view key);

struct FormatterConfig {
    Format format = Format::kDocker;
    int facility = 3;         // daemon
    std::string hostname;     // rfc3164, rfc5424
    std::string tag;          // docker's tag; APP-NAME and MSGID in RFC 5424
    int pid = 0;              // TAG[PID], PROCID
    KeyValues sd_params;      // after container_id, container_name and image_name (names as given)
    ContainerInfo container;  // id, name, image for the structured data
};

// Turns records into messages. Keeps the last second's formatted time: one write() at a time.
class Formatter {
  public:
    explicit Formatter(FormatterConfig config);

    // Appends one message for `r`, its trailing '\n' included, without framing. `dropped`, when
    // given, is marked in the structured data (RFC 5424 formats only).
    void append(std::string& out, const RecordView& r, const DropCount* dropped = nullptr);

  private:
    void appendStamp(std::string& out, int64_t time_ns);

    Format format_;
    int facility_;
    std::string hostname_;
    std::string tag_;
    std::string pid_;
    std::string app_name_;  // RFC 5424 header fields, sanitised
    std::string msg_id_;
    std::string sd_common_;  // "[ringlog@32473 container_id=\"…\" …" without the closing ']'
    int64_t stamp_second_ = INT64_MIN;
    std::string stamp_;  // the formatted time of stamp_second_, without fraction or zone
};

// RFC 6587 octet counting: "LEN SP" before a message.
void appendOctetCountedFrame(std::string& out, std::string_view message);

// Newline framing (unix streams, as docker's): the message, whose last byte is its '\n', the
// frame's end. A record never holds a '\n', but the tag may (the template's own text), and in
// RFC 5424 a label's or env variable's value and a log file's name: any '\n' before the end would
// end the frame early, and is sent as a space.
void appendNewlineFrame(std::string& out, std::string_view message);

}  // namespace ringlog::syslog
