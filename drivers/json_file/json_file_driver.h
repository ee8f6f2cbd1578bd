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

#include "drivers/log_driver.h"
#include "service/base/unique_fd.h"

namespace ringlog {

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
    struct Compression;
    struct EncodedBatch;

    JsonFileDriver(UniqueFd dir, std::string name, std::string display_path, UniqueFd file,
                   int64_t size, Settings settings, BackgroundWork* background);
    void encode(std::string& out, const RecordView& record, const DropCount* dropped);
    WriteResult flush(EncodedBatch& batch, size_t& records_flushed);
    std::string rotate();
    WriteResult writeRecords(std::span<const RecordView> records, const DropCount& dropped_before);

    UniqueFd dir_;
    std::string name_;          // file name within dir_
    std::string display_path_;  // for messages
    UniqueFd file_;
    int64_t size_ = 0;  // bytes of whole records in the file
    int64_t torn_ = 0;  // bytes of a torn record after them that could not be cut yet
    int64_t last_time_ns_ = 0;
    int64_t resume_through_ns_ = 0;  // records up to this time are in the file already
    Settings settings_;
    BackgroundWork* background_;
    std::shared_ptr<Compression> compression_;
    int64_t cached_second_ = INT64_MIN;
    std::string cached_prefix_;
};

}  // namespace ringlog
