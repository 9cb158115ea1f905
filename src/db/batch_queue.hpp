// Adaptive batching of one hot statement across requests (orders, reservations, …).
//
// PostgreSQL's cost for a statement that writes a few tables is mostly per statement, not per
// row: executor start-up, relation locks, constraint and index set-up, the commit. On this box a
// statement inserting into six tables runs 7,000 times/s with one row per table and carries
// 24,000 rows/s per table with eight (bench/pg_batch.sh). So under load N requests should share
// one statement.
//
// The queue never waits for a batch to fill: a request that finds nothing running goes out at
// once, alone. Requests that arrive while a batch runs wait, and leave together (up to
// `max_batch`) when it finishes. A further batch runs beside it (up to `max_in_flight`) only once
// the backlog would fill half a batch: below that, joining the next batch costs a request less
// than the statement of its own, and a second small batch halves the sharing for everyone
// (orders run: 5.7 statements per order instead of 7.4; bench/README.md).
// Idle → no added latency; busy → batches as large as the backlog.
//
// Single-threaded: owned by one actor's state. Each batch handed out must be reported back with
// finished() exactly once, whatever its outcome, or the queue stalls at the in-flight limit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace mercato::db {

template <class Item>
class batch_queue {
 public:
  explicit batch_queue(size_t max_batch = 32, size_t max_in_flight = 1)
      : max_batch_(std::max<size_t>(1, max_batch)), max_in_flight_(std::max<size_t>(1, max_in_flight)) {}

  // Adds a request. Returns the batch to send now (this request, with any that were waiting), or
  // an empty vector when it waits for a running batch to finish.
  std::vector<Item> push(Item item) {
    waiting_.push_back(std::move(item));
    return may_start() ? take() : std::vector<Item>{};
  }

  // A batch handed out by push() or finished() is done. Returns the next batch to send (empty
  // when nothing waits).
  std::vector<Item> finished() {
    if (in_flight_ > 0) --in_flight_;
    return may_start() ? take() : std::vector<Item>{};
  }

  // finished(), then the next batch (if any) handed to `send` at once, so that the next statement
  // leaves before the caller settles the requests of the one that finished.
  template <class Send>
  void finished(Send&& send) {
    auto next = finished();
    if (!next.empty()) send(std::move(next));
  }

  size_t waiting() const noexcept { return waiting_.size(); }
  size_t in_flight() const noexcept { return in_flight_; }

  // Since start: batches handed out, the requests they carried, the largest batch. The mean batch
  // (items / batches) says how much sharing the load produced.
  uint64_t batches() const noexcept { return batches_; }
  uint64_t items() const noexcept { return items_; }
  size_t largest() const noexcept { return largest_; }

  // The counters above and the current queue as a JSON object, for an agent's /health.
  std::string health_json() const {
    return "{\"batches\":" + std::to_string(batches_) + ",\"items\":" + std::to_string(items_) +
           ",\"largest\":" + std::to_string(largest_) + ",\"waiting\":" + std::to_string(waiting_.size()) +
           ",\"in_flight\":" + std::to_string(in_flight_) + "}";
  }

 private:
  bool may_start() const noexcept {
    if (in_flight_ == 0) return true;
    return in_flight_ < max_in_flight_ && waiting_.size() * 2 >= max_batch_;
  }

  std::vector<Item> take() {
    std::vector<Item> batch;
    const size_t n = std::min(max_batch_, waiting_.size());
    if (n == 0) return batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    ++in_flight_;
    ++batches_;
    items_ += n;
    largest_ = std::max(largest_, n);
    return batch;
  }

  size_t max_batch_;
  size_t max_in_flight_;
  size_t in_flight_ = 0;
  std::deque<Item> waiting_;
  uint64_t batches_ = 0;
  uint64_t items_ = 0;
  size_t largest_ = 0;
};

}  // namespace mercato::db
