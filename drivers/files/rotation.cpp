#include "drivers/files/rotation.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>

#include <spdlog/spdlog.h>

#include "drivers/docker/json_encoding.h"
#include "service/base/unique_fd.h"
#include "service/base/units.h"

namespace ringlog {

namespace fs = std::filesystem;

Result<RotationOptions> parseRotationOptions(const OptionMap& o) {
    RotationOptions r;
    // Docker's json-file reads max-size with units.FromHumanSize: decimal units, so "1m" is
    // 1,000,000 bytes there and here (the other sizes, max-buffer-size among them, are binary).
    const std::string& max_size = o.at("max-size");
    r.max_size = max_size == "-1" ? -1 : *parseDecimalSize(max_size);
    r.max_file = *parseInteger(o.at("max-file"));
    r.compress = *parseBool(o.at("compress"));
    if (r.max_size == 0)
        return invalid("log option \"max-size\": \"" + max_size +
                       "\" is 0 bytes; it must be positive, or -1 for no limit");
    if (r.max_file < 1)
        return invalid("log option \"max-file\": must be at least 1");
    if (r.max_file > 1 && r.max_size < 0)
        return invalid("log option \"max-file\": needs max-size");
    if (r.compress && r.max_file < 2)
        return invalid("log option \"compress\": needs max-file of 2 or more");
    return r;
}

// One compression at a time per log: the next rotation waits for it, as docker's does, because
// it renames the .N.gz chain that the running compression is about to extend.
struct NumberedRotation::Compression {
    std::mutex mutex;
    std::condition_variable done;
    bool running = false;
};

NumberedRotation::NumberedRotation(int64_t max_file, bool compress, BackgroundWork* background,
                                   std::string driver)
    : max_file_(max_file),
      compress_(compress && max_file >= 2),
      background_(background),
      driver_(std::move(driver)),
      compression_(std::make_shared<Compression>()) {}

void NumberedRotation::waitForCompression() {
    std::unique_lock lock(compression_->mutex);
    compression_->done.wait(lock, [&] { return !compression_->running; });
}

std::string NumberedRotation::shift(int dir, const std::string& name, const std::string& display) {
    if (max_file_ < 2)
        return {};
    std::string ext = compress_ ? ".gz" : "";
    auto numbered = [&](int64_t i) { return name + "." + std::to_string(i) + ext; };
    if (::unlinkat(dir, numbered(max_file_ - 1).c_str(), 0) != 0 && errno != ENOENT)
        return "removing the oldest log file: " + errnoText(errno);
    for (int64_t i = max_file_ - 1; i > 1; --i) {
        if (::renameat(dir, numbered(i - 1).c_str(), dir, numbered(i).c_str()) != 0 &&
            errno != ENOENT)
            return "rotating " + numbered(i - 1) + ": " + errnoText(errno);
    }
    std::string first = name + ".1";
    if (::renameat(dir, name.c_str(), dir, first.c_str()) != 0 && errno != ENOENT)
        return "rotating " + display + ": " + errnoText(errno);
    return {};
}

void NumberedRotation::compressFirst(int dir, const std::string& name, int64_t last_time_ns) {
    if (!compress_)
        return;
    auto state = compression_;
    {
        std::lock_guard lock(state->mutex);
        state->running = true;
    }
    auto dir_fd = std::make_shared<UniqueFd>(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
    std::string first = name + ".1";
    auto job = [state, dir_fd, first, last_time_ns, driver = driver_] {
        std::string error = compressFile(dir_fd->get(), first, last_time_ns);
        if (!error.empty())
            spdlog::warn("{}: compressing {}: {}", driver, first, error);
        std::lock_guard lock(state->mutex);
        state->running = false;
        state->done.notify_all();
    };
    if (background_ != nullptr)
        background_->post(std::move(job));
    else
        job();
}

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

std::vector<RotatedFile> numberedLogFiles(const fs::path& file) {
    constexpr int kMaxRotations = 10000;
    std::vector<RotatedFile> files;  // newest first while collecting
    if (fs::exists(file))
        files.push_back({file, false});
    for (int n = 1; n <= kMaxRotations; ++n) {
        fs::path plain = file.string() + "." + std::to_string(n), gz = plain.string() + ".gz";
        if (fs::exists(plain))
            files.push_back({plain, false});
        else if (fs::exists(gz))
            files.push_back({gz, true});
        else
            break;
    }
    return {files.rbegin(), files.rend()};
}

std::optional<int64_t> lastTimeOfGzipFile(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    unsigned char h[10 + 2 + 512];
    ssize_t n = fd ? ::read(fd.get(), h, sizeof h) : -1;
    if (n < 12 || h[0] != 0x1f || h[1] != 0x8b || !(h[3] & 0x04))
        return std::nullopt;
    size_t xlen = h[10] | (h[11] << 8);
    if (12 + xlen > static_cast<size_t>(n))
        return std::nullopt;
    std::string_view extra(reinterpret_cast<const char*>(h + 12), xlen);
    auto key = extra.find("\"lastTime\":\"");
    if (key == std::string_view::npos)
        return std::nullopt;
    auto start = key + 12, end = extra.find('"', start);
    return end == std::string_view::npos ? std::nullopt
                                         : parseRfc3339(extra.substr(start, end - start));
}

}  // namespace ringlog
