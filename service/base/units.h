// Parsing of the textual values users write: docker's sizes ("1m"), booleans, integers, times.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringlog {

// Docker's sizes, parsed as docker 20.10 parses them (github.com/docker/go-units v0.4.0): a
// number that may have a fraction ("1.5"), one optional space, then an optional unit k, m, g,
// t or p, an optional "i" and an optional "b", all case-insensitive ("10 m", "1.5MiB", "512b").
// The value is the number times the unit, computed in double precision and truncated to an
// integer, as Go computes it: "8.2m" is 8,199,999 bytes. Values from 2^63 up are refused.
//
// parseSize is units.RAMInBytes, binary units: "1m" is 1,048,576 (ringlogd's settings, and
// max-buffer-size as docker reads it).
std::optional<int64_t> parseSize(std::string_view text);

// parseDecimalSize is units.FromHumanSize, decimal units: "1m" is 1,000,000, "1k" is 1,000, and
// "1MiB" is 1,000,000 too (the "i" is accepted and ignored). docker's json-file reads max-size
// with it.
std::optional<int64_t> parseDecimalSize(std::string_view text);

// "true"/"false" and the usual spellings ("1", "yes", "on", …).
std::optional<bool> parseBool(std::string_view text);

// A plain non-negative decimal integer.
std::optional<int64_t> parseInteger(std::string_view text);

// A duration as systemd writes time spans ("500ms", "2s", "2sec", "1min 30s", "1.5h", or a bare
// number of seconds, "90"): parseTimeSpanNs() (service/base/time_text.h), in whole milliseconds
// (rounded down).
std::optional<int64_t> parseDurationMs(std::string_view text);
// The inverse, for messages and settings: "90s", "1500ms".
std::string describeDurationMs(int64_t ms);

// RFC 3339 with up to nanoseconds ("2026-11-23T21:48:32.844701444Z", offsets allowed) to ns since
// the epoch: docker's json-file times, and the times users give queries.
std::optional<int64_t> parseRfc3339(std::string_view text);

// Human form of a byte count for messages: "1048576 (1m)".
std::string describeSize(int64_t bytes);

}  // namespace ringlog
