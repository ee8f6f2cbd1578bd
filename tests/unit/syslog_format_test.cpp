#include "drivers/syslog/syslog_format.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "drivers/docker/docker_attrs.h"

namespace ringlog::syslog {
namespace {

constexpr int64_t kNov14 = 1'700'000'000'123'456'789;  // 2023-11-14T22:13:20.123456789Z
constexpr int64_t kNov5 = 1'699'168'089'000'001'000;   // 2023-11-05T07:08:09.000001Z

class SyslogFormat : public ::testing::Test {
  protected:
    void SetUp() override {
        // RFC 3164 stamps are local time, as docker's: the tests' zone is UTC.
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }

    static FormatterConfig config(Format f) {
        FormatterConfig c;
        c.format = f;
        c.facility = 3;
        c.hostname = "host1";
        c.tag = "4f2c9a1b7d3e";
        c.pid = 4242;
        c.container.id = "4f2c9a1b7d3e00000000000000000000000000000000000000000000000000ff";
        c.container.name = "web";
        c.container.image = "nginx:1.25";
        return c;
    }

    static RecordView record(std::string_view msg, Stream s = Stream::kStdout, int64_t t = kNov14) {
        RecordView r;
        r.stream = s;
        r.flags = kRecordNewline;
        r.time_ns = t;
        r.sequence = 7;
        r.message = msg;
        return r;
    }

    static std::string format(FormatterConfig c, const RecordView& r,
                              const DropCount* dropped = nullptr) {
        Formatter f(std::move(c));
        std::string out;
        f.append(out, r, dropped);
        return out;
    }
};

TEST_F(SyslogFormat, DockersDefaultIsRfc3164WithoutHostnameAndEndsWithNewline) {
    EXPECT_EQ(format(config(Format::kDocker), record("hello world")),
              "<30>Nov 14 22:13:20 4f2c9a1b7d3e[4242]: hello world\n");
}

TEST_F(SyslogFormat, Rfc3164HasTheHostnameAndASpacePaddedDay) {
    EXPECT_EQ(format(config(Format::kRfc3164), record("hi", Stream::kStdout, kNov5)),
              "<30>Nov  5 07:08:09 host1 4f2c9a1b7d3e[4242]: hi\n");
}

TEST_F(SyslogFormat, StderrIsSeverityErrAndPriIsFacilityTimesEightPlusSeverity) {
    auto c = config(Format::kDocker);
    c.facility = 23;  // local7
    EXPECT_EQ(format(c, record("oops", Stream::kStderr)),
              "<187>Nov 14 22:13:20 4f2c9a1b7d3e[4242]: oops\n");
    c.facility = 0;  // kern
    EXPECT_EQ(format(c, record("x")).substr(0, 4), "<6>N");
}

TEST_F(SyslogFormat, Rfc5424HasSecondsInUtcTheTagAsAppNameAndMsgIdAndTheContainerInSd) {
    EXPECT_EQ(format(config(Format::kRfc5424), record("hello")),
              "<30>1 2023-11-14T22:13:20Z host1 4f2c9a1b7d3e 4242 4f2c9a1b7d3e "
              "[ringlog@32473 container_id=\"4f2c9a1b7d3e0000000000000000000000000000000000000000"
              "0000000000ff\" container_name=\"web\" image_name=\"nginx:1.25\"] hello\n");
}

TEST_F(SyslogFormat, Rfc5424MicroHasSixFractionDigitsAlways) {
    auto c = config(Format::kRfc5424Micro);
    EXPECT_NE(format(c, record("a")).find(" 2023-11-14T22:13:20.123456Z "), std::string::npos);
    EXPECT_NE(format(c, record("a", Stream::kStdout, kNov5)).find(" 2023-11-05T07:08:09.000001Z "),
              std::string::npos);
}

TEST_F(SyslogFormat, SdValuesEscapeQuoteBackslashAndClosingBracket) {
    auto c = config(Format::kRfc5424);
    c.container.name = R"(a"b\c]d)";
    c.sd_params = {{"com.example.team", "x]y"}, {"bad key=\"]", "v"}};
    std::string out = format(c, record("m"));
    EXPECT_NE(out.find(R"(container_name="a\"b\\c\]d")"), std::string::npos) << out;
    EXPECT_NE(out.find(R"( com.example.team="x\]y")"), std::string::npos) << out;
    EXPECT_NE(out.find(R"( bad_key___="v"] m)"), std::string::npos) << out;
}

TEST_F(SyslogFormat, SdNamesArePrintableAsciiWithoutSeparatorsAndAtMost32Characters) {
    EXPECT_EQ(sdName("LANG"), "LANG");
    EXPECT_EQ(sdName("a b=c]d\"e\tf"), "a_b_c_d_e_f");
    EXPECT_EQ(sdName(std::string(40, 'k')), std::string(32, 'k'));
    EXPECT_EQ(sdName(""), "_");
}

TEST_F(SyslogFormat, PartialRecordsCarryDockersPartialFieldsInSd) {
    auto c = config(Format::kRfc5424);
    RecordView first = record("part one");
    first.flags = kRecordPartial;
    first.partial_id = 7;
    first.partial_ordinal = 1;
    EXPECT_NE(format(c, first).find(" image_name=\"nginx:1.25\" partial_message=\"true\" "
                                    "partial_id=\"7\" partial_ordinal=\"1\" "
                                    "partial_last=\"false\"] part one\n"),
              std::string::npos);
    RecordView last = record("end");
    last.flags = kRecordPartial | kRecordPartialLast;
    last.sequence = 8;
    last.partial_id = 7;
    last.partial_ordinal = 2;
    EXPECT_NE(format(c, last).find(" image_name=\"nginx:1.25\" partial_id=\"7\" "
                                   "partial_ordinal=\"2\" partial_last=\"true\"] end\n"),
              std::string::npos);
}

TEST_F(SyslogFormat, DroppedLinesAreMarkedInSd) {
    DropCount d{3, 300};
    std::string out = format(config(Format::kRfc5424), record("after"), &d);
    EXPECT_NE(out.find(" dropped_lines=\"3\" dropped_bytes=\"300\"] after\n"), std::string::npos);
}

TEST_F(SyslogFormat, Rfc5424HeaderFieldsAreSanitisedAndBounded) {
    auto c = config(Format::kRfc5424);
    c.tag = "my app/" + std::string(60, 'x');
    std::string out = format(c, record("m"));
    std::string app = "my_app/" + std::string(41, 'x');    // 48 characters
    std::string msgid = "my_app/" + std::string(25, 'x');  // 32 characters
    EXPECT_EQ(out.substr(0, out.find(" [")),
              "<30>1 2023-11-14T22:13:20Z host1 " + app + " 4242 " + msgid);
}

TEST_F(SyslogFormat, OctetCountingPrefixesTheLengthAndASpace) {
    std::string out = "x";
    appendOctetCountedFrame(out, "<30>hello\n");
    EXPECT_EQ(out, "x10 <30>hello\n");
}

TEST(SyslogAddress, DefaultsArePortsFor514And6514ForTls) {
    auto a = parseAddress("udp://10.0.0.1");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->transport, Transport::kUdp);
    EXPECT_EQ(a->host, "10.0.0.1");
    EXPECT_EQ(a->port, 514);
    EXPECT_EQ(parseAddress("tcp://logs.example.com")->port, 514);
    EXPECT_EQ(parseAddress("tcp+tls://logs.example.com")->port, 6514);
    EXPECT_EQ(parseAddress("tcp+tls://logs.example.com:1514")->port, 1514);
    auto v6 = parseAddress("tcp://[::1]:601/");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 601);
    EXPECT_TRUE(v6->stream());
}

TEST(SyslogAddress, UnixSocketsTakeAnAbsolutePath) {
    auto a = parseAddress("unix:///dev/log");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->transport, Transport::kUnixStream);
    EXPECT_EQ(a->path, "/dev/log");
    EXPECT_EQ(parseAddress("unixgram:///run/syslog.sock")->transport, Transport::kUnixDgram);
    EXPECT_EQ(parseAddress("")->transport, Transport::kLocal);
}

TEST(SyslogAddress, ABadAddressIsAnErrorNamingTheValue) {
    for (const char* bad : {"localhost:514", "http://host", "tcp://", "tcp://:514", "udp://host:0",
                            "udp://host:70000", "tcp://host:port", "tcp://host:", "tcp://::1:514",
                            "tcp://[::1", "tcp://host/path", "unix://dev/log", "unixgram://"}) {
        auto a = parseAddress(bad);
        ASSERT_FALSE(a.ok()) << bad;
        EXPECT_NE(a.error().message.find(std::string("\"") + bad + "\""), std::string::npos)
            << a.error().message;
        EXPECT_NE(a.error().message.find("syslog-address"), std::string::npos);
    }
}

TEST(SyslogFacility, NamesAsDockersOrNumbersUpTo23) {
    EXPECT_EQ(*parseFacility("daemon"), 3);
    EXPECT_EQ(*parseFacility(""), 3);
    EXPECT_EQ(*parseFacility("kern"), 0);
    EXPECT_EQ(*parseFacility("authpriv"), 10);
    EXPECT_EQ(*parseFacility("local0"), 16);
    EXPECT_EQ(*parseFacility("local7"), 23);
    EXPECT_EQ(*parseFacility("17"), 17);
    for (const char* bad : {"24", "-1", "LOCAL0", "security", "3x"}) {
        auto f = parseFacility(bad);
        ASSERT_FALSE(f.ok()) << bad;
        EXPECT_NE(f.error().message.find(bad), std::string::npos);
    }
}

TEST(SyslogFormatOption, AcceptsDockersFourValues) {
    EXPECT_EQ(*parseFormat(""), Format::kDocker);
    EXPECT_EQ(*parseFormat("rfc3164"), Format::kRfc3164);
    EXPECT_EQ(*parseFormat("rfc5424"), Format::kRfc5424);
    EXPECT_EQ(*parseFormat("rfc5424micro"), Format::kRfc5424Micro);
    EXPECT_FALSE(parseFormat("RFC5424").ok());
}

TEST(SyslogTag, TheTemplateIsDockers) {
    ContainerInfo info;
    info.id = "4f2c9a1b7d3e00000000000000000000000000000000000000000000000000ff";
    info.name = "web";
    info.image = "nginx";
    EXPECT_EQ(*expandTag("{{.ID}}", info), "4f2c9a1b7d3e");
    EXPECT_EQ(*expandTag("docker/{{.Name}}/{{.ImageName}}", info), "docker/web/nginx");
    EXPECT_FALSE(expandTag("{{.Nope}}", info).ok());
}

}  // namespace
}  // namespace ringlog::syslog
