#include "drivers/json_file/json_file_driver.h"
#include "drivers/registry.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "drivers/json_file/open_beneath.h"
#include "service/container/task_queue.h"

namespace ringlog {
namespace {

namespace fs = std::filesystem;

class JsonFileDriverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("ringlog-jf-" + std::to_string(getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_);
        env_ = {root_.string(), {root_.string()}, &background_};
        info_.id = "c0ffee";
        info_.name = "web";
        info_.labels = {{"app", "shop"}, {"tier", "front"}};
        info_.env = {{"LANG", "C"}};
    }
    void TearDown() override { fs::remove_all(root_); }

    Result<std::unique_ptr<LogDriver>> make(KeyValues opts) {
        auto o = validateOptions(*findDriver("json-file"), {}, opts);
        if (!o)
            return o.error();
        return JsonFileDriver::create(info_, *o, env_);
    }

    static std::string read(const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    static RecordView record(std::string_view msg, Stream s = Stream::kStdout,
                             uint8_t flags = kRecordNewline) {
        RecordView v;
        v.stream = s;
        v.flags = flags;
        v.time_ns = 1'700'000'000'500'000'000;
        v.message = msg;
        return v;
    }

    fs::path root_;
    TaskQueue background_;
    DriverEnvironment env_;
    ContainerInfo info_;
};

TEST_F(JsonFileDriverTest, AfterACrashItCutsATornRecordAndSkipsWhatItHadWritten) {
    auto before = make({});
    ASSERT_TRUE(before.ok());
    RecordView one = record("one"), two = record("two"), three = record("three");
    one.time_ns += 1;
    two.time_ns += 2;
    three.time_ns += 3;
    std::vector<RecordView> first = {one, two};
    ASSERT_EQ((*before)->write(first, {}).status, WriteStatus::kOk);
    before->reset();  // killed: never closed, and half a record written after the last one
    fs::path file = root_ / "c0ffee" / "c0ffee-json.log";
    std::ofstream(file, std::ios::app) << "{\"log\":\"thr";
    auto after = make({});
    ASSERT_TRUE(after.ok());
    (*after)->resume("");
    std::vector<RecordView> again = {two, three};  // two was written, not retired
    auto r = (*after)->write(again, {});
    EXPECT_EQ(r.status, WriteStatus::kOk);
    EXPECT_EQ(r.records_done, 2u);
    EXPECT_EQ(
        read(file),
        "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.500000001Z\"}\n"
        "{\"log\":\"two\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.500000002Z\"}\n"
        "{\"log\":\"three\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.500000003Z\"}"
        "\n");
}

TEST_F(JsonFileDriverTest, WritesDockersRecordFormat) {
    auto d = make({});
    ASSERT_TRUE(d.ok()) << d.error().message;
    std::vector<RecordView> rs = {record("hello"), record("oops", Stream::kStderr),
                                  record("cut", Stream::kStdout, kRecordPartial)};
    auto r = (*d)->write(rs, {});
    EXPECT_EQ(r.status, WriteStatus::kOk);
    (*d)->close();
    EXPECT_EQ(read(root_ / "c0ffee" / "c0ffee-json.log"),
              "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.5Z\"}\n"
              "{\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20.5Z\"}\n"
              "{\"log\":\"cut\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.5Z\"}\n");
    EXPECT_EQ(fs::status(root_ / "c0ffee" / "c0ffee-json.log").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST_F(JsonFileDriverTest, AddsAttrsForLabelsEnvAndTagAndMarksDrops) {
    auto d = make({{"labels", "app,missing"}, {"env", "LANG"}, {"tag", "{{.Name}}/{{.ID}}"}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    std::vector<RecordView> rs = {record("x")};
    (*d)->write(rs, DropCount{12, 3400});
    (*d)->close();
    EXPECT_EQ(read(root_ / "c0ffee" / "c0ffee-json.log"),
              "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"attrs\":{\"LANG\":\"C\",\"app\":\"shop\","
              "\"ringlog.dropped_bytes\":\"3400\",\"ringlog.dropped_lines\":\"12\",\"tag\":\"web/"
              "c0ffee\"},"
              "\"time\":\"2023-11-14T22:13:20.5Z\"}\n");
}

TEST_F(JsonFileDriverTest, RotatesAtMaxSizeKeepingMaxFileFilesWithDockersNames) {
    auto d = make({{"max-size", "100"}, {"max-file", "3"}});
    ASSERT_TRUE(d.ok());
    std::vector<std::string> lines;
    for (int i = 0; i < 10; ++i)
        lines.push_back("line-" + std::to_string(i));
    for (const auto& l : lines) {
        std::vector<RecordView> one = {record(l)};
        ASSERT_EQ((*d)->write(one, {}).status, WriteStatus::kOk);
    }
    (*d)->close();
    // Each record is 69 bytes: docker rotates before a record once the file holds >= 100 bytes.
    fs::path dir = root_ / "c0ffee";
    EXPECT_TRUE(fs::exists(dir / "c0ffee-json.log"));
    EXPECT_TRUE(fs::exists(dir / "c0ffee-json.log.1"));
    EXPECT_TRUE(fs::exists(dir / "c0ffee-json.log.2"));
    EXPECT_FALSE(fs::exists(dir / "c0ffee-json.log.3"));
    std::string all = read(dir / "c0ffee-json.log.2") + read(dir / "c0ffee-json.log.1") +
                      read(dir / "c0ffee-json.log");
    EXPECT_NE(all.find("line-4\\n"), std::string::npos);
    EXPECT_EQ(all.find("line-3\\n"), std::string::npos) << "rotated away";
    EXPECT_NE(all.find("line-9\\n"), std::string::npos);
}

// Docker (moby loggerutils.LogFile.WriteLogEntry) rotates before a record once the file holds
// max-size bytes or more, and reads max-size in decimal units: with 100-byte records, max-size=1k
// rotates after 10 of them (1,000 bytes; binary 1k would take 11), 1.5k after 15. Batches of 7
// records rotate at the same records as docker's one write per record.
TEST_F(JsonFileDriverTest, RotatesAtTheRecordWhereDockerWouldWithDecimalMaxSize) {
    const std::string msg(37, 'x');  // 63 bytes of JSON around it: 100-byte records
    std::vector<RecordView> batch(7, record(msg));
    for (const auto& [max_size, sizes] :
         std::vector<std::pair<std::string, std::vector<uintmax_t>>>{
             {"1k", {1000, 1000, 1000, 500}}, {"1.5k", {1500, 1500, 500}}}) {
        SCOPED_TRACE("max-size=" + max_size);
        fs::remove_all(root_ / "c0ffee");
        auto d = make({{"max-size", max_size}, {"max-file", "9"}});
        ASSERT_TRUE(d.ok()) << d.error().message;
        for (int i = 0; i < 5; ++i)
            ASSERT_EQ((*d)->write(batch, {}).status, WriteStatus::kOk);
        (*d)->close();
        fs::path base = root_ / "c0ffee" / "c0ffee-json.log";
        std::vector<uintmax_t> got;
        for (size_t i = sizes.size() - 1; i > 0; --i)
            got.push_back(fs::file_size(base.string() + "." + std::to_string(i)));
        got.push_back(fs::file_size(base));
        EXPECT_EQ(got, sizes);
        EXPECT_FALSE(fs::exists(base.string() + "." + std::to_string(sizes.size())));
    }
}

TEST_F(JsonFileDriverTest, RefusesAZeroMaxSizeNamingTheValue) {
    auto d = make({{"max-size", "0.1"}});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().message,
              "log option \"max-size\": \"0.1\" is 0 bytes; it must be positive, or -1 for no "
              "limit");
}

TEST_F(JsonFileDriverTest, RefusesASymlinkPlantedWhereTheLogGoes) {
    fs::create_directories(root_ / "c0ffee");
    fs::create_symlink("/etc/passwd", root_ / "c0ffee" / "c0ffee-json.log");
    auto d = make({});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().message, "refusing " + (root_ / "c0ffee" / "c0ffee-json.log").string() +
                                     ": it is a symbolic link");
}

TEST_F(JsonFileDriverTest, RefusesAPathOutsideTheAllowedRoots) {
    auto d = make({{"path", "/etc/evil.log"}});
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message.find("is not under an allowed log root"), std::string::npos);
    auto up = make({{"path", root_.string() + "/../evil.log"}});
    ASSERT_FALSE(up.ok());
    EXPECT_NE(up.error().message.find("leaves"), std::string::npos) << up.error().message;
}

TEST_F(JsonFileDriverTest, WritesToAnExplicitPathUnderAnAllowedRoot) {
    fs::create_directories(root_ / "engine" / "c0ffee");
    auto d = make({{"path", (root_ / "engine" / "c0ffee" / "console.log").string()}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    std::vector<RecordView> rs = {record("hi")};
    (*d)->write(rs, {});
    (*d)->close();
    EXPECT_NE(read(root_ / "engine" / "c0ffee" / "console.log").find("\"log\":\"hi\\n\""),
              std::string::npos);
}

TEST_F(JsonFileDriverTest, RefusesCompressWithoutRotation) {
    auto d = make({{"compress", "true"}});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().message, "log option \"compress\": needs max-file of 2 or more");
}

}  // namespace
}  // namespace ringlog

namespace ringlog {
namespace {

// The fallback for kernels without openat2 refuses what openat2 refuses.
TEST_F(JsonFileDriverTest, TheOpenat2FallbackRefusesSymlinksAndParentDirectories) {
    fs::create_directories(root_ / "a" / "b");
    fs::create_directory_symlink(root_ / "a", root_ / "link");
    UniqueFd root(::open(root_.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    EXPECT_TRUE(openBeneathByWalking(root.get(), "a/b", O_DIRECTORY | O_RDONLY).valid());
    EXPECT_TRUE(openBeneathByWalking(root.get(), ".", O_DIRECTORY | O_RDONLY).valid());
    errno = 0;
    EXPECT_FALSE(openBeneathByWalking(root.get(), "link/b", O_DIRECTORY | O_RDONLY).valid());
    EXPECT_EQ(errno, ELOOP);
    EXPECT_FALSE(openBeneathByWalking(root.get(), "link", O_DIRECTORY | O_RDONLY).valid());
    EXPECT_FALSE(openBeneathByWalking(root.get(), "a/../../etc", O_DIRECTORY | O_RDONLY).valid());
    EXPECT_EQ(errno, EXDEV);
}

}  // namespace
}  // namespace ringlog
