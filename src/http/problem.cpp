// FastAPI error bodies (see problem.hpp).
#include "http/problem.hpp"

#include <cctype>

#include "http/json_text.hpp"

namespace mercato::http {
namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

http_response error(int status, std::string_view detail) {
  std::string body = "{\"detail\":";
  append_json_string(body, detail);
  body.push_back('}');
  return http_response::json(status, std::move(body));
}

http_response validation_error(const std::vector<validation_issue>& issues) {
  std::string body = "{\"detail\":[";
  for (size_t i = 0; i < issues.size(); ++i) {
    if (i) body.push_back(',');
    body.append("{\"loc\":[");
    for (size_t j = 0; j < issues[i].loc.size(); ++j) {
      if (j) body.push_back(',');
      const auto& part = issues[i].loc[j];
      if (all_digits(part) && part.size() < 10)
        body.append(part);  // list indexes are numbers in FastAPI's loc
      else
        append_json_string(body, part);
    }
    body.append("],\"msg\":");
    append_json_string(body, issues[i].msg);
    body.append(",\"type\":");
    append_json_string(body, issues[i].type);
    body.push_back('}');
  }
  body.append("]}");
  return http_response::json(422, std::move(body));
}

http_response not_found(std::string_view detail) { return error(404, detail); }

http_response method_not_allowed(const std::vector<std::string>& allowed) {
  auto r = error(405, "Method Not Allowed");
  std::string allow;
  for (const auto& m : allowed) {
    if (!allow.empty()) allow.append(", ");
    allow.append(m);
  }
  r.headers.emplace_back("Allow", std::move(allow));
  return r;
}

http_response unavailable(std::string_view detail, uint32_t retry_after_seconds) {
  auto r = error(503, detail);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return r;
}

http_response gateway_timeout(std::string_view detail) { return error(504, detail); }

}  // namespace mercato::http
