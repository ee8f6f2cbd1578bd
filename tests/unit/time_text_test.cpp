#include "service/base/time_text.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

#include "service/base/units.h"

namespace ringlog {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kMin = 60 * kS, kH = 60 * kMin, kDay = 24 * kH;

// Local time is Europe/Berlin for each test (CET, CEST from the last Sunday of March), whatever
// the machine's; TZ is put back afterwards.
class TimeText : public ::testing::Test {
  protected:
    void SetUp() override {
        if (const char* tz = std::getenv("TZ"))
            saved_ = tz;
        ::setenv("TZ", "Europe/Berlin", 1);
        ::tzset();
    }
    void TearDown() override {
        if (saved_)
            ::setenv("TZ", saved_->c_str(), 1);
        else
            ::unsetenv("TZ");
        ::tzset();
    }
    std::optional<std::string> saved_;
};

// 2026-11-30T02:08:38Z, a Monday; Berlin is at +01:00 then.
constexpr int64_t kNow = 1'796'004'518 * kS;

struct PointCase {
    const char* text;
    int64_t ns;
};

TEST_F(TimeText, ReadsEveryFormOfAPointInTimeExactly) {
    const PointCase cases[] = {
        // RFC 3339 with a zone: docker's json-file times.
        {"2026-11-30T02:08:38Z", 1'796'004'518 * kS},
        {"2026-11-30T02:08:38z", 1'796'004'518 * kS},
        {"2026-11-30T02:08:38.123456789Z", 1'796'004'518 * kS + 123'456'789},
        {"2026-11-30T02:08:38.5Z", 1'796'004'518 * kS + 500'000'000},
        {"2026-11-30T02:08:38+01:00", 1'796'000'918 * kS},
        {"2026-11-30T02:08:38.000000001-05:30", (1'796'004'518 + 5 * 3600 + 1800) * kS + 1},
        {"2026-11-30T02:08Z", 1'796'004'480 * kS},
        {"2026-11-30 02:08:38 UTC", 1'796'004'518 * kS},
        {"2026-11-30 02:08:38Z", 1'796'004'518 * kS},
        // Without a zone: Berlin's local time, as docker and journalctl read it.
        {"2026-11-30T02:08:38", 1'796'000'918 * kS},
        {"2026-11-30T02:08:38.25", 1'796'000'918 * kS + 250'000'000},
        {"2026-11-30T02:08", 1'796'000'880 * kS},
        {"2026-11-30T02", 1'796'000'400 * kS},
        {"2026-11-30 02:08:38", 1'796'000'918 * kS},
        {"2026-07-01T12:00:00", 1'782'900'000 * kS},  // summer: +02:00
        {"2026-11-30", 1'795'993'200 * kS},           // local midnight
        {"  2026-11-30  ", 1'795'993'200 * kS},
        // Unix seconds, exact to the nanosecond (no double in between).
        {"1764468518", 1'764'468'518 * kS},
        {"1764468518.5", 1'764'468'518 * kS + 500'000'000},
        {"1764468518.123456789", 1'764'468'518 * kS + 123'456'789},
        {"@1764468518", 1'764'468'518 * kS},
        {"@1764468518.000000001", 1'764'468'518 * kS + 1},
        {"0", 0},
        // Go's durations before now, as docker; days and weeks as systemd.
        {"10m", kNow - 10 * kMin},
        {"1h30m", kNow - 90 * kMin},
        {"1.5h", kNow - 90 * kMin},
        {"300ms", kNow - 300'000'000},
        {"2h45m30s", kNow - (2 * kH + 45 * kMin + 30 * kS)},
        {"2d", kNow - 2 * kDay},
        {"1w", kNow - 7 * kDay},
        // journalctl's signs and words.
        {"-1h", kNow - kH},
        {"-30min", kNow - 30 * kMin},
        {"+1h", kNow + kH},
        {"now", kNow},
        {"today", 1'795'993'200 * kS},
        {"yesterday", 1'795'906'800 * kS},
        {"tomorrow", 1'796'079'600 * kS},
        {"1 hour ago", kNow - kH},
        {"30 min ago", kNow - 30 * kMin},
        {"2 days ago", kNow - 2 * kDay},
        {"1h ago", kNow - kH},
        {"5s ago", kNow - 5 * kS},
        {"1min 30s ago", kNow - 90 * kS},
    };
    for (const auto& c : cases) {
        auto ns = parseTimePoint(c.text, kNow);
        ASSERT_TRUE(ns) << '"' << c.text << "\": " << ns.error().message;
        EXPECT_EQ(*ns, c.ns) << '"' << c.text << '"';
    }
}

TEST_F(TimeText, ReadsLocalTimesAcrossTheSpringDstChange) {
    // 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST, a day of 23 hours.
    constexpr int64_t noon = 1'774'778'400 * kS;                        // 2026-03-29T12:00:00+02:00
    EXPECT_EQ(*parseTimePoint("today", noon), 1'774'738'800 * kS);      // 00:00+01:00
    EXPECT_EQ(*parseTimePoint("tomorrow", noon), 1'774'821'600 * kS);   // 00:00+02:00
    EXPECT_EQ(*parseTimePoint("yesterday", noon), 1'774'652'400 * kS);  // 00:00+01:00
    EXPECT_EQ(*parseTimePoint("2026-03-29T01:30", noon), (1'774'738'800 + 5400) * kS);
    EXPECT_EQ(*parseTimePoint("2026-03-29T03:30", noon), 1'774'747'800 * kS);
    // 02:30 does not exist that day: moved forward by the gap, to 03:30 CEST.
    EXPECT_EQ(*parseTimePoint("2026-03-29T02:30", noon), 1'774'747'800 * kS);
    // With a zone, TZ plays no part.
    EXPECT_EQ(*parseTimePoint("2026-03-29T02:30:00Z", noon), 1'774'751'400 * kS);
}

TEST_F(TimeText, RefusesWhatIsNotATimeAndListsTheForms) {
    for (const char* bad : {"",
                            "   ",
                            "yesterday-ish",
                            "2026-13-01",
                            "2026-02-30",
                            "2026-11-30T25:00",
                            "2026-11-30T02:08:38+1",
                            "2026-11-30T02:08:38+01:0",
                            "2026-1-30",
                            "2026-11-30T02:08:38Q",
                            "2026-11-30X02:08",
                            "26-11-30",
                            "1764468518.1234567890",
                            "1764468518.",
                            "@",
                            "@-5",
                            "@1h",
                            "1h30",
                            "10 parsecs",
                            "ago",
                            "1 hour  later",
                            "--1h",
                            "+",
                            "1.2.3",
                            "1e9",
                            "99999999999999999999",
                            "9999999h",
                            "2026-11-30T02:08:38.Z",
                            "2026-11-30T02:08:38Z junk"}) {
        auto ns = parseTimePoint(bad, kNow);
        EXPECT_FALSE(ns) << '"' << bad << "\" read as " << (ns ? *ns : 0);
    }
    auto e = parseTimePoint("last tuesday", kNow);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message, std::string("\"last tuesday\" is not a time: use ") + kTimeForms);
}

// Found by the query_options fuzzer: a calendar time whose year nanoseconds since the epoch cannot
// hold (before 1677, after 2262) overflowed inside date::parse (UBSan) and read as another time.
TEST_F(TimeText, ACalendarYearBeyondWhatNanosecondsHoldIsNotATime) {
    for (const char* far : {"1011-03-01T00:00:00Z", "0000-01-01", "1677-12-31T12:00",
                            "2262-01-01T00:00:00+01:00", "9999-12-31 23:59:59 UTC"}) {
        auto ns = parseTimePoint(far, kNow);
        EXPECT_FALSE(ns) << '"' << far << "\" read as " << (ns ? *ns : 0);
    }
    EXPECT_EQ(*parseTimePoint("1678-01-01T00:00:00Z", kNow), -9214560000 * kS);
    EXPECT_EQ(*parseTimePoint("2261-12-31T23:59:59.999999999Z", kNow), 9214646399 * kS + 999999999);
}

// Found by the config and query_options fuzzers: the digits of a long fraction overflowed while
// being read (UBSan), before the number was refused for having more than nine; only the asan
// build's UBSan sees it.
TEST_F(TimeText, AFractionOfManyDigitsIsRefusedWithoutOverflowing) {
    EXPECT_FALSE(parseTimePoint("1764468518.99999999999999999999", kNow));
    EXPECT_FALSE(parseTimeSpanNs("1.99999999999999999999").has_value());
}

// Found by the query_options fuzzer: date::parse took seconds of twelve digits and overflowed
// converting them (UBSan). The time of day is two digits a field, a fraction up to nine.
TEST_F(TimeText, ATimeOfDayWithLongerFieldsIsNotATime) {
    for (const char* bad :
         {"2023-11-14T22:13:204555555211.5+01:00", "2023-11-14T22:13:20.1234567890Z",
          "2026-11-30T2:08", "2026-11-30T02:8:38", "2026-11-30T02:08:038", "2026-11-30T",
          "2026-11-30T02:08:38.5.5"}) {
        auto ns = parseTimePoint(bad, kNow);
        EXPECT_FALSE(ns) << '"' << bad << "\" read as " << (ns ? *ns : 0);
    }
}

struct SpanCase {
    const char* text;
    int64_t ns;
};

TEST_F(TimeText, ReadsTimeSpansAsSystemdAndGoWriteThem) {
    const SpanCase cases[] = {
        {"90", 90 * kS},
        {"0", 0},
        {"1.5", 1'500'000'000},
        {"500ms", 500'000'000},
        {"500msec", 500'000'000},
        {"1h30m", 90 * kMin},
        {"1min 30s", 90 * kS},
        {"1 min 30 s", 90 * kS},
        {"1.5h", 90 * kMin},
        {".5s", 500'000'000},
        {"2d", 2 * kDay},
        {"1w", 7 * kDay},
        {"2 weeks", 14 * kDay},
        {"1M", 2'629'800 * kS},
        {"2months", 2 * 2'629'800 * kS},
        {"1y", 31'557'600 * kS},
        {"1 year", 31'557'600 * kS},
        {"3 hours", 3 * kH},
        {"1hr", kH},
        {"10 seconds", 10 * kS},
        {"1second", kS},
        {"2 minutes", 2 * kMin},
        {"1minute", kMin},
        {"1 day", kDay},
        {"7ns", 7},
        {"7nsec", 7},
        {"3us", 3000},
        {"3usec", 3000},
        {"3\xc2\xb5s", 3000},  // µs
        {"3\xce\xbcs", 3000},  // μs
        {"2h45m30s", 2 * kH + 45 * kMin + 30 * kS},
        {"1.000000001s", kS + 1},
        {"0.1ms", 100'000},
        {" 30s ", 30 * kS},
        {"292y", int64_t{292} * 31'557'600 * kS},
    };
    for (const auto& c : cases) {
        auto ns = parseTimeSpanNs(c.text);
        ASSERT_TRUE(ns) << '"' << c.text << '"';
        EXPECT_EQ(*ns, c.ns) << '"' << c.text << '"';
    }
    for (const char* bad : {"", " ", "s", "h1", "1x", "1 parsec", "-1s", "+1s", "1h30", "1.s5",
                            "1..5s", ".s", "1e3s", "1H", "1S", "1h-30m", "300y", "1h,30m"})
        EXPECT_FALSE(parseTimeSpanNs(bad).has_value()) << '"' << bad << '"';
}

// The settings' durations (stop-timeout) are the same time spans, in milliseconds.
TEST_F(TimeText, ParseDurationMsIsTheSameSpanInMilliseconds) {
    EXPECT_EQ(parseDurationMs("60s"), 60'000);
    EXPECT_EQ(parseDurationMs("2min"), 120'000);
    EXPECT_EQ(parseDurationMs("500ms"), 500);
    EXPECT_EQ(parseDurationMs("90"), 90'000);
    EXPECT_EQ(parseDurationMs("1min 30s"), 90'000);  // refused before the shared parser
    EXPECT_EQ(parseDurationMs("1.5s"), 1'500);       // refused before the shared parser
    EXPECT_EQ(parseDurationMs("1500us"), 1);         // whole milliseconds, rounded down
    EXPECT_FALSE(parseDurationMs("1x").has_value());
    EXPECT_FALSE(parseDurationMs("-1s").has_value());
}

}  // namespace
}  // namespace ringlog
