// A latency histogram of lock-free counters, rendered as a Prometheus histogram: recorded on any
// thread (an Asio thread, a pool thread) without a lock, read by /metrics and the console. The
// gateway keeps one per agent (request duration), the database pool two (queue wait, unit run).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mercato {

class latency_histogram {
 public:
  // Upper bounds of the buckets in seconds ("le"); a last bucket, +Inf, takes the rest.
  static constexpr std::array<double, 13> bounds_s{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
  static constexpr size_t bucket_count = bounds_s.size() + 1;

  void record(std::chrono::microseconds latency) noexcept;

  uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::chrono::microseconds sum() const noexcept {
    return std::chrono::microseconds(sum_us_.load(std::memory_order_relaxed));
  }

  // Appends the samples of histogram `name` (its `_bucket` lines, cumulative, then `_sum` in
  // seconds and `_count`); `labels` (e.g. `agent="order"`, or empty) go first inside the braces.
  // The caller writes the family's # HELP and # TYPE lines.
  void render_samples(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<uint64_t>, bucket_count> buckets_{};
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> count_{0};
};

}  // namespace mercato
