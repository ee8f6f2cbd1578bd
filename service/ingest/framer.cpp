#include "service/ingest/framer.h"

#include <cstring>

namespace ringlog {

bool Framer::emit(std::string_view message, bool newline, bool cut) {
    uint8_t flags = newline ? kRecordNewline : 0;
    uint32_t ordinal = 0;
    if (cut || next_ordinal_ != 0) {
        // Part of a split line: docker's partial metadata (id, 1-based ordinal, last).
        ordinal = next_ordinal_ == 0 ? 1 : next_ordinal_;
        flags |= kRecordPartial;
        if (!cut)
            flags |= kRecordPartialLast;
    }
    uint64_t partial_id = ordinal > 1 ? partial_id_ : 0;
    if (!sink_->push(stream_, message, flags, ordinal, partial_id))
        return false;
    if (cut) {
        if (ordinal == 1)
            partial_id_ = partial_id;  // the sink named the group after this record
        next_ordinal_ = ordinal + 1;
    } else {
        next_ordinal_ = 0;
    }
    return true;
}

size_t Framer::frame(std::string_view data, bool& refused) {
    size_t pos = 0;
    refused = false;
    while (pos < data.size()) {
        // docker's copier reads into a max-line buffer and cuts it when it fills without a '\n':
        // the '\n' counts, so a line of exactly max-line bytes is cut before it.
        size_t window = std::min<size_t>(data.size() - pos, max_line_);
        const char* nl = static_cast<const char*>(std::memchr(data.data() + pos, '\n', window));
        if (nl != nullptr) {
            size_t len = static_cast<size_t>(nl - (data.data() + pos));
            if (!emit(data.substr(pos, len), true, false)) {
                refused = true;
                break;
            }
            pos += len + 1;
        } else if (window == max_line_) {
            bool first_cut = next_ordinal_ == 0;
            if (!emit(data.substr(pos, max_line_), false, true)) {
                refused = true;
                break;
            }
            if (first_cut)
                ++lines_split_;
            pos += max_line_;
        } else {
            break;  // an incomplete line: wait for more
        }
    }
    return pos;
}

bool Framer::feed(std::string_view data) {
    bool refused = false;
    while (!backlog_.empty()) {
        backlog_.erase(0, frame(backlog_, refused));
        if (refused) {
            backlog_.append(data.data(), data.size());
            return false;
        }
        if (data.empty())
            return true;
        // The backlog is now one incomplete line: complete it with just enough new bytes, so the
        // bulk of `data` is framed in place, without a copy.
        size_t window = std::min(size_t{max_line_} - backlog_.size(), data.size());
        const char* nl = static_cast<const char*>(std::memchr(data.data(), '\n', window));
        size_t take = nl != nullptr ? static_cast<size_t>(nl - data.data()) + 1 : window;
        backlog_.append(data.data(), take);
        data.remove_prefix(take);
    }
    size_t used = frame(data, refused);
    backlog_.assign(data.data() + used, data.size() - used);
    return !refused;
}

bool Framer::flush() {
    if (!feed({}))
        return false;
    if (backlog_.empty())
        return true;
    if (!pushIncomplete(backlog_, true))
        return false;
    backlog_.clear();
    return true;
}

bool Framer::pushIncomplete(std::string_view rest, bool final) {
    if (rest.empty())
        return true;
    // Either way a partial record that is not the last of its group, as docker's copier sends a
    // last line without '\n' (Last=false): readers must not add a '\n' the program never wrote.
    if (!emit(rest, false, true))
        return false;
    if (final)
        next_ordinal_ = 0;  // nothing follows: the next line, if any, is a group of its own
    return true;
}

}  // namespace ringlog
