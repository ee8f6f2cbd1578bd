#include "drivers/journald/journald_driver.h"

#include <gtest/gtest.h>

namespace ringlog {
namespace {

// Docker's CONTAINER_PARTIAL_ID is 64 lowercase hex characters (stringid.GenerateRandomID).
// ringlogd's has that form and is derived from the epoch and the group's first ordinal, so an
// entry sent again after a crash, or by the next ringlogd continuing the epoch, has the same id.
TEST(JournaldPartialId, IsSixtyFourHexCharactersTheEpochThenTheFirstOrdinal) {
    const std::string epoch = "a3f09c2e7b6d41588e0f1a2b3c4d5e6f";
    EXPECT_EQ(partialGroupId(epoch, 42),
              "a3f09c2e7b6d41588e0f1a2b3c4d5e6f0000000000000000000000000000002a");
    EXPECT_EQ(partialGroupId(epoch, UINT64_MAX),
              "a3f09c2e7b6d41588e0f1a2b3c4d5e6f0000000000000000ffffffffffffffff");
    EXPECT_EQ(partialGroupId(epoch, 42), partialGroupId(std::string(epoch), 42));
    EXPECT_NE(partialGroupId(epoch, 42), partialGroupId(epoch, 43));
    EXPECT_NE(partialGroupId(epoch, 42), partialGroupId("b3f09c2e7b6d41588e0f1a2b3c4d5e6f", 42));
}

}  // namespace
}  // namespace ringlog
