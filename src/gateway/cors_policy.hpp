// CORS on every port (DESIGN.md §3): which origins may call, and the preflight answer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mercato/http_message.hpp"

namespace mercato {

class cors_policy {
 public:
  explicit cors_policy(std::vector<std::string> allowed_origins);

  // Value for Access-Control-Allow-Origin for a request from `origin`, or empty when the origin
  // is not allowed (or there is none).
  std::string allow_origin(std::string_view origin) const;

  // 204 answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method), or 403
  // {"detail": ...} when the origin is not allowed.
  http_response preflight(std::string_view origin, std::string_view request_headers) const;

 private:
  std::vector<std::string> allowed_;
  bool any_ = false;
};

}  // namespace mercato
