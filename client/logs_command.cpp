// `ringlogctl logs`: reads containers' logs through ringlogd's D-Bus API (Query), as `docker logs`
// prints them, with journalctl's output modes (docs/ringlogctl.md, "logs").
//
// Two paths. When the output needs nothing per record (one container, `-o raw` or `-o json`, or
// the default mode when stdout and stderr are the same file or only one stream is asked for),
// the daemon's own format is copied straight through. Otherwise the daemon sends JSON, one object
// per line, decoded here with simdjson On-Demand; several containers are merged by time.
#include "client/logs_command.h"

#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ringlog-dbus/proxy.h>
#include <sdbus-c++/sdbus-c++.h>
#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "client/log_format.h"
#include "client/manager_proxy.h"
#include "service/base/time_text.h"

namespace ringlogctl {

namespace {

enum class Mode { kDefault, kRaw, kCat, kShort, kShortIso, kJson };

struct Args {
    std::vector<std::string> containers;
    std::string tail, since, until, stream, output, grep, after_cursor;
    bool follow = false, timestamps = false, details = false, show_cursor = false;
    bool case_sensitive = false;
    CLI::Option* case_sensitive_option = nullptr;
};

using Options = std::map<std::string, sdbus::Variant>;

// ---- output ---------------------------------------------------------------------------------

class Output {
  public:
    explicit Output(int fd) : fd_(fd) {}
    std::string& buffer() { return buf_; }
    void flushIfFull() {
        if (buf_.size() >= 256 * 1024)
            flush();
    }
    void flush() {
        writeAll(fd_, buf_.data(), buf_.size());
        buf_.clear();
    }
    int fd() const { return fd_; }

    static void writeAll(int fd, const char* data, size_t size) {
        for (size_t done = 0; done < size;) {
            ssize_t w = ::write(fd, data + done, size - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && errno == EPIPE)
                throw ExitStatus{kExitOk};  // the reader is gone (`| head`)
            if (w < 0)
                throw CommandError(kExitFailed,
                                   std::string("writing the log: ") + std::strerror(errno));
            done += static_cast<size_t>(w);
        }
    }

  private:
    int fd_;
    std::string buf_;
};

bool sameFile(int a, int b) {
    struct stat sa, sb;
    if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0)
        return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// Reads a query's pipe; EOF ends it.
ssize_t readSome(int fd, char* data, size_t size) {
    for (;;) {
        ssize_t n = ::read(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw CommandError(kExitFailed,
                               std::string("reading from ringlogd: ") + std::strerror(errno));
        return n;
    }
}

// ---- the daemon's JSON records ---------------------------------------------------------------

struct Record {
    int64_t time_ns = 0;
    std::string cursor;
    bool is_stderr = false;
    std::string message;
    bool partial = false;
    std::vector<std::pair<std::string, std::string>> attrs;
    uint64_t missed = 0;  // a `{"missed":N}` line: nothing else is set
    std::string line;     // the object as ringlogd sent it, without its newline (-o json)
};

// One container's query: its pipe and the JSON lines read from it, one record at a time.
class Source {
  public:
    Source(std::string id, std::string name, sdbus::UnixFd fd)
        : id_(std::move(id)), name_(std::move(name)), fd_(std::move(fd)) {
        buf_.resize(kChunk + simdjson::SIMDJSON_PADDING);
    }
    const std::string& id() const { return id_; }
    const std::string& name() const { return name_; }
    int fd() const { return fd_.get(); }
    void reset(sdbus::UnixFd fd) {
        fd_ = std::move(fd);
        begin_ = end_ = 0;
        eof_ = false;
    }
    bool eof() const { return eof_; }

    // The next complete record: true, or false at the end of the stream (or, when `block` is
    // false, when no complete line is buffered: call fill() first).
    bool next(Record& r, bool block = true) {
        for (;;) {
            const char* start = buf_.data() + begin_;
            const void* nl = std::memchr(start, '\n', end_ - begin_);
            if (nl != nullptr) {
                size_t len = static_cast<size_t>(static_cast<const char*>(nl) - start);
                decode(r, start, len);
                begin_ += len + 1;
                return true;
            }
            if (eof_ || !block)
                return false;
            fill();
        }
    }
    // One read(); false at EOF.
    bool fill() {
        if (begin_ > 0) {
            std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (buf_.size() - end_ < kChunk / 2 + simdjson::SIMDJSON_PADDING)
            buf_.resize(buf_.size() * 2);
        ssize_t n = readSome(fd_.get(), buf_.data() + end_,
                             buf_.size() - end_ - simdjson::SIMDJSON_PADDING);
        if (n == 0) {
            eof_ = true;
            if (end_ > begin_)  // a last line without its newline: not a whole record
                throw CommandError(kExitFailed,
                                   "ringlogd's answer ended in the middle of a record");
            return false;
        }
        end_ += static_cast<size_t>(n);
        return true;
    }

  private:
    static constexpr size_t kChunk = 256 * 1024;

    void decode(Record& r, const char* data, size_t len) {
        r.missed = 0;
        r.partial = false;
        r.is_stderr = false;
        r.attrs.clear();
        r.line.assign(data, len);
        try {
            // The bytes after the line (at least SIMDJSON_PADDING of the buffer) are its padding.
            auto doc = parser_.iterate(data, len, buf_.size() - (data - buf_.data()));
            for (auto field : doc.get_object()) {
                std::string_view key = field.unescaped_key();
                auto value = field.value();
                if (key == "time_ns") {
                    r.time_ns = static_cast<int64_t>(uint64_t(value.get_uint64()));
                } else if (key == "cursor") {
                    r.cursor = std::string_view(value.get_string());
                } else if (key == "stream") {
                    r.is_stderr = std::string_view(value.get_string()) == "stderr";
                } else if (key == "message") {
                    r.message = std::string_view(value.get_string());
                } else if (key == "partial") {
                    r.partial = bool(value.get_bool());
                } else if (key == "attrs") {
                    for (auto attr : value.get_object()) {
                        std::string k(std::string_view(attr.unescaped_key()));
                        auto v = attr.value();
                        if (v.type() == simdjson::ondemand::json_type::string)
                            r.attrs.emplace_back(std::move(k),
                                                 std::string(std::string_view(v.get_string())));
                        else
                            r.attrs.emplace_back(std::move(k),
                                                 std::string(std::string_view(v.raw_json_token())));
                    }
                } else if (key == "missed") {
                    r.missed = value.get_uint64();
                }
            }
        } catch (const simdjson::simdjson_error& e) {
            throw CommandError(kExitFailed, "cannot read ringlogd's answer (" +
                                                std::string(e.what()) + "): " + r.line);
        }
    }

    std::string id_, name_;
    sdbus::UnixFd fd_;
    std::vector<char> buf_;
    size_t begin_ = 0, end_ = 0;
    bool eof_ = false;
    simdjson::ondemand::parser parser_;
};

class Printer {
  public:
    Printer(const Args& a, Mode mode, bool several, size_t name_width)
        : a_(a), mode_(mode), several_(several), name_width_(name_width) {}

    void record(const Source& s, Record& r) {
        if (r.missed != 0) {
            missed(s, r);
            return;
        }
        shown_[&s] = r.cursor;
        bool to_stderr = mode_ == Mode::kDefault && r.is_stderr;
        Output& o = to_stderr ? err_ : out_;
        Output& other = to_stderr ? out_ : err_;
        if (!other.buffer().empty())
            other.flush();  // keeps the order when both go to one terminal
        std::string& b = o.buffer();
        switch (mode_) {
            case Mode::kJson:
                if (several_) {
                    b.append("{\"container_id\":\"");
                    b.append(s.id());  // ids and names are plain: [a-zA-Z0-9_.-]
                    b.append("\",\"container_name\":\"");
                    b.append(s.name());
                    b.append("\",");
                    b.append(r.line, 1);
                } else {
                    b.append(r.line);
                }
                b.push_back('\n');
                break;
            case Mode::kCat:
                b.append(r.message);
                b.push_back('\n');
                break;
            case Mode::kShort:
            case Mode::kShortIso:
                if (mode_ == Mode::kShort)
                    appendLocalShort(b, r.time_ns);
                else
                    appendLocalIso(b, r.time_ns);
                b.push_back(' ');
                b.append(s.name());
                b.append(r.is_stderr ? "[stderr]: " : "[stdout]: ");
                b.append(r.message);
                b.push_back('\n');
                break;
            case Mode::kDefault:
            case Mode::kRaw:
                if (several_ && mode_ == Mode::kDefault) {
                    b.append(s.name());
                    b.append(name_width_ - std::min(name_width_, s.name().size()), ' ');
                    b.append(" | ");
                }
                if (a_.timestamps) {
                    appendDockerTimestamp(b, r.time_ns);
                    b.push_back(' ');
                }
                if (a_.details) {
                    appendDockerDetails(b, r.attrs);
                    b.push_back(' ');
                }
                b.append(r.message);
                if (!r.partial)
                    b.push_back('\n');
                break;
        }
        o.flushIfFull();
    }

    void flush() {
        out_.flush();
        err_.flush();
    }

    // journalctl's `-- cursor: C` after the last record; with several containers one line each,
    // naming it.
    void cursors(const std::vector<std::unique_ptr<Source>>& sources) {
        flush();
        for (const auto& s : sources) {
            auto it = shown_.find(s.get());
            if (it == shown_.end())
                continue;
            if (several_)
                out_.buffer() += "-- cursor " + s->name() + ": " + it->second + "\n";
            else
                out_.buffer() += "-- cursor: " + it->second + "\n";
        }
        flush();
    }

  private:
    void missed(const Source& s, Record& r) {
        if (mode_ == Mode::kJson) {
            out_.buffer() += several_
                                 ? "{\"container_id\":\"" + s.id() + "\",\"container_name\":\"" +
                                       s.name() + "\"," + r.line.substr(1) + "\n"
                                 : r.line + "\n";
            return;
        }
        out_.flush();
        err_.buffer() += "-- ringlogd: missed " + std::to_string(r.missed) + " records of " +
                         s.name() + ": this reader fell behind --\n";
        err_.flush();
    }

    const Args& a_;
    Mode mode_;
    bool several_;
    size_t name_width_;
    Output out_{STDOUT_FILENO}, err_{STDERR_FILENO};
    std::map<const Source*, std::string> shown_;
};

// ---- the queries -----------------------------------------------------------------------------

class Session {
  public:
    Session() : connection_(connectSystemBus()), manager_(*connection_) {}

    sdbus::UnixFd query(const std::string& container, const Options& options) {
        try {
            return manager_.Query(container, options);
        } catch (const sdbus::Error& e) {
            throwBusError(e);
        }
    }
    // The container's id and name (its short id when it has none), or the bus error.
    std::pair<std::string, std::string> resolve(const std::string& container) {
        try {
            sdbus::ObjectPath path = manager_.GetContainer(container);
            if (!listed_) {
                list_ = manager_.ListContainers();
                listed_ = true;
            }
            for (const auto& c : list_)
                if (std::get<6>(c) == path) {
                    const std::string& id = std::get<0>(c);
                    const std::string& name = std::get<1>(c);
                    return {id, name.empty() ? id.substr(0, 12) : name};
                }
            return {container, container};
        } catch (const sdbus::Error& e) {
            throwBusError(e);
        }
    }

  private:
    std::unique_ptr<sdbus::IConnection> connection_;
    ManagerProxy manager_;
    bool listed_ = false;
    std::vector<sdbus::Struct<std::string, std::string, std::string, std::string, std::string,
                              std::string, sdbus::ObjectPath>>
        list_;
};

int64_t nowNs() {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

sdbus::Variant timeOption(const std::string& text, int64_t now_ns) {
    auto ns = ringlog::parseTimePoint(text, now_ns);
    if (!ns)
        throw CommandError(kExitUsage, ns.error().message);
    return sdbus::Variant(static_cast<uint64_t>(std::max<int64_t>(*ns, 0)));
}

Mode modeOf(const std::string& output) {
    static const std::map<std::string, Mode> modes = {{"", Mode::kDefault},
                                                      {"raw", Mode::kRaw},
                                                      {"cat", Mode::kCat},
                                                      {"short", Mode::kShort},
                                                      {"short-iso", Mode::kShortIso},
                                                      {"json", Mode::kJson}};
    return modes.at(output);
}

// Copies a pipe to fd: the fast path.
void passThrough(int from, int to) {
    std::vector<char> buf(256 * 1024);
    for (;;) {
        ssize_t n = readSome(from, buf.data(), buf.size());
        if (n == 0)
            return;
        Output::writeAll(to, buf.data(), static_cast<size_t>(n));
    }
}

// Copies two pipes to two fds as data comes: stdout's records and stderr's, each in its order.
void passThroughBoth(int out_from, int err_from) {
    std::vector<char> buf(256 * 1024);
    struct pollfd fds[2] = {{out_from, POLLIN, 0}, {err_from, POLLIN, 0}};
    const int to[2] = {STDOUT_FILENO, STDERR_FILENO};
    int open = 2;
    while (open > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            throw CommandError(kExitFailed, std::string("poll: ") + std::strerror(errno));
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            ssize_t n = readSome(fds[i].fd, buf.data(), buf.size());
            if (n == 0) {
                fds[i].fd = -1;  // poll ignores it from now on
                --open;
                continue;
            }
            Output::writeAll(to[i], buf.data(), static_cast<size_t>(n));
        }
    }
}

void runLogs(Args& a) {
    // Everything the user wrote is checked before ringlogd is asked anything.
    Options common;
    std::optional<uint64_t> tail;
    if (!a.tail.empty() && a.tail != "all") {
        if (a.tail.find_first_not_of("0123456789") != std::string::npos || a.tail.size() > 18)
            throw CommandError(kExitUsage, "--tail: \"" + a.tail + "\" is not a number or \"all\"");
        tail = std::stoull(a.tail);
    }
    int64_t now = nowNs();
    if (!a.since.empty())
        common["since"] = timeOption(a.since, now);
    if (!a.until.empty())
        common["until"] = timeOption(a.until, now);
    if (!a.stream.empty())
        common["streams"] = sdbus::Variant(std::vector<std::string>{a.stream});
    if (!a.grep.empty())
        common["grep"] = sdbus::Variant(a.grep);
    if (a.case_sensitive_option != nullptr && a.case_sensitive_option->count() > 0)
        common["case_sensitive"] = sdbus::Variant(a.case_sensitive);
    bool several = a.containers.size() > 1;
    if (several && !a.after_cursor.empty())
        throw CommandError(kExitUsage,
                           "--after-cursor takes one container: a cursor belongs to one log");
    Mode mode = modeOf(a.output);

    Session session;
    Options first = common;
    if (tail)
        first["tail"] = sdbus::Variant(*tail);
    if (!a.after_cursor.empty())
        first["after_cursor"] = sdbus::Variant(a.after_cursor);

    // The fast path: one container, and nothing to do per record.
    if (!several && !a.show_cursor) {
        int to = -1;
        bool plain = !a.timestamps && !a.details;
        if (mode == Mode::kJson)
            to = STDOUT_FILENO;
        else if (mode == Mode::kRaw && plain)
            to = STDOUT_FILENO;
        else if (mode == Mode::kDefault && plain) {
            if (a.stream == "stderr")
                to = STDERR_FILENO;
            else if (a.stream == "stdout" || sameFile(STDOUT_FILENO, STDERR_FILENO))
                to = STDOUT_FILENO;
        }
        // Both streams to two different files: one raw query per stream is a copy each, and
        // which of two files a line lands in first cannot be seen. Not with --tail: the last N
        // are counted across both streams.
        if (mode == Mode::kDefault && plain && a.stream.empty() && !tail && to == -1) {
            Options out = first, err = first;
            for (Options* o : {&out, &err}) {
                (*o)["format"] = sdbus::Variant(std::string("raw"));
                if (a.follow)
                    (*o)["follow"] = sdbus::Variant(true);
            }
            out["streams"] = sdbus::Variant(std::vector<std::string>{"stdout"});
            err["streams"] = sdbus::Variant(std::vector<std::string>{"stderr"});
            sdbus::UnixFd out_fd = session.query(a.containers[0], out);
            sdbus::UnixFd err_fd = session.query(a.containers[0], err);
            passThroughBoth(out_fd.get(), err_fd.get());
            return;
        }
        if (to != -1) {
            first["format"] = sdbus::Variant(std::string(mode == Mode::kJson ? "json" : "raw"));
            if (a.follow)
                first["follow"] = sdbus::Variant(true);
            sdbus::UnixFd fd = session.query(a.containers[0], first);
            passThrough(fd.get(), to);
            return;
        }
    }

    // Per record: every container's JSON, the history merged by time.
    first["format"] = sdbus::Variant(std::string("json"));
    if (a.follow && !several)
        first["follow"] = sdbus::Variant(true);
    std::vector<std::unique_ptr<Source>> sources;
    size_t width = 0;
    bool names = several || mode == Mode::kShort || mode == Mode::kShortIso;
    for (const auto& c : a.containers) {
        auto [id, name] = names ? session.resolve(c) : std::pair{c, c};
        width = std::max(width, name.size());
        sources.push_back(std::make_unique<Source>(id, name, sdbus::UnixFd()));
    }
    // Every query is asked before anything is printed: a refusal costs no half output.
    for (auto& s : sources)
        s->reset(session.query(several ? s->id() : a.containers[0], first));

    Printer printer(a, mode, several, width);
    std::vector<Record> heads(sources.size());
    std::vector<bool> has(sources.size());
    for (size_t i = 0; i < sources.size(); ++i)
        has[i] = sources[i]->next(heads[i]);
    for (;;) {
        size_t best = sources.size();
        for (size_t i = 0; i < sources.size(); ++i)
            if (has[i] && (best == sources.size() || heads[i].time_ns < heads[best].time_ns))
                best = i;
        if (best == sources.size())
            break;
        printer.record(*sources[best], heads[best]);
        has[best] = sources[best]->next(heads[best]);
    }
    printer.flush();

    if (a.follow && several) {
        // Live records in arrival order, each container resumed right after what was shown.
        std::map<const Source*, std::string> last;
        for (size_t i = 0; i < sources.size(); ++i) {
            Options live = common;
            live["format"] = sdbus::Variant(std::string("json"));
            live["follow"] = sdbus::Variant(true);
            if (!heads[i].cursor.empty())
                live["after_cursor"] = sdbus::Variant(heads[i].cursor);
            sources[i]->reset(session.query(sources[i]->id(), live));
        }
        std::vector<struct pollfd> fds(sources.size());
        size_t open = sources.size();
        while (open > 0) {
            for (size_t i = 0; i < sources.size(); ++i)
                fds[i] = {sources[i]->eof() ? -1 : sources[i]->fd(), POLLIN, 0};
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR)
                    continue;
                throw CommandError(kExitFailed, std::string("poll: ") + std::strerror(errno));
            }
            for (size_t i = 0; i < sources.size(); ++i) {
                if (fds[i].revents == 0)
                    continue;
                if (!sources[i]->fill())
                    --open;
                Record r;
                while (sources[i]->next(r, false))
                    printer.record(*sources[i], r);
                printer.flush();
            }
        }
    }
    if (a.show_cursor)
        printer.cursors(sources);
    printer.flush();
}

}  // namespace

void addLogsCommand(CLI::App& app, const GlobalOptions&) {
    auto a = std::make_shared<Args>();
    CLI::App* sub = app.add_subcommand(
        "logs", "Show containers' logs, as docker logs (several: merged by time)");
    sub->add_option("CONTAINER", a->containers,
                    "Full id, unique id prefix, or name; several are merged by time")
        ->required();
    sub->add_flag("-f,--follow", a->follow, "Keep streaming new records until the container exits");
    sub->add_option("-n,--tail", a->tail, "Only the last N records of each container, or all")
        ->type_name("N|all");
    sub->add_option("--since", a->since, "Records at or after TIME (docs/ringlogctl.md: forms)")
        ->type_name("TIME");
    sub->add_option("--until", a->until, "Records at or before TIME")->type_name("TIME");
    sub->add_flag("-t,--timestamps", a->timestamps,
                  "Prefix each record with its time, as docker (RFC 3339, 9 digits, UTC)");
    sub->add_flag("--details", a->details, "Prefix each record with its attributes, as docker");
    sub->add_option("-o,--output,--format", a->output,
                    "Output mode: short, short-iso, cat, json or raw (default: docker's)")
        ->check(CLI::IsMember({"short", "short-iso", "cat", "json", "raw"}))
        ->type_name("MODE");
    sub->add_option("--stream", a->stream, "Only this stream: stdout or stderr")
        ->check(CLI::IsMember({"stdout", "stderr"}))
        ->type_name("STREAM");
    sub->add_option("-g,--grep", a->grep, "Only records whose message matches this PCRE2 regex")
        ->type_name("PATTERN");
    a->case_sensitive_option =
        sub->add_flag("--case-sensitive", a->case_sensitive,
                      "--grep matches case-sensitively (--case-sensitive=false: not; default: "
                      "ringlogd's, as journalctl)");
    sub->add_option("--after-cursor", a->after_cursor, "Only records after this cursor")
        ->type_name("CURSOR");
    sub->add_flag("--show-cursor", a->show_cursor, "Print the last record's cursor after it");
    sub->callback([a] { runLogs(*a); });
}

}  // namespace ringlogctl
