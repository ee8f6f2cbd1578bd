#include "drivers/journald/journald_driver.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

#include "drivers/docker/docker_attrs.h"
#include "drivers/docker/json_encoding.h"
#include "drivers/journald/journald_reader.h"
#include "service/base/time_text.h"
#include "service/base/units.h"

#include <spdlog/spdlog.h>

namespace ringlog {

namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";
constexpr size_t kEntriesPerSyscall = 64;
constexpr int kBusyRetryMs = 2;  // journald drains its queue in about that time
// More than journald's socket queue can hold (net.unix.max_dgram_qlen, 512 by default).
constexpr size_t kRememberedEntries = 8192;
constexpr size_t kRememberedBytes = 32 << 20;

// Whether the journal opened holds any file: sd_journal_open() succeeds with none when it may read
// none (ringlogd not in the systemd-journal group, a journal directory without that group). The
// driver would then take every record for unsent and send again what journald has: said once.
bool canReadJournal(sd_journal* j) {
    if (sd_journal_has_runtime_files(j) > 0 || sd_journal_has_persistent_files(j) > 0)
        return true;
    static std::once_flag said;
    std::call_once(said, [] {
        spdlog::warn(
            "the journal has no file ringlogd may read (is it in the systemd-journal group?): "
            "after a restart or a journald crash, journald containers' entries already in the "
            "journal are sent again");
    });
    return false;
}

// The highest CONTAINER_LOG_ORDINAL the journal holds for this attach (its epoch), 0 for none.
uint64_t highestOrdinalInJournal(const std::string& epoch) {
    sd_journal* j = nullptr;
    if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
        return 0;
    canReadJournal(j);
    uint64_t highest = 0;
    std::string match = "CONTAINER_LOG_EPOCH=" + epoch;
    if (sd_journal_add_match(j, match.c_str(), 0) >= 0 && sd_journal_seek_tail(j) >= 0 &&
        sd_journal_previous(j) > 0) {
        const void* data = nullptr;
        size_t len = 0;
        if (sd_journal_get_data(j, "CONTAINER_LOG_ORDINAL", &data, &len) >= 0 && len > 22)
            highest = std::strtoull(
                std::string(static_cast<const char*>(data) + 22, len - 22).c_str(), nullptr, 10);
    }
    sd_journal_close(j);
    return highest;
}

// The native protocol: KEY=value\n, or, for values with a newline (and MESSAGE, which may hold
// any byte), KEY\n<64-bit little-endian length><value>\n.
void appendField(std::string& out, std::string_view key, std::string_view value,
                 bool binary = false) {
    out.append(key);
    if (!binary && value.find('\n') == std::string_view::npos) {
        out.push_back('=');
        out.append(value);
    } else {
        out.push_back('\n');
        uint64_t n = value.size();
        for (int i = 0; i < 8; ++i)
            out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
        out.append(value);
    }
    out.push_back('\n');
}

// Random lowercase hex whose first 12 characters are not all digits, as docker's
// stringid.GenerateRandomID (a short id that reads as a number confuses tools).
std::string randomHex(size_t bytes) {
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    do {
        std::string raw(bytes, '\0');
        if (getrandom(raw.data(), bytes, 0) != static_cast<ssize_t>(bytes))
            for (auto& c : raw)
                c = static_cast<char>(rand());
        out.clear();
        for (unsigned char c : raw) {
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    } while (out.size() >= 12 && out.find_first_not_of("0123456789") >= 12);
    return out;
}

bool transient(int err) {
    // journald away (restarting, not yet started) or momentarily full: try again later.
    return err == EAGAIN || err == ENOBUFS || err == ENOENT || err == ECONNREFUSED ||
           err == ENOMEM || err == EINTR;
}

// How long a restarted ringlogd waits for journald to write its resume marker before deciding
// without it (the marker may never be stored: Storage=none, or MaxLevelStore= below notice).
constexpr std::chrono::seconds kResumeMarkerTimeout{5};
constexpr int kResumeMarkerPollMs = 2;

// The resume barrier: whether journald has written everything an earlier, killed ringlogd sent.
// journald reads its native socket in order, and the killed process's datagrams are all queued
// there before anything this process sends; so once an entry this process sent is in the journal,
// every entry the killed one sent is either in the journal too or was dropped by journald. Until
// then the journal may still lack entries that are on their way, and a resume decided on it would
// send them again. One marker per process, whatever the number of containers resuming: it is
// sent from the first resume and polled, without blocking, by every resuming driver.
class ResumeBarrier {
  public:
    enum class State { kWaiting, kPassed, kGaveUp };

    // Sends the marker if not sent yet, then looks whether the journal has it. `error` is set
    // when the marker could not be sent (journald away or busy): the caller tries again later.
    State poll(const std::string& socket_path, int& error) {
        std::unique_lock lock(mutex_, std::try_to_lock);
        if (!lock.owns_lock())
            return State::kWaiting;  // another consumer thread is looking right now
        if (state_ != State::kWaiting)
            return state_;
        if (!sent_ && (!send(socket_path, error) || state_ != State::kWaiting))
            return state_;
        // From the head each time: a journal read to its end once does not look again in the
        // files it found nothing in.
        sd_journal_process(journal_);
        int found = sd_journal_seek_head(journal_);
        if (found >= 0)
            found = sd_journal_next(journal_);
        auto waited = std::chrono::steady_clock::now() - sent_at_;
        if (found > 0) {
            spdlog::info(
                "journald has written what the previous ringlogd sent (its resume marker came "
                "after {} ms)",
                std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
            finish(State::kPassed);
        } else if (found < 0) {
            spdlog::warn(
                "resuming journald containers: reading the journal for ringlogd's resume marker: "
                "{}; some entries may be sent twice",
                errnoText(-found));
            finish(State::kGaveUp);
        } else if (waited > kResumeMarkerTimeout) {
            spdlog::warn(
                "journald has not written ringlogd's resume marker {} in {} s: resuming journald "
                "containers from what the journal shows now, some entries may be sent twice",
                token_, kResumeMarkerTimeout.count());
            finish(State::kGaveUp);
        }
        return state_;
    }

    ~ResumeBarrier() { finish(state_); }

  private:
    bool send(const std::string& socket_path, int& error) {
        if (journal_ == nullptr) {
            token_ = randomHex(16);
            std::string match = "RINGLOG_RESUME_MARKER=" + token_;
            int r = sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
            // The fd makes sd_journal_process() notice files journald adds (a rotation) while
            // we wait.
            if (r >= 0)
                r = sd_journal_add_match(journal_, match.c_str(), 0);
            if (r >= 0)
                r = sd_journal_get_fd(journal_);
            if (r >= 0 && !canReadJournal(journal_)) {
                finish(State::kGaveUp);  // the marker could never be seen
                return true;
            }
            if (r < 0) {
                spdlog::warn(
                    "resuming journald containers: cannot read the journal ({}), so cannot tell "
                    "when journald has written what the previous ringlogd sent; some entries may "
                    "be sent twice",
                    errnoText(-r));
                finish(State::kGaveUp);
                return true;
            }
        }
        std::string entry;
        appendField(entry, "MESSAGE",
                    "ringlogd: resuming journald containers once journald has written what the "
                    "previous instance sent");
        // Notice, not info: stored even where MaxLevelStore= keeps info out.
        appendField(entry, "PRIORITY", "5");
        appendField(entry, "SYSLOG_IDENTIFIER", "ringlogd");
        appendField(entry, "RINGLOG_RESUME_MARKER", token_);
        UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        struct sockaddr_un address {};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
        if (!sock ||
            ::sendto(sock.get(), entry.data(), entry.size(), MSG_NOSIGNAL,
                     reinterpret_cast<const struct sockaddr*>(&address), sizeof address) < 0) {
            error = errno;
            if (transient(error))
                return false;
            // Never a reason to drop records: decide without the marker.
            spdlog::warn(
                "resuming journald containers: sending journald the resume marker at {}: {}; "
                "some entries may be sent twice",
                socket_path, errnoText(error));
            error = 0;
            finish(State::kGaveUp);
            return true;
        }
        sent_ = true;
        sent_at_ = std::chrono::steady_clock::now();
        return true;
    }

    void finish(State state) {
        state_ = state;
        if (journal_ != nullptr)
            sd_journal_close(journal_);
        journal_ = nullptr;
    }

    std::mutex mutex_;
    State state_ = State::kWaiting;
    sd_journal* journal_ = nullptr;
    std::string token_;
    bool sent_ = false;
    std::chrono::steady_clock::time_point sent_at_;
};

ResumeBarrier& resumeBarrier() {
    static ResumeBarrier barrier;
    return barrier;
}

}  // namespace

std::string partialGroupId(std::string_view epoch, uint64_t first_ordinal) {
    // Derived, not random like docker's: a group resent after a journald crash, or continued by
    // the next ringlogd (which resumes the epoch), keeps its id.
    char ordinal[33];
    snprintf(ordinal, sizeof ordinal, "%032llx", static_cast<unsigned long long>(first_ordinal));
    std::string id(epoch.substr(0, 32));
    id.append(ordinal);
    return id;
}

// docker's journald takes Go's durations; ours are base's time spans, which include them.
std::optional<int64_t> parseDuration(std::string_view t) {
    return parseTimeSpanNs(t);
}

Result<std::unique_ptr<LogDriver>> JournaldDriver::create(const ContainerInfo& info,
                                                          const OptionMap& o,
                                                          const DriverEnvironment&) {
    auto tag = expandTag(o.at("tag"), info);
    if (!tag)
        return tag.error();
    auto attrs = extraAttributes(info, o, &sanitizeJournalKey);
    if (!attrs)
        return attrs.error();
    uint64_t burst = static_cast<uint64_t>(*parseInteger(o.at("rate-limit-burst")));
    auto interval = parseDuration(o.at("rate-limit-interval"));
    if (!interval || *interval <= 0)
        return invalid("log option \"rate-limit-interval\": \"" + o.at("rate-limit-interval") +
                       "\" is not a duration such as 500ms, 30s or 5m");

    std::string common;
    appendField(common, "CONTAINER_ID", info.shortId());
    appendField(common, "CONTAINER_ID_FULL", info.id);
    appendField(common, "CONTAINER_NAME", info.name);
    appendField(common, "CONTAINER_TAG", *tag);
    appendField(common, "IMAGE_NAME", info.image);
    appendField(common, "SYSLOG_IDENTIFIER", *tag);
    for (const auto& [k, v] : *attrs)
        if (!k.empty())
            appendField(common, k, v);

    UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!sock)
        return Error{RINGLOG_STATUS_DRIVER_ERROR, "journald socket: " + errnoText(errno)};
    // Room for bursts: the kernel caps this at net.core.wmem_max unless we may force it.
    int size = 8 << 20;
    if (::setsockopt(sock.get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(sock.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    return std::unique_ptr<LogDriver>(new JournaldDriver(std::move(sock), kJournalSocket,
                                                         std::move(common), randomHex(16),
                                                         info.shortId(), burst, *interval));
}

JournaldDriver::JournaldDriver(UniqueFd socket, std::string socket_path, std::string common_fields,
                               std::string epoch, std::string short_id, uint64_t burst,
                               int64_t interval_ns)
    : socket_(std::move(socket)),
      socket_path_(std::move(socket_path)),
      common_fields_(std::move(common_fields)),
      epoch_(std::move(epoch)),
      short_id_(std::move(short_id)),
      burst_(burst),
      interval_ns_(interval_ns) {
    address_.sun_family = AF_UNIX;
    std::strncpy(address_.sun_path, socket_path_.c_str(), sizeof(address_.sun_path) - 1);
}

void JournaldDriver::encode(std::string& out, const RecordView& r, const DropCount* dropped) const {
    out.clear();
    appendField(out, "MESSAGE", r.message, true);
    // Never a priority of 2 or lower: journald syncs to disk for each of those.
    appendField(out, "PRIORITY", r.stream == Stream::kStderr ? "3" : "6");
    appendField(out, "CONTAINER_STREAM", streamName(r.stream));
    if (!r.file.empty())
        appendField(out, "CONTAINER_LOG_FILE", r.file);  // docs/log-files.md
    std::string when;
    json::appendRfc3339Nano(when, r.time_ns);
    appendField(out, "SYSLOG_TIMESTAMP", when);
    appendField(out, "CONTAINER_LOG_EPOCH", epoch_);
    appendField(out, "CONTAINER_LOG_ORDINAL", std::to_string(r.sequence));
    if (r.partial()) {
        appendField(out, "CONTAINER_PARTIAL_ID", partialGroupId(epoch_, r.partial_id));
        appendField(out, "CONTAINER_PARTIAL_ORDINAL", std::to_string(r.partial_ordinal));
        appendField(out, "CONTAINER_PARTIAL_LAST", r.partialLast() ? "true" : "false");
        if (!r.partialLast())
            appendField(out, "CONTAINER_PARTIAL_MESSAGE", "true");
    }
    if (dropped != nullptr) {
        appendField(out, "RINGLOG_DROPPED_LINES", std::to_string(dropped->lines));
        appendField(out, "RINGLOG_DROPPED_BYTES", std::to_string(dropped->bytes));
    }
    out.append(common_fields_);
}

void JournaldDriver::encodeSuppressedNotice(std::string& out, int64_t time_ns) const {
    out.clear();
    appendField(out, "MESSAGE",
                "ringlogd: suppressed " + std::to_string(suppressed_) + " lines of container " +
                    short_id_ + " (rate-limit-burst " + std::to_string(burst_) + " per " +
                    std::to_string(interval_ns_ / 1'000'000) + " ms)",
                true);
    appendField(out, "PRIORITY", "4");
    std::string when;
    json::appendRfc3339Nano(when, time_ns);
    appendField(out, "SYSLOG_TIMESTAMP", when);
    appendField(out, "RINGLOG_SUPPRESSED_LINES", std::to_string(suppressed_));
    out.append(common_fields_);
}

bool JournaldDriver::sendViaMemfd(const std::string& entry, int& error) {
    // Too big for a datagram: journald takes the entry from a sealed memfd, as sd_journal_sendv.
    UniqueFd fd(::memfd_create("journal-entry", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd ||
        ::write(fd.get(), entry.data(), entry.size()) != static_cast<ssize_t>(entry.size()) ||
        ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
            0) {
        error = errno;
        return false;
    }
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg {};
    msg.msg_name = &address_;
    msg.msg_namelen = sizeof(address_);
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    auto* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int raw = fd.get();
    std::memcpy(CMSG_DATA(c), &raw, sizeof(int));
    if (::sendmsg(socket_.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        error = errno;
        return false;
    }
    return true;
}

size_t JournaldDriver::send(const std::vector<std::string>& entries, size_t first, int& error) {
    size_t sent = first;
    std::array<struct mmsghdr, kEntriesPerSyscall> msgs{};
    std::array<struct iovec, kEntriesPerSyscall> iovs{};
    while (sent < entries.size()) {
        size_t n = std::min(kEntriesPerSyscall, entries.size() - sent);
        for (size_t i = 0; i < n; ++i) {
            iovs[i] = {const_cast<char*>(entries[sent + i].data()), entries[sent + i].size()};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_name = &address_;
            msgs[i].msg_hdr.msg_namelen = sizeof(address_);
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int r = ::sendmmsg(socket_.get(), msgs.data(), static_cast<unsigned>(n),
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0) {
            sent += static_cast<size_t>(r);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EMSGSIZE) {
            if (!sendViaMemfd(entries[sent], error))
                return sent;
            ++sent;
            continue;
        }
        error = r < 0 ? errno : EAGAIN;
        return sent;
    }
    return sent;
}

void JournaldDriver::remember(uint64_t ordinal, const std::string& entry) {
    sent_bytes_ += entry.size();
    sent_.push_back({ordinal, entry});
    while (!sent_.empty() &&
           (sent_.size() > kRememberedEntries || sent_bytes_ > kRememberedBytes)) {
        sent_bytes_ -= sent_.front().entry.size();
        sent_.pop_front();
    }
}

bool JournaldDriver::recoverLostEntries(int& error) {
    uint64_t highest = std::max(highestOrdinalInJournal(epoch_), resent_through_);
    std::vector<std::string> lost;
    std::vector<uint64_t> ordinals;
    for (const auto& s : sent_) {
        if (s.ordinal > highest) {
            lost.push_back(s.entry);
            ordinals.push_back(s.ordinal);
        }
    }
    size_t sent = send(lost, 0, error);
    if (sent > 0)
        resent_through_ = ordinals[sent - 1];
    resent_ += sent;
    if (sent < lost.size())
        return false;  // still away, or busy: go on later from resent_through_
    if (!lost.empty() || resent_through_ != 0)
        spdlog::warn(
            "container {}: journald came back; sent again the entries it had not written ({} in "
            "all)",
            short_id_, resent_);
    suspect_ = false;
    resent_through_ = 0;
    return true;
}

bool JournaldDriver::passesRateLimit(const RecordView& r, bool& notice) {
    notice = false;
    if (burst_ == 0)
        return true;
    if (!verdicts_.empty() && r.sequence >= verdicts_.front().first &&
        r.sequence <= verdicts_.back().first)
        return verdicts_[r.sequence - verdicts_.front().first].second;
    if (r.time_ns - window_start_ns_ >= interval_ns_) {
        if (suppressed_ > 0) {
            encodeSuppressedNotice(pending_notice_, r.time_ns);
            suppressed_ = 0;
            notice = true;
        }
        window_start_ns_ = r.time_ns;
        in_window_ = 0;
    }
    bool keep = ++in_window_ <= burst_;
    if (!keep)
        ++suppressed_;
    verdicts_.emplace_back(r.sequence, keep);
    return keep;
}

void JournaldDriver::resume(std::string_view state) {
    if (state.empty())
        return;
    epoch_ = state;
    resuming_ = true;
    // Sent now rather than at the first write, so journald works through its queue meanwhile.
    int error = 0;
    resumeBarrier().poll(socket_path_, error);
}

WriteResult JournaldDriver::doWrite(std::span<const RecordView> records,
                                    const DropCount& dropped_before) {
    if (resuming_) {
        // The earlier ringlogd may have sent records and been killed before retiring them: they
        // are in the journal, or still in journald's socket queue. Decide only once journald has
        // written the queue out; meanwhile the records wait in the ring.
        int error = 0;
        if (resumeBarrier().poll(socket_path_, error) == ResumeBarrier::State::kWaiting) {
            if (error != 0 && error != EAGAIN && error != ENOBUFS)  // journald away: back off
                return {WriteStatus::kRetry, 0,
                        "sending journald the resume marker at " + socket_path_ + ": " +
                            errnoText(error)};
            return {WriteStatus::kRetry, 0, {}, kResumeMarkerPollMs};
        }
        skip_through_ = highestOrdinalInJournal(epoch_);
        resuming_ = false;
    }
    // Every record the journal has, not only in the first batch: a batch may end before them.
    size_t skipped = 0;
    while (skipped < records.size() && records[skipped].sequence <= skip_through_)
        ++skipped;
    if (skipped > 0) {
        skipped_ += skipped;
        records = records.subspan(skipped);
        if (records.empty())
            return {WriteStatus::kOk, skipped, {}};
    }
    if (skip_through_ != 0) {
        if (skipped_ > 0)
            spdlog::info("container {}: {} records were in the journal already", short_id_,
                         skipped_);
        skip_through_ = 0;
    }
    WriteResult r = writeEntries(records, dropped_before);
    r.records_done += skipped;
    return r;
}

WriteResult JournaldDriver::writeEntries(std::span<const RecordView> records,
                                         const DropCount& dropped_before) {
    // Entries, and for each how many records are done once it is sent (a suppressed record is
    // done with the next entry).
    entries_.clear();
    entry_ordinals_.clear();
    std::vector<size_t> covered;
    while (!verdicts_.empty() && !records.empty() &&
           verdicts_.front().first < records.front().sequence)
        verdicts_.pop_front();  // records persisted (or dropped) since: no longer asked about
    size_t last_notice = SIZE_MAX;
    auto addNotice = [&](size_t records_done) {
        entries_.push_back(pending_notice_);
        covered.push_back(records_done);
        entry_ordinals_.push_back(0);  // notices are not sent again after a journald crash
        last_notice = entries_.size() - 1;
    };
    if (!pending_notice_.empty())
        addNotice(0);
    for (size_t i = 0; i < records.size(); ++i) {
        bool notice = false;
        bool keep = passesRateLimit(records[i], notice);
        if (notice)
            addNotice(i);
        if (!keep)
            continue;
        entries_.emplace_back();
        encode(entries_.back(), records[i],
               i == 0 && dropped_before.any() ? &dropped_before : nullptr);
        covered.push_back(i + 1);
        entry_ordinals_.push_back(records[i].sequence);
    }
    int error = 0;
    // A journald that was replaced since the last send may have taken entries with it.
    struct stat st;
    bool socket_there = ::stat(socket_path_.c_str(), &st) == 0;
    if (socket_there && journal_inode_ != 0 && st.st_ino != journal_inode_)
        suspect_ = true;
    if (suspect_ && !recoverLostEntries(error))
        return {WriteStatus::kRetry, 0,
                "sending to journald at " + socket_path_ + ": " +
                    errnoText(error ? error : ECONNREFUSED)};
    size_t sent = send(entries_, 0, error);
    for (size_t i = 0; i < sent; ++i)
        remember(entry_ordinals_[i], entries_[i]);
    if (last_notice != SIZE_MAX && sent > last_notice)
        pending_notice_.clear();
    if (socket_there && sent > 0)
        journal_inode_ = st.st_ino;
    if (sent == entries_.size())
        return {WriteStatus::kOk, records.size(), {}};
    if (error == ENOENT || error == ECONNREFUSED)
        suspect_ = true;  // journald went away: what it had queued may be lost
    size_t done = sent == 0 ? 0 : covered[sent - 1];
    if (error == EAGAIN || error == ENOBUFS)
        return {
            WriteStatus::kRetry, done, {}, kBusyRetryMs};  // journald's queue is full: flow control
    return {transient(error) ? WriteStatus::kRetry : WriteStatus::kFatal, done,
            "sending to journald at " + socket_path_ + ": " + errnoText(error)};
}

void JournaldDriver::doClose() {
    // The last window's count, so no suppression goes unsaid.
    std::vector<std::string> notices;
    if (!pending_notice_.empty())
        notices.push_back(pending_notice_);
    if (suppressed_ > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        notices.emplace_back();
        encodeSuppressedNotice(notices.back(), int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
    }
    int error = 0;
    send(notices, 0, error);
}

Result<std::unique_ptr<LogReader>> JournaldDriver::openReader(const ContainerInfo& info,
                                                              const OptionMap&,
                                                              const DriverEnvironment&,
                                                              const ReadFilter& filter) {
    return JournaldReader::open(info.id, filter);
}

}  // namespace ringlog
