// Domain and runtime events, and the in-process bus that carries them (publish/subscribe by name).
// Plain C++: subscribers are callbacks, so actors subscribe with a callback that sends a message.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
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
  // throws is logged and skipped.
  void publish(const event& e) const;

 private:
  struct entry {
    subscription_id id;
    std::string pattern;
    handler fn;
  };
  mutable std::mutex mutex_;
  std::vector<entry> subscribers_;
  subscription_id next_id_ = 1;
};

}  // namespace mercato
