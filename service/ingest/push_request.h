// The push request of protocol version 2 (client/include/ringlog/protocol.h, docs/protocol.md,
// "Push"): records for an attached container sent in the datagram itself, and how its lines
// become records, framed as the same bytes through a pipe would be.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/base/error.h"
#include "service/base/record.h"

namespace ringlog {

struct PushRequest {
    std::string id;
    Stream stream = Stream::kStdout;
    // Views into the datagram, one LINE field each, a trailing '\n' taken off.
    std::vector<std::string_view> lines;

    // The bytes the lines stand for: each with its '\n' (what a push-rate counts).
    uint64_t inputBytes() const;
};

// Decodes a push datagram into `out` (its vector's memory is reused: the daemon decodes many).
std::optional<Error> decodePushRequest(std::string_view datagram, PushRequest& out);

// One record a pushed line makes: a view into the scratch buffer framePushedLines() filled.
struct PushedRecord {
    std::string_view message;
    uint8_t flags = 0;
    uint32_t partial_ordinal = 0;  // as the framer gives it; the group's id is the container's
};

// Frames each line as a pipe's framer frames the line's bytes and a '\n': split at every '\n'
// in it, and into partial records at max_line. `scratch` holds the bytes the records point to.
// Returns how many lines were cut at max_line.
uint64_t framePushedLines(const std::vector<std::string_view>& lines, uint32_t max_line,
                          std::string& scratch, std::vector<PushedRecord>& records);

}  // namespace ringlog
