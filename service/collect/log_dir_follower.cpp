#include "service/collect/log_dir_follower.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "drivers/files/open_beneath.h"

namespace ringlog {

namespace {

constexpr uint32_t kDirEvents = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY |
                                IN_CLOSE_WRITE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR | IN_EXCL_UNLINK;
constexpr size_t kMaxRefusalsRemembered = 1024;
constexpr size_t kRefusalsLoggedPerMinute = 20;

// The file's birth time (statx), 0 where its file system keeps none. `name` empty: `fd` itself.
int64_t birthTime(int fd, const std::string& name) {
    struct statx stx {};
    int flags = name.empty() ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
    if (::statx(fd, name.c_str(), flags, STATX_BTIME, &stx) != 0 || !(stx.stx_mask & STATX_BTIME))
        return 0;
    return stx.stx_btime.tv_sec * 1'000'000'000LL + stx.stx_btime.tv_nsec;
}

std::string withoutTrailingSlashes(std::string path) {
    while (path.size() > 1 && path.back() == '/')
        path.pop_back();
    return path;
}

}  // namespace

Result<UniqueFd> openLogDirectory(const std::vector<std::string>& roots, const std::string& path) {
    auto refused = [&](const std::string& why) {
        return invalid("log directory \"" + path + "\" " + why);
    };
    if (path.empty() || path[0] != '/')
        return refused("is not an absolute path");
    std::string wanted = withoutTrailingSlashes(path);
    for (size_t start = 1; start <= wanted.size();) {
        size_t end = std::min(wanted.find('/', start), wanted.size());
        if (wanted.compare(start, end - start, "..") == 0)
            return refused("contains \"..\"");
        start = end + 1;
    }
    std::string names;
    for (const auto& configured : roots) {
        std::string root = withoutTrailingSlashes(configured);
        names += (names.empty() ? "" : ", ") + root;
        std::string prefix = root == "/" ? "/" : root + "/";
        if (wanted.size() <= prefix.size() || wanted.compare(0, prefix.size(), prefix) != 0)
            continue;
        UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root_fd)
            return refused("cannot be opened: its root " + root + ": " + errnoText(errno));
        std::string relative = wanted.substr(prefix.size());
        UniqueFd dir = openBeneath(root_fd.get(), relative, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!dir) {
            int err = errno;
            struct stat st;
            // O_DIRECTORY | O_NOFOLLOW on a final symlink says ENOTDIR (only to word the error).
            bool symlink =
                err == ENOTDIR &&
                ::fstatat(root_fd.get(), relative.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode);
            if (err == ELOOP || err == EXDEV || symlink)
                return refused("is reached through a symlink beneath " + root);
            return refused("cannot be opened: " + errnoText(err));
        }
        return dir;
    }
    return refused("is not under a configured root (log-dir-roots: " +
                   (names.empty() ? std::string("none") : names) + ")");
}

// A file followed: known by device and inode, named by the name it had when first opened.
struct LogDirFollower::File final : RecordSink {
    File(LogDirFollower& f, Dir& d, std::string n, UniqueFd fd_, const struct stat& st)
        : follower(f),
          dir(d),
          name(std::move(n)),
          current_name(name),
          fd(std::move(fd_)),
          dev(st.st_dev),
          ino(st.st_ino),
          birth_ns(birthTime(fd.get(), "")),
          framer(*this, Stream::kStdout, f.limits_.max_line) {}
    bool push(Stream, std::string_view message, uint8_t flags, uint32_t partial_ordinal,
              uint64_t& partial_id) override {
        uint64_t end = framed + message.size() + ((flags & kRecordNewline) ? 1 : 0);
        FileRegistry* registry = slot ? follower.registry_ : nullptr;
        if (registry != nullptr)
            registry->willPush(*slot, end, follower.sink_.nextSequence());
        if (!follower.sink_.pushFileLine(source, end, message, flags, partial_ordinal,
                                         partial_id)) {
            if (registry != nullptr)
                registry->notPushed(*slot);
            return false;
        }
        if (registry != nullptr)
            registry->pushed(*slot, end);
        framed = end;
        return true;
    }
    LogDirFollower& follower;
    Dir& dir;
    std::string name;          // as records name it (relative to the log directory)
    std::string current_name;  // what it is called now in the directory
    bool gone = false;  // deleted or moved out of the directory: released once read to its end
    UniqueFd fd;
    dev_t dev;
    ino_t ino;
    int64_t birth_ns;
    uint16_t source = 0;
    std::optional<uint32_t> slot;  // in the registry, if there is one
    uint64_t read = 0;             // bytes read from the file (framed, or in the framer)
    uint64_t framed = 0;           // bytes in records handed to the sink
    Framer framer;
};

struct LogDirFollower::Dir {
    std::string path;
    uint16_t index = 0;  // in the attach request's list
    std::string label;   // prefixed to file names when a container has several directories
    UniqueFd fd;
    int wd = -1;
    std::vector<std::unique_ptr<File>> files;
    std::vector<FileRegistry::Resume> resume;  // files an earlier instance followed, not seen yet
};

LogDirFollower::LogDirFollower(FileWatcher& watcher, std::string container,
                               std::vector<std::pair<std::string, UniqueFd>> dirs, std::string glob,
                               FollowLimits limits, FileLineSink& sink, FileRegistry* registry,
                               std::vector<FileRegistry::Resume> resume)
    : watcher_(watcher),
      container_(std::move(container)),
      glob_(std::move(glob)),
      limits_(limits),
      sink_(sink),
      registry_(registry) {
    for (auto& [path, fd] : dirs) {
        auto d = std::make_unique<Dir>();
        d->path = path;
        d->index = static_cast<uint16_t>(dirs_.size());
        if (dirs.size() > 1) {
            std::string trimmed = withoutTrailingSlashes(path);
            d->label = trimmed.substr(trimmed.rfind('/') + 1) + "/";
        }
        d->fd = std::move(fd);
        // The watch is on the directory we opened, not on whatever its path names by now.
        std::string self = "/proc/self/fd/" + std::to_string(d->fd.get());
        d->wd = ::inotify_add_watch(watcher_.fd(), self.c_str(), kDirEvents);
        if (d->wd < 0)
            spdlog::warn(
                "container {}: log directory {}: no inotify watch ({}): its files are "
                "read only when the container is detached",
                container_, path, errnoText(errno));
        else
            watcher_.watches_[d->wd] = {this, d.get()};
        dirs_.push_back(std::move(d));
    }
    if (registry_ == nullptr)
        resume.clear();  // offsets without a registry to keep them in: nothing to resume
    for (auto& r : resume) {
        if (r.dir < dirs_.size())
            dirs_[r.dir]->resume.push_back(std::move(r));
        else
            registry_->release(r.slot);
    }
    for (auto& d : dirs_) {
        rescan(*d);
        // What is not there under any name was deleted or moved away while no ringlogd ran.
        for (const auto& r : d->resume) {
            spdlog::warn(
                "container {}: log file {} (device {}, inode {}) is no longer in {}: what was "
                "written to it after byte {} is not read",
                container_, r.name, r.identity.dev, r.identity.ino, d->path, r.offset);
            registry_->release(r.slot);
        }
        d->resume.clear();
    }
}

LogDirFollower::~LogDirFollower() {
    for (auto& d : dirs_)
        if (d->wd >= 0) {
            ::inotify_rm_watch(watcher_.fd(), d->wd);
            watcher_.watches_.erase(d->wd);
        }
    watcher_.pending_.erase(this);
}

size_t LogDirFollower::filesOpen() const {
    size_t n = 0;
    for (const auto& d : dirs_)
        n += d->files.size();
    return n;
}

void LogDirFollower::rescan(Dir& dir) {
    UniqueFd listing(::openat(dir.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* d = listing ? ::fdopendir(listing.get()) : nullptr;
    if (d == nullptr) {
        spdlog::warn("container {}: listing log directory {}: {}", container_, dir.path,
                     errnoText(errno));
        return;
    }
    (void)listing.release();
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d))
        names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names)
        if (name != "." && name != "..")
            consider(dir, name);
    for (auto& f : dir.files)
        markPending(*f);
}

LogDirFollower::File* LogDirFollower::findByName(Dir& dir, std::string_view name) {
    for (auto& f : dir.files)
        if (f->current_name == name)
            return f.get();
    return nullptr;
}

void LogDirFollower::refuse(const Dir& dir, const std::string& name, const std::string& why) {
    std::string key = dir.path + "/" + name;
    if (refused_.count(key) != 0 || refused_.size() >= kMaxRefusalsRemembered)
        return;
    refused_.insert(key);
    if (refusal_log_.allow())
        refusals_this_minute_ = 0;
    if (++refusals_this_minute_ > kRefusalsLoggedPerMinute)
        return;
    spdlog::warn("container {}: log file {}/{} is not read: {}", container_, dir.path, name, why);
}

// A name in the directory that may be a file to follow, or a new name of one followed.
void LogDirFollower::consider(Dir& dir, const std::string& name) {
    struct stat st;
    if (::fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;  // gone already
    for (auto& f : dir.files)
        if (f->dev == st.st_dev && f->ino == st.st_ino) {
            // Renamed (rotation): the same file, still read by its fd, its records keeping the
            // name it had; its new name is how later events find it.
            f->current_name = name;
            f->gone = false;
            markPending(*f);
            return;
        }
    if (resumeIfKnown(dir, name, st))
        return;
    if (::fnmatch(glob_.c_str(), name.c_str(), FNM_PERIOD) != 0)
        return;
    File* file = open(dir, name, st);
    if (file == nullptr)
        return;
    file->source = sink_.fileSource(file->name);
    if (registry_ != nullptr)
        file->slot =
            registry_->claim(dir.index, {file->dev, file->ino, file->birth_ns}, file->source, 0);
    spdlog::debug("container {}: following log file {}/{}", container_, dir.path, name);
}

// A file an earlier instance followed, found by device and inode under whatever name it has now
// (a rename rotation may have made it one the glob does not match): read on from its offset.
bool LogDirFollower::resumeIfKnown(Dir& dir, const std::string& name, const struct stat& st) {
    auto it = std::find_if(dir.resume.begin(), dir.resume.end(), [&](const auto& r) {
        return r.identity.dev == static_cast<uint64_t>(st.st_dev) &&
               r.identity.ino == static_cast<uint64_t>(st.st_ino);
    });
    if (it == dir.resume.end())
        return false;
    FileRegistry::Resume r = std::move(*it);
    dir.resume.erase(it);
    if (std::string why = whyNotTheSame(dir, name, r); !why.empty()) {
        // The file was deleted and its inode number given to a new one: that is a new file.
        spdlog::warn(
            "container {}: log file {} is gone: {}/{} has its inode number but {}; what was "
            "written to the old file after byte {} is not read",
            container_, r.name, dir.path, name, why, r.offset);
        registry_->release(r.slot);
        return false;
    }
    File* file = open(dir, name, st, r.name);
    if (file == nullptr) {
        registry_->release(r.slot);
        return true;
    }
    file->source = r.source;
    file->slot = r.slot;
    file->read = file->framed = r.offset;
    spdlog::info("container {}: log file {} followed again from byte {} (now {}/{})", container_,
                 file->name, r.offset, dir.path, name);
    return true;
}

// Why the file named `name`, of the device and inode of `r`, is another file than `r` was ("":
// it is the same): another birth time, or other first bytes than those read from it.
std::string LogDirFollower::whyNotTheSame(const Dir& dir, const std::string& name,
                                          const FileRegistry::Resume& r) {
    int64_t born = birthTime(dir.fd.get(), name);
    if (r.identity.birth_ns != 0 && born != 0)
        return born == r.identity.birth_ns ? "" : "another birth time";
    if (r.head.empty())
        return "";
    UniqueFd fd = openBeneath(dir.fd.get(), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    std::string head(r.head.size(), '\0');
    ssize_t n = fd ? ::pread(fd.get(), head.data(), head.size(), 0) : -1;
    // Shorter than what was read of it: truncated (copytruncate), and read again from 0.
    if (n < 0 || r.head.compare(0, static_cast<size_t>(n), head, 0, static_cast<size_t>(n)) != 0)
        return "other first bytes";
    return "";
}

// Opens `name` to follow it, if it is safe to read; nullptr (the refusal logged) if not.
LogDirFollower::File* LogDirFollower::open(Dir& dir, const std::string& name, struct stat st,
                                           std::string record_name) {
    auto refused = [&](const std::string& why) -> File* {
        refuse(dir, name, why);
        return nullptr;
    };
    if (S_ISLNK(st.st_mode))
        return refused("it is a symlink (never followed)");
    if (!S_ISREG(st.st_mode))
        return refused("it is not a regular file");
    if (st.st_nlink > 1)
        return refused("it has " + std::to_string(st.st_nlink) +
                       " hard links (it may be a host file linked into the directory)");
    if (filesOpen() >= limits_.max_files)
        return refused("the container follows " + std::to_string(limits_.max_files) +
                       " files already (log-dir-max-files)");
    UniqueFd fd = openBeneath(dir.fd.get(), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (!fd)
        return refused("opening it: " + errnoText(errno));
    // What was checked by name must be what was opened.
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1)
        return refused("it changed while being opened");
    if (record_name.empty())
        record_name = dir.label + name;
    auto file = std::make_unique<File>(*this, dir, std::move(record_name), std::move(fd), st);
    file->current_name = name;
    File* opened = file.get();
    dir.files.push_back(std::move(file));
    markPending(*opened);
    return opened;
}

void LogDirFollower::markPending(File& file) {
    pending_.insert(&file);
    watcher_.pending_.insert(this);
}

void LogDirFollower::onEvent(Dir& dir, uint32_t mask, std::string_view name_view) {
    std::string name(name_view);
    if (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        spdlog::warn(
            "container {}: log directory {} was {}: its files are read to their end "
            "and no new ones are followed",
            container_, dir.path, (mask & IN_DELETE_SELF) ? "deleted" : "moved");
        for (auto& f : dir.files)
            markPending(*f);
        return;
    }
    if (name.empty())
        return;
    File* file = findByName(dir, name);
    if (mask & (IN_MODIFY | IN_CLOSE_WRITE)) {
        if (file != nullptr)
            markPending(*file);
        else
            consider(dir, name);  // created before the watch saw it, or a rename into the glob
    } else if (mask & (IN_CREATE | IN_MOVED_TO)) {
        consider(dir, name);
    } else if ((mask & (IN_MOVED_FROM | IN_DELETE)) && file != nullptr) {
        // Deleted, or renamed (rotation): read by its fd to its end either way. A new name
        // within the directory comes with IN_MOVED_TO, in the same read of events, and takes
        // the file back (consider); one moved out of the directory stays gone.
        file->current_name.clear();
        file->gone = true;
        markPending(*file);
    }
}

bool LogDirFollower::takeTokens(size_t& budget) {
    if (limits_.max_rate == 0)
        return true;
    auto now = std::chrono::steady_clock::now();
    double rate = static_cast<double>(limits_.max_rate);
    double elapsed = rate_updated_ == std::chrono::steady_clock::time_point{}
                         ? 0.1
                         : std::chrono::duration<double>(now - rate_updated_).count();
    rate_updated_ = now;
    rate_tokens_ = std::min(rate_tokens_ + elapsed * rate, rate / 10);
    if (rate_tokens_ <= 0) {
        ready_at_ = now + std::chrono::microseconds(
                              static_cast<int64_t>(-rate_tokens_ / rate * 1e6) + 1000);
        return false;
    }
    budget = std::min(budget, static_cast<size_t>(rate_tokens_) + 1);
    return true;
}

// Reads `file` from where it was, up to the budget. False when the sink refused a line.
bool LogDirFollower::readFile(File& file, char* buffer, size_t buffer_size, size_t& budget) {
    if (file.framer.hasBacklog() && !file.framer.feed({}))
        return false;
    struct stat st;
    if (::fstat(file.fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) < file.read) {
        // copytruncate: the file was copied and cut to 0. Its bytes now are new ones.
        spdlog::info(
            "container {}: log file {} was truncated from {} to {} bytes: reading it "
            "again from the start",
            container_, file.name, file.read, st.st_size);
        if (!file.framer.flush())
            return false;
        file.read = 0;
        file.framed = 0;
        if (registry_ != nullptr && file.slot)
            registry_->rewind(*file.slot);
    }
    while (budget > 0) {
        ssize_t n = ::pread(file.fd.get(), buffer, std::min(buffer_size, budget),
                            static_cast<off_t>(file.read));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                spdlog::warn("container {}: reading log file {}: {}", container_, file.name,
                             errnoText(errno));
            pending_.erase(&file);
            return true;
        }
        if (registry_ != nullptr && file.slot && file.read < FileRegistry::kHeadBytes)
            registry_->recordHead(*file.slot, file.read,
                                  std::string_view(buffer, static_cast<size_t>(n)));
        file.read += static_cast<uint64_t>(n);
        budget -= static_cast<size_t>(n);
        if (limits_.max_rate != 0)
            rate_tokens_ -= static_cast<double>(n);
        if (!file.framer.feed(std::string_view(buffer, static_cast<size_t>(n))))
            return false;
    }
    return true;
}

LogDirFollower::ReadResult LogDirFollower::readPending(char* buffer, size_t buffer_size,
                                                       size_t budget) {
    if (!takeTokens(budget))
        return ReadResult::kMore;
    sink_.beginFileRead();
    std::vector<File*> todo(pending_.begin(), pending_.end());
    for (File* f : todo) {
        if (budget == 0)
            break;
        if (!readFile(*f, buffer, buffer_size, budget))
            return ReadResult::kBlocked;
        // A file gone from the directory is done once read to its end.
        if (f->gone && pending_.count(f) == 0 && !release(f->dir, *f, "deleted or moved away"))
            return ReadResult::kBlocked;
    }
    if (pending_.empty()) {
        watcher_.pending_.erase(this);
        return ReadResult::kIdle;
    }
    return ReadResult::kMore;
}

bool LogDirFollower::release(Dir& dir, File& file, const char* why) {
    if (!file.framer.flush()) {
        markPending(file);  // offered again at the next read
        return false;
    }
    spdlog::debug("container {}: log file {} read to its end and released ({})", container_,
                  file.name, why);
    if (registry_ != nullptr && file.slot)
        registry_->release(*file.slot);
    pending_.erase(&file);
    std::erase_if(dir.files, [&](const auto& f) { return f.get() == &file; });
    return true;
}

bool LogDirFollower::finish(char* buffer, size_t buffer_size) {
    for (auto& d : dirs_)
        for (auto& f : d->files) {
            f->gone = true;
            markPending(*f);
        }
    return readPending(buffer, buffer_size, SIZE_MAX) == ReadResult::kIdle && filesOpen() == 0;
}

FileWatcher::FileWatcher() : inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (!inotify_)
        spdlog::error("inotify_init1: {}: log directories are read only at detach",
                      errnoText(errno));
}

void FileWatcher::onReadable() {
    alignas(struct inotify_event) char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(inotify_.get(), buf, sizeof(buf));
        if (n <= 0)
            return;
        for (ssize_t off = 0; off < n;) {
            struct inotify_event e;
            std::memcpy(&e, buf + off, sizeof(e));
            std::string_view name(buf + off + sizeof(e), e.len);
            name = name.substr(0, name.find('\0'));
            off += static_cast<ssize_t>(sizeof(e) + e.len);
            if (e.mask & IN_Q_OVERFLOW) {
                spdlog::warn("inotify queue overflowed: every log directory is listed again");
                for (auto& [wd, t] : watches_)
                    t.follower->rescan(*t.dir);
                continue;
            }
            auto it = watches_.find(e.wd);
            if (it == watches_.end())
                continue;
            if (e.mask & IN_IGNORED) {
                // The kernel dropped the watch (its directory is gone) and may give its number
                // to the next one: forget it here too, so that no follower removes another's.
                it->second.dir->wd = -1;
                watches_.erase(it);
                continue;
            }
            it->second.follower->onEvent(*it->second.dir, e.mask, name);
        }
    }
}

}  // namespace ringlog
