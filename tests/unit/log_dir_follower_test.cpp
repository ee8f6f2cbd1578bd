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
    char buffer[4096];
    auto readAll = [&] {
        watcher.onReadable();
        while (follower.hasPending())
            ASSERT_NE(follower.readPending(buffer, sizeof buffer, SIZE_MAX),
                      LogDirFollower::ReadResult::kBlocked);
    };
    readAll();
    append(dir / "b.log", "b1\n");
    readAll();
    // Renamed, then written to through the name it has now: the same file.
    fs::rename(dir / "a.log", dir / "a.log.1");
    append(dir / "a.log.1", "a3\n");
    append(dir / "a.log", "new a1\n");
    readAll();
    // copytruncate.
    ASSERT_EQ(::truncate((dir / "b.log").c_str(), 0), 0);
    readAll();
    append(dir / "b.log", "b2\n");
    readAll();
    std::vector<std::string> got;
    for (const auto& l : sink.lines)
        got.push_back(l.file + ":" + l.message + ":" + std::to_string(l.end_offset));
    // Files are read in no particular order among them; each one's lines in order.
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"a.log:a1:3", "a.log:a2:6", "a.log:a3:9",
                                             "a.log:new a1:7", "b.log:b1:3", "b.log:b2:3"}));
    EXPECT_EQ(follower.filesOpen(), 3u);  // a.log.1, the new a.log, b.log
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
