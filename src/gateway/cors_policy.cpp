// CORS decisions (see cors_policy.hpp).
#include "gateway/cors_policy.hpp"

#include <algorithm>

#include "http/problem.hpp"

namespace mercato {

cors_policy::cors_policy(std::vector<std::string> allowed_origins)
    : allowed_(std::move(allowed_origins)),
      any_(std::find(allowed_.begin(), allowed_.end(), "*") != allowed_.end()) {}

std::string cors_policy::allow_origin(std::string_view origin) const {
  if (origin.empty()) return {};
  if (any_) return "*";
  if (std::find(allowed_.begin(), allowed_.end(), origin) != allowed_.end())
    return std::string(origin);
  return {};
}

http_response cors_policy::preflight(std::string_view origin,
                                     std::string_view request_headers) const {
  auto allow = allow_origin(origin);
  if (allow.empty()) return http::error(403, "Disallowed CORS origin");
  http_response r;
  r.status = 204;
  r.content_type.clear();
  r.headers = {{"Access-Control-Allow-Origin", allow},
               {"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
               {"Access-Control-Allow-Headers",
                request_headers.empty() ? std::string("Content-Type, Authorization, Idempotency-Key")
                                        : std::string(request_headers)},
               {"Access-Control-Max-Age", "600"}};
  if (!any_) r.headers.emplace_back("Vary", "Origin");
  return r;
}

}  // namespace mercato
