// The built-in flat-rate shipping table (see shipping_rates.hpp).
#include "order/shipping_rates.hpp"

namespace mercato::order {

std::optional<shipping_quote> flat_rate(const shipping_table& t, const std::string& level,
                                        money::cents merchandise) {
  if (level == "standard") {
    const bool free = t.free_standard_threshold > 0 && merchandise >= t.free_standard_threshold;
    return shipping_quote{t.carrier_code, level, free ? 0 : t.standard, 5};
  }
  if (level == "express") return shipping_quote{t.carrier_code, level, t.express, 2};
  if (level == "overnight") return shipping_quote{t.carrier_code, level, t.overnight, 1};
  return std::nullopt;
}

std::vector<shipping_quote> flat_rate_options(const shipping_table& t, money::cents merchandise) {
  std::vector<shipping_quote> out;
  for (const char* level : {"standard", "express", "overnight"}) out.push_back(*flat_rate(t, level, merchandise));
  return out;
}

}  // namespace mercato::order
