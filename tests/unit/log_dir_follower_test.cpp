// LogDirFollower and openLogDirectory (docs/log-files.md), against real directories and files,
// with the lines collected by a sink instead of a ring.
#include "service/collect/log_dir_follower.h"

#include "ringlog/client.h"
#include "service/ingest/attach_request.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ringlog {
namespace {

namespace fs = std::filesystem;

struct ScratchDir {
    ScratchDir() {
        char tmpl[] = "/tmp/ringlog-follower-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~ScratchDir() { fs::remove_all(path); }
    fs::path path;
};

struct CollectedLine {
    std::string file, message;
    uint8_t flags;
    uint64_t end_offset;
};

struct CollectingSink final : FileLineSink {
    uint16_t fileSource(std::string_view name) override {
        names.emplace_back(name);
        return static_cast<uint16_t>(names.size());
    }
    bool pushFileLine(uint16_t source, uint64_t end_offset, std::string_view message, uint8_t flags,
                      uint32_t, uint64_t&) override {
        if (refuse)
            return false;
        lines.push_back({names[source - 1], std::string(message), flags, end_offset});
        return true;
    }
    void beginFileRead() override {}
    uint64_t nextSequence() const override { return first_sequence + lines.size(); }
    uint64_t first_sequence = 1;
    std::vector<std::string> names;
    std::vector<CollectedLine> lines;
    bool refuse = false;
};

void append(const fs::path& file, const std::string& text) {
    std::ofstream(file, std::ios::app) << text;
}

std::vector<std::pair<std::string, UniqueFd>> openDirs(const fs::path& root, const fs::path& dir) {
    auto fd = openLogDirectory({root.string()}, dir.string());
    EXPECT_TRUE(fd.ok()) << fd.error().message;
    std::vector<std::pair<std::string, UniqueFd>> dirs;
    dirs.emplace_back(dir.string(), std::move(*fd));
    return dirs;
}

// Reads what inotify reported until the follower has nothing pending.
void readAll(FileWatcher& watcher, LogDirFollower& follower) {
    char buffer[4096];
    watcher.onReadable();
    while (follower.hasPending())
        ASSERT_NE(follower.readPending(buffer, sizeof buffer, SIZE_MAX),
                  LogDirFollower::ReadResult::kBlocked);
}

// "file:message:end offset" of each line the sink got, sorted: files are read in no particular
// order among them, each one's lines in order.
std::vector<std::string> linesOf(const CollectingSink& sink) {
    std::vector<std::string> got;
    for (const auto& l : sink.lines)
        got.push_back(l.file + ":" + l.message + ":" + std::to_string(l.end_offset));
    std::sort(got.begin(), got.end());
    return got;
}

TEST(OpenLogDirectory, TakesOnlyADirectoryStrictlyUnderARootWithoutSymlinks) {
    ScratchDir scratch;
    fs::path root = scratch.path / "pods", dir = root / "p1" / "applog";
    fs::create_directories(dir);
    fs::create_directory_symlink("/etc", root / "sneaky");
    std::vector<std::string> roots{root.string() + "/"};
    EXPECT_TRUE(openLogDirectory(roots, dir.string()).ok());
    auto message = [&](const std::string& path) {
        auto r = openLogDirectory(roots, path);
        return r.ok() ? std::string("accepted") : r.error().message;
    };
    EXPECT_EQ(message("p1/applog"), "log directory \"p1/applog\" is not an absolute path");
    EXPECT_EQ(message(root.string() + "/p1/../p1/applog"),
              "log directory \"" + root.string() + "/p1/../p1/applog\" contains \"..\"");
    EXPECT_EQ(message("/var/log"),
              "log directory \"/var/log\" is not under a configured root "
              "(log-dir-roots: " +
                  root.string() + ")");
    EXPECT_EQ(message(root.string()),
              "log directory \"" + root.string() +
                  "\" is not under a configured root (log-dir-roots: " + root.string() + ")");
    EXPECT_EQ(message((root / "sneaky").string()), "log directory \"" + (root / "sneaky").string() +
                                                       "\" is reached through a symlink beneath " +
                                                       root.string());
}

TEST(LogDirFollower, ReadsFilesThereAndNewOnesOnceEvenRenamedAndAgainAfterATruncation) {
    ScratchDir scratch;
    fs::path root = scratch.path, dir = root / "logs";
    fs::create_directories(dir);
    append(dir / "a.log", "a1\na2\n");
    append(dir / "skip.txt", "not matched\n");
    FileWatcher watcher;
    CollectingSink sink;
    LogDirFollower follower(watcher, "c", openDirs(root, dir), "*.log", FollowLimits{}, sink);
    readAll(watcher, follower);
    append(dir / "b.log", "b1\n");
    readAll(watcher, follower);
    // Renamed, then written to through the name it has now: the same file.
    fs::rename(dir / "a.log", dir / "a.log.1");
    append(dir / "a.log.1", "a3\n");
    append(dir / "a.log", "new a1\n");
    readAll(watcher, follower);
    // copytruncate.
    ASSERT_EQ(::truncate((dir / "b.log").c_str(), 0), 0);
    readAll(watcher, follower);
    append(dir / "b.log", "b2\n");
    readAll(watcher, follower);
    EXPECT_EQ(linesOf(sink),
              (std::vector<std::string>{"a.log:a1:3", "a.log:a2:6", "a.log:a3:9", "a.log:new a1:7",
                                        "b.log:b1:3", "b.log:b2:3"}));
    EXPECT_EQ(follower.filesOpen(), 3u);  // a.log.1, the new a.log, b.log
}

// A follower with a registry is destroyed as a killed ringlogd's would be (its half-read last line
// unframed); meanwhile a.log is rotated by rename and written to, gone.log deleted, b.log made.
// The next follower, from the registry, reads on: every line once, with the name it had.
TEST(LogDirFollower, ANextFollowerReadsOnFromTheRegistryWhateverTheFilesAreCalledNow) {
    ScratchDir scratch;
    fs::path root = scratch.path, dir = root / "logs";
    fs::create_directories(dir);
    append(dir / "a.log", "a1\na2\n");
    append(dir / "gone.log", "g1\n");
    auto registry = FileRegistry::create("c", 4);
    ASSERT_TRUE(registry.ok()) << registry.error().message;
    CollectingSink before;
    {
        FileWatcher watcher;
        LogDirFollower follower(watcher, "c", openDirs(root, dir), "*.log", FollowLimits{}, before,
                                registry->get());
        readAll(watcher, follower);
        append(dir / "a.log", "a3-begun");
        readAll(watcher, follower);
    }
    for (auto& name : before.names)
        ASSERT_TRUE(
            (*registry)->recordName(static_cast<uint16_t>(&name - &before.names[0] + 1), name));
    append(dir / "a.log", "-ended\na4\n");
    fs::rename(dir / "a.log", dir / "a.log.1");
    fs::remove(dir / "gone.log");
    append(dir / "b.log", "b1\n");

    auto adopted = FileRegistry::adopt(UniqueFd(::fcntl((*registry)->memfd(), F_DUPFD_CLOEXEC, 0)));
    ASSERT_TRUE(adopted.ok()) << adopted.error().message;
    CollectingSink after;
    after.names = (*adopted)->names();
    after.first_sequence = before.nextSequence();
    FileWatcher watcher;
    LogDirFollower follower(watcher, "c", openDirs(root, dir), "*.log", FollowLimits{}, after,
                            adopted->get(), (*adopted)->resumePoints(before.lines.size()));
    readAll(watcher, follower);
    EXPECT_EQ(linesOf(before),
              (std::vector<std::string>{"a.log:a1:3", "a.log:a2:6", "gone.log:g1:3"}));
    EXPECT_EQ(linesOf(after),
              (std::vector<std::string>{"a.log:a3-begun-ended:21", "a.log:a4:24", "b.log:b1:3"}));
    // gone.log's slot is free; a.log (as a.log.1) and b.log have theirs.
    EXPECT_EQ((*adopted)->resumePoints(after.nextSequence()).size(), 2u);
}

// Where the file system keeps no birth time, a file's first bytes tell a file that kept its inode
// (read on from its offset) from a new one that was given the inode number (read from 0).
TEST(LogDirFollower, WithoutABirthTimeTheFirstBytesTellAFileFromOneWithItsInodeNumber) {
    ScratchDir scratch;
    fs::path root = scratch.path, dir = root / "logs";
    fs::create_directories(dir);
    append(dir / "same.log", "s1\ns2\n");
    append(dir / "new.log", "n1\n");
    auto registry = FileRegistry::create("c", 4);
    ASSERT_TRUE(registry.ok()) << registry.error().message;
    FileRegistry& reg = **registry;
    ASSERT_TRUE(reg.recordName(1, "same.log") && reg.recordName(2, "old.log"));
    auto remember = [&](const fs::path& file, uint16_t source, const std::string& head) {
        struct stat st;
        ASSERT_EQ(::stat(file.c_str(), &st), 0);
        auto slot = reg.claim(0, {st.st_dev, st.st_ino, 0}, source, 0);
        ASSERT_TRUE(slot.has_value());
        reg.recordHead(*slot, 0, head);
        reg.willPush(*slot, head.size(), source);
        reg.pushed(*slot, head.size());
    };
    remember(dir / "same.log", 1, "s1\n");
    remember(dir / "new.log", 2, "o1\n");  // old.log's inode number, now new.log's
    CollectingSink sink;
    sink.names = reg.names();
    sink.first_sequence = 3;
    FileWatcher watcher;
    LogDirFollower follower(watcher, "c", openDirs(root, dir), "*.log", FollowLimits{}, sink, &reg,
                            reg.resumePoints(2));
    readAll(watcher, follower);
    EXPECT_EQ(linesOf(sink), (std::vector<std::string>{"new.log:n1:3", "same.log:s2:6"}));
}

TEST(LogDirFollower, RefusesLinksAndNonRegularFilesAndCutsALineWithoutNewlineAtMaxLine) {
    ScratchDir scratch;
    fs::path root = scratch.path, dir = root / "logs";
    fs::create_directories(dir);
    append(root / "host-secret", "SECRET\n");
    fs::create_symlink(root / "host-secret", dir / "sym.log");
    fs::create_hard_link(root / "host-secret", dir / "hard.log");
    ASSERT_EQ(::mkfifo((dir / "fifo.log").c_str(), 0600), 0);
    append(dir / "long.log", std::string(10, 'x'));
    FileWatcher watcher;
    CollectingSink sink;
    FollowLimits limits;
    limits.max_line = 4;
    LogDirFollower follower(watcher, "c", openDirs(root, dir), "*.log", limits, sink);
    char buffer[4096];
    while (follower.hasPending())
        follower.readPending(buffer, sizeof buffer, SIZE_MAX);
    ASSERT_EQ(sink.lines.size(), 2u);  // xxxx xxxx; "xx" waits for its end
    EXPECT_EQ(sink.lines[0].message, "xxxx");
    EXPECT_EQ(follower.filesOpen(), 1u);
    // Released at detach: the rest flushed as the last part.
    EXPECT_TRUE(follower.finish(buffer, sizeof buffer));
    ASSERT_EQ(sink.lines.size(), 3u);
    EXPECT_EQ(sink.lines[2].message, "xx");
    EXPECT_EQ(sink.lines[2].end_offset, 10u);
    EXPECT_EQ(follower.filesOpen(), 0u);
}

TEST(LogDirFollower, WaitsWhileTheSinkRefusesAndLosesNothing) {
    ScratchDir scratch;
    fs::path root = scratch.path, dir = root / "logs";
    fs::create_directories(dir);
    append(dir / "a.log", "1\n2\n3\n");
    FileWatcher watcher;
    CollectingSink sink;
    sink.refuse = true;
    LogDirFollower follower(watcher, "c", openDirs(root, dir), "*.log", FollowLimits{}, sink);
    char buffer[4096];
    EXPECT_EQ(follower.readPending(buffer, sizeof buffer, SIZE_MAX),
              LogDirFollower::ReadResult::kBlocked);
    sink.refuse = false;
    EXPECT_EQ(follower.readPending(buffer, sizeof buffer, SIZE_MAX),
              LogDirFollower::ReadResult::kIdle);
    ASSERT_EQ(sink.lines.size(), 3u);
    EXPECT_EQ(sink.lines[2].message, "3");
}

// A log directory removed under its follower: what its files held is read, the watch the kernel
// dropped is forgotten, and another follower's watch keeps working after the first one is gone.
TEST(LogDirFollower, ADeletedDirectoryIsReadToItsEndAndLeavesOtherWatchesAlone) {
    ScratchDir scratch;
    fs::path root = scratch.path, gone = root / "gone", kept = root / "kept";
    fs::create_directories(gone);
    fs::create_directories(kept);
    append(gone / "a.log", "last words\n");
    FileWatcher watcher;
    CollectingSink sink;
    char buffer[4096];
    auto first = std::make_unique<LogDirFollower>(watcher, "c1", openDirs(root, gone), "*.log",
                                                  FollowLimits{}, sink);
    fs::remove_all(gone);
    watcher.onReadable();
    while (first->hasPending())
        first->readPending(buffer, sizeof buffer, SIZE_MAX);
    LogDirFollower second(watcher, "c2", openDirs(root, kept), "*.log", FollowLimits{}, sink);
    first.reset();
    append(kept / "b.log", "still watched\n");
    watcher.onReadable();
    while (second.hasPending())
        second.readPending(buffer, sizeof buffer, SIZE_MAX);
    ASSERT_EQ(sink.lines.size(), 2u);
    EXPECT_EQ(sink.lines[0].message, "last words");
    EXPECT_EQ(sink.lines[1].message, "still watched");
}

// The encoder turns log_opts entries log-dir= and log-glob= into fields 13 and 14 and sends
// version 2 only then; a version-1 request with them is refused.
TEST(LogDirAttachFields, AreVersionTwoFieldsOfTheEncoderAndRefusedInVersionOne) {
    auto encode = [](std::vector<const char*> opts) {
        opts.push_back(nullptr);
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = "c1";
        a.log_opts = opts.data();
        std::string buf(4096, '\0');
        long n =
            ringlog_attach_encode(&a, reinterpret_cast<unsigned char*>(buf.data()), buf.size());
        buf.resize(static_cast<size_t>(n));
        return buf;
    };
    std::string plain = encode({"max-size=1m"});
    EXPECT_EQ(plain[4], 1);
    std::string files = encode({"log-dir=/pods/a", "log-glob=*.txt", "log-dir=/pods/b"});
    EXPECT_EQ(files[4], 2);
    auto req = decodeAttachRequest(files);
    ASSERT_TRUE(req.ok()) << req.error().message;
    EXPECT_EQ(req->log_dirs, (std::vector<std::string>{"/pods/a", "/pods/b"}));
    EXPECT_EQ(req->log_glob, "*.txt");
    EXPECT_TRUE(req->drivers[0].log_opts.empty());
    files[4] = 1;
    auto old = decodeAttachRequest(files);
    ASSERT_FALSE(old.ok());
    EXPECT_EQ(old.error().status, RINGLOG_STATUS_BAD_REQUEST);
    EXPECT_EQ(old.error().message,
              "unknown field tag 13 in a version 1 request (it is of version 2)");
    auto relative = decodeAttachRequest(encode({"log-dir=pods/a"}));
    ASSERT_FALSE(relative.ok());
    EXPECT_EQ(relative.error().message, "log directory \"pods/a\" is not an absolute path");
}

}  // namespace
}  // namespace ringlog
