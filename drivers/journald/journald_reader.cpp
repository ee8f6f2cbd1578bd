#include "drivers/journald/journald_reader.h"

#include <systemd/sd-journal.h>

#include <cerrno>
#include <cstring>

#include "service/base/units.h"

namespace ringlog {

namespace {

Error journalError(const std::string& what, int r) {
    return Error{RINGLOG_STATUS_DRIVER_ERROR,
                 "reading the journal: " + what + ": " + errnoText(-r)};
}

// The value of FIELD in the current entry, or nullopt.
std::optional<std::string_view> field(sd_journal* j, const char* name) {
    const void* data = nullptr;
    size_t len = 0;
    if (sd_journal_get_data(j, name, &data, &len) < 0)
        return std::nullopt;
    size_t prefix = std::strlen(name) + 1;
    if (len < prefix)
        return std::nullopt;
    return std::string_view(static_cast<const char*>(data) + prefix, len - prefix);
}

}  // namespace

Result<std::unique_ptr<LogReader>> JournaldReader::open(const std::string& full_id,
                                                        ReadFilter filter) {
    sd_journal* j = nullptr;
    int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0)
        return journalError("opening it", r);
    std::unique_ptr<JournaldReader> reader(new JournaldReader(j, filter));
    // Whole messages: the default threshold cuts fields at 64 KiB.
    sd_journal_set_data_threshold(j, 0);
    std::string match = "CONTAINER_ID_FULL=" + full_id;
    if ((r = sd_journal_add_match(j, match.c_str(), 0)) < 0)
        return journalError("matching " + match, r);
    // One stream as a journal match skips the other's entries, which is only a shortcut (step()
    // and collectTail() check the stream too) and wrong with a cursor: the cursor's entry may be
    // the other stream's, and seeking to it, or walking back to it, must see it.
    if (filter.stdout_stream != filter.stderr_stream && filter.after_cursor.empty()) {
        const char* stream =
            filter.stdout_stream ? "CONTAINER_STREAM=stdout" : "CONTAINER_STREAM=stderr";
        if ((r = sd_journal_add_match(j, stream, 0)) < 0)
            return journalError("matching the stream", r);
    }
    if (!filter.after_cursor.empty()) {
        const char* cursor = filter.after_cursor.c_str();
        if (sd_journal_seek_cursor(j, cursor) < 0 || sd_journal_next(j) <= 0 ||
            sd_journal_test_cursor(j, cursor) <= 0)
            return invalid("option \"after_cursor\": the entry of cursor \"" + filter.after_cursor +
                           "\" is not in the journal (vacuumed, or not a journal cursor)");
        // Positioned on it: next() moves past it.
    } else if (filter.since_ns && !filter.tail) {
        // The journal's time is when journald received an entry, never before it was captured:
        // seeking there skips nothing captured since `since`.
        sd_journal_seek_realtime_usec(
            j, static_cast<uint64_t>(std::max<int64_t>(*filter.since_ns, 0) / 1000));
    } else {
        sd_journal_seek_head(j);
    }
    return std::unique_ptr<LogReader>(std::move(reader));
}

JournaldReader::~JournaldReader() {
    sd_journal_close(journal_);
}

void JournaldReader::readEntry(StoredRecord& out) {
    out = {};
    if (auto m = field(journal_, "MESSAGE"))
        out.message.assign(*m);
    auto stream = field(journal_, "CONTAINER_STREAM");
    auto priority = field(journal_, "PRIORITY");
    out.stream = (stream ? *stream == "stderr" : priority && *priority == "3") ? Stream::kStderr
                                                                               : Stream::kStdout;
    auto partial = field(journal_, "CONTAINER_PARTIAL_MESSAGE");
    out.newline = !(partial && *partial == "true");
    std::optional<int64_t> t;
    if (auto ts = field(journal_, "SYSLOG_TIMESTAMP"))
        t = parseRfc3339(*ts);
    if (!t) {
        uint64_t usec = 0;
        sd_journal_get_realtime_usec(journal_, &usec);
        t = static_cast<int64_t>(usec) * 1000;
    }
    out.time_ns = *t;
    if (auto ordinal = field(journal_, "CONTAINER_LOG_ORDINAL"))
        if (auto n = parseInteger(*ordinal))
            out.sequence = static_cast<uint64_t>(*n);
    char* cursor = nullptr;
    if (sd_journal_get_cursor(journal_, &cursor) >= 0) {
        out.cursor = cursor;
        free(cursor);
    }
}

// The last `tail` entries that pass the filters, walking back from the end (or, after a cursor,
// back to it): the cost depends on N, not on the journal's size.
Result<bool> JournaldReader::collectTail() {
    tail_collected_ = true;
    const std::string& stop_at = filter_.after_cursor;
    sd_journal_seek_tail(journal_);
    StoredRecord r;
    while (tail_.size() < *filter_.tail) {
        int n = sd_journal_previous(journal_);
        if (n < 0)
            return journalError("stepping back", n);
        if (n == 0)
            break;
        if (!stop_at.empty() && sd_journal_test_cursor(journal_, stop_at.c_str()) > 0)
            break;
        readEntry(r);
        if (filter_.since_ns && r.time_ns < *filter_.since_ns)
            break;
        if (filter_.wants(r.stream) && filter_.inTime(r.time_ns) && filter_.matches(r.message))
            tail_.push_back(r);
    }
    return true;
}

Result<LogReader::Step> JournaldReader::step(StoredRecord& out) {
    if (filter_.tail) {
        if (!tail_collected_)
            if (auto c = collectTail(); !c)
                return c.error();
        if (tail_.empty())
            return Step::kEnd;
        out = std::move(tail_.back());
        tail_.pop_back();
        return Step::kRecord;
    }
    ReadBudget budget;
    for (;;) {
        int n = sd_journal_next(journal_);
        if (n < 0)
            return journalError("reading on", n);
        if (n == 0)
            return Step::kEnd;
        readEntry(out);
        if (filter_.until_ns && out.time_ns > *filter_.until_ns)
            return Step::kEnd;  // a container's capture times only grow
        if (filter_.wants(out.stream) && filter_.inTime(out.time_ns) &&
            filter_.matches(out.message))
            return Step::kRecord;
        if (budget.spend(out.message.size()))
            return Step::kYield;
    }
}

}  // namespace ringlog
