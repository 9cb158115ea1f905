// Request metrics of the gateway (counts by agent/method/status, latency histograms) and their
// Prometheus text rendering together with the supervisor's per-agent figures from the directory.
// Lock-free counters: recorded on the Asio threads, read by /metrics and the console.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/latency_histogram.hpp"

namespace mercato {

class agent_directory;
class event_bus;

class http_metrics {
 public:
  static constexpr size_t method_count = 8;   // GET POST PUT PATCH DELETE OPTIONS HEAD other
  static constexpr size_t status_count = 26;  // common codes + one "other" per class

  // One slot per agent plus one (the last) for the gateway's own endpoints and unrouted calls.
  explicit http_metrics(size_t agent_count);

  size_t gateway_slot() const noexcept { return slots_count_ - 1; }
  void record(size_t slot, std::string_view method, int status, std::chrono::microseconds latency);

  std::atomic<int64_t> open_connections{0};
  std::atomic<uint64_t> accepted_connections{0};
  std::atomic<uint64_t> rejected_connections{0};  // over gateway.max_connections
  // Requests sent again to a new incarnation after their agent stopped holding them
  // (gateway/resend_policy.hpp).
  std::atomic<uint64_t> resent_after_stop{0};

  // Total requests answered for a slot (all methods and statuses); for tests and the console.
  uint64_t requests(size_t slot) const;

  // Prometheus text exposition format 0.0.4.
  std::string render_prometheus(const agent_directory& directory) const;

 private:
  struct slot {
    std::array<std::array<std::atomic<uint64_t>, status_count>, method_count> requests{};
    latency_histogram latency;
  };
  size_t slots_count_;
  std::unique_ptr<slot[]> slots_;
};

// The event bus's durable consumers (held, delivered, redelivered, dropped), Prometheus text.
std::string render_event_consumers(const event_bus& bus);

}  // namespace mercato
