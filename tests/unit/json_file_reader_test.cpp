#include "drivers/json_file/json_file_reader.h"
#include "drivers/registry.h"
#include "service/base/units.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "drivers/json_file/json_file_driver.h"
#include "service/container/task_queue.h"

namespace ringlog {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kSecond = 1'000'000'000;

// Writes `count` records through the real json-file driver: record i at kT0 + i seconds,
// "line-<i>", stdout for even i and stderr for odd i.
class ReaderTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("ringlog-rd-" + std::to_string(getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    void TearDown() override { fs::remove_all(root_); }

    void write(int count, KeyValues opts = {}) {
        TaskQueue background;
        DriverEnvironment env{root_.string(), {root_.string()}, &background};
        auto o = validateOptions(*findDriver("json-file"), {}, opts);
        ASSERT_TRUE(o.ok());
        auto d = JsonFileDriver::create(ContainerInfo{"c", "", "", {}, {}}, *o, env);
        ASSERT_TRUE(d.ok()) << d.error().message;
        for (int i = 0; i < count; ++i) {
            std::string msg = "line-" + std::to_string(i);
            RecordView v;
            v.stream = i % 2 ? Stream::kStderr : Stream::kStdout;
            v.flags = kRecordNewline;
            v.time_ns = kT0 + i * kSecond;
            v.message = msg;
            std::vector<RecordView> one = {v};
            ASSERT_EQ((*d)->write(one, {}).status, WriteStatus::kOk);
        }
        (*d)->close();
        background.drain();
    }

    std::vector<std::string> read(ReadFilter filter) {
        auto r = JsonFileReader::open(root_ / "c" / "c-json.log", filter);
        EXPECT_TRUE(r.ok());
        std::vector<std::string> out;
        StoredRecord rec;
        for (;;) {
            auto more = (*r)->next(rec);
            EXPECT_TRUE(more.ok());
            if (!more.ok() || !*more)
                break;
            out.push_back(rec.message);
        }
        return out;
    }

    static std::vector<std::string> lines(int from, int to, int step = 1) {
        std::vector<std::string> out;
        for (int i = from; i < to; i += step)
            out.push_back("line-" + std::to_string(i));
        return out;
    }

    fs::path root_;
};

TEST(JsonFileLine, DecodesDockersRecord) {
    auto r = parseJsonFileLine(
        R"({"log":"a\u003cb\u0000\ufffd\n","stream":"stderr","attrs":{"tag":"x"},"time":"2023-11-14T22:13:20.5Z"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->message, std::string("a<b\0\xef\xbf\xbd", 7));
    EXPECT_TRUE(r->newline);
    EXPECT_EQ(r->stream, Stream::kStderr);
    EXPECT_EQ(r->attrs, R"({"tag":"x"})");
    EXPECT_EQ(r->time_ns, kT0 + kSecond / 2);
}

TEST(JsonFileLine, APartialRecordHasNoNewline) {
    auto r = parseJsonFileLine(R"({"log":"cut","stream":"stdout","time":"2023-11-14T22:13:20Z"})");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->newline);
}

constexpr std::string_view kTime = R"("time":"2023-11-14T22:13:20Z")";

std::string withTime(std::string_view fields) {
    return "{" + std::string(fields) + std::string(kTime) + "}";
}

TEST(JsonFileLine, ATruncatedRecordIsNotARecord) {
    std::string whole = withTime(R"("log":"a\n","stream":"stdout",)");
    ASSERT_TRUE(parseJsonFileLine(whole).ok());
    // Cut anywhere: inside a key, a value, an escape, before the closing brace.
    for (size_t cut = 0; cut < whole.size(); ++cut)
        EXPECT_FALSE(parseJsonFileLine(std::string_view(whole).substr(0, cut)).ok()) << cut;
}

TEST(JsonFileLine, GarbageIsNotARecord) {
    for (std::string_view line : {"garbage", "", "[1,2]", "\"log\"", "{}", R"({"log":"x"})",
                                  R"({"log":"x","time":"yesterday"})", R"({"log":"x","time":5})",
                                  R"({"log":"\x","time":"2023-11-14T22:13:20Z"})",
                                  R"({"log":"\u12","time":"2023-11-14T22:13:20Z"})",
                                  R"({log:"x","time":"2023-11-14T22:13:20Z"})",
                                  R"({"log" "x","time":"2023-11-14T22:13:20Z"})",
                                  R"({"log":"x",,"time":"2023-11-14T22:13:20Z"})"})
        EXPECT_FALSE(parseJsonFileLine(line).ok()) << line;
}

TEST(JsonFileLine, DecodesEscapedKeysSurrogatePairsAndShortEscapes) {
    auto r = parseJsonFileLine(withTime(R"("l\u006fg":"\ud83d\ude00\u00e9\/\b\f\t\r\"\\",)"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->message, "\xf0\x9f\x98\x80\xc3\xa9/\b\f\t\r\"\\");
}

// Docker never writes them (its encoder escapes control bytes and replaces invalid UTF-8 with
// \ufffd), but a hand-edited log may hold raw bytes: the record is kept, its bytes as they are.
// A strict JSON parser (simdjson validates UTF-8 first) would drop the whole line instead.
TEST(JsonFileLine, KeepsARecordWhoseBytesAreNotUtf8) {
    auto r = parseJsonFileLine(withTime("\"log\":\"caf\xe9 \x01\",\"stream\":\"stderr\","));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->message, "caf\xe9 \x01");
    EXPECT_EQ(r->stream, Stream::kStderr);
    auto lone = parseJsonFileLine(withTime(R"("log":"\ud83dx",)"));
    ASSERT_TRUE(lone.ok());
    EXPECT_EQ(lone->message, "\xed\xa0\xbdx");  // the lone surrogate as WTF-8
}

TEST(JsonFileLine, KeepsAttrsAsDockerWritesThemAndSkipsFieldsItDoesNotKnow) {
    auto r = parseJsonFileLine(withTime(
        R"( "x" : {"a":[1,{"b":null}]}, "log":"m", "attrs" : { "tag" : "<x\u003e" , "e":""} , "y":-1.5e3,"z":true,)"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->message, "m");
    EXPECT_EQ(r->attrs, R"({"tag":"\u003cx\u003e","e":""})");
    EXPECT_EQ(r->time_ns, kT0);
}

// attrs go into every query's JSON as they are read: a hand-edited or damaged log must not put
// invalid JSON (or JSON of another shape) there. docker's attrs are an object of strings; any
// other value is dropped, and the record is kept, as the decoder keeps records with raw bytes.
TEST(JsonFileLine, AttrsThatAreNotAnObjectOfStringsAreDroppedAndTheRecordKept) {
    for (std::string_view attrs :
         {R"({])", R"({"a":1})", R"({"a" "b"})", R"({"a":"b",})", R"({"a":"b"]})", R"([1])",
          R"({"a":{"b":"c"}})", R"({"a":"b" "c":"d"})", R"({"a":nul})", R"(true)", R"(null)",
          R"({"a":"\x"})", R"({,})", R"({"a":"b"}})"}) {
        std::string line = withTime(R"("log":"m\n","attrs":)" + std::string(attrs) + ",");
        auto r = parseJsonFileLine(line);
        if (!r.ok())
            continue;  // the line itself does not parse (the damage reaches past attrs)
        EXPECT_EQ(r->message, "m") << line;
        EXPECT_EQ(r->attrs, "") << line;
    }
    // Raw bytes that are not UTF-8 come out as docker's encoder writes them: valid JSON.
    auto raw = parseJsonFileLine(withTime("\"log\":\"m\",\"attrs\":{\"k\":\"caf\xe9\"},"));
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw->attrs, R"({"k":"caf\ufffd"})");
    auto empty = parseJsonFileLine(withTime(R"("log":"m","attrs":{ },)"));
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(empty->attrs, "{}");
}

TEST(JsonFileLine, AcceptsSurroundingWhitespaceAndACarriageReturn) {
    EXPECT_TRUE(parseJsonFileLine(" \t" + withTime(R"( "log" : "m" , )") + " \r").ok());
}

TEST(Rfc3339, ParsesNanosecondsAndOffsets) {
    EXPECT_EQ(parseRfc3339("2023-11-14T22:13:20.000000001Z"), kT0 + 1);
    EXPECT_EQ(parseRfc3339("2023-11-15T00:13:20+02:00"), kT0);
    EXPECT_FALSE(parseRfc3339("2023-11-14 garbage").has_value());
}

// Found by the json_file_reader fuzzer: a time after 2262 (or before 1677) overflowed the
// nanoseconds (UBSan) and wrapped to some other time; it is no time a log holds, and refused.
TEST(Rfc3339, TimesBeyondWhatNanosecondsSinceTheEpochHoldAreRefused) {
    EXPECT_EQ(parseRfc3339("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
    EXPECT_EQ(parseRfc3339("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
    EXPECT_FALSE(parseRfc3339("2262-04-11T23:47:16.854775808Z").has_value());
    EXPECT_FALSE(parseRfc3339("1677-09-21T00:12:43.145224191Z").has_value());
    EXPECT_FALSE(parseRfc3339("4047-01-01T00:00:00Z").has_value());
    EXPECT_FALSE(parseRfc3339("0001-01-01T00:00:00+01:00").has_value());
}

TEST_F(ReaderTest, ReadsEverythingInOrder) {
    write(10);
    EXPECT_EQ(read({}), lines(0, 10));
}

// Found by the json_file_reader fuzzer: the largest cursor was taken to "since cursor + 1", which
// overflowed (UBSan) and read as the earliest time, so every record came back.
TEST_F(ReaderTest, NothingIsAfterACursorAtTheLastPossibleTime) {
    write(3);
    ReadFilter f;
    f.after_cursor = "9223372036854775807";
    EXPECT_TRUE(read(f).empty());
}

TEST_F(ReaderTest, AMissingLogIsEmpty) {
    EXPECT_TRUE(read({}).empty());
}

TEST_F(ReaderTest, TailGivesTheLastRecords) {
    write(1000);
    ReadFilter f;
    f.tail = 3;
    EXPECT_EQ(read(f), lines(997, 1000));
    f.tail = 0;
    EXPECT_TRUE(read(f).empty());
    f.tail = 5000;
    EXPECT_EQ(read(f).size(), 1000u);
}

TEST_F(ReaderTest, TailCountsOnlyTheChosenStream) {
    write(100);
    ReadFilter f;
    f.tail = 3;
    f.stdout_stream = false;
    EXPECT_EQ(read(f), lines(95, 100, 2));
}

TEST_F(ReaderTest, SinceAndUntilAreInclusive) {
    write(100);
    ReadFilter f;
    f.since_ns = kT0 + 10 * kSecond;
    f.until_ns = kT0 + 12 * kSecond;
    EXPECT_EQ(read(f), lines(10, 13));
}

TEST_F(ReaderTest, SinceFindsItsPlaceInALargeFile) {
    write(20000);  // ~1.4 MB: the binary search narrows it down before reading
    ReadFilter f;
    f.since_ns = kT0 + 19990 * kSecond;
    EXPECT_EQ(read(f), lines(19990, 20000));
}

TEST_F(ReaderTest, ReadsAcrossRotatedAndCompressedFiles) {
    write(300, {{"max-size", "2k"}, {"max-file", "5"}, {"compress", "true"}});
    EXPECT_TRUE(fs::exists(root_ / "c" / "c-json.log.4.gz"));
    auto all = read({});
    ASSERT_FALSE(all.empty());
    int first = std::stoi(all.front().substr(5));
    EXPECT_EQ(all, lines(first, 300));
    ReadFilter f;
    f.tail = 100;  // reaches back into the compressed files
    EXPECT_EQ(read(f), lines(200, 300));
    ReadFilter s;
    s.since_ns = kT0 + (first + 5) * kSecond;
    s.until_ns = kT0 + (first + 7) * kSecond;
    EXPECT_EQ(read(s), lines(first + 5, first + 8));
}

TEST_F(ReaderTest, ReadsAcrossPlainRotations) {
    write(300, {{"max-size", "2k"}, {"max-file", "3"}});
    auto all = read({});
    int first = std::stoi(all.front().substr(5));
    EXPECT_EQ(all, lines(first, 300));
    ReadFilter f;
    f.tail = 40;
    EXPECT_EQ(read(f), lines(260, 300));
}

TEST_F(ReaderTest, SkipsLinesThatAreNotRecordsAndATornLastLine) {
    write(3);
    {
        std::ofstream log(root_ / "c" / "c-json.log", std::ios::app | std::ios::binary);
        log << "garbage\n"
            << R"({"log":"torn by a crash","stream":"std)" << '\n'
            << R"({"log":"line-3\n","stream":"stdout","time":"2023-11-14T22:13:23Z"})" << '\n'
            << "\n"
            << R"({"log":"being written\n","stream":"stdout","time":"2023-11-14T22:13:24Z"})";
    }
    EXPECT_EQ(read({}), lines(0, 4));
}

// Found by the json_file_reader fuzzer: `tail` counted a last line without '\n' (being written,
// or torn by a crash) that the forward read then skipped, and gave one record too few.
TEST_F(ReaderTest, TailDoesNotCountALastLineWithoutItsNewline) {
    write(3);
    std::ofstream(root_ / "c" / "c-json.log", std::ios::app | std::ios::binary)
        << R"({"log":"being written\n","stream":"stdout","time":"2023-11-14T22:13:24Z"})";
    ReadFilter f;
    f.tail = 2;
    EXPECT_EQ(read(f), lines(1, 3));
}

}  // namespace
}  // namespace ringlog
