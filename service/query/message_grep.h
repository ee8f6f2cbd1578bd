// Query's `grep` (journalctl's --grep): a PCRE2 regular expression matched against each record's
// message, compiled once per query with PCRE2's JIT. Readers use it through ReadFilter's
// MessageMatcher (drivers/log_driver.h), so the drivers never see PCRE2.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "drivers/log_driver.h"

namespace ringlog {

// As journalctl: UTF-8 patterns; case-insensitive unless the pattern has an uppercase letter,
// when `case_sensitive` is not given. An invalid pattern is an error with PCRE2's message and the
// offset where it went wrong. Invalid UTF-8 in a message does not stop matching (it is matched
// as far as it is valid: PCRE2_MATCH_INVALID_UTF).
Result<std::shared_ptr<const MessageMatcher>> compileGrep(const std::string& pattern,
                                                          std::optional<bool> case_sensitive);

}  // namespace ringlog
