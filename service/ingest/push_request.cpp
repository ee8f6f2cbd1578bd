#include "service/ingest/push_request.h"

#include <cstring>

#include "service/ingest/attach_request.h"
#include "service/ingest/framer.h"

namespace ringlog {

namespace {

Error bad(std::string message) {
    return Error{RINGLOG_STATUS_BAD_REQUEST, std::move(message)};
}

// Collects what the framer makes, for the container to push all at once or not at all.
class Collect final : public RecordSink {
  public:
    explicit Collect(std::vector<PushedRecord>& out) : out_(out) {}
    bool push(Stream, std::string_view message, uint8_t flags, uint32_t partial_ordinal,
              uint64_t& partial_id) override {
        out_.push_back({message, flags, partial_ordinal});
        partial_id = 1;  // a placeholder: the container names groups by their first sequence
        return true;
    }

  private:
    std::vector<PushedRecord>& out_;
};

}  // namespace

uint64_t PushRequest::inputBytes() const {
    uint64_t n = 0;
    for (auto line : lines)
        n += line.size() + 1;
    return n;
}

std::optional<Error> decodePushRequest(std::string_view d, PushRequest& req) {
    req.id.clear();
    req.stream = Stream::kStdout;
    req.lines.clear();
    auto header = decodeRequestHeader(d);
    if (!header)
        return header.error();
    if (header->type != RINGLOG_MSG_PUSH)
        return Error{RINGLOG_STATUS_UNSUPPORTED,
                     "message type " + std::to_string(header->type) + " is not a push"};
    bool have_id = false, have_stream = false;
    RequestFields fields(d);
    uint16_t tag = 0;
    std::string_view value;
    for (;;) {
        auto more = fields.next(tag, value);
        if (!more)
            return more.error();
        if (!*more)
            break;
        switch (tag) {
            case RINGLOG_FIELD_ID:
                if (have_id)
                    return bad("container id is given twice");
                have_id = true;
                if (auto problem = checkContainerId(value))
                    return invalid(*problem);
                req.id = value;
                break;
            case RINGLOG_FIELD_STREAM:
                if (have_stream)
                    return bad("stream is given twice");
                have_stream = true;
                if (value == "stderr")
                    req.stream = Stream::kStderr;
                else if (value != "stdout")
                    return invalid("stream \"" + printableValue(value) +
                                   "\" is not stdout or stderr");
                break;
            case RINGLOG_FIELD_LINE:
                if (!value.empty() && value.back() == '\n')
                    value.remove_suffix(1);
                req.lines.push_back(value);
                break;
            default:
                return bad("field tag " + std::to_string(tag) +
                           " is not one of a push (id, stream, line)");
        }
    }
    if (!have_id)
        return invalid("container id is missing");
    return std::nullopt;
}

uint64_t framePushedLines(const std::vector<std::string_view>& lines, uint32_t max_line,
                          std::string& scratch, std::vector<PushedRecord>& records) {
    records.clear();
    scratch.clear();
    size_t total = 0;
    for (auto line : lines)
        total += line.size() + 1;
    scratch.reserve(total);  // never moves while records point into it
    Collect collect(records);
    Framer framer(collect, Stream::kStdout, max_line);
    for (auto line : lines) {
        // Most lines are one record, the line itself: no copy. The others, as a pipe's.
        if (line.size() < max_line && std::memchr(line.data(), '\n', line.size()) == nullptr) {
            records.push_back({line, kRecordNewline, 0});
            continue;
        }
        size_t at = scratch.size();
        scratch.append(line);
        scratch.push_back('\n');
        bool refused = false;
        // It ends with '\n': all of it is framed.
        framer.frameComplete(std::string_view(scratch).substr(at), refused);
    }
    return framer.takeLinesSplit();
}

}  // namespace ringlog
