// The deadline thread of the asks between agents (see ask_deadlines.hpp).
#include "runtime/ask_deadlines.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mercato::ask_deadlines {
namespace {

using steady = std::chrono::steady_clock;

class deadline_table {
 public:
  ~deadline_table() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void arm(std::chrono::milliseconds timeout, std::weak_ptr<ask_deadline> ask, std::shared_ptr<ask_deadline> held) {
    std::lock_guard<std::mutex> guard{mutex_};
    const auto due = steady::now() + timeout;  // under the lock: each queue stays in due order
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    queue_for(timeout).push_back({due, std::move(ask), std::move(held)});
    ++waiting_;
  }

  void recheck_receivers() {
    std::lock_guard<std::mutex> guard{mutex_};
    // Two passes: an ask that read the stopped incarnation's handle just before the directory
    // cleared it may be armed a moment after the first.
    recheck_passes_ = 2;
  }

  size_t waiting() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return waiting_;
  }

 private:
  struct entry {
    steady::time_point due;
    std::weak_ptr<ask_deadline> ask;
    std::shared_ptr<ask_deadline> held;  // arm_held: kept alive until due
  };
  // The deadlines of one timeout length, in the order they were armed, which is the order they
  // fall due. A handful of lengths are in use (the call timeout, the enrichment timeouts).
  struct queue {
    std::chrono::milliseconds timeout;
    std::deque<entry> entries;
  };

  std::deque<entry>& queue_for(std::chrono::milliseconds timeout) {
    for (auto& q : queues_)
      if (q.timeout == timeout) return q.entries;
    queues_.push_back({timeout, {}});
    return queues_.back().entries;
  }

  void run() {
    std::vector<std::shared_ptr<ask_deadline>> due, suspects;
    std::unique_lock<std::mutex> lock{mutex_};
    while (!stopping_) {
      wake_.wait_for(lock, tick, [this] { return stopping_; });
      if (stopping_) break;
      if (recheck_passes_ > 0) {  // an agent stopped: every ask still waiting is a suspect (rare: a full scan)
        --recheck_passes_;
        for (auto& q : queues_)
          for (auto& e : q.entries)
            if (auto ask = e.held ? e.held : e.ask.lock()) suspects.push_back(std::move(ask));
      }
      const auto now = steady::now();
      for (auto& q : queues_) {
        while (!q.entries.empty() && q.entries.front().due <= now) {
          auto& front = q.entries.front();
          if (front.held) due.push_back(std::move(front.held));
          else if (auto ask = front.ask.lock()) due.push_back(std::move(ask));
          q.entries.pop_front();
          --waiting_;
        }
      }
      // Expire outside the lock: arming never waits for the sends.
      lock.unlock();
      for (auto& ask : due)
        if (ask->settle()) ask->expire();
      due.clear();
      for (auto& ask : suspects)
        if (ask->receiver_stopped() && ask->settle()) ask->abandon();
      suspects.clear();
      lock.lock();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int recheck_passes_ = 0;
  std::deque<queue> queues_;
  size_t waiting_ = 0;
  std::thread thread_;
};

deadline_table& table() {
  static deadline_table instance;
  return instance;
}

}  // namespace

void arm(std::chrono::milliseconds timeout, std::weak_ptr<ask_deadline> ask) {
  table().arm(timeout, std::move(ask), nullptr);
}

void arm_held(std::chrono::milliseconds timeout, std::shared_ptr<ask_deadline> ask) {
  table().arm(timeout, {}, std::move(ask));
}

void recheck_receivers() { table().recheck_receivers(); }

size_t waiting() { return table().waiting(); }

}  // namespace mercato::ask_deadlines
