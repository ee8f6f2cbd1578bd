#include "service/ingest/attach_request.h"

#include <gtest/gtest.h>

#include "ringlog/client.h"

namespace ringlog {
namespace {

std::string encode(const ringlog_attach& a) {
    std::string buf(RINGLOG_MAX_REQUEST_BYTES, '\0');
    long n = ringlog_attach_encode(&a, reinterpret_cast<unsigned char*>(buf.data()), buf.size());
    EXPECT_GT(n, 0);
    buf.resize(static_cast<size_t>(n));
    return buf;
}

ringlog_attach basic() {
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = "4f2c0e1d2b3a";
    a.stdout_fd = 0;
    return a;
}

TEST(AttachRequest, RoundTripsEveryFieldFromTheClientLibrary) {
    const char* labels[] = {"app=web", "tier=front", nullptr};
    const char* env[] = {"HOME=/root", nullptr};
    const char* opts[] = {"max-size=10m", "max-file=3", nullptr};
    ringlog_attach a = basic();
    a.name = "web";
    a.image = "nginx:1.25";
    a.labels = labels;
    a.env = env;
    a.driver = "json-file";
    a.log_opts = opts;
    a.mode = "non-blocking";
    a.max_buffer_size = "4m";
    auto r = decodeAttachRequest(encode(a));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->info.id, "4f2c0e1d2b3a");
    EXPECT_EQ(r->info.name, "web");
    EXPECT_EQ(r->info.image, "nginx:1.25");
    EXPECT_EQ(r->info.labels, (KeyValues{{"app", "web"}, {"tier", "front"}}));
    EXPECT_EQ(r->info.env, (KeyValues{{"HOME", "/root"}}));
    ASSERT_EQ(r->drivers.size(), 1u);
    EXPECT_EQ(r->drivers[0].name, "json-file");
    EXPECT_EQ(r->drivers[0].log_opts, (KeyValues{{"max-size", "10m"}, {"max-file", "3"}}));
    EXPECT_EQ(r->mode, "non-blocking");
    EXPECT_EQ(r->max_buffer_size, "4m");
}

TEST(AttachRequest, EachDriverGetsTheOptionsThatFollowIt) {
    // As on the command line: --log-opt mode=blocking --log-driver k8s-file --log-opt path=…
    // --log-driver journald --log-opt tag=web; the first options, before any driver, are the
    // first driver's.
    const char* opts[] = {"mode=blocking", "path=/var/log/pods/a/0.log", "log-driver=journald",
                          "tag=web", nullptr};
    ringlog_attach a = basic();
    a.driver = "k8s-file";
    a.log_opts = opts;
    auto r = decodeAttachRequest(encode(a));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->drivers.size(), 2u);
    EXPECT_EQ(r->drivers[0].name, "k8s-file");
    EXPECT_EQ(r->drivers[0].log_opts,
              (KeyValues{{"mode", "blocking"}, {"path", "/var/log/pods/a/0.log"}}));
    EXPECT_EQ(r->drivers[1].name, "journald");
    EXPECT_EQ(r->drivers[1].log_opts, (KeyValues{{"tag", "web"}}));
}

TEST(AttachRequest, RefusesADriverTwiceAndMoreThanFourDrivers) {
    const char* twice[] = {"log-driver=journald", "log-driver=journald", nullptr};
    ringlog_attach a = basic();
    a.driver = "json-file";
    a.log_opts = twice;
    auto r = decodeAttachRequest(encode(a));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "log driver \"journald\" is given twice");
    const char* five[] = {"log-driver=a", "log-driver=b", "log-driver=c", "log-driver=d", nullptr};
    a.log_opts = five;
    r = decodeAttachRequest(encode(a));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "more than 4 log drivers");
}

TEST(AttachRequest, RefusesGarbageWithABadRequest) {
    auto r = decodeAttachRequest("hello, ringlogd");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, RINGLOG_STATUS_BAD_REQUEST);
    EXPECT_EQ(r.error().message, "not a ringlogd request (bad magic)");
}

TEST(AttachRequest, RefusesAnotherProtocolVersion) {
    std::string d = encode(basic());
    d[4] = 3;
    auto r = decodeAttachRequest(d);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, RINGLOG_STATUS_UNSUPPORTED);
    EXPECT_EQ(r.error().message,
              "protocol version 3 is not supported (this ringlogd speaks versions 1 to 2)");
    d[4] = 0;
    EXPECT_EQ(decodeAttachRequest(d).error().status, RINGLOG_STATUS_UNSUPPORTED);
}

// Version 2 added fields and the push message; an attach of either version is the same attach.
TEST(AttachRequest, TakesVersionOneAndTwo) {
    std::string d = encode(basic());
    for (uint16_t v = 1; v <= 2; ++v) {
        d[4] = static_cast<char>(v);
        auto r = decodeAttachRequest(d);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->version, v);
    }
}

TEST(AttachRequest, RefusesAFieldThatRunsPastTheEnd) {
    std::string d = encode(basic());
    d.resize(d.size() - 3);
    auto r = decodeAttachRequest(d);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("runs past the end"), std::string::npos);
}

TEST(AttachRequest, RefusesUnknownFieldTags) {
    std::string d = encode(basic());
    d += std::string("\x63\x00\x00\x00\x00\x00\x00\x00", 8);
    auto r = decodeAttachRequest(d);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "unknown field tag 99");
}

TEST(AttachRequest, RefusesIdsThatCouldLeaveTheLogDirectory) {
    for (const char* id : {"../etc", "a/b", ".hidden", "..", ""}) {
        EXPECT_TRUE(checkContainerId(id).has_value()) << id;
    }
    EXPECT_TRUE(checkContainerId(std::string("a\0b", 3)).has_value());
    EXPECT_TRUE(checkContainerId(std::string(129, 'a')).has_value());
    EXPECT_FALSE(checkContainerId(std::string(128, 'a')).has_value());
    EXPECT_FALSE(checkContainerId("4f2c0e1d2b3a_web-1.2").has_value());
}

TEST(AttachRequest, RefusesNamesWithSlashesDotsOrControlCharacters) {
    for (const std::string& name :
         std::vector<std::string>{"a/b", "..", "x..y", "tab\there", std::string("n\0", 2)})
        EXPECT_TRUE(checkContainerName(name).has_value()) << name;
    EXPECT_FALSE(checkContainerName("k8s_web_default-1").has_value());
}

TEST(AttachRequest, RefusesAMissingIdAndNamesIt) {
    std::string d = encode(basic()).substr(0, 8);
    auto r = decodeAttachRequest(d);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "container id is missing");
}

TEST(AttachRequest, RefusesMalformedLabels) {
    const char* labels[] = {"novalue", nullptr};
    ringlog_attach a = basic();
    a.labels = labels;
    auto r = decodeAttachRequest(encode(a));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "label \"novalue\" is not key=value");
}

TEST(AttachRequest, ClientLibraryRefusesARequestOverTheSizeLimit) {
    std::string big(70000, 'x');
    ringlog_attach a = basic();
    a.image = big.c_str();
    std::vector<unsigned char> buf(RINGLOG_MAX_REQUEST_BYTES);
    EXPECT_EQ(ringlog_attach_encode(&a, buf.data(), buf.size()), -EMSGSIZE);
}

TEST(AttachReply, CarriesStatusAndMessage) {
    std::string r = encodeReply(RINGLOG_STATUS_BUSY, "container x is attached already");
    ASSERT_EQ(r.size(), 8u + 31);
    EXPECT_EQ(static_cast<unsigned char>(r[6]), RINGLOG_STATUS_BUSY);
    EXPECT_EQ(r.substr(8), "container x is attached already");
}

}  // namespace
}  // namespace ringlog
