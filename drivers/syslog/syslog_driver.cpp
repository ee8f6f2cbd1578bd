#include "drivers/syslog/syslog_driver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "drivers/docker/docker_attrs.h"
#include "service/base/units.h"

namespace ringlog {

using syslog::Transport;

namespace {

constexpr size_t kMaxQueued = 64 << 10;  // frame bytes queued ahead of the socket
// Acknowledged frame bytes kept to send again after a broken TCP or TLS connection: more than a
// server's socket holds unread in practice (rsyslogd's, stopped mid-stream: up to 50 KiB seen).
constexpr uint64_t kResendWindow = 512 << 10;
constexpr size_t kGramsPerSyscall = 64;
constexpr size_t kSmallDatagram = 2048;  // what every receiver takes (RFC 5426 3.2)
constexpr size_t kTlsChunk = 16 << 10;   // one TLS record's plaintext
constexpr int kConnectPollMs = 5;        // a connect or handshake in progress
constexpr int kFullPollMs = 2;           // the socket is full
constexpr int kQueueFullPollMs = 1;      // the receiver's datagram queue is full (512 by default)
constexpr int kAckPollMs = 1;            // all sent, waiting for the peer's acknowledgement
// A peer that acknowledges nothing for this long is gone (TCP_USER_TIMEOUT): the connection is
// dropped and what it had not acknowledged goes out again on the next.
constexpr unsigned kTcpUserTimeoutMs = 60'000;

constexpr const char* kLocalPaths[] = {"/dev/log", "/var/run/syslog", "/var/run/log"};

std::string localHostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "localhost";
    return buf;
}

bool fillUnix(struct sockaddr_un& sa, const std::string& path) {
    sa = {};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path)
        return false;
    std::memcpy(sa.sun_path, path.data(), path.size());
    return true;
}

bool numericHost(const std::string& host, const std::string& port, struct sockaddr_storage& out,
                 socklen_t& len) {
    struct addrinfo hints {};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_family = AF_UNSPEC;
    struct addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr)
        return false;
    std::memcpy(&out, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    ::freeaddrinfo(res);
    return true;
}

std::string tlsError(int code) {
    return gnutls_strerror(code);
}

}  // namespace

// A name lookup on its own short-lived thread: getaddrinfo() blocks, and write() must not. The
// thread holds the state too, so a driver closed meanwhile just lets go of it.
struct SyslogDriver::Lookup {
    std::mutex mutex;
    bool done = false;
    int error = 0;  // EAI_*
    struct sockaddr_storage address {};
    socklen_t length = 0;

    static std::shared_ptr<Lookup> start(std::string host, std::string port, int socktype) {
        auto lookup = std::make_shared<Lookup>();
        std::thread([lookup, host = std::move(host), port = std::move(port), socktype] {
            struct addrinfo hints {};
            hints.ai_family = AF_UNSPEC;
            hints.ai_socktype = socktype;
            hints.ai_flags = AI_ADDRCONFIG;
            struct addrinfo* res = nullptr;
            int r = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
            std::lock_guard lock(lookup->mutex);
            lookup->error = r != 0 ? r : res == nullptr ? EAI_NONAME : 0;
            if (r == 0 && res != nullptr) {
                std::memcpy(&lookup->address, res->ai_addr, res->ai_addrlen);
                lookup->length = res->ai_addrlen;
            }
            if (res != nullptr)
                ::freeaddrinfo(res);
            lookup->done = true;
        }).detach();
        return lookup;
    }
};

struct SyslogDriver::Tls {
    gnutls_certificate_credentials_t credentials = nullptr;
    bool verify = true;
    ~Tls() {
        if (credentials != nullptr)
            gnutls_certificate_free_credentials(credentials);
    }
};

struct SyslogDriver::Session {
    gnutls_session_t session = nullptr;
    ~Session() {
        if (session != nullptr)
            gnutls_deinit(session);
    }

    // Every byte GnuTLS puts on the wire passes here, so the stream offsets the driver keeps are
    // the kernel's (SIOCOUTQ counts ciphertext).
    static ssize_t push(gnutls_transport_ptr_t p, const giovec_t* iov, int count) {
        auto* d = static_cast<SyslogDriver*>(p);
        struct msghdr msg {};
        msg.msg_iov = const_cast<struct iovec*>(reinterpret_cast<const struct iovec*>(iov));
        msg.msg_iovlen = static_cast<size_t>(count);
        ssize_t r = ::sendmsg(d->fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            gnutls_transport_set_errno(d->session_->session, errno);
            return -1;
        }
        d->wire_sent_ += static_cast<uint64_t>(r);
        return r;
    }

    static ssize_t pull(gnutls_transport_ptr_t p, void* buf, size_t size) {
        auto* d = static_cast<SyslogDriver*>(p);
        ssize_t r = ::recv(d->fd_.get(), buf, size, MSG_DONTWAIT);
        if (r < 0)
            gnutls_transport_set_errno(d->session_->session, errno);
        return r;
    }
};

static_assert(sizeof(giovec_t) == sizeof(struct iovec));

Result<std::unique_ptr<LogDriver>> SyslogDriver::create(const ContainerInfo& info,
                                                        const OptionMap& o,
                                                        const DriverEnvironment&) {
    auto address = syslog::parseAddress(o.at("syslog-address"));
    if (!address)
        return address.error();
    auto facility = syslog::parseFacility(o.at("syslog-facility"));
    if (!facility)
        return facility.error();
    auto format = syslog::parseFormat(o.at("syslog-format"));
    if (!format)
        return format.error();
    auto tag = expandTag(o.at("tag"), info);
    if (!tag)
        return tag.error();
    auto attrs = extraAttributes(info, o, nullptr);
    if (!attrs)
        return attrs.error();

    std::shared_ptr<Tls> tls;
    if (address->transport == Transport::kTls) {
        tls = std::make_shared<Tls>();
        tls->verify = !*parseBool(o.at("syslog-tls-skip-verify"));
        int r = gnutls_certificate_allocate_credentials(&tls->credentials);
        if (r < 0)
            return Error{RINGLOG_STATUS_DRIVER_ERROR, "syslog TLS credentials: " + tlsError(r)};
        const std::string& ca = o.at("syslog-tls-ca-cert");
        if (!ca.empty()) {
            r = gnutls_certificate_set_x509_trust_file(tls->credentials, ca.c_str(),
                                                       GNUTLS_X509_FMT_PEM);
            if (r <= 0)
                return invalid("log option \"syslog-tls-ca-cert\": \"" + ca + "\": " +
                               (r == 0 ? std::string("no PEM certificate in it") : tlsError(r)));
        } else if (tls->verify) {
            r = gnutls_certificate_set_x509_system_trust(tls->credentials);
            if (r < 0)
                return Error{RINGLOG_STATUS_DRIVER_ERROR,
                             "syslog TLS: the system's trust store: " + tlsError(r)};
        }
        const std::string& cert = o.at("syslog-tls-cert");
        const std::string& key = o.at("syslog-tls-key");
        if (cert.empty() != key.empty())
            return invalid(
                "log options \"syslog-tls-cert\" and \"syslog-tls-key\" go together: a client "
                "certificate needs its key");
        if (!cert.empty()) {
            r = gnutls_certificate_set_x509_key_file(tls->credentials, cert.c_str(), key.c_str(),
                                                     GNUTLS_X509_FMT_PEM);
            if (r < 0)
                return invalid("log options \"syslog-tls-cert\" \"" + cert +
                               "\" and \"syslog-tls-key\" \"" + key + "\": " + tlsError(r));
        }
    }

    syslog::FormatterConfig fc;
    fc.format = *format;
    fc.facility = *facility;
    fc.hostname = localHostname();
    fc.tag = *tag;
    fc.pid = static_cast<int>(::getpid());
    for (auto& [k, v] : *attrs)
        fc.sd_params.emplace_back(k, v);
    fc.container = info;
    return std::unique_ptr<LogDriver>(
        new SyslogDriver(std::move(*address), std::move(fc), std::move(tls)));
}

SyslogDriver::SyslogDriver(syslog::Address address, syslog::FormatterConfig format,
                           std::shared_ptr<Tls> tls)
    : address_(std::move(address)),
      formatter_(std::move(format)),
      tls_(std::move(tls)),
      active_(address_.transport) {}

SyslogDriver::~SyslogDriver() = default;

SyslogDriver::Step SyslogDriver::fail(std::string what, int err) {
    std::string where = address_.text.empty() ? "the local syslog" : address_.text;
    if (!connected_path_.empty() && address_.text.empty())
        where += " (" + connected_path_ + ")";
    error_ = "syslog " + where + ": " + what;
    if (err != 0)
        error_ += ": " + errnoText(err);
    disconnect();
    return Step::kFailed;
}

void SyslogDriver::disconnect() {
    // What the server acknowledged and may not have read, and what this connection was sending
    // again and did not get acknowledged: sent again first on the next connection. (A unix
    // stream acknowledges only what the peer read: nothing to send again.)
    if (phase_ == Phase::kOpen && (active_ == Transport::kTcp || active_ == Transport::kTls)) {
        uint64_t end = std::max(plain_acked_, resent_end_);
        if (end > history_base_ && end - history_base_ <= history_.size())
            resend_ = history_.substr(0, end - history_base_);
    }
    history_.clear();
    history_base_ = plain_acked_ = resent_end_ = 0;
    acked_ends_.clear();
    session_.reset();
    fd_.reset();
    phase_ = Phase::kClosed;
    out_.clear();
    out_off_ = 0;
    tls_resume_ = 0;
    plain_queued_ = plain_sent_ = wire_sent_ = wire_acked_ = 0;
    in_flight_.clear();
    wired_ = 0;
    // What this connection did not get acknowledged goes out again on the next.
    sent_through_ = acked_through_;
}

SyslogDriver::Step SyslogDriver::startConnect() {
    connect_started_ = std::chrono::steady_clock::now();
    if (address_.transport == Transport::kLocal) {
        // As docker (srslog): datagram first, then stream, on each of the usual paths.
        for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
            for (const char* path : kLocalPaths) {
                struct sockaddr_un sa;
                fillUnix(sa, path);
                UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
                if (!fd)
                    return fail("socket", errno);
                if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) != 0)
                    continue;
                fd_ = std::move(fd);
                active_ = type == SOCK_DGRAM ? Transport::kUnixDgram : Transport::kUnixStream;
                connected_path_ = path;
                phase_ = Phase::kOpen;
                return Step::kDone;
            }
        }
        return fail("none of /dev/log, /var/run/syslog, /var/run/log takes connections", 0);
    }
    if (active_ == Transport::kUnixStream || active_ == Transport::kUnixDgram) {
        struct sockaddr_un sa;
        fillUnix(sa, address_.path);
        int type = active_ == Transport::kUnixStream ? SOCK_STREAM : SOCK_DGRAM;
        fd_ = UniqueFd(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd_)
            return fail("socket", errno);
        if (::connect(fd_.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) == 0) {
            phase_ = Phase::kOpen;
            return Step::kDone;
        }
        if (errno == EAGAIN) {  // the listener's backlog is full
            fd_.reset();
            return Step::kBusy;
        }
        return fail("connect", errno);
    }

    // Network: the address, then a non-blocking connect.
    struct sockaddr_storage sa {};
    socklen_t len = 0;
    int socktype = active_ == Transport::kUdp ? SOCK_DGRAM : SOCK_STREAM;
    std::string port = std::to_string(address_.port);
    if (!numericHost(address_.host, port, sa, len)) {
        if (!lookup_) {
            lookup_ = Lookup::start(address_.host, port, socktype);
            phase_ = Phase::kResolving;
        }
        std::lock_guard lock(lookup_->mutex);
        if (!lookup_->done)
            return Step::kBusy;
        int error = lookup_->error;
        sa = lookup_->address;
        len = lookup_->length;
        lookup_.reset();  // looked up again at the next connect: the name may move
        if (error != 0)
            return fail(std::string("looking up ") + address_.host + ": " + gai_strerror(error), 0);
    }
    fd_ = UniqueFd(::socket(sa.ss_family, socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd_)
        return fail("socket", errno);
    if (socktype == SOCK_STREAM) {
        int one = 1;
        // Frames go out at once: a batch's tail must not wait for the acknowledgement of its head
        // (Nagle), which the receiver may delay.
        ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        unsigned timeout = kTcpUserTimeoutMs;
        ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof timeout);
    }
    if (::connect(fd_.get(), reinterpret_cast<struct sockaddr*>(&sa), len) == 0) {
        phase_ = active_ == Transport::kTls ? Phase::kHandshaking : Phase::kOpen;
        return active_ == Transport::kTls ? handshake() : Step::kDone;
    }
    if (errno != EINPROGRESS)
        return fail("connect", errno);
    phase_ = Phase::kConnecting;
    return Step::kBusy;
}

SyslogDriver::Step SyslogDriver::finishConnect() {
    struct pollfd p {
        fd_.get(), POLLOUT, 0
    };
    if (::poll(&p, 1, 0) == 0)
        return Step::kBusy;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0)
        return fail("connect", err);
    phase_ = active_ == Transport::kTls ? Phase::kHandshaking : Phase::kOpen;
    return active_ == Transport::kTls ? handshake() : Step::kDone;
}

SyslogDriver::Step SyslogDriver::handshake() {
    if (!session_) {
        session_ = std::make_unique<Session>();
        int r = gnutls_init(&session_->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
        if (r >= 0)
            r = gnutls_set_default_priority(session_->session);
        if (r >= 0)
            r = gnutls_credentials_set(session_->session, GNUTLS_CRD_CERTIFICATE,
                                       tls_->credentials);
        struct in6_addr ip;
        bool is_ip = ::inet_pton(AF_INET, address_.host.c_str(), &ip) == 1 ||
                     ::inet_pton(AF_INET6, address_.host.c_str(), &ip) == 1;
        if (r >= 0 && !is_ip)
            r = gnutls_server_name_set(session_->session, GNUTLS_NAME_DNS, address_.host.data(),
                                       address_.host.size());
        if (r >= 0 && tls_->verify)
            gnutls_session_set_verify_cert(session_->session, address_.host.c_str(), 0);
        if (r < 0)
            return fail("TLS setup: " + tlsError(r), 0);
        gnutls_transport_set_ptr(session_->session, this);
        gnutls_transport_set_vec_push_function(session_->session, &Session::push);
        gnutls_transport_set_pull_function(session_->session, &Session::pull);
        gnutls_handshake_set_timeout(session_->session, 0);
    }
    int r = gnutls_handshake(session_->session);
    if (r == GNUTLS_E_SUCCESS) {
        phase_ = Phase::kOpen;
        return Step::kDone;
    }
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || gnutls_error_is_fatal(r) == 0)
        return Step::kBusy;
    std::string why = "TLS handshake: " + tlsError(r);
    if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        gnutls_datum_t text{};
        unsigned status = gnutls_session_get_verify_cert_status(session_->session);
        if (gnutls_certificate_verification_status_print(
                status, gnutls_certificate_type_get(session_->session), &text, 0) >= 0) {
            why += " (" + std::string(reinterpret_cast<const char*>(text.data), text.size) + ")";
            gnutls_free(text.data);
        }
    }
    return fail(why, 0);
}

SyslogDriver::Step SyslogDriver::open() {
    if (phase_ == Phase::kOpen)
        return Step::kDone;
    Step s = Step::kBusy;
    switch (phase_) {
        case Phase::kClosed:
        case Phase::kResolving:
            s = startConnect();
            break;
        case Phase::kConnecting:
            s = finishConnect();
            break;
        case Phase::kHandshaking:
            s = handshake();
            break;
        case Phase::kOpen:
            break;
    }
    if (s == Step::kBusy && phase_ != Phase::kResolving && phase_ != Phase::kClosed &&
        std::chrono::steady_clock::now() - connect_started_ > kConnectTimeout)
        return fail(phase_ == Phase::kHandshaking ? "TLS handshake timed out" : "connect",
                    phase_ == Phase::kHandshaking ? 0 : ETIMEDOUT);
    return s;
}

WriteResult SyslogDriver::result(std::span<const RecordView> records, Step step, int busy_ms) {
    size_t done = 0;
    while (done < records.size() && records[done].sequence <= acked_through_)
        ++done;
    if (done == records.size())
        return {WriteStatus::kOk, done, {}};
    if (step == Step::kFailed)
        return {WriteStatus::kRetry, done, error_};
    return {WriteStatus::kRetry, done, {}, busy_ms};
}

WriteResult SyslogDriver::doWrite(std::span<const RecordView> records,
                                  const DropCount& dropped_before) {
    Step s = open();
    WriteResult r;
    if (s != Step::kDone) {
        r = result(records, s, kConnectPollMs);
    } else {
        bool stream = active_ == Transport::kUnixStream || active_ == Transport::kTcp ||
                      active_ == Transport::kTls;
        r = stream ? writeStream(records, dropped_before) : writeDatagrams(records, dropped_before);
    }
    settleMarkers(dropped_before, r.records_done);
    return r;
}

const DropCount* SyslogDriver::markerFor(const RecordView& r, bool first_sent,
                                         const DropCount& dropped, uint64_t sent_through) {
    auto it = markers_.find(r.sequence);
    if (it != markers_.end())
        return &it->second;
    if (!first_sent)
        return nullptr;
    DropCount m{owed_.lines + dropped.lines - std::min(marked_.lines, dropped.lines),
                owed_.bytes + dropped.bytes - std::min(marked_.bytes, dropped.bytes)};
    owed_ = {};
    // Markers of records the ring dropped before they went out go with this one.
    for (auto k = markers_.upper_bound(sent_through);
         k != markers_.end() && k->first < r.sequence;) {
        m.lines += k->second.lines;
        m.bytes += k->second.bytes;
        k = markers_.erase(k);
    }
    marked_ = dropped;
    if (!m.any())
        return nullptr;
    return &(markers_[r.sequence] = m);
}

void SyslogDriver::settleMarkers(const DropCount& dropped, size_t records_done) {
    if (records_done > 0) {
        // The ring now forgets `dropped`: what no marker carried yet is owed to the next one.
        owed_.lines += dropped.lines - std::min(marked_.lines, dropped.lines);
        owed_.bytes += dropped.bytes - std::min(marked_.bytes, dropped.bytes);
        marked_ = {};
    }
    while (!markers_.empty() && markers_.begin()->first <= acked_through_)
        markers_.erase(markers_.begin());
}

WriteResult SyslogDriver::writeDatagrams(std::span<const RecordView> records,
                                         const DropCount& dropped) {
    std::array<struct mmsghdr, kGramsPerSyscall> msgs{};
    std::array<struct iovec, kGramsPerSyscall> iovs{};
    std::array<uint64_t, kGramsPerSyscall> sequences{};
    if (grams_.size() < kGramsPerSyscall)
        grams_.resize(kGramsPerSyscall);
    size_t next = 0;
    bool marked_here = false;
    while (next < records.size() && records[next].sequence <= acked_through_)
        ++next;
    while (next < records.size()) {
        size_t n = 0;
        for (; n < kGramsPerSyscall && next + n < records.size(); ++n) {
            const RecordView& r = records[next + n];
            std::string& g = grams_[n];
            g.clear();
            formatter_.append(g, r, markerFor(r, !marked_here, dropped, acked_through_));
            marked_here = true;
            if (g.size() > kMaxDatagram)
                g.resize(kMaxDatagram);
            iovs[n] = {g.data(), g.size()};
            msgs[n] = {};
            msgs[n].msg_hdr.msg_iov = &iovs[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
            sequences[n] = r.sequence;
        }
        int sent = ::sendmmsg(fd_.get(), msgs.data(), static_cast<unsigned>(n),
                              MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent > 0) {
            acked_through_ = sequences[static_cast<size_t>(sent) - 1];
            next += static_cast<size_t>(sent);
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && errno == EMSGSIZE && grams_[0].size() > kSmallDatagram) {
            // The receiver takes less than this (a unix socket's buffer, a path's MTU): cut this
            // one to what every receiver takes.
            grams_[0].resize(kSmallDatagram);
            iovs[0] = {grams_[0].data(), grams_[0].size()};
            if (::sendmmsg(fd_.get(), msgs.data(), 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) {
                acked_through_ = sequences[0];
                ++next;
                continue;
            }
        }
        int err = sent < 0 ? errno : EAGAIN;
        if (err == EAGAIN || err == ENOBUFS)
            return result(records, Step::kBusy, kQueueFullPollMs);
        return result(records, fail("send", err), 0);
    }
    return result(records, Step::kDone, 0);
}

void SyslogDriver::noteSent() {
    // Records whose frames the socket (or GnuTLS, record by record) has taken now have a place on
    // the wire: for TLS the end of the record that carried them, as it cannot be read before.
    while (wired_ < in_flight_.size() && in_flight_[wired_].plain_end <= plain_sent_) {
        in_flight_[wired_].wire_end =
            active_ == Transport::kTls ? wire_sent_ : in_flight_[wired_].plain_end;
        ++wired_;
    }
}

SyslogDriver::Step SyslogDriver::flush() {
    while (out_off_ < out_.size()) {
        ssize_t r = 0;
        if (active_ == Transport::kTls) {
            size_t len =
                tls_resume_ != 0 ? tls_resume_ : std::min(out_.size() - out_off_, kTlsChunk);
            r = gnutls_record_send(session_->session, out_.data() + out_off_, len);
            if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
                tls_resume_ = len;  // GnuTLS holds the record: finish it with the same arguments
                return Step::kBusy;
            }
            if (r < 0)
                return fail("TLS send: " + tlsError(static_cast<int>(r)), 0);
            tls_resume_ = 0;
        } else {
            r = ::send(fd_.get(), out_.data() + out_off_, out_.size() - out_off_,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    return Step::kBusy;
                return fail("send", errno);
            }
            wire_sent_ += static_cast<uint64_t>(r);
        }
        out_off_ += static_cast<size_t>(r);
        plain_sent_ += static_cast<uint64_t>(r);
        noteSent();
    }
    out_.clear();
    out_off_ = 0;
    return Step::kDone;
}

SyslogDriver::Step SyslogDriver::checkPeer() {
    // Servers do not talk back: anything read is dropped. End of stream or an error: gone.
    char buf[4096];
    for (;;) {
        if (active_ == Transport::kTls) {
            if (tls_resume_ != 0)
                return Step::kDone;  // not in the middle of a record being sent
            ssize_t r = gnutls_record_recv(session_->session, buf, sizeof buf);
            if (r > 0)
                continue;
            if (r == 0)
                return fail("the server closed the connection", 0);
            if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ||
                gnutls_error_is_fatal(static_cast<int>(r)) == 0)
                return Step::kDone;
            return fail("TLS receive: " + tlsError(static_cast<int>(r)), 0);
        }
        ssize_t r = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0)
            continue;
        if (r == 0)
            return fail("the server closed the connection", 0);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return Step::kDone;
        return fail("connection", errno);
    }
}

bool SyslogDriver::readUnacked(uint64_t& acked_bytes) {
    int unacked = 0;
    if (::ioctl(fd_.get(), SIOCOUTQ, &unacked) != 0 || unacked < 0)
        return false;
    // A unix stream counts buffer overhead too: more than its bytes, never less.
    acked_bytes = wire_sent_ - std::min<uint64_t>(wire_sent_, static_cast<uint64_t>(unacked));
    return true;
}

void SyslogDriver::applyAcks(uint64_t acked_bytes) {
    wire_acked_ = std::max(wire_acked_, acked_bytes);
    while (wired_ > 0 && in_flight_.front().wire_end <= wire_acked_) {
        acked_through_ = std::max(acked_through_, in_flight_.front().sequence);
        plain_acked_ = in_flight_.front().plain_end;
        acked_ends_.push_back(plain_acked_);
        in_flight_.pop_front();
        --wired_;
    }
    // Keep kResendWindow acknowledged bytes, cut at a frame's start; trimmed in steps of the
    // window, so the bytes move rarely.
    uint64_t keep_from = plain_acked_ > kResendWindow ? plain_acked_ - kResendWindow : 0;
    if (keep_from < history_base_ + kResendWindow)
        return;
    uint64_t cut = history_base_;
    while (!acked_ends_.empty() && acked_ends_.front() <= keep_from) {
        cut = acked_ends_.front();
        acked_ends_.pop_front();
    }
    history_.erase(0, cut - history_base_);
    history_base_ = cut;
}

WriteResult SyslogDriver::writeStream(std::span<const RecordView> records,
                                      const DropCount& dropped) {
    // The count of unacknowledged bytes is read before the peer is checked: a unix peer that
    // closes frees what it had not read, and a count read after that would take it for read.
    uint64_t acked = 0;
    bool have_acks = readUnacked(acked);
    if (checkPeer() == Step::kFailed)
        return result(records, Step::kFailed, 0);
    if (have_acks)
        applyAcks(acked);

    if (!resend_.empty()) {
        // First on a new connection: what the broken one may have lost (see disconnect()).
        out_.append(resend_);
        history_.append(resend_);
        plain_queued_ = plain_sent_ + (out_.size() - out_off_);
        resent_end_ = plain_queued_;
        resend_.clear();
    }
    Step s = flush();
    bool octets = active_ != Transport::kUnixStream;
    bool sent_one = false;
    for (size_t i = 0; i < records.size() && s == Step::kDone; ++i) {
        const RecordView& r = records[i];
        if (r.sequence <= sent_through_)
            continue;  // on the wire already, waiting for its acknowledgement
        if (out_off_ >= kMaxQueued) {
            out_.erase(0, out_off_);
            out_off_ = 0;
        }
        message_.clear();
        formatter_.append(message_, r, markerFor(r, !sent_one, dropped, sent_through_));
        sent_one = true;
        size_t frame_start = out_.size();
        if (octets)
            syslog::appendOctetCountedFrame(out_, message_);
        else
            syslog::appendNewlineFrame(out_, message_);  // as docker's
        if (active_ != Transport::kUnixStream)
            history_.append(out_, frame_start, std::string::npos);
        plain_queued_ = plain_sent_ + (out_.size() - out_off_);
        in_flight_.push_back({r.sequence, plain_queued_, 0});
        sent_through_ = r.sequence;
        if (out_.size() - out_off_ >= kMaxQueued)
            s = flush();
    }
    if (s == Step::kDone)
        s = flush();
    if (s == Step::kFailed)
        return result(records, s, 0);
    bool full = s == Step::kBusy;
    if (readUnacked(acked)) {
        if (checkPeer() == Step::kFailed)
            return result(records, Step::kFailed, 0);
        applyAcks(acked);
    }
    return result(records, Step::kBusy, full ? kFullPollMs : kAckPollMs);
}

void SyslogDriver::doClose() {
    // Everything was acknowledged (the ring is drained): say goodbye, without waiting.
    if (session_ && phase_ == Phase::kOpen)
        gnutls_bye(session_->session, GNUTLS_SHUT_WR);
    disconnect();
}

}  // namespace ringlog
