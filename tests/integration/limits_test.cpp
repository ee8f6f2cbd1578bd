// The limits on what an engine controls (docs/security.md): each hit in turn, with the error that
// names it as ringlogctl shows it, and the daemon serving on.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "ringlog/client.h"

namespace ringlog::test {
namespace {

// `ringlogctl run ARGS -- /bin/true` against `d`: its exit status and what it said.
std::string runOnce(const Daemon& d, const fs::path& dir, std::vector<std::string> args) {
    args.insert(args.end(), {"--", "/bin/true"});
    SpawnOptions o;
    o.stderr_file = (dir / "run.err").string();
    fs::remove(o.stderr_file);  // spawn appends
    int status = ringlogctlRun(d, args, o);
    return std::to_string(status) + " " + readFile(o.stderr_file);
}

TEST(Limits, RingsAndContainersPastTheirLimitsAreRefusedNamingTheLimit) {
    TempDir dir;
    Daemon d(dir.path(),
             {"--max-ring-size", "2m", "--total-ring-size", "3m", "--max-containers", "3"});
    EXPECT_EQ(runOnce(d, dir.path(), {"--id", "big", "--log-opt", "max-buffer-size=4m"}),
              "125 ringlogctl: max-buffer-size 4194304 (4m) is more than a container's ring may "
              "hold (max-ring-size 2097152 (2m))\n");
    // Held attached: containers whose pipes stay open.
    std::vector<Pipe> held(3);
    auto attach = [&](Pipe& p, const std::string& id, const char* ring) {
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = id.c_str();
        a.max_buffer_size = ring;
        a.stdout_fd = p.read_fd;
        char err[RINGLOG_MAX_REPLY_BYTES];
        int status = ringlog_attach_send(d.socket().c_str(), &a, err, sizeof err);
        return std::to_string(status) + " " + err;
    };
    EXPECT_EQ(attach(held[0], "two", "2m").substr(0, 2), "0 ");
    EXPECT_EQ(attach(held[1], "one", "1m").substr(0, 2), "0 ");
    EXPECT_EQ(attach(held[2], "more", "64k"),
              std::to_string(RINGLOG_STATUS_LIMIT) +
                  " the attached containers' rings may hold 3145728 (3m); 65536 (64k) more "
                  "would pass total-ring-size 3145728 (3m)");
    EXPECT_EQ(runOnce(d, dir.path(), {"--id", "more", "--log-opt", "max-buffer-size=64k"}),
              "125 ringlogctl: the attached containers' rings may hold 3145728 (3m); 65536 (64k) "
              "more would pass total-ring-size 3145728 (3m)\n");
    // A container that ends frees its share; a third one fits, a fourth is past max-containers.
    held[1].closeWrite();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (d.log().find("container one exited") == std::string::npos) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << d.log();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Pipe third, fourth;
    EXPECT_EQ(attach(third, "third", "64k").substr(0, 2), "0 ");
    EXPECT_EQ(attach(held[2], "three", "64k").substr(0, 2), "0 ");
    EXPECT_EQ(attach(fourth, "fourth", "64k"),
              std::to_string(RINGLOG_STATUS_LIMIT) +
                  " the limit of 3 attached containers (max-containers) is reached");
    EXPECT_EQ(d.stop(), 0);
}

}  // namespace
}  // namespace ringlog::test
