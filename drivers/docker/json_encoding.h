// Docker's json-file encoding, byte for byte (moby daemon/logger/jsonfilelog/jsonlog).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace ringlog::json {

// The "log" value: docker's hand-written encoder. '"' and '\\' backslash-escaped, '\n' and '\r'
// as \n and \r, other bytes below 0x20 and '<', '>', '&' as \u00XX, invalid UTF-8 bytes as
// \ufffd (one per byte), U+2028 and U+2029 as \u2028 and \u2029. Quotes included.
void appendDockerString(std::string& out, std::string_view bytes);

// Go's encoding/json string encoding (used by docker for "attrs"): like the above, but also \t,
// and \b and \f short forms.
void appendGoString(std::string& out, std::string_view bytes);

// time.RFC3339Nano in UTC: "2006-01-02T15:04:05.999999999Z", trailing zeros of the fraction
// trimmed, no dot when it is zero.
void appendRfc3339Nano(std::string& out, int64_t time_ns);

// The fraction of a second of RFC3339Nano: "" for 0, else "." and up to 9 digits, trailing zeros
// trimmed. Exposed so a writer can cache the rest, which changes once a second.
void appendNanoFraction(std::string& out, int64_t nanoseconds);

// {"k":"v",…} with keys sorted, as Go marshals a map[string]string.
std::string encodeAttrs(const std::map<std::string, std::string>& attrs);

}  // namespace ringlog::json
