// Gateway request metrics and Prometheus rendering (see metrics.hpp).
#include "runtime/metrics.hpp"

#include <fmt/format.h>

#include "mercato/agent_directory.hpp"
#include "mercato/event.hpp"

namespace mercato {
namespace {

constexpr std::array<std::string_view, http_metrics::method_count> method_names{
    "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "other"};

// Exact codes we expect, then one bucket per class for the rest.
constexpr std::array<int, 21> known_statuses{200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404,
                                            405, 408, 409, 413, 422, 429, 431, 502, 503, 504};
constexpr std::array<std::string_view, 5> class_labels{"1xx", "2xx", "3xx", "4xx", "5xx"};
static_assert(known_statuses.size() + class_labels.size() == http_metrics::status_count);

size_t method_index(std::string_view m) {
  for (size_t i = 0; i + 1 < method_names.size(); ++i)
    if (method_names[i] == m) return i;
  return method_names.size() - 1;
}

size_t status_index(int status) {
  for (size_t i = 0; i < known_statuses.size(); ++i)
    if (known_statuses[i] == status) return i;
  int cls = status / 100;
  if (cls < 1 || cls > 5) cls = 5;
  return known_statuses.size() + static_cast<size_t>(cls - 1);
}

std::string status_label(size_t index) {
  if (index < known_statuses.size()) return std::to_string(known_statuses[index]);
  return std::string(class_labels[index - known_statuses.size()]);
}

}  // namespace

http_metrics::http_metrics(size_t agent_count)
    : slots_count_(agent_count + 1), slots_(std::make_unique<slot[]>(agent_count + 1)) {}

void http_metrics::record(size_t slot_index, std::string_view method, int status,
                          std::chrono::microseconds latency) {
  if (slot_index >= slots_count_) slot_index = gateway_slot();
  auto& s = slots_[slot_index];
  s.requests[method_index(method)][status_index(status)].fetch_add(1, std::memory_order_relaxed);
  s.latency.record(latency);
}

uint64_t http_metrics::requests(size_t slot_index) const {
  return slots_[slot_index].latency.count();
}

std::string http_metrics::render_prometheus(const agent_directory& directory) const {
  std::string out;
  out.reserve(16 * 1024);
  auto it = std::back_inserter(out);
  auto slot_name = [&](size_t i) -> std::string_view {
    return i < directory.size() ? directory.at(i).name() : std::string_view{"gateway"};
  };

  out += "# HELP mercato_http_requests_total HTTP requests answered, by agent, method and status.\n"
         "# TYPE mercato_http_requests_total counter\n";
  for (size_t i = 0; i < slots_count_; ++i)
    for (size_t m = 0; m < method_count; ++m)
      for (size_t s = 0; s < status_count; ++s) {
        auto n = slots_[i].requests[m][s].load(std::memory_order_relaxed);
        if (n == 0) continue;
        fmt::format_to(it,
                       "mercato_http_requests_total{{agent=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       slot_name(i), method_names[m], status_label(s), n);
      }

  out += "# HELP mercato_http_request_duration_seconds Time from request read to response, by "
         "agent.\n# TYPE mercato_http_request_duration_seconds histogram\n";
  for (size_t i = 0; i < slots_count_; ++i) {
    if (slots_[i].latency.count() == 0) continue;
    slots_[i].latency.render_samples(out, "mercato_http_request_duration_seconds",
                                     fmt::format("agent=\"{}\"", slot_name(i)));
  }

  out += "# HELP mercato_agent_restarts_total Agent restarts by reason.\n"
         "# TYPE mercato_agent_restarts_total counter\n";
  for (size_t i = 0; i < directory.size(); ++i)
    for (auto r : {restart_reason::crash, restart_reason::hang, restart_reason::manual})
      fmt::format_to(it, "mercato_agent_restarts_total{{agent=\"{}\",reason=\"{}\"}} {}\n",
                     directory.at(i).name(), to_string(r), directory.at(i).restarts(r));

  out += "# HELP mercato_agent_up 1 when the agent is running and routed to.\n"
         "# TYPE mercato_agent_up gauge\n";
  for (size_t i = 0; i < directory.size(); ++i)
    fmt::format_to(it, "mercato_agent_up{{agent=\"{}\",state=\"{}\"}} {}\n", directory.at(i).name(),
                   to_string(directory.at(i).state()),
                   directory.at(i).state() == agent_run_state::running ? 1 : 0);

  out += "# HELP mercato_agent_mailbox_size Mailbox size at the last heartbeat.\n"
         "# TYPE mercato_agent_mailbox_size gauge\n";
  for (size_t i = 0; i < directory.size(); ++i)
    fmt::format_to(it, "mercato_agent_mailbox_size{{agent=\"{}\"}} {}\n", directory.at(i).name(),
                   directory.at(i).mailbox_size.load(std::memory_order_relaxed));

  out += "# HELP mercato_agent_in_flight HTTP calls waiting for the agent's answer.\n"
         "# TYPE mercato_agent_in_flight gauge\n";
  for (size_t i = 0; i < directory.size(); ++i)
    fmt::format_to(it, "mercato_agent_in_flight{{agent=\"{}\"}} {}\n", directory.at(i).name(),
                   directory.at(i).in_flight.load(std::memory_order_relaxed));

  out += "# HELP mercato_agent_heartbeat_seconds Round trip of the last supervisor heartbeat.\n"
         "# TYPE mercato_agent_heartbeat_seconds gauge\n";
  for (size_t i = 0; i < directory.size(); ++i) {
    auto us = directory.at(i).last_ping_us.load(std::memory_order_relaxed);
    if (us >= 0)
      fmt::format_to(it, "mercato_agent_heartbeat_seconds{{agent=\"{}\"}} {:.6f}\n",
                     directory.at(i).name(), static_cast<double>(us) / 1e6);
  }

  fmt::format_to(it,
                 "# HELP mercato_http_open_connections Open client connections.\n"
                 "# TYPE mercato_http_open_connections gauge\n"
                 "mercato_http_open_connections {}\n"
                 "# HELP mercato_http_connections_total Accepted client connections.\n"
                 "# TYPE mercato_http_connections_total counter\n"
                 "mercato_http_connections_total {}\n"
                 "# HELP mercato_http_rejected_connections_total Connections refused at the cap.\n"
                 "# TYPE mercato_http_rejected_connections_total counter\n"
                 "mercato_http_rejected_connections_total {}\n"
                 "# HELP mercato_http_resent_after_agent_stop_total Requests sent again to a new "
                 "incarnation after their agent stopped holding them.\n"
                 "# TYPE mercato_http_resent_after_agent_stop_total counter\n"
                 "mercato_http_resent_after_agent_stop_total {}\n",
                 open_connections.load(), accepted_connections.load(),
                 rejected_connections.load(), resent_after_stop.load());
  return out;
}

std::string render_event_consumers(const event_bus& bus) {
  const auto consumers = bus.consumers();
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& c : consumers)
      out += fmt::format("{}{{consumer=\"{}\"}} {}\n", name, c.consumer, value(c));
  };
  using stats = event_bus::consumer_stats;
  family("mercato_event_consumer_held", "gauge", "Events held for a durable consumer until it acknowledges them.",
         [](const stats& c) { return c.held; });
  family("mercato_event_consumer_attached", "gauge", "1 while an incarnation of the consumer is attached.",
         [](const stats& c) { return c.attached ? 1 : 0; });
  family("mercato_event_consumer_redelivered_total", "counter",
         "Events delivered again (to a new incarnation, or unacknowledged for too long).",
         [](const stats& c) { return c.redelivered; });
  family("mercato_event_consumer_dropped_total", "counter",
         "Events dropped because the consumer's backlog was full.", [](const stats& c) { return c.dropped; });
  return out;
}

}  // namespace mercato
