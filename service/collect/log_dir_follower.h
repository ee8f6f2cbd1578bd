// LogDirFollower: one container's log directories (docs/log-files.md), every file matching its
// glob followed as FileBeat follows files: picked up when created (or already there at attach),
// known by device and inode, read to its end after a rename (rotation), read again from the
// start when it shrinks below what was read (copytruncate). Lines are framed by the pipes' rules
// (Framer: max-line cut, a last line without '\n' flushed at release) into a FileLineSink.
//
// FileWatcher: the daemon's one inotify fd, watched by its event loop; it hands each
// directory's events to its follower, which only marks files to read. Reading happens in
// readPending(), on the event loop, within a budget per call, so one busy file cannot hold up the
// other containers. Nothing here polls, and nothing runs on another thread.
//
// Restarts: with a FileRegistry, each file's offset is kept where a restart or a kill of ringlogd
// finds it (file_registry.h); a follower made with the registry's resume points reads each such
// file on from there, found by device and inode whatever its name is now.
//
// Safety: a directory is opened beneath one of the configured roots without following a symlink
// (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS); a file beneath its directory the same way with
// O_NOFOLLOW | O_NONBLOCK, and refused unless it is a regular file with one link (a hard link
// planted by the container could name a host file). Each refusal is logged once per file.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "service/base/error.h"
#include "service/base/log_limiter.h"
#include "service/base/unique_fd.h"
#include "service/collect/file_registry.h"
#include "service/ingest/framer.h"

namespace ringlog {

// Where a follower's lines go: the container's ring, on the event-loop thread.
class FileLineSink {
  public:
    virtual ~FileLineSink() = default;
    // The index the records of `name` carry (0: none left; the records then carry no name).
    virtual uint16_t fileSource(std::string_view name) = 0;
    // False when the ring cannot take it now (blocking mode, full): offered again later.
    virtual bool pushFileLine(uint16_t source, uint64_t end_offset, std::string_view message,
                              uint8_t flags, uint32_t partial_ordinal, uint64_t& partial_id) = 0;
    // A read begins: the records read next get the clock's time.
    virtual void beginFileRead() = 0;
    // The sequence the next record pushed gets (for the registry).
    virtual uint64_t nextSequence() const = 0;
};

struct FollowLimits {
    uint32_t max_line = 16 * 1024;
    size_t max_files = 64;  // files followed at once per container (log-dir-max-files)
    uint64_t max_rate = 0;  // bytes per second read from the files, 0: unlimited
};

// Opens `path` as a log directory: absolute, without "..", strictly under one of `roots`, reached
// from the root without a symlink. The error says which rule it broke.
Result<UniqueFd> openLogDirectory(const std::vector<std::string>& roots, const std::string& path);

class FileWatcher;

class LogDirFollower {
  public:
    // `container`: the short id, for the daemon's log. `dirs`: opened with openLogDirectory.
    // `registry` (may be null: nothing kept across restarts) and `resume`: the files an earlier
    // instance followed, read on from their offsets; one not found in its directory is reported
    // and its slot released.
    LogDirFollower(FileWatcher& watcher, std::string container,
                   std::vector<std::pair<std::string, UniqueFd>> dirs, std::string glob,
                   FollowLimits limits, FileLineSink& sink, FileRegistry* registry = nullptr,
                   std::vector<FileRegistry::Resume> resume = {});
    ~LogDirFollower();
    LogDirFollower(const LogDirFollower&) = delete;
    LogDirFollower& operator=(const LogDirFollower&) = delete;

    enum class ReadResult {
        kIdle,     // every file read to its end
        kMore,     // budget spent, or the rate limit: call again (hasPending())
        kBlocked,  // the sink refused a line: call again once the ring has room
    };
    // Reads the files that have news, up to `budget` bytes.
    ReadResult readPending(char* buffer, size_t buffer_size, size_t budget);
    // The container is detached: reads every file to its end, pushes each one's incomplete last
    // line and releases it. False while the sink refuses: call again once the ring has room.
    bool finish(char* buffer, size_t buffer_size);
    bool hasPending() const { return !pending_.empty(); }
    // When a rate-limited follower may read again (only meaningful while hasPending()).
    std::chrono::steady_clock::time_point readyAt() const { return ready_at_; }
    size_t filesOpen() const;

    // For the daemon: whose follower this is.
    void* context = nullptr;

  private:
    friend class FileWatcher;
    struct File;
    struct Dir;
    void onEvent(Dir& dir, uint32_t mask, std::string_view name);
    void rescan(Dir& dir);
    File* findByName(Dir& dir, std::string_view name);
    void consider(Dir& dir, const std::string& name);
    bool resumeIfKnown(Dir& dir, const std::string& name, const struct stat& st);
    std::string whyNotTheSame(const Dir& dir, const std::string& name,
                              const FileRegistry::Resume& r);
    File* open(Dir& dir, const std::string& name, struct stat st, std::string record_name = {});
    bool release(Dir& dir, File& file, const char* why);
    void refuse(const Dir& dir, const std::string& name, const std::string& why);
    bool readFile(File& file, char* buffer, size_t buffer_size, size_t& budget);
    void markPending(File& file);
    bool takeTokens(size_t& budget);

    FileWatcher& watcher_;
    std::string container_;
    std::string glob_;
    FollowLimits limits_;
    FileLineSink& sink_;
    FileRegistry* registry_;
    std::vector<std::unique_ptr<Dir>> dirs_;
    std::set<File*> pending_;
    std::set<std::string> refused_;  // "<dir>/<name>": each refusal logged once
    LogLimiter refusal_log_{std::chrono::minutes(1)};
    size_t refusals_this_minute_ = 0;
    double rate_tokens_ = 0;
    std::chrono::steady_clock::time_point rate_updated_{}, ready_at_{};
};

class FileWatcher {
  public:
    FileWatcher();
    int fd() const { return inotify_.get(); }
    // Reads the inotify events and hands them to the followers.
    void onReadable();
    // Followers with files to read.
    const std::set<LogDirFollower*>& pending() const { return pending_; }

  private:
    friend class LogDirFollower;
    UniqueFd inotify_;
    struct Target {
        LogDirFollower* follower;
        LogDirFollower::Dir* dir;
    };
    std::map<int, Target> watches_;
    std::set<LogDirFollower*> pending_;
};

}  // namespace ringlog
