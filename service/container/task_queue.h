// TaskQueue: one background thread for work that must stay off the write path (log compression,
// freeing finished containers).
// drain() runs everything queued so far before returning; the destructor drains too.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "drivers/log_driver.h"

namespace ringlog {

class TaskQueue final : public BackgroundWork {
  public:
    TaskQueue();
    ~TaskQueue() override;
    TaskQueue(const TaskQueue&) = delete;
    TaskQueue& operator=(const TaskQueue&) = delete;

    void post(std::function<void()> task) override;
    void drain();

  private:
    void run();

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> tasks_;
    size_t running_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace ringlog
