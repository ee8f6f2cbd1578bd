// Off the host on existing engines (docs/scale-out.md): ringlogd ships nothing itself, so these
// tests run Debian's own shippers against the real ringlogd on loopback and check what arrives.
//   journald driver → a private systemd-journald → systemd-journal-upload → systemd-journal-remote,
//   read on the collector with sd-journal and journalctl, as JournalBeat or fluent-bit would;
//   syslog driver → a relay rsyslogd → TCP and TLS → a central rsyslogd.
// Each shipper is started by the test, stopped by PID; names ending in _Root need root (a mount
// namespace for journald).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "harness.h"
#include "rsyslog_server.h"

namespace ringlog::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Input = RsyslogServer::Input;

constexpr const char* kJournalRemote = "/lib/systemd/systemd-journal-remote";
constexpr const char* kJournalUpload = "/lib/systemd/systemd-journal-upload";
constexpr const char* kJournalctl = "/usr/bin/journalctl";
// The figure in the debug build; a quarter under ASan+UBSan, as the other load tests
// (docs/testing.md): the sanitized build runs every test again within the same CI budget.
#if defined(__SANITIZE_ADDRESS__)
constexpr long long kEntries = 25000;
#else
constexpr long long kEntries = 100000;
#endif

// A 64-hex-digit container id of its own for each name.
std::string idFor(const std::string& name) {
    char buf[65];
    std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(name));
    return std::string(buf) + std::string(48, 'a');
}

// The line number in "stdout-000000042-xxx" (the container's own line, as its MESSAGE).
long long lineNumber(const std::string& message) {
    return std::stoll(message.substr(7, 9));
}

// A journal cursor's sequence number: "i=<hex>" (the entry's place in the source journal).
unsigned long long cursorSeqnum(const std::string& cursor) {
    size_t at = cursor.find(";i=");
    return at == std::string::npos ? 0 : std::stoull(cursor.substr(at + 3), nullptr, 16);
}

std::vector<json> parseJsonLines(const std::string& text) {
    std::vector<json> out;
    for (const auto& line : splitLines(text))
        out.push_back(json::parse(line));
    return out;
}

// journalctl on the collector's files (the host's journalctl; no journald is involved there).
std::string collectorJournalctl(const fs::path& dir, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kJournalctl, "--no-pager", "-q", "--directory",
                                     (dir / "journal").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    fs::path out = dir / "journalctl.out";
    // spawn() appends to its output files: without this, a second call returned the first's
    // output too (the after-cursor test saw 100,000 + 50,000 entries).
    fs::remove(out);
    fs::remove(dir / "journalctl.err");
    SpawnOptions o;
    o.stdout_file = out.string();
    o.stderr_file = (dir / "journalctl.err").string();
    if (int rc = spawn(argv, o).wait(); rc != 0)
        throw std::runtime_error("journalctl on the collector exited " + std::to_string(rc) + ": " +
                                 readFile(dir / "journalctl.err"));
    return readFile(out);
}

// One journal entry as sd-journal reads it from the files.
struct JournalEntry {
    std::vector<std::string> fields;  // every "FIELD=value" it carries, sorted
    uint64_t realtime_usec = 0;
    uint64_t monotonic_usec = 0;
    std::string boot_id;  // the boot the monotonic time counts from
    std::string cursor;
    // The value of the field `name`, if the entry has one.
    std::optional<std::string> field(const std::string& name) const {
        const std::string prefix = name + "=";
        auto it = std::lower_bound(fields.begin(), fields.end(), prefix);
        if (it == fields.end() || !startsWith(*it, prefix))
            return std::nullopt;
        return it->substr(prefix.size());
    }
};

using JournalHandle = std::unique_ptr<sd_journal, decltype(&sd_journal_close)>;

std::runtime_error journalError(const std::string& what, const fs::path& directory, int r) {
    return std::runtime_error(what + " on the journal in " + directory.string() + ": " +
                              std::strerror(-r));
}

JournalHandle openJournal(const fs::path& directory) {
    sd_journal* j = nullptr;
    if (int r = sd_journal_open_directory(&j, directory.c_str(), 0); r < 0)
        throw journalError("sd_journal_open_directory", directory, r);
    JournalHandle journal(j, sd_journal_close);
    // Fields as they are, however long: by default sd-journal cuts them at 64 KiB.
    if (int r = sd_journal_set_data_threshold(j, 0); r < 0)
        throw journalError("sd_journal_set_data_threshold", directory, r);
    return journal;
}

std::string currentCursor(sd_journal* j, const fs::path& directory) {
    char* cursor = nullptr;
    if (int r = sd_journal_get_cursor(j, &cursor); r < 0)
        throw journalError("sd_journal_get_cursor", directory, r);
    std::string out = cursor;
    std::free(cursor);
    return out;
}

// The entries with the field `match` ("FIELD=value") in the journal files of `directory`, in
// sd-journal's order (journalctl's), read in-process: for 100,000 entries journalctl -o json and
// parsing its output took longer than the upload itself.
std::vector<JournalEntry> readJournal(const fs::path& directory, const std::string& match) {
    auto journal = openJournal(directory);
    sd_journal* j = journal.get();
    if (int r = sd_journal_add_match(j, match.data(), match.size()); r < 0)
        throw journalError("sd_journal_add_match(" + match + ")", directory, r);
    std::vector<JournalEntry> entries;
    int r;
    while ((r = sd_journal_next(j)) > 0) {
        const std::string where = "entry " + std::to_string(entries.size()) + ": ";
        JournalEntry e;
        const void* data = nullptr;
        size_t length = 0;
        sd_journal_restart_data(j);
        int d;
        while ((d = sd_journal_enumerate_data(j, &data, &length)) > 0)
            e.fields.emplace_back(static_cast<const char*>(data), length);
        if (d < 0)
            throw journalError(where + "sd_journal_enumerate_data", directory, d);
        std::sort(e.fields.begin(), e.fields.end());
        if (int t = sd_journal_get_realtime_usec(j, &e.realtime_usec); t < 0)
            throw journalError(where + "sd_journal_get_realtime_usec", directory, t);
        sd_id128_t boot;
        if (int t = sd_journal_get_monotonic_usec(j, &e.monotonic_usec, &boot); t < 0)
            throw journalError(where + "sd_journal_get_monotonic_usec", directory, t);
        char boot_text[SD_ID128_STRING_MAX];
        e.boot_id = sd_id128_to_string(boot, boot_text);
        e.cursor = currentCursor(j, directory);
        entries.push_back(std::move(e));
    }
    if (r < 0)
        throw journalError("sd_journal_next after entry " + std::to_string(entries.size()),
                           directory, r);
    return entries;
}

// The cursor of the last entry in the journal files of `directory`, whatever wrote it.
std::string lastCursor(const fs::path& directory) {
    auto journal = openJournal(directory);
    if (int r = sd_journal_seek_tail(journal.get()); r < 0)
        throw journalError("sd_journal_seek_tail", directory, r);
    int r = sd_journal_previous(journal.get());
    if (r < 0)
        throw journalError("sd_journal_previous", directory, r);
    if (r == 0)
        throw std::runtime_error("no entries in the journal in " + directory.string());
    return currentCursor(journal.get(), directory);
}

// What one sorted field list has that the other has not, both ways (for a failure message).
std::string fieldDifference(const std::vector<std::string>& source,
                            const std::vector<std::string>& collected) {
    std::vector<std::string> only_source, only_collected;
    std::set_difference(source.begin(), source.end(), collected.begin(), collected.end(),
                        std::back_inserter(only_source));
    std::set_difference(collected.begin(), collected.end(), source.begin(), source.end(),
                        std::back_inserter(only_collected));
    std::string out = "only in the source's entry:";
    for (const auto& f : only_source)
        out += "\n  " + f;
    out += "\nonly in the collector's entry:";
    for (const auto& f : only_collected)
        out += "\n  " + f;
    return out;
}

// systemd-journal-remote as the collector: listening for HTTP on a free loopback port (bound to
// port 0 first, then let go for it: journal-remote 252 takes a passed socket only from a socket
// unit), writing one journal (--split-mode=none) under <dir>/journal, where it also rotates it
// when the file is full; READY=1 once it listens.
class JournalRemote {
  public:
    explicit JournalRemote(const fs::path& dir) : dir_(dir) {
        fs::create_directories(dir_ / "journal");
        port_ = freePorts(SOCK_STREAM, 1)[0];
        std::string notify = (dir_ / "notify.sock").string();
        int ns = bindNotifySocket(notify);
        SpawnOptions o;
        o.env["NOTIFY_SOCKET"] = notify;
        o.stderr_file = (dir_ / "journal-remote.log").string();
        o.stdout_file = o.stderr_file;
        o.die_with_test = true;
        process_ = spawn(
            {kJournalRemote, "--listen-http=127.0.0.1:" + std::to_string(port_),
             "--output=" + (dir_ / "journal" / "remote.journal").string(), "--split-mode=none"},
            o);
        try {
            waitForReady(ns, "systemd-journal-remote", process_.pid);
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string(e.what()) + "; it said:\n" + log());
        }
    }
    ~JournalRemote() {
        if (process_.pid > 0) {
            process_.kill(SIGKILL);
            process_.wait();
        }
    }
    int stop() {  // SIGTERM: it closes its journal file cleanly
        process_.kill(SIGTERM);
        return process_.wait();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string log() const { return readFile(dir_ / "journal-remote.log"); }

    // Waits, while no uploader runs, until journal-remote has read every byte the uploaders
    // gone sent it. One killed with SIGKILL leaves what it sent in the sockets (its send queue
    // still goes out), which journal-remote went on reading after the next uploader had
    // connected, interleaving the two (seen in CI). journal-remote does not close such a
    // connection (its request never ended: CLOSE-WAIT for good), so what is waited for is each
    // connection closed by its uploader (its FIN came after the last byte) with nothing left
    // in its receive queue.
    void waitUntilUploadsGoneAreRead(Clock::time_point deadline) const {
        for (;;) {
            std::string unread;
            std::istringstream tcp(readFile("/proc/" + std::to_string(process_.pid) + "/net/tcp"));
            std::string line;
            std::getline(tcp, line);  // the header
            while (std::getline(tcp, line)) {
                // "N: local:port remote:port state tx_queue:rx_queue ...", in hexadecimal
                std::istringstream fields(line);
                std::string slot, local, remote, state, queues;
                fields >> slot >> local >> remote >> state >> queues;
                const auto port_at = local.rfind(':'), rx_at = queues.find(':');
                if (port_at == std::string::npos || rx_at == std::string::npos ||
                    std::stoi(local.substr(port_at + 1), nullptr, 16) != port_)
                    continue;
                const bool listening_or_gone = state == "0A" || state == "06";
                const bool closed_by_its_uploader = state == "08";  // CLOSE-WAIT
                if (listening_or_gone)
                    continue;
                if (!closed_by_its_uploader || std::stoul(queues.substr(rx_at + 1), nullptr, 16))
                    unread += " " + remote + " in state " + state + " with " +
                              queues.substr(rx_at + 1) + " (hex) bytes unread";
            }
            if (unread.empty())
                return;
            if (Clock::now() > deadline)
                throw std::runtime_error("journal-remote has not read what killed uploads sent:" +
                                         unread);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    std::string journalctl(const std::vector<std::string>& args) const {
        return collectorJournalctl(dir_, args);
    }

  private:
    fs::path dir_;
    int port_ = 0;
    Process process_;
};

// The cursor in journal-upload's --save-state file ("" while there is none).
std::string savedCursor(const fs::path& state) {
    std::ifstream in(state);
    std::string line;
    while (std::getline(in, line))
        if (startsWith(line, "LAST_CURSOR="))
            return line.substr(12);
    return {};
}

// systemd-journal-upload inside the journald test namespace, reading its journal files
// (-D /run/log/journal: Storage=volatile) and following them, its state in <dir>/state.
class JournalUpload {
  public:
    JournalUpload(const fs::path& dir, const Journald& journald, std::string url)
        : dir_(dir), journald_(journald), url_(std::move(url)) {
        fs::create_directories(dir_);
    }
    ~JournalUpload() { kill(SIGKILL); }
    void start() {
        auto argv = journald_.inside();
        argv.insert(argv.end(),
                    {kJournalUpload, "--url=" + url_, "--save-state=" + state().string(),
                     "--directory=/run/log/journal", "--follow=yes"});
        SpawnOptions o;
        o.stderr_file = (dir_ / ("journal-upload-" + std::to_string(++runs_) + ".log")).string();
        o.stdout_file = o.stderr_file;
        o.die_with_test = true;
        process_ = spawn(argv, o);  // nsenter execs it: the pid is journal-upload's
    }
    int kill(int sig) {
        if (process_.pid <= 0)
            return -1;
        process_.kill(sig);
        return process_.wait();
    }
    fs::path state() const { return dir_ / "state"; }
    std::string log() const {
        std::string all;
        for (int i = 1; i <= runs_; ++i)
            all += readFile(dir_ / ("journal-upload-" + std::to_string(i) + ".log"));
        return all;
    }

    // Waits until the saved cursor satisfies `done`, through inotify on the state's directory
    // (journal-upload writes a temporary file and renames it over the state after each upload
    // the collector answered). Returns the cursor; throws at `deadline`, saying where the
    // uploader is: the test's own deadline comes before ctest's, which would kill it silently.
    std::string waitForSavedCursor(const std::function<bool(const std::string&)>& done,
                                   Clock::time_point deadline) const {
        int in = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (in < 0 || ::inotify_add_watch(in, dir_.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
            throw std::runtime_error(std::string("inotify: ") + std::strerror(errno));
        std::string cursor;
        while (!done(cursor = savedCursor(state()))) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            pollfd p{in, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                ::close(in);
                throw std::runtime_error("journal-upload's saved cursor is still \"" + cursor +
                                         "\"; it said:\n" + log());
            }
            char events[4096];
            while (::read(in, events, sizeof events) > 0) {
            }
        }
        ::close(in);
        return cursor;
    }

  private:
    fs::path dir_;
    const Journald& journald_;
    std::string url_;
    Process process_;
    int runs_ = 0;
};

class JournalUploadTest : public ::testing::Test {
  protected:
    void SetUp() override {
        journald_ = std::make_unique<Journald>(dir_.path() / "journal");
        daemon_ =
            std::make_unique<Daemon>(dir_.path() / "d", std::vector<std::string>{},
                                     std::map<std::string, std::string>{}, journald_->inside());
        remote_ = std::make_unique<JournalRemote>(dir_.path() / "collector");
        upload_ =
            std::make_unique<JournalUpload>(dir_.path() / "upload", *journald_, remote_->url());
    }
    // Returns once the test journald has written out all it received (journalctl --sync), so
    // that its files can be read from the host.
    void syncSourceJournal() {
        auto argv = journald_->inside();
        argv.insert(argv.end(), {kJournalctl, "--sync"});
        if (int rc = spawn(argv).wait(); rc != 0)
            throw std::runtime_error("journalctl --sync in the test journal's namespace exited " +
                                     std::to_string(rc));
    }
    // Everything in the source journal now, oldest first.
    std::vector<json> sourceEntries(const std::vector<std::string>& args = {}) {
        std::vector<std::string> a = {"-o", "json", "--all"};
        a.insert(a.end(), args.begin(), args.end());
        return parseJsonLines(journald_->journalctl(a));
    }
    // Once the uploader has saved the cursor of the source's last entry, or of one after it,
    // everything is on the collector: stop both (SIGTERM, exit status 0). "Or after": journald
    // may add entries of its own, and the uploader saves the cursor of the last entry of each
    // upload, so it can pass the entry without ever saving its cursor (an equality test waited
    // for it forever under CI's load). The source journal's sequence numbers only grow.
    void drainAndStop(const std::string& last_cursor) {
        const unsigned long long last = cursorSeqnum(last_cursor);
        waitForSavedCursor([&](const std::string& c) { return cursorSeqnum(c) >= last; });
        EXPECT_EQ(upload_->kill(SIGTERM), 0) << upload_->log();
        EXPECT_EQ(remote_->stop(), 0) << remote_->log();
    }
    // The uploader's saved cursor, awaited until the test's deadline (see deadline_).
    std::string waitForSavedCursor(const std::function<bool(const std::string&)>& done) const {
        return upload_->waitForSavedCursor(done, deadline_);
    }
    // 270 s from the start: before ctest's 300 s, so that a stuck uploader is a failure that
    // says where it stands rather than a silent timeout.
    const Clock::time_point deadline_ = Clock::now() + std::chrono::seconds(270);
    TempDir dir_;
    std::unique_ptr<Journald> journald_;
    std::unique_ptr<Daemon> daemon_;
    std::unique_ptr<JournalRemote> remote_;
    std::unique_ptr<JournalUpload> upload_;
};

// 100,000 entries through journal-upload as they are written: on the collector each exactly
// once, in order, and each the source entry field for field (every CONTAINER_* field, the
// capture time, the tag, the label, journald's trusted fields, the realtime and monotonic
// timestamps and the boot; only the cursor is the collector's own). Both journals are read with
// sd-journal in the test: journalctl -o json and parsing 2 x 100,000 entries took half the test.
TEST_F(JournalUploadTest, AHundredThousandEntriesArriveOnceWithEveryField_Root) {
    const std::string id = idFor("shop-web");
    const std::string tag = "shop-web/" + id.substr(0, 12);
    const std::string match = "CONTAINER_ID_FULL=" + id;
    upload_->start();
    auto t0 = Clock::now();
    ASSERT_EQ(ringlogctlRun(*daemon_, {"--id",         id,
                                       "--name",       "shop-web",
                                       "--image",      "registry.example/shop:1.25",
                                       "--label",      "com.example.App=shop",
                                       "--log-driver", "journald",
                                       "--log-opt",    "labels=com.example.App",
                                       "--log-opt",    "tag={{.Name}}/{{.ID}}",
                                       "--",           lineWriterPath(),
                                       "--lines",      std::to_string(kEntries),
                                       "--width",      "100"}),
              0);
    ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();
    syncSourceJournal();
    drainAndStop(lastCursor(journald_->journalDirectory()));
    auto t1 = Clock::now();
    int files = 0;
    for ([[maybe_unused]] const auto& f :
         fs::directory_iterator(dir_.path() / "collector" / "journal"))
        ++files;

    auto source = readJournal(journald_->journalDirectory(), match);
    auto collected = readJournal(dir_.path() / "collector" / "journal", match);
    std::printf(
        "%lld entries written, uploaded and on the collector in %.2f s, in %d journal files; "
        "both journals read in %.2f s\n",
        kEntries, std::chrono::duration<double>(t1 - t0).count(), files,
        std::chrono::duration<double>(Clock::now() - t1).count());
    ASSERT_EQ(source.size(), static_cast<size_t>(kEntries)) << "the source journal lost entries";
    ASSERT_EQ(collected.size(), source.size()) << "entries lost or doubled on the way";
    for (size_t i = 0; i < source.size(); ++i) {
        SCOPED_TRACE("entry " + std::to_string(i));
        const auto& s = source[i];
        const auto& c = collected[i];
        const auto message = s.field("MESSAGE");
        ASSERT_TRUE(message &&
                    startsWith(*message, linePrefix("stdout", static_cast<long long>(i))))
            << "the source's line " << i << " is " << message.value_or("(no MESSAGE)");
        ASSERT_NE(c.cursor, s.cursor) << "the collector's cursors are its own";
        ASSERT_TRUE(c.fields == s.fields) << "the collector's entry differs from the source's\n"
                                          << fieldDifference(s.fields, c.fields);
        ASSERT_EQ(c.realtime_usec, s.realtime_usec) << "__REALTIME_TIMESTAMP";
        ASSERT_EQ(c.monotonic_usec, s.monotonic_usec) << "__MONOTONIC_TIMESTAMP";
        ASSERT_EQ(c.boot_id, s.boot_id) << "the monotonic timestamp's boot";
    }
    // What a JournalBeat/fluent-bit/Vector configuration keeps (docs/scale-out.md), spelled out.
    const auto& last = collected.back();
    EXPECT_EQ(last.field("CONTAINER_ID"), id.substr(0, 12));
    EXPECT_EQ(last.field("CONTAINER_ID_FULL"), id);
    EXPECT_EQ(last.field("CONTAINER_NAME"), "shop-web");
    EXPECT_EQ(last.field("CONTAINER_TAG"), tag);
    EXPECT_EQ(last.field("SYSLOG_IDENTIFIER"), tag);
    EXPECT_EQ(last.field("IMAGE_NAME"), "registry.example/shop:1.25");
    EXPECT_EQ(last.field("COM_EXAMPLE_APP"), "shop");
    EXPECT_EQ(last.field("CONTAINER_STREAM"), "stdout");
    EXPECT_EQ(last.field("PRIORITY"), "6");
    EXPECT_EQ(last.field("CONTAINER_LOG_ORDINAL"), std::to_string(kEntries));
    EXPECT_EQ(last.field("CONTAINER_LOG_EPOCH"), collected.front().field("CONTAINER_LOG_EPOCH"));
    EXPECT_TRUE(last.field("CONTAINER_LOG_EPOCH"));
    EXPECT_TRUE(last.field("SYSLOG_TIMESTAMP") && last.field("_HOSTNAME") &&
                last.realtime_usec != 0);
}

// A reader resuming on the collector by cursor, as JournalBeat's `seek_position: cursor` does,
// gets exactly the entries after it, with the 100,000 entries in the three files journal-remote
// rotated while the uploader followed the journal: `journalctl -D <collector>
// --after-cursor=<cursor of entry 50,000> CONTAINER_ID_FULL=…`, and sd_journal_seek_cursor then
// one step past the cursor's entry. (It was disabled for printing 150,000 entries: the test read
// journalctl's output from a file that still held the previous call's 100,000; journalctl was
// right.) The run shapes of what came back are in the failure message.
TEST_F(JournalUploadTest, OnTheCollectorAfterCursorGivesExactlyTheEntriesAfterIt_Root) {
    const std::string id = idFor("cursor");
    const std::string match = "CONTAINER_ID_FULL=" + id;
    const fs::path collector = dir_.path() / "collector" / "journal";
    upload_->start();
    ASSERT_EQ(ringlogctlRun(*daemon_, {"--id", id, "--name", "cursor", "--log-driver", "journald",
                                       "--", lineWriterPath(), "--lines", std::to_string(kEntries),
                                       "--width", "100"}),
              0);
    ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();
    syncSourceJournal();
    drainAndStop(lastCursor(journald_->journalDirectory()));
    auto collected = readJournal(collector, match);
    ASSERT_EQ(collected.size(), static_cast<size_t>(kEntries));
    const size_t half = collected.size() / 2;
    const std::string& cursor = collected[half - 1].cursor;

    // The line numbers in what came back, as runs of consecutive ones.
    auto shapeOf = [](const std::vector<long long>& lines) {
        std::string shape;
        for (size_t i = 0; i < lines.size(); ++i)
            if (i == 0 || lines[i] != lines[i - 1] + 1)
                shape += (i == 0 ? " [" : ".." + std::to_string(lines[i - 1]) + "] [") +
                         std::to_string(lines[i]);
        return lines.empty() ? std::string(" (none)")
                             : shape + ".." + std::to_string(lines.back()) + "]";
    };
    std::vector<long long> expected;
    for (auto n = static_cast<long long>(half); n < kEntries; ++n)
        expected.push_back(n);

    auto after = parseJsonLines(remote_->journalctl(
        {"-o", "json", "--output-fields=MESSAGE", "--after-cursor", cursor, match}));
    std::vector<long long> lines;
    for (const auto& e : after)
        lines.push_back(lineNumber(e["MESSAGE"].get<std::string>()));
    EXPECT_TRUE(lines == expected) << "journalctl --after-cursor gave" << shapeOf(lines);
    ASSERT_FALSE(after.empty());
    EXPECT_EQ(after.front()["__CURSOR"], collected[half].cursor);
    EXPECT_EQ(after.back()["__CURSOR"], collected.back().cursor);

    // The same through sd-journal, as the shippers read: seek to the cursor, step onto its entry
    // (sd_journal_test_cursor says it is that one), then every step after it.
    auto journal = openJournal(collector);
    sd_journal* j = journal.get();
    ASSERT_GE(sd_journal_add_match(j, match.data(), match.size()), 0);
    ASSERT_GE(sd_journal_seek_cursor(j, cursor.c_str()), 0);
    ASSERT_EQ(sd_journal_next(j), 1);
    ASSERT_GT(sd_journal_test_cursor(j, cursor.c_str()), 0) << "the first step is not " << cursor;
    lines.clear();
    int r;
    while ((r = sd_journal_next(j)) > 0) {
        const void* data = nullptr;
        size_t length = 0;
        ASSERT_GE(sd_journal_get_data(j, "MESSAGE", &data, &length), 0);
        const std::string field(static_cast<const char*>(data), length);
        lines.push_back(lineNumber(field.substr(std::strlen("MESSAGE="))));
    }
    ASSERT_GE(r, 0) << std::strerror(-r);
    EXPECT_TRUE(lines == expected)
        << "sd_journal_seek_cursor and sd_journal_next gave" << shapeOf(lines);
}

// The container's lines come from the test, through `cat`, so that the test decides where the
// uploads are when it restarts the uploader: SIGTERM while the first half flows, SIGKILL while
// the second does, each time started again with the same --save-state file. What is true of
// systemd-journal-upload 252, asserted exactly (docs/scale-out.md):
// - SIGTERM: it ends the upload in progress, saves its cursor and exits 0; the next run starts
//   AT the saved cursor, not after it: that one entry, the last of the previous run, arrives a
//   second time; nothing is lost, nothing else doubled.
// - SIGKILL: the collector keeps what it received after the last saved cursor, and the next run
//   sends it again from the saved cursor's entry: a run of repeated entries, nothing lost.
// Every ringlogd entry carries CONTAINER_ID_FULL and CONTAINER_LOG_ORDINAL: a store that keys on
// them has each line exactly once.
TEST_F(JournalUploadTest, AnUploaderRestartedMidwayResumesFromItsSavedCursor_Root) {
    const std::string id = idFor("resumed");
    // The source's entries so far are journald's own; the container's come after them.
    auto before = sourceEntries();
    ASSERT_FALSE(before.empty());
    const unsigned long long base = cursorSeqnum(before.back()["__CURSOR"].get<std::string>());
    upload_->start();

    // A write into the pipe of a container that died fails (EPIPE) rather than killing the test.
    struct IgnoreSigpipe {
        void (*old)(int) = std::signal(SIGPIPE, SIG_IGN);
        ~IgnoreSigpipe() { std::signal(SIGPIPE, old); }
    } ignore_sigpipe;
    Pipe feed;
    SpawnOptions in;
    in.stdin_fd = feed.read_fd;
    Process ctl = spawn({ringlogctlPath(), "run", "--socket", daemon_->socket(), "--id", id,
                         "--name", "resumed", "--log-driver", "journald", "--", "/bin/cat"},
                        in);
    feed.closeRead();
    std::mutex m;
    std::condition_variable cv;
    bool second_half = false;
    std::thread writer([&] {
        auto write = [&](long long from, long long to) {
            std::string batch;
            for (long long n = from; n < to; ++n) {
                std::string line = linePrefix("stdout", n);
                line.resize(99, 'x');
                batch += line + '\n';
                if (batch.size() >= 4000 || n + 1 == to) {
                    if (::write(feed.write_fd, batch.data(), batch.size()) !=
                        static_cast<ssize_t>(batch.size()))
                        return;
                    batch.clear();
                }
            }
        };
        write(0, kEntries / 2);
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return second_half; });
        lock.unlock();
        write(kEntries / 2, kEntries);
        feed.closeWrite();
    });
    auto release = [&] {
        std::lock_guard<std::mutex> lock(m);
        second_half = true;
        cv.notify_all();
    };
    // However the test ends, the writer is let go and joined (a failed wait throws).
    struct Joiner {
        std::function<void()> release;
        std::thread& thread;
        ~Joiner() {
            release();
            if (thread.joinable())
                thread.join();
        }
    } joiner{release, writer};

    // SIGTERM once a tenth of the lines are uploaded, while the rest of the half still flows.
    waitForSavedCursor(
        [&](const std::string& c) { return cursorSeqnum(c) >= base + kEntries / 10; });
    int term_status = upload_->kill(SIGTERM);
    const std::string term_cursor = savedCursor(upload_->state());
    upload_->start();
    release();
    // SIGKILL once six tenths are uploaded, in whatever upload is going on.
    waitForSavedCursor(
        [&](const std::string& c) { return cursorSeqnum(c) >= base + 6 * kEntries / 10; });
    upload_->kill(SIGKILL);
    const std::string kill_cursor = savedCursor(upload_->state());
    remote_->waitUntilUploadsGoneAreRead(deadline_);
    upload_->start();

    release();
    writer.join();
    ASSERT_EQ(ctl.wait(), 0) << daemon_->log();
    ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();
    auto all = sourceEntries({"--output-fields=MESSAGE,CONTAINER_ID_FULL"});
    drainAndStop(all.back()["__CURSOR"].get<std::string>());
    EXPECT_EQ(term_status, 0) << "journal-upload's exit status after SIGTERM\n" << upload_->log();

    // The source entries' line numbers by cursor: where each restart resumed.
    std::map<std::string, long long> line_at;
    long long source_lines = 0;
    for (const auto& e : all)
        if (e.value("CONTAINER_ID_FULL", "") == id) {
            EXPECT_EQ(lineNumber(e["MESSAGE"].get<std::string>()), source_lines)
                << "the source journal";
            line_at[e["__CURSOR"].get<std::string>()] = source_lines++;
        }
    ASSERT_EQ(source_lines, kEntries) << "the source journal lost lines";
    ASSERT_EQ(line_at.count(term_cursor), 1u) << "not a container entry: " << term_cursor;
    ASSERT_EQ(line_at.count(kill_cursor), 1u) << "not a container entry: " << kill_cursor;
    const long long k1 = line_at[term_cursor], k2 = line_at[kill_cursor];
    EXPECT_LT(k2, kEntries - 1) << "the SIGKILL was not mid-way";

    // The collector: three runs of consecutive lines. The first from line 0 to the SIGTERM's
    // saved cursor; the second from that same line (its one repeat) on; the third from the
    // SIGKILL's saved cursor (at or before where the second ended) to the last line.
    std::vector<long long> got;
    for (const auto& line :
         splitLines(remote_->journalctl({"-o", "cat", "CONTAINER_ID_FULL=" + id})))
        got.push_back(lineNumber(line));
    std::vector<std::pair<long long, long long>> runs;  // first, last
    for (long long n : got) {
        if (runs.empty() || n != runs.back().second + 1)
            runs.push_back({n, n});
        else
            runs.back().second = n;
    }
    std::string shape;
    for (const auto& [first, last] : runs)
        shape += " [" + std::to_string(first) + ".." + std::to_string(last) + "]";
    std::printf("restarts: SIGTERM at line %lld, SIGKILL at line %lld; the collector holds%s\n", k1,
                k2, shape.c_str());
    ASSERT_EQ(runs.size(), 3u) << shape;
    EXPECT_EQ(runs[0].first, 0);
    EXPECT_EQ(runs[0].second, k1) << "the SIGTERM's upload ended at its saved cursor" << shape;
    EXPECT_EQ(runs[1].first, k1) << "resumed at (not after) the saved cursor" << shape;
    EXPECT_EQ(runs[2].first, k2) << "resumed at the SIGKILL's saved cursor" << shape;
    EXPECT_LE(k2, runs[1].second) << shape;
    EXPECT_EQ(runs[2].second, kEntries - 1) << shape;
    EXPECT_EQ(static_cast<long long>(got.size()), kEntries + 1 + (runs[1].second - k2 + 1));
    std::printf("sent twice: 1 entry after the SIGTERM, %lld after the SIGKILL\n",
                runs[1].second - k2 + 1);
}

// The syslog path: ringlogd's syslog driver sends RFC 5424 over TCP to a relay rsyslogd on the
// node, which forwards over TCP with TLS (both sides authenticated by the test's CA) to a central
// rsyslogd. Every line arrives at the central exactly once, in order per stream, and each record
// there is the one the relay received: the same APP-NAME, PROCID, MSGID, structured data
// (container id, name, image), timestamp, host, facility and severity.
TEST(SyslogRelayChain, EveryLineOfASyslogContainerReachesTheCentralRsyslogOnceOverTls) {
    constexpr long long kLines = 20000;
    TempDir dir;
    RsyslogServer central(dir.path() / "central");
    RsyslogRelay relay(dir.path() / "relay", {central.port(Input::TlsClientAuth), central.caCert(),
                                              central.clientCert(), central.clientKey()});
    Daemon daemon(dir.path() / "d");
    const std::string id = idFor("shop-api");
    const std::string tag = "shop-api/" + id.substr(0, 12);
    const std::string image = "registry.example/shop-api:2.0";
    ASSERT_EQ(ringlogctlRun(daemon, {"--id",         id,
                                     "--name",       "shop-api",
                                     "--image",      image,
                                     "--log-driver", "syslog",
                                     "--log-opt",    "syslog-address=" + relay.address(),
                                     "--log-opt",    "syslog-format=rfc5424micro",
                                     "--log-opt",    "syslog-facility=local3",
                                     "--log-opt",    "tag={{.Name}}/{{.ID}}",
                                     "--log-opt",    "cache-disabled=true",
                                     "--",           lineWriterPath(),
                                     "--lines",      std::to_string(kLines),
                                     "--stream",     "both"}),
              0);
    const std::string pid = std::to_string(daemon.pid());
    central.waitForCount(Input::TlsClientAuth, static_cast<size_t>(kLines));
    relay.stop();  // its queue is empty: the central has as many as were sent
    ASSERT_EQ(daemon.stop(), 0) << daemon.log();
    central.stop();
    auto received = relay.records();
    auto got = central.records(Input::TlsClientAuth);
    ASSERT_EQ(received.size(), static_cast<size_t>(kLines)) << "the relay: lost or doubled";
    ASSERT_EQ(got.size(), static_cast<size_t>(kLines)) << "the central: lost or doubled";

    const std::string sd = "[ringlog@32473 container_id=\"" + id +
                           "\" container_name=\"shop-api\" image_name=\"" + image + "\"]";
    long long next_out = 0, next_err = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const auto& r = got[i];
        const auto& x = received[i];
        SCOPED_TRACE("record " + std::to_string(i) + ": " + r.raw.substr(0, 200));
        const bool is_err = r.severity == "err";
        long long& next = is_err ? next_err : next_out;
        ASSERT_TRUE(startsWith(r.msg, linePrefix(is_err ? "stderr" : "stdout", next++)))
            << "a line lost, doubled or out of order";
        EXPECT_EQ(r.msg, x.msg);
        EXPECT_EQ(r.pri, x.pri);
        EXPECT_EQ(r.pri, 19 * 8 + (is_err ? 3 : 6));
        EXPECT_EQ(r.timestamp, x.timestamp);
        EXPECT_EQ(r.hostname, x.hostname);
        EXPECT_EQ(r.app_name, tag);
        EXPECT_EQ(r.procid, pid);
        EXPECT_EQ(r.msgid, tag.substr(0, 32));
        EXPECT_EQ(r.structured_data, sd);
        EXPECT_EQ(x.app_name, r.app_name);
        EXPECT_EQ(x.procid, r.procid);
        EXPECT_EQ(x.msgid, r.msgid);
        EXPECT_EQ(x.structured_data, r.structured_data);
    }
    EXPECT_EQ(next_out + next_err, kLines);
    EXPECT_EQ(next_out, kLines / 2);
}

}  // namespace
}  // namespace ringlog::test
