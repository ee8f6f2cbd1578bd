// Framer: turns the bytes of one stream into records, by docker's copier's rules: split at '\n';
// when max-line bytes hold no '\n', they are cut off as a partial record (so a line of exactly
// max-line bytes is a full part, and its '\n' an empty last part); a last line without '\n' is
// flushed at EOF as a partial record that is not the last of its group (docker's Last=false).
// Bytes are kept exactly as written (NUL, '\r', invalid UTF-8); only the '\n' becomes a flag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "service/base/record.h"

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
    // the framer keeps none. frameComplete() pushes the complete records (whole lines, and
    // max-line parts of longer lines) at the start of `data` and returns the bytes they took:
    // what is left is an incomplete line shorter than max-line. pushIncomplete() pushes such a
    // line as a partial record when nothing will complete it: at end of file (`final`: the group
    // ends with it), else a part whose continuation may come later.
    size_t frameComplete(std::string_view data, bool& refused) { return frame(data, refused); }
    bool pushIncomplete(std::string_view rest, bool final);
    // Lines cut at max-line since the last call (LinesSplit).
    uint64_t takeLinesSplit() { return std::exchange(lines_split_, 0); }
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
    uint64_t lines_split_ = 0;
};

}  // namespace ringlog
