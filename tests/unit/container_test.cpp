// The consumer side of a container against a mocked driver: what happens to records on each
// write result.
#include "service/container/container.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ringlog {
namespace {

using ::testing::_;
using ::testing::Return;

class MockDriver : public LogDriver {
  public:
    MOCK_METHOD(WriteResult, doWrite, (std::span<const RecordView>, const DropCount&), (override));
    MOCK_METHOD(void, doClose, (), (override));
};

struct Fixture {
    Fixture() {
        AttachSettings s;
        s.max_line = 1024;
        auto ring = RingLog::create("mock", *RingGeometry::forLimits(64 * 1024, 1024),
                                    OverflowPolicy::kBlock);
        auto d = std::make_unique<MockDriver>();
        driver = d.get();
        container = std::make_shared<Container>(ContainerInfo{"c1", "n", "i", {}, {}}, s,
                                                std::move(*ring), std::move(d), 1);
    }
    void pushLines(int n) {
        for (int i = 0; i < n; ++i) {
            uint64_t pid = 0;
            ASSERT_TRUE(container->push(Stream::kStdout, "line", kRecordNewline, 0, pid));
        }
    }
    Container::ConsumeOutcome consume() {
        return container->consume(scratch, ends, Container::Clock::now());
    }

    MockDriver* driver;
    std::shared_ptr<Container> container;
    std::vector<RecordView> scratch;
    std::vector<uint32_t> ends;
};

TEST(ContainerConsumer, PersistsRecordsInOrderWithSequenceNumbers) {
    Fixture f;
    f.pushLines(3);
    std::vector<uint64_t> seen;
    EXPECT_CALL(*f.driver, doWrite(_, _))
        .WillOnce([&](std::span<const RecordView> rs, const DropCount&) {
            for (const auto& r : rs)
                seen.push_back(r.sequence);
            return WriteResult{WriteStatus::kOk, rs.size(), {}};
        });
    EXPECT_EQ(f.consume().kind, Container::ConsumeOutcome::kIdle);
    EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
    EXPECT_EQ(f.container->counters().lines_written.load(), 3u);
}

TEST(ContainerConsumer, ARetryKeepsTheUnwrittenRecordsForLater) {
    Fixture f;
    f.pushLines(3);
    EXPECT_CALL(*f.driver, doWrite(_, _))
        .WillOnce(Return(WriteResult{WriteStatus::kRetry, 1, "writing x: No space left on device"}))
        .WillOnce([](std::span<const RecordView> rs, const DropCount&) {
            EXPECT_EQ(rs.size(), 2u);
            EXPECT_EQ(rs[0].sequence, 2u);
            return WriteResult{WriteStatus::kOk, rs.size(), {}};
        });
    auto first = f.consume();
    EXPECT_EQ(first.kind, Container::ConsumeOutcome::kRetryLater);
    EXPECT_GT(first.retry_at, Container::Clock::now());
    EXPECT_EQ(f.consume().kind, Container::ConsumeOutcome::kIdle);
    EXPECT_EQ(f.container->counters().lines_written.load(), 3u);
}

TEST(ContainerConsumer, AFatalResultRetiresTheRecordsAndCountsThemAsFailed) {
    Fixture f;
    f.pushLines(2);
    EXPECT_CALL(*f.driver, doWrite(_, _))
        .WillOnce(Return(WriteResult{WriteStatus::kFatal, 0, "bad"}));
    EXPECT_EQ(f.consume().kind, Container::ConsumeOutcome::kIdle);
    EXPECT_EQ(f.container->counters().lines_failed.load(), 2u);
}

TEST(ContainerConsumer, ReportsDrainedOnlyOnceInputIsClosedAndTheRingIsEmpty) {
    Fixture f;
    f.pushLines(1);
    f.container->closeInput();
    EXPECT_CALL(*f.driver, doWrite(_, _)).WillOnce(Return(WriteResult{WriteStatus::kOk, 1, {}}));
    EXPECT_CALL(*f.driver, doClose()).Times(1);
    EXPECT_EQ(f.consume().kind, Container::ConsumeOutcome::kDrained);
    f.container->finish();
    EXPECT_EQ(f.container->state(), ContainerState::kExited);
}

TEST(ContainerConsumer, ADriverExceptionBecomesARetryNotACrash) {
    Fixture f;
    f.pushLines(1);
    EXPECT_CALL(*f.driver, doWrite(_, _))
        .WillOnce([](std::span<const RecordView>, const DropCount&) -> WriteResult {
            throw std::runtime_error("boom");
        })
        .WillOnce(Return(WriteResult{WriteStatus::kOk, 1, {}}));
    EXPECT_EQ(f.consume().kind, Container::ConsumeOutcome::kRetryLater);
    EXPECT_EQ(f.consume().kind, Container::ConsumeOutcome::kIdle);
}

// A driver that keeps the sequences it persisted, and fails while told to.
class RecordingDriver : public LogDriver {
  public:
    std::vector<uint64_t> sequences;
    uint64_t lost = 0;  // DropCount lines it was told about
    bool failing = false;
    int reopens = 0;

  protected:
    WriteResult doWrite(std::span<const RecordView> records, const DropCount& dropped) override {
        if (failing)
            return {WriteStatus::kRetry, 0, "the sink is away"};
        lost += dropped.lines;
        for (const auto& r : records)
            sequences.push_back(r.sequence);
        return {WriteStatus::kOk, records.size(), {}};
    }
    std::optional<Error> reopen() override {
        ++reopens;
        return std::nullopt;
    }
};

struct TwoDrivers {
    explicit TwoDrivers(OverflowPolicy policy, uint64_t ring_bytes = 64 * 1024) {
        AttachSettings s;
        s.max_line = 1024;
        s.policy = policy;
        s.drivers = {{"first", {}, false}, {"second", {}, false}};
        s.reader = 0;
        auto ring = RingLog::create("two", *RingGeometry::forLimits(ring_bytes, 1024), policy);
        std::vector<std::unique_ptr<LogDriver>> drivers;
        for (auto** d : {&first, &second}) {
            auto owned = std::make_unique<RecordingDriver>();
            *d = owned.get();
            drivers.push_back(std::move(owned));
        }
        container = std::make_shared<Container>(ContainerInfo{"c2", "n", "i", {}, {}}, s,
                                                std::move(*ring), std::move(drivers), 1);
    }
    bool push(const std::string& line) {
        uint64_t pid = 0;
        return container->push(Stream::kStdout, line, kRecordNewline, 0, pid);
    }
    // Consumes as the pool would, at a time far enough ahead that every retry is due.
    Container::ConsumeOutcome consume(std::chrono::seconds later = std::chrono::seconds(0)) {
        return container->consume(scratch, ends, Container::Clock::now() + later);
    }

    RecordingDriver* first = nullptr;
    RecordingDriver* second = nullptr;
    std::shared_ptr<Container> container;
    std::vector<RecordView> scratch;
    std::vector<uint32_t> ends;
};

std::vector<uint64_t> oneTo(uint64_t n) {
    std::vector<uint64_t> v;
    for (uint64_t i = 1; i <= n; ++i)
        v.push_back(i);
    return v;
}

TEST(ContainerWithTwoDrivers, AFailingDriverDoesNotHoldTheOtherAndGetsEverythingLater) {
    TwoDrivers t(OverflowPolicy::kBlock);
    t.second->failing = true;
    for (int i = 0; i < 100; ++i)
        ASSERT_TRUE(t.push("line " + std::to_string(i)));
    auto out = t.consume();
    EXPECT_EQ(out.kind, Container::ConsumeOutcome::kRetryLaterOrSooner);
    EXPECT_TRUE(out.health_changed);
    EXPECT_EQ(t.first->sequences, oneTo(100));
    EXPECT_TRUE(t.second->sequences.empty());
    EXPECT_EQ(t.container->ringStats().bytes_buffered, 100u * RingLog::recordSpace(8));
    // More lines while the second still waits for its retry: the first goes on alone.
    for (int i = 100; i < 150; ++i)
        ASSERT_TRUE(t.push("line " + std::to_string(i)));
    EXPECT_TRUE(t.container->hasWork());
    t.consume();
    EXPECT_EQ(t.first->sequences, oneTo(150));
    // The second is back: it gets all of them, once, and the ring is empty.
    t.second->failing = false;
    t.consume(std::chrono::seconds(10));
    EXPECT_EQ(t.second->sequences, oneTo(150));
    EXPECT_EQ(t.first->sequences, oneTo(150));
    EXPECT_EQ(t.container->ringStats().bytes_buffered, 0u);
    EXPECT_EQ(t.container->counters().lines_written.load(), 150u);
}

TEST(ContainerWithTwoDrivers, NonBlockingDropsOnlyForTheDriverThatDidNotHaveTheLines) {
    TwoDrivers t(OverflowPolicy::kDropOldest, 3 * 4096);
    t.second->failing = true;
    const std::string line(100, 'x');
    uint64_t pushed = 0;
    for (int i = 0; i < 2000; ++i) {
        ASSERT_TRUE(t.push(line));
        ++pushed;
        if (i % 10 == 0)
            t.consume();
    }
    t.consume();
    EXPECT_EQ(t.first->sequences, oneTo(pushed));  // the first lost nothing
    EXPECT_GT(t.container->ringStats().dropped_lines, 0u);
    t.second->failing = false;
    t.consume(std::chrono::seconds(10));
    // The second has the records it was offered before it failed (their cell is held: it may
    // have sent them), then the newest, in order, and was told exactly how many it lost.
    ASSERT_FALSE(t.second->sequences.empty());
    EXPECT_EQ(t.second->sequences.front(), 1u);
    EXPECT_EQ(t.second->sequences.back(), pushed);
    for (size_t i = 1; i < t.second->sequences.size(); ++i)
        ASSERT_GT(t.second->sequences[i], t.second->sequences[i - 1]);
    EXPECT_EQ(t.second->lost + t.second->sequences.size(), pushed);
    EXPECT_EQ(t.container->lostPerDriver()[1].second, t.second->lost);
    EXPECT_EQ(t.container->lostPerDriver()[0].second, 0u);
}

TEST(ContainerWithTwoDrivers, AReopenRequestReachesEveryDriverBeforeTheNextWrite) {
    TwoDrivers t(OverflowPolicy::kBlock);
    std::vector<std::optional<Error>> answers;
    t.container->requestReopen([&](std::optional<Error> e) { answers.push_back(e); });
    EXPECT_TRUE(t.container->hasWork());
    t.consume();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_FALSE(answers[0].has_value());
    EXPECT_EQ(t.first->reopens, 1);
    EXPECT_EQ(t.second->reopens, 1);
}

TEST(ContainerConsumer, AReopenOfADriverWithoutFilesSaysSo) {
    Fixture f;
    std::optional<Error> answer;
    bool answered = false;
    f.container->requestReopen([&](std::optional<Error> e) {
        answer = e;
        answered = true;
    });
    f.consume();
    ASSERT_TRUE(answered);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->message, "driver: this log driver keeps no file that could be reopened");
}

}  // namespace
}  // namespace ringlog
