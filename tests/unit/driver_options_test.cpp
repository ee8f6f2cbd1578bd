#include <gtest/gtest.h>

#include "drivers/log_driver.h"
#include "drivers/registry.h"

namespace ringlog {
namespace {

const DriverDescriptor& jsonFile() {
    return *findDriver("json-file");
}

TEST(DriverRegistry, ListsJsonFileAndNone) {
    EXPECT_NE(findDriver("json-file"), nullptr);
    EXPECT_NE(findDriver("none"), nullptr);
    EXPECT_EQ(findDriver("journald-typo"), nullptr);
}

TEST(DriverOptions, FillsInDefaults) {
    auto o = validateOptions(jsonFile(), {}, {{"max-size", "10m"}});
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->at("max-size"), "10m");
    EXPECT_EQ(o->at("max-file"), "1");
    EXPECT_EQ(o->at("compress"), "false");
}

TEST(DriverOptions, AnUnknownKeyIsAnErrorThatNamesIt) {
    auto o = validateOptions(jsonFile(), {}, {{"max-sise", "10m"}});
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error().message.rfind("unknown log option \"max-sise\" for driver json-file", 0),
              0u);
}

TEST(DriverOptions, AMalformedValueIsAnErrorThatNamesTheKey) {
    auto o = validateOptions(jsonFile(), {}, {{"compress", "maybe"}});
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error().message, "log option \"compress\": \"maybe\" is not true or false");
    auto s = validateOptions(jsonFile(), {}, {{"max-size", "1.2.3m"}});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().message,
              "log option \"max-size\": \"1.2.3m\" is not a size such as 10m, 1.5m or 500k "
              "(decimal, as docker's json-file reads it: 1m is 1000000 bytes), or -1");
}

TEST(DriverOptions, MaxSizeTakesDockersDecimalForms) {
    for (const char* ok : {"1m", "1.5m", "10 m", "1MiB", "500kb", "-1"}) {
        auto o = validateOptions(jsonFile(), {}, {{"max-size", ok}});
        EXPECT_TRUE(o.ok()) << ok << ": " << o.error().message;
    }
}

}  // namespace
}  // namespace ringlog
