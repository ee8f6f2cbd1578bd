#include "drivers/docker/json_encoding.h"

#include <gtest/gtest.h>

namespace ringlog::json {
namespace {

std::string docker(std::string_view s) {
    std::string out;
    appendDockerString(out, s);
    return out;
}

TEST(DockerJsonString, EscapesQuotesBackslashesAndHtmlCharacters) {
    EXPECT_EQ(docker("a\"b\\c<d>e&f"), R"("a\"b\\c\u003cd\u003ee\u0026f")");
}

TEST(DockerJsonString, UsesShortFormsOnlyForNewlineAndCarriageReturn) {
    EXPECT_EQ(docker(std::string("\n\r\t\0\x1f\b", 6)), R"("\n\r\u0009\u0000\u001f\u0008")");
}

TEST(DockerJsonString, ReplacesEachInvalidUtf8ByteWithReplacementCharacter) {
    EXPECT_EQ(docker("a\xff\xfe"
                     "b"),
              R"("a\ufffd\ufffdb")");
    EXPECT_EQ(docker("\xc3"), R"("\ufffd")");                      // truncated sequence
    EXPECT_EQ(docker("\xc0\xaf"), R"("\ufffd\ufffd")");            // overlong
    EXPECT_EQ(docker("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // surrogate
}

TEST(DockerJsonString, KeepsValidUtf8AndEscapesLineAndParagraphSeparators) {
    EXPECT_EQ(docker("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
              "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
    EXPECT_EQ(docker("\xe2\x80\xa8\xe2\x80\xa9"), R"("\u2028\u2029")");
}

TEST(GoJsonString, UsesGoShortForms) {
    std::string out;
    appendGoString(out, "\t\b\f<");
    EXPECT_EQ(out, R"("\t\b\f\u003c")");
}

TEST(Rfc3339Nano, TrimsTrailingZerosAndDropsAZeroFraction) {
    std::string out;
    appendRfc3339Nano(out, 1'700'000'000'123'400'000);
    EXPECT_EQ(out, "2023-11-14T22:13:20.1234Z");
    out.clear();
    appendRfc3339Nano(out, 1'700'000'000'000'000'000);
    EXPECT_EQ(out, "2023-11-14T22:13:20Z");
    out.clear();
    appendRfc3339Nano(out, 1'700'000'000'000'000'001);
    EXPECT_EQ(out, "2023-11-14T22:13:20.000000001Z");
}

TEST(Attrs, AreSortedByKeyLikeGoMaps) {
    EXPECT_EQ(encodeAttrs({{"tag", "web"}, {"app", "a<b"}}), R"({"app":"a\u003cb","tag":"web"})");
}

}  // namespace
}  // namespace ringlog::json
