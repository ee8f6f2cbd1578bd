#include "drivers/json_file/json_file_driver.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>

#include "drivers/docker/docker_attrs.h"
#include "drivers/docker/json_encoding.h"
#include "drivers/json_file/json_file_reader.h"
#include "drivers/json_file/open_beneath.h"

#include <filesystem>
#include "service/base/units.h"

#include <spdlog/spdlog.h>

namespace ringlog {

// One compression at a time per log: the next rotation waits for it, as docker's does, because
// it renames the .N.gz chain that the running compression is about to extend.
struct JsonFileDriver::Compression {
    std::mutex mutex;
    std::condition_variable done;
    bool running = false;
};

// The records of one write() encoded, not yet in the file. One per consumer thread rather than one
// per container: a thousand busy containers then share a couple of buffers that stay in the caches
// instead of each keeping a cell's worth of JSON (~100 KiB) that is touched once per cell.
struct JsonFileDriver::EncodedBatch {
    std::string bytes;
    std::vector<size_t> record_ends;  // offset just past each record

    static EncodedBatch& ofThisThread() {
        thread_local EncodedBatch batch;
        return batch;
    }
};

namespace {

// The directory that will hold the log, the file's name in it, and where the directory lies: the
// root it was opened beneath and the path below that root, to recreate it if it is removed.
struct Location {
    UniqueFd dir;
    std::string name;
    std::string root;
    std::string relative;
};

Result<Location> resolveDirectory(const ContainerInfo& info, const OptionMap& o,
                                  const DriverEnvironment& env) {
    const std::string& path = o.at("path");
    if (path.empty()) {
        UniqueFd root(::open(env.log_root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        if (!root)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "log root " + env.log_root + ": " + errnoText(errno)};
        if (::mkdirat(root.get(), info.id.c_str(), 0750) != 0 && errno != EEXIST)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "creating " + env.log_root + "/" + info.id + ": " + errnoText(errno)};
        UniqueFd dir = openBeneath(root.get(), info.id, O_DIRECTORY | O_RDONLY);
        if (!dir)
            return Error{
                RINGLOG_STATUS_DRIVER_ERROR,
                "opening " + env.log_root + "/" + info.id +
                    (errno == ELOOP ? ": refusing a symbolic link" : ": " + errnoText(errno))};
        return Location{std::move(dir), info.id + "-json.log", env.log_root, info.id};
    }
    if (path.front() != '/')
        return invalid("log option \"path\": \"" + path + "\" is not an absolute path");
    for (const auto& root : env.allowed_roots) {
        std::string prefix = root.back() == '/' ? root : root + "/";
        if (path.compare(0, prefix.size(), prefix) != 0)
            continue;
        std::string relative = path.substr(prefix.size());
        size_t slash = relative.rfind('/');
        std::string parent = slash == std::string::npos ? "." : relative.substr(0, slash);
        std::string name = slash == std::string::npos ? relative : relative.substr(slash + 1);
        if (name.empty() || name == "." || name == "..")
            return invalid("log option \"path\": \"" + path + "\" does not name a file");
        UniqueFd root_fd(::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        if (!root_fd)
            return Error{RINGLOG_STATUS_DRIVER_ERROR, "log root " + root + ": " + errnoText(errno)};
        UniqueFd dir = openBeneath(root_fd.get(), parent, O_DIRECTORY | O_RDONLY);
        if (!dir) {
            int e = errno;
            if (e == EXDEV || e == ELOOP)
                return invalid("log option \"path\": \"" + path + "\" leaves " + root +
                               " or goes through a symbolic link");
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "log option \"path\": directory of " + path + ": " + errnoText(e)};
        }
        return Location{std::move(dir), name, root, parent};
    }
    std::string roots;
    for (const auto& r : env.allowed_roots)
        roots += (roots.empty() ? "" : ", ") + r;
    return invalid("log option \"path\": \"" + path + "\" is not under an allowed log root (" +
                   roots + ")");
}

// Opens <root>/<relative>, creating the directories that are missing (0750, as at attach), one
// component at a time with openBeneath: a symlink or ".." planted meanwhile is refused as at
// attach.
Result<UniqueFd> makeDirectoryBeneath(const std::string& root, const std::string& relative) {
    UniqueFd dir(::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!dir)
        return Error{RINGLOG_STATUS_DRIVER_ERROR, "log root " + root + ": " + errnoText(errno)};
    std::string done = root;
    for (size_t start = 0; start <= relative.size();) {
        size_t slash = std::min(relative.find('/', start), relative.size());
        std::string part = relative.substr(start, slash - start);
        start = slash + 1;
        if (part.empty() || part == ".")
            continue;
        done += "/" + part;
        if (::mkdirat(dir.get(), part.c_str(), 0750) != 0 && errno != EEXIST)
            return Error{RINGLOG_STATUS_DRIVER_ERROR, "creating " + done + ": " + errnoText(errno)};
        UniqueFd next = openBeneath(dir.get(), part, O_DIRECTORY | O_RDONLY);
        if (!next)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "opening " + done +
                             (errno == ELOOP || errno == EXDEV ? ": refusing a symbolic link"
                                                               : ": " + errnoText(errno))};
        dir = std::move(next);
    }
    return dir;
}

Result<UniqueFd> openLogFile(int dir, const std::string& name, const std::string& display,
                             bool truncate) {
    int flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                (truncate ? O_TRUNC : 0);
    UniqueFd fd(::openat(dir, name.c_str(), flags, 0640));
    if (!fd) {
        int e = errno;
        if (e == ELOOP)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "refusing " + display + ": it is a symbolic link"};
        if (e == ENXIO)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "refusing " + display + ": it is not a regular file"};
        return Error{RINGLOG_STATUS_DRIVER_ERROR, "opening " + display + ": " + errnoText(e)};
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return Error{RINGLOG_STATUS_DRIVER_ERROR,
                     "refusing " + display + ": it is not a regular file"};
    return fd;
}

bool transient(int err) {
    return err == ENOSPC || err == EDQUOT || err == EIO || err == EAGAIN || err == EINTR ||
           err == ENOMEM;
}

// Compresses <dir>/<name> to <name>.gz and removes the original, as docker does after rotation;
// the gzip header's extra field carries {"lastTime":…} like docker's.
std::string compressFile(int dir, const std::string& name, int64_t last_time_ns) {
    UniqueFd in(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in)
        return errno == ENOENT ? std::string() : "opening " + name + ": " + errnoText(errno);
    std::string gz_name = name + ".gz";
    UniqueFd out(::openat(dir, gz_name.c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640));
    if (!out)
        return "creating " + gz_name + ": " + errnoText(errno);

    std::string extra = "{\"lastTime\":\"";
    json::appendRfc3339Nano(extra, last_time_ns);
    extra += "\"}";
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return "zlib initialisation failed";
    gz_header header{};
    header.extra = reinterpret_cast<Bytef*>(extra.data());
    header.extra_len = static_cast<uInt>(extra.size());
    header.os = 255;
    deflateSetHeader(&z, &header);

    std::vector<unsigned char> ibuf(256 * 1024), obuf(256 * 1024);
    std::string error;
    int flush = Z_NO_FLUSH;
    while (error.empty() && flush != Z_FINISH) {
        ssize_t n = ::read(in.get(), ibuf.data(), ibuf.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            error = "reading " + name + ": " + errnoText(errno);
            break;
        }
        flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = ibuf.data();
        z.avail_in = static_cast<uInt>(n);
        do {
            z.next_out = obuf.data();
            z.avail_out = static_cast<uInt>(obuf.size());
            deflate(&z, flush);
            size_t have = obuf.size() - z.avail_out;
            for (size_t done = 0; done < have;) {
                ssize_t w = ::write(out.get(), obuf.data() + done, have - done);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0) {
                    error = "writing " + gz_name + ": " + errnoText(errno);
                    break;
                }
                done += static_cast<size_t>(w);
            }
        } while (error.empty() && z.avail_out == 0);
    }
    deflateEnd(&z);
    if (!error.empty()) {
        ::unlinkat(dir, gz_name.c_str(), 0);
        return error;
    }
    ::unlinkat(dir, name.c_str(), 0);
    return {};
}

}  // namespace

UniqueFd openBeneathByWalking(int root, const std::string& relative, int flags) {
    UniqueFd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    size_t start = 0;
    while (dir) {
        size_t slash = relative.find('/', start);
        std::string part =
            relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        bool last = slash == std::string::npos;
        start = last ? relative.size() : slash + 1;
        if (part == "..") {
            errno = EXDEV;
            return {};
        }
        if (part.empty() || part == ".") {
            if (last)
                return UniqueFd(::openat(dir.get(), ".", flags | O_CLOEXEC));
            continue;
        }
        if (last)
            return UniqueFd(::openat(dir.get(), part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
        dir = UniqueFd(
            ::openat(dir.get(), part.c_str(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir && errno == ENOTDIR)
            errno = ELOOP;  // O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR
    }
    return dir;
}

UniqueFd openBeneath(int root, const std::string& relative, int flags) {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    UniqueFd fd(
        static_cast<int>(::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof(how))));
    if (!fd && errno == ENOSYS)
        return openBeneathByWalking(root, relative, flags);
    return fd;
}

Result<std::unique_ptr<LogDriver>> JsonFileDriver::create(const ContainerInfo& info,
                                                          const OptionMap& o,
                                                          const DriverEnvironment& env) {
    Settings s;
    // Docker's json-file reads max-size with units.FromHumanSize: decimal units, so "1m" is
    // 1,000,000 bytes there and here (the other sizes, max-buffer-size among them, are binary).
    const std::string& max_size = o.at("max-size");
    s.max_size = max_size == "-1" ? -1 : *parseDecimalSize(max_size);
    s.max_file = *parseInteger(o.at("max-file"));
    s.compress = *parseBool(o.at("compress"));
    if (s.max_size == 0)
        return invalid("log option \"max-size\": \"" + max_size +
                       "\" is 0 bytes; it must be positive, or -1 for no limit");
    if (s.max_file < 1)
        return invalid("log option \"max-file\": must be at least 1");
    if (s.max_file > 1 && s.max_size < 0)
        return invalid("log option \"max-file\": needs max-size");
    if (s.compress && s.max_file < 2)
        return invalid("log option \"compress\": needs max-file of 2 or more");
    auto attrs = extraAttributes(info, o, nullptr);
    if (!attrs)
        return attrs.error();
    if (!o.at("tag").empty()) {
        // json-file has no default tag: an attr only when asked for, as docker.
        auto tag = expandTag(o.at("tag"), info);
        if (!tag)
            return tag.error();
        (*attrs)["tag"] = *tag;
    }
    s.attr_map = *attrs;
    if (!s.attr_map.empty())
        s.attrs = json::encodeAttrs(s.attr_map);

    auto where = resolveDirectory(info, o, env);
    if (!where)
        return where.error();
    Location& at = *where;
    std::string display =
        o.at("path").empty() ? env.log_root + "/" + info.id + "/" + at.name : o.at("path");
    auto file = openLogFile(at.dir.get(), at.name, display, false);
    if (!file)
        return file.error();
    auto driver = std::unique_ptr<JsonFileDriver>(new JsonFileDriver(
        std::move(at.dir), at.name, display, std::move(*file), std::move(s), env.background));
    driver->root_ = at.root;
    driver->relative_dir_ = at.relative;
    return std::unique_ptr<LogDriver>(std::move(driver));
}

Result<std::unique_ptr<LogReader>> JsonFileDriver::openReader(const ContainerInfo& info,
                                                              const OptionMap& o,
                                                              const DriverEnvironment& env,
                                                              const ReadFilter& filter) {
    auto path = o.find("path");
    std::filesystem::path file =
        path != o.end() && !path->second.empty()
            ? std::filesystem::path(path->second)
            : std::filesystem::path(env.log_root) / info.id / (info.id + "-json.log");
    return JsonFileReader::open(file, filter);
}

JsonFileDriver::JsonFileDriver(UniqueFd dir, std::string name, std::string display_path,
                               UniqueFd file, Settings settings, BackgroundWork* background)
    : dir_(std::move(dir)),
      name_(std::move(name)),
      display_path_(std::move(display_path)),
      settings_(std::move(settings)),
      background_(background),
      compression_(std::make_shared<Compression>()) {
    useFile(std::move(file));
}

void JsonFileDriver::useFile(UniqueFd file) {
    struct stat st {};
    ::fstat(file.get(), &st);
    file_ = std::move(file);
    size_ = st.st_size;
    torn_ = 0;
    file_dev_ = st.st_dev;
    file_ino_ = st.st_ino;
}

bool JsonFileDriver::fileRemoved() const {
    struct stat st;
    return ::fstat(file_.get(), &st) == 0 && st.st_nlink == 0;
}

std::string JsonFileDriver::recreate(bool& directory_too) {
    struct stat st;
    directory_too = ::fstat(dir_.get(), &st) == 0 && st.st_nlink == 0;
    auto dir = makeDirectoryBeneath(root_, relative_dir_);
    if (!dir)
        return dir.error().message;
    auto file = openLogFile(dir->get(), name_, display_path_, false);
    if (!file)
        return file.error().message;
    dir_ = std::move(*dir);
    useFile(std::move(*file));
    gone_ = false;
    return {};
}

void JsonFileDriver::checkPath() {
    // Once a second of record time, not per batch: a stat of the path, to notice the file or its
    // directory moved away (logrotate's copy-less rename, an operator's mv) or replaced.
    struct stat at;
    if (::lstat(display_path_.c_str(), &at) == 0 && at.st_dev == file_dev_ &&
        at.st_ino == file_ino_)
        return;
    if (fileRemoved()) {
        gone_ = true;  // removed, not moved: recreated before this batch goes into it
        return;
    }
    bool directory_too = false;
    std::string error = recreate(directory_too);
    if (!error.empty()) {
        // The file is still linked where it was moved: go on writing there, nothing is lost.
        if (error != reopen_error_)
            spdlog::warn(
                "json-file {}: the log file was moved or replaced while in use, and a "
                "new one cannot be opened at its path ({}); writing on to the moved file",
                display_path_, error);
        reopen_error_ = error;
        return;
    }
    reopen_error_.clear();
    spdlog::warn(
        "json-file {}: the log file was moved or replaced while in use; the records until "
        "now are in the moved file, the next ones in a new file at this path",
        display_path_);
}

JsonFileDriver::~JsonFileDriver() = default;

void JsonFileDriver::encode(std::string& out, const RecordView& r, const DropCount* dropped) {
    out.append("{\"log\":", 7);
    json::appendDockerString(out, r.message);
    if (r.newline()) {
        out.pop_back();
        out.append("\\n\"", 3);
    }
    out.append(r.stream == Stream::kStderr ? ",\"stream\":\"stderr\"" : ",\"stream\":\"stdout\"",
               18);
    if (dropped != nullptr) {
        auto attrs = settings_.attr_map;
        attrs["ringlog.dropped_bytes"] = std::to_string(dropped->bytes);
        attrs["ringlog.dropped_lines"] = std::to_string(dropped->lines);
        out.append(",\"attrs\":", 9);
        out.append(json::encodeAttrs(attrs));
    } else if (!settings_.attrs.empty()) {
        out.append(",\"attrs\":", 9);
        out.append(settings_.attrs);
    }
    out.append(",\"time\":\"", 9);
    // The date and time of day change once a second; only the fraction is formatted per record.
    int64_t second = r.time_ns / 1'000'000'000;
    if (second != cached_second_) {
        cached_prefix_.clear();
        json::appendRfc3339Nano(cached_prefix_, second * 1'000'000'000);
        cached_prefix_.pop_back();  // the 'Z'
        cached_second_ = second;
    }
    out.append(cached_prefix_);
    json::appendNanoFraction(out, r.time_ns - second * 1'000'000'000);
    out.append("Z\"}\n", 4);
    last_time_ns_ = r.time_ns;
}

JsonFileDriver::Appended JsonFileDriver::append(const EncodedBatch& batch, size_t bytes) {
    Appended a;
    if (torn_ != 0) {
        // A torn record an earlier flush could not cut: nothing is appended after it until it is.
        if (::ftruncate(file_.get(), size_) != 0) {
            int e = errno;
            a.error = "cutting a torn record from " + display_path_ + ": " + errnoText(e);
            a.transient = transient(e);
            return a;
        }
        torn_ = 0;
    }
    size_t written = 0;
    int err = 0;
    while (written < bytes) {
        ssize_t n = ::write(file_.get(), batch.bytes.data() + written, bytes - written);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        written += static_cast<size_t>(n);
    }
    // Whole records only: record_ends are sorted, and `bytes` is a record boundary.
    a.records = static_cast<size_t>(
        std::upper_bound(batch.record_ends.begin(), batch.record_ends.end(), written) -
        batch.record_ends.begin());
    if (err != 0) {
        // Keep the file valid JSON lines: cut a torn record; it is written again on retry.
        size_t keep = a.records == 0 ? 0 : batch.record_ends[a.records - 1];
        if (keep != written && ::ftruncate(file_.get(), size_ + static_cast<int64_t>(keep)) != 0)
            torn_ = static_cast<int64_t>(written - keep);  // cut before the next write
        written = keep;
        a.error = "writing " + display_path_ + ": " + errnoText(err);
        a.transient = transient(err);
    }
    size_ += static_cast<int64_t>(written);
    a.bytes = written;
    return a;
}

WriteResult JsonFileDriver::flush(EncodedBatch& batch, size_t& records_flushed) {
    struct Clear {  // the batch is empty for the next flush whatever happens
        EncodedBatch& b;
        ~Clear() {
            b.bytes.clear();
            b.record_ends.clear();
        }
    } clear{batch};
    if (batch.bytes.empty())
        return {WriteStatus::kOk, records_flushed, {}};
    // Removed or moved since the last look? Removed is seen after each write, below; moved, and
    // removed between two writes, once a second of record time here, before writing.
    if (int64_t second = last_time_ns_ / 1'000'000'000; second != path_checked_second_ && !gone_) {
        path_checked_second_ = second;
        checkPath();
    }
    if (gone_) {
        bool directory_too = false;
        if (std::string error = recreate(directory_too); !error.empty()) {
            gone_ = true;
            return {WriteStatus::kRetry, records_flushed,
                    display_path_ + " was removed and cannot be recreated: " + error};
        }
        warnRecreated(directory_too, 0, 0);
    }
    Appended a = append(batch, batch.bytes.size());
    // One fstat per batch: the file removed while this batch went into it (an operator's rm -rf
    // of the directory) leaves st_nlink 0. Its records are then in no file: they are written again
    // to a recreated one, from the batch still in memory, so nothing is lost or counted twice.
    if (a.bytes > 0 && fileRemoved()) {
        bool directory_too = false;
        if (std::string error = recreate(directory_too); !error.empty()) {
            // Not counted as written: they stay in the ring and are offered again (in
            // non-blocking mode the ring may drop them, counted as dropped).
            gone_ = true;
            return {WriteStatus::kRetry, records_flushed,
                    display_path_ +
                        " was removed while being written and cannot be recreated: " + error};
        }
        Appended again = append(batch, a.bytes);
        warnRecreated(directory_too, again.records, again.bytes);
        if (a.error.empty()) {
            a.error = again.error;
            a.transient = again.transient;
        }
        a.records = again.records;
    }
    records_flushed += a.records;
    if (a.error.empty())
        return {WriteStatus::kOk, records_flushed, {}};
    return {a.transient ? WriteStatus::kRetry : WriteStatus::kFatal, records_flushed, a.error};
}

void JsonFileDriver::warnRecreated(bool directory_too, size_t records, size_t bytes) {
    spdlog::warn(
        "json-file {}: the log file was removed while in use{}; recreated {}; {} records "
        "({} bytes) that went into the removed file are written again",
        display_path_, directory_too ? ", its directory too" : "",
        directory_too ? "the directory and the file" : "the file", records, bytes);
}

std::string JsonFileDriver::rotate() {
    {
        std::unique_lock lock(compression_->mutex);
        compression_->done.wait(lock, [&] { return !compression_->running; });
    }
    if (struct stat st; gone_ || (::fstat(dir_.get(), &st) == 0 && st.st_nlink == 0)) {
        // The directory was removed with the files to rotate: start afresh in a new one.
        bool directory_too = false;
        if (std::string error = recreate(directory_too); !error.empty()) {
            gone_ = true;
            return display_path_ + " was removed and cannot be recreated: " + error;
        }
        warnRecreated(directory_too, 0, 0);
        return {};
    }
    if (torn_ != 0) {  // the file rotated out must end with a whole record too
        if (::ftruncate(file_.get(), size_) != 0)
            return "cutting a torn record from " + display_path_ + ": " + errnoText(errno);
        torn_ = 0;
    }
    std::string ext = settings_.compress ? ".gz" : "";
    auto numbered = [&](int64_t i) { return name_ + "." + std::to_string(i) + ext; };
    if (settings_.max_file >= 2) {
        if (::unlinkat(dir_.get(), numbered(settings_.max_file - 1).c_str(), 0) != 0 &&
            errno != ENOENT)
            return "removing the oldest log file: " + errnoText(errno);
        for (int64_t i = settings_.max_file - 1; i > 1; --i) {
            if (::renameat(dir_.get(), numbered(i - 1).c_str(), dir_.get(), numbered(i).c_str()) !=
                    0 &&
                errno != ENOENT)
                return "rotating " + numbered(i - 1) + ": " + errnoText(errno);
        }
        std::string first = name_ + ".1";
        if (::renameat(dir_.get(), name_.c_str(), dir_.get(), first.c_str()) != 0 &&
            errno != ENOENT)
            return "rotating " + display_path_ + ": " + errnoText(errno);
    }
    auto fresh = openLogFile(dir_.get(), name_, display_path_, true);
    if (!fresh)
        return fresh.error().message;
    useFile(std::move(*fresh));

    if (settings_.compress && settings_.max_file >= 2) {
        auto state = compression_;
        {
            std::lock_guard lock(state->mutex);
            state->running = true;
        }
        auto dir = std::make_shared<UniqueFd>(::fcntl(dir_.get(), F_DUPFD_CLOEXEC, 0));
        std::string name = name_ + ".1";
        int64_t last = last_time_ns_;
        auto job = [state, dir, name, last] {
            std::string error = compressFile(dir->get(), name, last);
            if (!error.empty())
                spdlog::warn("json-file: compressing {}: {}", name, error);
            std::lock_guard lock(state->mutex);
            state->running = false;
            state->done.notify_all();
        };
        if (background_ != nullptr)
            background_->post(std::move(job));
        else
            job();
    }
    return {};
}

void JsonFileDriver::resume(std::string_view) {
    // The file ends with the last record written before the earlier ringlogd stopped or was
    // killed; a kill in the middle of a write() may have left half a record after it. Record
    // times only grow, so that last whole record's time says which records are persisted.
    UniqueFd in(::openat(dir_.get(), name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in)
        return;
    constexpr int64_t kMostRead = 64 << 20;  // far beyond any record; a file is not read whole
    std::string tail;
    for (int64_t chunk = 64 * 1024;; chunk *= 4) {
        int64_t start = std::max<int64_t>(0, size_ - chunk);
        tail.resize(static_cast<size_t>(size_ - start));
        ssize_t n = ::pread(in.get(), tail.data(), tail.size(), start);
        if (n != static_cast<ssize_t>(tail.size()))
            return;
        size_t end = tail.rfind('\n');
        if (end == std::string::npos && start > 0) {
            if (chunk >= kMostRead)
                return;  // not a json-file log: leave it alone
            continue;
        }
        int64_t whole = end == std::string::npos ? start : start + static_cast<int64_t>(end) + 1;
        if (whole != size_) {
            spdlog::warn("json-file {}: cutting {} bytes of a record torn by a crash",
                         display_path_, size_ - whole);
            if (::ftruncate(file_.get(), whole) == 0)
                size_ = whole;
        }
        if (end == std::string::npos)
            return;
        size_t begin = end == 0 ? std::string::npos : tail.rfind('\n', end - 1);
        if (begin == std::string::npos && start > 0 && chunk < kMostRead)
            continue;  // the last line starts before this chunk
        size_t from = begin == std::string::npos ? 0 : begin + 1;
        if (auto last = parseJsonFileLine(std::string_view(tail).substr(from, end - from)))
            resume_through_ns_ = last->time_ns;
        return;
    }
}

WriteResult JsonFileDriver::doWrite(std::span<const RecordView> records,
                                    const DropCount& dropped_before) {
    size_t skipped = 0;
    while (skipped < records.size() && records[skipped].time_ns <= resume_through_ns_)
        ++skipped;
    if (skipped < records.size())
        resume_through_ns_ = 0;
    WriteResult r = skipped == records.size()
                        ? WriteResult{}
                        : writeRecords(records.subspan(skipped), dropped_before);
    r.records_done += skipped;
    return r;
}

WriteResult JsonFileDriver::writeRecords(std::span<const RecordView> records,
                                         const DropCount& dropped_before) {
    EncodedBatch& batch = EncodedBatch::ofThisThread();
    size_t flushed = 0;
    for (size_t i = 0; i < records.size(); ++i) {
        // Docker rotates before a message once the file has reached max-size.
        if (settings_.max_size > 0 &&
            size_ + static_cast<int64_t>(batch.bytes.size()) >= settings_.max_size) {
            if (auto r = flush(batch, flushed); r.status != WriteStatus::kOk)
                return r;
            if (auto error = rotate(); !error.empty())
                return {WriteStatus::kRetry, flushed, error};
        }
        encode(batch.bytes, records[i], i == 0 && dropped_before.any() ? &dropped_before : nullptr);
        batch.record_ends.push_back(batch.bytes.size());
    }
    return flush(batch, flushed);
}

void JsonFileDriver::doClose() {
    std::unique_lock lock(compression_->mutex);
    compression_->done.wait(lock, [&] { return !compression_->running; });
    file_.reset();
}

}  // namespace ringlog
