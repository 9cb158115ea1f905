// An agent's REST table: method + path pattern ("/orders/{order_id}") → handler. Dispatches a
// request (404 / 405 in FastAPI shape) and renders the table as OpenAPI 3. Plain C++, no actors.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mercato/http_message.hpp"

namespace mercato::http {

// Values captured from {placeholders}, percent-decoded.
class path_params {
 public:
  void add(std::string_view name, std::string value) { items_.emplace_back(name, std::move(value)); }
  // Value of `name`, or empty when absent.
  const std::string& get(std::string_view name) const;
  size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<std::pair<std::string_view, std::string>> items_;
};

// What a handler gets. It answers exactly once through `reply`, possibly later from another
// message handler (move the context into the continuation).
struct request_context {
  http_request request;
  path_params params;
  reply_channel reply;

  void respond(http_response r) const { reply->deliver(std::move(r)); }
};

using route_handler = std::function<void(request_context&)>;

struct route {
  std::string method;   // "GET", "POST", ...
  std::string pattern;  // "/orders/{order_id}"
  std::string summary;  // one line for OpenAPI and /docs
  route_handler handler;
};

class router {
 public:
  router& add(std::string method, std::string pattern, std::string summary, route_handler h);

  enum class outcome { matched, method_not_allowed, not_found, bad_path };
  struct match_result {
    outcome result = outcome::not_found;
    const route* matched = nullptr;
    path_params params;
    std::vector<std::string> allowed;  // for 405
  };
  // Literal segments win over placeholders; among equals, the first declared route wins.
  match_result match(std::string_view method, std::string_view path) const;

  // Routes the call and answers 404/405/400 itself when nothing matches.
  void dispatch(http_request request, reply_channel reply) const;

  const std::vector<route>& routes() const noexcept { return routes_; }

  // OpenAPI 3.0 document of these routes (JSON text). `path_prefix` is prepended to every path.
  std::string openapi(std::string_view title, std::string_view version,
                      std::string_view path_prefix = {}) const;

 private:
  struct compiled {
    std::vector<std::string> segments;  // "{x}" kept as is
    size_t literal_count = 0;
  };
  std::vector<route> routes_;
  std::vector<compiled> compiled_;
};

// Splits "/a/b/c" into {"a","b","c"} (no decoding); false for an empty or relative path.
bool split_path(std::string_view path, std::vector<std::string_view>& out);

// Swagger-UI-free /docs page: a readable HTML list of the routes with a link to openapi.json.
std::string docs_page(std::string_view title, const std::vector<route>& routes,
                      std::string_view openapi_url);

}  // namespace mercato::http
