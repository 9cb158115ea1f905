#include "gateway/resend_policy.hpp"

#include <array>

namespace mercato::resend_policy {

namespace {

struct route {
  std::string_view agent, method, path;
};

// order: POST /orders claims its key in the placement's own statement (actors/order/README.md).
constexpr std::array<route, 1> keyed_routes{{{"order", "POST", "/orders"}}};

}  // namespace

resend classify(std::string_view agent, std::string_view method, std::string_view agent_path) {
  if (method == "GET" || method == "HEAD") return resend::as_sent;
  if (agent_path.size() > 1 && agent_path.back() == '/') agent_path.remove_suffix(1);
  for (const auto& r : keyed_routes)
    if (r.agent == agent && r.method == method && r.path == agent_path) return resend::with_key;
  return resend::never;
}

}  // namespace mercato::resend_policy
