#include "service/query/message_grep.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace ringlog {

namespace {

// One compiled pattern and the match data its matches reuse: a query's reader and stream use it
// on the event loop only, one match at a time.
class Pcre2Matcher final : public MessageMatcher {
  public:
    explicit Pcre2Matcher(pcre2_code* code)
        : code_(code),
          data_(pcre2_match_data_create(1, nullptr)),
          jit_(pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0) {}
    ~Pcre2Matcher() override {
        pcre2_match_data_free(data_);
        pcre2_code_free(code_);
    }
    Pcre2Matcher(const Pcre2Matcher&) = delete;
    Pcre2Matcher& operator=(const Pcre2Matcher&) = delete;
    bool valid() const { return data_ != nullptr; }

    bool matches(std::string_view message) const override {
        auto subject = reinterpret_cast<PCRE2_SPTR>(message.empty() ? "" : message.data());
        if (jit_) {
            int rc = pcre2_jit_match(code_, subject, message.size(), 0, 0, data_, nullptr);
            if (rc != PCRE2_ERROR_JIT_STACKLIMIT)
                return rc >= 0;
            // A pattern that recurses deeper than the JIT's stack: the interpreter's limits are
            // the heap's.
        }
        return pcre2_match(code_, subject, message.size(), 0, 0, data_, nullptr) >= 0;
    }

  private:
    pcre2_code* code_;
    pcre2_match_data* data_;
    bool jit_;
};

// journalctl's rule: a pattern with an uppercase letter is case-sensitive.
bool hasUppercase(const std::string& pattern) {
    for (char c : pattern)
        if (c >= 'A' && c <= 'Z')
            return true;
    return false;
}

}  // namespace

Result<std::shared_ptr<const MessageMatcher>> compileGrep(const std::string& pattern,
                                                          std::optional<bool> case_sensitive) {
    uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    if (!case_sensitive.value_or(hasUppercase(pattern)))
        flags |= PCRE2_CASELESS;
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     flags, &error, &offset, nullptr);
    if (code == nullptr) {
        PCRE2_UCHAR text[256];
        if (pcre2_get_error_message(error, text, sizeof text) < 0)
            text[0] = 0;
        return invalid("bad pattern \"" + pattern + "\": " + reinterpret_cast<const char*>(text) +
                       " at offset " + std::to_string(offset));
    }
    auto matcher = std::make_shared<Pcre2Matcher>(code);
    if (!matcher->valid())
        return Error{RINGLOG_STATUS_LIMIT, "out of memory for the pattern's match data"};
    return std::shared_ptr<const MessageMatcher>(std::move(matcher));
}

}  // namespace ringlog
