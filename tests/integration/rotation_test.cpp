// Rotation as docker does it, under a real writer.
#include <gtest/gtest.h>

#include <set>

#include "harness.h"

namespace ringlog::test {
namespace {

TEST(Rotation, MaxSizeMaxFileAndCompressKeepThreeFilesWithDockersNamesAndEveryLineOnce) {
    TempDir dir;
    Daemon d(dir.path());
    ASSERT_EQ(ringlogctlRun(d, {"--id", "rot", "--log-opt", "max-size=1m", "--log-opt",
                                "max-file=3", "--log-opt", "compress=true", "--", lineWriterPath(),
                                "--lines", "200000", "--width", "100"}),
              0);
    ASSERT_EQ(d.stop(), 0) << d.log();
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(d.logRoot() / "rot"))
        names.insert(e.path().filename().string());
    EXPECT_EQ(names,
              (std::set<std::string>{"rot-json.log", "rot-json.log.1.gz", "rot-json.log.2.gz"}));

    fs::path base = d.logRoot() / "rot" / "rot-json.log";
    std::vector<JsonRecord> all;
    for (const auto& f :
         {fs::path(base.string() + ".2.gz"), fs::path(base.string() + ".1.gz"), base}) {
        auto part = readJsonLog(f);
        ASSERT_FALSE(part.empty()) << f;
        EXPECT_LE(readFile(f).size(), f.extension() == ".gz" ? 1u << 20 : (1u << 20) + 200);
        all.insert(all.end(), part.begin(), part.end());
    }
    // What is kept is a contiguous run of the newest lines: none twice, none missing.
    long long first = std::stoll(all.front().log.substr(7, 9));
    for (size_t i = 0; i < all.size(); ++i) {
        ASSERT_TRUE(startsWith(all[i].log, linePrefix("stdout", first + static_cast<long long>(i))))
            << i;
    }
    EXPECT_EQ(first + static_cast<long long>(all.size()), 200000);
    EXPECT_GT(all.size(), 10000u);
}

}  // namespace
}  // namespace ringlog::test
