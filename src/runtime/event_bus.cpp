// In-process publish/subscribe by event name (see mercato/event.hpp).
#include "mercato/event.hpp"

#include "log/log.hpp"
#include "runtime/clock.hpp"
#include "runtime/uuid.hpp"

namespace mercato {
namespace {

bool matches(const std::string& pattern, const event& e) {
  if (pattern == "*") return true;
  if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ".*") == 0)
    return e.publisher == std::string_view(pattern).substr(0, pattern.size() - 2);
  return pattern == e.name;
}

}  // namespace

event make_event(std::string publisher, std::string short_name, std::string payload,
                 std::string correlation_id) {
  event e;
  e.event_id = uuid_v4();
  e.name = publisher + "." + short_name;
  e.publisher = std::move(publisher);
  e.occurred_at = clock::iso8601_now();
  e.correlation_id = std::move(correlation_id);
  e.payload = std::move(payload);
  return e;
}

event_bus::subscription_id event_bus::subscribe(std::string pattern, handler h) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto id = next_id_++;
  subscribers_.push_back(entry{id, std::move(pattern), std::move(h)});
  return id;
}

void event_bus::unsubscribe(subscription_id id) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto it = subscribers_.begin(); it != subscribers_.end(); ++it) {
    if (it->id == id) {
      subscribers_.erase(it);
      return;
    }
  }
}

void event_bus::publish(const event& e) const {
  std::vector<handler> targets;  // call outside the lock: a handler may (un)subscribe
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (const auto& s : subscribers_)
      if (matches(s.pattern, e)) targets.push_back(s.fn);
  }
  for (const auto& fn : targets) {
    try {
      fn(e);
    } catch (const std::exception& ex) {
      // One broken subscriber must not stop delivery to the others, nor the outbox relay.
      log::error("event_bus", "subscriber_failed", {{"event", e.name}, {"event_id", e.event_id},
                                                    {"reason", ex.what()}});
    }
  }
}

}  // namespace mercato
