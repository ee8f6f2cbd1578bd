#include "drivers/json_file/json_file_driver.h"
#include "drivers/registry.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "drivers/files/open_beneath.h"
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

// docker's record of record(msg) with its time moved on by `plus` ns.
std::string dockerLine(const std::string& msg, const std::string& time) {
    return "{\"log\":\"" + msg + "\\n\",\"stream\":\"stdout\",\"time\":\"" + time + "\"}\n";
}

// Issue 14: the directory removed (rm -rf) while the driver writes. The next batch went into the
// removed file; it is written again into a recreated directory and file, once, and counted once.
TEST_F(JsonFileDriverTest, ADirectoryRemovedUnderABatchIsRecreatedWithThatBatchInIt) {
    auto d = make({});
    ASSERT_TRUE(d.ok());
    RecordView one = record("one"), two = record("two"), three = record("three"),
               four = record("four");
    two.time_ns += 1;  // the same second: only the check after the write can see the removal
    three.time_ns += 2;
    four.time_ns += 3;
    std::vector<RecordView> first = {one};
    ASSERT_EQ((*d)->write(first, {}).status, WriteStatus::kOk);
    fs::remove_all(root_ / "c0ffee");
    std::vector<RecordView> second = {two, three};
    auto r = (*d)->write(second, {});
    EXPECT_EQ(r.status, WriteStatus::kOk) << r.error;
    EXPECT_EQ(r.records_done, 2u);
    std::vector<RecordView> third = {four};
    ASSERT_EQ((*d)->write(third, {}).status, WriteStatus::kOk);
    (*d)->close();
    EXPECT_EQ(read(root_ / "c0ffee" / "c0ffee-json.log"),
              dockerLine("two", "2023-11-14T22:13:20.500000001Z") +
                  dockerLine("three", "2023-11-14T22:13:20.500000002Z") +
                  dockerLine("four", "2023-11-14T22:13:20.500000003Z"));
    EXPECT_EQ(fs::status(root_ / "c0ffee").permissions() & fs::perms::all,
              fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    EXPECT_EQ((*d)->recordsWritten(), 4u);
}

// Removed between two batches a second apart: the look at the path before writing sees it, and
// the batch goes straight into the recreated file.
TEST_F(JsonFileDriverTest, ADirectoryRemovedBetweenBatchesIsRecreatedBeforeTheNext) {
    auto d = make({});
    ASSERT_TRUE(d.ok());
    RecordView one = record("one"), two = record("two");
    two.time_ns += 1'000'000'000;
    std::vector<RecordView> first = {one}, second = {two};
    ASSERT_EQ((*d)->write(first, {}).status, WriteStatus::kOk);
    fs::remove_all(root_ / "c0ffee");
    ASSERT_EQ((*d)->write(second, {}).status, WriteStatus::kOk);
    (*d)->close();
    EXPECT_EQ(read(root_ / "c0ffee" / "c0ffee-json.log"),
              dockerLine("two", "2023-11-14T22:13:21.5Z"));
}

// Rotation after a recreation renames and creates in the new directory, not the removed one.
TEST_F(JsonFileDriverTest, RotatesInTheRecreatedDirectory) {
    auto d = make({{"max-size", "100"}, {"max-file", "3"}});
    ASSERT_TRUE(d.ok());
    auto write = [&](const std::string& msg) {
        std::vector<RecordView> one = {record(msg)};
        auto r = (*d)->write(one, {});
        ASSERT_EQ(r.status, WriteStatus::kOk) << r.error;
    };
    write("before-0");
    write("before-1");  // the file is now over max-size: the next record rotates first
    fs::remove_all(root_ / "c0ffee");
    for (int i = 0; i < 5; ++i)
        write("after-" + std::to_string(i));
    (*d)->close();
    // after-0 rotated into the new directory (nothing to rotate there), then after-0 and after-1
    // make .2, after-2 and after-3 .1, after-4 the current file: 69-byte records, max-size 100.
    fs::path base = root_ / "c0ffee" / "c0ffee-json.log";
    std::string t = "2023-11-14T22:13:20.5Z";
    EXPECT_EQ(read(base.string() + ".2"), dockerLine("after-0", t) + dockerLine("after-1", t));
    EXPECT_EQ(read(base.string() + ".1"), dockerLine("after-2", t) + dockerLine("after-3", t));
    EXPECT_EQ(read(base), dockerLine("after-4", t));
    EXPECT_FALSE(fs::exists(base.string() + ".3"));
}

// While the directory cannot be recreated (a file where it was), the records are not counted
// as written: they stay in the ring and are offered again, and go in once it can be.
TEST_F(JsonFileDriverTest, WhileTheDirectoryCannotBeRecreatedTheRecordsStayInTheRing) {
    auto d = make({});
    ASSERT_TRUE(d.ok());
    std::vector<RecordView> first = {record("one")}, second = {record("two"), record("three")};
    ASSERT_EQ((*d)->write(first, {}).status, WriteStatus::kOk);
    fs::remove_all(root_ / "c0ffee");
    std::ofstream(root_ / "c0ffee") << "in the way";
    auto r = (*d)->write(second, {});
    EXPECT_EQ(r.status, WriteStatus::kRetry);
    EXPECT_EQ(r.records_done, 0u);
    EXPECT_EQ(r.error, (root_ / "c0ffee" / "c0ffee-json.log").string() +
                           " was removed while being written and cannot be recreated: opening " +
                           (root_ / "c0ffee").string() + ": Not a directory");
    r = (*d)->write(second, {});  // retried: not written to the removed file meanwhile
    EXPECT_EQ(r.status, WriteStatus::kRetry);
    fs::remove(root_ / "c0ffee");
    r = (*d)->write(second, {});
    EXPECT_EQ(r.status, WriteStatus::kOk) << r.error;
    (*d)->close();
    std::string t = "2023-11-14T22:13:20.5Z";
    EXPECT_EQ(read(root_ / "c0ffee" / "c0ffee-json.log"),
              dockerLine("two", t) + dockerLine("three", t));
    EXPECT_EQ((*d)->recordsWritten(), 3u);
}

// A file moved away (an operator's mv, logrotate without copytruncate) is still linked: what went
// into it stays there, and within a second of record time the driver writes at its path again.
TEST_F(JsonFileDriverTest, AFileMovedAwayIsReplacedAtItsPathWithinASecond) {
    auto d = make({});
    ASSERT_TRUE(d.ok());
    RecordView one = record("one"), two = record("two");
    two.time_ns += 1'000'000'000;
    std::vector<RecordView> first = {one}, second = {two};
    ASSERT_EQ((*d)->write(first, {}).status, WriteStatus::kOk);
    fs::path file = root_ / "c0ffee" / "c0ffee-json.log";
    fs::rename(file, file.string() + ".old");
    ASSERT_EQ((*d)->write(second, {}).status, WriteStatus::kOk);
    (*d)->close();
    EXPECT_EQ(read(file.string() + ".old"), dockerLine("one", "2023-11-14T22:13:20.5Z"));
    EXPECT_EQ(read(file), dockerLine("two", "2023-11-14T22:13:21.5Z"));
}

// With `path`, the missing directories below the allowed root are made again, safely: a symlink
// planted in their place is refused as at attach.
TEST_F(JsonFileDriverTest, AnExplicitPathsDirectoriesAreRecreatedUnderTheirRootButNotThroughALink) {
    fs::create_directories(root_ / "engine" / "c0ffee");
    fs::path file = root_ / "engine" / "c0ffee" / "console.log";
    auto d = make({{"path", file.string()}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    std::vector<RecordView> rs = {record("hi")};
    ASSERT_EQ((*d)->write(rs, {}).status, WriteStatus::kOk);
    fs::remove_all(root_ / "engine");
    ASSERT_EQ((*d)->write(rs, {}).status, WriteStatus::kOk);
    EXPECT_EQ(read(file), dockerLine("hi", "2023-11-14T22:13:20.5Z"));

    fs::remove_all(root_ / "engine");
    fs::create_directories(root_ / "elsewhere");
    fs::create_directory_symlink(root_ / "elsewhere", root_ / "engine");
    auto r = (*d)->write(rs, {});
    EXPECT_EQ(r.status, WriteStatus::kRetry);
    EXPECT_NE(r.error.find("opening " + (root_ / "engine").string() + ": refusing a symbolic link"),
              std::string::npos)
        << r.error;
    EXPECT_TRUE(fs::is_empty(root_ / "elsewhere"));
    (*d)->close();
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
