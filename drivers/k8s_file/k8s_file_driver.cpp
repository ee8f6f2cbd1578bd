#include "drivers/k8s_file/k8s_file_driver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

#include <spdlog/spdlog.h>

#include "drivers/docker/json_encoding.h"
#include "drivers/files/log_location.h"
#include "drivers/files/record_batch.h"
#include "drivers/files/rotation.h"
#include "drivers/k8s_file/k8s_file_reader.h"
#include "service/base/units.h"

namespace ringlog {

namespace {

std::string defaultName(const ContainerInfo& info) {
    return info.id + ".log";
}

}  // namespace

Result<std::unique_ptr<LogDriver>> K8sFileDriver::create(const ContainerInfo& info,
                                                         const OptionMap& o,
                                                         const DriverEnvironment& env) {
    auto options = parseRotationOptions(o);
    if (!options)
        return options.error();

    auto where = resolveLogLocation(o.at("path"), info.id, defaultName(info), env, true);
    if (!where)
        return where.error();
    LogLocation& at = *where;
    auto file = openLogFile(at.dir.get(), at.name, at.display, false);
    if (!file)
        return file.error();
    auto rotation = std::make_unique<NumberedRotation>(options->max_file, options->compress,
                                                       env.background, "k8s-file " + at.display);
    return std::unique_ptr<LogDriver>(new K8sFileDriver(std::move(at.dir), at.name, at.root,
                                                        at.relative, at.display, std::move(*file),
                                                        options->max_size, std::move(rotation)));
}

Result<std::unique_ptr<LogReader>> K8sFileDriver::openReader(const ContainerInfo& info,
                                                             const OptionMap& o,
                                                             const DriverEnvironment& env,
                                                             const ReadFilter& filter) {
    return K8sFileReader::open(logFileToRead(o, info.id, defaultName(info), env), filter);
}

K8sFileDriver::K8sFileDriver(UniqueFd dir, std::string name, std::string root, std::string relative,
                             std::string display, UniqueFd file, int64_t max_size,
                             std::unique_ptr<NumberedRotation> rotation)
    : dir_(std::move(dir)),
      name_(std::move(name)),
      root_(std::move(root)),
      relative_(std::move(relative)),
      display_(std::move(display)),
      max_size_(max_size),
      rotation_(std::move(rotation)) {
    useFile(std::move(file));
}

K8sFileDriver::~K8sFileDriver() = default;

void K8sFileDriver::useFile(UniqueFd file) {
    struct stat st {};
    ::fstat(file.get(), &st);
    file_ = std::move(file);
    size_ = st.st_size;
    torn_ = 0;
}

void K8sFileDriver::encode(std::string& out, const RecordView& r) {
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
    // F ends a line; a part without the '\n' (a line cut at max-line, or a last line without
    // one) is P, as containerd writes it.
    if (r.stream == Stream::kStderr)
        out.append(r.newline() ? "Z stderr F " : "Z stderr P ", 11);
    else
        out.append(r.newline() ? "Z stdout F " : "Z stdout P ", 11);
    out.append(r.message);
    out.push_back('\n');
    last_time_ns_ = r.time_ns;
}

std::string K8sFileDriver::cutTorn() {
    if (torn_ == 0)
        return {};
    if (::ftruncate(file_.get(), size_) != 0)
        return "cutting a torn line from " + display_ + ": " + errnoText(errno);
    torn_ = 0;
    return {};
}

WriteResult K8sFileDriver::flush(RecordBatch& batch, size_t& records_flushed) {
    ClearBatchOnExit clear{batch};
    if (batch.bytes.empty())
        return {WriteStatus::kOk, records_flushed, {}};
    if (std::string error = cutTorn(); !error.empty())
        return {WriteStatus::kRetry, records_flushed, error};
    // Whole lines only: what a failed write left of a line is cut, and written again on retry.
    AppendedRecords a = appendWholeRecords(file_.get(), batch, batch.bytes.size(), size_, torn_);
    records_flushed += a.records;
    if (a.error == 0)
        return {WriteStatus::kOk, records_flushed, {}};
    return {isTransientWriteError(a.error) ? WriteStatus::kRetry : WriteStatus::kFatal,
            records_flushed, "writing " + display_ + ": " + errnoText(a.error)};
}

std::string K8sFileDriver::rotate() {
    rotation_->waitForCompression();
    if (std::string error = cutTorn(); !error.empty())
        return error;
    if (std::string error = rotation_->shift(dir_.get(), name_, display_); !error.empty())
        return error;
    auto fresh = openLogFile(dir_.get(), name_, display_, true);
    if (!fresh)
        return fresh.error().message;
    useFile(std::move(*fresh));
    rotation_->compressFirst(dir_.get(), name_, last_time_ns_);
    return {};
}

std::optional<Error> K8sFileDriver::reopen() {
    // What a failed write left after the last whole line is in the renamed file: cut it there.
    if (std::string error = cutTorn(); !error.empty())
        return Error{RINGLOG_STATUS_DRIVER_ERROR, error};
    // The directory is made again if it went away: kubelet removes a pod's directory only once
    // its containers are gone, but an operator may not wait.
    auto dir = makeDirectoryBeneath(root_, relative_);
    if (!dir)
        return dir.error();
    auto file = openLogFile(dir->get(), name_, display_, false);
    if (!file)
        return file.error();
    dir_ = std::move(*dir);
    useFile(std::move(*file));
    return std::nullopt;
}

void K8sFileDriver::resume(std::string_view) {
    // As json-file's: the file ends with the last line written before the earlier ringlogd
    // stopped or was killed, perhaps followed by half a line. Record times only grow, so that
    // last whole line's time says which records are persisted.
    UniqueFd in(::openat(dir_.get(), name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    auto last = in ? lastWholeLine(in.get(), size_) : std::nullopt;
    if (!last)
        return;
    if (last->end != size_) {
        spdlog::warn("k8s-file {}: cutting {} bytes of a line torn by a crash", display_,
                     size_ - last->end);
        if (::ftruncate(file_.get(), last->end) == 0)
            size_ = last->end;
    }
    if (last->time_ns)
        resume_through_ns_ = *last->time_ns;
}

WriteResult K8sFileDriver::doWrite(std::span<const RecordView> records, const DropCount&) {
    // Dropped lines (non-blocking mode) are counted by the daemon; the CRI format has no place
    // to mark them that kubelet and the log shippers would not misread.
    size_t skipped = 0;
    while (skipped < records.size() && records[skipped].time_ns <= resume_through_ns_)
        ++skipped;
    if (skipped < records.size())
        resume_through_ns_ = 0;
    WriteResult r =
        skipped == records.size() ? WriteResult{} : writeRecords(records.subspan(skipped));
    r.records_done += skipped;
    return r;
}

WriteResult K8sFileDriver::writeRecords(std::span<const RecordView> records) {
    thread_local RecordBatch batch;  // one per consumer thread (record_batch.h)
    size_t flushed = 0;
    for (const RecordView& record : records) {
        // As json-file (docker): rotate before a line once the file has reached max-size.
        if (max_size_ > 0 && size_ + static_cast<int64_t>(batch.bytes.size()) >= max_size_) {
            if (auto r = flush(batch, flushed); r.status != WriteStatus::kOk)
                return r;
            if (auto error = rotate(); !error.empty())
                return {WriteStatus::kRetry, flushed, error};
        }
        encode(batch.bytes, record);
        batch.record_ends.push_back(batch.bytes.size());
    }
    return flush(batch, flushed);
}

void K8sFileDriver::doClose() {
    rotation_->waitForCompression();
    file_.reset();
}

}  // namespace ringlog
