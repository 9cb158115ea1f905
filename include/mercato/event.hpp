// Domain and runtime events, and the in-process bus that carries them (publish/subscribe by name).
// Plain C++: subscribers are callbacks, so actors subscribe with a callback that sends a message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mercato {

// Envelope of agents/README.md §2. `payload` is a JSON object rendered as text.
struct event {
  std::string event_id;
  std::string name;       // qualified: "<publisher>.<event>", e.g. "supervisor.agent_crashed"
  std::string publisher;
  std::string occurred_at;  // ISO 8601 UTC
  std::string correlation_id;
  std::string payload = "{}";
};

// Builds an envelope with a fresh id and the current time.
event make_event(std::string publisher, std::string short_name, std::string payload,
                 std::string correlation_id = {});

class event_bus {
 public:
  using handler = std::function<void(const event&)>;
  using subscription_id = uint64_t;

  // `pattern` is an exact qualified name, "<publisher>.*", or "*".
  subscription_id subscribe(std::string pattern, handler h);
  void unsubscribe(subscription_id id);
  // Calls every matching handler on the caller's thread; handlers must not block. A handler that
  // throws is logged and skipped. Events matching a durable consumer are also held for it.
  void publish(const event& e);

  // Durable consumers. A plain subscription lives and dies with one agent incarnation, so events
  // published while the agent restarts, and those still in a crashed incarnation's mailbox, are
  // gone. An agent that keeps state from events (customer statistics, sales counts) declares a
  // durable consumer instead: matching events are held until it acknowledges them, delivered
  // again to each new incarnation that attaches, and again while unacknowledged for longer than
  // `redeliver_stale`'s age (a consumer whose database was down). Delivery is at least once; the
  // consumer skips duplicates (db::mark_processed). Held events live in memory; the outbox relay
  // keeps an event's outbox row until no consumer holds it (held()), so that a crash of the whole
  // process re-publishes what was not yet acknowledged.
  static constexpr size_t max_held_per_consumer = 100000;  // beyond: the oldest is dropped, logged

  // Idempotent; a later call replaces the patterns.
  void declare_consumer(const std::string& consumer, std::vector<std::string> patterns);
  // The consumer's current incarnation: receives everything held (oldest first), then new events.
  // Returns a token for detach, so that a late exit of an old incarnation cannot detach a newer one.
  uint64_t attach(const std::string& consumer, handler deliver);
  void detach(const std::string& consumer, uint64_t token);
  // The consumer is done with `event_id` (applied, a duplicate, or refused for good).
  void ack(const std::string& consumer, const std::string& event_id);
  // For each id: whether some durable consumer still holds that event (one lock for all).
  std::vector<bool> held(const std::vector<std::string>& event_ids) const;
  // Re-delivers events held longer than `age` since their last delivery; returns how many.
  size_t redeliver_stale(std::chrono::milliseconds age);

  struct consumer_stats {
    std::string consumer;
    bool attached = false;
    size_t held = 0;
    uint64_t delivered = 0;
    uint64_t redelivered = 0;
    uint64_t dropped = 0;
  };
  std::vector<consumer_stats> consumers() const;

 private:
  struct entry {
    subscription_id id;
    std::string pattern;
    handler fn;
  };
  struct held_event {
    event e;
    std::chrono::steady_clock::time_point sent_at;  // last delivery; epoch = never delivered
  };
  struct durable {
    std::vector<std::string> patterns;
    handler deliver;  // empty while detached
    uint64_t token = 0;
    uint64_t next_seq = 1;
    std::map<uint64_t, held_event> held;              // by arrival, oldest first
    std::unordered_map<std::string, uint64_t> by_id;  // event_id → seq
    uint64_t delivered = 0, redelivered = 0, dropped = 0;
  };
  // Calls `fn(e)` for each pair outside the lock, logging (never propagating) a throw.
  static void deliver_all(const std::vector<std::pair<handler, event>>& out);

  mutable std::mutex mutex_;
  std::vector<entry> subscribers_;
  subscription_id next_id_ = 1;
  std::map<std::string, durable> durables_;
  uint64_t next_token_ = 1;
};

}  // namespace mercato
