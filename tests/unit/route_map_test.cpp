// Gateway prefix routing: /api/<prefix>/... → agent and agent-relative path.
#include <catch2/catch.hpp>

#include "gateway/route_map.hpp"
#include "mercato/agent_directory.hpp"

using namespace mercato;

namespace {

agent_directory full_directory() {
  std::vector<agent_directory::row> rows;
  for (const auto& spec : agent_registry()) rows.push_back({&spec, spec.restart, true});
  return agent_directory{rows};
}

}  // namespace

TEST_CASE("prefix routing strips the prefix") {
  auto dir = full_directory();
  route_map routes{dir};
  auto r = routes.by_prefix("/api/order/orders/42");
  REQUIRE(r);
  CHECK(dir.at(r->agent_index).name() == "order");
  CHECK(r->agent_path == "/orders/42");
}

TEST_CASE("the bare prefix maps to the agent root") {
  auto dir = full_directory();
  route_map routes{dir};
  auto r = routes.by_prefix("/api/self-healing");
  REQUIRE(r);
  CHECK(dir.at(r->agent_index).name() == "ai_monitoring");
  CHECK(r->agent_path == "/");
}

TEST_CASE("prefixes match whole segments only") {
  auto dir = full_directory();
  route_map routes{dir};
  CHECK_FALSE(routes.by_prefix("/api/orderx/health"));
  CHECK_FALSE(routes.by_prefix("/api/"));
  CHECK_FALSE(routes.by_prefix("/health"));
  CHECK_FALSE(routes.by_prefix("/apix/order/health"));
}

TEST_CASE("every registry prefix routes to its agent") {
  auto dir = full_directory();
  route_map routes{dir};
  REQUIRE(dir.size() == 26);
  for (size_t i = 0; i < dir.size(); ++i) {
    auto r = routes.by_prefix("/api/" + std::string(dir.at(i).spec().prefix) + "/health");
    REQUIRE(r);
    CHECK(r->agent_index == static_cast<int>(i));
  }
}

TEST_CASE("registry: 26 agents with distinct names, ports and prefixes") {
  const auto& reg = agent_registry();
  REQUIRE(reg.size() == 26);
  for (size_t i = 0; i < reg.size(); ++i) {
    CHECK(reg[i].port_offset == i);
    for (size_t j = i + 1; j < reg.size(); ++j) {
      CHECK(reg[i].name != reg[j].name);
      CHECK(reg[i].prefix != reg[j].prefix);
    }
  }
}
