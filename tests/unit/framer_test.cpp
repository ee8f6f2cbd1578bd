#include "service/ingest/framer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringlog {
namespace {

struct Captured {
    std::string message;
    uint8_t flags;
    uint32_t ordinal;
    uint64_t partial_id;
    bool operator==(const Captured&) const = default;
};

// A sink that records what it gets and can refuse, like a full ring in blocking mode.
class CapturingSink : public RecordSink {
  public:
    bool push(Stream, std::string_view message, uint8_t flags, uint32_t ordinal,
              uint64_t& partial_id) override {
        if (refuse_after >= 0 && static_cast<int>(records.size()) >= refuse_after)
            return false;
        if (ordinal == 1)
            partial_id = ++next_id;
        records.push_back({std::string(message), flags, ordinal, partial_id});
        return true;
    }
    std::vector<Captured> records;
    int refuse_after = -1;
    uint64_t next_id = 100;
};

std::string messages(const std::vector<Captured>& rs) {
    std::string out;
    for (const auto& r : rs)
        out += "[" + r.message + (r.flags & kRecordNewline ? "\\n" : "") + "]";
    return out;
}

TEST(Framer, SplitsAtNewlinesAndKeepsTheIncompleteLineForLater) {
    CapturingSink sink;
    Framer f(sink, Stream::kStdout, 16);
    ASSERT_TRUE(f.feed("one\ntwo\nthr"));
    EXPECT_EQ(messages(sink.records), "[one\\n][two\\n]");
    ASSERT_TRUE(f.feed("ee\n"));
    EXPECT_EQ(messages(sink.records), "[one\\n][two\\n][three\\n]");
    EXPECT_FALSE(f.hasBacklog());
}

TEST(Framer, KeepsEveryByteButTheNewline) {
    CapturingSink sink;
    Framer f(sink, Stream::kStdout, 64);
    std::string raw("a\0b\r\xff\xc3(\n\n", 9);
    ASSERT_TRUE(f.feed(raw));
    ASSERT_EQ(sink.records.size(), 2u);
    EXPECT_EQ(sink.records[0].message, std::string("a\0b\r\xff\xc3(", 7));
    EXPECT_EQ(sink.records[1].message, "");
    EXPECT_EQ(sink.records[1].flags, kRecordNewline);
}

TEST(Framer, CutsALongLineIntoPartialRecordsWithOrdinalsAndALastFlag) {
    CapturingSink sink;
    Framer f(sink, Stream::kStdout, 4);
    ASSERT_TRUE(f.feed("abcdefghij\nxy\n"));
    std::vector<Captured> expected = {
        {"abcd", kRecordPartial, 1, 101},
        {"efgh", kRecordPartial, 2, 101},
        {"ij", kRecordPartial | kRecordPartialLast | kRecordNewline, 3, 101},
        {"xy", kRecordNewline, 0, 0},
    };
    EXPECT_EQ(sink.records, expected);
}

// docker's copier cuts when its max-line buffer fills without a '\n': a line of exactly max-line
// bytes is a full part, and its '\n' comes as an empty last part.
TEST(Framer, ALineOfExactlyMaxLineBytesIsCutBeforeItsNewlineAsDockerCutsIt) {
    CapturingSink sink;
    Framer f(sink, Stream::kStdout, 4);
    ASSERT_TRUE(f.feed("abc\nabcd\nabcde\n"));
    std::vector<Captured> expected = {
        {"abc", kRecordNewline, 0, 0},
        {"abcd", kRecordPartial, 1, 101},
        {"", kRecordPartial | kRecordPartialLast | kRecordNewline, 2, 101},
        {"abcd", kRecordPartial, 1, 102},
        {"e", kRecordPartial | kRecordPartialLast | kRecordNewline, 2, 102},
    };
    EXPECT_EQ(sink.records, expected);
    EXPECT_EQ(f.takeLinesSplit(), 2u);
    EXPECT_EQ(f.takeLinesSplit(), 0u);
}

TEST(Framer, ALongLineArrivingInPiecesIsCutTheSameWay) {
    CapturingSink sink;
    Framer f(sink, Stream::kStdout, 4);
    for (char c : std::string("abcdefghij\n"))
        ASSERT_TRUE(f.feed(std::string(1, c)));
    EXPECT_EQ(messages(sink.records), "[abcd][efgh][ij\\n]");
    EXPECT_EQ(sink.records[2].ordinal, 3u);
}

// As docker's copier at EOF: a partial message that is not the last of its group, so readers do
// not add the '\n' the program never wrote.
TEST(Framer, FlushEmitsALastLineWithoutNewlineAsAPartialThatIsNotLast) {
    CapturingSink sink;
    Framer f(sink, Stream::kStdout, 16);
    ASSERT_TRUE(f.feed("done\nno newline"));
    ASSERT_TRUE(f.flush());
    ASSERT_EQ(sink.records.size(), 2u);
    EXPECT_EQ(sink.records[1], (Captured{"no newline", kRecordPartial, 1, 101}));
    EXPECT_FALSE(f.hasBacklog());
    EXPECT_EQ(f.takeLinesSplit(), 0u);  // not cut at max-line
}

TEST(Framer, FlushAfterACutContinuesTheGroupWithoutALastPart) {
    CapturingSink sink;
    Framer f(sink, Stream::kStdout, 4);
    ASSERT_TRUE(f.feed("abcdef"));
    ASSERT_TRUE(f.flush());
    EXPECT_EQ(sink.records, (std::vector<Captured>{{"abcd", kRecordPartial, 1, 101},
                                                   {"ef", kRecordPartial, 2, 101}}));
}

TEST(Framer, ARefusedRecordIsOfferedAgainAndNothingIsLostOrRepeated) {
    CapturingSink sink;
    sink.refuse_after = 1;
    Framer f(sink, Stream::kStdout, 16);
    EXPECT_FALSE(f.feed("a\nb\nc"));
    EXPECT_FALSE(f.feed("\nd\n"));  // still full: the new bytes are kept too
    sink.refuse_after = -1;
    ASSERT_TRUE(f.feed({}));
    ASSERT_TRUE(f.flush());
    EXPECT_EQ(messages(sink.records), "[a\\n][b\\n][c\\n][d\\n]");
}

TEST(Framer, ARefusedPartialKeepsItsOrdinal) {
    CapturingSink sink;
    Framer f(sink, Stream::kStdout, 2);
    sink.refuse_after = 1;
    EXPECT_FALSE(f.feed("abcdef\n"));
    sink.refuse_after = -1;
    ASSERT_TRUE(f.feed({}));
    EXPECT_EQ(sink.records,
              (std::vector<Captured>{
                  {"ab", kRecordPartial, 1, 101},
                  {"cd", kRecordPartial, 2, 101},
                  {"ef", kRecordPartial, 3, 101},
                  {"", kRecordPartial | kRecordPartialLast | kRecordNewline, 4, 101}}));
    EXPECT_EQ(f.takeLinesSplit(), 1u);
}

}  // namespace
}  // namespace ringlog
