// Helpers shared by the product agent's database-backed suites: a seeded fixture with the product
// agent, row counts, REST writes and the locations of a 422's detail list.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "product/product_agent.hpp"
#include "support/agent_fixture.hpp"

namespace mercato::test::product_suite {

inline fixture_options seeded() {
  fixture_options o;
  o.seed = true;
  return o;
}

inline agent_spec product_spec() { return spec_for("product", &spawn_product_agent); }

inline int64_t count_rows(agent_fixture& f, const std::string& sql) {
  return f.database().value<int64_t>(sql);
}

inline http_reply put(agent_fixture& f, const std::string& path, const nlohmann::json& body) {
  return f.http("product", "PUT", path, body.dump());
}
inline http_reply patch(agent_fixture& f, const std::string& path, const nlohmann::json& body) {
  return f.http("product", "PATCH", path, body.dump());
}

// Locations of a 422's detail list, sorted, e.g. "body.material".
inline std::vector<std::string> locs(const http_reply& r) {
  std::vector<std::string> out;
  nlohmann::json body = r.json();  // kept alive: a range-for over r.json()["detail"] would dangle
  for (const auto& i : body["detail"]) {
    std::string l;
    for (const auto& part : i["loc"])
      l += (l.empty() ? "" : ".") + (part.is_string() ? part.get<std::string>() : part.dump());
    out.push_back(l);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::set<std::string> skus(const nlohmann::json& products) {
  std::set<std::string> out;
  for (const auto& p : products) out.insert(p["sku"].get<std::string>());
  return out;
}

}  // namespace mercato::test::product_suite
