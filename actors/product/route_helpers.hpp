// Helpers the product agent's REST route files share: waiting for the model, answering a write's
// outcome, rendering product arrays. Header-only, used by routes.cpp, attribute_routes.cpp and
// seo_routes.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "domain/json_input.hpp"
#include "http/problem.hpp"
#include "product/product_runtime.hpp"

namespace mercato::product {

inline http_response json_text(int status, std::string body) { return http_response::json(status, std::move(body)); }

// Routes answer from the model; requests that arrive before it is loaded wait for it.
inline http::route_handler loaded(product_self self, std::function<void(http::request_context&)> fn) {
  return [self, fn](http::request_context& ctx) {
    auto shared = std::make_shared<http::request_context>(std::move(ctx));
    if (!when_loaded(self, [fn, shared] { fn(*shared); }))
      shared->respond(http::unavailable("Catalogue is loading", 1));
  };
}

// A database error of a write as an HTTP answer; unique violations get `conflict_detail`.
inline http_response db_error_response(const db::error& e, const std::string& conflict_detail) {
  if (e.code == db::errc::conflict) return http::error(409, conflict_detail);
  return failure_response(db_failure(e));
}

template <class T>
bool write_failed(const http::request_context& ctx, db::outcome<unit_result<T>>& r, const std::string& conflict_detail) {
  if (!r.ok()) {
    ctx.respond(db_error_response(*r.failure, conflict_detail));
    return true;
  }
  if (!r.value->value) {
    ctx.respond(http::error(r.value->status, r.value->detail));
    return true;
  }
  return false;
}

inline std::string products_array(const catalog& cat, const std::vector<const product_record*>& page) {
  std::string out = "[";
  for (size_t i = 0; i < page.size(); ++i) {
    if (i) out += ',';
    out += cat.product_json(*page[i]);
  }
  out += ']';
  return out;
}

// The optional `product_type` list filter of a query or body as a type code ("" = none given;
// an invalid code is an issue at `product_type`).
template <class Reader>
std::string read_type_filter(Reader& in) {
  auto raw = in.string("product_type", input::optional, 0, 64);
  if (!raw || raw->find_first_not_of(" \t") == std::string::npos) return {};
  auto code = product_type_code(*raw);
  if (!code) in.issue("product_type", product_type_rule, "value_error.str.regex");
  return code.value_or("");
}

inline const product_record* live_product(const catalog& cat, const std::string& key) {
  const auto* p = cat.product(key);
  return p && !p->deleted() ? p : nullptr;
}

}  // namespace mercato::product
