// Framer: turns the bytes of one stream into records: split at '\n', lines longer than max-line
// cut into partial records, a last line without '\n' flushed as a partial record at EOF.
// Bytes are kept exactly as written (NUL, '\r', invalid UTF-8); only the '\n' becomes a flag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "record.h"

namespace ringlog {

// Where framed records go. push() returns false when the record cannot be taken now (a full ring
// in blocking mode): the framer keeps the bytes and offers the same record again later.
class RecordSink {
  public:
    virtual ~RecordSink() = default;
    virtual bool push(Stream stream, std::string_view message, uint8_t flags,
                      uint32_t partial_ordinal, uint64_t& partial_id) = 0;
};

class Framer {
  public:
    Framer(RecordSink& sink, Stream stream, uint32_t max_line)
        : sink_(&sink), stream_(stream), max_line_(max_line) {}

    // Frames `data` (fresh bytes from the stream). Returns false if the sink refused a record;
    // everything not yet pushed is then kept and retried by the next call (with or without
    // new data).
    bool feed(std::string_view data);
    // At EOF (or shutdown): pushes any incomplete last line as a partial record.
    bool flush();

    // Peek mode (pipes, see pipe_peek.h): the caller leaves bytes not yet framed in the pipe, so
    // the framer keeps none. frameComplete() pushes the complete records (whole lines, and parts
    // of lines longer than max-line) at the start of `data` and returns the bytes they took;
    // pushIncomplete() pushes an incomplete line as a partial record: the last part of its line
    // at end of file (`final`), else a part whose continuation comes later (at shutdown).
    size_t frameComplete(std::string_view data, bool& refused) { return frame(data, refused); }
    bool pushIncomplete(std::string_view rest, bool final);
    // Continues a line split by an earlier process (ProducerState).
    void resumeSplitLine(uint32_t next_ordinal, uint64_t partial_id) {
        next_ordinal_ = next_ordinal;
        partial_id_ = partial_id;
    }

    bool hasBacklog() const { return !backlog_.empty(); }
    Stream stream() const { return stream_; }

  private:
    // Pushes the complete records at the start of `data`; returns bytes consumed, and sets
    // `refused` when the sink said no.
    size_t frame(std::string_view data, bool& refused);
    bool emit(std::string_view message, bool newline, bool cut);

    RecordSink* sink_;
    Stream stream_;
    uint32_t max_line_;
    std::string backlog_;        // bytes read but not yet pushed (an incomplete line, or refused)
    uint32_t next_ordinal_ = 0;  // != 0 while a split line is being emitted
    uint64_t partial_id_ = 0;
};

}  // namespace ringlog
