// A container as ps and inspect print it, from its Inspect answer.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "client/daemon_calls.h"

namespace ringlogctl {

// Every Inspect key with its value as JSON: numbers, strings, objects; the times (AttachedAt,
// ExitedAt, LastErrorAt) as RFC 3339 strings, as docker inspect prints times.
nlohmann::json inspectJson(const Dict& container);

// docker's STATUS: "Up 5 minutes", "Up 3 seconds (degraded)", "Exited 2 minutes ago".
std::string statusText(const Dict& container, uint64_t now_us);

// The id as docker shows it without --no-trunc: its first 12 characters.
inline std::string shortId(const std::string& id) {
    return id.substr(0, 12);
}

// The time the listing commands take as now: $RINGLOGCTL_NOW (microseconds since the epoch),
// which only the tests set, so that "Up 5 minutes" is exact; else the clock.
uint64_t listingNowUs();

}  // namespace ringlogctl
