#include "domain/json_input.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "http/url.hpp"

namespace mercato::input {
namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string permitted(std::initializer_list<std::string_view> allowed) {
  std::string out;
  for (auto a : allowed) {
    if (!out.empty()) out += ", ";
    out += fmt::format("'{}'", a);
  }
  return out;
}

std::optional<int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return std::nullopt;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return negative ? -v : v;
}

std::optional<bool> parse_bool(std::string_view s) {
  const auto l = lower(s);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

}  // namespace

// ---- object_reader ----

object_reader::object_reader(const nlohmann::json& object, std::vector<std::string> loc,
                             issue_list& sink)
    : object_(&object), loc_(std::move(loc)), sink_(&sink) {}

bool object_reader::has(std::string_view key) const {
  if (!object_->is_object()) return false;
  auto it = object_->find(key);
  return it != object_->end() && !it->is_null();
}

std::string_view object_reader::first_present(std::initializer_list<std::string_view> keys) const {
  for (auto k : keys)
    if (has(k)) return k;
  return {};
}

std::vector<std::string> object_reader::loc(std::string_view key) const {
  auto out = loc_;
  out.emplace_back(key);
  return out;
}

void object_reader::issue(std::vector<std::string> where, std::string msg, std::string type) {
  sink_->push_back({std::move(where), std::move(msg), std::move(type)});
}

void object_reader::issue(std::string_view key, std::string msg, std::string type) {
  issue(loc(key), std::move(msg), std::move(type));
}

const nlohmann::json* object_reader::get(std::string_view key, presence p) {
  if (object_->is_object()) {
    auto it = object_->find(key);
    if (it != object_->end() && !it->is_null()) return &*it;
  }
  if (p == required) issue(key, "field required", "value_error.missing");
  return nullptr;
}

std::optional<std::string> object_reader::string(std::string_view key, presence p, size_t min_len,
                                                 size_t max_len) {
  const auto* v = get(key, p);
  if (!v) return std::nullopt;
  std::string s;
  if (v->is_string()) {
    s = v->get<std::string>();
  } else if (v->is_number_integer()) {
    s = v->dump();  // pydantic v1 coerces numbers to str
  } else {
    issue(key, "str type expected", "type_error.str");
    return std::nullopt;
  }
  if (s.size() < min_len) {
    issue(key, fmt::format("ensure this value has at least {} characters", min_len),
          "value_error.any_str.min_length");
    return std::nullopt;
  }
  if (s.size() > max_len) {
    issue(key, fmt::format("ensure this value has at most {} characters", max_len),
          "value_error.any_str.max_length");
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> object_reader::integer(std::string_view key, presence p, int64_t min,
                                              int64_t max) {
  const auto* v = get(key, p);
  if (!v) return std::nullopt;
  std::optional<int64_t> n;
  if (v->is_number_integer()) {
    n = v->get<int64_t>();
  } else if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) n = static_cast<int64_t>(d);
  } else if (v->is_string()) {
    n = parse_int(v->get_ref<const std::string&>());
  }
  if (!n) {
    issue(key, "value is not a valid integer", "type_error.integer");
    return std::nullopt;
  }
  if (*n < min) {
    issue(key, fmt::format("ensure this value is greater than or equal to {}", min),
          "value_error.number.not_ge");
    return std::nullopt;
  }
  if (*n > max) {
    issue(key, fmt::format("ensure this value is less than or equal to {}", max),
          "value_error.number.not_le");
    return std::nullopt;
  }
  return n;
}

std::optional<money::cents> object_reader::amount(std::string_view key, presence p,
                                                  money::cents min_cents, money::cents max_cents) {
  const auto* v = get(key, p);
  if (!v) return std::nullopt;
  auto c = money::from_json(*v);
  if (!c) {
    issue(key, "value is not a valid decimal", "type_error.decimal");
    return std::nullopt;
  }
  if (*c < min_cents) {
    issue(key, fmt::format("ensure this value is greater than or equal to {}", money::format(min_cents)),
          "value_error.number.not_ge");
    return std::nullopt;
  }
  if (*c > max_cents) {
    issue(key, fmt::format("ensure this value is less than or equal to {}", money::format(max_cents)),
          "value_error.number.not_le");
    return std::nullopt;
  }
  return c;
}

std::optional<double> object_reader::number(std::string_view key, presence p, double min,
                                            double max) {
  const auto* v = get(key, p);
  if (!v) return std::nullopt;
  std::optional<double> d;
  if (v->is_number()) {
    d = v->get<double>();
  } else if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    char* end = nullptr;
    const double parsed = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) d = parsed;
  }
  if (!d || !std::isfinite(*d)) {
    issue(key, "value is not a valid float", "type_error.float");
    return std::nullopt;
  }
  if (*d < min) {
    issue(key, fmt::format("ensure this value is greater than or equal to {}", min),
          "value_error.number.not_ge");
    return std::nullopt;
  }
  if (*d > max) {
    issue(key, fmt::format("ensure this value is less than or equal to {}", max),
          "value_error.number.not_le");
    return std::nullopt;
  }
  return d;
}

std::optional<bool> object_reader::boolean(std::string_view key, presence p) {
  const auto* v = get(key, p);
  if (!v) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number_integer() && (v->get<int64_t>() == 0 || v->get<int64_t>() == 1))
    return v->get<int64_t>() == 1;
  if (v->is_string())
    if (auto b = parse_bool(v->get_ref<const std::string&>())) return b;
  issue(key, "value could not be parsed to a boolean", "type_error.bool");
  return std::nullopt;
}

std::optional<std::string> object_reader::choice(std::string_view key, presence p,
                                                 std::initializer_list<std::string_view> allowed,
                                                 bool fold_case) {
  const auto* v = get(key, p);
  if (!v) return std::nullopt;
  if (v->is_string()) {
    std::string s = fold_case ? lower(v->get<std::string>()) : v->get<std::string>();
    for (auto a : allowed)
      if (s == a) return s;
  }
  issue(key, fmt::format("value is not a valid enumeration member; permitted: {}", permitted(allowed)),
        "type_error.enum");
  return std::nullopt;
}

const nlohmann::json* object_reader::object(std::string_view key, presence p) {
  const auto* v = get(key, p);
  if (!v) return nullptr;
  if (!v->is_object()) {
    issue(key, "value is not a valid dict", "type_error.dict");
    return nullptr;
  }
  return v;
}

const nlohmann::json* object_reader::array(std::string_view key, presence p, size_t min_items,
                                           size_t max_items) {
  const auto* v = get(key, p);
  if (!v) return nullptr;
  if (!v->is_array()) {
    issue(key, "value is not a valid list", "type_error.list");
    return nullptr;
  }
  if (v->size() < min_items) {
    issue(key, fmt::format("ensure this value has at least {} items", min_items),
          "value_error.list.min_items");
    return nullptr;
  }
  if (v->size() > max_items) {
    issue(key, fmt::format("ensure this value has at most {} items", max_items),
          "value_error.list.max_items");
    return nullptr;
  }
  return v;
}

std::optional<std::vector<std::string>> object_reader::strings(std::string_view key, presence p,
                                                               size_t max_items, size_t max_len) {
  const auto* v = array(key, p, 0, max_items);
  if (!v) return std::nullopt;
  std::vector<std::string> out;
  bool good = true;
  for (size_t i = 0; i < v->size(); ++i) {
    const auto& item = (*v)[i];
    if (!item.is_string() || item.get_ref<const std::string&>().size() > max_len) {
      auto where = loc(key);
      where.push_back(std::to_string(i));
      issue(std::move(where), item.is_string() ? fmt::format("ensure this value has at most {} characters", max_len)
                                               : "str type expected",
            item.is_string() ? "value_error.any_str.max_length" : "type_error.str");
      good = false;
      continue;
    }
    out.push_back(item.get<std::string>());
  }
  if (!good) return std::nullopt;
  return out;
}

// ---- body_reader ----

namespace {
nlohmann::json parse_body(std::string_view text, bool allow_empty, issue_list& issues) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    if (allow_empty) return nlohmann::json::object();
    issues.push_back({{"body"}, "field required", "value_error.missing"});
    return nlohmann::json::object();
  }
  auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) {
    issues.push_back({{"body", "0"}, "Expecting value: JSON decode error", "value_error.jsondecode"});
    return nlohmann::json::object();
  }
  if (!doc.is_object()) {
    issues.push_back({{"body"}, "value is not a valid dict", "type_error.dict"});
    return nlohmann::json::object();
  }
  return doc;
}
}  // namespace

body_reader::body_reader(std::string_view text, bool allow_empty_as_object)
    : body_reader(text, allow_empty_as_object, 0) {}

body_reader::body_reader(std::string_view text, bool allow_empty, int)
    : object_reader(document_, {"body"}, issues_) {
  document_ = parse_body(text, allow_empty, issues_);
}

// ---- query_reader ----

query_reader::query_reader(const http_request& request) : params_(http::parse_query(request.query)) {}

const std::string* query_reader::raw(std::string_view name) const {
  for (const auto& [k, v] : params_)
    if (k == name) return &v;
  return nullptr;
}

bool query_reader::has(std::string_view name) const { return raw(name) != nullptr; }

std::string_view query_reader::first_present(std::initializer_list<std::string_view> names) const {
  for (auto n : names)
    if (has(n)) return n;
  return {};
}

void query_reader::issue(std::string_view name, std::string msg, std::string type) {
  issues_.push_back({{"query", std::string{name}}, std::move(msg), std::move(type)});
}

std::optional<std::string> query_reader::string(std::string_view name, presence p, size_t min_len,
                                                size_t max_len) {
  const auto* v = raw(name);
  if (!v) {
    if (p == required) issue(name, "field required", "value_error.missing");
    return std::nullopt;
  }
  if (v->size() < min_len) {
    issue(name, fmt::format("ensure this value has at least {} characters", min_len),
          "value_error.any_str.min_length");
    return std::nullopt;
  }
  if (v->size() > max_len) {
    issue(name, fmt::format("ensure this value has at most {} characters", max_len),
          "value_error.any_str.max_length");
    return std::nullopt;
  }
  return *v;
}

std::optional<int64_t> query_reader::integer(std::string_view name, presence p, int64_t min,
                                             int64_t max) {
  auto s = string(name, p);
  if (!s) return std::nullopt;
  auto n = parse_int(*s);
  if (!n) {
    issue(name, "value is not a valid integer", "type_error.integer");
    return std::nullopt;
  }
  if (*n < min) {
    issue(name, fmt::format("ensure this value is greater than or equal to {}", min),
          "value_error.number.not_ge");
    return std::nullopt;
  }
  if (*n > max) {
    issue(name, fmt::format("ensure this value is less than or equal to {}", max),
          "value_error.number.not_le");
    return std::nullopt;
  }
  return n;
}

std::optional<money::cents> query_reader::amount(std::string_view name, presence p,
                                                 money::cents min_cents) {
  auto s = string(name, p);
  if (!s) return std::nullopt;
  auto c = money::parse_decimal(*s);
  if (!c) {
    issue(name, "value is not a valid decimal", "type_error.decimal");
    return std::nullopt;
  }
  if (*c < min_cents) {
    issue(name, fmt::format("ensure this value is greater than or equal to {}", money::format(min_cents)),
          "value_error.number.not_ge");
    return std::nullopt;
  }
  return c;
}

std::optional<bool> query_reader::boolean(std::string_view name, presence p) {
  auto s = string(name, p);
  if (!s) return std::nullopt;
  auto b = parse_bool(*s);
  if (!b) issue(name, "value could not be parsed to a boolean", "type_error.bool");
  return b;
}

std::optional<std::string> query_reader::choice(std::string_view name, presence p,
                                                std::initializer_list<std::string_view> allowed,
                                                bool fold_case) {
  auto s = string(name, p);
  if (!s) return std::nullopt;
  std::string v = fold_case ? lower(*s) : *s;
  for (auto a : allowed)
    if (v == a) return v;
  issue(name, fmt::format("value is not a valid enumeration member; permitted: {}", permitted(allowed)),
        "type_error.enum");
  return std::nullopt;
}

page_window read_window(query_reader& q, int64_t default_limit, int64_t max_limit) {
  page_window w;
  w.limit = default_limit;
  if (auto s = q.integer("skip", optional, 0)) w.skip = *s;
  if (auto l = q.integer("limit", optional, 1, max_limit)) w.limit = *l;
  return w;
}

http_response json_response(int status, const nlohmann::json& body) {
  http_response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace mercato::input
