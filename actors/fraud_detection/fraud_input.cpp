// Scoring and block requests from JSON (fraud_input.hpp).
#include "fraud_detection/fraud_input.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "fraud_detection/input_hash.hpp"
#include "runtime/uuid.hpp"

namespace mercato::fraud {
namespace {

using nlohmann::json;

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// Reads the keys of `data` the rules use into `out` and writes their canonical values into
// `canonical` (a copy of data). Returns false when an issue was recorded.
bool read_data(const json& data, std::vector<std::string> loc, bool amount_required,
               const rule_settings& settings, input::issue_list& issues, score_input& out,
               json& canonical) {
  const size_t before = issues.size();
  input::object_reader r{data, std::move(loc), issues};
  canonical = data;

  out.amount = r.amount("amount", amount_required ? input::required : input::optional);
  if (out.amount) canonical["amount"] = money::format(*out.amount);

  out.currency = settings.store_currency;
  if (auto c = r.string("currency", input::optional, 1, 10)) {
    const std::string cur = upper(*c);
    if (cur != upper(settings.store_currency))
      r.issue("currency",
              fmt::format("currency must be {} (amounts are compared in the store currency; no "
                          "conversion is made)",
                          settings.store_currency),
              "value_error.currency");
    canonical["currency"] = cur;
  }
  if (auto e = r.string("email", input::optional, 0, 320)) {
    // Normalised like a blocked e-mail (trim + lower case) so the lookup finds the block.
    out.email = normalize_email(*e).value_or(lower_trimmed(*e));
    canonical["email"] = out.email;
  }
  if (auto p = r.string("phone", input::optional, 0, 50)) {
    out.phone = normalize_phone(*p).value_or("");
    if (!out.phone.empty()) canonical["phone"] = out.phone;
  }
  if (auto ip = r.string("ip_address", input::optional, 0, 100)) {
    if (auto n = normalize_ip(*ip)) {
      out.ip_address = *n;
      canonical["ip_address"] = *n;
    } else if (!ip->empty()) {
      r.issue("ip_address", "value is not a valid IPv4 or IPv6 address", "value_error.ipvanyaddress");
    }
  }
  if (auto f = r.string("card_fingerprint", input::optional, 0, 255)) out.card_fingerprint = *f;
  if (auto rep = r.string("ip_reputation", input::optional, 0, 50)) {
    out.ip_reputation = lower_trimmed(*rep);
    canonical["ip_reputation"] = *out.ip_reputation;
  }
  if (auto n = r.integer("order_count_24h", input::optional, 0, 1'000'000)) {
    out.order_count_24h = *n;
    canonical["order_count_24h"] = *n;
  }
  if (auto d = r.number("account_age_days", input::optional, 0, 1e6)) {
    out.account_age_days = *d;
    canonical["account_age_days"] = *d;
  }
  if (auto b = r.boolean("address_mismatch", input::optional)) {
    out.address_mismatch = *b;
    canonical["address_mismatch"] = *b;
  }
  if (auto n = r.integer("payment_method_changes_7d", input::optional, 0, 1'000'000)) {
    out.payment_method_changes_7d = *n;
    canonical["payment_method_changes_7d"] = *n;
  }
  return issues.size() == before;
}

void seal(score_request& req) {
  // nlohmann::json objects are ordered maps: the dump is canonical (sorted keys, fixed format).
  const json canonical{{"entity_type", req.entity_type},
                       {"entity_id", req.entity_id},
                       {"customer_id", req.customer_id},
                       {"data", req.data}};
  req.input_hash = sha256_hex(canonical.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

bool is_entity_type(std::string_view type) {
  return type == "order" || type == "payment" || type == "customer" || type == "account" ||
         type == "transaction";
}

std::optional<score_request> read_score_message(std::string entity_type, std::string entity_id,
                                                std::string customer_id, const json& data,
                                                bool amount_required, const rule_settings& settings,
                                                input::issue_list& issues) {
  const size_t before = issues.size();
  score_request req;
  if (!is_entity_type(entity_type))
    issues.push_back({{"entity_type"},
                      "value is not a valid enumeration member; permitted: 'order', 'payment', "
                      "'customer', 'account', 'transaction'",
                      "type_error.enum"});
  if (entity_id.empty() || entity_id.size() > 255)
    issues.push_back({{"entity_id"}, "ensure this value has 1 to 255 characters",
                      "value_error.any_str.length"});
  if (customer_id.size() > 255)
    issues.push_back({{"customer_id"}, "ensure this value has at most 255 characters",
                      "value_error.any_str.max_length"});
  if (!data.is_object()) {
    issues.push_back({{"data"}, "value is not a valid dict", "type_error.dict"});
  } else {
    read_data(data, {"data"}, amount_required, settings, issues, req.input, req.data);
  }
  if (issues.size() != before) return std::nullopt;
  req.entity_type = std::move(entity_type);
  req.entity_id = std::move(entity_id);
  req.customer_id = std::move(customer_id);
  seal(req);
  return req;
}

std::optional<score_request> read_check_request(const json& body, const rule_settings& settings,
                                                input::issue_list& issues) {
  const size_t before = issues.size();
  input::object_reader r{body, {"body"}, issues};
  score_request req;

  // `data` plus, for the flat legacy form, every other top-level key (data's own keys win).
  json data = json::object();
  bool nested = false;
  if (r.has("data")) {
    if (const json* d = r.object("data", input::optional)) {
      data = *d;
      nested = true;
    }
  }
  bool flat_keys = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const auto& key = it.key();
    if (key == "entity_type" || key == "entity_id" || key == "customer_id" || key == "data") continue;
    flat_keys = true;
    if (!data.contains(key)) data[key] = it.value();
  }

  if (r.has("entity_type")) {
    if (auto t = r.choice("entity_type", input::optional,
                          {"order", "payment", "customer", "account", "transaction"}, true))
      req.entity_type = *t;
  } else {
    req.entity_type = body.contains("transaction_id") && !body["transaction_id"].is_null() ? "payment"
                                                                                            : "order";
  }
  if (auto id = r.string("entity_id", input::optional, 1, 255)) {
    req.entity_id = *id;
  } else if (!r.has("entity_id")) {
    for (const char* key : {"transaction_id", "order_id"}) {
      if (auto v = r.string(key, input::optional, 1, 255)) {
        req.entity_id = *v;
        break;
      }
    }
    if (req.entity_id.empty()) req.entity_id = uuid_v4();
  }
  if (auto c = r.string("customer_id", input::optional, 0, 255)) req.customer_id = *c;

  // Issues for data keys point where the client put them.
  std::vector<std::string> loc = (nested || !flat_keys) ? std::vector<std::string>{"body", "data"}
                                                        : std::vector<std::string>{"body"};
  read_data(data, loc, false, settings, issues, req.input, req.data);
  if (issues.size() != before) return std::nullopt;
  seal(req);
  return req;
}

namespace {

// The block fields from a flat object (both REST forms and the typed door end here).
std::optional<block_request> read_block_fields(const json& fields, std::vector<std::string> loc,
                                               input::issue_list& issues) {
  const size_t before = issues.size();
  input::object_reader r{fields, std::move(loc), issues};
  block_request out;
  if (auto t = r.choice("entity_type", input::required,
                        {"email", "ip", "customer", "phone", "card_fingerprint"}, true))
    out.entity_type = *t;
  auto value = r.string("entity_value", input::required, 1, 500);
  if (auto reason = r.string("reason", input::required, 1, 500)) out.reason = *reason;
  out.duration_hours = r.integer("duration_hours", input::optional, 1, 8760);
  if (auto by = r.string("blocked_by", input::required, 1, 255)) out.blocked_by = *by;
  if (value && !out.entity_type.empty()) {
    if (auto n = normalize_entity(out.entity_type, *value)) {
      out.entity_value = *n;
    } else if (out.entity_type == "email") {
      r.issue("entity_value", "value is not a valid email address", "value_error.email");
    } else if (out.entity_type == "ip") {
      r.issue("entity_value", "value is not a valid IPv4 or IPv6 address", "value_error.ipvanyaddress");
    } else if (out.entity_type == "phone") {
      r.issue("entity_value", "value is not a valid phone number", "value_error.phone");
    } else {
      r.issue("entity_value", "ensure this value has at most 255 characters",
              "value_error.any_str.max_length");
    }
  }
  if (issues.size() != before) return std::nullopt;
  return out;
}

}  // namespace

std::optional<block_request> validate_block(block_request raw, input::issue_list& issues) {
  json fields{{"entity_type", raw.entity_type},
              {"entity_value", raw.entity_value},
              {"reason", raw.reason},
              {"blocked_by", raw.blocked_by}};
  if (raw.duration_hours) fields["duration_hours"] = *raw.duration_hours;
  return read_block_fields(fields, {}, issues);
}

std::optional<block_request> read_block_request(const json& body, input::issue_list& issues) {
  input::object_reader top{body, {"body"}, issues};
  if (!top.has("request")) return read_block_fields(body, {"body"}, issues);
  // The seed's embedded form: {"request": {...}, "blocked_by": "..."}.
  const json* request = top.object("request", input::optional);
  if (!request) return std::nullopt;
  json fields = *request;
  if (body.contains("blocked_by")) fields["blocked_by"] = body["blocked_by"];
  return read_block_fields(fields, {"body", "request"}, issues);
}

bool is_iso8601(std::string_view t) {
  auto digits = [&](size_t pos, size_t n) {
    if (pos + n > t.size()) return false;
    for (size_t i = pos; i < pos + n; ++i)
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return false;
    return true;
  };
  if (!digits(0, 4) || t.size() < 10 || t[4] != '-' || !digits(5, 2) || t[7] != '-' || !digits(8, 2))
    return false;
  const int month = (t[5] - '0') * 10 + (t[6] - '0');
  const int day = (t[8] - '0') * 10 + (t[9] - '0');
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (t.size() == 10) return true;
  if (t[10] != 'T' && t[10] != 't' && t[10] != ' ') return false;
  if (!digits(11, 2) || t.size() < 16 || t[13] != ':' || !digits(14, 2)) return false;
  size_t pos = 16;
  if (pos < t.size() && t[pos] == ':') {
    if (!digits(pos + 1, 2)) return false;
    pos += 3;
    if (pos < t.size() && t[pos] == '.') {
      ++pos;
      const size_t start = pos;
      while (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) ++pos;
      if (pos == start) return false;
    }
  }
  if (pos == t.size()) return true;
  if ((t[pos] == 'Z' || t[pos] == 'z') && pos + 1 == t.size()) return true;
  if (t[pos] == '+' || t[pos] == '-')
    return t.size() == pos + 6 && digits(pos + 1, 2) && t[pos + 3] == ':' && digits(pos + 4, 2);
  return false;
}

std::optional<double> account_age_days(std::string_view t, std::chrono::system_clock::time_point now) {
  if (!is_iso8601(t)) return std::nullopt;
  auto num = [&](size_t pos, size_t n) {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  int64_t offset_seconds = 0;
  if (t.size() > 10) {
    tm.tm_hour = num(11, 2);
    tm.tm_min = num(14, 2);
    size_t pos = 16;
    if (pos < t.size() && t[pos] == ':') {
      tm.tm_sec = num(pos + 1, 2);
      pos += 3;
      while (pos < t.size() && (t[pos] == '.' || std::isdigit(static_cast<unsigned char>(t[pos])))) ++pos;
    }
    if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
      offset_seconds = (num(pos + 1, 2) * 3600 + num(pos + 4, 2) * 60) * (t[pos] == '-' ? -1 : 1);
    }
  }
  const int64_t registered = static_cast<int64_t>(timegm(&tm)) - offset_seconds;
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const double days = std::max<int64_t>(0, now_s - registered) / 86400.0;
  return std::round(days * 100.0) / 100.0;
}

bool is_uuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (t[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(t[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace mercato::fraud
