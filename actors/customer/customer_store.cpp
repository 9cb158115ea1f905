// SQL for profiles, addresses, preferences and interactions (see customer_store.hpp).
#include "customer/customer_store.hpp"

#include <map>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "customer/profile_rules.hpp"
#include "db/hot_statement.hpp"
#include "db/outbox.hpp"
#include "db/sql_array.hpp"
#include "runtime/uuid.hpp"

namespace mercato::customer::store {
namespace {

using opt_text = std::optional<std::string>;

json text_or_null(const pqxx::field& f) { return f.is_null() ? json(nullptr) : json(f.c_str()); }

opt_text opt_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

money::cents cents_of(const pqxx::field& f) {
  if (f.is_null()) return 0;
  return money::parse_decimal(f.c_str()).value_or(0);
}

// The profile's columns, with `tier_sql` as its loyalty tier, FROM customer_profiles p.
std::string profile_columns_from(const std::string& tier_sql) {
  return "SELECT p.customer_id, p.email, p.phone, p.first_name, p.last_name, "
         "p.date_of_birth::text AS date_of_birth, p.gender, p.customer_type, p.company_name, "
         "p.account_status, p.email_verified, p.phone_verified, p.kyc_status, p.referred_by, "
         "p.preferred_language, p.source, " +
         iso_sql("p.registration_date") + " AS registration_date, " + iso_sql("p.last_login_at") +
         " AS last_login_at, p.total_orders, p.total_spent::text AS total_spent, " +
         iso_sql("p.last_order_at") +
         " AS last_order_at, " + tier_sql + " AS loyalty_tier, "
         "p.metadata::text AS metadata, " +
         iso_sql("p.created_at") + " AS created_at, " + iso_sql("p.updated_at") +
         " AS updated_at, floor(extract(epoch FROM now() - p.registration_date) / 86400)::bigint "
         "AS account_age_days "
         "FROM customers.customer_profiles p ";
}

// The profile joined to its loyalty row as `l`, which the list's tier filter reads.
std::string profile_select() {
  return profile_columns_from("coalesce(l.loyalty_tier, 'bronze')") +
         "LEFT JOIN customers.customer_loyalty l ON l.customer_id = p.customer_id ";
}

json profile_json(const pqxx::row& r) {
  json j = json::object();
  for (const char* k : {"customer_id", "email", "phone", "first_name", "last_name", "date_of_birth",
                        "gender", "customer_type", "company_name", "account_status", "kyc_status",
                        "referred_by", "preferred_language", "source", "registration_date",
                        "last_login_at", "last_order_at", "loyalty_tier", "created_at", "updated_at"})
    j[k] = text_or_null(r[k]);
  j["email_verified"] = r["email_verified"].as<bool>();
  j["phone_verified"] = r["phone_verified"].as<bool>();
  j["total_orders"] = r["total_orders"].as<int64_t>();
  j["total_spent"] = money::to_json(cents_of(r["total_spent"]));
  j["metadata"] = json::parse(r["metadata"].c_str(), nullptr, false);
  j["account_age_days"] = r["account_age_days"].as<int64_t>();
  return j;
}

std::string address_select() {
  return "SELECT address_id::text AS address_id, customer_id, address_type, address_label, first_name, "
         "last_name, company_name, street_address_1, street_address_2, city, state_province, "
         "postal_code, country_code, phone, is_default, is_verified, delivery_instructions, " +
         iso_sql("created_at") + " AS created_at, " + iso_sql("updated_at") +
         " AS updated_at FROM customers.customer_addresses ";
}

const char* const address_text_fields[] = {
    "address_type", "address_label", "first_name", "last_name", "company_name", "street_address_1",
    "street_address_2", "city", "state_province", "postal_code", "country_code", "phone",
    "delivery_instructions"};

json address_json(const pqxx::row& r) {
  json j = json::object();
  j["address_id"] = r["address_id"].c_str();
  j["customer_id"] = r["customer_id"].c_str();
  for (const char* k : address_text_fields) j[k] = text_or_null(r[k]);
  j["is_default"] = r["is_default"].as<bool>();
  j["is_verified"] = r["is_verified"].as<bool>();
  j["created_at"] = r["created_at"].c_str();
  j["updated_at"] = r["updated_at"].c_str();
  return j;
}

std::string interaction_select() {
  return "SELECT interaction_id::text AS interaction_id, customer_id, interaction_type, "
         "interaction_channel, subject, description, status, priority, assigned_to, resolution, "
         "reference, metadata::text AS metadata, " +
         iso_sql("created_at") + " AS created_at, " + iso_sql("updated_at") +
         " AS updated_at FROM customers.customer_interactions ";
}

json interaction_json(const pqxx::row& r) {
  json j = json::object();
  for (const char* k : {"interaction_id", "customer_id", "interaction_type", "interaction_channel",
                        "subject", "description", "status", "priority", "assigned_to", "resolution",
                        "reference", "created_at", "updated_at"})
    j[k] = text_or_null(r[k]);
  j["metadata"] = json::parse(r["metadata"].c_str(), nullptr, false);
  return j;
}

bool email_taken(pqxx::work& tx, const std::string& email, const std::string& except_id) {
  return !tx.exec_params("SELECT 1 FROM customers.customer_profiles WHERE email = $1 AND deleted_at IS NULL "
                         "AND customer_id <> $2",
                         email, except_id)
              .empty();
}

std::string email_taken_text(const std::string& email) {
  return fmt::format("Customer with email {} already exists", email);
}

// Clears is_default on the customer's other addresses whose purpose overlaps `type` (both counts
// for shipping and billing), so at most one default per purpose remains.
void clear_overlapping_defaults(pqxx::work& tx, const std::string& customer_id, const std::string& type,
                                const std::string& keep_id) {
  tx.exec_params(
      "UPDATE customers.customer_addresses SET is_default = false, updated_at = now() "
      "WHERE customer_id = $1 AND is_default AND address_id <> $3::uuid "
      "AND ($2 = 'both' OR address_type = 'both' OR address_type = $2)",
      customer_id, type, keep_id);
}

bool valid_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string iso_sql(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

void publish(pqxx::work& tx, const std::string& name, const json& payload, const std::string& aggregate,
             const std::string& correlation) {
  static const db::outbox box{"customers"};
  box.enqueue(tx, make_event("customer", name, payload.dump(), correlation.empty() ? aggregate : correlation),
              aggregate);
}

bool lock_profile(pqxx::work& tx, const std::string& customer_id) {
  return !tx.exec_params("SELECT 1 FROM customers.customer_profiles WHERE customer_id = $1 "
                         "AND deleted_at IS NULL FOR UPDATE",
                         customer_id)
              .empty();
}

std::string not_found_text(const std::string& customer_id) {
  return fmt::format("Customer with ID {} not found", customer_id);
}

// ---- profiles -------------------------------------------------------------------------------

result<json> create_profile(pqxx::work& tx, const new_profile& p) {
  using R = result<json>;
  const std::string id = p.customer_id.empty() ? uuid_v4() : p.customer_id;
  opt_text referrer;
  if (p.referral_code) {
    auto r = tx.exec_params(
        "SELECT l.customer_id FROM customers.customer_loyalty l JOIN customers.customer_profiles p "
        "ON p.customer_id = l.customer_id WHERE l.referral_code = $1 AND p.deleted_at IS NULL",
        *p.referral_code);
    if (r.empty())
      return R::fail(failure_kind::invalid, "unknown_referral_code",
                     fmt::format("Unknown referral code {}", *p.referral_code));
    referrer = r[0][0].c_str();
  }
  // ON CONFLICT DO NOTHING: concurrent registrations of one e-mail or id get a clean 409.
  auto ins = tx.exec_params(
      "INSERT INTO customers.customer_profiles (customer_id, email, phone, first_name, last_name, "
      "date_of_birth, gender, customer_type, company_name, referred_by, source) "
      "VALUES ($1, $2, $3, $4, $5, $6::date, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
      id, p.email, p.phone, p.first_name, p.last_name, p.date_of_birth, p.gender, p.customer_type,
      p.company_name, referrer, p.source);
  if (ins.affected_rows() == 0) {
    if (!tx.exec_params("SELECT 1 FROM customers.customer_profiles WHERE customer_id = $1", id).empty())
      return R::fail(failure_kind::conflict, "id_taken", fmt::format("Customer with ID {} already exists", id));
    return R::fail(failure_kind::conflict, "email_taken", email_taken_text(p.email));
  }
  // Loyalty enrolment with a fresh referral code (retry on the rare collision).
  for (int attempt = 0;; ++attempt) {
    auto r = tx.exec_params(
        "INSERT INTO customers.customer_loyalty (loyalty_id, customer_id, referral_code) "
        "VALUES ($1::uuid, $2, $3) ON CONFLICT (referral_code) DO NOTHING",
        uuid_v4(), id, make_referral_code());
    if (r.affected_rows() == 1) break;
    if (attempt > 20) throw std::runtime_error("could not draw a unique referral code");
  }
  tx.exec_params("INSERT INTO customers.store_credit (customer_id, currency) VALUES ($1, $2)", id,
                 std::string{store_currency});
  if (referrer)
    tx.exec_params("UPDATE customers.customer_loyalty SET referrals_count = referrals_count + 1, "
                   "updated_at = now() WHERE customer_id = $1",
                   *referrer);
  publish(tx, "customer_registered",
          json{{"customer_id", id}, {"email", p.email}, {"referred_by", referrer ? json(*referrer) : json(nullptr)},
               {"source", p.source}, {"first_name", p.first_name ? json(*p.first_name) : json(nullptr)}},
          id);
  return R::of(*load_profile(tx, id));
}

std::optional<json> load_profile(pqxx::transaction_base& tx, const std::string& customer_id) {
  auto r = db::exec_hot(tx, profile_select() + "WHERE p.customer_id = $1 AND p.deleted_at IS NULL", customer_id);
  if (r.empty()) return std::nullopt;
  return profile_json(r[0]);
}

result<json> get_profile(pqxx::transaction_base& tx, const std::string& customer_id) {
  if (auto p = load_profile(tx, customer_id)) return result<json>::of(std::move(*p));
  return result<json>::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
}

result<json> find_by_email(pqxx::work& tx, const std::string& email) {
  auto r = tx.exec_params(profile_select() + "WHERE p.email = $1 AND p.deleted_at IS NULL", email);
  if (r.empty())
    return result<json>::fail(failure_kind::not_found, "customer_not_found",
                              fmt::format("Customer with email {} not found", email));
  return result<json>::of(profile_json(r[0]));
}

namespace {

// The WHERE clause of a profile listing; `params` receives its values ($1…).
std::string profile_where(const profile_filter& f, std::vector<std::string>& params) {
  std::string where = "WHERE p.deleted_at IS NULL";
  auto add = [&](const std::string& clause, const std::string& value) {
    params.push_back(value);
    where += " AND " + fmt::format(clause, params.size());
  };
  if (f.email) add("p.email = ${}", *f.email);
  if (f.account_status) add("p.account_status = ${}", *f.account_status);
  if (f.customer_type) add("p.customer_type = ${}", *f.customer_type);
  if (f.loyalty_tier) add("coalesce(l.loyalty_tier, 'bronze') = ${}", *f.loyalty_tier);
  // a date is a whole UTC day; an instant is taken as it is
  if (f.registered_from)
    add(f.registered_from->size() == 10 ? "p.registration_date >= (${}::date)::timestamp AT TIME ZONE 'UTC'"
                                        : "p.registration_date >= ${}::timestamptz",
        *f.registered_from);
  if (f.registered_to)
    add(f.registered_to->size() == 10 ? "p.registration_date < (${}::date + 1)::timestamp AT TIME ZONE 'UTC'"
                                      : "p.registration_date <= ${}::timestamptz",
        *f.registered_to);
  if (f.marketing_opt_in)
    where += fmt::format(
        " AND {}EXISTS (SELECT 1 FROM customers.customer_preferences cp WHERE cp.customer_id = p.customer_id "
        "AND cp.preference_category = 'notifications' AND cp.preference_key = 'marketing_email' "
        "AND cp.preference_value = 'true'::jsonb)",
        *f.marketing_opt_in ? "" : "NOT ");
  if (f.search) {
    std::string pattern = "%";
    for (char c : *f.search) {
      if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
      pattern.push_back(c);
    }
    pattern += "%";
    params.push_back(pattern);
    auto n = params.size();
    where += fmt::format(
        " AND ((coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '') || ' ' || p.email) "
        "ILIKE ${0} OR coalesce(p.phone, '') ILIKE ${0})",
        n);
  }
  return where;
}

}  // namespace

json list_profiles(pqxx::work& tx, const profile_filter& f) {
  std::vector<std::string> params;
  std::string where = profile_where(f, params);
  params.push_back(std::to_string(f.limit));
  params.push_back(std::to_string(f.skip));
  std::string sql = profile_select() + where +
                    fmt::format(" ORDER BY p.registration_date DESC, p.customer_id LIMIT ${}::bigint OFFSET ${}::bigint",
                                params.size() - 1, params.size());
  auto rows = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
  json out = json::array();
  for (const auto& r : rows) out.push_back(profile_json(r));
  return out;
}

int64_t count_profiles(pqxx::work& tx, const profile_filter& f) {
  std::vector<std::string> params;
  std::string sql = "SELECT count(*) FROM customers.customer_profiles p "
                    "LEFT JOIN customers.customer_loyalty l ON l.customer_id = p.customer_id " +
                    profile_where(f, params);
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params))[0][0].as<int64_t>();
}

result<json> update_profile(pqxx::work& tx, const std::string& customer_id, const json& changes) {
  using R = result<json>;
  const std::string missing = fmt::format("Customer with ID {} not found or update failed", customer_id);
  if (!lock_profile(tx, customer_id)) return R::fail(failure_kind::not_found, "customer_not_found", missing);
  json current = *load_profile(tx, customer_id);
  json next = current;
  std::vector<std::string> changed;
  for (auto it = changes.begin(); it != changes.end(); ++it) {
    if (next.contains(it.key()) && next[it.key()] == it.value()) continue;
    next[it.key()] = it.value();
    changed.push_back(it.key());
  }
  if (changed.empty()) return R::of(current);
  const std::string email = next["email"].get<std::string>();
  if (email != current["email"]) {
    if (email_taken(tx, email, customer_id))
      return R::fail(failure_kind::conflict, "email_taken", email_taken_text(email));
    if (!changes.contains("email_verified")) next["email_verified"] = false;  // a new address is unverified
  }
  const std::string from = current["account_status"], to = next["account_status"];
  if (!account_transition_allowed(from, to))
    return R::fail(failure_kind::conflict, "illegal_transition",
                   fmt::format("Account status cannot change from {} to {}", from, to));
  auto text = [&](const char* k) { return opt_field(next, k); };
  tx.exec_params(
      "UPDATE customers.customer_profiles SET email = $2, phone = $3, first_name = $4, last_name = $5, "
      "date_of_birth = $6::date, gender = $7, customer_type = $8, company_name = $9, account_status = $10, "
      "email_verified = $11, phone_verified = $12, kyc_status = $13, metadata = $14::jsonb, "
      "preferred_language = $15, updated_at = now() WHERE customer_id = $1",
      customer_id, email, text("phone"), text("first_name"), text("last_name"), text("date_of_birth"),
      text("gender"), next["customer_type"].get<std::string>(), text("company_name"), to,
      next["email_verified"].get<bool>(), next["phone_verified"].get<bool>(),
      next["kyc_status"].get<std::string>(), next["metadata"].dump(), next["preferred_language"].get<std::string>());
  publish(tx, "customer_updated", json{{"customer_id", customer_id}, {"changed_fields", changed}}, customer_id);
  return R::of(*load_profile(tx, customer_id));
}

result<bool> erase_profile(pqxx::work& tx, const std::string& customer_id, std::optional<int64_t> open_orders) {
  using R = result<bool>;
  if (!lock_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found",
                   fmt::format("Customer with ID {} not found or delete failed", customer_id));
  const int64_t open =
      open_orders ? *open_orders
                  : tx.exec_params("SELECT count(*) FROM customers.customer_orders WHERE customer_id = $1 AND open",
                                   customer_id)[0][0]
                        .as<int64_t>();
  if (open > 0)
    return R::fail(failure_kind::conflict, "open_orders", "Customer has open orders",
                   json{{"open_orders", open}}.dump());
  // Erasure keeps the id (other agents refer to it) and the ledgers; personal data goes.
  tx.exec_params(
      "UPDATE customers.customer_profiles SET email = 'deleted+' || lower(customer_id) || '@invalid', "
      "phone = NULL, first_name = NULL, last_name = NULL, date_of_birth = NULL, gender = NULL, "
      "company_name = NULL, metadata = '{}'::jsonb, email_verified = false, phone_verified = false, "
      "account_status = 'inactive', deleted_at = now(), updated_at = now() WHERE customer_id = $1",
      customer_id);
  tx.exec_params("DELETE FROM customers.customer_addresses WHERE customer_id = $1", customer_id);
  tx.exec_params("DELETE FROM customers.customer_preferences WHERE customer_id = $1", customer_id);
  tx.exec_params(
      "UPDATE customers.customer_interactions SET subject = NULL, description = NULL, resolution = NULL, "
      "metadata = '{}'::jsonb, updated_at = now() WHERE customer_id = $1",
      customer_id);
  publish(tx, "customer_deleted", json{{"customer_id", customer_id}}, customer_id);
  return R::of(true);
}

result<ensured_customer> ensure_profile(pqxx::work& tx, const ensure_customer& m) {
  using R = result<ensured_customer>;
  auto email = normalize_email(m.email);
  if (!email) return R::fail(failure_kind::invalid, "invalid_email", "value is not a valid email address");
  opt_text phone;
  if (!m.phone.empty()) {
    phone = normalize_phone(m.phone);
    if (!phone) phone.reset();  // a channel's odd phone format must not block the order
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto found = find_by_email(tx, *email);
    if (found.ok()) {
      ensured_customer out;
      out.customer_id = (*found.value)["customer_id"].get<std::string>();
      out.created = false;
      out.profile = summary_of(tx, *found.value);
      return R::of(std::move(out));
    }
    new_profile p;
    p.email = *email;
    p.phone = phone;
    if (!m.first_name.empty()) p.first_name = m.first_name;
    if (!m.last_name.empty()) p.last_name = m.last_name;
    p.source = m.source.empty() ? "api" : m.source;
    auto created = create_profile(tx, p);
    if (created.ok()) {
      ensured_customer out;
      out.customer_id = (*created.value)["customer_id"].get<std::string>();
      out.created = true;
      out.profile = summary_of(tx, *created.value);
      return R::of(std::move(out));
    }
    if (created.error.code != "email_taken") return R::from(created);
    // lost a race with a concurrent registration of the same e-mail: read it again
  }
  return R::fail(failure_kind::conflict, "email_taken", email_taken_text(*email));
}

namespace {

// The summary's profile fields (no balances, no addresses).
customer_profile profile_fields(const json& profile) {
  customer_profile out;
  auto str = [&](const char* k) {
    const auto& v = profile[k];
    return v.is_string() ? v.get<std::string>() : std::string{};
  };
  out.customer_id = str("customer_id");
  out.email = str("email");
  out.first_name = str("first_name");
  out.last_name = str("last_name");
  out.phone = str("phone");
  out.status = str("account_status");
  out.registration_date = str("registration_date");
  out.loyalty_tier = str("loyalty_tier");
  out.account_age_days = profile["account_age_days"].get<int64_t>();
  out.email_verified = profile["email_verified"].get<bool>();
  out.preferred_language = str("preferred_language");
  out.customer_type = str("customer_type");
  out.document = profile.dump();
  return out;
}

// A default address (newest first): the first default serving each purpose wins.
void take_default(customer_profile& out, const json& address) {
  const auto& type = address["address_type"];
  if ((type == "shipping" || type == "both") && out.default_shipping_address_json.empty())
    out.default_shipping_address_json = address.dump();
  if ((type == "billing" || type == "both") && out.default_billing_address_json.empty())
    out.default_billing_address_json = address.dump();
}

// The summary's balances and default addresses of the customer `id_sql` (a column or a parameter)
// as columns, so that a summary is one statement: points_balance, credit_balance and
// default_addresses, a json array of address_select() rows (the fields of address_json), newest
// first (updated_at is the ISO text there, which sorts as the timestamp).
std::string summary_columns(const std::string& id_sql) {
  return "coalesce((SELECT points_balance FROM customers.customer_loyalty WHERE customer_id = " + id_sql +
         "), 0) AS points_balance, "
         "coalesce((SELECT balance FROM customers.store_credit WHERE customer_id = " + id_sql +
         "), 0)::text AS credit_balance, "
         "(SELECT json_agg(a ORDER BY a.updated_at DESC) FROM (" + address_select() + "WHERE customer_id = " +
         id_sql + " AND is_default) a)::text AS default_addresses";
}

void take_summary_columns(customer_profile& out, const pqxx::row& r) {
  out.points_balance = r["points_balance"].as<int64_t>();
  out.store_credit_balance = cents_of(r["credit_balance"]);
  if (r["default_addresses"].is_null()) return;
  for (const auto& a : json::parse(r["default_addresses"].c_str())) take_default(out, a);
}

}  // namespace

customer_profile summary_of(pqxx::transaction_base& tx, const json& profile) {
  customer_profile out = profile_fields(profile);
  static const std::string sql = "SELECT " + summary_columns("$1");
  take_summary_columns(out, db::exec_hot1(tx, sql, out.customer_id));
  return out;
}

std::vector<customer_profile> summaries_of(pqxx::work& tx, const json& profiles) {
  std::vector<customer_profile> out;
  std::map<std::string, size_t> index;
  json ids = json::array();
  for (const auto& p : profiles) {
    out.push_back(profile_fields(p));
    index[out.back().customer_id] = out.size() - 1;
    ids.push_back(out.back().customer_id);
  }
  if (out.empty()) return out;
  auto bal = tx.exec_params(
      "SELECT i.id, coalesce(l.points_balance, 0), coalesce(c.balance, 0)::text "
      "FROM jsonb_array_elements_text($1::jsonb) AS i(id) "
      "LEFT JOIN customers.customer_loyalty l ON l.customer_id = i.id "
      "LEFT JOIN customers.store_credit c ON c.customer_id = i.id",
      ids.dump());
  for (const auto& r : bal) {
    auto& p = out[index.at(r[0].c_str())];
    p.points_balance = r[1].as<int64_t>();
    p.store_credit_balance = cents_of(r[2]);
  }
  auto defaults = tx.exec_params(address_select() +
                                     "WHERE customer_id IN (SELECT jsonb_array_elements_text($1::jsonb)) "
                                     "AND is_default ORDER BY customer_id, updated_at DESC",
                                 ids.dump());
  for (const auto& r : defaults) take_default(out[index.at(r["customer_id"].c_str())], address_json(r));
  return out;
}

result<customer_profile> summary(pqxx::transaction_base& tx, const std::string& customer_id) {
  return std::move(summaries(tx, {customer_id}).front());
}

std::vector<result<customer_profile>> summaries(pqxx::transaction_base& tx, const std::vector<std::string>& ids) {
  // One statement (validate_customer runs on every order): the profile rows with the summary
  // columns. The array is opaque to the planner so that the generic plan is kept
  // (db/hot_statement.hpp). The tier is a key probe per customer, not a join: for the 10 rows the
  // planner assumes of the opaque array, a hash join over a sequential scan of customer_loyalty
  // looks cheaper, and it read every loyalty row for each batch (1,000 with BENCH_CUSTOMERS=1000).
  static const std::string sql =
      "SELECT s.*, " + summary_columns("s.customer_id") + " FROM (" +
      profile_columns_from("coalesce((SELECT loyalty_tier FROM customers.customer_loyalty t"
                           " WHERE t.customer_id = p.customer_id), 'bronze')") +
      "WHERE p.customer_id = ANY(" MERCATO_OPAQUE_PARAM("$1", "text[]") ") AND p.deleted_at IS NULL) s";
  std::map<std::string, customer_profile> found;
  for (const auto& row : db::exec_hot(tx, sql, db::text_array(ids))) {
    customer_profile p = profile_fields(profile_json(row));
    take_summary_columns(p, row);
    std::string id = p.customer_id;
    found.emplace(std::move(id), std::move(p));
  }
  std::vector<result<customer_profile>> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    auto it = found.find(id);
    if (it == found.end())
      out.push_back(result<customer_profile>::fail(failure_kind::not_found, "customer_not_found", not_found_text(id)));
    else
      out.push_back(result<customer_profile>::of(it->second));
  }
  return out;
}

// ---- addresses ------------------------------------------------------------------------------

namespace {

// Runs the INSERT or UPDATE `sql` of an address, whose parameters are the same in both: $1 id,
// $2 customer, $3 type, $4…$15 the body's text fields (`f`), $16 is_default.
void write_address(pqxx::work& tx, const std::string& sql, const std::string& address_id,
                   const std::string& customer_id, const std::string& type, const json& f, bool is_default) {
  tx.exec_params(sql, address_id, customer_id, type, opt_field(f, "address_label"), opt_field(f, "first_name"),
                 opt_field(f, "last_name"), opt_field(f, "company_name"), opt_field(f, "street_address_1"),
                 opt_field(f, "street_address_2"), opt_field(f, "city"), opt_field(f, "state_province"),
                 opt_field(f, "postal_code"), opt_field(f, "country_code"), opt_field(f, "phone"),
                 opt_field(f, "delivery_instructions"), is_default);
}

}  // namespace

result<json> add_address(pqxx::work& tx, const std::string& customer_id, const json& f) {
  using R = result<json>;
  if (!lock_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  auto count = tx.exec_params("SELECT count(*) FROM customers.customer_addresses WHERE customer_id = $1",
                              customer_id)[0][0]
                   .as<int64_t>();
  if (count >= 20) return R::fail(failure_kind::conflict, "address_limit", "Address limit reached (20)");
  const std::string id = uuid_v4();
  const bool is_default = f.value("is_default", false);
  const std::string type = f["address_type"].get<std::string>();
  if (is_default) clear_overlapping_defaults(tx, customer_id, type, id);
  write_address(tx,
                "INSERT INTO customers.customer_addresses (address_id, customer_id, address_type, address_label, "
                "first_name, last_name, company_name, street_address_1, street_address_2, city, state_province, "
                "postal_code, country_code, phone, delivery_instructions, is_default) "
                "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                id, customer_id, type, f, is_default);
  publish(tx, "customer_address_added", json{{"customer_id", customer_id}, {"address_id", id}}, customer_id);
  return R::of(address_json(tx.exec_params(address_select() + "WHERE address_id = $1::uuid", id)[0]));
}

result<json> list_addresses(pqxx::work& tx, const std::string& customer_id, const opt_text& type) {
  using R = result<json>;
  if (!load_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  // a shipping (billing) filter includes addresses of type both, which serve it too
  auto rows = tx.exec_params(address_select() +
                                 "WHERE customer_id = $1 AND ($2::text IS NULL OR address_type = $2 OR "
                                 "($2 <> 'both' AND address_type = 'both')) "
                                 "ORDER BY is_default DESC, created_at, address_id",
                             customer_id, type);
  json out = json::array();
  for (const auto& r : rows) out.push_back(address_json(r));
  return R::of(std::move(out));
}

result<json> update_address(pqxx::work& tx, const std::string& customer_id, const std::string& address_id,
                            const json& f) {
  using R = result<json>;
  if (!lock_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  if (!valid_uuid(address_id)) return R::fail(failure_kind::not_found, "address_not_found", "Address not found");
  auto rows = tx.exec_params(address_select() + "WHERE address_id = $1::uuid AND customer_id = $2",
                             address_id, customer_id);
  if (rows.empty()) return R::fail(failure_kind::not_found, "address_not_found", "Address not found");
  json next = address_json(rows[0]);
  for (auto it = f.begin(); it != f.end(); ++it) next[it.key()] = it.value();
  const bool is_default = next["is_default"].get<bool>();
  const std::string type = next["address_type"].get<std::string>();
  if (is_default) clear_overlapping_defaults(tx, customer_id, type, address_id);
  write_address(tx,
                "UPDATE customers.customer_addresses SET address_type = $3, address_label = $4, first_name = $5, "
                "last_name = $6, company_name = $7, street_address_1 = $8, street_address_2 = $9, city = $10, "
                "state_province = $11, postal_code = $12, country_code = $13, phone = $14, "
                "delivery_instructions = $15, is_default = $16, updated_at = now() "
                "WHERE address_id = $1::uuid AND customer_id = $2",
                address_id, customer_id, type, next, is_default);
  return R::of(address_json(tx.exec_params(address_select() + "WHERE address_id = $1::uuid", address_id)[0]));
}

result<bool> delete_address(pqxx::work& tx, const std::string& customer_id, const std::string& address_id) {
  using R = result<bool>;
  if (!lock_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  if (!valid_uuid(address_id)) return R::fail(failure_kind::not_found, "address_not_found", "Address not found");
  auto r = tx.exec_params("DELETE FROM customers.customer_addresses WHERE address_id = $1::uuid AND customer_id = $2",
                          address_id, customer_id);
  if (r.affected_rows() == 0) return R::fail(failure_kind::not_found, "address_not_found", "Address not found");
  return R::of(true);
}

result<json> make_default_address(pqxx::work& tx, const std::string& customer_id, const std::string& address_id) {
  return update_address(tx, customer_id, address_id, json{{"is_default", true}});
}

// ---- preferences ----------------------------------------------------------------------------

result<json> get_preferences(pqxx::work& tx, const std::string& customer_id) {
  using R = result<json>;
  if (!load_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  auto rows = tx.exec_params(
      "SELECT preference_category, preference_key, preference_value::text FROM customers.customer_preferences "
      "WHERE customer_id = $1 ORDER BY preference_category, preference_key",
      customer_id);
  json out = json::object();
  for (const auto& r : rows)
    out[r[0].c_str()][r[1].c_str()] = json::parse(r[2].c_str(), nullptr, false);
  return R::of(std::move(out));
}

result<json> put_preferences(pqxx::work& tx, const std::string& customer_id, const json& prefs) {
  using R = result<json>;
  if (!lock_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  for (auto cat = prefs.begin(); cat != prefs.end(); ++cat)
    for (auto kv = cat->begin(); kv != cat->end(); ++kv)
      tx.exec_params(
          "INSERT INTO customers.customer_preferences (customer_id, preference_category, preference_key, "
          "preference_value) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (customer_id, preference_category, "
          "preference_key) DO UPDATE SET preference_value = EXCLUDED.preference_value, updated_at = now()",
          customer_id, cat.key(), kv.key(), kv->dump());
  return get_preferences(tx, customer_id);
}

// ---- interactions ---------------------------------------------------------------------------

result<json> add_interaction(pqxx::work& tx, const std::string& customer_id, const json& f) {
  using R = result<json>;
  if (!load_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  const std::string id = uuid_v4();
  tx.exec_params(
      "INSERT INTO customers.customer_interactions (interaction_id, customer_id, interaction_type, "
      "interaction_channel, subject, description, priority, reference, metadata) "
      "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
      id, customer_id, f["interaction_type"].get<std::string>(), opt_field(f, "interaction_channel"),
      opt_field(f, "subject"), opt_field(f, "description"), f.value("priority", std::string{"medium"}),
      opt_field(f, "reference"), f.contains("metadata") ? f["metadata"].dump() : std::string{"{}"});
  publish(tx, "customer_interaction_created",
          json{{"customer_id", customer_id}, {"interaction_id", id}, {"type", f["interaction_type"]}}, customer_id);
  return R::of(interaction_json(tx.exec_params(interaction_select() + "WHERE interaction_id = $1::uuid", id)[0]));
}

result<json> list_interactions(pqxx::work& tx, const std::string& customer_id, const interaction_filter& f) {
  using R = result<json>;
  if (!load_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  auto rows = tx.exec_params(interaction_select() +
                                 "WHERE customer_id = $1 AND ($2::text IS NULL OR status = $2) "
                                 "AND ($3::text IS NULL OR interaction_type = $3) "
                                 "ORDER BY created_at DESC, interaction_id LIMIT $4 OFFSET $5",
                             customer_id, f.status, f.interaction_type, f.limit, f.skip);
  json out = json::array();
  for (const auto& r : rows) out.push_back(interaction_json(r));
  return R::of(std::move(out));
}

result<json> patch_interaction(pqxx::work& tx, const std::string& customer_id, const std::string& interaction_id,
                               const json& changes) {
  using R = result<json>;
  if (!load_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  if (!valid_uuid(interaction_id))
    return R::fail(failure_kind::not_found, "interaction_not_found", "Interaction not found");
  auto rows = tx.exec_params(interaction_select() +
                                 "WHERE interaction_id = $1::uuid AND customer_id = $2 FOR UPDATE",
                             interaction_id, customer_id);
  if (rows.empty()) return R::fail(failure_kind::not_found, "interaction_not_found", "Interaction not found");
  json next = interaction_json(rows[0]);
  const std::string from = next["status"];
  for (auto it = changes.begin(); it != changes.end(); ++it) next[it.key()] = it.value();
  const std::string to = next["status"];
  if (!interaction_transition_allowed(from, to))
    return R::fail(failure_kind::conflict, "illegal_transition",
                   fmt::format("Interaction status cannot change from {} to {}", from, to));
  if (to == "resolved" && from != "resolved" && !opt_field(next, "resolution"))
    return R::fail(failure_kind::invalid, "resolution_required", "A resolution is required to resolve an interaction");
  tx.exec_params(
      "UPDATE customers.customer_interactions SET status = $2, assigned_to = $3, priority = $4, "
      "resolution = $5, updated_at = now() WHERE interaction_id = $1::uuid",
      interaction_id, to, opt_field(next, "assigned_to"), next["priority"].get<std::string>(),
      opt_field(next, "resolution"));
  return R::of(interaction_json(
      tx.exec_params(interaction_select() + "WHERE interaction_id = $1::uuid", interaction_id)[0]));
}

int64_t count_active(pqxx::work& tx, int64_t days) {
  return tx.exec_params(
      "SELECT count(*) FROM customers.customer_profiles WHERE deleted_at IS NULL AND account_status = 'active' "
      "AND (last_order_at >= now() - make_interval(days => $1::int) "
      "OR last_login_at >= now() - make_interval(days => $1::int))",
      days)[0][0].as<int64_t>();
}

}  // namespace mercato::customer::store
