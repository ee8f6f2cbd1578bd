// ConsumerPool: a fixed set of threads that persist containers' rings through their drivers.
// A container is queued when its reader pushed records (or closed its input); each turn persists
// a bounded number of cells, then the container goes to the back of the queue, so one busy
// container cannot starve the others. Retries wait in a timer queue.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "service/container/container.h"

namespace ringlog {

class ConsumerPool {
  public:
    struct Callbacks {
        // A container's ring has room again for its blocked reader.
        std::function<void(const std::shared_ptr<Container>&)> producer_may_resume;
        // A container's followers have new records to read.
        std::function<void(const std::shared_ptr<Container>&)> followers_have_data;
        // A container's input is closed and everything is persisted; finish() has run.
        std::function<void(const std::shared_ptr<Container>&)> drained;
        // A container's sink became degraded, or recovered (Container::health()).
        std::function<void(const std::shared_ptr<Container>&)> health_changed;
    };

    ConsumerPool(size_t threads, Callbacks callbacks);
    // Stops the threads once each has finished the container it is persisting; containers still
    // queued are left as they are (their records stay in their rings).
    ~ConsumerPool();
    ConsumerPool(const ConsumerPool&) = delete;
    ConsumerPool& operator=(const ConsumerPool&) = delete;

    // Queues the container unless it is queued, running or waiting for a retry already.
    void schedule(const std::shared_ptr<Container>& container);
    size_t threadCount() const { return threads_.size(); }

  private:
    using Clock = Container::Clock;
    struct Timed {
        Clock::time_point at;
        std::shared_ptr<Container> container;
        // Queued meanwhile by new records (kRetryLaterOrSooner): then the timer has nothing to do.
        bool unless_scheduled = false;
        bool operator>(const Timed& o) const { return at > o.at; }
    };

    void run();

    Callbacks callbacks_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Container>> ready_;
    std::priority_queue<Timed, std::vector<Timed>, std::greater<>> timed_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace ringlog
