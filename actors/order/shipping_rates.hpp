// BUILT-IN shipping until the carrier_selection agent exists: a flat-rate table from the config's
// [shipping] section (defaults: carrier "FLATRATE", standard 5.99, free when merchandise after
// discount ≥ 75.00, express 14.99, overnight 29.99). The carrier agent's quote_shipment replaces
// this file. Plain C++.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/money.hpp"

namespace mercato::order {

struct shipping_table {
  std::string carrier_code = "FLATRATE";
  money::cents standard = 599;
  money::cents express = 1499;
  money::cents overnight = 2999;
  money::cents free_standard_threshold = 7500;  // 0 = standard is never free
};

struct shipping_quote {
  std::string carrier_code;
  std::string service_level;
  money::cents cost = 0;
  int transit_days = 0;
};

// nullopt for an unknown service level (→ 422).
std::optional<shipping_quote> flat_rate(const shipping_table& table, const std::string& service_level,
                                        money::cents merchandise_after_discount);
// Every service level, for the quote's shipping_options.
std::vector<shipping_quote> flat_rate_options(const shipping_table& table,
                                              money::cents merchandise_after_discount);

}  // namespace mercato::order
