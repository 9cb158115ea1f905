// The built-in flat-rate shipping table (see shipping_rates.hpp).
#include "order/shipping_rates.hpp"

namespace mercato::order {

namespace {
constexpr money::cents free_standard_threshold = 7500;
}

std::optional<shipping_quote> flat_rate(const std::string& level, money::cents merchandise) {
  if (level == "standard")
    return shipping_quote{flat_rate_carrier, level, merchandise >= free_standard_threshold ? 0 : 599, 5};
  if (level == "express") return shipping_quote{flat_rate_carrier, level, 1499, 2};
  if (level == "overnight") return shipping_quote{flat_rate_carrier, level, 2999, 1};
  return std::nullopt;
}

std::vector<shipping_quote> flat_rate_options(money::cents merchandise) {
  std::vector<shipping_quote> out;
  for (const char* level : {"standard", "express", "overnight"}) out.push_back(*flat_rate(level, merchandise));
  return out;
}

}  // namespace mercato::order
