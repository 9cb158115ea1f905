// Lock-free latency histogram and its Prometheus samples (see latency_histogram.hpp).
#include "runtime/latency_histogram.hpp"

#include <iterator>

#include <fmt/format.h>

namespace mercato {

void latency_histogram::record(std::chrono::microseconds latency) noexcept {
  const auto us = latency.count() < 0 ? 0 : latency.count();
  const double seconds = static_cast<double>(us) / 1e6;
  size_t b = 0;
  while (b < bounds_s.size() && seconds > bounds_s[b]) ++b;  // "le": a value on a bound is in it
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<uint64_t>(us), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void latency_histogram::render_samples(std::string& out, std::string_view name, std::string_view labels) const {
  auto it = std::back_inserter(out);
  const std::string_view sep = labels.empty() ? "" : ",";
  // The buckets are read one by one while others record, so the sum may be a few records ahead
  // of them; _count is the +Inf bucket, as Prometheus requires, and every series only grows.
  uint64_t cumulative = 0;
  for (size_t b = 0; b < bucket_count; ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    if (b < bounds_s.size())
      fmt::format_to(it, "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds_s[b], cumulative);
    else
      fmt::format_to(it, "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cumulative);
  }
  const auto sum_s = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
  if (labels.empty()) {
    fmt::format_to(it, "{}_sum {:.6f}\n{}_count {}\n", name, sum_s, name, cumulative);
  } else {
    fmt::format_to(it, "{}_sum{{{}}} {:.6f}\n{}_count{{{}}} {}\n", name, labels, sum_s, name, labels, cumulative);
  }
}

}  // namespace mercato
