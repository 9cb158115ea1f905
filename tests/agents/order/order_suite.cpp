#include "order_suite.hpp"

#include <fstream>
#include <sstream>

#include <pqxx/pqxx>

#include "customer/customer_agent.hpp"
#include "fraud_detection/fraud_detection_agent.hpp"
#include "inventory/inventory_agent.hpp"
#include "order/order_agent.hpp"
#include "payment/payment_agent.hpp"
#include "product/product_agent.hpp"
#include "support/db_fixture.hpp"

namespace mercato::test {

std::unique_ptr<agent_fixture> make_order_fixture(std::function<void(config&)> adjust,
                                                  std::chrono::milliseconds call_timeout) {
  fixture_options o;
  o.seed = true;
  o.adjust = std::move(adjust);
  o.pool_size = 6;
  o.call_timeout = call_timeout;
  return std::make_unique<agent_fixture>(
      std::vector<agent_spec>{spec_for("product", &spawn_product_agent), spec_for("inventory", &spawn_inventory_agent),
                              spec_for("customer", &spawn_customer_agent),
                              spec_for("fraud_detection", &spawn_fraud_detection_agent),
                              spec_for("payment", &spawn_payment_agent), spec_for("order", &spawn_order_agent)},
      o);
}

std::vector<std::string> broken_order_invariants(agent_fixture& f) {
  std::ifstream in{source_dir() + "/bench/sql/order_consistency.sql"};
  std::stringstream sql;
  sql << in.rdbuf();
  REQUIRE(!sql.str().empty());
  auto conn = f.database().connect();
  pqxx::nontransaction tx{*conn};
  std::vector<std::string> broken;
  int checked = 0;
  std::string text = sql.str();
  for (size_t at = 0, end; (end = text.find(';', at)) != std::string::npos; at = end + 1) {
    auto line = tx.exec1(text.substr(at, end - at))[0];
    if (line.is_null()) continue;  // orders_by_status of an empty table
    std::istringstream words{line.c_str()};
    std::string name, value;
    words >> name >> value;
    if (name == "orders_by_status") continue;
    ++checked;
    if (value != "0") broken.push_back(name + " " + value);
  }
  CHECK(checked == 8);  // every invariant of the file was read
  return broken;
}

}  // namespace mercato::test
