#include "drivers/files/line_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace ringlog {

namespace fs = std::filesystem;

LineSource::LineSource(fs::path name) : name_(std::move(name)) {}

LineSource::~LineSource() {
    if (gz_ != nullptr)
        gzclose(gz_);
}

Error LineSource::readError() const {
    return Error{RINGLOG_STATUS_DRIVER_ERROR,
                 "reading " + name_.string() + ": " + errnoText(errno)};
}

Result<std::unique_ptr<LineSource>> LineSource::open(const fs::path& path, bool gz, uint64_t offset,
                                                     fs::path name) {
    std::unique_ptr<LineSource> src(new LineSource(std::move(name)));
    if (gz) {
        src->gz_ = gzopen(path.c_str(), "rb");
        if (src->gz_ == nullptr)
            return std::unique_ptr<LineSource>();
    } else {
        src->fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!src->fd_)
            return std::unique_ptr<LineSource>();
        if (offset > 0 && ::lseek(src->fd_.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
            return src->readError();
    }
    return src;
}

Result<bool> LineSource::readLine(std::string_view& line) {
    for (;;) {
        const char* from = buffer_.data() + pos_;
        if (const auto* nl =
                static_cast<const char*>(std::memchr(from, '\n', buffer_.size() - pos_))) {
            line = std::string_view(from, static_cast<size_t>(nl - from));
            pos_ += line.size() + 1;
            return true;
        }
        if (eof_)
            return false;
        buffer_.erase(0, pos_);
        pos_ = 0;
        size_t old = buffer_.size();
        buffer_.resize(old + kLogReadChunk);
        long n = gz_ != nullptr
                     ? gzread(gz_, buffer_.data() + old, static_cast<unsigned>(kLogReadChunk))
                     : ::read(fd_.get(), buffer_.data() + old, kLogReadChunk);
        if (n < 0)
            return readError();
        buffer_.resize(old + static_cast<size_t>(n));
        if (n == 0)
            eof_ = true;
    }
}

uint64_t searchSince(const fs::path& path, int64_t since, LineTime time_of) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0)
        return 0;
    uint64_t lo = 0, hi = static_cast<uint64_t>(st.st_size);
    std::string buf(kLogReadChunk, '\0');
    while (hi - lo > kLogReadChunk) {
        uint64_t mid = lo + (hi - lo) / 2;
        ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(mid));
        if (n <= 0)
            break;
        std::string_view view(buf.data(), static_cast<size_t>(n));
        size_t nl = view.find('\n');
        size_t next_nl = nl == std::string_view::npos ? nl : view.find('\n', nl + 1);
        if (next_nl == std::string_view::npos) {
            hi = mid;
            continue;
        }
        auto t = time_of(view.substr(nl + 1, next_nl - nl - 1));
        if (t && *t < since)
            lo = mid + nl + 1;
        else
            hi = mid;
    }
    return lo;
}

}  // namespace ringlog
