// The background queue: what a task captured is destroyed off the queue's lock, so whoever posts
// (the event loop) never waits for a finished container to be freed.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>

#include "service/container/task_queue.h"

namespace ringlog {
namespace {

// Stands in for a finished container whose destruction takes long: once being destroyed, it waits
// (at most 10 s) to be told that the next post() returned.
struct SlowToFree {
    std::promise<void>* freeing = nullptr;
    std::shared_future<void> may_finish;
    std::promise<bool>* told_in_time = nullptr;
    ~SlowToFree() {
        freeing->set_value();
        told_in_time->set_value(may_finish.wait_for(std::chrono::seconds(10)) ==
                                std::future_status::ready);
    }
};

TEST(TaskQueue, PostDoesNotWaitWhileAFinishedTasksCapturesAreFreed) {
    std::promise<void> freeing, post_returned;
    std::promise<bool> told_in_time;
    TaskQueue queue;
    auto slow = std::make_shared<SlowToFree>();
    slow->freeing = &freeing;
    slow->may_finish = post_returned.get_future().share();
    slow->told_in_time = &told_in_time;
    queue.post([slow = std::move(slow)] {});
    freeing.get_future().wait();
    queue.post([] {});
    post_returned.set_value();
    EXPECT_TRUE(told_in_time.get_future().get())
        << "post() waited for the previous task's captures to be destroyed";
    queue.drain();
}

}  // namespace
}  // namespace ringlog
