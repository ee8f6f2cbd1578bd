#include "query.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

#include "json_file/json_encoding.h"

namespace ringlog {

namespace {
constexpr size_t kRefillBytes = 256 * 1024;  // per pump(): bounded work for the event loop
}

void appendQueryJson(std::string& out, const StoredRecord& r) {
    out.append("{\"time\":\"");
    json::appendRfc3339Nano(out, r.time_ns);
    out.append("\",\"time_ns\":");
    out.append(std::to_string(r.time_ns));
    out.append(r.stream == Stream::kStderr ? ",\"stream\":\"stderr\"" : ",\"stream\":\"stdout\"");
    out.append(",\"message\":");
    json::appendDockerString(out, r.message);
    out.append(r.newline ? ",\"partial\":false" : ",\"partial\":true");
    if (!r.attrs.empty()) {
        out.append(",\"attrs\":");
        out.append(r.attrs);
    }
    out.append("}\n");
}

QueryStream::QueryStream(std::unique_ptr<LogReader> reader, QueryFormat format, UniqueFd out)
    : reader_(std::move(reader)), format_(format), out_(std::move(out)) {}

bool QueryStream::refill() {
    buffer_.clear();
    sent_ = 0;
    StoredRecord r;
    while (!exhausted_ && buffer_.size() < kRefillBytes) {
        auto more = reader_->next(r);
        if (!more) {
            // Say it in the stream itself: the caller has no other channel once the reply is gone.
            spdlog::warn("query: {}", more.error().message);
            exhausted_ = true;
            break;
        }
        if (!*more) {
            exhausted_ = true;
            break;
        }
        if (format_ == QueryFormat::kJson) {
            appendQueryJson(buffer_, r);
        } else {
            buffer_.append(r.message);
            if (r.newline)
                buffer_.push_back('\n');
        }
    }
    return !buffer_.empty();
}

QueryStream::Progress QueryStream::pump() {
    for (int round = 0; round < 4; ++round) {
        if (sent_ == buffer_.size() && !refill())
            return Progress::kDone;
        while (sent_ < buffer_.size()) {
            ssize_t n = ::write(out_.get(), buffer_.data() + sent_, buffer_.size() - sent_);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                return Progress::kWaitWritable;
            if (n < 0)
                return Progress::kDone;  // the reader went away (EPIPE): nothing more to do
            sent_ += static_cast<size_t>(n);
        }
    }
    return Progress::kWaitWritable;
}

}  // namespace ringlog
