#include "drivers/json_file/json_file_driver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "drivers/docker/docker_attrs.h"
#include "drivers/docker/json_encoding.h"
#include "drivers/files/log_location.h"
#include "drivers/files/record_batch.h"
#include "drivers/files/rotation.h"
#include "drivers/json_file/json_file_reader.h"

#include <filesystem>
#include "service/base/units.h"

#include <spdlog/spdlog.h>

namespace ringlog {

Result<std::unique_ptr<LogDriver>> JsonFileDriver::create(const ContainerInfo& info,
                                                          const OptionMap& o,
                                                          const DriverEnvironment& env) {
    auto rotation = parseRotationOptions(o);
    if (!rotation)
        return rotation.error();
    Settings s;
    s.max_size = rotation->max_size;
    s.max_file = rotation->max_file;
    s.compress = rotation->compress;
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

    auto where = resolveLogLocation(o.at("path"), info.id, info.id + "-json.log", env, false);
    if (!where)
        return where.error();
    LogLocation& at = *where;
    auto file = openLogFile(at.dir.get(), at.name, at.display, false);
    if (!file)
        return file.error();
    auto driver = std::unique_ptr<JsonFileDriver>(new JsonFileDriver(
        std::move(at.dir), at.name, at.display, std::move(*file), std::move(s), env.background));
    driver->root_ = at.root;
    driver->relative_dir_ = at.relative;
    return std::unique_ptr<LogDriver>(std::move(driver));
}

Result<std::unique_ptr<LogReader>> JsonFileDriver::openReader(const ContainerInfo& info,
                                                              const OptionMap& o,
                                                              const DriverEnvironment& env,
                                                              const ReadFilter& filter) {
    return JsonFileReader::open(logFileToRead(o, info.id, info.id + "-json.log", env), filter);
}

JsonFileDriver::JsonFileDriver(UniqueFd dir, std::string name, std::string display_path,
                               UniqueFd file, Settings settings, BackgroundWork* background)
    : dir_(std::move(dir)),
      name_(std::move(name)),
      display_path_(std::move(display_path)),
      settings_(std::move(settings)),
      rotation_(std::make_unique<NumberedRotation>(settings_.max_file, settings_.compress,
                                                   background, "json-file")) {
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
    if (dropped != nullptr || !r.file.empty()) {
        auto attrs = settings_.attr_map;
        if (dropped != nullptr) {
            attrs["ringlog.dropped_bytes"] = std::to_string(dropped->bytes);
            attrs["ringlog.dropped_lines"] = std::to_string(dropped->lines);
        }
        // A line of a log file the container wrote (docs/log-files.md).
        if (!r.file.empty())
            attrs["log_file"] = std::string(r.file);
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

JsonFileDriver::Appended JsonFileDriver::append(const RecordBatch& batch, size_t bytes) {
    Appended a;
    if (torn_ != 0) {
        // A torn record an earlier flush could not cut: nothing is appended after it until it is.
        if (::ftruncate(file_.get(), size_) != 0) {
            int e = errno;
            a.error = "cutting a torn record from " + display_path_ + ": " + errnoText(e);
            a.transient = isTransientWriteError(e);
            return a;
        }
        torn_ = 0;
    }
    AppendedRecords w = appendWholeRecords(file_.get(), batch, bytes, size_, torn_);
    a.records = w.records;
    a.bytes = w.bytes;
    if (w.error != 0) {
        // A torn record was cut (or is cut before the next write): it is written again on retry.
        a.error = "writing " + display_path_ + ": " + errnoText(w.error);
        a.transient = isTransientWriteError(w.error);
    }
    return a;
}

WriteResult JsonFileDriver::flush(RecordBatch& batch, size_t& records_flushed) {
    ClearBatchOnExit clear{batch};
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
    rotation_->waitForCompression();
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
    if (std::string error = rotation_->shift(dir_.get(), name_, display_path_); !error.empty())
        return error;
    auto fresh = openLogFile(dir_.get(), name_, display_path_, true);
    if (!fresh)
        return fresh.error().message;
    useFile(std::move(*fresh));
    rotation_->compressFirst(dir_.get(), name_, last_time_ns_);
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
    thread_local RecordBatch batch;  // one per consumer thread (record_batch.h)
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
    rotation_->waitForCompression();
    file_.reset();
}

}  // namespace ringlog
