// The syslog driver: one syslog message per record, docker's options and formats, over a unix
// socket (stream or datagram), UDP, TCP or TCP with TLS (GnuTLS), all non-blocking: write() never
// waits for the network, it returns kRetry with a short busy_retry_ms while a connect, a TLS
// handshake or a full socket is in the way (docs/drivers/syslog.md).
//
// What counts as persisted:
//  - datagrams (unixgram, udp): a record is done once the kernel took its datagram;
//  - streams (unix, tcp, tcp+tls): a record is done once every byte of its frame is acknowledged
//    by the peer: TCP's ACK (SIOCOUTQ: bytes not yet acknowledged), for a unix stream the peer
//    having read it (SIOCOUTQ: bytes the peer has not consumed). The stream offset where each
//    record's frame ends is kept; bytes are counted as they go on the wire (for TLS, ciphertext,
//    counted in GnuTLS's push function), so the two are comparable. Records sent and not yet
//    acknowledged are not sent again when the ring offers them again (they are recognised by
//    sequence number); if the connection breaks, they are sent again on the next one.
// It keeps nothing to read back (no reader) and nothing across restarts: after a restart or a
// kill, records sent and not yet retired from the ring are sent once more.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drivers/log_driver.h"
#include "drivers/syslog/syslog_format.h"
#include "service/base/unique_fd.h"

namespace ringlog {

class SyslogDriver final : public LogDriver {
  public:
    static constexpr std::array<OptionSpec, 16> kOptions{{
        {"syslog-address", OptionType::kString, "",
         "unix:///path, unixgram:///path, udp://host[:port], tcp://host[:port], "
         "tcp+tls://host[:port]; empty: the local syslog (/dev/log)"},
        {"syslog-facility", OptionType::kString, "daemon",
         "kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, "
         "local0 … local7, or 0 … 23"},
        {"syslog-format", OptionType::kString, "",
         "empty (docker's: rfc3164 without hostname), rfc3164, rfc5424, rfc5424micro"},
        {"tag", OptionType::kString, "{{.ID}}", "the syslog tag (APP-NAME), a template"},
        {"labels", OptionType::kString, "",
         "comma-separated container labels to add to the RFC 5424 structured data"},
        {"labels-regex", OptionType::kString, "", "labels whose key matches this regex, as well"},
        {"env", OptionType::kString, "",
         "comma-separated environment variables to add to the RFC 5424 structured data"},
        {"env-regex", OptionType::kString, "",
         "environment variables whose name matches this regex, as well"},
        {"syslog-tls-ca-cert", OptionType::kString, "",
         "CA certificates (PEM) the server's certificate is verified against; empty: the "
         "system's trust store"},
        {"syslog-tls-cert", OptionType::kString, "", "client certificate (PEM), with the key"},
        {"syslog-tls-key", OptionType::kString, "", "client private key (PEM), with the cert"},
        {"syslog-tls-skip-verify", OptionType::kBool, "false",
         "true: do not verify the server's certificate and host name"},
        // Docker's local cache ("dual logging") is the daemon's, not this driver's: the daemon
        // reads these four; the driver accepts and ignores them.
        {"cache-disabled", OptionType::kBool, "false", "no local cache for `logs`"},
        {"cache-max-size", OptionType::kSize, "20m", "the local cache's file size"},
        {"cache-max-file", OptionType::kInteger, "5", "the local cache's number of files"},
        {"cache-compress", OptionType::kBool, "true", "compress the local cache's rotated files"},
    }};

    static Result<std::unique_ptr<LogDriver>> create(const ContainerInfo& info,
                                                     const OptionMap& options,
                                                     const DriverEnvironment& env);

    ~SyslogDriver() override;

    // Seconds a connect (with its TLS handshake) may take before it counts as failed.
    static constexpr std::chrono::seconds kConnectTimeout{10};
    // The largest datagram sent (UDP over IPv4's limit); longer messages are cut.
    static constexpr size_t kMaxDatagram = 65507;

    struct Tls;      // credentials, GnuTLS's: only in the .cpp
    struct Session;  // a GnuTLS session
    struct Lookup;   // a host name being resolved, off this thread

  protected:
    WriteResult doWrite(std::span<const RecordView> records,
                        const DropCount& dropped_before) override;
    void doClose() override;

  private:
    enum class Phase { kClosed, kResolving, kConnecting, kHandshaking, kOpen };
    enum class Step { kDone, kBusy, kFailed };

    SyslogDriver(syslog::Address address, syslog::FormatterConfig format, std::shared_ptr<Tls> tls);

    WriteResult writeDatagrams(std::span<const RecordView> records, const DropCount& dropped);
    WriteResult writeStream(std::span<const RecordView> records, const DropCount& dropped);
    WriteResult result(std::span<const RecordView> records, Step step, int busy_ms);

    Step open();
    Step startConnect();
    Step finishConnect();
    Step handshake();
    Step flush();
    Step checkPeer();
    bool readUnacked(uint64_t& acked_bytes);
    void applyAcks(uint64_t acked_bytes);
    void noteSent();
    Step fail(std::string what, int err);
    void disconnect();

    syslog::Address address_;
    syslog::Formatter formatter_;
    std::shared_ptr<Tls> tls_;
    std::unique_ptr<Session> session_;
    std::shared_ptr<Lookup> lookup_;

    UniqueFd fd_;
    Phase phase_ = Phase::kClosed;
    syslog::Transport active_;  // the transport in use (the local syslog's is found at connect)
    std::string connected_path_;
    std::chrono::steady_clock::time_point connect_started_;
    std::string error_;  // why the last step failed, naming the address

    // Streams: frames not yet taken by the socket (or GnuTLS), and where each record ends.
    std::string out_;
    size_t out_off_ = 0;
    size_t tls_resume_ = 0;      // a gnutls_record_send() of this many bytes to finish first
    uint64_t plain_queued_ = 0;  // frame bytes queued on this connection
    uint64_t plain_sent_ = 0;    // of them, taken by the socket or GnuTLS
    uint64_t wire_sent_ = 0;     // bytes the socket took (TLS: ciphertext, handshake included)
    uint64_t wire_acked_ = 0;    // of them, acknowledged by the peer
    struct InFlight {
        uint64_t sequence;
        uint64_t plain_end;
        uint64_t wire_end;  // valid for the first `wired_` entries
    };
    std::deque<InFlight> in_flight_;
    size_t wired_ = 0;
    uint64_t acked_through_ = 0;  // the highest sequence persisted (any connection)
    // TCP and TLS: a server that stops (or restarts) drops what its kernel acknowledged and it
    // had not read yet. The frames of this connection, from the oldest still within
    // kResendWindow bytes of the last acknowledged one, are kept; a connection that breaks sends
    // them again first on the next (docs/drivers/syslog.md, "Acknowledged is not read").
    std::string history_;              // frame bytes queued on this connection, from history_base_
    uint64_t history_base_ = 0;        // plain offset of history_[0], a frame's start
    std::deque<uint64_t> acked_ends_;  // plain ends of the acknowledged frames in history_
    uint64_t plain_acked_ = 0;         // plain end of the last acknowledged frame
    uint64_t resent_end_ = 0;          // plain end of what this connection sent again first
    std::string resend_;               // to send again first on the next connection
    uint64_t sent_through_ = 0;        // the highest sequence queued on this connection

    // Drop markers. The ring hands the same pending count with every batch until a write reports
    // records done; a marker goes on the first record sent in a write, with what no marker has
    // carried yet, and stays with that record (sent again with it after a broken connection).
    DropCount marked_;  // of the ring's pending count, what a marker has carried
    DropCount owed_;    // counted by the ring as carried (records were done), not carried yet
    std::map<uint64_t, DropCount> markers_;  // by sequence, until acknowledged
    const DropCount* markerFor(const RecordView& r, bool first_sent, const DropCount& dropped,
                               uint64_t sent_through);
    void settleMarkers(const DropCount& dropped, size_t records_done);

    std::string message_;             // scratch: one message
    std::vector<std::string> grams_;  // scratch: datagrams for one sendmmsg
};

}  // namespace ringlog
