#include "service/container/task_queue.h"

namespace ringlog {

TaskQueue::TaskQueue() : thread_([this] { run(); }) {}

TaskQueue::~TaskQueue() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void TaskQueue::post(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    cv_.notify_all();
}

void TaskQueue::drain() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return tasks_.empty() && running_ == 0; });
}

void TaskQueue::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty())
            return;  // stopping, and everything queued has run
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        ++running_;
        lock.unlock();
        task();
        // What the task captured goes now, unlocked: freeing a finished container (its ring's
        // memory, its files) is slow work, and post() must never wait for it.
        task = nullptr;
        lock.lock();
        --running_;
        cv_.notify_all();
    }
}

}  // namespace ringlog
