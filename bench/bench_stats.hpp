// Order statistics shared by the benchmark drivers.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

// Median (q = 0.5, the mean of the middle pair for an even count) or the nearest-rank percentile.
inline double percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  if (q == 0.5) {
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}
