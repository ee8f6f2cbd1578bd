// Record: one framed line (or one part of a split line) as it travels ingest → ring → driver.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringlog {

enum class Stream : uint8_t { kStdout = 1, kStderr = 2 };

inline const char* streamName(Stream s) {
    return s == Stream::kStderr ? "stderr" : "stdout";
}

enum RecordFlag : uint8_t {
    kRecordNewline = 1,      // the line ended with '\n' (not stored in the message bytes)
    kRecordPartial = 2,      // one part of a line split at max-line, or a last line without '\n'
    kRecordPartialLast = 4,  // the final part of a partial group
};

// How a record sits in a ring cell: this header, then `length` message bytes, padded to 8.
// The layout is part of the ring's memfd format (docs/ARCHITECTURE.md): change it only with
// RingLog::kFormatVersion.
struct RecordHeader {
    uint32_t length;
    uint8_t stream;
    uint8_t flags;
    // 0: the container's pipes; n: the container's n-th log file (docs/log-files.md). Was a
    // reserved 0 before log files, so rings of earlier instances read as piped records.
    uint16_t source;
    uint32_t partial_ordinal;  // 1-based position within a partial group, 0 for a whole line
    // Piped records: the low 32 bits of the stream's ingest ledger after this record. File
    // records: the low 32 bits of the file's offset after this record (docs/log-files.md).
    uint32_t reserved2;
    int64_t time_ns;      // CLOCK_REALTIME when the line was read
    uint64_t sequence;    // per container, shared by stdout and stderr
    uint64_t partial_id;  // sequence of the group's first part, 0 for a whole line
};
static_assert(sizeof(RecordHeader) == 40);

// RecordHeader::source of a record pushed over the ingest socket (docs/protocol.md, "Push"):
// neither the pipes' (their ingest ledger and split lines are not its business) nor a log file's.
inline constexpr uint16_t kSourcePushed = UINT16_MAX;

// A record as drivers see it: a view into ring memory, valid for the duration of one write().
struct RecordView {
    Stream stream = Stream::kStdout;
    uint8_t flags = 0;
    uint32_t partial_ordinal = 0;
    int64_t time_ns = 0;
    uint64_t sequence = 0;
    uint64_t partial_id = 0;
    uint16_t source = 0;       // see RecordHeader::source
    std::string_view message;  // without the trailing '\n'
    // The log file the line was read from, relative to its log directory; empty for piped
    // records. Points into the container's table of files, valid as long as the container.
    std::string_view file;

    bool newline() const { return flags & kRecordNewline; }
    bool partial() const { return flags & kRecordPartial; }
    bool partialLast() const { return flags & kRecordPartialLast; }
};

// Lines and bytes lost in non-blocking mode before a record: drivers mark the record with it.
struct DropCount {
    uint64_t lines = 0;
    uint64_t bytes = 0;
    bool any() const { return lines != 0 || bytes != 0; }
};

}  // namespace ringlog
