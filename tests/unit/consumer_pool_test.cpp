// The consumer pool with its threads: containers whose driver is busy wait in the pool's timer
// queue while other threads keep adding to it; every container still drains exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "service/container/consumer_pool.h"

namespace ringlog {
namespace {

// Says "busy, try again in 1 ms" to its first `busy` writes, then persists everything.
class BusyDriver final : public LogDriver {
  public:
    explicit BusyDriver(int busy) : busy_(busy) {}

  protected:
    WriteResult doWrite(std::span<const RecordView> records, const DropCount&) override {
        if (busy_-- > 0)
            return {WriteStatus::kRetry, 0, "busy", 1};
        return {WriteStatus::kOk, records.size(), {}};
    }

  private:
    int busy_;
};

std::shared_ptr<Container> busyContainer(int n, int busy) {
    AttachSettings s;
    s.max_line = 1024;
    auto ring =
        RingLog::create("pool", *RingGeometry::forLimits(64 * 1024, 1024), OverflowPolicy::kBlock);
    auto c = std::make_shared<Container>(ContainerInfo{"c" + std::to_string(n), "", "", {}, {}}, s,
                                         std::move(*ring), std::make_unique<BusyDriver>(busy), 1);
    for (int i = 0; i < 10; ++i) {
        uint64_t partial_id = 0;
        EXPECT_TRUE(c->push(Stream::kStdout, "line", kRecordNewline, 0, partial_id));
    }
    c->closeInput();
    return c;
}

// Run under ASan in CI: a thread waiting for the earliest retry used to hold a reference into the
// timer queue, which another thread's push could reallocate under it. The queue grows (and
// reallocates) while a pool is young, so the test makes many young pools.
TEST(ConsumerPool, BusyDriversRetryingFromSeveralThreadsEachDrainExactlyOnce) {
    constexpr int kRounds = 40, kContainers = 64;
    for (int round = 0; round < kRounds; ++round) {
        std::mutex mutex;
        std::condition_variable all_drained;
        int drained = 0;
        std::vector<int> drains(kContainers, 0);
        {
            ConsumerPool pool(4, {nullptr, nullptr,
                                  [&](const std::shared_ptr<Container>& c) {
                                      std::lock_guard lock(mutex);
                                      ++drains[std::stoul(c->info().id.substr(1))];
                                      ++drained;
                                      all_drained.notify_all();
                                  },
                                  nullptr});
            std::vector<std::shared_ptr<Container>> containers;
            for (int n = 0; n < kContainers; ++n)
                containers.push_back(busyContainer(n, 3 + n % 5));
            for (auto& c : containers)
                pool.schedule(c);
            std::unique_lock lock(mutex);
            ASSERT_TRUE(all_drained.wait_for(lock, std::chrono::seconds(60),
                                             [&] { return drained == kContainers; }));
        }
        for (int n = 0; n < kContainers; ++n)
            ASSERT_EQ(drains[static_cast<size_t>(n)], 1)
                << "round " << round << ", container " << n;
    }
}

// Fails its first `failures` writes (a sink that is away: the container backs off), then
// persists; counts the records it got.
class AwayDriver final : public LogDriver {
  public:
    explicit AwayDriver(int failures) : failures_(failures) {}
    std::atomic<uint64_t> records{0};

  protected:
    WriteResult doWrite(std::span<const RecordView> rs, const DropCount&) override {
        if (failures_-- > 0)
            return {WriteStatus::kRetry, 0, "away"};
        records += rs.size();
        return {WriteStatus::kOk, rs.size(), {}};
    }

  private:
    int failures_;
};

// Two drivers, the second away for its first writes: the first goes on, the second catches up
// once back, from timers armed while new records keep the container busy; each drains once.
TEST(ConsumerPool, ContainersWithADriverAwayStillDrainExactlyOnceWithEveryRecordInBoth) {
    constexpr int kContainers = 16, kLines = 2000;
    std::mutex mutex;
    std::condition_variable all_drained;
    int drained = 0;
    std::vector<std::shared_ptr<Container>> containers;
    std::vector<AwayDriver*> firsts, seconds;
    {
        ConsumerPool pool(2, {nullptr, nullptr,
                              [&](const std::shared_ptr<Container>&) {
                                  std::lock_guard lock(mutex);
                                  ++drained;
                                  all_drained.notify_all();
                              },
                              nullptr});
        for (int n = 0; n < kContainers; ++n) {
            AttachSettings s;
            s.max_line = 1024;
            s.drivers = {{"first", {}, false}, {"second", {}, false}};
            auto ring = RingLog::create("pool2", *RingGeometry::forLimits(1 << 20, 1024),
                                        OverflowPolicy::kBlock);
            std::vector<std::unique_ptr<LogDriver>> drivers;
            drivers.push_back(std::make_unique<AwayDriver>(0));
            drivers.push_back(std::make_unique<AwayDriver>(2 + n % 3));
            firsts.push_back(static_cast<AwayDriver*>(drivers[0].get()));
            seconds.push_back(static_cast<AwayDriver*>(drivers[1].get()));
            containers.push_back(
                std::make_shared<Container>(ContainerInfo{"m" + std::to_string(n), "", "", {}, {}},
                                            s, std::move(*ring), std::move(drivers), 1));
        }
        // The producer side, as the event loop: lines in small steps, each step scheduled.
        for (int i = 0; i < kLines; ++i) {
            for (auto& c : containers) {
                uint64_t partial_id = 0;
                ASSERT_TRUE(c->push(Stream::kStdout, "line", kRecordNewline, 0, partial_id));
                if (i % 50 == 0)
                    pool.schedule(c);
            }
        }
        for (auto& c : containers) {
            c->closeInput();
            pool.schedule(c);
        }
        std::unique_lock lock(mutex);
        ASSERT_TRUE(all_drained.wait_for(lock, std::chrono::seconds(60),
                                         [&] { return drained == kContainers; }));
    }
    for (int n = 0; n < kContainers; ++n) {
        EXPECT_EQ(firsts[n]->records.load(), static_cast<uint64_t>(kLines)) << n;
        EXPECT_EQ(seconds[n]->records.load(), static_cast<uint64_t>(kLines)) << n;
    }
}

}  // namespace
}  // namespace ringlog
