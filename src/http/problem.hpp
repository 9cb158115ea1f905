// FastAPI-compatible error bodies, the one place that builds them: {"detail": "..."} or the 422
// list of {loc, msg, type}. Legacy clients parse exactly these shapes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mercato/http_message.hpp"

namespace mercato::http {

// {"detail": "<detail>"} with `status`.
http_response error(int status, std::string_view detail);

struct validation_issue {
  std::vector<std::string> loc;  // e.g. {"body", "items", "0", "quantity"}; digits become numbers
  std::string msg;
  std::string type;              // e.g. "value_error.missing", "type_error.integer"
};
// 422 {"detail": [{loc, msg, type}, ...]}
http_response validation_error(const std::vector<validation_issue>& issues);

http_response not_found(std::string_view detail = "Not Found");
http_response method_not_allowed(const std::vector<std::string>& allowed);
// 503 + Retry-After: the agent is down, restarting, failed or saturated.
http_response unavailable(std::string_view detail, uint32_t retry_after_seconds);
http_response gateway_timeout(std::string_view detail);

}  // namespace mercato::http
