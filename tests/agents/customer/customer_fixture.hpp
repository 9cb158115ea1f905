// What the customer suite's database tests share: the seeded fixture, the customer agent's registry
// row, and a one-number query.
#pragma once

#include <cstdint>
#include <string>

#include "customer/customer_agent.hpp"
#include "support/agent_fixture.hpp"

namespace mercato::test::customer_suite {

inline fixture_options seeded() {
  fixture_options o;
  o.seed = true;
  return o;
}

inline agent_spec customer_spec() {
  return spec_for("customer", &spawn_customer_agent);
}

inline int64_t count_rows(agent_fixture& f, const std::string& sql) {
  return f.database().value<int64_t>(sql);
}

}  // namespace mercato::test::customer_suite
