#include "gateway/resend_policy.hpp"

#include <array>

namespace mercato::resend_policy {

namespace {

struct route {
  std::string_view agent, method, path;
};

// order: POST /orders claims its key in the placement's own statement (actors/order/README.md).
constexpr std::array<route, 1> routes{{{"order", "POST", "/orders"}}};

}  // namespace

bool applies(std::string_view agent, std::string_view method, std::string_view agent_path) {
  if (agent_path.size() > 1 && agent_path.back() == '/') agent_path.remove_suffix(1);
  for (const auto& r : routes)
    if (r.agent == agent && r.method == method && r.path == agent_path) return true;
  return false;
}

}  // namespace mercato::resend_policy
