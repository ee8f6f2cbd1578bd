#include "drivers/k8s_file/k8s_file_reader.h"
#include "drivers/registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "drivers/k8s_file/k8s_file_driver.h"
#include "service/container/task_queue.h"

namespace ringlog {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kSecond = 1'000'000'000;

class K8sFileReaderTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("ringlog-k8r-" + std::to_string(getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_);
        file_ = root_ / "0.log";
    }
    void TearDown() override { fs::remove_all(root_); }

    void writeFile(const fs::path& p, const std::string& text) {
        std::ofstream(p, std::ios::binary) << text;
    }

    // Records as "<stream>:<message>" (a trailing '$' when it ended with a newline), and the
    // cursors the reader gave.
    std::vector<std::string> read(ReadFilter filter, std::vector<int64_t>* times = nullptr) {
        auto r = K8sFileReader::open(file_, filter);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        std::vector<std::string> out;
        if (!r.ok())
            return out;
        StoredRecord rec;
        for (;;) {
            auto more = (*r)->next(rec);
            EXPECT_TRUE(more.ok());
            if (!more.ok() || !*more)
                break;
            out.push_back(std::string(streamName(rec.stream)) + ":" + rec.message +
                          (rec.newline ? "$" : ""));
            if (times != nullptr)
                times->push_back(rec.time_ns);
        }
        return out;
    }

    // A line cut in three parts (stdout), with a whole stderr line between its parts.
    static constexpr const char* kInterleaved =
        "2023-11-14T22:13:20.1Z stdout F first\n"
        "2023-11-14T22:13:20.2Z stdout P aaa\n"
        "2023-11-14T22:13:20.3Z stderr F oops\n"
        "2023-11-14T22:13:20.4Z stdout P bbb\n"
        "2023-11-14T22:13:20.5Z stdout F ccc\n"
        "2023-11-14T22:13:20.6Z stdout F last\n";

    fs::path root_, file_;
};

TEST_F(K8sFileReaderTest, JoinsThePartsOfALineIntoOneRecordTimedByItsLastPart) {
    writeFile(file_, kInterleaved);
    std::vector<int64_t> times;
    EXPECT_EQ(read({}, &times), (std::vector<std::string>{"stdout:first$", "stderr:oops$",
                                                          "stdout:aaabbbccc$", "stdout:last$"}));
    EXPECT_EQ(times, (std::vector<int64_t>{kT0 + 100'000'000, kT0 + 300'000'000, kT0 + 500'000'000,
                                           kT0 + 600'000'000}));
}

TEST_F(K8sFileReaderTest, ALastLineWithoutItsFullPartIsAPartialRecord) {
    writeFile(file_,
              "2023-11-14T22:13:20.1Z stdout F one\n"
              "2023-11-14T22:13:20.2Z stdout P no newline\n"
              "2023-11-14T22:13:20.3Z stdout F torn by han");
    EXPECT_EQ(read({}), (std::vector<std::string>{"stdout:one$", "stdout:no newline"}));
}

TEST_F(K8sFileReaderTest, ReadsConmonsAndContainerdsTimesAndLaterTags) {
    // conmon: nine digits and a numeric offset; containerd: trimmed and Z; a tag with more
    // ':'-separated fields, as kubelet reads it.
    writeFile(file_,
              "2023-11-14T23:13:20.100000000+01:00 stdout F conmon\n"
              "2023-11-14T22:13:20.2Z stderr F containerd\n"
              "2023-11-14T22:13:20.300000000-00:00 stdout P:x par\n"
              "2023-11-14T22:13:20.4Z stdout F:y t\n");
    std::vector<int64_t> times;
    EXPECT_EQ(read({}, &times),
              (std::vector<std::string>{"stdout:conmon$", "stderr:containerd$", "stdout:part$"}));
    EXPECT_EQ(times.front(), kT0 + 100'000'000);
}

TEST_F(K8sFileReaderTest, TailCountsJoinedRecordsAndStartsAtTheFirstPartOfTheOldest) {
    writeFile(file_, kInterleaved);
    ReadFilter two;
    two.tail = 2;
    EXPECT_EQ(read(two), (std::vector<std::string>{"stdout:aaabbbccc$", "stdout:last$"}));
    ReadFilter three;
    three.tail = 3;
    EXPECT_EQ(read(three),
              (std::vector<std::string>{"stderr:oops$", "stdout:aaabbbccc$", "stdout:last$"}));
    ReadFilter many;
    many.tail = 100;
    EXPECT_EQ(read(many).size(), 4u);
    ReadFilter none;
    none.tail = 0;
    EXPECT_TRUE(read(none).empty());
    ReadFilter errors;
    errors.tail = 1;
    errors.stdout_stream = false;
    EXPECT_EQ(read(errors), (std::vector<std::string>{"stderr:oops$"}));
}

TEST_F(K8sFileReaderTest, TailCountsAnUnfinishedLineAsItsLastRecord) {
    writeFile(file_,
              "2023-11-14T22:13:20.1Z stdout F one\n"
              "2023-11-14T22:13:20.2Z stdout F two\n"
              "2023-11-14T22:13:20.3Z stdout P thr\n"
              "2023-11-14T22:13:20.4Z stdout P ee\n");
    ReadFilter two;
    two.tail = 2;
    EXPECT_EQ(read(two), (std::vector<std::string>{"stdout:two$", "stdout:three"}));
}

TEST_F(K8sFileReaderTest, SinceAndUntilApplyToEachPart) {
    writeFile(file_, kInterleaved);
    ReadFilter since;
    since.since_ns = kT0 + 300'000'000;
    EXPECT_EQ(read(since),
              (std::vector<std::string>{"stderr:oops$", "stdout:bbbccc$", "stdout:last$"}));
    ReadFilter until;
    until.until_ns = kT0 + 400'000'000;
    EXPECT_EQ(read(until),
              (std::vector<std::string>{"stdout:first$", "stderr:oops$", "stdout:aaabbb"}));
}

TEST_F(K8sFileReaderTest, ACursorResumesAfterItsRecordWithNothingTwice) {
    writeFile(file_, kInterleaved);
    std::vector<int64_t> times;
    auto all = read({}, &times);
    ASSERT_EQ(all.size(), 4u);
    for (size_t i = 0; i < times.size(); ++i) {
        ReadFilter after;
        after.after_cursor = std::to_string(times[i]);
        EXPECT_EQ(read(after),
                  std::vector<std::string>(all.begin() + static_cast<long>(i) + 1, all.end()));
    }
    ReadFilter bad;
    bad.after_cursor = "x";
    EXPECT_FALSE(K8sFileReader::open(file_, bad).ok());
}

// Found by the k8s_file_reader fuzzer: the largest cursor plus one overflowed (UBSan) into the
// earliest time, and the whole log came back.
TEST_F(K8sFileReaderTest, NothingIsAfterACursorAtTheLastPossibleTime) {
    writeFile(file_, kInterleaved);
    ReadFilter after;
    after.after_cursor = "9223372036854775807";
    EXPECT_TRUE(read(after).empty());
}

TEST_F(K8sFileReaderTest, ACursorOfALineGivenOutUnfinishedResumesWithItsRest) {
    writeFile(file_,
              "2023-11-14T22:13:20.1Z stdout F one\n"
              "2023-11-14T22:13:20.2Z stdout P pro\n"
              "2023-11-14T22:13:20.3Z stdout P mpt> \n");
    std::vector<int64_t> times;
    EXPECT_EQ(read({}, &times), (std::vector<std::string>{"stdout:one$", "stdout:prompt> "}));
    std::ofstream(file_, std::ios::app) << "2023-11-14T22:13:20.4Z stdout F ls\n"
                                        << "2023-11-14T22:13:20.5Z stdout F two\n";
    ReadFilter after;
    after.after_cursor = std::to_string(times.back());
    EXPECT_EQ(read(after), (std::vector<std::string>{"stdout:ls$", "stdout:two$"}));
}

// Through the real driver: rotated files (plain and gzip) read back oldest first; tail and
// since across them.
TEST_F(K8sFileReaderTest, ReadsRotatedFilesPlainAndCompressedInTimeOrder) {
    for (bool compress : {false, true}) {
        SCOPED_TRACE(compress ? "compress" : "plain");
        fs::remove_all(root_ / "c");
        TaskQueue background;
        DriverEnvironment env{root_.string(), {root_.string()}, &background};
        auto o = validateOptions(
            *findDriver("k8s-file"), {},
            {{"max-size", "200"}, {"max-file", "4"}, {"compress", compress ? "true" : "false"}});
        ASSERT_TRUE(o.ok());
        auto d = K8sFileDriver::create(ContainerInfo{"c", "", "", {}, {}}, *o, env);
        ASSERT_TRUE(d.ok()) << d.error().message;
        // 12 lines of 48 bytes, the 5th cut in two parts: 3 files of 4 lines or so.
        std::vector<std::string> expected;
        for (int i = 0; i < 12; ++i) {
            std::string msg = "line-" + std::to_string(i + 10);
            RecordView v;
            v.flags = kRecordNewline;
            v.time_ns = kT0 + i * kSecond;
            v.message = msg;
            std::vector<RecordView> batch = {v};
            if (i == 4) {
                RecordView head = v;
                head.flags = kRecordPartial;
                head.partial_ordinal = 1;
                head.message = "line-";
                head.time_ns -= 1;
                v.flags = kRecordNewline | kRecordPartial | kRecordPartialLast;
                v.partial_ordinal = 2;
                v.message = "14";
                batch = {head, v};
            }
            ASSERT_EQ((*d)->write(batch, {}).status, WriteStatus::kOk);
            expected.push_back("stdout:" + msg + "$");
        }
        (*d)->close();
        background.drain();
        file_ = root_ / "c" / "c.log";
        ASSERT_TRUE(fs::exists(file_.string() + (compress ? ".2.gz" : ".2")));
        EXPECT_EQ(read({}), expected);
        ReadFilter tail;
        tail.tail = 9;
        EXPECT_EQ(read(tail), std::vector<std::string>(expected.begin() + 3, expected.end()));
        ReadFilter since;
        since.since_ns = kT0 + 5 * kSecond;
        EXPECT_EQ(read(since), std::vector<std::string>(expected.begin() + 5, expected.end()));
    }
}

}  // namespace
}  // namespace ringlog
