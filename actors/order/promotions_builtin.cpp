// The built-in (empty) promotion catalogue (see promotions_builtin.hpp).
#include "order/promotions_builtin.hpp"

namespace mercato::order {

promotion_quote quote_promotions(const std::vector<std::string>& codes, input::issue_list& issues) {
  for (size_t i = 0; i < codes.size(); ++i)
    issues.push_back({{"body", "promotion_codes", std::to_string(i)},
                      "Promotion code '" + codes[i] + "' is not valid",
                      "value_error.not_found"});
  return {};
}

}  // namespace mercato::order
