// Per-request reads that share one statement under load.
//
// Every order makes a few small keyed reads in other agents: the customer's summary
// (validate_customer), the payment-method changes fraud scores, the stock levels of
// check_availability. Each executes in tens of microseconds; what it costs is the round trip: a
// pool thread's hand-off, the protocol exchange and PostgreSQL's per-statement set-up, on both
// sides. Under the orders bench these three reads were half of all statements (one each per
// order, against about 0.15 per order for each batched write). shared_reads puts a read behind
// db::batch_queue: a read that finds none running goes out at once, alone; the reads that arrive
// meanwhile leave together in one statement for all their keys.
//
// Single-threaded: owned by one actor's state, called only inside that actor. The agent supplies
// how a batch runs (its pool helper): `run(std::vector<Key> keys, finish_fn finish)` must call
// `finish` exactly once, inside the actor, with one value per key in the keys' order or with the
// failure every read of the batch gets.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/batch_queue.hpp"
#include "runtime/agent_error.hpp"

namespace mercato {

template <class Key, class Value>
class shared_reads {
 public:
  struct batch_outcome {
    std::optional<failure> failed;  // set: every read of the batch fails with it
    std::vector<Value> values;      // else one per key, in the keys' order
  };
  using finish_fn = std::function<void(batch_outcome)>;
  // The read's answer: its value, or the failure of its batch (then `value` is Value{}).
  using reply_fn = std::function<void(std::optional<failure> failed, Value value)>;

  shared_reads(size_t max_batch, size_t max_in_flight) : queue_(max_batch, max_in_flight) {}

  template <class Run>
  void read(Key key, reply_fn reply, Run run) {
    auto batch = queue_.push(item{std::move(key), std::move(reply)});
    if (!batch.empty()) send(std::move(batch), std::move(run));
  }

  // For an agent's /health: batches, the reads they carried, the largest, waiting, in flight.
  std::string health_json() const { return queue_.health_json(); }
  uint64_t batches() const noexcept { return queue_.batches(); }
  uint64_t items() const noexcept { return queue_.items(); }

 private:
  struct item {
    Key key;
    reply_fn reply;
  };

  template <class Run>
  void send(std::vector<item> batch, Run run) {
    std::vector<Key> keys;
    keys.reserve(batch.size());
    auto replies = std::make_shared<std::vector<reply_fn>>();
    replies->reserve(batch.size());
    for (auto& i : batch) {
      keys.push_back(std::move(i.key));
      replies->push_back(std::move(i.reply));
    }
    // `this` outlives the call: finish runs inside the actor that owns this object.
    run(std::move(keys), finish_fn{[this, run, replies](batch_outcome o) {
          // The next batch leaves before the replies are handed out: the database starts on it sooner.
          queue_.finished([this, run](auto next) { send(std::move(next), run); });
          if (!o.failed && o.values.size() != replies->size())
            o.failed = failure{failure_kind::internal, "internal",
                               "A shared read answered " + std::to_string(o.values.size()) + " of " +
                                   std::to_string(replies->size()) + " keys",
                               {}};
          for (size_t i = 0; i < replies->size(); ++i) {
            if (o.failed)
              (*replies)[i](o.failed, Value{});
            else
              (*replies)[i](std::nullopt, std::move(o.values[i]));
          }
        }});
  }

  db::batch_queue<item> queue_;
};

}  // namespace mercato
