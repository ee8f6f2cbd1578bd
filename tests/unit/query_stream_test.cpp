// QueryStream's follow: how it moves through a LiveFeed, as the daemon's event loop drives it
// (Daemon::onQuery): pump again on kYield and kWaitWritable; on kWaitData, only when the feed
// has news (a publish, or the container drained).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "service/query/query.h"

namespace ringlog {
namespace {

// Publishes `count` records of `stream` (100 bytes each), times from `first_ns` on.
void publish(LiveFeed& feed, Stream stream, int count, int64_t first_ns) {
    std::string message(99, 'x');
    std::vector<RecordView> records(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        auto& r = records[static_cast<size_t>(i)];
        r.stream = stream;
        r.flags = kRecordNewline;
        r.time_ns = first_ns + i;
        r.sequence = static_cast<uint64_t>(i + 1);
        r.message = message;
    }
    feed.publish(records);
}

struct Pipe {
    Pipe() {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
        read_end = UniqueFd(fds[0]);
        write_end = UniqueFd(fds[1]);
    }
    std::string drain() const {
        std::string out;
        char buf[65536];
        ssize_t n;
        while ((n = ::read(read_end.get(), buf, sizeof buf)) > 0)
            out.append(buf, static_cast<size_t>(n));
        return out;
    }
    UniqueFd read_end, write_end;
};

// A follower of stderr only, over a feed of stdout records well beyond one refill's share: the
// event loop wakes it once for the publish and once for the drain (the feed closed). Each pump
// must go on while the feed has unread records (yielding to the loop between shares) rather
// than wait for news that will not come; this follower once stayed open forever after its
// container had ended (`ringlogctl logs -f` hung on its stderr stream).
TEST(QueryStreamFollow, AFilterThatRejectsEveryLiveRecordStillReachesTheEndOfTheFeed) {
    auto feed = std::make_shared<LiveFeed>();
    LiveFeed::Position at = feed->follow();
    ReadFilter stderr_only;
    stderr_only.stdout_stream = false;
    Pipe out;
    QueryStream q(nullptr, QueryFormat::kRaw, stderr_only, std::move(out.write_end), feed,
                  at.next_index);
    EXPECT_EQ(q.pump(), QueryStream::Progress::kWaitData);

    publish(*feed, Stream::kStdout, 30000, 1000);  // 3 MB: many refills' worth
    feed->close();
    // The loop's calls: one for the publish, one for the drain, and then as long as the
    // stream asks for them (kYield, kWaitWritable), up to a bound no correct stream reaches.
    QueryStream::Progress p = QueryStream::Progress::kWaitData;
    for (int wakeups = 0; wakeups < 2 && p != QueryStream::Progress::kDone; ++wakeups) {
        p = q.pump();
        for (int turns = 0; turns < 10000 && (p == QueryStream::Progress::kYield ||
                                              p == QueryStream::Progress::kWaitWritable);
             ++turns)
            p = q.pump();
    }
    EXPECT_EQ(p, QueryStream::Progress::kDone);
    EXPECT_EQ(out.drain(), "");
}

// The same feed for a follower of both streams: every record, in order, then the end.
TEST(QueryStreamFollow, AFollowerOfEveryStreamGetsEveryLiveRecordThenTheEnd) {
    auto feed = std::make_shared<LiveFeed>();
    LiveFeed::Position at = feed->follow();
    Pipe out;
    QueryStream q(nullptr, QueryFormat::kRaw, ReadFilter{}, std::move(out.write_end), feed,
                  at.next_index);
    publish(*feed, Stream::kStdout, 30000, 1000);
    feed->close();
    std::string got;
    QueryStream::Progress p;
    int turns = 0;
    while ((p = q.pump()) != QueryStream::Progress::kDone && ++turns < 100000)
        got += out.drain();
    got += out.drain();
    EXPECT_EQ(p, QueryStream::Progress::kDone);
    std::string line = std::string(99, 'x') + "\n";
    ASSERT_EQ(got.size(), 30000 * line.size());
    EXPECT_EQ(got.find_first_not_of(line), std::string::npos);
}

}  // namespace
}  // namespace ringlog
