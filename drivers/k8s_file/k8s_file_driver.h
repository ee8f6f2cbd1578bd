// The k8s-file driver: the CRI log format kubelet reads (`kubectl logs`) and containerd, CRI-O's
// conmon and conmon-rs write, one line per record:
//   <RFC 3339 time, UTC, nanoseconds> <stdout|stderr> <F|P> <content>\n
// `F` ends a line, `P` is a part of one: a line cut at max-line, or a last line without '\n'.
// The file is `path` (kubelet's /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log, under
// an allowed log root) or <log-root>/<id>/<id>.log; rotated by max-size to .1, .2 … as json-file,
// or by kubelet: it renames the file and asks for a new one (reopen()). docs/drivers/k8s-file.md.
#pragma once

#include <array>
#include <memory>
#include <string>

#include <sys/types.h>

#include "drivers/log_driver.h"
#include "service/base/unique_fd.h"

namespace ringlog {

class NumberedRotation;
struct RecordBatch;

class K8sFileDriver final : public LogDriver {
  public:
    static constexpr std::array<OptionSpec, 4> kOptions{{
        {"path", OptionType::kString, "",
         "the log file, under an allowed log root (kubelet's /var/log/pods/…/<n>.log); "
         "missing directories are made. Default: <log-root>/<id>/<id>.log"},
        {"max-size", OptionType::kDecimalSize, "-1",
         "rotate when the file reaches this size, decimal as json-file's: 1m is 1000000 (-1: "
         "never; kubelet rotates by itself through Reopen)"},
        {"max-file", OptionType::kInteger, "1", "how many files to keep, the current one included"},
        {"compress", OptionType::kBool, "false", "gzip rotated files, off the write path"},
    }};

    static Result<std::unique_ptr<LogDriver>> create(const ContainerInfo& info,
                                                     const OptionMap& options,
                                                     const DriverEnvironment& env);
    static Result<std::unique_ptr<LogReader>> openReader(const ContainerInfo& info,
                                                         const OptionMap& options,
                                                         const DriverEnvironment& env,
                                                         const ReadFilter& filter);
    ~K8sFileDriver() override;

    // After a restart: cuts a line torn by a kill and skips records up to the last one written.
    void resume(std::string_view state) override;
    // Kubelet renamed the file: the next records go to a new file at the path (appended to, if
    // one is there already); those before went to the renamed one.
    std::optional<Error> reopen() override;

  protected:
    WriteResult doWrite(std::span<const RecordView> records,
                        const DropCount& dropped_before) override;
    void doClose() override;

  private:
    K8sFileDriver(UniqueFd dir, std::string name, std::string root, std::string relative,
                  std::string display, UniqueFd file, int64_t max_size,
                  std::unique_ptr<NumberedRotation> rotation);
    void useFile(UniqueFd file);
    void encode(std::string& out, const RecordView& record);
    WriteResult flush(RecordBatch& batch, size_t& records_flushed);
    std::string cutTorn();
    std::string rotate();
    WriteResult writeRecords(std::span<const RecordView> records);

    UniqueFd dir_;
    std::string name_;      // the file's name in dir_
    std::string root_;      // dir_ is root_/relative_, made again there at a reopen if removed
    std::string relative_;  // "." for the root itself
    std::string display_;   // the path, for messages
    UniqueFd file_;
    int64_t size_ = 0;  // bytes of whole lines in the file
    int64_t torn_ = 0;  // bytes of a torn line after them that could not be cut yet
    int64_t max_size_ = -1;
    std::unique_ptr<NumberedRotation> rotation_;
    int64_t last_time_ns_ = 0;
    int64_t resume_through_ns_ = 0;  // records up to this time are in the file already
    int64_t cached_second_ = INT64_MIN;
    std::string cached_prefix_;
};

}  // namespace ringlog
