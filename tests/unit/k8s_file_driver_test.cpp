#include "drivers/k8s_file/k8s_file_driver.h"
#include "drivers/registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "service/container/task_queue.h"

namespace ringlog {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr uint32_t kMaxLine = 16 * 1024;

class K8sFileDriverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("ringlog-k8s-" + std::to_string(getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_);
        env_ = {root_.string(), {root_.string()}, &background_};
        info_.id = "c0ffee";
        info_.name = "web";
    }
    void TearDown() override { fs::remove_all(root_); }

    Result<std::unique_ptr<LogDriver>> make(KeyValues opts) {
        auto o = validateOptions(*findDriver("k8s-file"), {}, opts);
        if (!o)
            return o.error();
        return K8sFileDriver::create(info_, *o, env_);
    }

    static std::string read(const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    static RecordView record(std::string_view msg, int64_t time_ns, Stream s = Stream::kStdout,
                             uint8_t flags = kRecordNewline) {
        RecordView v;
        v.stream = s;
        v.flags = flags;
        v.time_ns = time_ns;
        v.message = msg;
        return v;
    }

    fs::path file() const { return root_ / "c0ffee" / "c0ffee.log"; }

    fs::path root_;
    TaskQueue background_;
    DriverEnvironment env_;
    ContainerInfo info_;
};

// tests/golden/expected-k8s-file.log is made by tests/golden/make_golden_k8s.py from the same
// records: keep the two in step.
TEST_F(K8sFileDriverTest, WritesTheCriFormatByteForByteAsTheGoldenFile) {
    const std::string long_line(100 * 1024, 'L');
    std::vector<RecordView> rs = {
        record("plain line", kT0),
        record("err one", kT0 + 500'000'000, Stream::kStderr),
        record("tab\tand \x1b[31mescape and \"quotes\" <&>", kT0 + 123'456'789),
        record("carriage return\r", kT0 + 123'456'790),
        record("", kT0 + 999'999'999),
        record("h\xc3\xa9llo bad\xff utf8", kT0 + 1'000'000'000, Stream::kStderr),
    };
    // The 100 KiB line as the ring hands it over with max-line 16 KiB: parts 1 to 6 cut without
    // '\n', the 7th the last part, with it.
    int64_t t = kT0 + 1'000'000'001;
    uint32_t ordinal = 1;
    for (size_t at = 0; at < long_line.size(); at += kMaxLine, ++ordinal, ++t) {
        bool last = at + kMaxLine >= long_line.size();
        RecordView v =
            record(std::string_view(long_line).substr(at, kMaxLine), t, Stream::kStdout,
                   last ? kRecordNewline | kRecordPartial | kRecordPartialLast : kRecordPartial);
        v.partial_ordinal = ordinal;
        v.sequence = 100 + ordinal;
        v.partial_id = ordinal > 1 ? 101 : 0;
        rs.push_back(v);
    }
    rs.push_back(record("err between", kT0 + 2'000'000'010, Stream::kStderr));
    RecordView no_newline =
        record("no newline at the end", kT0 + 3'000'000'000, Stream::kStdout, kRecordPartial);
    no_newline.partial_ordinal = 1;
    rs.push_back(no_newline);

    auto d = make({});
    ASSERT_TRUE(d.ok()) << d.error().message;
    auto r = (*d)->write(rs, {});
    EXPECT_EQ(r.status, WriteStatus::kOk) << r.error;
    EXPECT_EQ(r.records_done, rs.size());
    (*d)->close();
    std::string golden = read(fs::path(GOLDEN_DIR) / "expected-k8s-file.log");
    ASSERT_FALSE(golden.empty());
    EXPECT_TRUE(read(file()) == golden) << "differs from tests/golden/expected-k8s-file.log";
    EXPECT_EQ(fs::status(file()).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST_F(K8sFileDriverTest, MakesTheDirectoriesOfKubeletsPathUnderAnAllowedRoot) {
    fs::path pods = root_ / "pods";
    fs::create_directories(pods);
    env_.allowed_roots = {pods.string()};
    fs::path path = pods / "default_web-0_1b2c3d" / "nginx" / "0.log";
    auto d = make({{"path", path.string()}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    std::vector<RecordView> rs = {record("hello", kT0)};
    ASSERT_EQ((*d)->write(rs, {}).status, WriteStatus::kOk);
    (*d)->close();
    EXPECT_EQ(read(path), "2023-11-14T22:13:20Z stdout F hello\n");
}

TEST_F(K8sFileDriverTest, RefusesAPathOutsideTheAllowedRootsOrThroughASymlink) {
    fs::path pods = root_ / "pods";
    fs::create_directories(pods / "real");
    env_.allowed_roots = {pods.string()};
    auto outside = make({{"path", (root_ / "elsewhere" / "0.log").string()}});
    ASSERT_FALSE(outside.ok());
    EXPECT_NE(outside.error().message.find("is not under an allowed log root"), std::string::npos);
    auto up = make({{"path", (pods / "a" / ".." / ".." / "x.log").string()}});
    ASSERT_FALSE(up.ok());
    EXPECT_NE(up.error().message.find("leaves"), std::string::npos) << up.error().message;
    fs::create_directory_symlink(root_, pods / "link");
    auto link = make({{"path", (pods / "link" / "0.log").string()}});
    ASSERT_FALSE(link.ok());
    EXPECT_NE(link.error().message.find("symbolic link"), std::string::npos);
    EXPECT_FALSE(fs::exists(root_ / "0.log"));
}

TEST_F(K8sFileDriverTest, RotatesAtMaxSizeKeepingMaxFileFilesAsJsonFile) {
    auto d = make({{"max-size", "100"}, {"max-file", "3"}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    std::vector<std::string> lines;
    for (int i = 0; i < 10; ++i)
        lines.push_back("line-" + std::to_string(i));
    for (size_t i = 0; i < lines.size(); ++i) {
        std::vector<RecordView> one = {record(lines[i], kT0 + static_cast<int64_t>(i))};
        ASSERT_EQ((*d)->write(one, {}).status, WriteStatus::kOk);
    }
    (*d)->close();
    // Lines of 47 bytes (37 for the first, at a whole second): rotated before a line once the
    // file holds >= 100 bytes, so after every third line.
    EXPECT_EQ(fs::file_size(file()), 47u);
    EXPECT_EQ(fs::file_size(file().string() + ".1"), 141u);
    EXPECT_EQ(fs::file_size(file().string() + ".2"), 141u);
    EXPECT_FALSE(fs::exists(file().string() + ".3"));
    EXPECT_EQ(read(file()), "2023-11-14T22:13:20.000000009Z stdout F line-9\n");
}

TEST_F(K8sFileDriverTest, CompressesRotatedFilesOffTheWritePath) {
    auto d = make({{"max-size", "100"}, {"max-file", "3"}, {"compress", "true"}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    for (int i = 0; i < 7; ++i) {
        std::vector<RecordView> one = {record("line", kT0 + i)};
        ASSERT_EQ((*d)->write(one, {}).status, WriteStatus::kOk);
    }
    (*d)->close();
    background_.drain();
    EXPECT_TRUE(fs::exists(file().string() + ".1.gz"));
    EXPECT_TRUE(fs::exists(file().string() + ".2.gz"));
    EXPECT_FALSE(fs::exists(file().string() + ".1"));
}

TEST_F(K8sFileDriverTest, ReopenSendsTheNextLinesToANewFileAtThePathAsKubeletRotates) {
    auto d = make({});
    ASSERT_TRUE(d.ok()) << d.error().message;
    std::vector<RecordView> before = {record("one", kT0 + 1), record("two", kT0 + 2)};
    ASSERT_EQ((*d)->write(before, {}).status, WriteStatus::kOk);
    // kubelet: rename the live file, then ReopenContainerLog.
    fs::path renamed = file().string() + ".20231114-221320";
    fs::rename(file(), renamed);
    std::vector<RecordView> between = {record("three", kT0 + 3)};
    ASSERT_EQ((*d)->write(between, {}).status, WriteStatus::kOk);
    EXPECT_EQ((*d)->reopen(), std::nullopt);
    std::vector<RecordView> after = {record("four", kT0 + 4)};
    ASSERT_EQ((*d)->write(after, {}).status, WriteStatus::kOk);
    (*d)->close();
    EXPECT_EQ(read(renamed),
              "2023-11-14T22:13:20.000000001Z stdout F one\n"
              "2023-11-14T22:13:20.000000002Z stdout F two\n"
              "2023-11-14T22:13:20.000000003Z stdout F three\n");
    EXPECT_EQ(read(file()), "2023-11-14T22:13:20.000000004Z stdout F four\n");
}

TEST_F(K8sFileDriverTest, ReopenWithoutARenameAppendsToTheSameFile) {
    auto d = make({});
    ASSERT_TRUE(d.ok());
    std::vector<RecordView> one = {record("one", kT0 + 1)}, two = {record("two", kT0 + 2)};
    ASSERT_EQ((*d)->write(one, {}).status, WriteStatus::kOk);
    EXPECT_EQ((*d)->reopen(), std::nullopt);
    ASSERT_EQ((*d)->write(two, {}).status, WriteStatus::kOk);
    (*d)->close();
    EXPECT_EQ(read(file()),
              "2023-11-14T22:13:20.000000001Z stdout F one\n"
              "2023-11-14T22:13:20.000000002Z stdout F two\n");
}

TEST_F(K8sFileDriverTest, AfterACrashItCutsATornLineAndSkipsWhatItHadWritten) {
    auto before = make({});
    ASSERT_TRUE(before.ok());
    RecordView one = record("one", kT0 + 1), two = record("two", kT0 + 2),
               three = record("three", kT0 + 3);
    std::vector<RecordView> first = {one, two};
    ASSERT_EQ((*before)->write(first, {}).status, WriteStatus::kOk);
    before->reset();  // killed: never closed, and half a line written after the last one
    std::ofstream(file(), std::ios::app) << "2023-11-14T22:13:20.000000003Z stdout F thr";
    auto after = make({});
    ASSERT_TRUE(after.ok());
    (*after)->resume("");
    std::vector<RecordView> again = {two, three};  // two was written, not retired
    auto r = (*after)->write(again, {});
    EXPECT_EQ(r.status, WriteStatus::kOk);
    EXPECT_EQ(r.records_done, 2u);
    EXPECT_EQ(read(file()),
              "2023-11-14T22:13:20.000000001Z stdout F one\n"
              "2023-11-14T22:13:20.000000002Z stdout F two\n"
              "2023-11-14T22:13:20.000000003Z stdout F three\n");
}

TEST_F(K8sFileDriverTest, RefusesMaxFileWithoutMaxSizeAndCompressWithoutRotation) {
    auto a = make({{"max-file", "3"}});
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.error().message.find("needs max-size"), std::string::npos);
    auto b = make({{"compress", "true"}});
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find("needs max-file"), std::string::npos);
}

}  // namespace
}  // namespace ringlog
