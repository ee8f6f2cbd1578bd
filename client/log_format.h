// How `ringlogctl logs` prints one record: docker's timestamp and details prefixes, journalctl's
// short and short-iso lines. Pure functions of the record, for the command and its tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringlogctl {

// docker's `--timestamps` prefix without its space: Go's RFC3339NanoFixed in UTC, all nine
// digits ("2026-11-30T13:07:32.123456789Z"), as moby's daemon/logs.go writes it.
void appendDockerTimestamp(std::string& out, int64_t time_ns);

// Go's url.QueryEscape: letters, digits and "-_.~" kept, ' ' as '+', every other byte %XX.
void appendQueryEscaped(std::string& out, std::string_view text);

// docker's `--details` prefix without its space (moby's attrsByteSlice): the attributes sorted by
// key, each `QueryEscape(key)=QueryEscape(value)`, joined by ','. Sorts `attrs`.
void appendDockerDetails(std::string& out, std::vector<std::pair<std::string, std::string>>& attrs);

// A local time (the process's TZ) for journalctl-like lines: "Nov 30 13:07:32" (short) or
// "2026-11-30T13:07:32+01:00" (short-iso).
void appendLocalShort(std::string& out, int64_t time_ns);
void appendLocalIso(std::string& out, int64_t time_ns);

}  // namespace ringlogctl
