#include "service/daemon/config.h"

#include <gtest/gtest.h>

#include "service/base/units.h"

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

// units.RAMInBytes of go-units v0.4.0 (docker 20.10: max-buffer-size), binary units.
TEST(Units, ParseSizeReadsWhatDockersRAMInBytesReads) {
    EXPECT_EQ(parseSize("1.5m"), 1'572'864);
    EXPECT_EQ(parseSize("10 m"), 10'485'760);
    EXPECT_EQ(parseSize("1MiB"), 1'048'576);
    EXPECT_EQ(parseSize("1Mb"), 1'048'576);
    EXPECT_EQ(parseSize("1p"), int64_t{1} << 50);
    EXPECT_EQ(parseSize("0.5k"), 512);
    EXPECT_FALSE(parseSize("8388608t").has_value()) << "2^63 does not fit";
    EXPECT_FALSE(parseSize("10  m").has_value());
}

// units.FromHumanSize of go-units v0.4.0, which docker 20.10's json-file reads max-size with:
// ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$, decimal units, int64(float64 number * unit).
TEST(Units, ParseDecimalSizeReadsMaxSizeAsDockersJsonFileDoes) {
    EXPECT_EQ(parseDecimalSize("1m"), 1'000'000);
    EXPECT_EQ(parseDecimalSize("1.5m"), 1'500'000);
    EXPECT_EQ(parseDecimalSize("10 m"), 10'000'000);
    EXPECT_EQ(parseDecimalSize("1k"), 1'000);
    EXPECT_EQ(parseDecimalSize("1K"), 1'000);
    EXPECT_EQ(parseDecimalSize("100"), 100);
    EXPECT_EQ(parseDecimalSize("1mb"), 1'000'000);
    EXPECT_EQ(parseDecimalSize("1MB"), 1'000'000);
    EXPECT_EQ(parseDecimalSize("1MiB"), 1'000'000) << "FromHumanSize takes the i and ignores it";
    EXPECT_EQ(parseDecimalSize("1 kB"), 1'000);
    EXPECT_EQ(parseDecimalSize("512b"), 512);
    EXPECT_EQ(parseDecimalSize("2g"), 2'000'000'000);
    EXPECT_EQ(parseDecimalSize("1p"), 1'000'000'000'000'000);
    EXPECT_EQ(parseDecimalSize("0.5k"), 500);
    EXPECT_EQ(parseDecimalSize("1.5"), 1) << "truncated, as Go's int64()";
    EXPECT_EQ(parseDecimalSize("8.2m"), 8'199'999) << "8.2 * 1e6 in doubles, truncated";
    EXPECT_EQ(parseDecimalSize("2.01m"), 2'009'999);
    EXPECT_EQ(parseDecimalSize("007k"), 7'000);
    EXPECT_EQ(parseDecimalSize("10 "), 10) << "the regex allows a space and no unit";
    EXPECT_EQ(parseDecimalSize("1i"), 1) << "and an i without a unit";
    for (const char* bad :
         {"", "m", "-1", " 10m", "10m ", "10  m", "1.", ".5m", "1.2.3m", "1x", "1mm", "1bi", "1e3",
          "1,5m", "0x10", "+1m", "1m\n", "9300000000000000000", "9223372036854775808b"})
        EXPECT_FALSE(parseDecimalSize(bad).has_value()) << '"' << bad << '"';
}

}  // namespace
}  // namespace ringlog
