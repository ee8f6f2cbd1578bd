// Parsing of the textual values users write: docker's sizes ("1m"), booleans, durations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringlog {

// Docker's size syntax (units.RAMInBytes): a decimal number and an optional binary unit
// b, k, m, g, t (with an optional trailing "b"/"ib"), case-insensitive: "1m" is 1048576.
std::optional<int64_t> parseSize(std::string_view text);

// "true"/"false" and the usual spellings ("1", "yes", "on", …).
std::optional<bool> parseBool(std::string_view text);

// A plain non-negative decimal integer.
std::optional<int64_t> parseInteger(std::string_view text);

// Human form of a byte count for messages: "1048576 (1m)".
std::string describeSize(int64_t bytes);

}  // namespace ringlog
