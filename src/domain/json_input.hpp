// Reading request input the way FastAPI/pydantic validated it for the legacy clients: every
// problem is collected (not just the first) as {loc, msg, type}, and the handler answers 422 with
// the whole list. Plain C++, no actors.
//
//   input::body_reader in{request.body};
//   auto customer = in.string("customer_id", input::required, 1, 100);
//   auto qty = in.integer("quantity", input::required, 1, 10000);
//   if (!in.ok()) return ctx.respond(in.error_response());
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/money.hpp"
#include "http/problem.hpp"
#include "mercato/http_message.hpp"

namespace mercato::input {

enum presence : bool { optional = false, required = true };

// Shared sink of issues; readers for nested objects write into their parent's sink.
using issue_list = std::vector<http::validation_issue>;

class object_reader {
 public:
  // `object` must outlive the reader. `loc` is the location prefix ({"body"} or {"body","items","0"}).
  object_reader(const nlohmann::json& object, std::vector<std::string> loc, issue_list& sink);

  const nlohmann::json& json() const noexcept { return *object_; }
  // Present and not null.
  bool has(std::string_view key) const;
  // The first present key of `keys` (aliases: "unit_price" / "price"), or empty.
  std::string_view first_present(std::initializer_list<std::string_view> keys) const;

  std::optional<std::string> string(std::string_view key, presence p, size_t min_len = 0,
                                    size_t max_len = 10'000);
  std::optional<int64_t> integer(std::string_view key, presence p,
                                 int64_t min = std::numeric_limits<int64_t>::min(),
                                 int64_t max = std::numeric_limits<int64_t>::max());
  // A decimal amount (number or numeric string) in cents, ≥ min_cents.
  std::optional<money::cents> amount(std::string_view key, presence p, money::cents min_cents = 0,
                                     money::cents max_cents = money::max_amount);
  std::optional<double> number(std::string_view key, presence p,
                               double min = -std::numeric_limits<double>::infinity(),
                               double max = std::numeric_limits<double>::infinity());
  std::optional<bool> boolean(std::string_view key, presence p);
  // One of `allowed` (exact match after lower-casing when `fold_case`).
  std::optional<std::string> choice(std::string_view key, presence p,
                                    std::initializer_list<std::string_view> allowed,
                                    bool fold_case = false);
  // A JSON object / array value (checked for type only); pointer into the document.
  const nlohmann::json* object(std::string_view key, presence p);
  const nlohmann::json* array(std::string_view key, presence p, size_t min_items = 0,
                              size_t max_items = 10'000);
  // A list of strings.
  std::optional<std::vector<std::string>> strings(std::string_view key, presence p,
                                                  size_t max_items = 1000, size_t max_len = 200);

  // Location of `key` below this reader, for issues raised by the caller.
  std::vector<std::string> loc(std::string_view key) const;
  void issue(std::vector<std::string> loc, std::string msg, std::string type);
  void issue(std::string_view key, std::string msg, std::string type = "value_error");

  issue_list& sink() noexcept { return *sink_; }

 private:
  const nlohmann::json* get(std::string_view key, presence p);

  const nlohmann::json* object_;
  std::vector<std::string> loc_;
  issue_list* sink_;
};

// The request body as a JSON object (422 "value is not a valid dict" / JSON decode error
// otherwise), read with object_reader.
class body_reader : public object_reader {
 public:
  explicit body_reader(std::string_view text, bool allow_empty_as_object = false);
  bool ok() const noexcept { return issues_.empty(); }
  const issue_list& issues() const noexcept { return issues_; }
  http_response error_response() const { return http::validation_error(issues_); }

 private:
  body_reader(std::string_view text, bool allow_empty, int);
  nlohmann::json document_;
  issue_list issues_;
};

// Query parameters with the same typed accessors ({"query", name} locations).
class query_reader {
 public:
  explicit query_reader(const http_request& request);
  bool has(std::string_view name) const;
  std::optional<std::string> string(std::string_view name, presence p, size_t min_len = 0,
                                    size_t max_len = 1000);
  std::optional<int64_t> integer(std::string_view name, presence p,
                                 int64_t min = std::numeric_limits<int64_t>::min(),
                                 int64_t max = std::numeric_limits<int64_t>::max());
  std::optional<money::cents> amount(std::string_view name, presence p, money::cents min_cents = 0);
  std::optional<bool> boolean(std::string_view name, presence p);
  std::optional<std::string> choice(std::string_view name, presence p,
                                    std::initializer_list<std::string_view> allowed,
                                    bool fold_case = false);
  // First present name of `names` (aliases), or empty.
  std::string_view first_present(std::initializer_list<std::string_view> names) const;

  void issue(std::string_view name, std::string msg, std::string type = "value_error");
  bool ok() const noexcept { return issues_.empty(); }
  const issue_list& issues() const noexcept { return issues_; }
  http_response error_response() const { return http::validation_error(issues_); }

 private:
  const std::string* raw(std::string_view name) const;
  std::vector<std::pair<std::string, std::string>> params_;
  issue_list issues_;
};

// skip/limit (and page/per_page) with DESIGN defaults: skip 0, limit 100 (≤ 1000).
struct page_window {
  int64_t skip = 0;
  int64_t limit = 100;
};
page_window read_window(query_reader& q, int64_t default_limit = 100, int64_t max_limit = 1000);

// JSON response helpers: `status` with the document dumped (UTF-8 errors replaced).
http_response json_response(int status, const nlohmann::json& body);

}  // namespace mercato::input
