// Profile input shared by REST and the typed messages (see profile_input.hpp).
#include "customer/profile_input.hpp"

#include <cctype>
#include <set>

#include <fmt/format.h>

#include "runtime/clock.hpp"

namespace mercato::customer {
namespace {

using json = nlohmann::json;
using input::optional;
using input::required;

std::string today() { return clock::iso8601_now().substr(0, 10); }

// date_of_birth: a real date in the past, age ≤ 130.
void read_birth_date(input::object_reader& in, json& out) {
  auto d = in.string("date_of_birth", optional, 0, 10);
  if (!d) return;
  if (!valid_iso_date(*d)) {
    in.issue("date_of_birth", "invalid date format", "value_error.date");
    return;
  }
  std::string now = today();
  std::string oldest = fmt::format("{:04d}{}", std::stoi(now.substr(0, 4)) - 130, now.substr(4));
  if (*d >= now || *d < oldest) {
    in.issue("date_of_birth", "date of birth must be in the past (age at most 130)", "value_error.date");
    return;
  }
  out["date_of_birth"] = *d;
}

void read_email(input::object_reader& in, json& out, input::presence p) {
  auto raw = in.string("email", p, 1, 320);
  if (!raw) return;
  auto email = normalize_email(*raw);
  if (!email) {
    in.issue("email", "value is not a valid email address", "value_error.email");
    return;
  }
  out["email"] = *email;
}

void read_phone(input::object_reader& in, json& out) {
  auto raw = in.string("phone", optional, 0, 40);
  if (!raw) return;
  auto phone = normalize_phone(*raw);
  if (!phone) {
    in.issue("phone", "value is not a valid phone number (7 to 15 digits, optional leading +)", "value_error.phone");
    return;
  }
  out["phone"] = *phone;
}

void reject_unknown(input::object_reader& in, const std::set<std::string>& allowed) {
  for (auto it = in.json().begin(); it != in.json().end(); ++it)
    if (!allowed.count(it.key())) in.issue(in.loc(it.key()), "extra fields not permitted", "value_error.extra");
}

bool digits(const std::string& s, size_t from, size_t n) {
  for (size_t i = from; i < from + n; ++i)
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// A typed message's field into the equivalent body: empty text and nullopt mean "not given".
void put(json& b, const char* key, const std::string& v) {
  if (!v.empty()) b[key] = v;
}
void put(json& b, const char* key, const std::optional<std::string>& v) {
  if (v) b[key] = *v;
}

// The profile fields create_customer and update_customer both carry.
template <class Message>
void put_profile_fields(json& b, const Message& m) {
  put(b, "phone", m.phone);
  put(b, "first_name", m.first_name);
  put(b, "last_name", m.last_name);
  put(b, "date_of_birth", m.date_of_birth);
  put(b, "gender", m.gender);
  put(b, "customer_type", m.customer_type);
  put(b, "company_name", m.company_name);
}

}  // namespace

void read_text(input::object_reader& in, json& out, const char* key, size_t max_len, size_t min_len) {
  if (in.json().contains(key) && in.json()[key].is_null()) {
    out[key] = nullptr;
    return;
  }
  if (auto v = in.string(key, optional, min_len, max_len)) out[key] = *v;
}

store::new_profile read_registration(input::object_reader& in, bool with_source) {
  store::new_profile p;
  if (auto id = in.string("customer_id", optional, 1, 100)) {
    if (!valid_customer_id(*id))
      in.issue("customer_id", "customer_id may hold letters, digits and _ . : @ - only", "value_error.str.regex");
    else
      p.customer_id = *id;
  }
  json f = json::object();
  read_email(in, f, required);
  read_phone(in, f);
  read_birth_date(in, f);
  p.first_name = in.string("first_name", optional, 0, 100);
  p.last_name = in.string("last_name", optional, 0, 100);
  p.gender = in.string("gender", optional, 0, 50);
  p.company_name = in.string("company_name", optional, 0, 200);
  if (auto t = in.choice("customer_type", optional, {"individual", "business"}, true)) p.customer_type = *t;
  if (auto code = in.string("referral_code", optional, 0, 20)) {
    std::string upper;
    for (char c : *code) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (!valid_referral_code(upper))
      in.issue("referral_code", "unknown referral code", "value_error.referral_code");
    else
      p.referral_code = upper;
  }
  p.source = "api";
  if (with_source)
    if (auto s = in.string("source", optional, 1, 100)) p.source = *s;
  if (f.contains("email")) p.email = f["email"];
  if (f.contains("phone")) p.phone = f["phone"].get<std::string>();
  if (f.contains("date_of_birth")) p.date_of_birth = f["date_of_birth"].get<std::string>();
  return p;
}

json read_profile_changes(input::object_reader& in) {
  reject_unknown(in, {"email", "phone", "first_name", "last_name", "date_of_birth", "gender", "customer_type",
                      "company_name", "account_status", "email_verified", "phone_verified", "kyc_status",
                      "metadata", "preferred_language"});
  json c = json::object();
  if (in.json().contains("email")) read_email(in, c, required);
  if (in.json().contains("phone")) {
    if (in.json()["phone"].is_null())
      c["phone"] = nullptr;
    else
      read_phone(in, c);
  }
  if (in.json().contains("date_of_birth")) {
    if (in.json()["date_of_birth"].is_null())
      c["date_of_birth"] = nullptr;
    else
      read_birth_date(in, c);
  }
  read_text(in, c, "first_name", 100);
  read_text(in, c, "last_name", 100);
  read_text(in, c, "gender", 50);
  read_text(in, c, "company_name", 200);
  if (auto v = in.choice("customer_type", optional, {"individual", "business"}, true)) c["customer_type"] = *v;
  if (auto v = in.choice("account_status", optional, {"active", "inactive", "suspended", "blocked"}, true))
    c["account_status"] = *v;
  if (auto v = in.choice("kyc_status", optional, {"pending", "verified", "failed"}, true)) c["kyc_status"] = *v;
  if (auto v = in.boolean("email_verified", optional)) c["email_verified"] = *v;
  if (auto v = in.boolean("phone_verified", optional)) c["phone_verified"] = *v;
  if (auto v = in.string("preferred_language", optional, 2, 10)) c["preferred_language"] = *v;
  if (const auto* m = in.object("metadata", optional)) c["metadata"] = *m;
  return c;
}

json read_interaction(input::object_reader& in) {
  json f = json::object();
  if (auto v = in.choice("interaction_type", required,
                         {"support_ticket", "chat", "email", "phone", "review", "feedback"}, true))
    f["interaction_type"] = *v;
  if (auto v = in.string("interaction_channel", optional, 0, 50)) f["interaction_channel"] = *v;
  if (auto v = in.string("subject", optional, 0, 200)) f["subject"] = *v;
  if (auto v = in.string("description", optional, 0, 5000)) f["description"] = *v;
  if (auto v = in.choice("priority", optional, {"low", "medium", "high", "urgent"}, true)) f["priority"] = *v;
  if (auto v = in.string("reference", optional, 0, 200)) f["reference"] = *v;
  if (const auto* m = in.object("metadata", optional)) f["metadata"] = *m;
  return f;
}

json interaction_body(const record_interaction& m) {
  json b{{"interaction_type", m.interaction_type}};
  put(b, "interaction_channel", m.channel);
  put(b, "subject", m.subject);
  put(b, "description", m.description);
  put(b, "priority", m.priority);
  put(b, "reference", m.reference);
  return b;
}

json registration_body(const create_customer& m) {
  json b = json::object();
  put(b, "customer_id", m.customer_id);
  b["email"] = m.email;  // required: an empty one is reported as invalid
  put_profile_fields(b, m);
  put(b, "referral_code", m.referral_code);
  put(b, "source", m.source);
  return b;
}

json changes_body(const update_customer& m) {
  json b = json::object();
  put(b, "email", m.email);
  put_profile_fields(b, m);
  put(b, "account_status", m.account_status);
  put(b, "kyc_status", m.kyc_status);
  put(b, "preferred_language", m.preferred_language);
  if (m.email_verified) b["email_verified"] = *m.email_verified;
  if (m.phone_verified) b["phone_verified"] = *m.phone_verified;
  if (m.metadata_json) {
    json meta = json::parse(*m.metadata_json, nullptr, false);
    b["metadata"] = meta.is_discarded() ? json(*m.metadata_json) : meta;  // not an object → the reader says so
  }
  for (const auto& k : m.clear) b[k] = nullptr;
  return b;
}

json filter_body(const customer_filter& f) {
  json b = json::object();
  put(b, "account_status", f.account_status);
  put(b, "customer_type", f.customer_type);
  put(b, "loyalty_tier", f.loyalty_tier);
  put(b, "registered_from", f.registered_from);
  put(b, "registered_to", f.registered_to);
  put(b, "email", f.email);
  put(b, "search", f.search);
  if (f.marketing_opt_in) b["marketing_opt_in"] = *f.marketing_opt_in;
  return b;
}

bool valid_registration_bound(const std::string& s) {
  if (s.size() < 10 || !valid_iso_date(s.substr(0, 10))) return false;
  if (s.size() == 10) return true;
  // THH:MM:SS[.f…]Z
  if (s.size() < 20 || s[10] != 'T' || !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' ||
      !digits(s, 17, 2) || s.back() != 'Z')
    return false;
  if (std::stoi(s.substr(11, 2)) > 23 || std::stoi(s.substr(14, 2)) > 59 || std::stoi(s.substr(17, 2)) > 59)
    return false;
  if (s.size() == 20) return true;
  return s[19] == '.' && s.size() > 21 && digits(s, 20, s.size() - 21);
}

failure invalid_input(const input::issue_list& issues) {
  json list = json::array();
  for (const auto& i : issues) list.push_back(json{{"loc", i.loc}, {"msg", i.msg}, {"type", i.type}});
  std::string message = "invalid input";
  if (!issues.empty()) message = (issues[0].loc.empty() ? std::string{} : issues[0].loc.back() + ": ") + issues[0].msg;
  return failure{failure_kind::invalid, "invalid_input", message, list.dump()};
}

}  // namespace mercato::customer
