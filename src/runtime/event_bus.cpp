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

void event_bus::deliver_all(const std::vector<std::pair<handler, event>>& out) {
  for (const auto& [fn, e] : out) {
    try {
      fn(e);
    } catch (const std::exception& ex) {
      // One broken subscriber must not stop delivery to the others, nor the outbox relay.
      log::error("event_bus", "subscriber_failed", {{"event", e.name}, {"event_id", e.event_id},
                                                    {"reason", ex.what()}});
    }
  }
}

void event_bus::publish(const event& e) {
  std::vector<std::pair<handler, event>> out;  // called outside the lock: a handler may (un)subscribe
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (const auto& s : subscribers_)
      if (matches(s.pattern, e)) out.emplace_back(s.fn, e);
    const auto now = std::chrono::steady_clock::now();
    for (auto& [name, d] : durables_) {
      bool wanted = false;
      for (const auto& p : d.patterns) wanted = wanted || matches(p, e);
      if (!wanted || d.by_id.count(e.event_id)) continue;  // a re-publication of a held event
      if (d.held.size() >= max_held_per_consumer) {
        auto oldest = d.held.begin();
        if (d.dropped % 1000 == 0)  // the first drop, then every thousandth: no log flood
          log::error("event_bus", "consumer_backlog_dropped",
                     {{"consumer", name}, {"event", oldest->second.e.name},
                      {"event_id", oldest->second.e.event_id}, {"dropped_so_far", d.dropped + 1}});
        d.by_id.erase(oldest->second.e.event_id);
        d.held.erase(oldest);
        ++d.dropped;
      }
      const uint64_t seq = d.next_seq++;
      d.held.emplace(seq, held_event{e, d.deliver ? now : std::chrono::steady_clock::time_point{}});
      d.by_id.emplace(e.event_id, seq);
      if (d.deliver) {
        out.emplace_back(d.deliver, e);
        ++d.delivered;
      }
    }
  }
  deliver_all(out);
}

std::vector<bool> event_bus::held(const std::vector<std::string>& event_ids) const {
  std::vector<bool> out(event_ids.size(), false);
  std::lock_guard<std::mutex> guard{mutex_};
  for (size_t i = 0; i < event_ids.size(); ++i)
    for (const auto& [name, d] : durables_)
      if (d.by_id.count(event_ids[i])) {
        out[i] = true;
        break;
      }
  return out;
}

void event_bus::declare_consumer(const std::string& consumer, std::vector<std::string> patterns) {
  std::lock_guard<std::mutex> guard{mutex_};
  durables_[consumer].patterns = std::move(patterns);
}

uint64_t event_bus::attach(const std::string& consumer, handler deliver) {
  std::vector<std::pair<handler, event>> out;
  uint64_t token = 0;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto& d = durables_[consumer];
    d.deliver = std::move(deliver);
    d.token = token = next_token_++;
    const auto now = std::chrono::steady_clock::now();
    for (auto& [seq, h] : d.held) {  // what the previous incarnation left unacknowledged
      if (h.sent_at != std::chrono::steady_clock::time_point{}) ++d.redelivered;
      else ++d.delivered;
      h.sent_at = now;
      out.emplace_back(d.deliver, h.e);
    }
  }
  if (!out.empty())
    log::info("event_bus", "consumer_catch_up", {{"consumer", consumer}, {"events", out.size()}});
  deliver_all(out);
  return token;
}

void event_bus::detach(const std::string& consumer, uint64_t token) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = durables_.find(consumer);
  if (it == durables_.end() || it->second.token != token) return;  // a newer incarnation attached
  it->second.deliver = nullptr;
}

void event_bus::ack(const std::string& consumer, const std::string& event_id) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = durables_.find(consumer);
  if (it == durables_.end()) return;
  auto& d = it->second;
  auto id = d.by_id.find(event_id);
  if (id == d.by_id.end()) return;  // acknowledged already (a duplicate delivery)
  d.held.erase(id->second);
  d.by_id.erase(id);
}

size_t event_bus::redeliver_stale(std::chrono::milliseconds age) {
  std::vector<std::pair<handler, event>> out;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    const auto now = std::chrono::steady_clock::now();
    for (auto& [name, d] : durables_) {
      if (!d.deliver) continue;
      for (auto& [seq, h] : d.held) {
        if (now - h.sent_at < age) continue;
        h.sent_at = now;
        ++d.redelivered;
        out.emplace_back(d.deliver, h.e);
      }
    }
  }
  deliver_all(out);
  return out.size();
}

std::vector<event_bus::consumer_stats> event_bus::consumers() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<consumer_stats> out;
  for (const auto& [name, d] : durables_)
    out.push_back({name, static_cast<bool>(d.deliver), d.held.size(), d.delivered, d.redelivered, d.dropped});
  return out;
}

}  // namespace mercato
