// Docker's rotation of a log file, shared by the file drivers: <name> becomes <name>.1, the
// older ones shift to .2 …, the one beyond max-file is removed; with compress, <name>.1 is
// gzipped to <name>.1.gz off the write path, the gzip header's extra field holding
// {"lastTime":"…"} as docker's. And the reader's side: those files again, oldest first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/log_driver.h"

namespace ringlog {

// The rotation options, read and checked as docker's json-file reads them: max-size (decimal
// units, -1 for no limit), max-file, compress. Their values are valid for their OptionSpec types.
struct RotationOptions {
    int64_t max_size = -1;
    int64_t max_file = 1;
    bool compress = false;
};
Result<RotationOptions> parseRotationOptions(const OptionMap& options);

class NumberedRotation {
  public:
    NumberedRotation(int64_t max_file, bool compress, BackgroundWork* background,
                     std::string driver);

    // Waits for a compression still running: it extends the chain the next shift renames, and
    // must end before a driver closes. A rotation waits like docker's.
    void waitForCompression();

    // Removes the oldest file, shifts the others up and renames <name> to <name>.1 (max-file 2 or
    // more; with 1 nothing is renamed: the caller truncates). An error, or empty.
    std::string shift(int dir, const std::string& name, const std::string& display);

    // Once the new file is open: <name>.1 to <name>.1.gz on the background thread (compress
    // only), `last_time_ns` in its header.
    void compressFirst(int dir, const std::string& name, int64_t last_time_ns);

    bool compress() const { return compress_; }

  private:
    struct Compression;
    int64_t max_file_;
    bool compress_;
    BackgroundWork* background_;
    std::string driver_;
    std::shared_ptr<Compression> compression_;
};

// Compresses <dir>/<name> to <name>.gz and removes the original; an error, or empty.
std::string compressFile(int dir, const std::string& name, int64_t last_time_ns);

struct RotatedFile {
    std::filesystem::path path;
    bool gz = false;
};

// A log's files, oldest first: <file>.N … <file>.1 (each plain or .gz, up to the first missing
// number), then <file> itself if it exists.
std::vector<RotatedFile> numberedLogFiles(const std::filesystem::path& file);

// The {"lastTime":"…"} of a gzip header written by docker or compressFile.
std::optional<int64_t> lastTimeOfGzipFile(const std::filesystem::path& path);

}  // namespace ringlog
