// FileRegistry (docs/log-files.md, "Restarts"): a kill at any step of a file record's push leaves
// the offset the ring got to; what an adopted memfd holds; what is refused.
#include "service/collect/file_registry.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

namespace ringlog {
namespace {

// What a next instance would take over: the same memfd, through another fd.
std::unique_ptr<FileRegistry> adoptCopy(const FileRegistry& r) {
    auto adopted = FileRegistry::adopt(UniqueFd(::fcntl(r.memfd(), F_DUPFD_CLOEXEC, 0)));
    EXPECT_TRUE(adopted.ok()) << adopted.error().message;
    return adopted.ok() ? std::move(*adopted) : nullptr;
}

uint64_t offsetAfterKill(const FileRegistry& r, uint64_t ring_last_sequence) {
    auto points = adoptCopy(r)->resumePoints(ring_last_sequence);
    EXPECT_EQ(points.size(), 1u);
    return points.empty() ? UINT64_MAX : points[0].offset;
}

// The file's record 7 ends at byte 300; the one before it at byte 200 (sequence 6).
TEST(FileRegistry, AKillAtAnyStepOfAPushResumesWhereTheRingIs) {
    auto r = FileRegistry::create("test", 4);
    ASSERT_TRUE(r.ok()) << r.error().message;
    FileRegistry& reg = **r;
    ASSERT_TRUE(reg.recordName(1, "app.log"));
    auto slot = reg.claim(0, {64769, 1234, 0}, 1, 0);
    ASSERT_TRUE(slot.has_value());
    reg.willPush(*slot, 200, 6);
    reg.pushed(*slot, 200);
    EXPECT_EQ(offsetAfterKill(reg, 6), 200u);

    reg.willPush(*slot, 300, 7);
    // Killed before the ring committed record 7: its newest is 6.
    EXPECT_EQ(offsetAfterKill(reg, 6), 200u);
    // Killed after the commit, before "pushed".
    EXPECT_EQ(offsetAfterKill(reg, 7), 300u);
    reg.pushed(*slot, 300);
    EXPECT_EQ(offsetAfterKill(reg, 7), 300u);

    // A blocking ring refused record 8; a piped line then took sequence 8.
    reg.willPush(*slot, 400, 8);
    reg.notPushed(*slot);
    EXPECT_EQ(offsetAfterKill(reg, 8), 300u);

    // copytruncate: read again from 0.
    reg.rewind(*slot);
    EXPECT_EQ(offsetAfterKill(reg, 8), 0u);
}

TEST(FileRegistry, AnAdoptedRegistryHasTheNamesSlotsAndFinishingOfTheOneBefore) {
    auto r = FileRegistry::create("test", 2);
    ASSERT_TRUE(r.ok()) << r.error().message;
    FileRegistry& reg = **r;
    EXPECT_TRUE(reg.recordName(1, "applog-web/app.log"));
    EXPECT_TRUE(reg.recordName(1, "applog-web/app.log"));  // known: nothing added
    EXPECT_TRUE(reg.recordName(2, "b.log"));
    EXPECT_FALSE(reg.recordName(4, "skipped.log"));  // indices come in order
    auto a = reg.claim(1, {10, 20, 0}, 2, 0);
    auto b = reg.claim(0, {10, 21, 0}, 1, 0);
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(reg.claim(0, {10, 22, 0}, 1, 0).has_value()) << "two slots, both taken";
    reg.release(*a);
    EXPECT_EQ(reg.claim(0, {10, 23, 0}, 1, 0), a) << "a released slot is taken again";
    EXPECT_FALSE(reg.finishing());
    reg.markFinishing();

    auto next = adoptCopy(reg);
    ASSERT_NE(next, nullptr);
    EXPECT_EQ(next->names(), (std::vector<std::string>{"applog-web/app.log", "b.log"}));
    EXPECT_TRUE(next->finishing());
    EXPECT_EQ(next->slots(), 2u);
    auto points = next->resumePoints(0);
    ASSERT_EQ(points.size(), 2u);
    EXPECT_EQ(points[0].identity.ino, 23u);
    EXPECT_EQ(points[0].name, "applog-web/app.log");
    EXPECT_EQ(points[1].identity.ino, 21u);
    EXPECT_EQ(points[1].identity.dev, 10u);
    EXPECT_EQ(points[1].dir, 0u);
    // The adopted one appends after the names it found.
    EXPECT_TRUE(next->recordName(3, "c.log"));
    EXPECT_EQ(adoptCopy(*next)->names().back(), "c.log");
}

TEST(FileRegistry, AMemfdThatIsNotARegistryIsRefusedSayingWhy) {
    auto message = [](UniqueFd fd) {
        auto r = FileRegistry::adopt(std::move(fd));
        return r.ok() ? std::string("adopted") : r.error().message;
    };
    UniqueFd small(::memfd_create("small", MFD_CLOEXEC));
    ASSERT_EQ(::ftruncate(small.get(), 100), 0);
    EXPECT_EQ(message(std::move(small)), "the file registry is 100 bytes");
    UniqueFd other(::memfd_create("other", MFD_CLOEXEC));
    ASSERT_EQ(::ftruncate(other.get(), 8192), 0);
    EXPECT_EQ(message(std::move(other)), "the file registry's memfd is not one (wrong magic)");
    auto r = FileRegistry::create("test", 2);
    ASSERT_TRUE(r.ok());
    UniqueFd grown(::fcntl((*r)->memfd(), F_DUPFD_CLOEXEC, 0));
    ASSERT_EQ(::ftruncate(grown.get(), 1 << 21), 0);
    EXPECT_EQ(message(std::move(grown)),
              "the file registry's size (2097152 bytes) does not match its 2 slots");
}

}  // namespace
}  // namespace ringlog
