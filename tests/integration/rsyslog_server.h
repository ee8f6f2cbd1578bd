// A real rsyslogd (Debian's /usr/sbin/rsyslogd, with rsyslog-gnutls) for the syslog driver's tests
// and bench: started in the foreground as a child of the test, with its own configuration, work
// directory, pid file and sockets in a test directory, stopped by PID. It never uses /dev/log,
// the system's configuration or a system rsyslogd that may be running.
//
// Inputs, each on its own ruleset writing its own file, one JSON object a record (rsyslog's
// jsonf: every byte of the message kept, control characters escaped by the JSON, not by rsyslog):
//   unix      imptcp on a unix stream socket      unix:///<dir>/stream.sock
//   unixgram  imuxsock on a datagram socket       unixgram:///<dir>/dgram.sock
//   udp       imudp on 127.0.0.1, an 8 MiB buffer udp://127.0.0.1:<port>
//   tcp       imptcp on 127.0.0.1                 tcp://127.0.0.1:<port>
//   tls       imtcp, gtls, anonymous clients      tcp+tls://127.0.0.1:<port>
//   tls-auth  imtcp, gtls, a client certificate signed by the test's CA required
// TCP inputs take octet-counted (RFC 6587) and LF-framed messages alike. The certificates (a CA,
// a server certificate for localhost and 127.0.0.1, a client certificate) are made by certtool
// in <dir>/tls.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.h"

namespace ringlog::test {

// `n` distinct free loopback ports of socket `type` (SOCK_STREAM, SOCK_DGRAM), for a server the
// test starts next.
std::vector<int> freePorts(int type, int n);

// One message as rsyslogd parsed it.
struct SyslogRecord {
    int pri = -1;
    std::string facility;   // rsyslog's text: "local3"
    std::string severity;   // "info", "err"
    std::string timestamp;  // the message's own (timereported), RFC 3339, as precise as it came
    std::string hostname;
    std::string app_name;  // RFC 5424 APP-NAME, or the RFC 3164 tag without "[pid]:"
    std::string tag;       // rsyslog's syslogtag: "web/4f2c…[123]:" for RFC 3164
    std::string procid, msgid;
    std::string structured_data;  // "-" when none
    std::string msg;       // the message part; for RFC 3164, rsyslog keeps the space after "tag:"
    std::string raw;       // the whole message as it arrived, framing aside
    std::string received;  // when rsyslogd received it (timegenerated), RFC 3339, microseconds
};

class RsyslogServer {
  public:
    enum class Input { Unix, Unixgram, Udp, Tcp, Tls, TlsClientAuth };
    static constexpr Input kInputs[] = {Input::Unix, Input::Unixgram, Input::Udp,
                                        Input::Tcp,  Input::Tls,      Input::TlsClientAuth};

    // Makes the certificates and the configuration in `dir`, picks free loopback ports and
    // starts rsyslogd (start()).
    explicit RsyslogServer(const fs::path& dir);
    ~RsyslogServer();
    RsyslogServer(const RsyslogServer&) = delete;
    RsyslogServer& operator=(const RsyslogServer&) = delete;

    // Starts rsyslogd and returns once every input is listening (its sockets, found through
    // /proc/<pid>/fd in /proc/net, are rsyslogd's); throws with rsyslogd's own messages if it
    // exits or is not listening within 30 s. After stop(), starts again on the same ports,
    // paths and output files.
    void start();
    // SIGTERM, and waits for it to exit; what it had received is written out first.
    void stop();
    bool running() const { return process_.pid > 0; }
    pid_t pid() const { return process_.pid; }

    // The input's address as the syslog-address option spells it (tls-auth: tcp+tls://…).
    std::string address(Input input) const;
    int port(Input input) const;  // the loopback port of udp, tcp, tls and tls-auth; else 0
    static std::string name(Input input);
    fs::path output(Input input) const;  // its file of records
    fs::path caCert() const { return tls_ / "ca.pem"; }
    fs::path clientCert() const { return tls_ / "client.pem"; }
    fs::path clientKey() const { return tls_ / "client-key.pem"; }
    std::string log() const;  // what rsyslogd said about itself (stderr)

    // The records in the input's file now (complete lines only).
    std::vector<SyslogRecord> records(Input input) const;
    size_t countRecords(Input input) const;
    // Waits until the input's file holds at least `n` records (rsyslogd writes asynchronously)
    // and returns them all. Throws after `timeout` saying how many arrived, with the last ones
    // and rsyslogd's messages.
    std::vector<SyslogRecord> waitForRecords(
        Input input, size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
    // The same, counting only: for the bench, whose files are large.
    void waitForCount(Input input, size_t n,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  private:
    void writeConfig() const;
    void makeCertificates() const;
    bool listening(pid_t pid) const;  // rsyslogd `pid` has every input's socket listening
    fs::path dir_, tls_;
    int tcp_port_ = 0, tls_port_ = 0, tls_auth_port_ = 0, udp_port_ = 0;
    Process process_;
};

// A relay rsyslogd, the node-local hop of docs/scale-out.md: one imptcp input on a free loopback
// port (tcp://127.0.0.1:<port>, what ringlogd's syslog driver sends to) whose ruleset writes each
// message to its own file of records (as RsyslogServer's inputs do, so a test can compare what
// the relay received with what the central rsyslogd got) and forwards it with omfwd over TCP
// and TLS (gtls, the central's certificate checked against the CA and the name "localhost", the
// client certificate given) to a central input, in RFC 5424 (RSYSLOG_SyslogProtocol23Format),
// octet-counted, from an action queue that retries for ever. Started, stopped and killed with
// the test like RsyslogServer.
class RsyslogRelay {
  public:
    struct Target {
        int port = 0;  // on 127.0.0.1: RsyslogServer::port(Input::TlsClientAuth)
        fs::path ca_cert, client_cert, client_key;
    };
    RsyslogRelay(const fs::path& dir, Target target);
    ~RsyslogRelay();
    RsyslogRelay(const RsyslogRelay&) = delete;
    RsyslogRelay& operator=(const RsyslogRelay&) = delete;

    void start();
    void stop();  // SIGTERM; its queue is forwarded first (30 s at most)
    bool running() const { return process_.pid > 0; }
    std::string address() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
    fs::path output() const { return dir_ / "out" / "relay.log"; }
    std::vector<SyslogRecord> records() const;
    std::string log() const;

  private:
    void writeConfig() const;
    fs::path dir_;
    Target target_;
    int port_ = 0;
    Process process_;
};

// Parses one line of an output file.
SyslogRecord parseSyslogRecord(const std::string& line);

}  // namespace ringlog::test
