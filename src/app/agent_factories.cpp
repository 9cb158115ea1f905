// Binds the registry rows of the agents built so far to their factories (actors/<agent>/). The
// other rows keep the platform agent until their issue lands.
#include "app/agent_factories.hpp"

#include <string_view>
#include <utility>

#include "customer/customer_agent.hpp"
#include "fraud_detection/fraud_detection_agent.hpp"
#include "inventory/inventory_agent.hpp"
#include "order/order_agent.hpp"
#include "payment/payment_agent.hpp"
#include "product/product_agent.hpp"

namespace mercato {

const std::vector<agent_spec>& server_registry() {
  static const std::vector<agent_spec> table = [] {
    const std::pair<std::string_view, agent_factory> built[] = {
        {"order", &spawn_order_agent},         {"product", &spawn_product_agent},
        {"inventory", &spawn_inventory_agent}, {"customer", &spawn_customer_agent},
        {"fraud_detection", &spawn_fraud_detection_agent}, {"payment", &spawn_payment_agent},
    };
    std::vector<agent_spec> rows = agent_registry();
    for (auto& row : rows)
      for (const auto& [name, factory] : built)
        if (row.name == name) row.factory = factory;
    return rows;
  }();
  return table;
}

}  // namespace mercato
