// BUILT-IN promotions until the promotion agent exists: there are no promotions, so every code is
// rejected (422 "Promotion code '<code>' is not valid", loc promotion_codes). The promotion agent's
// quote_promotions / apply_promotions replace this file. Plain C++.
#pragma once

#include <string>
#include <vector>

#include "domain/json_input.hpp"
#include "domain/money.hpp"

namespace mercato::order {

struct promotion_quote {
  money::cents discount = 0;
  std::vector<std::string> applied;
};

// Adds one issue per rejected code to `issues`.
promotion_quote quote_promotions(const std::vector<std::string>& codes, input::issue_list& issues);

}  // namespace mercato::order
