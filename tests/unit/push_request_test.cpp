// The push request (docs/protocol.md, "Push"): what libringlog-client encodes, the daemon
// decodes; what it refuses; and how pushed lines become records, exactly as piped lines do.
#include "service/ingest/push_request.h"

#include <gtest/gtest.h>

#include "ringlog/client.h"
#include "service/ingest/attach_request.h"
#include "service/ingest/framer.h"

namespace ringlog {
namespace {

std::string encode(const char* id, const char* stream, std::vector<const char*> lines,
                   const size_t* lengths = nullptr) {
    std::string buf(RINGLOG_MAX_REQUEST_BYTES, '\0');
    long n = ringlog_push_encode(id, stream, lines.data(), lengths, lines.size(),
                                 reinterpret_cast<unsigned char*>(buf.data()), buf.size());
    EXPECT_GT(n, 0);
    buf.resize(static_cast<size_t>(std::max(n, 0L)));
    return buf;
}

const std::string kId = "4f2c0e1d2b3a4f2c0e1d2b3a";

TEST(PushRequest, RoundTripsFromTheClientLibrary) {
    // The request's lines are views into the datagram: it must outlive them.
    std::string d = encode(kId.c_str(), "stderr", {"one", "two\n", "", "four"});
    PushRequest req;
    auto e = decodePushRequest(d, req);
    ASSERT_FALSE(e) << e->message;
    EXPECT_EQ(req.id, kId);
    EXPECT_EQ(req.stream, Stream::kStderr);
    EXPECT_EQ(req.lines, (std::vector<std::string_view>{"one", "two", "", "four"}))
        << "one '\\n' at a line's end is its end, not a part of it";
    EXPECT_EQ(req.inputBytes(), 4u + 4 + 1 + 5);
}

TEST(PushRequest, TheStreamIsStdoutUnlessSaidAndLinesMayHoldAnyByte) {
    const char* lines[] = {"a\0b", "\r\xff"};
    size_t lengths[] = {3, 2};
    std::string d = encode(kId.c_str(), nullptr, {lines[0], lines[1]}, lengths);
    PushRequest req;
    ASSERT_FALSE(decodePushRequest(d, req));
    EXPECT_EQ(req.stream, Stream::kStdout);
    ASSERT_EQ(req.lines.size(), 2u);
    EXPECT_EQ(req.lines[0], std::string_view("a\0b", 3));
    EXPECT_EQ(req.lines[1], "\r\xff");
    // Zero lines: a push that takes nothing (a client may ask whether it may push).
    std::string none = encode(kId.c_str(), "stdout", {});
    ASSERT_FALSE(decodePushRequest(none, req));
    EXPECT_TRUE(req.lines.empty());
}

TEST(PushRequest, RefusesWhatIsNotAPushOfVersionTwo) {
    PushRequest req;
    std::string d = encode(kId.c_str(), "stdout", {"x"});
    d[4] = 1;  // version 1 has no push
    auto e = decodePushRequest(d, req);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->status, RINGLOG_STATUS_UNSUPPORTED);
    EXPECT_EQ(e->message,
              "message type 2 (push) needs protocol version 2, the request is of version 1");
    d[4] = 3;
    EXPECT_EQ(decodePushRequest(d, req)->status, RINGLOG_STATUS_UNSUPPORTED);

    // An attach is not a push, and a push is not an attach.
    ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = kId.c_str();
    std::string attach(RINGLOG_MAX_REQUEST_BYTES, '\0');
    attach.resize(static_cast<size_t>(
        ringlog_attach_encode(&a, reinterpret_cast<unsigned char*>(attach.data()), attach.size())));
    EXPECT_EQ(decodePushRequest(attach, req)->message, "message type 1 is not a push");
    EXPECT_EQ(decodeAttachRequest(encode(kId.c_str(), "stdout", {"x"})).error().message,
              "message type 2 is not an attach");
}

// Appends one field to a datagram.
void field(std::string& d, uint16_t tag, std::string_view value) {
    char h[8] = {static_cast<char>(tag & 0xff), static_cast<char>(tag >> 8), 0, 0, 0, 0, 0, 0};
    uint32_t len = static_cast<uint32_t>(value.size());
    for (int i = 0; i < 4; ++i)
        h[4 + i] = static_cast<char>((len >> (8 * i)) & 0xff);
    d.append(h, 8);
    d.append(value);
}

TEST(PushRequest, RefusesABadOrMissingIdAStrangeStreamAndFieldsOfAnAttach) {
    std::string header = encode(kId.c_str(), nullptr, {}).substr(0, 8);
    auto refusal = [&](std::initializer_list<std::pair<uint16_t, std::string_view>> fields) {
        std::string d = header;
        for (auto [tag, value] : fields)
            field(d, tag, value);
        PushRequest req;
        auto e = decodePushRequest(d, req);
        return e ? std::to_string(e->status) + " " + e->message : std::string("accepted");
    };
    EXPECT_EQ(refusal({{RINGLOG_FIELD_LINE, "x"}}), "4 container id is missing");
    EXPECT_EQ(refusal({{RINGLOG_FIELD_ID, "../etc"}}),
              "4 container id \"../etc\" has a character other than letters, digits, '_', '-', "
              "'.'");
    EXPECT_EQ(refusal({{RINGLOG_FIELD_ID, kId}, {RINGLOG_FIELD_ID, kId}}),
              "1 container id is given twice");
    EXPECT_EQ(refusal({{RINGLOG_FIELD_ID, kId}, {RINGLOG_FIELD_STREAM, "tty"}}),
              "4 stream \"tty\" is not stdout or stderr");
    EXPECT_EQ(refusal({{RINGLOG_FIELD_ID, kId},
                       {RINGLOG_FIELD_STREAM, "stdout"},
                       {RINGLOG_FIELD_STREAM, "stderr"}}),
              "1 stream is given twice");
    EXPECT_EQ(refusal({{RINGLOG_FIELD_ID, kId}, {RINGLOG_FIELD_NAME, "web"}}),
              "1 field tag 2 is not one of a push (id, stream, line)");
    EXPECT_EQ(refusal({{RINGLOG_FIELD_ID, kId}, {RINGLOG_FIELD_PUSH_ONLY, "true"}}),
              "1 field tag 10 is not one of a push (id, stream, line)");
    EXPECT_EQ(refusal({{RINGLOG_FIELD_ID, kId}}), "accepted");
    std::string cut = header;
    field(cut, RINGLOG_FIELD_ID, kId);
    cut.resize(cut.size() - 1);
    PushRequest req;
    EXPECT_EQ(decodePushRequest(cut, req)->message,
              "field at byte 8 runs past the end of the request");
}

TEST(PushRequest, TheClientSaysWhenTheLinesDoNotFitOneRequest) {
    std::string big(RINGLOG_MAX_REQUEST_BYTES, 'x');
    const char* lines[] = {big.c_str()};
    unsigned char buf[RINGLOG_MAX_REQUEST_BYTES];
    EXPECT_EQ(ringlog_push_encode(kId.c_str(), nullptr, lines, nullptr, 1, buf, sizeof buf),
              -EMSGSIZE);
    // The largest line that fits: the header, the id field, one line field.
    size_t most = RINGLOG_MAX_REQUEST_BYTES - 8 - (8 + kId.size()) - 8;
    size_t lengths[] = {most};
    EXPECT_EQ(ringlog_push_encode(kId.c_str(), nullptr, lines, lengths, 1, buf, sizeof buf),
              RINGLOG_MAX_REQUEST_BYTES);
    lengths[0] = most + 1;
    EXPECT_EQ(ringlog_push_encode(kId.c_str(), nullptr, lines, lengths, 1, buf, sizeof buf),
              -EMSGSIZE);
}

// What a pipe's framer makes of the same bytes, each line with its '\n'.
struct Piped final : RecordSink {
    bool push(Stream, std::string_view message, uint8_t flags, uint32_t partial_ordinal,
              uint64_t& partial_id) override {
        records.push_back({std::string(message), flags, partial_ordinal});
        partial_id = 1;
        return true;
    }
    struct Record {
        std::string message;
        uint8_t flags;
        uint32_t ordinal;
        bool operator==(const Record&) const = default;
    };
    std::vector<Record> records;
};

TEST(PushRequest, LinesAreFramedAsTheSameBytesThroughAPipeWouldBe) {
    constexpr uint32_t kMaxLine = 16;
    std::string exactly(kMaxLine, 'e'), longer(40, 'l');
    std::vector<std::string_view> lines{"short", "", "two\nlines", exactly, longer};
    std::string scratch;
    std::vector<PushedRecord> records;
    uint64_t split = framePushedLines(lines, kMaxLine, scratch, records);

    Piped piped;
    Framer framer(piped, Stream::kStdout, kMaxLine);
    std::string bytes;
    for (auto l : lines)
        bytes.append(l).push_back('\n');
    ASSERT_TRUE(framer.feed(bytes));
    EXPECT_EQ(split, framer.takeLinesSplit());
    EXPECT_EQ(split, 2u) << "the line of exactly max-line bytes and the longer one";

    std::vector<Piped::Record> pushed;
    for (const auto& r : records)
        pushed.push_back({std::string(r.message), r.flags, r.partial_ordinal});
    EXPECT_EQ(pushed, piped.records);
    ASSERT_EQ(pushed.size(), 9u);
    EXPECT_EQ(pushed[2], (Piped::Record{"two", kRecordNewline, 0}));
    EXPECT_EQ(pushed[3], (Piped::Record{"lines", kRecordNewline, 0}));
    EXPECT_EQ(pushed[8], (Piped::Record{std::string(8, 'l'),
                                        kRecordNewline | kRecordPartial | kRecordPartialLast, 3}));
}

}  // namespace
}  // namespace ringlog
