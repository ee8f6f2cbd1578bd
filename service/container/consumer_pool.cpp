#include "service/container/consumer_pool.h"

namespace ringlog {

ConsumerPool::ConsumerPool(size_t threads, Callbacks callbacks) : callbacks_(std::move(callbacks)) {
    for (size_t i = 0; i < threads; ++i)
        threads_.emplace_back([this] { run(); });
}

ConsumerPool::~ConsumerPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
        t.join();
}

void ConsumerPool::schedule(const std::shared_ptr<Container>& container) {
    if (container->scheduled.exchange(true))
        return;
    {
        std::lock_guard lock(mutex_);
        ready_.push_back(container);
    }
    cv_.notify_one();
}

void ConsumerPool::run() {
    std::vector<RecordView> scratch;
    std::vector<uint32_t> ends;
    std::unique_lock lock(mutex_);
    for (;;) {
        auto now = Clock::now();
        while (!timed_.empty() && timed_.top().at <= now) {
            const Timed& t = timed_.top();
            if (!t.unless_scheduled) {
                ready_.push_back(t.container);
            } else if (!t.container->finished.load()) {
                // Queued or running now: the consumer looks at the flag when it is done, so the
                // retry is not lost (set first: see kRetryLaterOrSooner below).
                t.container->retry_missed.store(true);
                if (!t.container->scheduled.exchange(true)) {
                    t.container->retry_missed.store(false);
                    ready_.push_back(t.container);
                }
            }
            timed_.pop();
        }
        if (stopping_)
            return;
        if (ready_.empty()) {
            if (timed_.empty()) {
                cv_.wait(lock);
            } else {
                // A copy: wait_until() reads its deadline again after waking, and meanwhile
                // another thread may have pushed to timed_ and moved the top element (ASan saw
                // the reference read after a reallocation freed it).
                Clock::time_point until = timed_.top().at;
                cv_.wait_until(lock, until);
            }
            continue;
        }
        auto container = std::move(ready_.front());
        ready_.pop_front();
        lock.unlock();

        auto outcome = container->consume(scratch, ends, Clock::now());
        if (outcome.wake_producer && callbacks_.producer_may_resume)
            callbacks_.producer_may_resume(container);
        if (outcome.wake_followers && callbacks_.followers_have_data)
            callbacks_.followers_have_data(container);
        if (outcome.health_changed && callbacks_.health_changed)
            callbacks_.health_changed(container);
        bool requeue = false;
        switch (outcome.kind) {
            case Container::ConsumeOutcome::kMore:
                requeue = true;
                break;
            case Container::ConsumeOutcome::kRetryLater: {
                std::lock_guard relock(mutex_);
                timed_.push({outcome.retry_at, container});
                break;
            }
            case Container::ConsumeOutcome::kRetryLaterOrSooner: {
                if (outcome.arm_timer) {
                    std::lock_guard relock(mutex_);
                    timed_.push({outcome.retry_at, container, true});
                }
                // As kIdle: new records queue it before its time.
                container->scheduled.store(false);
                bool missed = container->retry_missed.exchange(false);
                if ((missed || container->hasWork()) && !container->finished.load() &&
                    !container->scheduled.exchange(true))
                    requeue = true;
                break;
            }
            case Container::ConsumeOutcome::kDrained:
                if (!container->finished.exchange(true)) {
                    container->finish();
                    if (callbacks_.drained)
                        callbacks_.drained(container);
                }
                container->scheduled.store(false);
                break;
            case Container::ConsumeOutcome::kIdle:
                // Unqueue, then look again: a push that saw `scheduled` still set relies on this.
                container->scheduled.store(false);
                if (container->hasWork() && !container->finished.load() &&
                    !container->scheduled.exchange(true))
                    requeue = true;
                break;
        }
        lock.lock();
        if (requeue)
            ready_.push_back(std::move(container));
    }
}

}  // namespace ringlog
