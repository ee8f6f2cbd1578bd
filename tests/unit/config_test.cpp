#include "config.h"

#include <gtest/gtest.h>

#include "units.h"

namespace ringlog {
namespace {

TEST(Config, AppliesKeyValueLinesAndIgnoresComments) {
    Settings s;
    auto e = applyConfigText(
        s, "# comment\n; also\n\nsocket = /run/x.sock\nmax-line=64k\nconsumer-threads = 4\n",
        "f.conf");
    ASSERT_FALSE(e.has_value()) << e->message;
    EXPECT_EQ(s.socket, "/run/x.sock");
    EXPECT_EQ(s.max_line, 64u * 1024);
    EXPECT_EQ(s.consumer_threads, 4u);
}

TEST(Config, NamesFileLineAndKeyOfAnUnknownSetting) {
    Settings s;
    auto e =
        applyConfigText(s, "socket = /run/x.sock\nsockt = /run/y\n", "/etc/ringlogd/ringlogd.conf");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "/etc/ringlogd/ringlogd.conf:2: unknown setting \"sockt\"");
}

TEST(Config, RefusesBadValuesWithWhatWasExpected) {
    Settings s;
    auto e = applySetting(s, "default-mode", "sometimes");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "setting default-mode: \"sometimes\" is not blocking or non-blocking");
    EXPECT_TRUE(applySetting(s, "max-line", "10").has_value());
    EXPECT_TRUE(applySetting(s, "log-root", "relative/dir").has_value());
}

TEST(Units, ParsesDockerSizes) {
    EXPECT_EQ(parseSize("1m"), 1 << 20);
    EXPECT_EQ(parseSize("10K"), 10 << 10);
    EXPECT_EQ(parseSize("2gb"), int64_t{2} << 30);
    EXPECT_EQ(parseSize("512"), 512);
    EXPECT_FALSE(parseSize("m").has_value());
    EXPECT_FALSE(parseSize("1x").has_value());
    EXPECT_FALSE(parseSize("-1").has_value());
}

}  // namespace
}  // namespace ringlog
