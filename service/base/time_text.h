// Times and durations as users write them (--since/--until, settings, log options): one parser
// for the command line and the daemon, docker's forms and journalctl's.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "service/base/error.h"

namespace ringlog {

// Nanoseconds since the epoch of a point in time as users write it for --since/--until, or an
// error whose message lists the accepted forms. `now_ns` is "now" (CLOCK_REALTIME) for relative
// forms.
//
// Accepted, with surrounding white space ignored:
// - RFC 3339 with a zone, with or without a fraction of up to 9 digits (docker's json-file times):
//   "2026-11-30T02:08:38Z", "2026-11-30T02:08:38.123456789Z", "2026-11-30T02:08:38+01:00";
//   journalctl's " UTC" suffix is read as "Z".
// - The same without a zone, in local time (the process's TZ), as docker reads it:
//   "2026-11-30T02:08:38", "2026-11-30T02:08", "2026-11-30T02" (docker's), a fraction allowed; a
//   space instead of the T as journalctl writes it ("2026-11-30 02:08:38"). A local time that a
//   DST change skips is moved forward by the gap (mktime's normalisation).
// - A date alone, "2026-11-30": local midnight (docker and journalctl).
// - Unix seconds with a fraction of up to 9 digits, exact to the nanosecond: "1764468518.5"
//   (docker's), "@1764468518" (journalctl's). A bare number is always Unix seconds, never a
//   duration.
// - A duration before now, as docker takes Go's durations: "10m", "1h30m", "1.5h", "300ms",
//   "2h45m30s"; and also days and weeks, "2d", "1w", as systemd reads them (docker refuses "d").
//   With a sign, as journalctl: "-1h" and "-30min" before now, "+1h" after now. Any time span
//   parseTimeSpanNs() reads.
// - journalctl's words: "now", "today", "yesterday", "tomorrow" (local midnights), and
//   "N UNIT ago" with systemd's units: "1 hour ago", "30 min ago", "2 days ago", "1h ago".
// Anything else: an error "\"TEXT\" is not a time: use …" followed by kTimeForms.
Result<int64_t> parseTimePoint(std::string_view text, int64_t now_ns);

// A duration ("1h30m", "2d", "90", "500ms", "1min 30s", "1.5h") in nanoseconds. Units as systemd
// spells them: ns/nsec, us/usec/µs, ms/msec, s/sec/second(s), m/min/minute(s), h/hr/hour(s),
// d/day(s), w/week(s), M/month(s) (30.44 days, systemd's 2,629,800 s), y/year(s) (365.25 days);
// Go's are among them. "m" is minutes, "M" months. Several numbers with units may follow each other
// with or without spaces ("1h30m", "1min 30s"); each number may have a fraction ("1.5h", exact
// to the nanosecond); a bare number alone is seconds ("90"). No sign. nullopt if malformed or
// beyond INT64_MAX ns (292 years).
std::optional<int64_t> parseTimeSpanNs(std::string_view text);

// One line listing the accepted time forms, for error messages and --help.
extern const char* const kTimeForms;

}  // namespace ringlog
