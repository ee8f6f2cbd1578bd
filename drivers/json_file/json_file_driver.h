// The json-file driver: docker's json-file format, names and rotation, byte for byte.
//   <log-root>/<id>/<id>-json.log, rotated to .1, .2 … (.1.gz, .2.gz … with compress=true)
// Options as docker's: max-size, max-file, compress, labels, labels-regex, env, env-regex, tag;
// plus `path`, an explicit file that must lie under one of the allowed log roots.
#pragma once

#include <array>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <sys/types.h>

#include "drivers/log_driver.h"
#include "service/base/unique_fd.h"

namespace ringlog {

class NumberedRotation;
struct RecordBatch;

class JsonFileDriver final : public LogDriver {
  public:
    static constexpr std::array<OptionSpec, 9> kOptions{{
        {"max-size", OptionType::kDecimalSize, "-1",
         "rotate when the file reaches this size, decimal as docker's: 1m is 1000000 (-1: never)"},
        {"max-file", OptionType::kInteger, "1", "how many files to keep, the current one included"},
        {"compress", OptionType::kBool, "false", "gzip rotated files, off the write path"},
        {"labels", OptionType::kString, "", "comma-separated container labels to add as attrs"},
        {"labels-regex", OptionType::kString, "", "labels whose key matches this regex, as attrs"},
        {"env", OptionType::kString, "", "comma-separated environment variables to add as attrs"},
        {"env-regex", OptionType::kString, "",
         "environment variables matching this regex, as attrs"},
        {"tag", OptionType::kString, "",
         "a tag attr: text with {{.ID}} {{.FullID}} {{.Name}} {{.ImageName}} {{.DaemonName}}"},
        {"path", OptionType::kString, "", "explicit log file, under an allowed log root"},
    }};

    static Result<std::unique_ptr<LogDriver>> create(const ContainerInfo& info,
                                                     const OptionMap& options,
                                                     const DriverEnvironment& env);
    static Result<std::unique_ptr<LogReader>> openReader(const ContainerInfo& info,
                                                         const OptionMap& options,
                                                         const DriverEnvironment& env,
                                                         const ReadFilter& filter);
    ~JsonFileDriver() override;

    struct Settings {
        int64_t max_size = -1;
        int64_t max_file = 1;
        bool compress = false;
        std::string attrs;  // encoded attrs object, empty when there are none
        std::map<std::string, std::string> attr_map;
    };

    // After a restart: cuts a record torn by a kill and skips records up to the last one written.
    void resume(std::string_view state) override;

  protected:
    WriteResult doWrite(std::span<const RecordView> records,
                        const DropCount& dropped_before) override;
    void doClose() override;

  private:
    // What one append() put in the file: whole records only.
    struct Appended {
        size_t records = 0;
        size_t bytes = 0;
        std::string error;  // empty: all of it written
        bool transient = false;
    };

    JsonFileDriver(UniqueFd dir, std::string name, std::string display_path, UniqueFd file,
                   Settings settings, BackgroundWork* background);
    void encode(std::string& out, const RecordView& record, const DropCount* dropped);
    WriteResult flush(RecordBatch& batch, size_t& records_flushed);
    Appended append(const RecordBatch& batch, size_t bytes);
    void useFile(UniqueFd file);
    bool fileRemoved() const;
    // Recreates the directory (if removed) and the file at their paths; an error, or empty.
    std::string recreate(bool& directory_too);
    void checkPath();
    void warnRecreated(bool directory_too, size_t records, size_t bytes);
    std::string rotate();
    WriteResult writeRecords(std::span<const RecordView> records, const DropCount& dropped_before);

    UniqueFd dir_;
    std::string root_;          // dir_ is root_/relative_dir_, recreated there if removed
    std::string relative_dir_;  // below root_, "." for the root itself
    std::string name_;          // file name within dir_
    std::string display_path_;  // for messages
    UniqueFd file_;
    int64_t size_ = 0;    // bytes of whole records in the file
    int64_t torn_ = 0;    // bytes of a torn record after them that could not be cut yet
    dev_t file_dev_ = 0;  // file_'s identity, to tell whether the path still names it
    ino_t file_ino_ = 0;
    bool gone_ = false;  // file_ was removed and is not recreated yet: no write goes into it
    int64_t path_checked_second_ = INT64_MIN;  // the record time's second of the last checkPath
    std::string reopen_error_;                 // the last failure to reopen a moved file, said once
    int64_t last_time_ns_ = 0;
    int64_t resume_through_ns_ = 0;  // records up to this time are in the file already
    Settings settings_;
    std::unique_ptr<NumberedRotation> rotation_;
    int64_t cached_second_ = INT64_MIN;
    std::string cached_prefix_;
};

}  // namespace ringlog
