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

}  // namespace
}  // namespace ringlog
