// Producer and consumer on two threads, as in the daemon. Run under ThreadSanitizer by the tsan
// preset (ctest label "concurrency").
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "service/ring/ring_log.h"

namespace ringlog {
namespace {

// The producer: records 1 … n, record k with k % 200 message bytes; in blocking mode it waits
// for the consumer when the ring is full.
void produce(RingLog& ring, uint64_t records) {
    std::string payload(200, 'p');
    for (uint64_t seq = 1; seq <= records;) {
        RecordHeader h{};
        h.sequence = seq;
        if (ring.push(h, std::string_view(payload).substr(0, seq % 200)) ==
            RingLog::PushResult::kOk)
            ++seq;
        else
            std::this_thread::yield();
    }
}

struct Tally {
    uint64_t persisted = 0;
    uint64_t last_seq = 0;
    bool ordered = true;
    uint64_t marked_lines = 0;
};

Tally runPair(OverflowPolicy policy, uint64_t records) {
    auto geometry = RingGeometry::forLimits(64 * 1024, 1024);
    auto ring = std::move(*RingLog::create("tsan", *geometry, policy));
    std::atomic<bool> done{false};
    Tally tally;
    std::thread consumer([&] {
        for (;;) {
            bool finished = done.load();
            RingLog::Batch b;
            if (!ring->take(b)) {
                if (finished)
                    return;
                std::this_thread::yield();
                continue;
            }
            tally.marked_lines += b.dropped_before.lines;
            uint64_t n = 0;
            RecordView v;
            for (uint32_t off = b.begin; off < b.end; ++n) {
                off = RingLog::decode(b.data, off, v);
                if (v.sequence <= tally.last_seq)
                    tally.ordered = false;
                tally.last_seq = v.sequence;
                if (v.message.size() != v.sequence % 200)
                    tally.ordered = false;
            }
            tally.persisted += n;
            ring->release(b, b.end, n);
        }
    });
    produce(*ring, records);
    done.store(true);
    consumer.join();
    EXPECT_EQ(tally.marked_lines, ring->stats().dropped_lines);
    EXPECT_EQ(tally.persisted + ring->stats().dropped_lines, records);
    return tally;
}

TEST(RingLogConcurrency, BlockingPairDeliversEveryRecordInOrder) {
    Tally t = runPair(OverflowPolicy::kBlock, 200'000);
    EXPECT_TRUE(t.ordered);
    EXPECT_EQ(t.persisted, 200'000u);
}

TEST(RingLogConcurrency, DroppingPairDeliversInOrderAndAccountsForEveryRecord) {
    Tally t = runPair(OverflowPolicy::kDropOldest, 200'000);
    EXPECT_TRUE(t.ordered);
    EXPECT_EQ(t.last_seq, 200'000u) << "the newest record is never the one dropped";
}

// Two drivers at their own positions (takeAfter/retireThrough), the second three times slower.
struct Position {
    uint64_t done = 0;
    uint64_t seen = 0;
    uint64_t gaps = 0;  // records skipped over: dropped before this position had them
    bool ordered = true;
};

void runTwoPositions(OverflowPolicy policy, uint64_t records, Position (&pos)[2]) {
    auto geometry = RingGeometry::forLimits(64 * 1024, 1024);
    auto ring = std::move(*RingLog::create("tsan2", *geometry, policy));
    std::atomic<bool> done{false};
    std::thread consumer([&] {
        for (uint64_t turn = 0;; ++turn) {
            bool finished = done.load();
            bool any = false;
            for (int i = 0; i < 2; ++i) {
                if (i == 1 && turn % 3 != 0 && !finished)
                    continue;
                RingLog::Batch b;
                if (!ring->takeAfter(pos[i].done, b))
                    continue;
                any = true;
                RecordView v;
                for (uint32_t off = b.begin; off < b.end;) {
                    off = RingLog::decode(b.data, off, v);
                    if (v.sequence <= pos[i].done || v.message.size() != v.sequence % 200)
                        pos[i].ordered = false;
                    pos[i].gaps += v.sequence - pos[i].done - 1;
                    pos[i].done = v.sequence;
                    ++pos[i].seen;
                }
                ring->endTake();
            }
            ring->retireThrough(std::min(pos[0].done, pos[1].done));
            if (!any) {
                if (finished)
                    return;
                std::this_thread::yield();
            }
        }
    });
    produce(*ring, records);
    done.store(true);
    consumer.join();
    EXPECT_TRUE(ring->empty());
}

TEST(RingLogConcurrency, TwoPositionsInBlockingModeEachGetEveryRecordInOrder) {
    Position pos[2];
    runTwoPositions(OverflowPolicy::kBlock, 200'000, pos);
    for (const auto& p : pos) {
        EXPECT_TRUE(p.ordered);
        EXPECT_EQ(p.seen, 200'000u);
        EXPECT_EQ(p.gaps, 0u);
    }
}

TEST(RingLogConcurrency, TwoPositionsInDroppingModeAccountForEveryRecordEach) {
    Position pos[2];
    runTwoPositions(OverflowPolicy::kDropOldest, 200'000, pos);
    for (const auto& p : pos) {
        EXPECT_TRUE(p.ordered);
        EXPECT_EQ(p.seen + p.gaps, 200'000u);
        EXPECT_EQ(p.done, 200'000u) << "the newest record is never the one dropped";
    }
}

}  // namespace
}  // namespace ringlog
